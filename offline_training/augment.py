"""Seeded EEG augmentations for self-supervised pretraining (SeqCLR and SPP-EEGNet sets).

All functions take windows as a float tensor ``(batch, channels, times)`` in microvolts and
return new tensors (the input is never modified). Every random draw comes from the
``torch.Generator`` passed in, so the same seed gives the same augmentations; draws are made on
the generator's device and moved to the input's device.

SeqCLR set (Mohsenvand et al. 2020)
    :func:`time_shift`, :func:`amplitude_scale`, :func:`dc_shift`, :func:`zero_mask`,
    :func:`gaussian_noise`, :func:`band_stop`, combined by :func:`seqclr_views`; plus
    :func:`recombine_channels`, which turns C channels into originals and channel differences.
    Every single-channel series gets its own draw. The strengths follow the reconstructed table
    for 20-s windows at 200 Hz (time shift and zero-mask length scale with the window length).

SPP-EEGNet set (Li & Metsis 2022)
    :func:`spp_add_noise`, :func:`spp_resample`, :func:`spp_clip`, :func:`spp_pool`,
    :func:`spp_quantize`, one of which :func:`spp_augment` picks; :func:`pad_collate` batches
    windows of different shapes. Resample and clip change the length.

References
----------
.. [1] M. N. Mohsenvand, M. R. Izadi, P. Maes. "Contrastive representation learning for
   electroencephalogram classification." Proceedings of the Machine Learning for Health NeurIPS
   Workshop, PMLR 136, 2020.
.. [2] X. Li, V. Metsis. "SPP-EEGNet: An input-agnostic self-supervised EEG representation model
   for inter-dataset transfer learning." Proceedings of the 18th International Conference on
   Computing and Information Technology (IC2IT), 2022.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from neurodeck.common.checks import check_int, check_positive
from neurodeck.common.types import ConfigError
from torch import Tensor

SEQCLR_AUGMENTATIONS: tuple[str, ...] = (
    "time_shift",
    "amplitude_scale",
    "dc_shift",
    "zero_mask",
    "gaussian_noise",
    "band_stop",
)
"""Names of the SeqCLR augmentations, in the order :func:`seqclr_views` indexes them."""

SPP_AUGMENTATIONS: tuple[str, ...] = ("add_noise", "resample", "clip", "pool", "quantize")
"""Names of the SPP-EEGNet augmentations, in the order :func:`spp_augment` indexes them."""

# SPP-EEGNet clip lengths 600, 700, ..., 1200 samples of a 6-s window at 250 Hz (1500 samples),
# as fractions of the window.
SPP_CLIP_FRACTIONS: tuple[float, ...] = tuple(n / 1500 for n in range(600, 1201, 100))


# -- argument checks ---------------------------------------------------------------------------


def _check_windows(x: Tensor, name: str = "x", min_times: int = 1) -> Tensor:
    """Raise ConfigError unless ``x`` is a float tensor (batch, channels, times)."""
    if not isinstance(x, Tensor):
        raise ConfigError(f"'{name}' must be a torch.Tensor; got {type(x).__name__}.")
    if x.ndim != 3 or not x.is_floating_point():
        raise ConfigError(
            f"'{name}' must be a float tensor of shape (batch, channels, times); "
            f"got dtype {x.dtype} and shape {tuple(x.shape)}."
        )
    if x.shape[0] < 1 or x.shape[1] < 1 or x.shape[2] < min_times:
        raise ConfigError(
            f"'{name}' needs batch >= 1, channels >= 1 and times >= {min_times}; "
            f"got shape {tuple(x.shape)}."
        )
    return x


def _check_generator(gen: torch.Generator) -> torch.Generator:
    """Raise ConfigError unless ``gen`` is a torch.Generator."""
    if not isinstance(gen, torch.Generator):
        raise ConfigError(f"'gen' must be a torch.Generator; got {type(gen).__name__}.")
    return gen


def _check_range(name: str, low: float, high: float, minimum: float | None = None) -> None:
    """Raise ConfigError unless ``low <= high`` are finite (and ``low >= minimum``)."""
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ConfigError(f"'{name}' must be finite with low <= high; got ({low}, {high}).")
    if minimum is not None and low < minimum:
        raise ConfigError(f"'{name}' must be >= {minimum}; got ({low}, {high}).")


def _check_options(
    name: str, options: Sequence[float], integer: bool = False, minimum: float = 0.0
) -> tuple[float, ...]:
    """Return ``options`` as a tuple after checking it is non-empty with values > ``minimum``."""
    if isinstance(options, (str, bytes)) or not isinstance(options, Sequence) or not options:
        raise ConfigError(f"'{name}' must be a non-empty sequence of numbers; got {options!r}.")
    for value in options:
        is_int = isinstance(value, int) and not isinstance(value, bool)
        is_num = is_int or isinstance(value, float)
        if (integer and not is_int) or not is_num or not math.isfinite(value) or value <= minimum:
            kind = "integers" if integer else "finite numbers"
            raise ConfigError(f"'{name}' must hold {kind} > {minimum}; got {list(options)}.")
    return tuple(options)


# -- random draws ------------------------------------------------------------------------------


def _uniform(
    shape: tuple[int, ...], low: float, high: float, gen: torch.Generator, like: Tensor
) -> Tensor:
    """U[low, high) draws of ``shape`` with ``like``'s dtype and device."""
    u = torch.rand(shape, generator=gen, device=gen.device, dtype=torch.float64)
    return (low + (high - low) * u).to(device=like.device, dtype=like.dtype)


