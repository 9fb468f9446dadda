"""Durable JSON files: written whole or not at all."""

from __future__ import annotations

import json
import os
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


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file, fsync and ``os.replace``.

    A reader sees either the old file or the complete new one, never a partial file.
    """
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
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
