"""Read a crash-safe session folder (format ``neurodeck-session``); convert it to FIF, EDF or XDF.

:class:`~neurodeck.streaming.recorder.SessionRecorder` writes the folder while the streams arrive;
its module docstring describes the layout. This module defines the format (file names, data types,
header) once, reads a folder back into a :class:`RecordedSession` and turns it into a
:class:`~neurodeck.streaming.recording_io.Recording` or an EDF / FIF file with the markers as
annotations, or an XDF file with the EEG and marker streams as recorded (timestamps included).

Reading tolerates what a killed recorder leaves behind: a partial last frame of ``eeg.f32``,
data and timestamp files of different lengths, a partial last line of ``markers.jsonl`` and no
``closed.json``. What is ignored is counted in :attr:`RecordedSession.truncated_bytes` and logged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from neurodeck.common.jsonio import replaced_atomically
from neurodeck.common.types import FloatArray, MarkerEvent, RecordingError, StreamMeta, TimeArray
from neurodeck.streaming.annotations import markers_to_annotations
from neurodeck.streaming.lsl_io import unit_scale_to_uv
from neurodeck.streaming.recording_io import Annotation, Recording
from neurodeck.streaming.xdf_write import XdfChannel, XdfStream, write_xdf
from numpy.typing import ArrayLike, NDArray

logger = logging.getLogger(__name__)

SESSION_FORMAT = "neurodeck-session"
SESSION_VERSION = 1
HEADER_FILE = "header.json"
EEG_FILE = "eeg.f32"
TIMES_FILE = "eeg_times.f64"
MARKERS_FILE = "markers.jsonl"
CLOSED_FILE = "closed.json"
#: Every file a recorder writes (the header's temporary file included).
SESSION_FILES = (HEADER_FILE, HEADER_FILE + ".tmp", EEG_FILE, TIMES_FILE, MARKERS_FILE, CLOSED_FILE)
#: float32 little-endian samples, row-major (n_samples, n_channels).
EEG_DTYPE = np.dtype("<f4")
#: float64 little-endian timestamps, one per sample.
TIME_DTYPE = np.dtype("<f8")
#: File endings :func:`export_session` writes.
EXPORT_EXTENSIONS = (".fif", ".edf", ".xdf")
#: EDF signal labels hold at most this many characters.
_EDF_LABEL_MAX = 16


def session_header(
    meta: StreamMeta,
    marker_streams: Sequence[str] = (),
    source_channel_format: str = "float32",
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    """The ``header.json`` content of a session (format ``neurodeck-session``, version 1).

    Parameters
    ----------
    meta : StreamMeta
        The recorded EEG stream.
    marker_streams : sequence of str
        Names of the recorded marker streams.
    source_channel_format : str
        The stream's own sample type as a numpy name (``int16``, ``float64`` ...); samples are
        stored as float32 whatever it is.
    created : datetime, optional
        Start of the session (default: now, UTC).
    """
    created = created or dt.datetime.now(dt.UTC)
    return {
        "format": SESSION_FORMAT,
        "version": SESSION_VERSION,
        "created": created.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
        "stream": {
            "name": meta.name,
            "type": meta.stream_type,
            "source_id": meta.source_id,
            "hostname": meta.hostname,
        },
        "channel_names": list(meta.channel_names),
        "channel_units": list(meta.channel_units),
        "generic_names": meta.generic_names,
        "sfreq": meta.sfreq,
        "replay_speed": meta.replay_speed,
        "channel_format": "float32",
        "source_channel_format": source_channel_format,
        "byte_order": "little",
        "files": {
            "eeg": {"name": EEG_FILE, "dtype": EEG_DTYPE.str, "layout": "(n_samples, n_channels)"},
            "timestamps": {"name": TIMES_FILE, "dtype": TIME_DTYPE.str, "layout": "(n_samples,)"},
            "markers": {"name": MARKERS_FILE, "layout": 'JSON lines {"t", "label", "stream"}'},
        },
        "clock": "LSL local_clock() of the recording host (source clock corrected by liblsl)",
        "marker_streams": list(marker_streams),
    }


@dataclass(frozen=True)
class RecordedSession:
    """A session folder read back into memory.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples), float32
        Samples in microvolts, C-contiguous (non-finite values kept as recorded).
    timestamps : ndarray, shape (n_samples,), float64
        LSL timestamps of the samples on the recording host's clock.
    markers : tuple of MarkerEvent
        Markers of every recorded marker stream, sorted by timestamp.
    meta : StreamMeta
        The recorded stream's description (from ``header.json``).
    path : Path
        The session folder.
    complete : bool
        True when the recorder stopped cleanly (``closed.json`` exists); False after a crash.
    truncated_bytes : int
        Bytes ignored at the end of the files (partial frames or marker lines left by a crash).
    marker_streams : tuple of str
        Names of the recorded marker streams.
    created : datetime or None
        Start of the session (UTC), from the header.
    marker_sources : tuple of str
        The marker stream each of ``markers`` came from (same order; ``""`` when its line names
        none). Empty when unknown.
    markers_file_missing : bool
        True when the folder has no ``markers.jsonl`` (deleted or lost: the recorder always
        writes one, empty when no marker arrived), so the session's markers are unknown.
    """

    data: FloatArray
    timestamps: TimeArray
    markers: tuple[MarkerEvent, ...]
    meta: StreamMeta
    path: Path
    complete: bool
    truncated_bytes: int = 0
    marker_streams: tuple[str, ...] = ()
    created: dt.datetime | None = None
    marker_sources: tuple[str, ...] = ()
    markers_file_missing: bool = False

    @property
    def n_samples(self) -> int:
        """Number of samples per channel."""
        return int(self.data.shape[1])

    @property
    def sfreq(self) -> float:
        """Nominal (content) sampling rate in Hz."""
        return self.meta.sfreq

    @property
    def duration_s(self) -> float:
        """Content seconds recorded (``n_samples / sfreq``; a fast replay took less wall time)."""
        return self.n_samples / self.sfreq


# -- reading ----------------------------------------------------------------------------------
def _corrupt(path: Path, what: str) -> RecordingError:
    return RecordingError(
        f"Session header {path} is corrupt: {what}.",
        "The folder was not written by `neurodeck record`, or its header.json was edited; "
        "restore it from a copy of the session.",
    )


def _read_header(folder: Path) -> dict[str, Any]:
    """Parse and validate ``header.json`` (format, version, required fields)."""
    if not folder.is_dir():
        raise RecordingError(
            f"Session folder not found: {folder}.",
            "Give the folder that `neurodeck record --out DIR` wrote.",
        )
    path = folder / HEADER_FILE
    if not path.is_file():
        raise RecordingError(
            f"{folder} holds no {HEADER_FILE}, so it is not a recorded session.",
            "Give the folder that `neurodeck record --out DIR` wrote (a recorder that was killed "
            "before writing its header recorded nothing).",
        )
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(path, f"not valid JSON ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != SESSION_FORMAT:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise RecordingError(
            f"{path} is not a '{SESSION_FORMAT}' header (format {found!r}).",
            "Give a folder written by `neurodeck record`; EDF/FIF files load with "
            "neurodeck.streaming.recording_io.load_recording.",
        )
    _check_version(path, header.get("version"))
    _check_fields(path, header)
    return header


def _check_version(path: Path, version: object) -> None:
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _corrupt(path, f"'version' must be a positive integer; got {version!r}")
    if version != SESSION_VERSION:
        raise RecordingError(
            f"{path} has session format version {version}; this neurodeck reads version "
            f"{SESSION_VERSION}.",
            "Read it with the neurodeck version that recorded it (or a newer one), and export it "
            "to EDF or FIF there.",
        )


def _check_fields(path: Path, header: dict[str, Any]) -> None:
    names, units = header.get("channel_names"), header.get("channel_units")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise _corrupt(path, "'channel_names' must be a non-empty list of strings")
    if not isinstance(units, list) or len(units) != len(names):
        raise _corrupt(path, "'channel_units' must hold one unit per channel")
    sfreq = header.get("sfreq")
    if not isinstance(sfreq, (int, float)) or not math.isfinite(sfreq) or sfreq <= 0:
        raise _corrupt(path, f"'sfreq' must be a number > 0; got {sfreq!r}")
    if not isinstance(header.get("stream"), dict):
        raise _corrupt(path, "'stream' (name, type, source_id, hostname) is missing")
    files = header.get("files", {})
    eeg_dtype = files.get("eeg", {}).get("dtype") if isinstance(files, dict) else None
    time_dtype = files.get("timestamps", {}).get("dtype") if isinstance(files, dict) else None
    if eeg_dtype != EEG_DTYPE.str or time_dtype != TIME_DTYPE.str:
        raise _corrupt(path, f"data types {eeg_dtype!r} / {time_dtype!r} (expected '<f4' / '<f8')")


def _meta_from_header(header: dict[str, Any]) -> StreamMeta:
    stream = header["stream"]
    speed = header.get("replay_speed", 1.0)
    return StreamMeta(
        name=str(stream.get("name", "")),
        stream_type=str(stream.get("type", "")),
        source_id=str(stream.get("source_id", "")),
        hostname=str(stream.get("hostname", "")),
        channel_names=tuple(header["channel_names"]),
        channel_units=tuple(str(u) for u in header["channel_units"]),
        sfreq=float(header["sfreq"]),
        replay_speed=float(speed) if isinstance(speed, (int, float)) and speed > 0 else 1.0,
        generic_names=bool(header.get("generic_names", False)),
    )


def _file_size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _check_sample_files(folder: Path, frame: int) -> None:
    """Refuse a folder whose sample file or timestamps file is missing, naming which.

    The recorder creates both when it starts, so a missing one was deleted or lost; without the
    other, the samples it holds cannot be used (samples without times cannot be placed, nor
    the markers on them).
    """
    eeg_path, times_path = folder / EEG_FILE, folder / TIMES_FILE
    if not eeg_path.is_file() and not times_path.is_file():
        raise RecordingError(
            f"{folder} has neither {EEG_FILE} (the EEG samples) nor {TIMES_FILE} (their "
            "timestamps): the session's EEG is missing, not merely empty.",
            "Restore both files from a copy of the session; a session folder holds header.json, "
            f"{EEG_FILE}, {TIMES_FILE} and {MARKERS_FILE}.",
        )
    if not times_path.is_file():
        n_frames = _file_size(eeg_path) // frame
        raise RecordingError(
            f"{folder} has no timestamps file {TIMES_FILE}: its {EEG_FILE} holds {n_frames} "
            "samples, but without their LSL timestamps they cannot be placed in time, nor the "
            "markers on them.",
            f"Restore {TIMES_FILE} from a copy of the session (the recorder writes it next to "
            f"{EEG_FILE}); the session cannot be exported or calibrated on without it.",
        )
    if not eeg_path.is_file():
        n_stamps = _file_size(times_path) // TIME_DTYPE.itemsize
        raise RecordingError(
            f"{folder} has no sample file {EEG_FILE}: {TIMES_FILE} holds {n_stamps} timestamps, "
            "but the EEG samples themselves are missing.",
            f"Restore {EEG_FILE} from a copy of the session.",
        )


def _read_samples(folder: Path, n_channels: int) -> tuple[FloatArray, TimeArray, int]:
    """Rows ``(n_samples, n_channels)`` as stored, their timestamps, and bytes ignored.

    Only samples present in both files are kept (a crash can leave one file a frame ahead); a
    partial frame at the end of either file is ignored.

    Raises
    ------
    RecordingError
        If either file is missing (see :func:`_check_sample_files`).
    """
    eeg_path, times_path = folder / EEG_FILE, folder / TIMES_FILE
    frame = n_channels * EEG_DTYPE.itemsize
    _check_sample_files(folder, frame)
    eeg_bytes, times_bytes = _file_size(eeg_path), _file_size(times_path)
    n_samples = min(eeg_bytes // frame, times_bytes // TIME_DTYPE.itemsize)
    ignored = eeg_bytes - n_samples * frame + times_bytes - n_samples * TIME_DTYPE.itemsize
    if n_samples == 0:
        return np.empty((0, n_channels), np.float32), np.empty(0, np.float64), ignored
    rows = np.fromfile(eeg_path, dtype=EEG_DTYPE, count=n_samples * n_channels)
    stamps = np.fromfile(times_path, dtype=TIME_DTYPE, count=n_samples)
    rows = rows.reshape(n_samples, n_channels).astype(np.float32, copy=False)
    return rows, stamps.astype(np.float64, copy=False), ignored


def _parse_marker(line: str) -> tuple[MarkerEvent, str] | None:
    """A marker line's event and the name of its marker stream (``""`` when it names none)."""
    try:
        item = json.loads(line)
        return MarkerEvent(float(item["t"]), str(item["label"])), str(item.get("stream", ""))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None