def _randint(
    low: int, high: int, shape: tuple[int, ...], gen: torch.Generator, device: torch.device | str
) -> Tensor:
    """Integers uniform in [low, high] (inclusive) on ``device``."""
    draw = torch.randint(low, high + 1, shape, generator=gen, device=gen.device)
    return draw.to(device)


def _choice(options: Sequence[float], shape: tuple[int, ...], gen: torch.Generator) -> Tensor:
    """Uniform choice among ``options``, as a float64 CPU tensor of ``shape``."""
    index = _randint(0, len(options) - 1, shape, gen, "cpu")
    return torch.tensor(options, dtype=torch.float64)[index]


# -- SeqCLR set --------------------------------------------------------------------------------


def time_shift(
    x: Tensor, sfreq: float, gen: torch.Generator, max_fraction: float = 1 / 80
) -> Tensor:
    """Shift each series in time by a random number of samples; the length is kept.

    The shift ``s`` is uniform in ``{1, ..., m}`` with a random sign, ``m = max(1,
    round(max_fraction * times))`` (SeqCLR: 50 samples of a 4000-sample window). Samples shifted
    in from outside the window are the window's mirror image at that edge (reflection), since a
    window carries no context beyond its ends.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times)
    sfreq : float
        Sampling rate in Hz (checked; the shift is relative to the window, not to the rate).
    gen : torch.Generator
    max_fraction : float
        Largest shift as a fraction of the window length.

    Returns
    -------
    shifted : Tensor, shape (batch, channels, times), same dtype
    """
    _check_windows(x, min_times=2)
    _check_generator(gen)
    check_positive("sfreq", sfreq, unit="Hz")
    check_positive("max_fraction", max_fraction, upper=0.5)
    batch, n_channels, n_times = x.shape
    max_shift = min(max(1, round(max_fraction * n_times)), n_times - 1)
    magnitude = _randint(1, max_shift, (batch, n_channels, 1), gen, x.device)
    sign = _randint(0, 1, (batch, n_channels, 1), gen, x.device) * 2 - 1
    source = torch.arange(n_times, device=x.device) - magnitude * sign  # (batch, chans, times)
    source = source.abs()  # reflect at the start: -k -> k
    source = torch.where(source > n_times - 1, 2 * (n_times - 1) - source, source)  # and the end
    return torch.gather(x, 2, source)


def amplitude_scale(x: Tensor, gen: torch.Generator, low: float = 0.5, high: float = 2.0) -> Tensor:
    """Multiply each series by a factor drawn from U[low, high] (SeqCLR: U[0.5, 2]).

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times)
    gen : torch.Generator
    low, high : float
        Range of the factor.

    Returns
    -------
    scaled : Tensor, shape (batch, channels, times), same dtype
    """
    _check_windows(x)
    _check_generator(gen)
    _check_range("low, high", low, high, minimum=0.0)
    return x * _uniform((*x.shape[:2], 1), low, high, gen, x)


