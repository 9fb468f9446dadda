"""Acquisition: pull an LSL EEG stream into ring buffers on a dedicated thread.

The thread waits inside liblsl for the first new sample (at most ``wait_s``, GIL released), takes
everything else already available with ``timeout=0`` (pylsl's ``min_samples=1``), corrects
timestamps to the local clock, counts timestamp gaps, writes the raw samples into one ring buffer
and, when a :class:`~streaming.preprocessing.Preprocessor` is attached, the causally preprocessed
samples into a second one. It never waits for a consumer: consumers are woken through
``data_event``.

A stream that stops delivering is reported as stalled after ``stall_s``; while stalled the thread
looks for a new instance of the stream (same ``source_id``) and re-attaches to it, and the gap is
marked and counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pylsl
from neurodeck.common.checks import check_positive
from neurodeck.common.types import ConfigError, FloatArray, StreamMeta, TimeArray
from neurodeck.streaming.lsl_io import local_clock, meta_from_info
from neurodeck.streaming.ring_buffer import RingBuffer

if TYPE_CHECKING:
    from neurodeck.streaming.preprocessing import Preprocessor

logger = logging.getLogger(__name__)


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
        check_positive("buffer_s", self.buffer_s, unit="s")
        check_positive("poll_s", self.poll_s, upper=0.1, unit="s")
        if not 0 <= self.wait_s <= 0.5:
            raise ConfigError(f"'wait_s' must be between 0 and 0.5 s; got {self.wait_s}.")
        check_positive("stall_s", self.stall_s, upper=2.0, unit="s")
        check_positive("clock_refresh_s", self.clock_refresh_s, unit="s")
        if self.gap_tolerance < 1.0:
            raise ConfigError(
                f"'gap_tolerance' must be >= 1 sample period; got {self.gap_tolerance}."
            )
        if self.settle_s < 0:
            raise ConfigError(f"'settle_s' must be >= 0; got {self.settle_s}.")
        if self.max_chunk < 1:
            raise ConfigError(f"'max_chunk' must be >= 1; got {self.max_chunk}.")


@dataclass(frozen=True)
class GapEvent:
    """A marked discontinuity: ``n_missing`` samples expected between two timestamps."""

    t_before: float
    t_after: float
    n_missing: int


@dataclass(frozen=True)
class AcquisitionStatus:
    """Health snapshot of an :class:`Acquisition` (safe to read from any thread)."""

    state: str
    rate_hz: float
    n_samples: int
    lost_samples: int
    n_gaps: int
    overruns: int
    n_nonfinite: int
    n_stalls: int
    cpu_s: float
    wall_s: float
    clock_offset_s: float
    message: str = ""
    gaps: tuple[GapEvent, ...] = field(default_factory=tuple)

    @property
    def cpu_fraction(self) -> float:
        """CPU seconds of the acquisition thread per wall second."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0


def open_inlet(info: pylsl.StreamInfo, max_buflen_s: int = 360) -> pylsl.StreamInlet:
    """Open an inlet with recovery on and no liblsl timestamp post-processing.

    neurodeck applies the clock offset itself so that raw timestamps (and their gaps) stay visible.
    """
    return pylsl.StreamInlet(info, max_buflen=max_buflen_s, recover=True, processing_flags=0)