def _read_markers(folder: Path) -> tuple[tuple[tuple[MarkerEvent, str], ...], int]:
    """(marker, stream name) pairs sorted by timestamp, and the bytes of a partial last line."""
    path = folder / MARKERS_FILE
    if not path.is_file():
        logger.warning(
            "%s has no %s (the recorder always writes one): the session's markers are unknown, "
            "so it loads without any.",
            folder,
            MARKERS_FILE,
        )
        return (), 0
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = text.split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    events: list[tuple[MarkerEvent, str]] = []
    for number, line in enumerate(lines, start=1):
        event = _parse_marker(line) if line.strip() else None
        if event is None and line.strip():
            logger.warning("%s line %d is not a marker record; skipped: %r", path, number, line)
        elif event is not None:
            events.append(event)
    ignored = 0
    if tail.strip():
        event = _parse_marker(tail)
        if event is None:
            ignored = len(tail.encode("utf-8"))
            logger.warning(
                "%s ends with a partial marker line (%d bytes, left by a crash); skipped.",
                path,
                ignored,
            )
        else:
            events.append(event)
    events.sort(key=lambda e: e[0].timestamp)  # stable: equal times keep file order
    return tuple(events), ignored


def _channel_scales(meta: StreamMeta) -> NDArray[np.float32]:
    """Per-channel factor from the declared unit to microvolts (unknown: 1, with a warning)."""
    scales = [unit_scale_to_uv(unit) if unit.strip() else None for unit in meta.channel_units]
    unknown = sorted({u for u, s in zip(meta.channel_units, scales, strict=True) if s is None})
    if unknown:
        logger.warning(
            "Session of '%s' declares unit(s) %s; assuming microvolts for those channels. If the "
            "amplitudes look 1e6 times off, fix the driver's channel units.",
            meta.name,
            [u or "(none)" for u in unknown],
        )
    return np.array([1.0 if s is None else s for s in scales], dtype=np.float32)