def dc_shift(x: Tensor, gen: torch.Generator, max_shift_uv: float = 10.0) -> Tensor:
    """Add a constant drawn from U[-max_shift_uv, max_shift_uv] µV to each series.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times), microvolts
    gen : torch.Generator
    max_shift_uv : float
        Largest offset in µV (SeqCLR: 10).

    Returns
    -------
    shifted : Tensor, shape (batch, channels, times), same dtype
    """
    _check_windows(x)
    _check_generator(gen)
    check_positive("max_shift_uv", max_shift_uv, unit="µV")
    return x + _uniform((*x.shape[:2], 1), -max_shift_uv, max_shift_uv, gen, x)


def zero_mask(x: Tensor, gen: torch.Generator, max_fraction: float = 0.0375) -> Tensor:
    """Set one contiguous run of each series to zero.

    The run length is uniform in ``{1, ..., max(1, round(max_fraction * times))}`` (SeqCLR: up to
    150 samples of a 4000-sample window, 3.75 %) and its start uniform over the positions where it
    fits.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times)
    gen : torch.Generator
    max_fraction : float
        Longest run as a fraction of the window length, in (0, 1].

    Returns
    -------
    masked : Tensor, shape (batch, channels, times), same dtype
    """
    _check_windows(x)
    _check_generator(gen)
    check_positive("max_fraction", max_fraction, upper=1.0)
    batch, n_channels, n_times = x.shape
    max_length = max(1, round(max_fraction * n_times))
    length = _randint(1, max_length, (batch, n_channels, 1), gen, x.device)
    u = _uniform((batch, n_channels, 1), 0.0, 1.0, gen, x.double())
    start = (u * (n_times - length + 1)).floor().long()  # uniform in {0, ..., times - length}
    t = torch.arange(n_times, device=x.device)
    inside = (t >= start) & (t < start + length)  # (batch, chans, times)
    return x.masked_fill(inside, 0.0)


def gaussian_noise(x: Tensor, gen: torch.Generator, max_sigma: float = 0.2) -> Tensor:
    """Add white Gaussian noise with a random level relative to each series' spread.

    For each series ``sigma ~ U[0, max_sigma]`` (SeqCLR: 0.2) and the noise standard deviation is
    ``sigma * std(series)``, the series' standard deviation over the window. The table's 0.2 is
    unitless; scaling by the series' own spread makes it mean the same for any amplitude (an
    absolute 0.2 µV would be invisible in EEG). A flat series gets no noise.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times)
    gen : torch.Generator
    max_sigma : float
        Largest relative noise level.

    Returns
    -------
    noisy : Tensor, shape (batch, channels, times), same dtype
    """
    _check_windows(x)
    _check_generator(gen)
    check_positive("max_sigma", max_sigma)
    sigma = _uniform((*x.shape[:2], 1), 0.0, max_sigma, gen, x)
    spread = x.std(dim=2, keepdim=True, correction=0)  # (batch, chans, 1)
    noise = torch.randn(x.shape, generator=gen, device=gen.device, dtype=x.dtype).to(x.device)
    return x + noise * sigma * spread


def bandstop_gain(
    freqs_hz: Tensor, centre_hz: Tensor, width_hz: float, sfreq: float, order: int = 5
) -> Tensor:
    """Zero-phase gain of a Butterworth band-stop applied forward and backward.

    This is ``|H(f)|**2`` of ``scipy.signal.butter(order, [c - w/2, c + w/2], "bandstop",
    fs=sfreq)``, that is the steady-state gain of ``sosfiltfilt`` with that filter: the analog
    prototype evaluated at the bilinear-prewarped frequency ``tan(pi f / sfreq)``.

    Parameters
    ----------
    freqs_hz : Tensor, shape (n_freqs,)
        Frequencies in [0, sfreq / 2].
    centre_hz : Tensor, shape (n_series,)
        Centre of each stop band.
    width_hz : float
        Width of the stop band between its -3 dB edges of the one-pass filter.
    sfreq : float
        Sampling rate in Hz.
    order : int
        Order of the Butterworth prototype (the band-stop has twice as many poles).

    Returns
    -------
    gain : Tensor, shape (n_series, n_freqs), float64
        1 in the pass band, 0 at the centre (geometric mean of the prewarped edges).
    """

    def warp(freq_hz: Tensor) -> Tensor:  # bilinear-transform prewarping
        return torch.tan(torch.pi * freq_hz.to(torch.float64) / sfreq)

    omega = warp(freqs_hz)[None, :]  # (1, freqs)
    low = warp(centre_hz - width_hz / 2)[:, None]  # (series, 1)
    high = warp(centre_hz + width_hz / 2)[:, None]
    ratio = (high - low) * omega / (omega.square() - low * high).abs()  # inf at the notch
    return 1.0 / (1.0 + ratio.pow(2 * order))


