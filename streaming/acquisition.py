"""Acquisition: pull an LSL EEG stream into ring buffers on a dedicated thread.

The thread waits inside liblsl for the first new sample (at most ``wait_s``, GIL released), takes
everything else already available with ``timeout=0`` (pylsl's ``min_samples=1``), corrects
timestamps to the local clock, counts timestamp gaps, writes the raw samples into one ring buffer
and, when a :class:`~neurodeck.streaming.preprocessing.Preprocessor` is attached, the causally
preprocessed samples into a second one. It never waits for a consumer: consumers are woken through
``data_event``.

A stream that stops delivering is reported as stalled after ``stall_s``; while stalled the thread
looks for a new instance of the stream (same ``source_id``, else the same name) and re-attaches to
it only when its layout is the same (channel count, rate, sample format, and channel names and
units where both declare them); the gap is marked and counted. A source that comes back with
another layout is refused and said so in the status message: reconnect to use it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pylsl
from neurodeck.common.types import ConfigError, FloatArray, StreamMeta, TimeArray
from neurodeck.streaming.lsl_io import StreamSearch, local_clock, meta_from_info
from neurodeck.streaming.ring_buffer import RingBuffer
from neurodeck.streaming.settings import AcquisitionSettings
from pylsl.util import LostError

if TYPE_CHECKING:
    from neurodeck.streaming.preprocessing import Preprocessor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GapEvent:
    """A marked discontinuity: ``n_missing`` samples expected between two timestamps."""

    t_before: float
    t_after: float
    n_missing: int


@dataclass(frozen=True)
class AcquisitionStatus:
    """Health snapshot of an :class:`Acquisition` (safe to read from any thread).

    ``rate_hz`` is the rate measured over the last seconds while streaming, 0 otherwise.
    ``layout_refused`` is True while the stalled stream's source is back with another layout
    (``message`` says which) that was not re-attached. ``silent_s`` is the time since the last
    sample arrived (how long a stall has lasted).
    """

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
    layout_refused: bool = False
    silent_s: float = 0.0

    @property
    def cpu_fraction(self) -> float:
        """CPU seconds of the acquisition thread per wall second."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0


def open_inlet(info: pylsl.StreamInfo, max_buflen_s: int = 360) -> pylsl.StreamInlet:
    """Open an inlet without liblsl's recovery and without its timestamp post-processing.

    neurodeck applies the clock offset itself so that raw timestamps (and their gaps) stay visible.
    liblsl's own recovery is off because it re-attaches to a restarted source with another rate
    or other channel names without a word; :class:`Acquisition` re-attaches itself, checking the
    layout (a lost inlet raises ``LostError``).
    """
    return pylsl.StreamInlet(info, max_buflen=max_buflen_s, recover=False, processing_flags=0)


def layout_change(old: StreamMeta, old_format: int, new: StreamMeta, new_format: int) -> str:
    """How ``new``'s layout differs from ``old``'s, in words (empty when it is the same).

    Compared: channel count, nominal rate, sample format, and the channel names and units where
    both streams declare them. A replay's speed is how fast the content comes, not its layout.
    For example ``"5 ch at 200 Hz instead of 3 ch at 200 Hz"``.
    """
    differs = {
        "count": new.n_channels != old.n_channels,
        "rate": new.sfreq != old.sfreq,
        "format": new_format != old_format,
        "names": not (new.generic_names or old.generic_names)
        and new.n_channels == old.n_channels
        and new.channel_names != old.channel_names,
        "units": new.n_channels == old.n_channels
        and all(new.channel_units)
        and all(old.channel_units)
        and new.channel_units != old.channel_units,
    }
    if not any(differs.values()):
        return ""

    def text(meta: StreamMeta, fmt: int) -> str:
        out = f"{meta.n_channels} ch at {meta.sfreq:g} Hz"
        if differs["format"]:
            out += f" as {_FORMAT_NAMES.get(fmt, str(fmt))}"
        if differs["names"]:
            out += f" named {_short_list(meta.channel_names)}"
        if differs["units"]:
            out += f" in {_short_list(tuple(dict.fromkeys(meta.channel_units)))}"
        return out

    return f"{text(new, new_format)} instead of {text(old, old_format)}"


#: liblsl channel format codes, named.
_FORMAT_NAMES = {
    pylsl.cf_float32: "float32",
    pylsl.cf_double64: "double64",
    pylsl.cf_string: "string",
    pylsl.cf_int32: "int32",
    pylsl.cf_int16: "int16",
    pylsl.cf_int8: "int8",
    pylsl.cf_int64: "int64",
}


def _short_list(items: tuple[str, ...], most: int = 6) -> str:
    shown = ", ".join(items[:most])
    return shown + (f", ... ({len(items)} in all)" if len(items) > most else "")


