"""Min/max ("peak") decimation of multichannel traces for drawing (numpy only).

A scope cannot draw more points than it has pixels. Keeping each bin's minimum and maximum, in
bins aligned to absolute sample numbers, keeps every spike visible and lets a trace scroll
without flicker.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray


def peak_decimate(
    data: NDArray[np.floating], first_index: int, n_bins: int
) -> tuple[NDArray[np.float64], NDArray[np.floating]]:
    """Min/max decimation of every row to at most ``2 * n_bins`` points.

    Bins are aligned to absolute sample numbers (``first_index`` is the number of the first
    column), so a trace scrolls without flicker. Data that already fit are returned as they are.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples)
    first_index : int
        Absolute sample number of ``data[:, 0]``.
    n_bins : int
        Bins across the width (about one per pixel).

    Returns
    -------
    positions : ndarray, shape (n_points,)
        Sample position of every point, in columns of ``data`` (bin centres when decimated).
    values : ndarray, shape (n_channels, n_points)
        The samples, or per bin the minimum then the maximum.
    """
    n_samples = data.shape[1]
    if n_samples <= 2 * max(n_bins, 1):
        return np.arange(n_samples, dtype=np.float64), data
    bin_len = math.ceil(n_samples / n_bins)
    lead = (-first_index) % bin_len  # columns before the first aligned bin
    n_full = (n_samples - lead) // bin_len
    edges = [(0, lead), (lead + n_full * bin_len, n_samples)]  # partial bins at both ends
    full = data[:, lead : lead + n_full * bin_len].reshape(data.shape[0], n_full, bin_len)
    starts = lead + bin_len * np.arange(n_full, dtype=np.float64)
    parts_min, parts_max = list(_bin_extremes(full))
    centres = [starts + (bin_len - 1) / 2]
    for k, (a, b) in enumerate(edges):
        if b > a:
            where = 0 if k == 0 else len(parts_min)
            parts_min.insert(where, data[:, a:b].min(axis=1, keepdims=True))
            parts_max.insert(where, data[:, a:b].max(axis=1, keepdims=True))
            centres.insert(where, np.array([(a + b - 1) / 2]))
    mins, maxs = np.concatenate(parts_min, axis=1), np.concatenate(parts_max, axis=1)
    values = np.empty((data.shape[0], 2 * mins.shape[1]), dtype=data.dtype)
    values[:, 0::2] = mins
    values[:, 1::2] = maxs
    return np.repeat(np.concatenate(centres), 2), values


def _bin_extremes(
    bins: NDArray[np.floating],
) -> tuple[list[NDArray[np.floating]], list[NDArray[np.floating]]]:
    """Minimum and maximum over the last axis of ``bins (n_channels, n_bins, bin_len)``."""
    if bins.shape[2] > 16:
        return [bins.min(axis=2)], [bins.max(axis=2)]
    # short bins: element-wise over strided slices beats a reduction along a tiny axis
    low = bins[:, :, 0].copy()
    high = low.copy()
    for k in range(1, bins.shape[2]):
        np.minimum(low, bins[:, :, k], out=low)
        np.maximum(high, bins[:, :, k], out=high)
    return [low], [high]
