"""Check the chunk structure of an XDF file before it is parsed, and read its stream headers.

pyxdf skips damaged parts of a file with a log message and reads on; neurodeck refuses them
instead, saying what is wrong. :func:`scan_xdf` walks the chunks (see
:mod:`neurodeck.streaming.xdf_write` for the layout) and checks that the file starts with
``XDF:`` and a FileHeader, that every chunk's length, tag and stream id are possible, that every
header and footer is XML, and that every Samples chunk holds exactly the samples it declares. A
file that ends inside a chunk, or whose streams lack their footer, is not corrupt but cut short
(:attr:`XdfLayout.truncation`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from neurodeck.common.types import RecordingError
from neurodeck.streaming.xdf_write import (
    MAGIC,
    NUMERIC_FORMATS,
    STRING_FORMAT,
    TAG_BOUNDARY,
    TAG_CLOCK_OFFSET,
    TAG_FILE_HEADER,
    TAG_SAMPLES,
    TAG_STREAM_FOOTER,
    TAG_STREAM_HEADER,
)

_STREAM_TAGS = (TAG_STREAM_HEADER, TAG_SAMPLES, TAG_CLOCK_OFFSET, TAG_STREAM_FOOTER)


@dataclass(frozen=True)
class XdfStreamHeader:
    """What a StreamHeader chunk declares about one stream.

    Parameters
    ----------
    stream_id : int
        The id the file's chunks use for the stream.
    name, stream_type, source_id : str
        LSL identity.
    channel_count : int
    channel_format : str
        ``float32``, ``double64``, ``int8`` ... ``int64`` or ``string``.
    nominal_srate : float
        Declared rate in Hz (0: irregular).
    channels : tuple of (label, unit, type)
        From ``desc/channels/channel`` (may be fewer than ``channel_count``, or empty).
    replay_speed : float
        ``desc/replay_speed`` of a neurodeck replay (1.0 when absent).
    """

    stream_id: int
    name: str
    stream_type: str
    source_id: str
    channel_count: int
    channel_format: str
    nominal_srate: float
    channels: tuple[tuple[str, str, str], ...] = ()
    replay_speed: float = 1.0

    @property
    def is_signal(self) -> bool:
        """Numeric samples at a regular rate (EEG, but also accelerometers, audio ...)."""
        return self.channel_format in NUMERIC_FORMATS and self.nominal_srate > 0

    @property
    def is_marker(self) -> bool:
        """A string stream, or an irregular stream of type ``Markers``."""
        return self.channel_format == STRING_FORMAT or (
            self.nominal_srate == 0 and self.stream_type.strip().lower() == "markers"
        )

    def describe(self) -> str:
        """``'name' (type, n ch, rate)`` for messages."""
        rate = f"{self.nominal_srate:g} Hz" if self.nominal_srate > 0 else "irregular"
        kind = self.stream_type or "no type"
        return f"'{self.name}' ({kind}, {self.channel_count} ch, {self.channel_format}, {rate})"


@dataclass
class XdfLayout:
    """The chunk structure of a file, as checked by :func:`scan_xdf`.

    Parameters
    ----------
    headers : dict of int to XdfStreamHeader
        Every stream, in the order of its header.
    sample_counts : dict of int to int
        Samples the Samples chunks of each stream hold.
    footer_counts : dict of int to int or None
        Streams with a footer, and the sample count it declares.
    complete_bytes : int
        Length of the file up to the end of its last complete chunk.
    truncation : str or None
        Why the file looks cut short (a partial last chunk, missing footers); None when whole.
    """

    headers: dict[int, XdfStreamHeader] = field(default_factory=dict)
    sample_counts: dict[int, int] = field(default_factory=dict)
    footer_counts: dict[int, int | None] = field(default_factory=dict)
    complete_bytes: int = 0
    truncation: str | None = None


def corrupt_error(source: object, what: str, offset: int | None = None) -> RecordingError:
    """The error for a damaged file: what is wrong, where (byte offset) and what to do."""
    where = f" (at byte {offset})" if offset is not None else ""
    return RecordingError(
        f"{source} is not a readable XDF file: {what}{where}.",
        "The file is corrupt, or not really XDF. Copy or export it again; a viewer such as "
        "SigViewer or pyxdf.load_xdf shows what it still holds.",
    )


def _varlen(buf: Any, pos: int, end: int, source: object) -> tuple[int, int]:
    """A variable-length integer at ``pos`` (within ``end``): its value and the next position."""
    if pos >= end:
        raise corrupt_error(source, "a length field runs past the end of its chunk", pos)
    width = buf[pos]
    if width not in (1, 4, 8) or pos + 1 + width > end:
        raise corrupt_error(source, f"invalid variable-length integer (width byte {width})", pos)
    return int.from_bytes(buf[pos + 1 : pos + 1 + width], "little"), pos + 1 + width


def _parse_xml(content: bytes, source: object, what: str, offset: int) -> ET.Element:
    try:
        return ET.fromstring(content.decode("utf-8", "replace"))
    except ET.ParseError as exc:
        raise corrupt_error(source, f"the {what} is not valid XML ({exc})", offset) from exc


def _channels(root: ET.Element) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (
            (ch.findtext("label") or "").strip(),
            (ch.findtext("unit") or "").strip(),
            (ch.findtext("type") or "").strip(),
        )
        for ch in root.findall("desc/channels/channel")
    )


def _positive_float(text: str | None, default: float) -> float:
    try:
        value = float(text) if text else default
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


def _stream_header(stream_id: int, content: bytes, source: object, offset: int) -> XdfStreamHeader:
    """Parse and check a StreamHeader's XML."""
    root = _parse_xml(content, source, f"header of stream {stream_id}", offset)
    fmt = (root.findtext("channel_format") or "").strip()
    if fmt not in NUMERIC_FORMATS and fmt != STRING_FORMAT:
        raise corrupt_error(source, f"stream {stream_id} has channel_format {fmt!r}", offset)
    try:
        count = int((root.findtext("channel_count") or "").strip())
        srate = float((root.findtext("nominal_srate") or "").strip())
    except ValueError as exc:
        raise corrupt_error(
            source, f"stream {stream_id} has no valid channel_count / nominal_srate", offset
        ) from exc
    if count < 1 or not math.isfinite(srate) or srate < 0:
        raise corrupt_error(
            source, f"stream {stream_id} declares {count} channels at {srate} Hz", offset
        )
    return XdfStreamHeader(
        stream_id=stream_id,
        name=(root.findtext("name") or "").strip(),
        stream_type=(root.findtext("type") or "").strip(),
        source_id=(root.findtext("source_id") or "").strip(),
        channel_count=count,
        channel_format=fmt,
        nominal_srate=srate,
        channels=_channels(root),
        replay_speed=_positive_float(root.findtext("desc/replay_speed"), 1.0),
    )


