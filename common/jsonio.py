"""Durable files: written whole or not at all.

Every file neurodeck writes goes to a temporary name in the same folder, is fsynced, then renamed
over the final name (:func:`replaced_atomically`), so a killed or failed write leaves the old file
or none, never a partial one under the final name.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def fsync_dir(folder: Path) -> None:
    """Make new directory entries durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def replaced_atomically(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` only on success.

    The temporary name keeps ``path``'s ending (writers that choose the format by it still do).
    When the block ends without an exception the file is fsynced and renamed over ``path``
    (``os.replace``, atomic on one file system); otherwise it is removed and ``path`` is left as
    it was.

    Examples
    --------
    >>> with replaced_atomically(Path("report.png")) as tmp:  # doctest: +SKIP
    ...     fig.savefig(tmp)
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial-{uuid.uuid4().hex[:8]}{path.suffix}")
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file, fsync and ``os.replace``.

    A reader sees either the old file or the complete new one, never a partial file.
    """
    with replaced_atomically(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_json_atomic(path: Path, payload: Any) -> Path:
    """Write JSON to ``path`` durably (see :func:`write_text_atomic`)."""
    return write_text_atomic(path, json.dumps(payload, indent=2) + "\n")


def write_json(path: Path | None, payload: dict[str, Any]) -> None:
    """Write a command's summary as indented JSON when a path is given, and say so.

    Values JSON cannot hold (paths, numpy scalars) are written as their text.
    """
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(payload, indent=2, default=str) + "\n")
        print(f"wrote {path}")