def _report_nonfinite(folder: Path, meta: StreamMeta, data: FloatArray) -> None:
    bad = ~np.isfinite(data)
    if bad.any():
        channels = [meta.channel_names[i] for i in np.flatnonzero(bad.any(axis=1))[:8]]
        logger.warning(
            "%s holds %d NaN/inf values (channels %s), kept as recorded: check the electrode "
            "contact or the driver.",
            folder,
            int(bad.sum()),
            ", ".join(channels),
        )


def _created(text: object) -> dt.datetime | None:
    """The header's ``created`` time as an aware UTC datetime (None when absent or invalid)."""
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text).astimezone(dt.UTC)
    except ValueError:
        return None


def _check_closed_counts(folder: Path, n_samples: int) -> bool:
    """True when ``closed.json`` exists; warns when its sample count differs from the files."""
    path = folder / CLOSED_FILE
    if not path.is_file():
        return False
    try:
        expected = json.loads(path.read_text(encoding="utf-8")).get("n_samples")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        logger.warning("%s is unreadable; the session is treated as closed.", path)
        return True
    if isinstance(expected, int) and expected != n_samples:
        logger.warning(
            "%s says %d samples were recorded but the files hold %d.", path, expected, n_samples
        )
    return True


def load_session(path: Path | str) -> RecordedSession:
    """Read a session folder written by :class:`~neurodeck.streaming.recorder.SessionRecorder`.

    Parameters
    ----------
    path : Path or str
        The session folder.

    Returns
    -------
    session : RecordedSession
        ``data`` (n_channels, n_samples) float32 microvolts, ``timestamps`` (n_samples,), markers
        sorted by timestamp. A session without EEG samples loads with ``n_samples == 0``.

    Raises
    ------
    RecordingError
        The folder or its header is missing, the header is corrupt, it has another format or
        version, or the sample file or its timestamps file is missing (the message names which).

    Notes
    -----
    A session left by a crash loads: partial frames and a partial last marker line are ignored
    (``truncated_bytes``, with a logged warning) and ``complete`` is False. A missing
    ``markers.jsonl`` loads without markers, with a logged warning and
    ``markers_file_missing``.
    """
    folder = Path(path).expanduser()
    header = _read_header(folder)
    meta = _meta_from_header(header)
    rows, stamps, ignored_samples = _read_samples(folder, meta.n_channels)
    marked, ignored_markers = _read_markers(folder)
    scales = _channel_scales(meta)
    data = np.ascontiguousarray(rows.T)  # (n_samples, n_channels) -> (n_channels, n_samples)
    if not np.all(scales == 1.0):
        data *= scales[:, None]
    _report_nonfinite(folder, meta, data)
    if ignored_samples:
        logger.warning(
            "%s: %d bytes of sample data at the end of the files were ignored (a partial last "
            "frame, left by a crash).",
            folder,
            ignored_samples,
        )
    complete = _check_closed_counts(folder, rows.shape[0])
    return RecordedSession(
        data=data,
        timestamps=stamps,
        markers=tuple(event for event, _ in marked),
        meta=meta,
        path=folder,
        complete=complete,
        truncated_bytes=ignored_samples + ignored_markers,
        marker_streams=tuple(str(n) for n in header.get("marker_streams", [])),
        created=_created(header.get("created")),
        marker_sources=tuple(stream for _, stream in marked),
        markers_file_missing=not (folder / MARKERS_FILE).is_file(),
    )


