"""Tell a FIF or BrainVision recording cut short from a complete one, before mne reads it.

mne reads both formats without a word when they end early: a FIF file cut after one of its data
buffers (a copy cut short, an export that was killed) loads as a shorter recording, and a
BrainVision data file cut inside a sample loses that sample. These functions look at the file's
structure only and describe what is missing; :mod:`neurodeck.streaming.recording_io` refuses the
file (or, with ``allow_truncated``, reads what it holds).

FIF: a sequence of tags, each a 16-byte big-endian header (kind, type, size, next) and ``size``
bytes of data. Blocks open with a ``FIFF_BLOCK_START`` tag (kind 104) and close with a
``FIFF_BLOCK_END`` (105); a complete file closes every block and ends with its last tag.

BrainVision: a text header (``.vhdr``) naming a binary data file of ``NumberOfChannels`` values
per sample (``BinaryFormat`` INT_16, UINT_16, INT_32 or IEEE_FLOAT_32); a data file that does not
hold whole samples was cut short. (One cut between samples cannot be seen: the format stores no
sample count.)
"""

from __future__ import annotations

import gzip
import re
import struct
from pathlib import Path
from typing import BinaryIO

_FIFF_BLOCK_START, _FIFF_BLOCK_END = 104, 105
_FIFF_NEXT_SEQ, _FIFF_NEXT_NONE = 0, -1
#: Bytes per value of each BrainVision ``BinaryFormat``.
_BRAINVISION_BYTES = {"INT_16": 2, "UINT_16": 2, "INT_32": 4, "IEEE_FLOAT_32": 4}


def _walk_fif(file: BinaryIO, size: int | None) -> str | None:
    position, depth = 0, 0
    while True:
        head = file.read(16)
        if not head:
            break
        if len(head) < 16:
            return f"it ends inside the header of the tag at byte {position}"
        kind, _type, length, following = struct.unpack(">iiii", head)
        if following not in (_FIFF_NEXT_SEQ, _FIFF_NEXT_NONE) or length < 0:
            return None  # tags not in file order (a directory-linked file): cannot tell here
        if size is not None and position + 16 + length > size:
            return (
                f"the tag at byte {position} needs {position + 16 + length - size} bytes more "
                "than the file holds"
            )
        skipped = file.seek(length, 1) if size is not None else len(file.read(length))
        if size is None and skipped < length:
            return f"the tag at byte {position} needs {length - skipped} bytes more than it holds"
        depth += (kind == _FIFF_BLOCK_START) - (kind == _FIFF_BLOCK_END)
        position += 16 + length
    if depth > 0:
        return f"{depth} of its blocks are not closed (the file ends after byte {position})"
    return None


def fif_truncation(path: Path) -> str | None:
    """What is missing at the end of a ``.fif`` / ``.fif.gz`` file (None when it is complete,
    or when its tags are not in file order and this cannot tell).

    A compressed file whose compressed stream ends early is reported too.
    """
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as file:
                return _walk_fif(file, None)
        with open(path, "rb") as file:
            return _walk_fif(file, path.stat().st_size)
    except EOFError:
        return "its compressed (gzip) stream ends early"
    except (OSError, gzip.BadGzipFile):
        return None  # not readable as such: mne says what is wrong


def _vhdr_fields(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        match = re.match(r"\s*(DataFile|NumberOfChannels|BinaryFormat|DataFormat)\s*=(.*)", line)
        if match and match.group(1) not in fields:
            fields[match.group(1)] = match.group(2).strip()
    return fields


def brainvision_truncation(path: Path) -> str | None:
    """What is missing at the end of a BrainVision recording's data file (None when it holds
    whole samples, or when its header cannot tell: mne then says what is wrong)."""
    try:
        fields = _vhdr_fields(path.read_bytes().decode("utf-8", errors="replace"))
        n_channels = int(fields["NumberOfChannels"])
        item = _BRAINVISION_BYTES[fields["BinaryFormat"].upper()]
        data_file = path.parent / fields["DataFile"]
        size = data_file.stat().st_size
    except (OSError, KeyError, ValueError):
        return None
    if fields.get("DataFormat", "BINARY").upper() != "BINARY" or n_channels < 1:
        return None
    frame = n_channels * item
    if size % frame:
        return (
            f"its data file {data_file.name} ends inside a sample ({size % frame} of its {frame} "
            f"bytes; {size // frame} whole samples)"
        )
    return None
