"""``neurodeck gui`` as a user starts it (offscreen), and its refusal without a display."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from neurodeck.app.cli import main

from tests.conftest import REPO


def test_gui_without_a_display_says_what_to_do(monkeypatch, capsys) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert main(["gui"]) == 2
    err = capsys.readouterr().err
    assert "No display" in err and "xvfb-run" in err and "neurodeck decode" in err


@pytest.mark.gui
@pytest.mark.lsl
@pytest.mark.slow
def test_gui_opens_on_the_simulator_draws_and_quits(tmp_path) -> None:
    stats, shot = tmp_path / "stats.json", tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "neurodeck", "gui", "--simulate", "8", "--tab", "spectrum",
           "--screenshot", str(shot), "--shot-after", "6", "--quit-after", "7",
           "--stats", str(stats)]  # fmt: skip
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads(stats.read_text())
    assert figures["frames"] > 60 and figures["fps"] > 15
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:4] == b"\x89PNG"