def _count_samples(buf: Any, pos: int, end: int, header: XdfStreamHeader, source: object) -> int:
    """Check a Samples chunk's content fits its declared count; return that count."""
    n, pos = _varlen(buf, pos, end, source)
    if header.channel_format != STRING_FORMAT:
        per_sample = 1 + header.channel_count * NUMERIC_FORMATS[header.channel_format].itemsize
        stamp_bytes = end - pos - n * per_sample  # 8 per sample that carries its timestamp
        if stamp_bytes < 0 or stamp_bytes % 8 or stamp_bytes // 8 > n:
            raise corrupt_error(
                source,
                f"a Samples chunk of '{header.name}' declares {n} samples in {end - pos} bytes",
                pos,
            )
        return n
    for _ in range(n):  # strings: walk the samples (marker chunks are small)
        if pos >= end:
            raise corrupt_error(source, f"a Samples chunk of '{header.name}' is too short", pos)
        pos += 1 + (8 if buf[pos] else 0)
        for _ in range(header.channel_count):
            length, pos = _varlen(buf, pos, end, source)
            pos += length
            if pos > end:
                raise corrupt_error(source, f"a string of '{header.name}' runs past its chunk", pos)
    if pos != end:
        raise corrupt_error(source, f"a Samples chunk of '{header.name}' has extra bytes", pos)
    return n


