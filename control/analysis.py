"""Spectra, band powers, channel flags and scalp maps for the dashboard (numpy and scipy only).

The core's analysis thread (2-4 times a second) feeds the last seconds of signal to a
:class:`SpectrumAnalyzer`, which returns the :class:`~neurodeck.control.snapshot.SpectrumView` the
spectrum panel and the scope draw. Everything here is pure: no Qt, no LSL, no torch; MNE is
imported lazily, once, for the 10-05 electrode positions only.

Cost: :meth:`SpectrumAnalyzer.compute` takes about 1.5 ms (median; p95 1.8 ms) for 64 channels
x 4 s at 250 Hz on the 2-core development machine, Welch about two thirds of it; building an
analyzer takes about 13 ms (positions and the interpolation matrix), plus about 0.1 s the first
time for MNE's montage.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import numpy as np
from neurodeck.control.snapshot import BANDS, ChannelQuality, SpectrumView
from neurodeck.models.electrodes import ELECTRODE_TABLE, electrode_row, montage_positions
from numpy.typing import NDArray
from scipy import signal as sp_signal

#: Below this rms (µV, about the linear trend) a channel is "flat".
FLAT_RMS_UV = 0.5
#: Above this rms (µV, about the linear trend) a channel is "noisy".
NOISY_RMS_UV = 100.0
#: A channel whose log-rms is more than this many robust z-scores above the median is "noisy".
OUTLIER_Z = 3.5
#: Smallest robust spread of log-rms (natural log) used for the z-score, so that a set of nearly
#: identical channels does not flag a channel that is only somewhat larger (exp(3.5 x 0.4) = 4x;
#: occipital alpha easily makes a channel 2-3 times larger than the others).
_MIN_LOG_SPREAD = 0.4
#: The relative test needs at least this many usable channels.
_MIN_CHANNELS_FOR_OUTLIERS = 4
_MAX_SUBSET_INTERPOLATORS = 8  # cached interpolators for sets of flagged channels
#: Scalp maps need at least this many located channels.
MIN_CHANNELS_FOR_MAPS = 4

FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Electrode positions
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _montage_positions() -> dict[str, NDArray[np.float64]]:
    """Upper-case 10-05 name -> 3-D head position in metres (MNE's standard 10-05 montage)."""
    return {name.upper(): pos for name, pos in montage_positions().items()}


@functools.lru_cache(maxsize=1)
def _head_frame() -> tuple[FloatArray, FloatArray, FloatArray]:
    """Centre and axes of the head, from the ring Fpz, T7, Oz, T8 (the head outline).

    Returns
    -------
    centre : ndarray, shape (3,)
        Centre of the circle fitted (least squares) through the four electrodes in their
        best-fitting plane.
    axes : ndarray, shape (3, 3)
        Rows: unit vectors right (towards T8), front (towards the nose), up (plane normal).
    outline : ndarray, shape (4,)
        Fourier coefficients ``(c0, c1, s1, c2)`` of the outline's polar angle as a function of
        azimuth ``phi``: ``c0 + c1 cos(phi) + s1 sin(phi) + c2 cos(2 phi)``. The four electrodes
        are not quite coplanar, so this angle is near but not exactly 90°; dividing by it puts
        each of them exactly on the unit circle.
    """
    pos = _montage_positions()
    ring = np.stack([pos["FPZ"], pos["T7"], pos["OZ"], pos["T8"]])  # (4, 3)
    mean = ring.mean(axis=0)
    _, _, vt = np.linalg.svd(ring - mean)
    ez = vt[2] if vt[2, 2] > 0 else -vt[2]  # plane normal, pointing up
    ex = pos["T8"] - pos["T7"]
    ex = ex - ex.dot(ez) * ez
    ex /= np.linalg.norm(ex)
    ey = np.cross(ez, ex)  # up x right = front
    # circle fit in the plane (Kasa): x^2 + y^2 = 2 a x + 2 b y + c
    local = np.stack([(ring - mean) @ ex, (ring - mean) @ ey], axis=1)  # (4, 2)
    lhs = np.column_stack([2 * local, np.ones(len(local))])
    a, b, _ = np.linalg.lstsq(lhs, (local**2).sum(axis=1), rcond=None)[0]
    centre = mean + a * ex + b * ey
    axes = np.stack([ex, ey, ez])
    polar, azimuth = _polar_azimuth(ring - centre, axes)
    basis = _outline_basis(azimuth)  # (4, 4)
    outline = np.linalg.solve(basis, polar)
    return centre, axes, outline


def _polar_azimuth(vectors: FloatArray, axes: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Polar angle from the vertex and azimuth (from +x towards +y) of ``vectors (n, 3)``."""
    local = vectors @ axes.T  # (n, 3): right, front, up
    polar = np.arctan2(np.hypot(local[:, 0], local[:, 1]), local[:, 2])
    return polar, np.arctan2(local[:, 1], local[:, 0])


def _outline_basis(azimuth: FloatArray) -> FloatArray:
    """Fourier basis ``(1, cos, sin, cos 2)`` of azimuths ``(n,)`` -> ``(n, 4)``."""
    return np.column_stack(
        [np.ones_like(azimuth), np.cos(azimuth), np.sin(azimuth), np.cos(2 * azimuth)]
    )


def _canonical_upper(name: str) -> str | None:
    """Upper-case 10-05 name of a channel label (``'C3..'`` -> ``'C3'``, ``'T3'`` -> ``'T7'``)."""
    row = electrode_row(name)
    return None if row is None else ELECTRODE_TABLE[row]


def head_positions(
    channel_names: Sequence[str],
) -> tuple[FloatArray, tuple[str, ...], list[int]]:
    """2-D head coordinates of the channels that have a 10-05 position.

    Positions come from MNE's standard 10-05 montage; names match case-insensitively, with the
    clean-ups of :func:`neurodeck.models.electrodes.electrode_row` (dots, ``'EEG '`` prefixes,
    ``'-REF'`` suffixes) and the old names T3/T4/T5/T6 read as T7/T8/P7/P8. The projection is
    azimuthal equidistant about the vertex: a point's distance from the origin is its polar angle
    divided by that of the head outline (the ring Fpz-T7-Oz-T8, close to 90°) at the same azimuth,
    so the outline is the unit circle, Cz is near the origin, the nose points to +y and the right
    ear to +x; sites below the ring (T9, Iz) land outside the unit circle.

    Parameters
    ----------
    channel_names : sequence of str, length n_channels
        Channel labels.

    Returns
    -------
    positions : ndarray, shape (n_located, 2)
        ``(x, y)`` of the located channels, in the order of ``channel_names``.
    names : tuple of str, length n_located
        Their labels as given.
    indices : list of int, length n_located
        Their rows in ``channel_names``.

    Notes
    -----
    The first call imports MNE (about half a second); the montage is cached.
    """
    canonical = [_canonical_upper(str(name)) for name in channel_names]
    pos3d = _montage_positions()
    indices = [i for i, c in enumerate(canonical) if c is not None and c in pos3d]
    if not indices:
        return np.zeros((0, 2)), (), []
    centre, axes, outline = _head_frame()
    vectors = np.stack([pos3d[canonical[i]] for i in indices]) - centre  # (n_located, 3)
    polar, azimuth = _polar_azimuth(vectors, axes)
    radius = polar / (_outline_basis(azimuth) @ outline)  # outline -> 1
    positions = np.stack([radius * np.cos(azimuth), radius * np.sin(azimuth)], axis=1)
    names = tuple(str(channel_names[i]) for i in indices)
    return positions, names, indices


# --------------------------------------------------------------------------------------------
# Scalp interpolation
# --------------------------------------------------------------------------------------------


def _tps_kernel(dist: FloatArray) -> FloatArray:
    """Thin-plate spline kernel ``r^2 log r`` (0 at r = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dist > 0, dist**2 * np.log(np.maximum(dist, 1e-300)), 0.0)


class ScalpInterpolator:
    """Interpolates channel values over the head on a square grid with one matrix product.

    A thin-plate spline with a linear term, precomputed as a weight matrix: constant and linear
    fields are reproduced exactly, the surface passes through every electrode value, and each
    call costs one ``(grid * grid, n_located) @ (n_located,)`` product.

    Parameters
    ----------
    positions : ndarray, shape (n_located, 2)
        Electrode coordinates from :func:`head_positions` (head outline = unit circle).
    grid : int
        Pixels per side of the image.
    extent : tuple of float
        ``(x_min, x_max, y_min, y_max)`` of the image.
    head_radius : float
        Pixels whose centre lies further than this from the origin are NaN.

    Notes
    -----
    Image orientation: ``image[row, col]`` is the pixel whose centre is at
    ``x = x_min + (col + 0.5) * (x_max - x_min) / grid`` and
    ``y = y_min + (row + 0.5) * (y_max - y_min) / grid``; row 0 is the lowest y (the back of
    the head), column 0 the lowest x (the left). Drawn row-major into the rectangle ``extent``
    of a y-up plot, the nose is at the top.
    """

    def __init__(
        self,
        positions: FloatArray,
        grid: int = 48,
        extent: tuple[float, float, float, float] = (-1.2, 1.2, -1.2, 1.2),
        head_radius: float = 1.0,
    ) -> None:
        positions = np.asarray(positions, dtype=np.float64)
        if positions.ndim != 2 or positions.shape[1] != 2 or len(positions) == 0:
            raise ValueError(
                f"'positions' must have shape (n_located >= 1, 2); got {positions.shape}."
            )
        if int(grid) < 2:
            raise ValueError(f"'grid' must be >= 2; got {grid}.")
        self._grid = int(grid)
        self._extent = tuple(float(v) for v in extent)
        self.positions = positions
        x_min, x_max, y_min, y_max = self._extent
        xs = x_min + (np.arange(self._grid) + 0.5) * (x_max - x_min) / self._grid
        ys = y_min + (np.arange(self._grid) + 0.5) * (y_max - y_min) / self._grid
        gx, gy = np.meshgrid(xs, ys)  # (grid, grid); rows follow y
        points = np.column_stack([gx.ravel(), gy.ravel()])  # (grid * grid, 2)
        self._inside = np.hypot(points[:, 0], points[:, 1]) <= head_radius
        self._weights = self._tps_weights(positions, points)  # (grid * grid, n_located)

    @staticmethod
    def _tps_weights(nodes: FloatArray, points: FloatArray) -> FloatArray:
        """Matrix taking node values ``(n,)`` to interpolated point values ``(n_points,)``."""
        n = len(nodes)
        poly_nodes = np.column_stack([np.ones(n), nodes])  # (n, 3)
        system = np.zeros((n + 3, n + 3))
        system[:n, :n] = _tps_kernel(np.linalg.norm(nodes[:, None] - nodes[None], axis=-1))
        system[:n, n:] = poly_nodes
        system[n:, :n] = poly_nodes.T
        # pinv copes with repeated electrodes and with fewer than 3 nodes (least squares)
        inverse = np.linalg.pinv(system)[:, :n]  # (n + 3, n): node values -> coefficients
        kernel = _tps_kernel(np.linalg.norm(points[:, None] - nodes[None], axis=-1))
        basis = np.column_stack([kernel, np.ones(len(points)), points])  # (n_points, n + 3)
        return np.ascontiguousarray(basis @ inverse)

    @property
    def grid(self) -> int:
        """Pixels per side."""
        return self._grid

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(x_min, x_max, y_min, y_max)`` of the image."""
        return self._extent  # type: ignore[return-value]

    def __call__(self, values: FloatArray) -> FloatArray:
        """Interpolate one value per electrode over the head.

        Parameters
        ----------
        values : ndarray, shape (n_located,) or (n_located, n_maps)
            One value per row of ``positions`` (several maps at once in columns).

        Returns
        -------
        ndarray, shape (grid, grid) or (n_maps, grid, grid)
            Row 0 = lowest y (see the class notes); NaN outside the head.
        """
        values = np.asarray(values, dtype=np.float64)
        if values.shape[0] != self._weights.shape[1]:
            raise ValueError(
                f"'values' must have {self._weights.shape[1]} rows (one per electrode); "
                f"got shape {values.shape}."
            )
        flat = self._weights @ values  # (grid * grid,) or (grid * grid, n_maps)
        flat[~self._inside] = np.nan
        if values.ndim == 1:
            return flat.reshape(self._grid, self._grid)
        return np.moveaxis(flat, -1, 0).reshape(values.shape[1], self._grid, self._grid)


# --------------------------------------------------------------------------------------------
# Spectra and band powers
# --------------------------------------------------------------------------------------------


def welch_psd(
    data: NDArray[np.floating], sfreq: float, nperseg_s: float = 1.0
) -> tuple[FloatArray, FloatArray]:
    """Welch power spectral density of every channel (Hann windows, 50 % overlap).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples)
        Signal in µV.
    sfreq : float
        Sampling rate in Hz.
    nperseg_s : float
        Segment length in seconds (shortened to the data when it is shorter).

    Returns
    -------
    freqs : ndarray, shape (n_freqs,)
        Frequencies in Hz, from 0 to the Nyquist frequency.
    psd : ndarray, shape (n_channels, n_freqs)
        Power spectral density in µV^2/Hz (one-sided; its integral is the signal's variance).
    """
    if not sfreq > 0:
        raise ValueError(f"'sfreq' must be > 0; got {sfreq}.")
    if not nperseg_s > 0:
        raise ValueError(f"'nperseg_s' must be > 0; got {nperseg_s}.")
    data = np.asarray(data)
    if data.ndim != 2 or data.shape[1] < 2:
        raise ValueError(f"'data' must have shape (n_channels, n_samples >= 2); got {data.shape}.")
    nperseg = max(2, min(data.shape[1], round(nperseg_s * sfreq)))
    freqs, psd = sp_signal.welch(
        data.astype(np.float64, copy=False), fs=sfreq, nperseg=nperseg, axis=-1
    )
    return freqs, psd


def band_powers(
    freqs: FloatArray, psd: FloatArray, bands: Mapping[str, tuple[float, float]] = BANDS
) -> FloatArray:
    """Absolute power per band: the PSD integrated over ``[lo, hi)`` (rectangle rule).

    Parameters
    ----------
    freqs : ndarray, shape (n_freqs,)
        Evenly spaced frequencies in Hz.
    psd : ndarray, shape (n_channels, n_freqs)
        Power spectral density in µV^2/Hz.
    bands : mapping of str to (float, float)
        Band edges in Hz, in the order of the output columns.

    Returns
    -------
    ndarray, shape (n_channels, n_bands)
        Power in µV^2 (0 for a band that holds no frequency bin).
    """
    freqs = np.asarray(freqs, dtype=np.float64)
    psd = np.atleast_2d(np.asarray(psd, dtype=np.float64))
    df = float(freqs[1] - freqs[0]) if len(freqs) > 1 else 0.0
    masks = np.stack([(freqs >= lo) & (freqs < hi) for lo, hi in bands.values()])  # (n_bands, f)
    return psd @ masks.T.astype(np.float64) * df


# --------------------------------------------------------------------------------------------
# Channel flags
# --------------------------------------------------------------------------------------------


def _detrended_rms(data: NDArray[np.floating]) -> FloatArray:
    """Rms of every channel about its least-squares line (offset and slow drift removed).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples), finite

    Returns
    -------
    ndarray, shape (n_channels,)
    """
    n_samples = data.shape[1]
    x = np.arange(n_samples, dtype=np.float64) - (n_samples - 1) / 2  # centred ramp
    data = data.astype(np.float64, copy=False)
    mean = data.mean(axis=1)
    slope = data @ x / max(float(x @ x), 1e-12)
    # variance about the line = E[d^2] - mean^2 - slope^2 * E[x^2]
    mean_sq = np.einsum("ij,ij->i", data, data) / n_samples
    var = mean_sq - mean**2 - slope**2 * float(x @ x) / n_samples
    return np.sqrt(np.maximum(var, 0.0))


def channel_quality(
    names: Sequence[str], data: NDArray[np.floating], sfreq: float
) -> tuple[ChannelQuality, ...]:
    """Flag flat and noisy channels, with the reason in words.

    A channel is ``"flat"`` when its rms about its linear trend is below :data:`FLAT_RMS_UV`
    (no contact, or a disconnected lead), ``"noisy"`` when it holds non-finite samples, when its
    rms exceeds :data:`NOISY_RMS_UV`, or (with at least 4 channels that pass the other tests)
    when its log-rms lies more than :data:`OUTLIER_Z` robust z-scores (median and MAD of those
    channels, the spread floored so that it takes at least 4 times the median) above the median;
    ``"ok"`` otherwise.

    Parameters
    ----------
    names : sequence of str, length n_channels
        Channel labels.
    data : ndarray, shape (n_channels, n_samples)
        Unfiltered signal in µV (flat channels only show on unfiltered data).
    sfreq : float
        Sampling rate in Hz (reserved for frequency-aware checks).

    Returns
    -------
    tuple of ChannelQuality, length n_channels
    """
    del sfreq  # the present checks are rate-free
    data = np.asarray(data)
    if data.ndim != 2 or data.shape[0] != len(names):
        raise ValueError(
            f"'data' must have shape (n_channels={len(names)}, n_samples); got {data.shape}."
        )
    if data.shape[1] < 2:
        return tuple(ChannelQuality(str(n), "ok") for n in names)
    n_bad = np.count_nonzero(~np.isfinite(data), axis=1)  # (n_channels,)
    if n_bad.any():
        data = np.where(np.isfinite(data), data, 0.0)
    rms = _detrended_rms(data)
    flat = rms < FLAT_RMS_UV
    usable = ~flat & (n_bad == 0) & (rms <= NOISY_RMS_UV)  # the reference for the relative test
    z = np.zeros(len(rms))
    median_rms = math.nan
    if np.count_nonzero(usable) >= _MIN_CHANNELS_FOR_OUTLIERS:
        log_rms = np.log(rms[usable])
        median = float(np.median(log_rms))
        spread = max(1.4826 * float(np.median(np.abs(log_rms - median))), _MIN_LOG_SPREAD)
        z[usable] = (log_rms - median) / spread
        median_rms = math.exp(median)
    out = []
    for i, name in enumerate(names):
        if n_bad[i]:
            flag, reason = "noisy", f"noisy: {n_bad[i]} non-finite samples; check the amplifier"
        elif flat[i]:
            flag, reason = "flat", f"flat: {rms[i]:.1f} µV rms; check the electrode contact"
        elif rms[i] > NOISY_RMS_UV:
            flag = "noisy"
            reason = (
                f"noisy: {rms[i]:.0f} µV rms (limit {NOISY_RMS_UV:.0f} µV); "
                "check the electrode contact and cable"
            )
        elif z[i] > OUTLIER_Z:
            flag = "noisy"
            reason = (
                f"noisy: {rms[i]:.0f} µV rms, {rms[i] / median_rms:.1f}x the median channel "
                f"({median_rms:.0f} µV); check the electrode contact"
            )
        else:
            flag, reason = "ok", ""
        out.append(ChannelQuality(str(name), flag, reason))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# The whole view
# --------------------------------------------------------------------------------------------


class SpectrumAnalyzer:
    """Builds :class:`~neurodeck.control.snapshot.SpectrumView` objects for one stream.

    Electrode positions and the scalp interpolator are computed once, here; :meth:`compute`
    only runs Welch, the band sums, the channel flags and one matrix product.

    Parameters
    ----------
    channel_names : sequence of str, length n_channels
        Labels of the stream's channels.
    sfreq : float
        Sampling rate in Hz.
    span_s : float
        Seconds of signal analysed (the newest ones of what :meth:`compute` receives).
    grid : int
        Pixels per side of the scalp maps.
    nperseg_s : float
        Welch segment length in seconds.
    bands : mapping of str to (float, float)
        Frequency bands in Hz.

    Notes
    -----
    Built and called on the core's analysis thread; the first construction in a process
    imports MNE (about half a second).
    """

    def __init__(
        self,
        channel_names: Sequence[str],
        sfreq: float,
        span_s: float = 4.0,
        grid: int = 48,
        nperseg_s: float = 1.0,
        bands: Mapping[str, tuple[float, float]] = BANDS,
    ) -> None:
        if not sfreq > 0:
            raise ValueError(f"'sfreq' must be > 0; got {sfreq}.")
        if not span_s > 0:
            raise ValueError(f"'span_s' must be > 0; got {span_s}.")
        self.channel_names = tuple(str(n) for n in channel_names)
        self.sfreq = float(sfreq)
        self.span_s = float(span_s)
        self.nperseg_s = float(nperseg_s)
        self.bands = dict(bands)
        self.grid = int(grid)
        self.positions, self.scalp_names, self._located = head_positions(self.channel_names)
        self.interpolator: ScalpInterpolator | None = None
        if len(self._located) >= MIN_CHANNELS_FOR_MAPS:
            self.interpolator = ScalpInterpolator(
                self.positions, grid=self.grid, head_radius=self.head_radius
            )
        # interpolators over subsets of the located channels (flagged ones left out)
        self._subset_interpolators: dict[tuple[bool, ...], ScalpInterpolator] = {}

    @property
    def head_radius(self) -> float:
        """Pixels are filled up to the outline plus half a pixel diagonal (the views clip the
        image to the outline, so its rim has no gaps)."""
        pixel = 2.4 / self.grid  # the interpolators' default extent is 2.4 head units wide
        return 1.0 + math.sqrt(2.0) * pixel / 2.0

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(x_min, x_max, y_min, y_max)`` of the scalp maps."""
        if self.interpolator is None:
            return (-1.2, 1.2, -1.2, 1.2)
        return self.interpolator.extent

    def compute(self, filtered: NDArray[np.floating], raw: NDArray[np.floating]) -> SpectrumView:
        """Spectra, band powers, flags and scalp maps of the newest ``span_s`` seconds.

        Parameters
        ----------
        filtered : ndarray, shape (n_channels, n_samples)
            Display-filtered signal in µV (spectra, band powers and maps).
        raw : ndarray, shape (n_channels, n_samples)
            The same samples unfiltered (channel flags).

        Returns
        -------
        SpectrumView

        Notes
        -----
        Called from the core's analysis thread.
        """
        n_channels = len(self.channel_names)
        for label, array in (("filtered", filtered), ("raw", raw)):
            if np.ndim(array) != 2 or np.shape(array)[0] != n_channels:
                raise ValueError(
                    f"'{label}' must have shape (n_channels={n_channels}, n_samples); "
                    f"got {np.shape(array)}."
                )
        n_span = max(2, round(self.span_s * self.sfreq))
        filtered = np.asarray(filtered)[:, -n_span:]
        raw = np.asarray(raw)[:, -n_span:]
        freqs, psd = welch_psd(filtered, self.sfreq, self.nperseg_s)
        power = band_powers(freqs, psd, self.bands)  # (n_channels, n_bands)
        quality = channel_quality(self.channel_names, raw, self.sfreq)
        return SpectrumView(
            channel_names=self.channel_names,
            freqs=freqs,
            psd=psd,
            band_names=tuple(self.bands),
            band_power=power,
            quality=quality,
            scalp_positions=self.positions,
            scalp_names=self.scalp_names,
            scalp_maps=self._maps(power, quality),
            scalp_extent=self.extent,
            span_s=filtered.shape[1] / self.sfreq,
        )

    def _maps(self, power: FloatArray, quality: Sequence[ChannelQuality]) -> dict[str, FloatArray]:
        """log10 band power over the head, per band (empty without enough located channels).

        Flagged channels (flat, noisy) are left out of the interpolation while at least
        :data:`MIN_CHANNELS_FOR_MAPS` good ones remain, so one bad electrode does not paint a
        hole or a hot spot.
        """
        if self.interpolator is None:
            return {}
        log_power = np.log10(np.maximum(power[self._located], 1e-12))  # (n_located, n_bands)
        good = np.array([quality[i].flag == "ok" for i in self._located])
        good &= np.isfinite(log_power).all(axis=1)
        interpolator = self.interpolator
        if not good.all() and np.count_nonzero(good) >= MIN_CHANNELS_FOR_MAPS:
            interpolator = self._subset_interpolator(good)
            log_power = log_power[good]
        elif not good.all():  # too few good channels: keep all, fill non-finite values
            log_power = np.where(np.isfinite(log_power), log_power, 0.0)
        images = interpolator(log_power)  # (n_bands, grid, grid)
        return {name: images[k] for k, name in enumerate(self.bands)}

    def _subset_interpolator(self, good: NDArray[np.bool_]) -> ScalpInterpolator:
        """Interpolator over the located channels where ``good (n_located,)`` is True."""
        key = tuple(bool(g) for g in good)
        interpolator = self._subset_interpolators.get(key)
        if interpolator is None:
            if len(self._subset_interpolators) >= _MAX_SUBSET_INTERPOLATORS:
                self._subset_interpolators.pop(next(iter(self._subset_interpolators)))
            interpolator = ScalpInterpolator(
                self.positions[good],
                grid=self.grid,
                extent=self.extent,
                head_radius=self.head_radius,
            )
            self._subset_interpolators[key] = interpolator
        return interpolator
