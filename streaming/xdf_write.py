"""Write XDF files, the Lab Streaming Layer's recording format (what LabRecorder writes).

An XDF file is the magic code ``XDF:`` followed by chunks. A chunk is ``[NumLengthBytes]
[Length][Tag][Content]``: the length (of tag and content) is a variable-length integer (one byte
saying 1, 4 or 8, then the little-endian value in that many bytes), the tag a little-endian
uint16. Tags: 1 FileHeader (XML), 2 StreamHeader (stream id + XML), 3 Samples, 4 ClockOffset
(stream id, collection time and offset as doubles), 5 Boundary (a fixed 16-byte UUID that lets a
reader resynchronise after damage), 6 StreamFooter (stream id + XML). A Samples chunk holds the
stream id, the number of samples as a variable-length integer, then per sample a timestamp byte
(8: a double follows; 0: the reader deduces it as the previous one plus ``1 / nominal_srate``) and
the values: little-endian numbers of the stream's ``channel_format``, or for strings one
variable-length length plus UTF-8 bytes per channel. Every multi-byte number is little-endian.

:func:`write_xdf` writes what :func:`pyxdf.load_xdf` reads: every timestamp explicitly (so they
come back bit-exact), chunks of the streams interleaved in time as LabRecorder writes them, a
Boundary chunk every ``boundary_s`` seconds, each stream's ClockOffset chunks at their collection
times and a StreamFooter per stream. The file is written to a temporary name in the target
folder, fsynced and renamed, so a killed export never leaves a partial file under the final name.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import struct
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree as ET

import numpy as np
from neurodeck.common.jsonio import replaced_atomically
from neurodeck.common.types import ConfigError, RecordingError
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

MAGIC = b"XDF:"
TAG_FILE_HEADER = 1
TAG_STREAM_HEADER = 2
TAG_SAMPLES = 3
TAG_CLOCK_OFFSET = 4
TAG_BOUNDARY = 5
TAG_STREAM_FOOTER = 6
#: Content of every Boundary chunk (fixed by the specification).
BOUNDARY_UUID = bytes.fromhex("43A546DCCBF5410FB30ED5467383CBE4")
#: XDF numeric channel formats and their little-endian numpy types.
NUMERIC_FORMATS = {
    "float32": np.dtype("<f4"),
    "double64": np.dtype("<f8"),
    "int8": np.dtype("<i1"),
    "int16": np.dtype("<i2"),
    "int32": np.dtype("<i4"),
    "int64": np.dtype("<i8"),
}
STRING_FORMAT = "string"
#: Timestamp byte of a sample whose timestamp follows as a double.
_STAMPED = 8


@dataclass(frozen=True)
class XdfChannel:
    """One channel's description (``desc/channels/channel``)."""

    label: str
    unit: str = ""
    type: str = ""


