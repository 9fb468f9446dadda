"""Sliding-window scheduling: which window to decode next."""

from __future__ import annotations

from dataclasses import dataclass

from neurodeck.common.checks import check_positive
from neurodeck.common.types import ConfigError


@dataclass(frozen=True)
class WindowSpec:
    """Window length and hop in seconds, converted to samples at a given rate.

    Parameters
    ----------
    window_s : float
        Window length in seconds (content time, independent of replay speed).
    hop_s : float
        Distance between consecutive window ends in seconds; at most ``window_s``.
    """

    window_s: float
    hop_s: float

    def __post_init__(self) -> None:
        check_positive("window_s", self.window_s, unit="s")
        check_positive("hop_s", self.hop_s, upper=self.window_s, unit="s")

    def samples(self, sfreq: float) -> tuple[int, int]:
        """``(window_n, hop_n)`` at ``sfreq`` (each at least 1 sample)."""
        return max(1, round(self.window_s * sfreq)), max(1, round(self.hop_s * sfreq))


class WindowScheduler:
    """Yields the end index of the newest complete window on a fixed hop grid.

    Window ends lie on the grid ``window_n + k * hop_n`` of the absolute sample index. When the
    consumer was busy and several grid points passed, only the newest is returned and the ones in
    between are counted as skipped: there is never a backlog.

    Parameters
    ----------
    window_n, hop_n : int
        Window length and hop in samples.

    Attributes
    ----------
    n_skipped : int
        Grid windows passed over because a newer one was due.
    n_due : int
        Every grid window since the first one returned: returned or skipped.
    """

    def __init__(self, window_n: int, hop_n: int) -> None:
        if window_n < 1 or hop_n < 1:
            raise ConfigError(f"window_n and hop_n must be >= 1; got {window_n}, {hop_n}.")
        self.window_n = int(window_n)
        self.hop_n = int(hop_n)
        self._last_end: int | None = None
        self.n_skipped = 0
        self.n_due = 0

    def due(self, n_written: int) -> int | None:
        """End index (exclusive) of the newest complete window not yet returned, or None.

        Parameters
        ----------
        n_written : int
            Samples available in the buffer (absolute count).
        """
        if n_written < self.window_n:
            return None
        newest = self.window_n + ((n_written - self.window_n) // self.hop_n) * self.hop_n
        if self._last_end is not None and newest <= self._last_end:
            return None
        skipped = 0
        if self._last_end is not None:
            skipped = (newest - self._last_end) // self.hop_n - 1
            self.n_skipped += skipped
        self.n_due += 1 + skipped  # every grid window since the first: returned or skipped
        self._last_end = newest
        return newest

    def reset(self) -> None:
        """Forget the last window (the next call returns the newest complete one)."""
        self._last_end = None
