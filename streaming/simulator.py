"""A synthetic EEG headset: pink background, posterior alpha, and motor-imagery ERD on cue.

:class:`SyntheticEEG` is the stateful signal generator (usable without LSL, e.g. in tests or an
offline evaluation); :class:`Simulator` publishes it on LSL with its cue markers, paced like a
replay (:mod:`neurodeck.streaming.pacing`).

Signal model, per channel, in microvolts:

- background: independent pink (1/f) noise, an IIR pinking filter with carried state;
- alpha: one occipital source of 8.5-11.5 Hz band-limited noise (so its amplitude waxes and wanes
  like real alpha), projected with a Gaussian fall-off around Oz;
- sensorimotor rhythms: three sources, left hand area (C3), right hand area (C4) and feet area
  (Cz), each mu (9-13 Hz) plus beta (18-25 Hz) band-limited noise with a tight fall-off;
- event-related desynchronisation: during 'left' imagery the C4 source loses ``erd_depth`` of its
  band power, during 'right' the C3 source, during 'feet' the Cz source (gain changes are smoothed
  with a 0.25 s time constant, as ERD develops over a few hundred milliseconds).

The noise is drawn sample-major, so the output does not depend on how the stream is chunked.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from functools import cache

import numpy as np
from neurodeck.common.checks import check_positive
from neurodeck.common.types import ConfigError
from neurodeck.models.electrodes import montage_positions
from neurodeck.streaming.pacing import PacedStreamer, SampleBlock
from numpy.typing import NDArray
from scipy import signal

logger = logging.getLogger(__name__)

#: Channel sets the simulator offers, by channel count (10-20 / 10-10 names).
STANDARD_MONTAGES: dict[int, tuple[str, ...]] = {
    8: ("Fz", "C3", "Cz", "C4", "Pz", "PO7", "Oz", "PO8"),
    16: ("Fp1", "Fp2", "F3", "Fz", "F4", "T7", "C3", "Cz",
         "C4", "T8", "P3", "Pz", "P4", "O1", "Oz", "O2"),
    32: ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "FC5", "FC1", "FC2", "FC6", "T7", "C3", "Cz",
         "C4", "T8", "TP9", "CP5", "CP1", "CP2", "CP6", "TP10", "P7", "P3", "Pz", "P4", "P8",
         "PO9", "O1", "Oz", "O2", "PO10"),
    64: ("FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6", "C5", "C3", "C1", "Cz", "C2", "C4",
         "C6", "CP5", "CP3", "CP1", "CPz", "CP2", "CP4", "CP6", "Fp1", "Fpz", "Fp2", "AF7", "AF3",
         "AFz", "AF4", "AF8", "F7", "F5", "F3", "F1", "Fz", "F2", "F4", "F6", "F8", "FT7", "FT8",
         "T7", "T8", "T9", "T10", "TP7", "TP8", "P7", "P5", "P3", "P1", "Pz", "P2", "P4", "P6",
         "P8", "PO7", "PO3", "POz", "PO4", "PO8", "O1", "Oz", "O2", "Iz"),
}  # fmt: skip

#: Imagery classes and the sensorimotor source each one desynchronises (contralateral hand area).
ERD_SOURCE = {"left": "C4", "right": "C3", "feet": "Cz"}
MOTOR_SOURCES = ("C3", "C4", "Cz")
REST_LABEL = "rest"

#: Pinking filter (J. O. Smith, "Spectral Audio Signal Processing": 1/f within 0.3 dB).
_PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
_PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])
_ALPHA_BAND = (8.5, 11.5)
_MU_BAND = (9.0, 13.0)
_BETA_BAND = (18.0, 25.0)
_ERD_TAU_S = 0.25
_ALPHA_WIDTH_M = 0.045  # spatial fall-off (Gaussian sigma) around Oz
_MOTOR_WIDTH_M = 0.025  # around C3 / C4 / Cz


@dataclass(frozen=True)
class SimulationConfig:
    """Settings of the synthetic headset.

    Parameters
    ----------
    n_channels : int
        One of :data:`STANDARD_MONTAGES` (8, 16, 32, 64); every set includes C3, Cz and C4.
    sfreq : float
        Sampling rate in Hz, 100 to 5000.
    seed : int
        Seed of the random generator (same seed, same signal and cue schedule).
    classes : tuple of str
        Imagery classes cued, from ``('left', 'right', 'feet')``; balanced and shuffled in blocks.
    imagery_s : float
        Length of each imagery period (after its cue marker), in seconds.
    rest_s : (float, float)
        Range of the random rest period after each imagery period (``'rest'`` marker), seconds.
    lead_in_s : float
        Seconds before the first cue.
    erd_depth : float
        Fraction of mu and beta band power removed from the contralateral source during imagery.
    background_uv, alpha_uv, mu_uv, beta_uv : float
        RMS amplitudes in microvolts of the pink background (per channel) and of each rhythm at
        the channel nearest its source.
    """

    n_channels: int = 16
    sfreq: float = 250.0
    seed: int = 0
    classes: tuple[str, ...] = ("left", "right")
    imagery_s: float = 4.0
    rest_s: tuple[float, float] = (2.5, 3.5)
    lead_in_s: float = 2.0
    erd_depth: float = 0.45
    background_uv: float = 10.0
    alpha_uv: float = 10.0
    mu_uv: float = 6.0
    beta_uv: float = 3.0

    def __post_init__(self) -> None:
        if self.n_channels not in STANDARD_MONTAGES:
            raise ConfigError(
                f"'n_channels' must be one of {sorted(STANDARD_MONTAGES)}; got {self.n_channels!r}."
            )
        check_positive("sfreq", self.sfreq, upper=5000.0, unit="Hz")
        if self.sfreq < 100:
            raise ConfigError(f"'sfreq' must be >= 100 Hz (beta reaches 25 Hz); got {self.sfreq}.")
        unknown = [c for c in self.classes if c not in ERD_SOURCE]
        if not self.classes or unknown or len(set(self.classes)) != len(self.classes):
            raise ConfigError(
                f"'classes' must be distinct names from {tuple(ERD_SOURCE)}; got {self.classes!r}."
            )
        check_positive("imagery_s", self.imagery_s, unit="s")
        low, high = self.rest_s
        if not 0 < low <= high:
            raise ConfigError(
                f"'rest_s' must be (low, high) with 0 < low <= high; got {self.rest_s}."
            )
        if self.lead_in_s < 0:
            raise ConfigError(f"'lead_in_s' must be >= 0 s; got {self.lead_in_s}.")
        if not 0 <= self.erd_depth < 1:
            raise ConfigError(f"'erd_depth' must be in [0, 1); got {self.erd_depth}.")
        for name in ("background_uv", "alpha_uv", "mu_uv", "beta_uv"):
            if getattr(self, name) < 0:
                raise ConfigError(f"'{name}' must be >= 0 microvolts; got {getattr(self, name)}.")

    @property
    def channel_names(self) -> tuple[str, ...]:
        """The channel labels of this configuration."""
        return STANDARD_MONTAGES[self.n_channels]


@cache
def _montage_positions() -> dict[str, NDArray[np.float64]]:
    """3-D positions (metres) of 10-05 electrodes, keyed by upper-case name."""
    return {name.upper(): pos for name, pos in montage_positions().items()}


def _spatial_weights(channel_names: tuple[str, ...], centre: str, width_m: float) -> NDArray:
    """Gaussian fall-off of a source at electrode ``centre``, shape (n_channels,)."""
    positions = _montage_positions()
    xyz = np.stack([positions[name.upper()] for name in channel_names])
    dist = np.linalg.norm(xyz - positions[centre.upper()], axis=1)
    return np.exp(-0.5 * (dist / width_m) ** 2)


def _unit_gain(sos: NDArray | None, b: NDArray | None = None, a: NDArray | None = None) -> float:
    """Scale that gives the filter's output unit variance for unit white noise input."""
    impulse = np.zeros(1 << 15)
    impulse[0] = 1.0
    response = signal.sosfilt(sos, impulse) if sos is not None else signal.lfilter(b, a, impulse)
    return 1.0 / float(np.sqrt(np.sum(response**2)))


