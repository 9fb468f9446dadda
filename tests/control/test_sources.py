"""Replay and simulator child processes: checks before starting, and no orphan after a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from neurodeck.common.types import ConfigError, RecordingError
from neurodeck.control.sources import check_replay, is_replayable, start_replay

from tests.conftest import REPO


def test_recordings_are_checked_before_a_child_starts(tmp_path) -> None:
    edf = tmp_path / "a.EDF"
    edf.write_bytes(b"0")
    assert is_replayable(edf) and not is_replayable(tmp_path / "missing.edf")
    assert not is_replayable(tmp_path)
    with pytest.raises(RecordingError, match="not found"):
        start_replay([tmp_path / "missing.edf"], 1.0, False, tmp_path)
    csv = tmp_path / "x.csv"
    csv.write_text("1")
    with pytest.raises(RecordingError, match="Unsupported recording format"):
        start_replay([csv], 1.0, False, tmp_path)
    with pytest.raises(ConfigError, match="speed"):
        start_replay([edf], 0.0, False, tmp_path)
    with pytest.raises(RecordingError, match="No recording"):
        start_replay([], 1.0, False, tmp_path)
    with pytest.raises(RecordingError, match=r"Could not read .*a\.EDF"):  # the header, here
        start_replay([edf], 1.0, False, tmp_path)


PARENT = """
import sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from neurodeck.control.sources import start_simulator
child = start_simulator(8, 250.0, Path({logs!r}))
print(child.proc.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.lsl
def test_a_child_source_ends_when_the_dashboard_is_killed(tmp_path) -> None:
    code = PARENT.format(repo=str(REPO), logs=str(tmp_path))
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        child_pid = int(parent.stdout.readline())
        time.sleep(2.0)  # the child is up and publishing (waiting for a consumer)
        os.kill(child_pid, 0)  # alive
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(child_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(child_pid, signal.SIGKILL)
            pytest.fail("the simulator child outlived its killed parent")
    finally:
        if parent.poll() is None:
            parent.kill()


def test_a_recording_without_signal_is_refused_before_anything_stops(tmp_path) -> None:
    """A flat or NaN file has a readable header: it is read whole before the replay starts."""
    from tests.app.test_cli import _write_recordings

    paths = _write_recordings(tmp_path)
    with pytest.raises(RecordingError, match="flat, one value throughout: C3, Cz, C4"):
        check_replay([paths["flat"]], 1.0)
    with pytest.raises(RecordingError, match=r"only NaN/inf: C3, Cz, C4"):
        check_replay([paths["nan"]], 1.0)
    check_replay([paths["dead"]], 1.0)  # one dead electrode: replayed, with a warning