def band_stop(
    x: Tensor,
    sfreq: float,
    gen: torch.Generator,
    width_hz: float = 5.0,
    centre_range_hz: tuple[float, float] = (2.8, 82.5),
    order: int = 5,
) -> Tensor:
    """Remove a random 5-Hz band from each series with a zero-phase Butterworth band-stop.

    The centre is uniform in ``[centre_range_hz[0], min(centre_range_hz[1], 0.45 * sfreq)]``
    (SeqCLR: 2.8-82.5 Hz at 200 Hz). Filtering is zero-phase, like the reimplementation's
    5th-order Butterworth with ``sosfiltfilt``, but done in the frequency domain: the spectrum of
    each series is multiplied by :func:`bandstop_gain` (the exact forward-backward gain of that
    filter), after reflection padding by half a window on each side to limit circular
    wrap-around. Away from the window edges the result matches ``sosfiltfilt`` closely.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times)
    sfreq : float
        Sampling rate in Hz, above 50 Hz with the defaults, so that the highest stop band
        (centre ``0.45 * sfreq`` plus half the width) ends below Nyquist.
    gen : torch.Generator
    width_hz : float
        Width of the stop band (SeqCLR: 5 Hz).
    centre_range_hz : (float, float)
        Range of the centre frequency before the ``0.45 * sfreq`` cap.
    order : int
        Butterworth prototype order (SeqCLR reimplementation: 5).

    Returns
    -------
    filtered : Tensor, shape (batch, channels, times), same dtype

    Raises
    ------
    ConfigError
        If the stop band can fall below 0 Hz or reach Nyquist at this ``sfreq``.
    """
    _check_windows(x, min_times=2)
    _check_generator(gen)
    sfreq = check_positive("sfreq", sfreq, unit="Hz")
    width_hz = check_positive("width_hz", width_hz, unit="Hz")
    low_c, high_c = (float(v) for v in centre_range_hz)
    high_c = min(high_c, 0.45 * sfreq)
    _check_range("centre_range_hz", low_c, high_c)
    if low_c - width_hz / 2 <= 0 or high_c + width_hz / 2 >= sfreq / 2:
        raise ConfigError(
            f"band-stop centres in [{low_c}, {high_c}] Hz with width {width_hz} Hz must keep the "
            f"stop band inside (0, {sfreq / 2}) Hz; raise the lowest centre or use sfreq > "
            f"{2 * (high_c + width_hz / 2):.1f} Hz."
        )
    order = check_int("order", order)
    batch, n_channels, n_times = x.shape
    centre = _uniform((batch * n_channels,), low_c, high_c, gen, x.double())
    pad = n_times // 2
    padded = F.pad(x.reshape(batch * n_channels, 1, n_times), (pad, pad), mode="reflect")[:, 0]
    n_padded = padded.shape[-1]  # series, times + 2 pad
    freqs = torch.fft.rfftfreq(n_padded, d=1.0 / sfreq, device=x.device)
    gain = bandstop_gain(freqs, centre, width_hz, sfreq, order)  # (series, freqs)
    spectrum = torch.fft.rfft(padded, dim=-1) * gain.to(x.dtype)
    filtered = torch.fft.irfft(spectrum, n=n_padded, dim=-1)[:, pad : pad + n_times]
    return filtered.reshape(batch, n_channels, n_times).to(x.dtype)


def _seqclr_functions(sfreq: float) -> dict[str, Callable[[Tensor, torch.Generator], Tensor]]:
    """The SeqCLR augmentations with their default strengths, keyed by name."""
    return {
        "time_shift": lambda x, g: time_shift(x, sfreq, g),
        "amplitude_scale": amplitude_scale,
        "dc_shift": dc_shift,
        "zero_mask": zero_mask,
        "gaussian_noise": gaussian_noise,
        "band_stop": lambda x, g: band_stop(x, sfreq, g),
    }