@dataclass(frozen=True)
class XdfStream:
    """One stream to write: its header fields, samples, timestamps and clock offsets.

    Parameters
    ----------
    name, stream_type : str
        LSL name and content type (``EEG``, ``Markers`` ...).
    timestamps : ndarray, shape (n_samples,), float64
        One timestamp per sample, on the recorder's clock, finite.
    data : ndarray, shape (n_channels, n_samples), optional
        Numeric samples; their dtype gives the channel format (float32 -> ``float32``, float64
        -> ``double64``, int8/16/32/64). Give ``data`` or ``labels``, not both.
    labels : sequence of str, optional
        The samples of a one-channel string stream (markers).
    nominal_srate : float
        Declared rate in Hz; 0 for irregular streams such as markers.
    channels : sequence of XdfChannel
        One per channel, or empty (no ``desc/channels``).
    source_id, hostname : str
        LSL identity written into the header.
    desc : mapping of str to str
        Extra ``desc`` children (for example ``replay_speed``).
    clock_offsets : sequence of (collection_time, offset_s)
        ClockOffset measurements (offset to add to this stream's timestamps to reach the
        recorder's clock). At least one is written: ``(first timestamp, 0.0)`` when empty.
    """

    name: str
    stream_type: str
    timestamps: NDArray[np.float64]
    data: NDArray[np.generic] | None = None
    labels: Sequence[str] | None = None
    nominal_srate: float = 0.0
    channels: Sequence[XdfChannel] = ()
    source_id: str = ""
    hostname: str = ""
    desc: Mapping[str, str] = field(default_factory=dict)
    clock_offsets: Sequence[tuple[float, float]] = ()

    def __post_init__(self) -> None:
        stamps = np.asarray(self.timestamps, dtype=np.float64)
        if (self.data is None) == (self.labels is None):
            raise ConfigError(f"XDF stream '{self.name}': give either data or labels.")
        n_values = self.data.shape[1] if self.data is not None else len(self.labels or ())
        if self.data is not None and (
            self.data.ndim != 2 or self.data.dtype.newbyteorder("<") not in _DTYPE_TO_FORMAT
        ):
            raise ConfigError(
                f"XDF stream '{self.name}': data must be (n_channels, n_samples) of float32, "
                f"float64 or int8/16/32/64; got {self.data.dtype} of shape {self.data.shape}."
            )
        if stamps.ndim != 1 or len(stamps) != n_values or not np.isfinite(stamps).all():
            raise ConfigError(
                f"XDF stream '{self.name}': need one finite timestamp per sample "
                f"({n_values} samples, {stamps.shape} timestamps)."
            )
        if self.channels and len(self.channels) != self.channel_count:
            raise ConfigError(
                f"XDF stream '{self.name}': {len(self.channels)} channel descriptions for "
                f"{self.channel_count} channels."
            )
        if not (math.isfinite(self.nominal_srate) and self.nominal_srate >= 0):
            raise ConfigError(f"XDF stream '{self.name}': nominal_srate must be >= 0.")

    @property
    def channel_format(self) -> str:
        """The XDF channel format (``float32``, ``double64``, ``int16`` ..., ``string``)."""
        if self.data is None:
            return STRING_FORMAT
        return _DTYPE_TO_FORMAT[self.data.dtype.newbyteorder("<")]

    @property
    def channel_count(self) -> int:
        """Number of channels."""
        return 1 if self.data is None else int(self.data.shape[0])

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return len(self.timestamps)


_DTYPE_TO_FORMAT = {dtype: name for name, dtype in NUMERIC_FORMATS.items()}


# -- encoding ---------------------------------------------------------------------------------
def varlen_int(value: int) -> bytes:
    """A variable-length integer: one byte saying 1, 4 or 8, then the value in as many bytes."""
    if value < 0:
        raise ValueError(f"variable-length integers are unsigned; got {value}")
    if value < 1 << 8:
        return b"\x01" + struct.pack("<B", value)
    if value < 1 << 32:
        return b"\x04" + struct.pack("<I", value)
    return b"\x08" + struct.pack("<Q", value)


def chunk(tag: int, content: bytes, stream_id: int | None = None) -> bytes:
    """One chunk: length (of tag, stream id and content), tag, stream id, content."""
    head = struct.pack("<H", tag) + (b"" if stream_id is None else struct.pack("<I", stream_id))
    return varlen_int(len(head) + len(content)) + head + content


def _xml(root: ET.Element) -> bytes:
    return b'<?xml version="1.0"?>' + ET.tostring(root, encoding="unicode").encode("utf-8")