# -- converting -------------------------------------------------------------------------------
def sample_index(session: RecordedSession, timestamps: ArrayLike) -> NDArray[np.int64]:
    """Index of the first sample at or after each timestamp.

    Parameters
    ----------
    session : RecordedSession
        A loaded session.
    timestamps : array-like, shape (n_events,)
        LSL timestamps (marker times) on the session's clock.

    Returns
    -------
    index : ndarray, shape (n_events,), int64
        ``n_samples`` for a timestamp after the last sample.
    """
    stamps = np.atleast_1d(np.asarray(timestamps, dtype=np.float64))
    return np.searchsorted(session.timestamps, stamps, side="left").astype(np.int64)


def _marker_annotations(session: RecordedSession) -> tuple[Annotation, ...]:
    """Markers as (onset_s, 0, label); markers outside the samples are dropped with a warning.

    A marker up to half a sample period outside the first or last sample is placed on it.
    """
    return markers_to_annotations(
        session.timestamps,
        session.markers,
        session.sfreq,
        session.meta.sample_period_s,
        session.path,
    )


#: A timestamp step longer than this many sample periods, and than :data:`MIN_GAP_S`, is a gap
#: (the recorder's rule too).
GAP_TOLERANCE = 1.5
#: Shorter steps are not gaps: after a source stalls, the clock-offset correction of its
#: timestamps jumps by tens of milliseconds and back, with no sample missing.
MIN_GAP_S = 0.25


