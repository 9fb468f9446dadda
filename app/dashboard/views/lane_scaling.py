"""Per-channel lane scales for the scope: a robust amplitude, updated a few times a second.

Each channel's microvolts per lane is the 5-95 percentile range of its drawn points divided by
:data:`AUTO_FILL`. It is recomputed :data:`AUTO_UPDATES_HZ` times a second of signal and moves
:data:`AUTO_SMOOTHING` of the way (in log scale) towards the new value each time, so that a lane
does not jump when a blink passes. No Qt here: the scope view calls :class:`LaneScaler`.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import NDArray

#: In per-channel mode, the 5-95 percentile range of a channel fills this fraction of its lane.
AUTO_FILL = 0.5
#: Per-channel scales are recomputed this many times a second of signal.
AUTO_UPDATES_HZ = 2.0
#: Fraction of the way (in log scale) a per-channel scale moves towards its new value per update.
AUTO_SMOOTHING = 0.5


def robust_spread(centred: NDArray[np.floating]) -> NDArray[np.float64]:
    """5-95 percentile range of every row of ``centred (n_rows, n_points)`` (1 µV when flat)."""
    if np.isfinite(centred).all():
        low, high = np.percentile(centred, [5, 95], axis=1)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            low, high = np.nanpercentile(centred, [5, 95], axis=1)
    spread = high - low
    return np.where(np.isfinite(spread) & (spread > 1e-6), spread, 1.0).astype(np.float64)


class LaneScaler:
    """Microvolts per lane of every drawn channel, smoothed over time.

    Attributes
    ----------
    uv : ndarray, shape (n_channels,), or None
        The current scales in µV per lane (None before the first update or after a reset).
    """

    def __init__(self) -> None:
        self.uv: NDArray[np.float64] | None = None
        self._at = -(10**18)  # n_written when the scales were last computed

    def reset(self) -> None:
        """Forget the scales (a new stream or a new channel selection)."""
        self.uv = None
        self._at = -(10**18)

    def update(
        self, centred: NDArray[np.floating], n_written: int, sfreq: float
    ) -> NDArray[np.float64]:
        """The scales for the drawn points ``centred (n_channels, n_points)``, each row's mean
        removed; recomputed only when :data:`AUTO_UPDATES_HZ` allows (``n_written`` samples of
        signal at ``sfreq`` Hz so far) or when the channel count changed."""
        fresh = self.uv is None or len(self.uv) != len(centred)
        if fresh or n_written - self._at >= sfreq / AUTO_UPDATES_HZ:
            target = robust_spread(centred) / AUTO_FILL
            if not fresh:
                target = self.uv * (target / self.uv) ** AUTO_SMOOTHING
            self.uv = target
            self._at = n_written
        return self.uv
