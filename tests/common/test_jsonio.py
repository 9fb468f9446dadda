"""Durable files: replaced whole or left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from neurodeck.common.jsonio import replaced_atomically, write_json, write_text_atomic


def test_a_failed_write_leaves_the_old_file_and_no_leftover(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError), replaced_atomically(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_the_temporary_name_keeps_the_ending_and_lies_beside_the_target(tmp_path: Path) -> None:
    with replaced_atomically(tmp_path / "raw.fif") as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".fif" and tmp.name != "raw.fif"
        tmp.write_bytes(b"new")
    assert (tmp_path / "raw.fif").read_bytes() == b"new"


def test_write_json_writes_whole_files_and_says_so(tmp_path: Path, capsys) -> None:
    path = tmp_path / "sub" / "out.json"
    write_json(path, {"path": tmp_path, "n": 1})
    assert path.read_text().startswith("{") and f"wrote {path}" in capsys.readouterr().out
    write_json(None, {"n": 1})  # no path: nothing


def test_only_partials_of_dead_writers_of_the_same_file_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    orphan = tmp_path / f".raw.partial-{dead_pid}-0000abcd.fif"
    live = tmp_path / f".raw.partial-{os.getpid()}-0000abcd.fif"
    other = tmp_path / f".other.partial-{dead_pid}-0000abcd.fif"
    for p in (orphan, live, other):
        p.write_bytes(b"half")
    with replaced_atomically(tmp_path / "raw.fif") as tmp:
        tmp.write_bytes(b"new")
    assert not orphan.exists()
    assert live.exists() and other.exists()  # a writer still running; another file's partial
