"""Durable files: written whole or not at all.

Every file neurodeck writes goes to a temporary name in the same folder, is fsynced, then renamed
over the final name (:func:`replaced_atomically`), so a killed or failed write leaves the old file
or none, never a partial one under the final name.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


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


def _partial_prefix(path: Path) -> str:
    return f".{path.stem}.partial-"


def remove_orphaned_partials(path: Path) -> list[Path]:
    """Remove temporary files of ``path`` whose writer died (killed mid-write), and log each.

    A temporary name carries its writer's process id; a file whose process no longer runs can
    never be completed. Files of live writers are left alone.

    Returns
    -------
    list of Path
        The files removed.
    """
    path = Path(path)
    prefix = _partial_prefix(path)
    removed = []
    for candidate in path.parent.glob(f"{glob.escape(prefix)}*{glob.escape(path.suffix)}"):
        pid_text = candidate.name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit() or _process_alive(int(pid_text)):
            continue
        try:
            candidate.unlink()
        except OSError:
            continue
        removed.append(candidate)
        log.info("removed %s, left by a write of %s that was interrupted", candidate, path.name)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


@contextmanager
def replaced_atomically(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` only on success.

    The temporary name keeps ``path``'s ending (writers that choose the format by it still do).
    When the block ends without an exception the file is fsynced and renamed over ``path``
    (``os.replace``, atomic on one file system); otherwise it is removed and ``path`` is left as
    it was. Temporary files that a killed writer left for the same ``path`` are removed first
    (:func:`remove_orphaned_partials`).

    Examples
    --------
    >>> with replaced_atomically(Path("report.png")) as tmp:  # doctest: +SKIP
    ...     fig.savefig(tmp)
    """
    path = Path(path)
    remove_orphaned_partials(path)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = path.with_name(f"{_partial_prefix(path)}{token}{path.suffix}")
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