def gap_threshold(sfreq: float, replay_speed: float = 1.0) -> float:
    """The timestamp step (seconds) above which consecutive samples are separated by a gap."""
    return max(GAP_TOLERANCE / (sfreq * replay_speed), MIN_GAP_S / replay_speed)


#: The annotation that marks a gap in an export (mne's name for skipped acquisition).
GAP_ANNOTATION = "BAD_ACQ_SKIP"


def gap_annotations(session: RecordedSession) -> tuple[Annotation, ...]:
    """A zero-length ``BAD_ACQ_SKIP`` annotation where the timestamps jump (a stall, a loss).

    Returns
    -------
    annotations : tuple of (onset_s, duration_s, label)
        Onset in content seconds from the first sample, at the first sample after each gap.
    """
    return tuple((float(i) / session.sfreq, 0.0, GAP_ANNOTATION) for i in gap_indices(session))


def gap_indices(session: RecordedSession) -> NDArray[np.int64]:
    """Index of the first sample after each gap in the timestamps, shape (n_gaps,)."""
    if session.n_samples < 2:
        return np.empty(0, np.int64)
    step = gap_threshold(session.sfreq, session.meta.replay_speed)
    return (np.flatnonzero(np.diff(session.timestamps) > step) + 1).astype(np.int64)