class CueSchedule:
    """An endless, seeded, block-balanced schedule of imagery cues and rest periods.

    Parameters
    ----------
    config : SimulationConfig
        Classes and timing.
    rng : numpy.random.Generator
        Source of the shuffles and rest lengths (used only by this schedule).

    Notes
    -----
    Called from the generating thread only.
    """

    def __init__(self, config: SimulationConfig, rng: np.random.Generator) -> None:
        self._config = config
        self._rng = rng
        self._trials: deque[tuple[int, int, str]] = deque()  # (cue index, rest index, label)
        self._next_onset = round(config.lead_in_s * config.sfreq)
        self._imagery_n = max(1, round(config.imagery_s * config.sfreq))

    def trials_between(self, start: int, stop: int) -> list[tuple[int, int, str]]:
        """Trials that begin before ``stop`` and whose rest marker is at or after ``start``."""
        while self._next_onset < stop:
            self._add_block()
        while self._trials and self._trials[0][1] < start - 1:
            self._trials.popleft()
        return [t for t in self._trials if t[0] < stop and t[1] >= start]

    def _add_block(self) -> None:
        """Append one shuffled block holding every class once."""
        low, high = self._config.rest_s
        for label in self._rng.permutation(np.array(self._config.classes)):
            onset = self._next_onset
            rest = onset + self._imagery_n
            self._trials.append((onset, rest, str(label)))
            rest_n = round(self._rng.uniform(low, high) * self._config.sfreq)
            self._next_onset = rest + max(1, rest_n)


