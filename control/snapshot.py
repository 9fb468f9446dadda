"""The contract between the dashboard's core and its views: immutable snapshots and commands.

The core (:mod:`neurodeck.control.core`) builds a :class:`CoreSnapshot` on request from whatever its
threads last published; the GUI thread asks for one about 30 times a second and hands it to the
views, which only draw it. Views never call LSL, torch or the file system; they send user actions
to the core through the :class:`CoreCommands` protocol, whose methods return at once (the work
runs on the core's threads and its outcome appears in a later snapshot).

This module imports numpy and the leaf :mod:`neurodeck.common.types` only, so that views and tests
can build snapshots by hand.

Conventions: samples in microvolts, timestamps on the local LSL clock in seconds (``t`` of the
snapshot is "now" on that clock), arrays C-contiguous and never written to after publication.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from neurodeck.common.types import MOTOR_IMAGERY
from numpy.typing import NDArray

#: Frequency bands of the spectrum view and the scalp map, in Hz (upper edge exclusive).
BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}


#: Between the name and the host in :attr:`StreamRow.key` of a stream without a source_id.
HOST_SEPARATOR = " @ "


@dataclass(frozen=True)
class StreamRow:
    """One LSL stream seen by the stream browser."""

    name: str
    stream_type: str
    n_channels: int
    sfreq: float
    host: str
    source_id: str

    @property
    def key(self) -> str:
        """Identity used to connect: the source_id when there is one, else ``"name @ host"``.

        Two streams of one name without a source_id, on two machines, keep two keys.
        """
        if self.source_id:
            return self.source_id
        return f"{self.name}{HOST_SEPARATOR}{self.host}" if self.host else self.name

    @property
    def identity(self) -> tuple[str, str, str]:
        """``(name, host, source_id)``: what tells two streams apart in the list, and its order.

        Stable while an outlet restarts (its liblsl uid changes, its source_id does not).
        """
        return (self.name, self.host, self.source_id)


@dataclass(frozen=True)
class SignalView:
    """The newest samples of every channel, for the scope.

    Parameters
    ----------
    channel_names : tuple of str
        One per row of ``raw``.
    sfreq : float
        Sampling rate of ``raw`` and ``filtered`` in Hz.
    raw : ndarray, shape (n_channels, n_samples), float32
        Samples as received (scaled to microvolts), oldest first; at most the scope span.
    filtered : ndarray, shape (n_channels, n_samples), float32
        The same samples through the display filter (causal band-pass and notch, see
        ``filter_label``); aligned with ``raw`` sample for sample.
    t_end : float
        Timestamp of the last column.
    n_written : int
        Samples received since connecting; unchanged means nothing new to draw.
    filter_label : str
        What ``filtered`` went through, for the toggle's tooltip (for example
        ``"1-40 Hz band-pass, 50 Hz notch"``).
    """

    channel_names: tuple[str, ...]
    sfreq: float
    raw: NDArray[np.float32]
    filtered: NDArray[np.float32]
    t_end: float
    n_written: int
    filter_label: str = ""


@dataclass(frozen=True)
class ChannelQuality:
    """Flag of one channel: ``"ok"``, ``"flat"`` or ``"noisy"``, with the reason in words."""

    name: str
    flag: str
    reason: str = ""


@dataclass(frozen=True)
class SpectrumView:
    """Spectra, band powers, channel flags and scalp maps over the last seconds of signal.

    Parameters
    ----------
    channel_names : tuple of str
    freqs : ndarray, shape (n_freqs,)
        Frequencies in Hz.
    psd : ndarray, shape (n_channels, n_freqs)
        Welch power spectral density of the filtered signal, in uV^2/Hz.
    band_names : tuple of str
        Keys of :data:`BANDS`, in order.
    band_power : ndarray, shape (n_channels, n_bands)
        Absolute power in each band, in uV^2.
    quality : tuple of ChannelQuality
        One per channel.
    scalp_positions : ndarray, shape (n_located, 2)
        2-D head coordinates of the channels that have a known 10-05 position (unit circle =
        the head outline, nose at +y).
    scalp_names : tuple of str
        Names of those channels, row by row.
    scalp_maps : mapping of str to ndarray, shape (grid, grid)
        Per band, log10 band power interpolated over the head; NaN outside it (and a rim of
        half a pixel, which the views clip to the outline). Empty when fewer
        than 4 channels have a position.
    scalp_extent : tuple of float
        ``(x_min, x_max, y_min, y_max)`` of the grids.
    span_s : float
        Seconds of signal the figures are computed on.
    """

    channel_names: tuple[str, ...]
    freqs: NDArray[np.float64]
    psd: NDArray[np.float64]
    band_names: tuple[str, ...]
    band_power: NDArray[np.float64]
    quality: tuple[ChannelQuality, ...]
    scalp_positions: NDArray[np.float64]
    scalp_names: tuple[str, ...]
    scalp_maps: Mapping[str, NDArray[np.float64]]
    scalp_extent: tuple[float, float, float, float] = (-1.2, 1.2, -1.2, 1.2)
    span_s: float = 4.0


@dataclass(frozen=True)
class HealthView:
    """Figures of the health panel (the Health dock).

    Parameters
    ----------
    state : str
        Acquisition state: ``connecting``, ``streaming``, ``stalled``, ``stopped``.
    rate_hz, nominal_hz : float
        Measured sample rate and the stream's declared rate (content rate times replay speed).
    n_samples, lost_samples, n_gaps, overruns, n_nonfinite, n_stalls : int
        Acquisition counters since connecting.
    decoding : bool
        True while a model decodes the stream; the fields below are zero otherwise.
    predictions, dropped_skipped, dropped_stale, dropped_invalid : int
        Inference counters.
    e2e_p50_ms, e2e_p99_ms, compute_p50_ms, compute_p99_ms : float or None
        Latency percentiles (None before the first prediction).
    device : str
        Where the model runs (``cpu``, ``cuda:0``), or ``""``.
    runner : str
        How it runs, :meth:`neurodeck.streaming.runner.ModelRunner.describe`: device, precision,
        CUDA graphs, CPU threads (``"cpu fp32, 1 thread"``), or ``""``.
    message : str
        The latest problem in words (empty when healthy).
    """

    state: str
    rate_hz: float
    nominal_hz: float
    n_samples: int
    lost_samples: int
    n_gaps: int
    overruns: int
    n_nonfinite: int
    n_stalls: int
    decoding: bool = False
    predictions: int = 0
    dropped_skipped: int = 0
    dropped_stale: int = 0
    dropped_invalid: int = 0
    e2e_p50_ms: float | None = None
    e2e_p99_ms: float | None = None
    compute_p50_ms: float | None = None
    compute_p99_ms: float | None = None
    device: str = ""
    runner: str = ""
    message: str = ""


@dataclass(frozen=True)
class CueSpan:
    """A true cue of a replayed or calibration stream: class ``label`` over ``[t_start, t_end]``."""

    t_start: float
    t_end: float
    label: str


@dataclass(frozen=True)
class DecodingView:
    """Live predictions for the decoding view.

    Parameters
    ----------
    class_names : tuple of str
        Model classes, in order.
    decoder : str
        What decodes, in words (profile name and decoder kind, or checkpoint file).
    times : ndarray, shape (n,)
        ``t_last`` of the recent predictions (the last :attr:`history_s` seconds), oldest first.
    probabilities : ndarray, shape (n, n_classes)
        Their class probabilities.
    smoothed : ndarray, shape (n_classes,)
        Exponentially smoothed probabilities (time constant ``smoothing_s``) for the bars.
    feedback : float or None
        Cursor position in [-1, 1] (``smoothed[right] - smoothed[left]``); None when the model has
        no left and right classes.
    cues : tuple of CueSpan
        True cues in the same time span (replays and calibration), for the timeline overlay.
    history_s : float
        Span of the timeline in stream seconds.
    smoothing_s : float
        Time constant of ``smoothed`` in content seconds (affective decoders smooth slower).
    family : str
        ``common.types.MOTOR_IMAGERY`` or ``AFFECTIVE``; the Emotion tab draws affective ones.
    smoothed_history : ndarray, shape (n, n_classes), or None
        ``smoothed`` as it was at each of ``times``
        (:func:`~neurodeck.control.affect.smooth_probabilities`); None when not computed.
    valence, arousal : float or None
        Expected circumplex coordinates in [-1, 1] under ``smoothed``
        (:mod:`neurodeck.control.affect`); None for motor imagery and for classes without one.
    workload : float or None
        Expected workload index in [0, 1] under ``smoothed`` (rest vs arithmetic: P(arithmetic)).
    """

    class_names: tuple[str, ...]
    decoder: str
    times: NDArray[np.float64]
    probabilities: NDArray[np.float64]
    smoothed: NDArray[np.float64]
    feedback: float | None
    cues: tuple[CueSpan, ...] = ()
    history_s: float = 30.0
    smoothing_s: float = 1.0
    family: str = MOTOR_IMAGERY
    smoothed_history: NDArray[np.float64] | None = None
    valence: float | None = None
    arousal: float | None = None
    workload: float | None = None


#: The calibration choice that takes its trials from the stream's own marker stream (a replay,
#: the simulator, or a stimulus program publishing its cues) instead of cues neurodeck plays.
FROM_MARKERS = "stream markers"

#: Phases of a dashboard calibration, in order.
CALIBRATION_PHASES = (
    "idle",  # nothing running
    "starting",  # connecting the recorder and the cue stream
    "cues",  # the paradigm is running
    "paused",  # held between trials by the user
    "fitting",  # recording closed; fine-tuning and the reference fit run in a child process
    "done",  # a profile exists (``profile_path``); report available
    "aborted",  # the user aborted; the recording is kept (``recording_path``)
    "failed",  # an error (``message`` says what and what to do)
)


@dataclass(frozen=True)
class CalibrationView:
    """State of a calibration run from the dashboard.

    Parameters
    ----------
    phase : str
        One of :data:`CALIBRATION_PHASES`.
    paradigm : str
        Paradigm name (``mi-lr``, ``mi-4``).
    class_names : tuple of str
    cue : str or None
        The latest cue marker (``calib_start``, ``fixation``, ``cue_left``, ``rest``, ...).
    cue_age_s : float
        Seconds since that marker (schedule seconds, so sped-up runs show the right progress).
    cue_duration_s : float
        How long that marker's period lasts (fixation 1.5 s, imagery 4 s, ...); 0 when unknown.
    trial, n_trials : int
        Current trial from 1 (0 before the first) and trials in the session.
    elapsed_s, total_s : float
        Seconds into the session and its expected length.
    fit_lines : tuple of str
        Progress lines of the fitting, oldest first.
    fit_fraction : float or None
        Fitting progress in [0, 1] when known.
    report : mapping or None
        ``report.json`` of the finished calibration (``scores`` -> decoder -> ``cv_accuracy``,
        ``confusion``, ``per_class_recall``; ``decoder``; ``timings``; ``trials``; ``chance``).
    recording_path, profile_path : str or None
    message : str
        What happened, in words (errors say what to do).
    prompt : str
        Affective paradigms: the text for the current block during its ``fixation`` and cue (what
        to recall, or how to take in the stimulus); ``""`` otherwise.
    stimulus : str or None
        Absolute path of the picture or video of the current block while its cue lasts (the
        user's own stimuli), else None.
    rating_open : bool
        The rating period of the latest block is open and it has no rating yet (the view shows
        the self-assessment panel, which calls :meth:`CoreCommands.rate`).
    ratings : tuple of (int, int, int)
        ``(block, valence, arousal)`` of the blocks rated so far, blocks counted from 0.
    """

    phase: str = "idle"
    paradigm: str = ""
    class_names: tuple[str, ...] = ()
    cue: str | None = None
    cue_age_s: float = 0.0
    cue_duration_s: float = 0.0
    trial: int = 0
    n_trials: int = 0
    elapsed_s: float = 0.0
    total_s: float = 0.0
    fit_lines: tuple[str, ...] = ()
    fit_fraction: float | None = None
    report: Mapping[str, Any] | None = None
    recording_path: str | None = None
    profile_path: str | None = None
    message: str = ""
    prompt: str = ""
    stimulus: str | None = None
    rating_open: bool = False
    ratings: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True)
class SourceView:
    """A replay or simulator started from the dashboard (a child process)."""

    kind: str  # "replay" or "simulator"
    label: str  # file names, or the simulator's settings
    stream_name: str
    speed: float
    running: bool
    message: str = ""


@dataclass(frozen=True)
class ReplayOptions:
    """How to read the files of a replay (the CLI's ``--allow-truncated``, ``--xdf-stream``).

    Parameters
    ----------
    allow_truncated : bool
        Replay what a file cut short holds instead of refusing it.
    xdf_stream : str, optional
        The signal stream to replay from XDF files that hold several.
    """

    allow_truncated: bool = False
    xdf_stream: str | None = None


@dataclass(frozen=True)
class ReplayQuestion:
    """A replay that needs the user's choice before it can start (the running source is kept).

    Parameters
    ----------
    serial : int
        Grows with each new question (a view asks each one once).
    paths : tuple of Path
        The files of the replay, absolute.
    kind : str
        ``"truncated"``: a file was cut short; replay what it holds? ``"xdf_stream"``: an XDF file
        holds several signal streams; which one?
    problem : str
        What the reader said, for the dialog.
    choices : tuple of str
        For ``"xdf_stream"``: the stream names to choose from.
    options : ReplayOptions
        The options already chosen for this replay (a second question keeps the first answer).
    speed : float
        The replay's speed.
    loop : bool
        Replay in a loop.
    """

    serial: int
    paths: tuple[Path, ...]
    kind: str
    problem: str
    choices: tuple[str, ...] = ()
    options: ReplayOptions = ReplayOptions()
    speed: float = 1.0
    loop: bool = False


@dataclass(frozen=True)
class CoreSnapshot:
    """Everything the views draw, at one instant.

    Parameters
    ----------
    t : float
        Now, on the local LSL clock.
    streams : tuple of StreamRow
        The stream list: the latest search, plus the connected stream when the search missed
        it; one row per :attr:`StreamRow.identity`, in that order. The status line's count of
        streams is made from the same tuple.
    browsing : bool
        A stream search is running.
    connection : str
        ``disconnected``, ``connecting``, ``connected``, ``stalled`` or ``lost``.
    stream : StreamRow or None
        The connected stream.
    signal, spectrum, health, decoding : optional
        None when not connected (or not decoding).
    calibration : CalibrationView
    source : SourceView or None
    status : str
        The latest message for the status bar.
    replay_question : ReplayQuestion or None
        The latest replay that waits for the user's choice (a truncated file, an XDF file with
        several signal streams); answered by calling ``replay`` again with the choice.
    errors : tuple of str
        Messages the user has not dismissed yet, oldest first (what is wrong and what to do).
    """

    t: float
    streams: tuple[StreamRow, ...] = ()
    browsing: bool = False
    connection: str = "disconnected"
    stream: StreamRow | None = None
    signal: SignalView | None = None
    spectrum: SpectrumView | None = None
    health: HealthView | None = None
    decoding: DecodingView | None = None
    calibration: CalibrationView = field(default_factory=CalibrationView)
    source: SourceView | None = None
    status: str = ""
    errors: tuple[str, ...] = ()
    replay_question: ReplayQuestion | None = None


class CoreCommands(Protocol):
    """What views may ask of the core. Every method returns at once; outcomes show in snapshots."""

    def snapshot(self) -> CoreSnapshot:
        """The current state (cheap; safe to call at 30 Hz from the GUI thread)."""
        ...

    def refresh_streams(self) -> None:
        """Search for LSL streams again."""
        ...

    def connect(self, key: str) -> None:
        """Connect to the stream whose :attr:`StreamRow.key` is ``key`` (disconnects first)."""
        ...

    def disconnect(self) -> None:
        """Stop decoding and disconnect."""
        ...

    def replay(
        self,
        paths: Sequence[Path],
        speed: float = 1.0,
        loop: bool = False,
        allow_truncated: bool = False,
        xdf_stream: str | None = None,
    ) -> None:
        """Replay recordings as an LSL headset (child process) and connect to it.

        A file that needs a choice (cut short; several streams in an XDF file) is not replayed:
        :attr:`CoreSnapshot.replay_question` asks, and a second call gives the answer.
        """
        ...

    def simulate(self, n_channels: int = 32, sfreq: float = 250.0) -> None:
        """Start the built-in simulator (child process) and connect to it."""
        ...

    def stop_source(self) -> None:
        """Stop the replay or simulator started from the dashboard."""
        ...

    def load_model(self, path: Path, decoder: str | None = None) -> None:
        """Decode the connected stream with a profile folder or a checkpoint."""
        ...

    def stop_decoding(self) -> None:
        """Stop decoding (the stream stays connected)."""
        ...

    def start_calibration(
        self, paradigm: str = "mi-lr", out_dir: Path | None = None, stimuli: Path | None = None
    ) -> None:
        """Record a cued calibration on the connected stream, then fit a profile.

        ``stimuli``: with an affective paradigm, a folder of the user's own stimuli (one
        subfolder per class) shown instead of the recall prompts.
        """
        ...

    def pause_calibration(self) -> None:
        """Hold the cues after the current trial (no-op unless cues are running)."""
        ...

    def resume_calibration(self) -> None:
        """Continue a paused calibration."""
        ...

    def abort_calibration(self) -> None:
        """Stop the cues or the fitting; the recording is kept."""
        ...

    def rate(self, valence: int, arousal: int) -> None:
        """Record the self-assessment of the latest block (SAM valence and arousal, 1-9) on the
        running calibration's cue stream."""
        ...

    def use_profile(self) -> None:
        """Decode the connected stream with the profile the last calibration wrote."""
        ...

    def dismiss_errors(self) -> None:
        """Clear :attr:`CoreSnapshot.errors`."""
        ...

    def close(self) -> None:
        """Stop every thread and child process (the window is closing)."""
        ...


def empty_snapshot(t: float = 0.0) -> CoreSnapshot:
    """A snapshot with nothing connected (what views show before the first one arrives)."""
    return CoreSnapshot(t=t)