def to_recording(session: RecordedSession) -> Recording:
    """The session as a :class:`~neurodeck.streaming.recording_io.Recording` with markers as
    annotations, and each gap in the timestamps as a ``BAD_ACQ_SKIP`` annotation.

    Annotation onsets are ``sample_index / sfreq`` seconds from the first sample, so they are
    right in content time even for a fast replay whose timestamps are ``replay_speed`` times
    closer together.

    Raises
    ------
    RecordingError
        The session holds no EEG samples.
    """
    if session.n_samples == 0:
        frame = session.meta.n_channels * EEG_DTYPE.itemsize
        eeg_bytes = _file_size(session.path / EEG_FILE)
        times_bytes = _file_size(session.path / TIMES_FILE)
        n_frames, n_stamps = eeg_bytes // frame, times_bytes // TIME_DTYPE.itemsize
        if not (n_frames or n_stamps) and (eeg_bytes or times_bytes):  # cut inside the first
            raise RecordingError(
                f"{session.path} holds no complete sample: {EEG_FILE} holds {eeg_bytes} bytes "
                f"(a sample takes {frame}) and {TIMES_FILE} {times_bytes} (a timestamp takes "
                f"{TIME_DTYPE.itemsize}): the files were cut short, or the recorder was killed "
                "as the first sample arrived.",
                "Copy the session again from its source, or record again.",
            )
        if n_frames or n_stamps:  # one file holds data, the other none
            raise RecordingError(
                f"{session.path} holds no complete sample: {EEG_FILE} holds {n_frames} samples "
                f"but {TIMES_FILE} {n_stamps} timestamps, and a sample needs both.",
                f"Restore the empty file from a copy of the session ({EEG_FILE} and "
                f"{TIMES_FILE} grow together while recording).",
            )
        raise RecordingError(
            f"{session.path} holds markers without EEG: no sample of '{session.meta.name}' was "
            f"recorded ({len(session.markers)} markers).",
            "Check that the EEG stream was running and delivering while recording, then record "
            "again.",
        )
    return Recording(
        data=session.data,
        sfreq=session.sfreq,
        channel_names=session.meta.channel_names,
        annotations=tuple(
            sorted(_marker_annotations(session) + gap_annotations(session), key=lambda a: a[0])
        ),
        source=session.path,
    )


def _to_raw(recording: Recording, meas_date: dt.datetime | None):  # -> mne.io.RawArray
    """An mne RawArray (EEG channels, volts) with the recording's annotations."""
    import mne

    info = mne.create_info(list(recording.channel_names), recording.sfreq, "eeg")
    raw = mne.io.RawArray(recording.data.astype(np.float64) * 1e-6, info, verbose="error")
    raw.set_meas_date(meas_date)
    annots = recording.annotations
    raw.set_annotations(
        mne.Annotations([a[0] for a in annots], [a[1] for a in annots], [a[2] for a in annots])
    )
    return raw