def seqclr_augment(
    x: Tensor,
    sfreq: float,
    gen: torch.Generator,
    augmentations: Sequence[str] = SEQCLR_AUGMENTATIONS,
    n_per_series: int = 2,
) -> Tensor:
    """Apply ``n_per_series`` different random augmentations to each single-channel series.

    Every series (every channel of every window) draws its own ordered choice of distinct
    augmentations from ``augmentations`` and its own strengths; they are applied one after the
    other.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times), microvolts
    sfreq : float
        Sampling rate in Hz.
    gen : torch.Generator
    augmentations : sequence of str
        Names from :data:`SEQCLR_AUGMENTATIONS`.
    n_per_series : int
        How many augmentations each series gets (SeqCLR: 2); at most ``len(augmentations)``.

    Returns
    -------
    augmented : Tensor, shape (batch, channels, times), same dtype
    """
    _check_windows(x, min_times=2)
    _check_generator(gen)
    functions = _seqclr_functions(check_positive("sfreq", sfreq, unit="Hz"))
    names = list(augmentations)
    unknown = [n for n in names if n not in functions]
    if not names or unknown or len(set(names)) != len(names):
        raise ConfigError(
            f"'augmentations' must be distinct names from {list(SEQCLR_AUGMENTATIONS)}; "
            f"got {names}."
        )
    if isinstance(n_per_series, bool) or not isinstance(n_per_series, int):
        raise ConfigError(f"'n_per_series' must be an integer; got {n_per_series!r}.")
    if not 1 <= n_per_series <= len(names):
        raise ConfigError(
            f"'n_per_series' must be in [1, {len(names)}] (distinct augmentations); "
            f"got {n_per_series}."
        )
    batch, n_channels, n_times = x.shape
    series = x.reshape(batch * n_channels, 1, n_times).clone()  # (series, 1, times)
    # Random permutation per series; its first n_per_series entries are the ordered choice.
    keys = torch.rand((series.shape[0], len(names)), generator=gen, device=gen.device)
    choice = keys.argsort(dim=1)[:, :n_per_series].to(x.device)  # (series, n_per_series)
    for step in range(n_per_series):
        for k, name in enumerate(names):
            rows = torch.nonzero(choice[:, step] == k).flatten()
            if rows.numel():
                series[rows] = functions[name](series[rows], gen)
    return series.reshape(batch, n_channels, n_times)