def _footer_count(content: bytes, source: object, offset: int) -> int | None:
    root = _parse_xml(content, source, "stream footer", offset)
    try:
        return int((root.findtext("sample_count") or "").strip())
    except ValueError:
        return None


def _check_chunk(
    layout: XdfLayout, buf: Any, tag: int, body: int, end: int, source: object
) -> None:
    """Check one chunk's content (``body`` is just after the tag) and record what it declares."""
    if tag not in _STREAM_TAGS:
        if tag == TAG_FILE_HEADER:
            _parse_xml(bytes(buf[body:end]), source, "file header", body)
        elif tag != TAG_BOUNDARY:
            raise corrupt_error(source, f"unknown chunk tag {tag}", body - 2)
        return
    if end - body < 4:
        raise corrupt_error(source, f"a chunk of tag {tag} is too short for its stream id", body)
    sid = int.from_bytes(buf[body : body + 4], "little")
    content = body + 4
    if tag == TAG_STREAM_HEADER:
        if sid in layout.headers:
            raise corrupt_error(source, f"stream {sid} has two headers", body)
        layout.headers[sid] = _stream_header(sid, bytes(buf[content:end]), source, content)
        layout.sample_counts[sid] = 0
        return
    if sid not in layout.headers:
        raise corrupt_error(source, f"a chunk of tag {tag} refers to unknown stream {sid}", body)
    if tag == TAG_SAMPLES:
        count = _count_samples(buf, content, end, layout.headers[sid], source)
        layout.sample_counts[sid] += count
    elif tag == TAG_CLOCK_OFFSET:
        if end - content != 16:
            raise corrupt_error(
                source, f"a ClockOffset chunk of stream {sid} is not 16 bytes", body
            )
    else:
        layout.footer_counts[sid] = _footer_count(bytes(buf[content:end]), source, content)


def scan_xdf(buf: Any, source: object) -> XdfLayout:
    """Walk the chunks of an XDF file and check each one.

    Parameters
    ----------
    buf : bytes-like
        The whole file (``bytes`` or an ``mmap``).
    source : object
        The file, for messages.

    Returns
    -------
    layout : XdfLayout
        Streams, sample counts, footers, and whether (and why) the file looks cut short.

    Raises
    ------
    RecordingError
        The file is not XDF or a chunk is corrupt.
    """
    size = len(buf)
    if size < len(MAGIC) or bytes(buf[: len(MAGIC)]) != MAGIC:
        raise corrupt_error(source, "it does not start with the XDF magic code 'XDF:'")
    layout = XdfLayout(complete_bytes=len(MAGIC))
    pos = len(MAGIC)
    while pos < size:
        width = buf[pos]
        if width not in (1, 4, 8):
            raise corrupt_error(source, f"invalid chunk length field (width byte {width})", pos)
        if pos + 1 + width > size:
            layout.truncation = f"it ends inside the length field of a chunk at byte {pos}"
            break
        length = int.from_bytes(buf[pos + 1 : pos + 1 + width], "little")
        body = pos + 1 + width
        if length < 2:
            raise corrupt_error(source, f"a chunk declares a length of {length} bytes", pos)
        if body + length > size:
            layout.truncation = (
                f"its last chunk (at byte {pos}) needs {body + length - size} bytes more than "
                "the file holds"
            )
            break
        tag = int.from_bytes(buf[body : body + 2], "little")
        if pos == len(MAGIC) and tag != TAG_FILE_HEADER:
            raise corrupt_error(source, f"its first chunk has tag {tag}, not a FileHeader (1)", pos)
        _check_chunk(layout, buf, tag, body + 2, body + length, source)
        pos = layout.complete_bytes = body + length
    if layout.complete_bytes == len(MAGIC) and layout.truncation is None:
        raise corrupt_error(source, "it holds no chunks after the magic code")
    unclosed = [h.name for sid, h in layout.headers.items() if sid not in layout.footer_counts]
    if unclosed and layout.truncation is None:
        layout.truncation = "no StreamFooter for " + ", ".join(repr(n) for n in unclosed)
    if not layout.headers and layout.truncation is None:  # a file header and nothing else
        layout.truncation = f"it ends after byte {layout.complete_bytes}, before any stream"
    return layout