class Acquisition:
    """Acquisition thread over one LSL inlet.

    Parameters
    ----------
    info : pylsl.StreamInfo
        A resolved stream (from :func:`streaming.lsl_io.resolve_stream`).
    settings : AcquisitionSettings
        Thread settings.
    preprocessor_factory : callable, optional
        ``f(meta) -> Preprocessor``; when given, preprocessed samples go to ``processed``.
    open_timeout_s : float
        How long to wait for the stream header and first clock offset.
    """

    def __init__(
        self,
        info: pylsl.StreamInfo,
        settings: AcquisitionSettings | None = None,
        preprocessor_factory: Callable[[StreamMeta], Preprocessor] | None = None,
        open_timeout_s: float = 5.0,
    ) -> None:
        self.settings = settings or AcquisitionSettings()
        self._inlet = open_inlet(info)
        full_info = self._inlet.info(timeout=open_timeout_s)
        self._inlet.open_stream(timeout=open_timeout_s)  # data pushed from now on is kept
        self._uid = full_info.uid()
        self._next_reattach = 0.0
        self._resolver: pylsl.ContinuousResolver | None = None
        self.meta = meta_from_info(full_info)
        if self.meta.sfreq <= 0:
            raise ConfigError(
                f"Stream '{self.meta.name}' has an irregular rate (nominal_srate 0); EEG decoding "
                "needs a regular stream. Pick the EEG stream, not a marker stream."
            )
        self.preprocessor = preprocessor_factory(self.meta) if preprocessor_factory else None
        capacity = int(np.ceil(self.settings.buffer_s * self.meta.sfreq))
        self.raw = RingBuffer(self.meta.n_channels, capacity)
        self.processed: RingBuffer | None = None
        if self.preprocessor is not None:
            out_cap = int(np.ceil(self.settings.buffer_s * self.preprocessor.out_sfreq))
            self.processed = RingBuffer(self.preprocessor.n_out_channels, out_cap)
        self.data_event = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"acq-{self.meta.name}", daemon=True)
        self._state = "connecting"
        self._message = ""
        self._offset = 0.0
        self._last_ts = np.nan
        self._last_data_wall = time.monotonic()
        self._n_nonfinite = 0
        self._n_stalls = 0
        self._gaps: list[GapEvent] = []
        self._bad_until = 0  # processed windows must start at or after this index
        self._cpu_s = 0.0
        self._t_start = time.monotonic()
        self._rate_hist: list[tuple[float, int]] = []
        dtype = getattr(self._inlet, "np_dtype", None)
        if dtype is None:
            raise ConfigError(
                f"Stream '{self.meta.name}' carries strings, not samples (a marker stream?).",
                "Pick the headset's EEG stream (`neurodeck streams` lists them).",
            )
        # pulled in the stream's own format (int16, int32, float32, double64); float32 after
        self._pull_buf = np.empty((self.settings.max_chunk, self.meta.n_channels), dtype)
        self.on_fault: Callable[[BaseException], None] | None = None

    # -- control -----------------------------------------------------------------------------
    def start(self) -> Acquisition:
        """Start the thread (returns self)."""
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop the thread and close the inlet."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self.data_event.set()
        try:
            self._inlet.close_stream()
        except Exception:  # pragma: no cover - best effort on shutdown
            logger.debug("close_stream failed", exc_info=True)

    @property
    def bad_until(self) -> int:
        """Processed-stream index before which windows are invalid (gap, reset, NaN, settling)."""
        return self._bad_until

    def status(self) -> AcquisitionStatus:
        """Snapshot of state and counters (any thread)."""
        c = self.raw.counters()
        hist = self._rate_hist
        rate = 0.0
        if len(hist) >= 2 and hist[-1][0] > hist[0][0]:
            rate = (hist[-1][1] - hist[0][1]) / (hist[-1][0] - hist[0][0])
        state = self._state
        if state == "streaming" and time.monotonic() - self._last_data_wall > self.settings.stall_s:
            state = "stalled"
        return AcquisitionStatus(
            state=state,
            rate_hz=rate,
            n_samples=c.n_written,
            lost_samples=c.lost_samples,
            n_gaps=c.n_gaps,
            overruns=c.overruns,
            n_nonfinite=self._n_nonfinite,
            n_stalls=self._n_stalls,
            cpu_s=self._cpu_s,
            wall_s=time.monotonic() - self._t_start,
            clock_offset_s=self._offset,
            message=self._message,
            gaps=tuple(self._gaps[-20:]),
        )

    # -- thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        t_cpu0 = time.thread_time()
        self._refresh_clock(timeout_s=2.0)
        self._state = "streaming"
        self._last_data_wall = time.monotonic()
        next_clock = time.monotonic() + self.settings.clock_refresh_s
        while not self._stop.is_set():
            try:
                got = self._pull_once()
            except Exception as exc:  # a fault is reported, the thread keeps running
                self._report_fault(exc)
                got = 0
                time.sleep(0.1)
            now = time.monotonic()
            if got == 0:
                self._check_stall(now)
                if self._state == "stalled" and now >= self._next_reattach:
                    self._try_reattach()
                    self._next_reattach = time.monotonic() + 0.1
                if self.settings.wait_s == 0:
                    time.sleep(self.settings.poll_s)
            if now >= next_clock:
                self._refresh_clock(timeout_s=0.0)
                next_clock = now + self.settings.clock_refresh_s
            self._cpu_s = time.thread_time() - t_cpu0
        self._state = "stopped"

    def _pull_once(self) -> int:
        wait = self.settings.wait_s
        data, ts = self._inlet.pull_chunk(
            timeout=wait,
            max_samples=self.settings.max_chunk,
            dest_obj=self._pull_buf,
            as_numpy=True,
            min_samples=1 if wait > 0 else None,
        )
        n = len(ts)
        if n == 0:
            return 0
        t_recv = local_clock()
        self._on_resume_if_stalled()
        self._last_data_wall = time.monotonic()
        chunk = np.ascontiguousarray(data.T, dtype=np.float32)  # (n, chans) -> (chans, n)
        stamps = np.asarray(ts, dtype=np.float64) + self._offset
        self._account_gaps(stamps)
        self.raw.write(chunk, stamps, t_recv)
        if self.preprocessor is not None:
            self._write_processed(chunk, stamps, t_recv)
        self._rate_hist.append((time.monotonic(), self.raw.n_written))
        if len(self._rate_hist) > 64 or self._rate_hist[-1][0] - self._rate_hist[0][0] > 2.0:
            self._rate_hist = self._rate_hist[-32:]
        self.data_event.set()
        return n

    def _account_gaps(self, stamps: TimeArray) -> None:
        period = self.meta.sample_period_s
        steps = np.diff(stamps, prepend=self._last_ts if np.isfinite(self._last_ts) else stamps[0])
        big = steps > self.settings.gap_tolerance * period
        if big.any():
            for i in np.flatnonzero(big):
                missing = max(round(steps[i] / period) - 1, 1)
                before = stamps[i - 1] if i > 0 else self._last_ts
                self._gaps.append(GapEvent(float(before), float(stamps[i]), missing))
                self.raw.add_lost(missing)
                logger.warning(
                    "Timestamp gap in '%s': about %d samples missing (%.3f s).",
                    self.meta.name,
                    missing,
                    steps[i],
                )
            self._gaps = self._gaps[-100:]
            self._mark_discontinuity(reset_filters=True, extra=int(np.flatnonzero(big)[-1]))
        if (steps < -0.5 * period).any():
            logger.warning(
                "Timestamps of '%s' went backwards; the source clock was reset.", self.meta.name
            )
            self._mark_discontinuity(reset_filters=True)
        self._last_ts = float(stamps[-1])

    def _write_processed(self, chunk: FloatArray, stamps: TimeArray, t_recv: float) -> None:
        assert self.preprocessor is not None and self.processed is not None
        finite = np.isfinite(chunk)
        if not finite.all():
            chunk = self._sanitize(chunk, finite)
        out = self.preprocessor.process(chunk)
        m = out.shape[1]
        if m == 0:
            return
        if m == chunk.shape[1]:
            out_ts = stamps
        else:
            step = 1.0 / (self.preprocessor.out_sfreq * self.meta.replay_speed)
            out_ts = stamps[-1] - step * np.arange(m - 1, -1, -1, dtype=np.float64)
        self.processed.write(out, out_ts, t_recv)

    def _sanitize(self, chunk: FloatArray, finite: np.ndarray) -> FloatArray:
        bad_channels = np.flatnonzero(~finite.all(axis=1))
        n_bad = int((~finite).sum())
        self._n_nonfinite += n_bad
        names = ", ".join(self.meta.channel_names[i] for i in bad_channels[:8])
        self._message = (
            f"{n_bad} NaN/inf samples on {names}: windows containing them are "
            "skipped; check the electrode contact or the driver."
        )
        logger.warning(self._message)
        clean = np.where(finite, chunk, 0.0).astype(np.float32)
        self._mark_discontinuity(reset_filters=True, extra=chunk.shape[1])
        return clean

    def _mark_discontinuity(self, reset_filters: bool, extra: int = 0) -> None:
        if self.preprocessor is None or self.processed is None:
            return
        if reset_filters:
            self.preprocessor.reset()
        settle = round(self.settings.settle_s * self.preprocessor.out_sfreq)
        extra_out = int(np.ceil(extra * self.preprocessor.out_sfreq / self.meta.sfreq))
        self._bad_until = max(self._bad_until, self.processed.n_written + extra_out + settle)

    def _check_stall(self, now: float) -> None:
        if self._state == "streaming" and now - self._last_data_wall > self.settings.stall_s:
            self._state = "stalled"
            self._n_stalls += 1
            self._message = (
                f"Stream '{self.meta.name}' delivered no sample for "
                f"{self.settings.stall_s:g} s; waiting for it to come back "
                f"(source_id '{self.meta.source_id}')."
            )
            logger.warning(self._message)

    def _try_reattach(self) -> None:
        """During a stall, look for a new instance of the same stream and switch to it."""
        if self._resolver is None:  # polled without blocking while the stall lasts
            key = "source_id" if self.meta.source_id else "name"
            value = self.meta.source_id or self.meta.name
            query = f"{key}='{value}' and type='{self.meta.stream_type}'"
            self._resolver = pylsl.ContinuousResolver(pred=query, forget_after=2.0)
        fresh = [info for info in self._resolver.results() if info.uid() != self._uid]
        if not fresh:
            return
        inlet = open_inlet(fresh[0])
        full = inlet.info(timeout=2.0)
        if full.channel_count() != self.meta.n_channels or full.nominal_srate() != self.meta.sfreq:
            self._message = (
                f"A stream '{full.name()}' with the same id came back with "
                f"{full.channel_count()} channels at {full.nominal_srate():g} Hz "
                f"(was {self.meta.n_channels} at {self.meta.sfreq:g}); not re-attached."
            )
            logger.error(self._message)
            inlet.close_stream()
            return
        inlet.open_stream(timeout=2.0)
        old, self._inlet, self._uid = self._inlet, inlet, full.uid()
        old.close_stream()
        self._resolver = None
        logger.warning("Re-attached to a new instance of stream '%s'.", self.meta.name)

    def _on_resume_if_stalled(self) -> None:
        if self._state != "stalled":
            return
        down_s = time.monotonic() - self._last_data_wall
        self._state = "streaming"
        self._resolver = None
        self._message = f"Stream '{self.meta.name}' is back after {down_s:.1f} s; gap marked."
        logger.warning(self._message)
        self._refresh_clock(timeout_s=0.5)

    def _refresh_clock(self, timeout_s: float) -> None:
        try:
            self._offset = float(self._inlet.time_correction(timeout=timeout_s))
        except Exception as exc:  # not ready yet, or lost during correction: keep the last offset
            logger.debug("time_correction unavailable (%r); keeping offset %.6f", exc, self._offset)

    def _report_fault(self, exc: BaseException) -> None:
        self._message = f"acquisition fault: {exc!r}"
        logger.exception("Acquisition thread fault (thread keeps running)")
        if self.on_fault is not None:
            self.on_fault(exc)
