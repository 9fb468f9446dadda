"""Crash-safe recording of an EEG stream and its marker streams, written to disk as they arrive.

:class:`SessionRecorder` opens its own LSL inlets (it never shares the decoder's, and the
acquisition thread never waits for it) and appends every chunk to plain files on one background
thread. The files are flushed to the operating system at least every ``flush_s`` (0.25 s by
default) and fsynced every ``fsync_s`` (2 s), so killing the process loses at most the data of the
last flush interval, and an operating-system crash or power cut at most the last ``fsync_s``.

Folder layout (format ``neurodeck-session``, version 1)
-------------------------------------------------------
``header.json``
    Written atomically (temporary file, fsync, ``os.replace``) before any data: ``format``,
    ``version``, ``created`` (UTC, ISO 8601), ``stream`` (name, type, source_id, hostname),
    ``channel_names``, ``channel_units`` (as declared by the stream), ``generic_names``,
    ``sfreq`` (content rate), ``replay_speed``, ``channel_format`` (``"float32"``),
    ``source_channel_format`` (the stream's own sample type as a numpy name), ``byte_order``
    (``"little"``), ``files`` (name, numpy dtype string and layout of each data file), ``clock``
    and ``marker_streams``.
``eeg.f32``
    float32 little-endian, row-major ``(n_samples, n_channels)`` (channels interleaved), values
    exactly as received in the stream's units (int16 / int32 streams converted to float32;
    NaN stays NaN). The loader scales each channel to microvolts from its declared unit.
``eeg_times.f64``
    float64 little-endian, one LSL timestamp per sample, on this host's ``local_clock()``
    (liblsl's ``proc_clocksync`` adds the source clock offset).
``markers.jsonl``
    One JSON object per line, ``{"t": float, "label": str, "stream": str}``, in arrival order.
``closed.json``
    Written only by a clean :meth:`SessionRecorder.stop`: counts, first / last timestamp, whether
    the stream was lost, and the last error. Its absence marks a session left by a crash.

:func:`neurodeck.streaming.recorded_session.load_session` reads the folder back (tolerating a
partial last frame or marker line) and :func:`neurodeck.streaming.recorded_session.export_session`
converts it to FIF or EDF with the markers as annotations.

Stalls and losses: a stream that delivers nothing for ``lost_after_s`` is reported as stalled
(``RecorderStatus.stalled``) until samples come back; the recorder keeps waiting, and a stalled
source's backlog is recorded when it arrives. The EEG inlet is opened with ``recover=False``, so
when the outlet goes away liblsl raises ``LostError`` and the loss is reported
(``RecorderStatus.stream_lost``) instead of being hidden; what was written stays on disk and the
thread keeps recording the markers. Meanwhile it looks for the source again (same ``source_id``,
else same name) every ``REATTACH_EVERY_S``, and re-attaches only to a stream with the same
channels, rate and sample type; one that comes back with another layout is refused, and said so.
liblsl discards samples still queued in the inlet when it declares the loss; the recorder pulls
as soon as samples arrive, so the queue is nearly always empty. A source that restarts publishes
to nobody until the recorder has re-attached (at most ``REATTACH_EVERY_S`` plus the time to
connect): a source that waits for its consumers loses nothing. Every discontinuity of the
timestamps (a stall without backlog, a loss) is a gap: counted, logged, and listed with its
times in ``closed.json``; exports mark it with a ``BAD_ACQ_SKIP`` annotation. Marker inlets are
opened with ``recover=True``: a marker source that restarts is picked up again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import pylsl
from neurodeck.common.checks import check_positive
from neurodeck.common.jsonio import fsync_dir, write_json_atomic
from neurodeck.common.types import (
    ConfigError,
    FloatArray,
    RecordingError,
    StreamMeta,
    StreamNotFoundError,
    TimeArray,
)
from neurodeck.streaming.acquisition import layout_change
from neurodeck.streaming.lsl_io import StreamSearch, meta_from_info
from neurodeck.streaming.recorded_session import (
    CLOSED_FILE,
    EEG_DTYPE,
    EEG_FILE,
    HEADER_FILE,
    MARKERS_FILE,
    SESSION_FILES,
    TIME_DTYPE,
    TIMES_FILE,
    gap_threshold,
    session_header,
)
from pylsl.util import LostError

logger = logging.getLogger(__name__)

#: Seconds of stream the inlets buffer while the recorder writes (liblsl ``max_buflen``).
INLET_BUFFER_S = 360
#: Most samples taken per pull.
MAX_CHUNK = 8192
#: Longest wait inside liblsl for the next EEG sample (the GIL is released meanwhile).
PULL_WAIT_S = 0.05
#: How often a lost source is looked for again.
REATTACH_EVERY_S = 0.5


@dataclass(frozen=True)
class RecorderStatus:
    """Progress and health of a :class:`SessionRecorder` (safe to read from any thread).

    Parameters
    ----------
    n_samples, n_markers : int
        Samples and markers written so far.
    duration_s : float
        Content seconds recorded, ``n_samples / sfreq``.
    last_timestamp : float
        Timestamp of the newest sample (NaN before the first).
    stream_lost : bool
        The EEG outlet went away and no stream of the same layout took its place yet (cleared
        when the recorder re-attaches).
    error : str or None
        The last fault of the recording thread (the thread logs it with its traceback).
    path : Path
        The session folder.
    silent_s : float
        Wall seconds since the last EEG sample arrived.
    running : bool
        The recording thread is alive.
    stalled : bool
        Nothing arrived for ``lost_after_s`` (cleared when samples come back).
    n_gaps : int
        Discontinuities of the timestamps so far (stalls without backlog, losses).
    n_reattached : int
        Times the recorder re-attached to a source that came back.
    message : str
        What the user should know now (a loss, a source refused for its layout), or "".
    """

    n_samples: int
    n_markers: int
    duration_s: float
    last_timestamp: float
    stream_lost: bool
    error: str | None
    path: Path
    silent_s: float = 0.0
    running: bool = False
    stalled: bool = False
    n_gaps: int = 0
    n_reattached: int = 0
    message: str = ""


# -- output folder ----------------------------------------------------------------------------
def check_out_dir(folder: Path, overwrite: bool = False) -> None:
    """Check that a session can be written to ``folder`` (nothing is created or removed).

    Raises
    ------
    RecordingError
        ``folder`` is not empty (unless ``overwrite``), is a file, lies below a file, or cannot
        be written.
    """
    if folder.exists() and not folder.is_dir():
        raise RecordingError(
            f"Session output {folder} exists and is not a folder.",
            "Give a folder path for the session (it is created when missing).",
        )
    if folder.is_dir():
        entries = sorted(p.name for p in folder.iterdir())
        if entries and not overwrite:
            shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
            raise RecordingError(
                f"Session output folder {folder} is not empty (holds {shown}).",
                "Choose a new folder for each session, or pass overwrite=True (--overwrite) to "
                "replace the session files in it.",
            )
        existing = folder
    else:
        existing = next(p for p in folder.parents if p.exists())
        if not existing.is_dir():
            raise RecordingError(
                f"Cannot create session folder {folder}: {existing} is a file.",
                "Choose a path below a folder.",
            )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RecordingError(
            f"Cannot write to {existing} (permission denied), so the session folder {folder} "
            "cannot be written.",
            "Choose a folder you can write to (for example below your home folder).",
        )


def _prepare_out_dir(folder: Path) -> None:
    """Create the folder and remove an earlier session's files (only those) from it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in SESSION_FILES:
            (folder / name).unlink(missing_ok=True)
    except OSError as exc:
        raise RecordingError(
            f"Cannot prepare session folder {folder} ({exc.strerror or exc}).",
            "Choose a folder you can write to.",
        ) from exc


