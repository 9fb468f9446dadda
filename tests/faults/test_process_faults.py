"""Faults of neurodeck's own processes and inputs: a killed exporter, settings of the wrong type.

The live-source faults (stall, kill, restart) are in ``test_live_faults.py``; the file faults of
every format in ``test_file_faults.py``. The catalogue of every case, with its exit code and
message, is ``docs/faults.md``.
"""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from neurodeck.app.cli import main
from neurodeck.control.settings import SECTIONS
from neurodeck.streaming.recording_io import load_recording

from tests.conftest import REPO
from tests.streaming.test_recorded_session import write_session

pytestmark = pytest.mark.slow

N_ROWS = 800_000  # 4 channels: the export takes ~2 s, the final write ~0.4 s of it


def _export(session: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "neurodeck", "export", str(session), str(out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_while_writing(proc: subprocess.Popen, folder: Path, pattern: str) -> Path:
    """SIGKILL ``proc`` once its temporary output has bytes in it; the partial file's path."""
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline and proc.poll() is None:
        partial = [p for p in folder.glob(pattern) if p.stat().st_size > 0]
        if partial:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            return partial[0]
        time.sleep(0.001)
    raise AssertionError(f"the export ended (rc {proc.returncode}) before it was seen writing")


def test_a_killed_export_leaves_nothing_under_the_final_name_and_a_rerun_cleans_up(
    tmp_path,
) -> None:
    rows = np.random.default_rng(0).standard_normal((N_ROWS, 4)).astype(np.float32)
    session = write_session(tmp_path / "s", rows, np.arange(N_ROWS) / 200.0, [(0.5, "left")])
    out = tmp_path / "out.fif"
    partial = _kill_while_writing(_export(session, out), tmp_path, ".out.partial-*.fif")
    assert not out.exists(), "a killed export must leave no file under the final name"
    assert partial.exists()  # a SIGKILL runs no clean-up; the next write of out.fif does it

    rerun = _export(session, out)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert not partial.exists() and list(tmp_path.glob(".out.partial-*")) == []
    recording = load_recording(out)
    assert recording.data.shape == (4, N_ROWS)
    np.testing.assert_allclose(recording.data[:, -5:], rows[-5:].T, rtol=1e-6, atol=1e-6)


#: One wrong value per kind of setting, as TOML text.
_WRONG = {
    "float": '"fast"',
    "int": "1.5",
    "bool": "1",
    "str": "3",
    "tuple[str, ...]": '"EOG"',
    "Path | None": "3",
}
_FIELDS = [(s, f.name, str(f.type)) for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)]


@pytest.mark.parametrize("command", ["decode", "demo", "loop", "gui"])
def test_every_setting_of_the_wrong_type_stops_every_command_that_reads_settings(
    tmp_path, capsys, command
) -> None:
    """Each command refuses each bad field before it starts anything: exit 2, the key named."""
    extra = {"decode": ["--stream", "x", "--model", str(tmp_path)]}.get(command, [])
    for section, key, kind in _FIELDS:
        cfg = tmp_path / f"{section}.{key}.toml"
        cfg.write_text(f"[{section}]\n{key} = {_WRONG[kind]}\n", encoding="utf-8")
        code = main([command, "--config", str(cfg), *extra])
        err = capsys.readouterr().err
        assert code == 2, (section, key, err)
        assert f"neurodeck {command}: error: {cfg} [{section}]" in err and key in err, err
        assert "what to do:" in err and "Traceback" not in err
