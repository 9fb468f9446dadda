"""The one launcher of child processes: its contract, on real ``neurodeck`` children."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from neurodeck.common.types import ConfigError
from neurodeck.control.children import (
    PARENT_PID_ENV,
    check_speed,
    child_log,
    replay_args,
    simulate_args,
    spawn,
)


def test_a_failing_child_says_why_from_its_stderr(tmp_path: Path) -> None:
    missing = tmp_path / "nope.edf"
    child = spawn(replay_args([missing], speed=1.0, name="x"), log=tmp_path / "replay.log")
    assert child.wait(60.0) == 2
    assert not child.running and child.command == "replay"
    reason = child.failure()
    assert reason is not None and "nope.edf" in reason and "Traceback" not in reason
    assert (tmp_path / "replay.log").is_file()


def test_piped_output_reaches_the_parent_line_by_line() -> None:
    child = spawn(["replay", "--help"], pipe_output=True)
    text, _ = child.proc.communicate(timeout=60)
    assert child.proc.returncode == 0 and child.log is None
    assert "--speed" in text and child.failure() is None


def test_a_stopped_child_did_not_fail(tmp_path: Path) -> None:
    args = simulate_args(name=f"children-{os.getpid()}", channels=4, duration_s=60)
    child = spawn(args, log=child_log("sim", tmp_path))
    time.sleep(0.5)
    child.stop()
    assert not child.running and child.failure() is None  # ended by a signal, not an error


def test_the_child_is_told_its_parent_and_dies_with_it(tmp_path: Path) -> None:
    """The launcher passes its pid; a child whose parent is gone ends itself."""
    code = (
        "import os, sys, time\n"
        "from neurodeck.control.children import spawn\n"
        "c = spawn(['simulate', '--channels', '2', '--name', sys.argv[1]],"
        f" log=__import__('pathlib').Path({str(tmp_path / 'sim.log')!r}))\n"
        "print(c.proc.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code, f"orphan-{os.getpid()}"], stdout=subprocess.PIPE, text=True
    )
    try:
        pid = int(parent.stdout.readline())
        time.sleep(1.0)
        with open(f"/proc/{pid}/environ", "rb") as f:  # the environment it started with
            assert f"{PARENT_PID_ENV}={parent.pid}".encode() in f.read().split(b"\0")
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        assert not _alive(pid), "the child outlived its parent"
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("speed", [0.0, -1.0, 1001.0])
def test_speeds_out_of_range_are_refused_before_anything_starts(speed: float) -> None:
    with pytest.raises(ConfigError, match="'--speed'"):
        check_speed(speed)
    with pytest.raises(ConfigError):
        replay_args([Path("x.edf")], speed=speed, name="x")


def test_command_lines_say_what_they_publish() -> None:
    args = replay_args([Path("a.edf")], speed=2.0, name="n", loop=True, markers=False)
    assert args[:2] == ["replay", "a.edf"] and "--loop" in args and "--no-markers" in args
    assert args[args.index("--source-id") + 1] == "n-eeg"
    with pytest.raises(ConfigError, match="channels"):
        simulate_args(name="s", channels=0)