def seqclr_views(x: Tensor, sfreq: float, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Two independently augmented views of every single-channel series (SeqCLR).

    Each view applies two distinct augmentations, chosen at random per series and per view from
    the six of :data:`SEQCLR_AUGMENTATIONS` with their default strengths (see
    :func:`seqclr_augment`).

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times), microvolts
        Typically single-channel series ``(n_series, 1, times)`` from
        :func:`recombine_channels`.
    sfreq : float
        Sampling rate in Hz (> 50 Hz for the band-stop's range).
    gen : torch.Generator

    Returns
    -------
    view1, view2 : Tensor, shape (batch, channels, times), same dtype
    """
    return seqclr_augment(x, sfreq, gen), seqclr_augment(x, sfreq, gen)


def recombination_pairs(
    n_channels: int, max_pairs: int | None = None, gen: torch.Generator | None = None
) -> Tensor:
    """Ordered channel pairs ``(i, j)``, ``i != j``, for :func:`recombine_channels`.

    Parameters
    ----------
    n_channels : int
        Number of channels ``C``.
    max_pairs : int or None
        None keeps all ``C * (C - 1)`` pairs; otherwise a random subset of at most this many
        (drawn from ``gen``), in the same row-major order.
    gen : torch.Generator or None
        Needed when a subset is drawn.

    Returns
    -------
    pairs : Tensor, shape (n_pairs, 2), int64
        Row-major order: (0, 1), (0, 2), ..., (1, 0), (1, 2), ...
    """
    n_channels = check_int("n_channels", n_channels)
    first, second = torch.meshgrid(
        torch.arange(n_channels), torch.arange(n_channels), indexing="ij"
    )
    keep = first != second
    pairs = torch.stack([first[keep], second[keep]], dim=1)  # (C (C - 1), 2)
    if max_pairs is None:
        return pairs
    if isinstance(max_pairs, bool) or not isinstance(max_pairs, int) or max_pairs < 0:
        raise ConfigError(f"'max_pairs' must be None or an integer >= 0; got {max_pairs!r}.")
    if max_pairs >= len(pairs):
        return pairs
    if max_pairs == 0:
        return pairs[:0]
    if gen is None:
        raise ConfigError(
            f"'gen' is required to draw {max_pairs} of the {len(pairs)} channel pairs."
        )
    _check_generator(gen)
    subset = torch.randperm(len(pairs), generator=gen, device=gen.device)[:max_pairs].cpu()
    return pairs[subset.sort().values]


def recombine_channels(
    x: Tensor, max_pairs: int | None = None, gen: torch.Generator | None = None
) -> Tensor:
    """SeqCLR channel recombination: the channels plus ordered differences ``x_i - x_j``.

    With all pairs, C channels give ``C + C (C - 1) = C**2`` series. Because that grows fast
    (4096 for 64 channels), ``max_pairs`` keeps a random subset of the differences; the same
    subset is used for the whole batch. Reshape the result to ``(batch * K, 1, times)`` to treat
    every series as a single-channel sample.

    Parameters
    ----------
    x : Tensor, shape (batch, C, times)
    max_pairs : int or None
        At most this many difference channels; None keeps all ``C (C - 1)``.
    gen : torch.Generator or None
        Needed when ``max_pairs < C (C - 1)``.

    Returns
    -------
    recombined : Tensor, shape (batch, K, times)
        ``K = C + n_pairs``. Rows ``0..C-1`` are the inputs; row ``C + p`` is
        ``x[:, i] - x[:, j]`` for the p-th pair of :func:`recombination_pairs` (drawn the same way
        from the same generator state).
    """
    _check_windows(x)
    pairs = recombination_pairs(x.shape[1], max_pairs, gen).to(x.device)
    diffs = x[:, pairs[:, 0]] - x[:, pairs[:, 1]]  # (batch, n_pairs, times)
    return torch.cat([x, diffs], dim=1)  # -> (batch, C + n_pairs, times)


# -- SPP-EEGNet set ----------------------------------------------------------------------------


def spp_add_noise(
    x: Tensor, gen: torch.Generator, scales: Sequence[float] = (0.02, 0.05, 0.08, 0.1)
) -> Tensor:
    """Add Gaussian noise with std ``scale * peak-to-peak`` of each channel (tsaug ``AddNoise``).

    One ``scale`` is drawn per window from ``scales``; the noise of each channel is scaled by
    that channel's peak-to-peak amplitude in the window (tsaug's ``normalize=True``).

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times)
    gen : torch.Generator
    scales : sequence of float
        Options for the relative noise level.

    Returns
    -------
    noisy : Tensor, shape (batch, channels, times), same dtype
    """
    _check_windows(x)
    _check_generator(gen)
    scales = _check_options("scales", scales)
    scale = _choice(scales, (x.shape[0], 1, 1), gen).to(device=x.device, dtype=x.dtype)
    peak_to_peak = x.amax(dim=2, keepdim=True) - x.amin(dim=2, keepdim=True)  # (batch, chans, 1)
    noise = torch.randn(x.shape, generator=gen, device=gen.device, dtype=x.dtype).to(x.device)
    return x + noise * scale * peak_to_peak


def fft_resample(x: Tensor, n_out: int) -> Tensor:
    """Fourier resampling along the last axis, as ``scipy.signal.resample`` (no window).

    Parameters
    ----------
    x : Tensor, shape (..., n_times)
    n_out : int
        Output length (>= 1).

    Returns
    -------
    resampled : Tensor, shape (..., n_out), same dtype
    """
    n_out = check_int("n_out", n_out)
    n_in = x.shape[-1]
    if n_out == n_in:
        return x.clone()
    n_kept = min(n_in, n_out)
    spectrum = torch.fft.rfft(x, dim=-1)[..., : n_kept // 2 + 1]
    if n_kept % 2 == 0:  # the unpaired bin at n_kept / 2 is folded (down) or split (up)
        factor = torch.ones(spectrum.shape[-1], dtype=x.dtype, device=x.device)
        factor[n_kept // 2] = 2.0 if n_out < n_in else 0.5
        spectrum = spectrum * factor
    return torch.fft.irfft(spectrum * (n_out / n_in), n=n_out, dim=-1).to(x.dtype)


def spp_resample(
    x: Tensor,
    sfreq: float,
    gen: torch.Generator,
    target_rates: Sequence[float] = (256, 200, 160, 128, 100),
) -> Tensor:
    """Resample all windows to a rate drawn from ``target_rates``; the length changes.

    SPP-EEGNet resampled its 6-s windows to ``rate * 6`` samples with FFT resampling. In general
    the length becomes ``round(times * rate / sfreq)``, which is the same for a 6-s window; one
    rate is drawn per call so that the batch keeps a common length. A rate equal to ``sfreq``
    returns an unchanged copy (SPP-EEGNet's 250-Hz TUH windows never met that case).

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times)
    sfreq : float
        Sampling rate of ``x`` in Hz.
    gen : torch.Generator
    target_rates : sequence of float
        Options for the new rate in Hz.

    Returns
    -------
    resampled : Tensor, shape (batch, channels, round(times * rate / sfreq)), same dtype
    """
    _check_windows(x)
    _check_generator(gen)
    sfreq = check_positive("sfreq", sfreq, unit="Hz")
    target_rates = _check_options("target_rates", target_rates)
    rate = float(_choice(target_rates, (1,), gen)[0])
    n_out = max(1, round(x.shape[-1] * rate / sfreq))
    return fft_resample(x, n_out)


def spp_clip(
    x: Tensor, gen: torch.Generator, fractions: Sequence[float] = SPP_CLIP_FRACTIONS
) -> Tensor:
    """Crop a random contiguous segment; the length changes.

    The length ``n = max(1, round(fraction * times))`` is drawn once per call from
    ``fractions`` (default: SPP-EEGNet's 600..1200 of 1500 samples, i.e. 0.4..0.8 of the window),
    the start uniformly in ``{0, ..., times - n}`` per window. Exactly ``n`` samples are kept
    (the original kept ``n + 1`` through an off-by-one).

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times)
    gen : torch.Generator
    fractions : sequence of float
        Options for the kept fraction of the window, in (0, 1].

    Returns
    -------
    clipped : Tensor, shape (batch, channels, n), same dtype
    """
    _check_windows(x)
    _check_generator(gen)
    fractions = _check_options("fractions", fractions)
    if max(fractions) > 1:
        raise ConfigError(f"'fractions' must lie in (0, 1]; got {list(fractions)}.")
    batch, n_channels, n_times = x.shape
    n_kept = max(1, round(float(_choice(fractions, (1,), gen)[0]) * n_times))
    start = _randint(0, n_times - n_kept, (batch, 1, 1), gen, x.device)
    index = (start + torch.arange(n_kept, device=x.device)).expand(batch, n_channels, n_kept)
    return torch.gather(x, 2, index)


def spp_pool(x: Tensor, gen: torch.Generator, sizes: Sequence[int] = (2, 3, 4, 5)) -> Tensor:
    """Average non-overlapping runs of ``size`` samples and repeat each mean (tsaug ``Pool``).

    One ``size`` is drawn per window; a shorter last run is averaged over the samples it has.
    The length is unchanged; the temporal resolution drops.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times)
    gen : torch.Generator
    sizes : sequence of int
        Options for the pooling size.

    Returns
    -------
    pooled : Tensor, shape (batch, channels, times), same dtype
    """
    _check_windows(x)
    _check_generator(gen)
    sizes = _check_options("sizes", sizes, integer=True)
    n_times = x.shape[-1]
    size_per_window = _choice(sizes, (x.shape[0],), gen).long()
    out = x.clone()
    for size in size_per_window.unique().tolist():
        rows = torch.nonzero(size_per_window == size).flatten().to(x.device)
        means = F.avg_pool1d(x[rows], kernel_size=size, stride=size, ceil_mode=True)
        out[rows] = means.repeat_interleave(size, dim=-1)[..., :n_times]
    return out


def spp_quantize(
    x: Tensor, gen: torch.Generator, levels: Sequence[int] = (10, 15, 20, 25, 30)
) -> Tensor:
    """Quantize each channel to ``levels`` uniform bins between its min and max (tsaug).

    One ``levels`` is drawn per window; every value is replaced by the centre of its bin, so each
    channel of a window holds at most ``levels`` distinct values. A flat channel is unchanged.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times)
    gen : torch.Generator
    levels : sequence of int
        Options for the number of levels (>= 2).

    Returns
    -------
    quantized : Tensor, shape (batch, channels, times), same dtype
    """
    _check_windows(x)
    _check_generator(gen)
    levels = _check_options("levels", levels, integer=True, minimum=1)
    n_levels = _choice(levels, (x.shape[0], 1, 1), gen).to(device=x.device, dtype=x.dtype)
    low = x.amin(dim=2, keepdim=True)  # (batch, chans, 1)
    bin_width = (x.amax(dim=2, keepdim=True) - low) / n_levels
    flat = bin_width <= 0
    safe_width = torch.where(flat, torch.ones_like(bin_width), bin_width)
    index = torch.floor((x - low) / safe_width).clamp(min=0)
    index = torch.minimum(index, n_levels - 1)  # the maximum belongs to the top bin
    return torch.where(flat, x, low + (index + 0.5) * safe_width)


def _spp_functions(sfreq: float) -> dict[str, Callable[[Tensor, torch.Generator], Tensor]]:
    """The SPP-EEGNet augmentations with their default options, keyed by name."""
    return {
        "add_noise": spp_add_noise,
        "resample": lambda x, g: spp_resample(x, sfreq, g),
        "clip": spp_clip,
        "pool": spp_pool,
        "quantize": spp_quantize,
    }


def spp_augment(
    x: Tensor, sfreq: float, gen: torch.Generator, include_identity: bool = False
) -> Tensor:
    """Apply one SPP-EEGNet augmentation, chosen uniformly, to all windows of ``x``.

    The five of :data:`SPP_AUGMENTATIONS` (plus the identity when ``include_identity``, as for
    SPP-EEGNet's negative pairs) are equally likely. The choice is made once per call; the
    length-preserving ones still draw their option per window. To reproduce SPP-EEGNet's
    per-window choice, call it on one window at a time (``x[i : i + 1]``) and batch the results
    with :func:`pad_collate`.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times)
    sfreq : float
        Sampling rate of ``x`` in Hz.
    gen : torch.Generator
    include_identity : bool
        Whether "no augmentation" is one of the options.

    Returns
    -------
    augmented : Tensor, shape (batch, channels, times_out), same dtype
        ``times_out`` differs from ``times`` after resample or clip. The identity returns a
        copy.
    """
    _check_windows(x)
    _check_generator(gen)
    functions = _spp_functions(check_positive("sfreq", sfreq, unit="Hz"))
    names = list(SPP_AUGMENTATIONS) + (["identity"] if include_identity else [])
    name = names[int(_randint(0, len(names) - 1, (1,), gen, "cpu")[0])]
    if name == "identity":
        return x.clone()
    return functions[name](x, gen)


def pad_collate(windows: Sequence[Tensor]) -> Tensor:
    """Stack windows of different shapes, zero-padding at the bottom (channels) and right (time).

    Parameters
    ----------
    windows : sequence of Tensor, each shape (channels_i, times_i)
        Same dtype and device.

    Returns
    -------
    batch : Tensor, shape (len(windows), max channels_i, max times_i)
        Window ``i`` in ``batch[i, :channels_i, :times_i]``, zeros elsewhere.
    """
    if isinstance(windows, Tensor) or not isinstance(windows, Sequence) or not windows:
        raise ConfigError("'windows' must be a non-empty sequence of (channels, times) tensors.")
    for i, w in enumerate(windows):
        if not isinstance(w, Tensor) or w.ndim != 2:
            shape = tuple(w.shape) if isinstance(w, Tensor) else type(w).__name__
            raise ConfigError(f"'windows[{i}]' must be a (channels, times) tensor; got {shape}.")
        if w.dtype != windows[0].dtype or w.device != windows[0].device:
            raise ConfigError(
                f"'windows' must share dtype and device; windows[{i}] is {w.dtype} on {w.device},"
                f" windows[0] is {windows[0].dtype} on {windows[0].device}."
            )
    n_channels = max(w.shape[0] for w in windows)
    n_times = max(w.shape[1] for w in windows)
    batch = windows[0].new_zeros((len(windows), n_channels, n_times))
    for i, w in enumerate(windows):
        batch[i, : w.shape[0], : w.shape[1]] = w
    return batch
