"""Band power and differential entropy (DE) of EEG windows, the features of the affective family.

One implementation serves offline datasets, calibration and live decoding: the affective models
(:class:`neurodeck.models.gmss.GMSS`, :class:`neurodeck.models.band_power_lr.BandPowerLR`) call
:func:`band_power` inside their ``forward``, so a window from the live ring buffer and a window cut
from a file go through exactly the same arithmetic. Every frame uses only the samples inside it, so
the features of a window depend on nothing later than its last sample (causal).

Method (SEED / BCMI style, see ``../shared/reference/model_specs.md`` section 7): the window is
split into non-overlapping frames of ``frame_s`` seconds (1 s by default, as SEED); each frame is
de-meaned, tapered with a periodic Hann window and transformed; the one-sided periodogram

    P(f_k) = c_k |sum_n w_n x_n exp(-2 pi i k n / N)|^2 / (f_s sum_n w_n^2),  c_k = 2 (0 < k < N/2)

(in uV^2/Hz) is integrated over the bins ``f_lo <= f_k < f_hi`` of each band (times the bin width
``f_s / N``), which estimates the variance ``sigma_b^2`` of the band-passed signal. For a Gaussian
band-limited signal the differential entropy is

    DE = 1/2 ln(2 pi e sigma_b^2)    (nats; SEED's log2 differs by a constant factor),

so DE is the log band power up to constants. A frame's white Gaussian noise of variance
``sigma^2`` has ``E[P] = 2 sigma^2 / f_s`` in every bin, hence ``sigma_b^2 = 2 sigma^2 n_b / N``
for a band of ``n_b`` bins: the analytic value the tests check.

Bands are the SEED-IV convention (delta 1-4, theta 4-8, alpha 8-14, beta 14-31, gamma 31-50 Hz),
half-open. A band above the Nyquist frequency is refused; one that crosses it is cut at Nyquist.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from neurodeck.common.checks import check_positive
from neurodeck.common.types import ConfigError
from numpy.typing import NDArray
from torch import Tensor

#: ``(name, low Hz, high Hz)`` of the five classical bands (SEED-IV convention), half-open.
BANDS: tuple[tuple[str, float, float], ...] = (
    ("delta", 1.0, 4.0),
    ("theta", 4.0, 8.0),
    ("alpha", 8.0, 14.0),
    ("beta", 14.0, 31.0),
    ("gamma", 31.0, 50.0),
)
#: Names of :data:`BANDS`, in order.
BAND_NAMES: tuple[str, ...] = tuple(b[0] for b in BANDS)
#: Floor of a band's power (uV^2) before the logarithm: a flat channel gives a finite DE.
POWER_FLOOR = 1e-6


def check_bands(
    bands: Sequence[Sequence[object]], sfreq: float, frame_n: int
) -> tuple[tuple[str, float, float], ...]:
    """Validate ``(name, low, high)`` bands for a frame of ``frame_n`` samples at ``sfreq``.

    Raises
    ------
    ConfigError
        If a band is malformed, empty at this frequency resolution, or above Nyquist.
    """
    out = []
    nyquist = sfreq / 2
    for band in bands:
        try:
            name, lo, hi = str(band[0]), float(band[1]), float(band[2])  # type: ignore[arg-type]
        except (TypeError, ValueError, IndexError) as exc:
            raise ConfigError(f"a band must be (name, low_hz, high_hz); got {band!r}.") from exc
        if not 0 <= lo < hi:
            raise ConfigError(f"band {name!r} needs 0 <= low < high; got {lo}-{hi} Hz.")
        if lo >= nyquist:
            raise ConfigError(
                f"band {name!r} ({lo:g}-{hi:g} Hz) lies above the Nyquist frequency "
                f"({nyquist:g} Hz) of {sfreq:g} Hz data.",
                "Resample to a higher rate, or leave the band out.",
            )
        bins = _band_bins(lo, min(hi, nyquist), sfreq, frame_n)
        if len(bins) == 0:
            raise ConfigError(
                f"band {name!r} ({lo:g}-{hi:g} Hz) holds no frequency bin of a "
                f"{frame_n / sfreq:g}-s frame (resolution {sfreq / frame_n:g} Hz).",
                "Use longer frames or a wider band.",
            )
        out.append((name, lo, hi))
    if not out:
        raise ConfigError("at least one band is needed.")
    return tuple(out)


def _band_bins(lo: float, hi: float, sfreq: float, frame_n: int) -> NDArray[np.intp]:
    freqs = np.fft.rfftfreq(frame_n, 1.0 / sfreq)
    return np.flatnonzero((freqs >= lo) & (freqs < hi))


def band_matrix(
    sfreq: float, frame_n: int, bands: Sequence[Sequence[object]] = BANDS
) -> NDArray[np.float64]:
    """Weights that turn a one-sided periodogram into band powers.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    frame_n : int
        Samples per frame ``N``.
    bands : sequence of (name, low, high)

    Returns
    -------
    matrix : ndarray, shape (N // 2 + 1, n_bands), float64
        ``power = periodogram @ matrix``: the bin width ``sfreq / N`` on the band's bins (below
        Nyquist), zero elsewhere.
    """
    checked = check_bands(bands, sfreq, frame_n)
    m = np.zeros((frame_n // 2 + 1, len(checked)))
    for j, (_, lo, hi) in enumerate(checked):
        m[_band_bins(lo, min(hi, sfreq / 2), sfreq, frame_n), j] = sfreq / frame_n
    return m


def band_power(
    x: Tensor | np.ndarray,
    sfreq: float,
    bands: Sequence[Sequence[object]] = BANDS,
    frame_s: float = 1.0,
) -> Tensor:
    """Band power of each non-overlapping frame of each channel.

    Parameters
    ----------
    x : Tensor or ndarray, shape (..., n_channels, n_times)
        EEG in microvolts. Samples after the last whole frame are ignored (the *oldest* partial
        frame is dropped instead, so the newest sample always counts).
    sfreq : float
        Sampling rate in Hz.
    bands : sequence of (name, low, high)
        Frequency bands in Hz (default :data:`BANDS`).
    frame_s : float
        Frame length in seconds (default 1 s).

    Returns
    -------
    power : Tensor, shape (..., n_channels, n_frames, n_bands), float32
        Variance of the band-passed signal in uV^2 (floored at :data:`POWER_FLOOR`).

    Raises
    ------
    ConfigError
        If the window is shorter than one frame or a band is unusable.
    """
    t = torch.as_tensor(x)
    if not t.is_floating_point():
        t = t.float()
    sfreq = check_positive("sfreq", sfreq)
    frame_n = round(check_positive("frame_s", frame_s, unit="s") * sfreq)
    n_frames = t.shape[-1] // frame_n if frame_n > 0 else 0
    if n_frames < 1:
        raise ConfigError(
            f"a window of {t.shape[-1]} samples at {sfreq:g} Hz is shorter than one "
            f"{frame_s:g}-s feature frame.",
            "Use windows of at least one frame.",
        )
    start = t.shape[-1] - n_frames * frame_n
    frames = t[..., start:].reshape(*t.shape[:-1], n_frames, frame_n).to(torch.float32)
    frames = frames - frames.mean(-1, keepdim=True)
    taper = torch.hann_window(frame_n, periodic=True, dtype=torch.float32, device=t.device)
    spectrum = torch.fft.rfft(frames * taper, dim=-1)
    scale = 1.0 / (sfreq * float((taper * taper).sum()))
    pgram = spectrum.real.square() + spectrum.imag.square()  # (..., C, F, N//2+1)
    one_sided = torch.full((pgram.shape[-1],), 2.0 * scale, device=t.device)
    one_sided[0] = scale
    if frame_n % 2 == 0:
        one_sided[-1] = scale
    weights = torch.as_tensor(
        band_matrix(sfreq, frame_n, bands), dtype=torch.float32, device=t.device
    )
    power = (pgram * one_sided) @ weights  # (..., C, F, n_bands)
    return power.clamp_min(POWER_FLOOR)


def differential_entropy(
    x: Tensor | np.ndarray,
    sfreq: float,
    bands: Sequence[Sequence[object]] = BANDS,
    frame_s: float = 1.0,
) -> Tensor:
    """Differential entropy ``1/2 ln(2 pi e sigma_b^2)`` of each frame, channel and band.

    Parameters
    ----------
    x : Tensor or ndarray, shape (..., n_channels, n_times)
        EEG in microvolts.
    sfreq, bands, frame_s
        As :func:`band_power`.

    Returns
    -------
    de : Tensor, shape (..., n_channels, n_frames, n_bands), float32
        In nats (``sigma_b^2`` in uV^2).
    """
    power = band_power(x, sfreq, bands, frame_s)
    return 0.5 * torch.log(2.0 * math.pi * math.e * power)


def de_of_variance(variance: float | np.ndarray) -> float | np.ndarray:
    """The analytic DE of a Gaussian of the given variance, ``1/2 ln(2 pi e variance)``."""
    return 0.5 * np.log(2.0 * np.pi * np.e * np.asarray(variance))