def check_export_target(out: Path, overwrite: bool = False) -> str:
    """The export format of ``out`` (``.fif``, ``.edf`` or ``.xdf``), checked before any work.

    Raises
    ------
    RecordingError
        Unsupported ending, or ``out`` exists and ``overwrite`` is False.
    """
    kind = out.suffix.lower()
    if kind not in EXPORT_EXTENSIONS:
        raise RecordingError(
            f"Cannot export to '{out.name}': unsupported ending '{kind or '(none)'}'.",
            f"Give a file ending in {', '.join(EXPORT_EXTENSIONS[:-1])} or "
            f"{EXPORT_EXTENSIONS[-1]}.",
        )
    if out.exists() and not overwrite:
        raise RecordingError(
            f"{out} already exists.", "Choose another file name, or pass --overwrite."
        )
    return kind


def _prepare_edf(recording: Recording) -> Recording:
    """Check EDF label lengths; replace NaN/inf (EDF cannot hold them) by 0 with a warning."""
    long = [name for name in recording.channel_names if len(name) > _EDF_LABEL_MAX]
    if long:
        raise RecordingError(
            f"EDF allows channel labels of at most {_EDF_LABEL_MAX} characters; "
            f"{', '.join(repr(n) for n in long[:4])} are longer.",
            "Export to .fif instead, which keeps the names as recorded.",
        )
    finite = np.isfinite(recording.data)
    if finite.all():
        return recording
    logger.warning(
        "EDF cannot store NaN/inf: %d such values are written as 0 (FIF keeps them).",
        int((~finite).sum()),
    )
    clean = np.where(finite, recording.data, np.float32(0.0)).astype(np.float32)
    return Recording(
        clean, recording.sfreq, recording.channel_names, recording.annotations, recording.source
    )


def _marker_groups(session: RecordedSession) -> dict[str, list[MarkerEvent]]:
    """Markers per marker stream, in the header's order (streams without markers kept).

    Markers whose line names no recorded stream go to the first stream (``<name>-markers`` when
    the session recorded none).
    """
    groups: dict[str, list[MarkerEvent]] = {name: [] for name in session.marker_streams}
    fallback = next(iter(groups), f"{session.meta.name}-markers")
    sources = session.marker_sources or ("",) * len(session.markers)
    for event, stream in zip(session.markers, sources, strict=True):
        groups.setdefault(stream if stream in groups else fallback, []).append(event)
    return groups


def session_xdf_streams(session: RecordedSession) -> list[XdfStream]:
    """The session as XDF streams: the EEG (float32 microvolts) and each marker stream.

    Timestamps are written as recorded: on the recording host's LSL clock, source clock offsets
    already applied by liblsl. So every stream gets ClockOffset measurements of 0 s at the first
    and last EEG timestamps. When the timestamps have gaps (:func:`gap_indices`), a last marker
    stream ``<name>-gaps`` holds a ``BAD_ACQ_SKIP`` marker at the first sample after each (the
    annotation FIF and EDF exports carry).

    Raises
    ------
    RecordingError
        The session holds no EEG samples.
    """
    if session.n_samples == 0:
        to_recording(session)  # raises, saying so
    meta = session.meta
    offsets = ((float(session.timestamps[0]), 0.0), (float(session.timestamps[-1]), 0.0))
    desc = {"manufacturer": "neurodeck"}
    if meta.replay_speed != 1.0:
        desc["replay_speed"] = repr(meta.replay_speed)
    eeg = XdfStream(
        name=meta.name,
        stream_type=meta.stream_type or "EEG",
        timestamps=session.timestamps,
        data=np.ascontiguousarray(session.data, dtype=np.float32),
        nominal_srate=meta.sfreq,
        channels=tuple(XdfChannel(name, "microvolts", "EEG") for name in meta.channel_names),
        source_id=meta.source_id,
        hostname=meta.hostname,
        desc=desc,
        clock_offsets=offsets,
    )
    markers = [
        XdfStream(
            name=name,
            stream_type="Markers",
            timestamps=np.array([e.timestamp for e in events], dtype=np.float64),
            labels=tuple(e.label for e in events),
            channels=(XdfChannel("marker", "", "Markers"),),
            source_id=name,
            clock_offsets=offsets,
        )
        for name, events in _marker_groups(session).items()
    ]
    gaps = gap_indices(session)
    if gaps.size:  # as FIF and EDF exports mark them, on the first sample after each gap
        markers.append(
            XdfStream(
                name=_gap_stream_name(session),
                stream_type="Markers",
                timestamps=np.ascontiguousarray(session.timestamps[gaps], dtype=np.float64),
                labels=(GAP_ANNOTATION,) * int(gaps.size),
                channels=(XdfChannel("marker", "", "Markers"),),
                source_id=_gap_stream_name(session),
                desc={"manufacturer": "neurodeck"},
                clock_offsets=offsets,
            )
        )
    return [eeg, *markers]