def _child(parent: ET.Element, tag: str, text: object = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def file_header_xml(created: dt.datetime | None = None) -> bytes:
    """The FileHeader: ``<info><version>1.0</version><datetime>...</datetime></info>``."""
    info = ET.Element("info")
    _child(info, "version", "1.0")
    created = created or dt.datetime.now(dt.UTC)
    _child(info, "datetime", created.isoformat(timespec="seconds"))
    return _xml(info)


def stream_header_xml(stream: XdfStream) -> bytes:
    """The StreamHeader XML, laid out as an LSL ``StreamInfo`` (LabRecorder copies that)."""
    info = ET.Element("info")
    _child(info, "name", stream.name)
    _child(info, "type", stream.stream_type)
    _child(info, "channel_count", stream.channel_count)
    _child(info, "channel_format", stream.channel_format)
    _child(info, "source_id", stream.source_id)
    _child(info, "nominal_srate", repr(float(stream.nominal_srate)))
    _child(info, "version", "1.1")
    _child(info, "created_at", repr(float(stream.timestamps[0])) if stream.n_samples else "0")
    _child(info, "uid", str(uuid.uuid4()))
    _child(info, "session_id", "default")
    _child(info, "hostname", stream.hostname)
    desc = _child(info, "desc")
    if stream.channels:
        channels = _child(desc, "channels")
        for ch in stream.channels:
            element = _child(channels, "channel")
            _child(element, "label", ch.label)
            _child(element, "unit", ch.unit)
            _child(element, "type", ch.type)
    for key, value in stream.desc.items():
        _child(desc, key, value)
    return _xml(info)


def stream_footer_xml(stream: XdfStream, offsets: Sequence[tuple[float, float]]) -> bytes:
    """The StreamFooter: first and last timestamp, sample count, the clock offsets."""
    info = ET.Element("info")
    if stream.n_samples:
        _child(info, "first_timestamp", repr(float(stream.timestamps[0])))
        _child(info, "last_timestamp", repr(float(stream.timestamps[-1])))
    _child(info, "sample_count", stream.n_samples)
    clock = _child(info, "clock_offsets")
    for time_s, value in offsets:
        offset = _child(clock, "offset")
        _child(offset, "time", repr(float(time_s)))
        _child(offset, "value", repr(float(value)))
    return _xml(info)


def samples_content(stream: XdfStream, start: int, stop: int) -> bytes:
    """Samples ``start .. stop - 1`` encoded as a Samples chunk's content after the stream id."""
    stamps = np.asarray(stream.timestamps[start:stop], dtype="<f8")
    head = varlen_int(stop - start)
    if stream.data is None:
        labels = stream.labels or ()
        parts = [head]
        for label, stamp in zip(labels[start:stop], stamps.tolist(), strict=True):
            raw = str(label).encode("utf-8")
            parts.append(struct.pack("<Bd", _STAMPED, stamp) + varlen_int(len(raw)) + raw)
        return b"".join(parts)
    value_type = NUMERIC_FORMATS[stream.channel_format]
    layout = np.dtype(
        [("stamp_bytes", "u1"), ("stamp", "<f8"), ("values", value_type, (stream.channel_count,))]
    )  # packed: no padding between fields, as XDF lays samples out
    records = np.empty(stop - start, dtype=layout)
    records["stamp_bytes"] = _STAMPED
    records["stamp"] = stamps
    records["values"] = stream.data[:, start:stop].T
    return head + records.tobytes()


# -- layout in time ---------------------------------------------------------------------------
def _slots(times: NDArray[np.float64], t_start: float, chunk_s: float) -> NDArray[np.int64]:
    """Time slot of each entry, never decreasing (entries stay in their order in the file)."""
    if len(times) == 0:
        return np.empty(0, np.int64)
    slots = np.floor((np.asarray(times, np.float64) - t_start) / chunk_s).astype(np.int64)
    return np.maximum.accumulate(slots)


def _offsets_of(stream: XdfStream, t_first: float) -> list[tuple[float, float]]:
    offsets = [(float(t), float(v)) for t, v in stream.clock_offsets]
    if not offsets:
        offsets = [(float(stream.timestamps[0]) if stream.n_samples else t_first, 0.0)]
    return offsets


def _write_body(
    f: BinaryIO, streams: Sequence[XdfStream], chunk_s: float, boundary_s: float
) -> list[list[tuple[float, float]]]:
    """Samples and ClockOffset chunks interleaved in time slots of ``chunk_s``; boundaries."""
    firsts = [float(s.timestamps[0]) for s in streams if s.n_samples]
    t_start = min(firsts) if firsts else 0.0
    offsets = [_offsets_of(s, t_start) for s in streams]
    sample_slots = [_slots(s.timestamps, t_start, chunk_s) for s in streams]
    offset_slots = [_slots(np.array([t for t, _ in o]), t_start, chunk_s) for o in offsets]
    every = max(1, round(boundary_s / chunk_s))
    all_slots = np.unique(np.concatenate([np.empty(0, np.int64), *sample_slots, *offset_slots]))
    done = [0] * len(streams)
    done_offsets = [0] * len(streams)
    last_boundary = int(all_slots[0]) if len(all_slots) else 0
    for slot in all_slots.tolist():
        for sid, stream in enumerate(streams, start=1):
            k = sid - 1
            stop = int(np.searchsorted(offset_slots[k], slot, side="right"))
            for time_s, value in offsets[k][done_offsets[k] : stop]:
                f.write(chunk(TAG_CLOCK_OFFSET, struct.pack("<dd", time_s, value), sid))
            done_offsets[k] = stop
            stop = int(np.searchsorted(sample_slots[k], slot, side="right"))
            if stop > done[k]:
                f.write(chunk(TAG_SAMPLES, samples_content(stream, done[k], stop), sid))
                done[k] = stop
        if slot - last_boundary >= every:
            f.write(chunk(TAG_BOUNDARY, BOUNDARY_UUID))
            last_boundary = slot
    return offsets


def _write_file(
    f: BinaryIO,
    streams: Sequence[XdfStream],
    created: dt.datetime | None,
    chunk_s: float,
    boundary_s: float,
) -> None:
    f.write(MAGIC)
    f.write(chunk(TAG_FILE_HEADER, file_header_xml(created)))
    for sid, stream in enumerate(streams, start=1):
        f.write(chunk(TAG_STREAM_HEADER, stream_header_xml(stream), sid))
    offsets = _write_body(f, streams, chunk_s, boundary_s)
    f.write(chunk(TAG_BOUNDARY, BOUNDARY_UUID))
    for sid, (stream, stream_offsets) in enumerate(zip(streams, offsets, strict=True), start=1):
        f.write(chunk(TAG_STREAM_FOOTER, stream_footer_xml(stream, stream_offsets), sid))


def write_xdf(
    path: Path | str,
    streams: Sequence[XdfStream],
    created: dt.datetime | None = None,
    chunk_s: float = 1.0,
    boundary_s: float = 10.0,
) -> Path:
    """Write streams to an XDF file, atomically.

    Parameters
    ----------
    path : Path or str
        The file to write (replaced when it exists).
    streams : sequence of XdfStream
        Written with stream ids 1, 2, ... in this order.
    created : datetime, optional
        The FileHeader's ``datetime`` (default: now, UTC).
    chunk_s : float
        Seconds of every stream per Samples chunk (samples and clock offsets are interleaved
        in time slots of this length).
    boundary_s : float
        Seconds between Boundary chunks.

    Returns
    -------
    path : Path
        The written file.

    Raises
    ------
    ConfigError
        No stream, or ``chunk_s`` / ``boundary_s`` not > 0.
    RecordingError
        The file could not be written (nothing is left under its name).
    """
    path = Path(path).expanduser()
    if not streams:
        raise ConfigError("An XDF file needs at least one stream.")
    if not (chunk_s > 0 and boundary_s > 0):
        raise ConfigError(f"chunk_s and boundary_s must be > 0; got {chunk_s}, {boundary_s}.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replaced_atomically(path) as tmp, open(tmp, "wb") as f:
            _write_file(f, streams, created, chunk_s, boundary_s)
    except OSError as exc:
        raise RecordingError(
            f"Could not write {path} ({exc.strerror or exc}).",
            "Check that the folder is writable and has free space.",
        ) from exc
    return path