class Acquisition:
    """Acquisition thread over one LSL inlet.

    Parameters
    ----------
    info : pylsl.StreamInfo
        A resolved stream (from :func:`neurodeck.streaming.lsl_io.resolve_stream`).
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
        #: The resolved info of the stream instance read now (a re-attach replaces it); it opens
        #: other inlets on that instance (an inlet's full info has no address to connect to).
        self.info: pylsl.StreamInfo = info
        self._format = full_info.channel_format()
        self._next_reattach = 0.0
        self._search: StreamSearch | None = None
        self._inlet_lost = False  # the outlet went away: liblsl raised LostError
        self._refused: dict[str, str] = {}  # uid -> layout change of a source not re-attached
        self._retry_at: dict[str, float] = {}  # uid -> when to try again a stream that failed
        self._layout_refused = False
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
        silent_s = time.monotonic() - self._last_data_wall
        if state == "streaming" and silent_s > self.settings.stall_s:
            state = "stalled"
        if state != "streaming":  # the last rate measured is history, not the rate now
            rate = 0.0
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
            layout_refused=self._layout_refused and state == "stalled",
            silent_s=max(0.0, silent_s),
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
                    try:
                        self._try_reattach()
                    except Exception as exc:  # reported; the search goes on
                        self._report_fault(exc)
                    self._next_reattach = time.monotonic() + 0.1
                if self._inlet_lost:  # nothing to wait on inside liblsl
                    time.sleep(max(self.settings.wait_s, self.settings.poll_s))
                elif self.settings.wait_s == 0:
                    time.sleep(self.settings.poll_s)
            if now >= next_clock:
                self._refresh_clock(timeout_s=0.0)
                next_clock = now + self.settings.clock_refresh_s
            self._cpu_s = time.thread_time() - t_cpu0
        self._state = "stopped"

    def _pull_once(self) -> int:
        if self._inlet_lost:
            return 0
        wait = self.settings.wait_s
        try:
            data, ts = self._inlet.pull_chunk(
                timeout=wait,
                max_samples=self.settings.max_chunk,
                dest_obj=self._pull_buf,
                as_numpy=True,
                min_samples=1 if wait > 0 else None,
            )
        except LostError:  # the outlet went away: reported as a stall, then re-attached
            self._inlet_lost = True
            logger.info("The outlet of '%s' went away.", self.meta.name)
            return 0
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
        """During a stall, look for a new instance of the same stream and switch to it.

        The new instance has the same source_id (else, without one, the same name) and type. It
        is taken only with the same layout (:func:`layout_change`); one with another layout is
        refused once, with a message, and the search goes on for a fitting one.
        """
        if self._search is None:  # polled without blocking while the stall lasts
            meta = self.meta
            by_id = {"source_id": meta.source_id} if meta.source_id else {"name": meta.name}
            self._search = StreamSearch(stream_type=meta.stream_type, forget_after_s=2.0, **by_id)
        now = time.monotonic()
        for info in self._search.results():
            uid = info.uid()
            if uid == self._uid and not self._inlet_lost:  # silent, not gone: wait for another
                continue
            if uid in self._refused or now < self._retry_at.get(uid, 0.0):
                continue
            try:
                inlet = open_inlet(info)
                full = inlet.info(timeout=2.0)
            except Exception as exc:  # gone (the lost instance itself), or not answering yet
                logger.debug("Could not open the new instance of '%s': %r", self.meta.name, exc)
                self._retry_at[uid] = time.monotonic() + 1.0
                continue
            fresh = meta_from_info(full)
            change = layout_change(self.meta, self._format, fresh, full.channel_format())
            if change:
                self._refuse(uid, change)
                inlet.close_stream()
                continue
            try:
                inlet.open_stream(timeout=2.0)
            except Exception as exc:
                logger.debug("Could not open the new instance of '%s': %r", self.meta.name, exc)
                self._retry_at[uid] = time.monotonic() + 1.0
                continue
            old, self._inlet, self._uid = self._inlet, inlet, full.uid()
            self.info = info
            self._inlet_lost = False
            if fresh.replay_speed != self.meta.replay_speed:  # timestamps come at the new pace
                self.meta = dataclasses.replace(self.meta, replay_speed=fresh.replay_speed)
            old.close_stream()
            self._search = None
            self._retry_at.clear()
            logger.warning("Re-attached to a new instance of stream '%s'.", self.meta.name)
            return

    def _refuse(self, uid: str, change: str) -> None:
        """Say (once per stream instance) that the source came back with another layout."""
        self._refused[uid] = change
        self._layout_refused = True
        source = f" (source_id '{self.meta.source_id}')" if self.meta.source_id else ""
        self._message = (
            f"Stream '{self.meta.name}'{source} came back with another layout: {change}; not "
            "re-attached. Reconnect to use it (start the command again, or connect to it again "
            "in the dashboard)."
        )
        logger.error(self._message)

    def _on_resume_if_stalled(self) -> None:
        if self._state != "stalled":
            return
        down_s = time.monotonic() - self._last_data_wall
        self._state = "streaming"
        self._search = None
        self._layout_refused = False
        self._rate_hist = []  # the rate before the stall says nothing about the rate now
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