def _gap_stream_name(session: RecordedSession) -> str:
    """``<eeg name>-gaps``, made unique among the recorded marker streams."""
    name = f"{session.meta.name}-gaps"
    while name in session.marker_streams:
        name += "_"
    return name


def export_session(
    path: Path | str | RecordedSession, out_file: Path | str, overwrite: bool = False
) -> Path:
    """Convert a session folder to a FIF or EDF file with its markers as annotations, or to XDF.

    Parameters
    ----------
    path : Path, str or RecordedSession
        The session folder (a crashed session exports what it holds), or a loaded session.
    out_file : Path or str
        ``.fif`` (float32, NaN kept) or ``.edf`` (16 bits per sample, range per channel; EDF
        needs whole data records of 1 s, so mne pads the end with the last value and marks the
        padding with a ``BAD_ACQ_SKIP`` annotation), or ``.xdf``: the EEG stream (float32
        microvolts, every sample with its timestamp) and each recorded marker stream (strings,
        with their timestamps), as LabRecorder would have written them (see
        :func:`session_xdf_streams`); written atomically.
    overwrite : bool
        Replace an existing ``out_file``.

    Returns
    -------
    out_file : Path
        The written file; it loads with :func:`neurodeck.streaming.recording_io.load_recording`.

    Raises
    ------
    RecordingError
        Unsupported ending, existing file, unreadable or empty session, EDF label too long, or
        the file could not be written.
    """
    out = Path(out_file).expanduser()
    kind = check_export_target(out, overwrite)
    session = path if isinstance(path, RecordedSession) else load_session(path)
    if kind == ".xdf":  # every marker is kept, with its own timestamp
        write_xdf(out, session_xdf_streams(session), created=session.created)
        logger.info(
            "Exported %s: %d samples, %d markers -> %s",
            session.path,
            session.n_samples,
            len(session.markers),
            out,
        )
        return out
    recording = to_recording(session)
    if kind == ".edf":
        recording = _prepare_edf(recording)
    raw = _to_raw(recording, session.created)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _write_raw(raw, out, kind)
    except Exception as exc:  # mne and edfio raise many types
        raise RecordingError(
            f"Could not write {out} ({type(exc).__name__}: {exc}).",
            "Check the folder is writable and has space, or try the other format.",
        ) from exc
    logger.info(
        "Exported %s: %d samples, %d annotations -> %s",
        session.path,
        recording.n_samples,
        len(recording.annotations),
        out,
    )
    return out


def _write_raw(raw, out: Path, kind: str) -> None:
    """Write with mne; its warnings (file naming, EDF padding) go to the log."""
    import mne

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with replaced_atomically(out) as tmp:  # a killed export leaves no partial file
            if kind == ".fif":
                raw.save(tmp, overwrite=True, verbose="error")
            else:
                mne.export.export_raw(
                    tmp,
                    raw,
                    fmt="edf",
                    physical_range="channelwise",
                    overwrite=True,
                    verbose="error",
                )
    for item in caught:
        logger.info("%s: %s", out.name, item.message)