# -- inlets -----------------------------------------------------------------------------------
def _open_inlet(
    info: pylsl.StreamInfo, recover: bool, timeout_s: float
) -> tuple[pylsl.StreamInlet, pylsl.StreamInfo]:
    """An inlet with clock correction and a large buffer, opened; plus the stream's full info."""
    inlet = pylsl.StreamInlet(
        info,
        max_buflen=INLET_BUFFER_S,
        recover=recover,
        processing_flags=pylsl.proc_clocksync,
    )
    try:
        full_info = inlet.info(timeout=timeout_s)
        inlet.open_stream(timeout=timeout_s)  # data pushed from now on is kept
    except (TimeoutError, LostError) as exc:
        raise StreamNotFoundError(
            f"Stream '{info.name()}' did not answer within {timeout_s:g} s ({exc}).",
            "Check that its outlet is still running (`neurodeck streams` lists what is visible).",
        ) from exc
    try:
        inlet.time_correction(timeout=timeout_s)  # first offset now, not on the first pull
    except Exception:  # same machine in practice: liblsl keeps trying in the background
        logger.warning("No clock offset for '%s' yet; liblsl keeps trying.", info.name())
    return inlet, full_info


def _check_eeg_stream(meta: StreamMeta, inlet: pylsl.StreamInlet) -> np.dtype:
    """The numpy dtype of a regular numeric stream; ConfigError for markers or strings."""
    dtype = getattr(inlet, "np_dtype", None)
    if meta.sfreq <= 0 or dtype is None:
        raise ConfigError(
            f"Stream '{meta.name}' is not a regular numeric stream (nominal rate "
            f"{meta.sfreq:g} Hz, {'strings' if dtype is None else np.dtype(dtype).name}).",
            "Record the headset's EEG stream and give marker streams as marker_infos.",
        )
    return np.dtype(dtype)