class SyntheticEEG:
    """Stateful generator of plausible EEG with a motor-imagery cue schedule.

    Parameters
    ----------
    config : SimulationConfig
        Montage, rate, seed, cues and amplitudes.

    Notes
    -----
    Not thread-safe: call :meth:`generate` from one thread (the publishing thread).
    """

    def __init__(self, config: SimulationConfig | None = None) -> None:
        self.config = config or SimulationConfig()
        noise_rng, schedule_rng = np.random.default_rng(self.config.seed).spawn(2)
        self._rng = noise_rng
        self.schedule = CueSchedule(self.config, schedule_rng)
        self.index = 0
        names = self.config.channel_names
        self._alpha_w = _spatial_weights(names, "Oz", _ALPHA_WIDTH_M)  # (n_channels,)
        self._motor_w = np.stack(
            [_spatial_weights(names, src, _MOTOR_WIDTH_M) for src in MOTOR_SOURCES], axis=1
        )  # (n_channels, 3)
        self._init_filters()

    def _init_filters(self) -> None:
        """Design the pinking, band and ERD-smoothing filters and zero their states."""
        cfg = self.config
        n_ch, n_motor = cfg.n_channels, len(MOTOR_SOURCES)
        self._pink_zi = np.zeros((n_ch, len(_PINK_A) - 1))
        self._pink_scale = cfg.background_uv * _unit_gain(None, _PINK_B, _PINK_A)
        self._bands: list[tuple[NDArray, NDArray, float]] = []  # (sos, zi, amplitude scale)
        for band, n_src, amp in (
            (_ALPHA_BAND, 1, cfg.alpha_uv),
            (_MU_BAND, n_motor, cfg.mu_uv),
            (_BETA_BAND, n_motor, cfg.beta_uv),
        ):
            sos = signal.butter(2, band, btype="bandpass", fs=cfg.sfreq, output="sos")
            zi = np.zeros((sos.shape[0], n_src, 2))
            self._bands.append((sos, zi, amp * _unit_gain(sos)))
        pole = float(np.exp(-1.0 / (_ERD_TAU_S * cfg.sfreq)))
        self._gain_b, self._gain_a = np.array([1.0 - pole]), np.array([1.0, -pole])
        self._gain_zi = np.full((n_motor, 1), pole)  # steady state at gain 1

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Channel labels."""
        return self.config.channel_names

    def generate(self, n_samples: int) -> SampleBlock:
        """The next ``n_samples`` samples and the cue markers that fall on them.

        Returns
        -------
        block : SampleBlock
            ``data`` of shape (n_channels, n_samples), float32 microvolts; markers with absolute
            sample indices counted from the first generated sample.
        """
        start, stop = self.index, self.index + n_samples
        n_ch, n_motor = self.config.n_channels, len(MOTOR_SOURCES)
        white = self._rng.standard_normal((n_samples, n_ch + 1 + 2 * n_motor)).T  # sample-major
        background, self._pink_zi = signal.lfilter(
            _PINK_B, _PINK_A, white[:n_ch], axis=1, zi=self._pink_zi
        )
        rhythms = self._band_limited(white[n_ch:])  # (alpha (1, n), mu (3, n), beta (3, n))
        trials = self.schedule.trials_between(start, stop)
        gains = self._erd_gains(start, n_samples, trials)  # (3, n)
        motor = gains * (rhythms[1] + rhythms[2])  # (3, n)
        data = background * self._pink_scale + np.outer(self._alpha_w, rhythms[0][0])
        data += self._motor_w @ motor  # (n_channels, 3) @ (3, n)
        self.index = stop
        return SampleBlock(data.astype(np.float32), _markers_in(trials, start, stop))

    def _band_limited(self, white: NDArray) -> list[NDArray]:
        """Filter white noise rows (1 alpha + 3 mu + 3 beta) into scaled band-limited sources."""
        out: list[NDArray] = []
        row = 0
        for k, (sos, zi, scale) in enumerate(self._bands):
            n_src = zi.shape[1]
            filtered, new_zi = signal.sosfilt(sos, white[row : row + n_src], axis=1, zi=zi)
            self._bands[k] = (sos, new_zi, scale)
            out.append(filtered * scale)
            row += n_src
        return out

    def _erd_gains(self, start: int, n_samples: int, trials: list[tuple[int, int, str]]) -> NDArray:
        """Smoothed amplitude gain of each motor source, shape (3, n_samples)."""
        target = np.ones((len(MOTOR_SOURCES), n_samples))
        low_gain = np.sqrt(1.0 - self.config.erd_depth)
        for onset, rest, label in trials:
            row = MOTOR_SOURCES.index(ERD_SOURCE[label])
            target[row, max(onset - start, 0) : max(rest - start, 0)] = low_gain
        gains, self._gain_zi = signal.lfilter(
            self._gain_b, self._gain_a, target, axis=1, zi=self._gain_zi
        )
        return gains


def _markers_in(trials: list[tuple[int, int, str]], start: int, stop: int) -> tuple:
    """(index, label) of cue and rest markers inside ``[start, stop)``, in time order."""
    events = [(onset, label) for onset, _, label in trials]
    events += [(rest, REST_LABEL) for _, rest, _ in trials]
    return tuple(sorted(e for e in events if start <= e[0] < stop))


class Simulator(PacedStreamer):
    """Publish :class:`SyntheticEEG` on LSL as a headset would, with its cues on a marker stream.

    Parameters
    ----------
    config : SimulationConfig, optional
        Montage, rate, seed, cue classes and amplitudes (default: 16 channels at 250 Hz).
    name : str
        EEG stream name; the marker stream is ``f"{name}-markers"``.
    speed : float
        Faster-than-real-time factor; timestamps are ``1 / (sfreq * speed)`` apart.
    chunk_s : float
        Content seconds per push.
    duration_s : float, optional
        Content seconds to publish; None runs until stopped.
    source_id : str, optional
        EEG stream source_id (default: derived from name, montage, rate and seed).

    Notes
    -----
    Markers: the class label (``'left'``, ``'right'``, ``'feet'``) at each imagery onset and
    ``'rest'`` when imagery ends, each with the timestamp of its sample.
    """

    def __init__(
        self,
        config: SimulationConfig | None = None,
        name: str = "neurodeck-sim",
        speed: float = 1.0,
        chunk_s: float = 0.02,
        duration_s: float | None = None,
        source_id: str | None = None,
    ) -> None:
        self.generator = SyntheticEEG(config)
        cfg = self.generator.config
        self._total = None
        if duration_s is not None:
            self._total = max(
                1, round(check_positive("duration_s", duration_s, unit="s") * cfg.sfreq)
            )
        super().__init__(
            name=name,
            source_id=source_id or f"{name}-{cfg.n_channels}ch-{cfg.sfreq:g}hz-seed{cfg.seed}",
            channel_names=cfg.channel_names,
            sfreq=cfg.sfreq,
            speed=speed,
            chunk_s=chunk_s,
            extra_desc={"simulated": "true", "seed": str(cfg.seed)},
        )
        self._open_outlets()

    @property
    def total_samples(self) -> int | None:
        """Samples to publish, or None when running until stopped."""
        return self._total

    @property
    def duration_s(self) -> float | None:
        """Content seconds to publish, or None when running until stopped."""
        return None if self._total is None else self._total / self.sfreq

    def _read_block(self, start: int, n_samples: int) -> SampleBlock | None:
        """Generate the next block. Notes: called from the publishing thread."""
        if self._total is not None:
            n_samples = min(n_samples, self._total - start)
            if n_samples <= 0:
                return None
        return self.generator.generate(n_samples)
