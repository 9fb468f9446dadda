"""Unsupervised re-centring while decoding: the alignment follows the recent covariance mean.

Calibration aligns a network with ``R_cal^{-1/2}`` (Euclidean alignment, He & Wu 2019), ``R_cal``
the mean covariance of the calibration windows. EEG drifts over a session (electrode impedance,
fatigue, posture), so the mean covariance of later windows moves away from ``R_cal``. A
:class:`RunningRecentring` starts from ``R_cal`` and mixes in each decoded window's covariance
with an exponential forgetting of time constant ``tau_s``; the alignment used for the next window
is the inverse square root of that running mean. No label is used.
"""

from __future__ import annotations

import numpy as np
from neurodeck.common.checks import check_positive
from neurodeck.common.types import ConfigError
from numpy.typing import NDArray

#: Relative eigenvalue floor of the inverse square root (as offline_training.windows).
_FLOOR = 1e-6


class RunningRecentring:
    """Running covariance mean of decoded windows, and its alignment matrix.

    Parameters
    ----------
    alignment : ndarray, shape (n_channels, n_channels)
        The calibration's alignment ``R_cal^{-1/2}``: the running mean starts at ``R_cal``.
    hop_s : float
        Seconds between consecutive windows (content time).
    tau_s : float
        Time constant of the forgetting, seconds: a window's weight falls to 1/e after
        ``tau_s`` seconds of later windows.
    """

    def __init__(self, alignment: NDArray[np.floating], hop_s: float, tau_s: float) -> None:
        a = np.asarray(alignment, dtype=np.float64)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ConfigError(f"'alignment' must be a square matrix; got shape {a.shape}.")
        check_positive("hop_s", hop_s, unit="s")
        check_positive("tau_s", tau_s, unit="s")
        inverse = np.linalg.inv(a)
        self.mean = inverse @ inverse.T  # R_cal = (R_cal^{-1/2})^{-2}
        self.rate = 1.0 - float(np.exp(-hop_s / tau_s))
        self.n_updates = 0

    def update(self, window: NDArray[np.floating]) -> NDArray[np.float32]:
        """Mix one window into the running mean; return the alignment for the next window.

        Parameters
        ----------
        window : ndarray, shape (n_channels, n_times)
            A preprocessed window (not aligned). Non-finite windows are skipped.

        Returns
        -------
        ndarray, shape (n_channels, n_channels), float32
        """
        x = np.asarray(window, dtype=np.float64)
        if np.all(np.isfinite(x)):
            cov = x @ x.T / x.shape[1]
            self.mean = (1.0 - self.rate) * self.mean + self.rate * cov
            self.n_updates += 1
        return self.alignment()

    def alignment(self) -> NDArray[np.float32]:
        """``R^{-1/2}`` of the running mean (eigenvalues floored), float32."""
        values, vectors = np.linalg.eigh((self.mean + self.mean.T) / 2.0)
        values = np.maximum(values, _FLOOR * max(values[-1], np.finfo(float).tiny))
        return ((vectors / np.sqrt(values)) @ vectors.T).astype(np.float32)