def _marker_label(sample: Sequence[Any]) -> str:
    """The first channel of a marker sample as text (numeric markers as their value)."""
    value = sample[0]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- files ------------------------------------------------------------------------------------
class _SessionFiles:
    """The append-only data files of one session folder.

    Raises
    ------
    RecordingError
        On any write failure (disk full, folder removed), saying what was kept.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        try:
            self._eeg = open(folder / EEG_FILE, "wb")  # noqa: SIM115 - open for the session
            self._times = open(folder / TIMES_FILE, "wb")  # noqa: SIM115
            self._markers = open(folder / MARKERS_FILE, "wb")  # noqa: SIM115
        except OSError as exc:
            self.close()
            raise self._failure(exc) from exc
        fsync_dir(folder)
        self.closed = False

    def _files(self) -> list[Any]:
        return [f for f in (getattr(self, n, None) for n in ("_eeg", "_times", "_markers")) if f]

    def _failure(self, exc: OSError) -> RecordingError:
        return RecordingError(
            f"Writing the session in {self.folder} failed ({exc.strerror or exc}); recording "
            "stopped. What was written before is kept and loads with load_session.",
            "Free disk space or choose another folder, and start a new session.",
        )

    def append_samples(self, rows: FloatArray, stamps: TimeArray) -> None:
        """Append ``rows`` (n_samples, n_channels) and their timestamps (n_samples,)."""
        try:
            self._eeg.write(np.ascontiguousarray(rows, dtype=EEG_DTYPE).tobytes())
            self._times.write(np.ascontiguousarray(stamps, dtype=TIME_DTYPE).tobytes())
        except OSError as exc:
            raise self._failure(exc) from exc

    def append_markers(self, lines: Sequence[str]) -> None:
        """Append JSON lines (without their newline)."""
        try:
            self._markers.write("".join(line + "\n" for line in lines).encode("utf-8"))
        except OSError as exc:
            raise self._failure(exc) from exc

    def flush(self) -> None:
        """Hand buffered data to the operating system (survives a killed process)."""
        try:
            for f in self._files():
                f.flush()
        except OSError as exc:
            raise self._failure(exc) from exc

    def fsync(self) -> None:
        """Flush, then ask the operating system to put the data on the disk."""
        self.flush()
        try:
            for f in self._files():
                os.fsync(f.fileno())
        except OSError as exc:
            raise self._failure(exc) from exc

    def close(self) -> None:
        """Close every file (best effort after a failure)."""
        for f in self._files():
            try:
                f.close()
            except OSError:
                logger.warning("Closing %s failed", f.name, exc_info=True)
        self.closed = True


# -- recorder ---------------------------------------------------------------------------------
class SessionRecorder:
    """Record an EEG stream and its marker streams to a session folder as they arrive.

    Parameters
    ----------
    eeg_info : pylsl.StreamInfo
        The resolved EEG stream (regular rate, numeric).
    out_dir : str or Path
        Session folder; created when missing. See the module docstring for its layout.
    marker_infos : sequence of pylsl.StreamInfo
        Resolved marker streams recorded alongside (any channel format; first channel = label).
    flush_s : float
        Longest time data stays in this process before it is handed to the operating system
        (at most 1 s: a killed recorder loses at most this much).
    fsync_s : float
        How often the files are fsynced (bounds the loss on an operating-system crash).
    overwrite : bool
        Accept a non-empty ``out_dir``; the session files in it (only those) are replaced.
    lost_after_s : float
        A stream that delivers nothing for this long is reported as stalled until samples
        return (the recording goes on).
    open_timeout_s : float
        How long to wait for each stream's header.

    Raises
    ------
    RecordingError
        ``out_dir`` is not empty (without ``overwrite``), is a file, or cannot be written.
    StreamNotFoundError
        A stream did not answer.
    ConfigError
        An argument is out of range, or the EEG stream is irregular or carries strings.

    Notes
    -----
    Inlets are opened in the constructor, so samples pushed from then on are kept even before
    :meth:`start`. ``start``, ``stop`` and ``status`` may be called from any thread; the files are
    written only by the recorder's own thread.

    Examples
    --------
    >>> with SessionRecorder(resolve_stream(name="eeg"), "runs/s01") as rec:  # doctest: +SKIP
    ...     rec.wait_until(n_samples=2500, timeout_s=20)
    """

    def __init__(
        self,
        eeg_info: pylsl.StreamInfo,
        out_dir: str | Path,
        marker_infos: Sequence[pylsl.StreamInfo] = (),
        flush_s: float = 0.25,
        fsync_s: float = 2.0,
        overwrite: bool = False,
        lost_after_s: float = 5.0,
        open_timeout_s: float = 5.0,
    ) -> None:
        self._flush_s = check_positive("flush_s", flush_s, upper=1.0, unit="s")
        self._fsync_s = check_positive("fsync_s", fsync_s, unit="s")
        self._lost_after_s = check_positive("lost_after_s", lost_after_s, unit="s")
        check_positive("open_timeout_s", open_timeout_s, unit="s")
        self.path = Path(out_dir).expanduser()
        check_out_dir(self.path, overwrite)
        self._marker_inlets: list[tuple[pylsl.StreamInlet, str]] = []
        # Markers first: a replay starts when it sees its EEG consumer, and a cue pushed before
        # the marker inlet is open would never reach it.
        for info in marker_infos:
            try:
                inlet = _open_inlet(info, True, open_timeout_s)[0]
            except BaseException:
                self._close_inlets()
                raise
            self._marker_inlets.append((inlet, info.name()))
        try:
            self._eeg_inlet, full_info = _open_inlet(eeg_info, False, open_timeout_s)
        except BaseException:
            self._close_inlets()
            raise
        try:
            self._meta = meta_from_info(full_info)
            dtype = _check_eeg_stream(self._meta, self._eeg_inlet)
            self._files = self._create_session(dtype.name)
        except BaseException:
            self._close_inlets()
            raise
        self._pull_buf = np.empty((MAX_CHUNK, self._meta.n_channels), dtype)
        self._wait_s = min(PULL_WAIT_S, self._flush_s / 2)
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"rec-{self._meta.name}", daemon=True
        )
        self._state = "ready"  # ready -> recording -> stopped
        self._n_samples = 0
        self._n_markers = 0
        self._first_ts = float("nan")
        self._last_ts = float("nan")
        self._disconnected = False
        self._silent = False
        self._error: str | None = None
        self._last_data_wall = time.monotonic()
        self._source = full_info
        self._gap_s = gap_threshold(self._meta.sfreq, self._meta.replay_speed)
        self._gaps: list[dict[str, float]] = []
        self._n_reattached = 0
        self._message = ""
        self._next_reattach = 0.0
        self._refused: set[str] = set()
        self._search: StreamSearch | None = None  # while the source is lost

    def _create_session(self, source_dtype: str) -> _SessionFiles:
        """Empty the folder of an earlier session, write the header, open the data files."""
        _prepare_out_dir(self.path)
        marker_names = [name for _, name in self._marker_inlets]
        header = session_header(self._meta, marker_names, source_dtype)
        try:
            write_json_atomic(self.path / HEADER_FILE, header)
        except OSError as exc:
            raise RecordingError(
                f"Cannot write {self.path / HEADER_FILE} ({exc.strerror or exc}).",
                "Choose a folder you can write to, with free space.",
            ) from exc
        return _SessionFiles(self.path)

    # -- control -------------------------------------------------------------------------------
    @property
    def meta(self) -> StreamMeta:
        """The recorded EEG stream's description (from the inlet's full header)."""
        return self._meta

    def start(self) -> SessionRecorder:
        """Start the recording thread (returns self; a second call does nothing).

        Raises
        ------
        RecordingError
            The recorder was already stopped.
        """
        with self._lock:
            if self._state == "stopped":
                raise RecordingError(
                    f"The recorder of {self.path} was stopped and cannot restart.",
                    "Create a new SessionRecorder with a new folder.",
                )
            if self._state == "recording":
                return self
            self._state = "recording"
            self._last_data_wall = time.monotonic()
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Take what has arrived, flush, fsync, close the files and write ``closed.json``.

        Idempotent. ``closed.json`` is not written when the thread does not finish in
        ``timeout_s`` (the session then loads like one left by a crash).
        """
        with self._lock:
            if self._state == "stopped":
                return
            was_recording = self._state == "recording"
            self._state = "stopped"
        self._stop_event.set()
        if was_recording:
            self._thread.join(timeout_s)
        if self._thread.is_alive():  # leave files and inlets to the thread
            logger.error(
                "Recorder thread of %s did not finish; %s not written.", self.path, CLOSED_FILE
            )
            return
        if not self._files.closed:  # never started: nothing to drain
            self._files.close()
        self._write_closed()
        self._close_inlets()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def status(self) -> RecorderStatus:
        """Counts, loss and error (any thread)."""
        with self._lock:
            n_samples, n_markers, last_ts = self._n_samples, self._n_markers, self._last_ts
            lost, stalled, error = self._disconnected, self._silent, self._error
            n_gaps, n_reattached, message = len(self._gaps), self._n_reattached, self._message
        return RecorderStatus(
            n_samples=n_samples,
            n_markers=n_markers,
            duration_s=n_samples / self._meta.sfreq,
            last_timestamp=last_ts,
            stream_lost=lost,
            error=error,
            path=self.path,
            silent_s=time.monotonic() - self._last_data_wall,
            running=self._thread.is_alive(),
            stalled=stalled,
            n_gaps=n_gaps,
            n_reattached=n_reattached,
            message=message,
        )

    def wait_until(
        self,
        n_samples: int | None = None,
        n_markers: int | None = None,
        timeout_s: float = 5.0,
        poll_s: float = 0.01,
    ) -> bool:
        """Block until at least ``n_samples`` samples and ``n_markers`` markers are written.

        Returns
        -------
        reached : bool
            False when ``timeout_s`` passed first (or the stream was lost before).
        """
        deadline = time.monotonic() + timeout_s
        while True:
            s = self.status()
            if (n_samples is None or s.n_samples >= n_samples) and (
                n_markers is None or s.n_markers >= n_markers
            ):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll_s)

    # -- thread --------------------------------------------------------------------------------
    def _run(self) -> None:
        """Pull, append, flush and fsync until stopped; then drain and close the files.

        One step waits at most ``_wait_s`` for data, so flushing ``_wait_s`` before the interval
        ends keeps every flush within ``flush_s`` of the previous one.
        """
        flush_every = self._flush_s - self._wait_s
        next_flush = time.monotonic() + flush_every
        next_fsync = time.monotonic() + self._fsync_s
        try:
            while not self._stop_event.is_set():
                self._step()
                now = time.monotonic()
                if now >= next_fsync:
                    self._files.fsync()
                    next_fsync, next_flush = now + self._fsync_s, now + flush_every
                elif now >= next_flush:
                    self._files.flush()
                    next_flush = now + flush_every
            self._drain()
            self._files.fsync()
        except RecordingError as exc:  # the files cannot be written any more
            logger.error("%s", exc)
            self._set_error(str(exc))
        finally:
            self._files.close()

    def _step(self) -> None:
        """Pull every stream once and append what arrived.

        Raises
        ------
        RecordingError
            Writing failed: the thread must end.
        """
        try:
            got = self._pull_eeg(0.0 if self._disconnected else self._wait_s)
            got += self._pull_markers()
        except RecordingError:
            raise
        except Exception as exc:  # a fault is logged and shown; the thread keeps running
            logger.exception("Recorder fault on '%s' (thread keeps running)", self._meta.name)
            self._set_error(f"{type(exc).__name__}: {exc}")
            self._stop_event.wait(0.1)
            return
        if got == 0 and self._disconnected:
            self._try_reattach()
            self._stop_event.wait(self._wait_s)  # only markers left: pull them at a gentle pace

    def _drain(self) -> None:
        """Take what is still queued in the inlets after stop (bounded: the stream may go on)."""
        try:
            for _ in range(100):
                if self._pull_eeg(0.0) + self._pull_markers() == 0:
                    break
        except RecordingError:
            raise
        except Exception as exc:  # keep what was written; the files are still closed cleanly
            logger.exception("Recorder fault on '%s' while draining", self._meta.name)
            self._set_error(f"{type(exc).__name__}: {exc}")

    def _pull_eeg(self, wait_s: float) -> int:
        if self._disconnected:
            return 0
        try:
            data, stamps = self._eeg_inlet.pull_chunk(
                timeout=wait_s,
                max_samples=MAX_CHUNK,
                dest_obj=self._pull_buf,
                as_numpy=True,
                min_samples=1 if wait_s > 0 else None,
            )
        except LostError:
            self._on_disconnect()
            return 0
        n = len(stamps)
        if n == 0:
            self._check_silence()
            return 0
        self._files.append_samples(data, stamps)
        self._last_data_wall = time.monotonic()
        with self._lock:
            if self._n_samples == 0:
                self._first_ts = float(stamps[0])
            elif stamps[0] - self._last_ts > self._gap_s:
                self._gaps.append({"after": self._last_ts, "resumed": float(stamps[0])})
                logger.warning(
                    "Stream '%s': gap of %.2f s in the timestamps after sample %d (marked).",
                    self._meta.name,
                    stamps[0] - self._last_ts,
                    self._n_samples,
                )
            self._n_samples += n
            self._last_ts = float(stamps[-1])
            resumed, self._silent = self._silent, False
            if resumed:
                self._message = ""
        if resumed:
            logger.warning("Stream '%s' delivers samples again.", self._meta.name)
        return n

    def _pull_markers(self) -> int:
        lines: list[str] = []
        for inlet, name in self._marker_inlets:
            samples, stamps = inlet.pull_chunk(timeout=0.0)
            lines.extend(
                json.dumps({"t": float(ts), "label": _marker_label(sample), "stream": name})
                for sample, ts in zip(samples, stamps, strict=True)
            )
        if lines:
            self._files.append_markers(lines)
            with self._lock:
                self._n_markers += len(lines)
        return len(lines)

    def _on_disconnect(self) -> None:
        message = (
            f"Stream '{self._meta.name}' was lost (its outlet went away) after "
            f"{self._n_samples} samples, kept in {self.path}; waiting for it to come back "
            "(the markers are still recorded)."
        )
        with self._lock:
            self._disconnected = True
            self._message = message
        self._next_reattach = time.monotonic() + REATTACH_EVERY_S
        logger.warning("%s", message)

    def _try_reattach(self) -> None:
        """Look for the source again; re-attach to a stream of the same layout only."""
        now = time.monotonic()
        if now < self._next_reattach:
            return
        self._next_reattach = now + REATTACH_EVERY_S
        old = self._source
        if self._search is None:  # listens in liblsl's threads; polled here without blocking
            by_id = {"source_id": old.source_id()} if old.source_id() else {"name": old.name()}
            self._search = StreamSearch(stream_type=old.type(), forget_after_s=2.0, **by_id)
        for info in self._search.results():
            if info.uid() == old.uid() or info.uid() in self._refused:
                continue
            try:
                inlet, full_info = _open_inlet(info, False, 2.0)
            except StreamNotFoundError:
                continue
            change = layout_change(
                self._meta, old.channel_format(), meta_from_info(full_info), info.channel_format()
            )
            if change:
                self._refused.add(info.uid())
                inlet.close_stream()
                message = (
                    f"Stream '{info.name()}' came back with another layout: {change}; not "
                    "recorded into this session. Start a new recording to record it."
                )
                with self._lock:
                    self._message = message
                logger.warning("%s", message)
                continue
            try:
                self._eeg_inlet.close_stream()
            except Exception:  # the old outlet is gone: best effort
                logger.debug("close_stream of the lost inlet failed", exc_info=True)
            self._eeg_inlet, self._source = inlet, full_info
            self._search = None
            with self._lock:
                self._disconnected, self._message = False, ""
                self._n_reattached += 1
            self._last_data_wall = time.monotonic()
            logger.warning("Stream '%s' is back: recording goes on (gap marked).", info.name())
            return

    def _check_silence(self) -> None:
        if self._silent or time.monotonic() - self._last_data_wall < self._lost_after_s:
            return
        message = (
            f"Stream '{self._meta.name}' delivered nothing for {self._lost_after_s:.1f} s "
            "(stalled); the recording waits for it, and a gap is marked if samples are missing."
        )
        with self._lock:
            self._silent = True
            self._message = message
        logger.warning("%s", message)

    def _set_error(self, message: str) -> None:
        with self._lock:
            self._error = message

    # -- shutdown ------------------------------------------------------------------------------
    def _write_closed(self) -> None:
        with self._lock:
            payload = {
                "stopped": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                "n_samples": self._n_samples,
                "n_markers": self._n_markers,
                "first_timestamp": None if self._n_samples == 0 else self._first_ts,
                "last_timestamp": None if self._n_samples == 0 else self._last_ts,
                "stream_lost": self._disconnected,
                "stalled": self._silent,
                "gaps": list(self._gaps),
                "reattached": self._n_reattached,
                "error": self._error,
            }
        try:
            write_json_atomic(self.path / CLOSED_FILE, payload)
        except OSError:
            logger.exception("Could not write %s; the session loads as incomplete.", CLOSED_FILE)

    def _close_inlets(self) -> None:
        inlets = [inlet for inlet, _ in self._marker_inlets]
        if getattr(self, "_eeg_inlet", None) is not None:
            inlets.insert(0, self._eeg_inlet)
        for inlet in inlets:
            try:
                inlet.close_stream()
            except Exception:  # pragma: no cover - best effort on shutdown
                logger.debug("close_stream failed", exc_info=True)
