"""Settings of the acquisition thread: a plain validated dataclass (no LSL), so that the
settings tree and the views can hold it without loading liblsl."""

from __future__ import annotations

from dataclasses import dataclass

from neurodeck.common.checks import check_int, check_number, check_positive


@dataclass(frozen=True)
class AcquisitionSettings:
    """Settings of the acquisition thread.

    Parameters
    ----------
    buffer_s : float
        Seconds of signal kept in each ring buffer.
    wait_s : float
        Longest wait inside liblsl for the first new sample (the GIL is released meanwhile);
        everything else already available is then taken with ``timeout=0``. The thread wakes as
        soon as data arrive and costs nothing while waiting. 0 switches to polling.
    poll_s : float
        With ``wait_s = 0``: sleep between pulls when no sample was available.
    stall_s : float
        A stream that delivers nothing for this long is reported as stalled (at most 2 s).
    gap_tolerance : float
        A timestamp step larger than this many sample periods is a gap.
    settle_s : float
        After a gap, a reset or invalid samples, windows must start this much later (settling).
    clock_refresh_s : float
        How often the clock offset is refreshed.
    max_chunk : int
        Most samples pulled per call.
    """

    buffer_s: float = 30.0
    wait_s: float = 0.05
    poll_s: float = 0.001
    stall_s: float = 1.5
    gap_tolerance: float = 1.5
    settle_s: float = 0.5
    clock_refresh_s: float = 5.0
    max_chunk: int = 8192

    def __post_init__(self) -> None:
        # A TOML file can hold a string, a bool or a list where a number belongs: every field
        # is checked for its type as well as its range, and refused with its name.
        check_positive("buffer_s", self.buffer_s, unit="s")
        check_number("wait_s", self.wait_s, 0.0, 0.5, unit="s")
        check_positive("poll_s", self.poll_s, upper=0.1, unit="s")
        check_positive("stall_s", self.stall_s, upper=2.0, unit="s")
        check_number("gap_tolerance", self.gap_tolerance, 1.0, unit="sample periods")
        check_number("settle_s", self.settle_s, 0.0, unit="s")
        check_positive("clock_refresh_s", self.clock_refresh_s, unit="s")
        check_int("max_chunk", self.max_chunk)
