"""The calibration panel: buttons per phase, commands, session progress, fitting, full screen.

The cue screen, the rating panel and the report have their own tests (test_cue_screen_view,
test_rating_view, test_calibration_report_view)."""

from __future__ import annotations

from pathlib import Path

import pytest
from neurodeck.control.snapshot import CalibrationView, CoreSnapshot

from tests.conftest import REPO

pytestmark = pytest.mark.gui


def _snap(phase: str = "idle", connection: str = "connected", **cal) -> CoreSnapshot:
    values = dict(phase=phase, paradigm="mi-lr", class_names=("left", "right"))
    values.update(cal)
    return CoreSnapshot(t=5.0, connection=connection, calibration=CalibrationView(**values))


def test_start_uses_the_chosen_paradigm(panel, core) -> None:
    assert [panel.paradigm_combo.itemText(i) for i in range(panel.paradigm_combo.count())] == [
        "mi-lr",
        "mi-4",
        "emotion-recall",
        "stream markers",
    ]
    panel.render(_snap("idle"))
    assert panel.start_button.isEnabled()
    panel.paradigm_combo.setCurrentText("mi-4")
    panel.start_button.click()
    assert core.called("start_calibration") == [(("mi-4",), {})]


@pytest.mark.parametrize(
    ("phase", "connection", "start", "pause", "abort", "use"),
    [
        ("idle", "connected", True, False, False, False),
        ("idle", "disconnected", False, False, False, False),
        ("idle", "stalled", False, False, False, False),
        ("starting", "connected", False, False, True, False),
        ("cues", "connected", False, True, True, False),
        ("paused", "connected", False, True, True, False),
        ("fitting", "connected", False, False, True, False),
        ("done", "connected", True, False, False, True),
        ("done", "disconnected", False, False, False, False),
        ("aborted", "connected", True, False, False, False),
        ("failed", "connected", True, False, False, False),
    ],
)
def test_buttons_follow_the_phase(panel, phase, connection, start, pause, abort, use) -> None:
    panel.render(_snap(phase, connection))
    assert panel.start_button.isEnabled() is start
    assert panel.pause_button.isEnabled() is pause
    assert panel.abort_button.isEnabled() is abort
    assert panel.use_button.isEnabled() is use


def test_pause_resume_and_abort_send_commands(panel, core) -> None:
    panel.render(_snap("cues", cue="cue_left"))
    assert panel.pause_button.text() == "Pause"
    panel.pause_button.click()
    assert len(core.called("pause_calibration")) == 1
    assert core.called("resume_calibration") == []
    panel.render(_snap("paused", cue="rest"))
    assert panel.pause_button.text() == "Resume"
    panel.pause_button.click()
    assert len(core.called("resume_calibration")) == 1
    assert len(core.called("pause_calibration")) == 1
    panel.abort_button.click()
    assert core.called("abort_calibration") == [((), {})]
    # disabled buttons send nothing
    panel.render(_snap("idle"))
    panel.abort_button.click()
    panel.pause_button.click()
    assert len(core.called("abort_calibration")) == 1
    assert len(core.called("pause_calibration")) == 1


def test_session_progress_and_failure_message(panel) -> None:
    panel.render(
        _snap("cues", cue="fixation", trial=12, n_trials=40, elapsed_s=75.0, total_s=300.0)
    )
    assert panel.session_bar.value() == 250
    assert "12 / 40" in panel.session_bar.format()
    assert "1:15 / 5:00" in panel.session_bar.format()
    assert panel.cue_display.current == "cross"
    assert panel.cue_display.counter_text == "12 / 40"
    message = "the recorder stopped: disk full; free some space and start again"
    panel.render(_snap("failed", message=message))
    assert panel.message_label.text() == message
    assert "#d62728" in panel.message_label.styleSheet()
    assert panel.phase_label.text().startswith("failed")


def test_fitting_section(panel) -> None:
    panel.render(_snap("cues"))
    assert panel.fit_box.isHidden()
    panel.render(_snap("fitting", fit_lines=("epoch 1/10 loss 0.8",), fit_fraction=None))
    assert not panel.fit_box.isHidden()
    assert panel.report_box.isHidden()
    assert panel.fit_bar.maximum() == 0  # busy
    lines = ("epoch 1/10 loss 0.8", "epoch 2/10 loss 0.7", "epoch 3/10 loss 0.6")
    panel.render(_snap("fitting", fit_lines=lines, fit_fraction=0.3))
    assert (panel.fit_bar.maximum(), panel.fit_bar.value()) == (1000, 300)
    assert panel.fit_log.toPlainText().splitlines() == list(lines)
    assert panel.fit_log.isReadOnly()
    panel.render(_snap("fitting", fit_lines=("reference fit",), fit_fraction=0.9))
    assert panel.fit_log.toPlainText().splitlines() == ["reference fit"]


def test_full_screen_window(panel, qtbot) -> None:
    from PyQt6 import QtCore

    panel.render(_snap("cues", cue="cue_right", trial=3, n_trials=40))
    panel.full_screen_button.click()
    display = panel.full_screen_display
    assert display.isVisible() and display.isWindow()
    assert display.windowFlags() & QtCore.Qt.WindowType.FramelessWindowHint
    assert display.current == "arrow_right"
    panel.render(_snap("cues", cue="fixation", trial=4, n_trials=40))
    assert display.current == "cross"
    qtbot.keyClick(display, QtCore.Qt.Key.Key_Escape)
    assert not display.isVisible()
    assert panel.cue_display.current == "cross"


def test_full_screen_says_why_the_calibration_failed(panel) -> None:
    """Full screen hides the panel's message: the cue screen itself must give the reason."""
    reason = "Stream 'amp' did not answer within 5 s. Check that its outlet is still running."
    panel.enter_full_screen()
    panel.render(_snap("failed", cue="fixation", message=reason))
    display = panel.full_screen_display
    assert display.current == "aborted" and display.title == "Failed"
    assert display.instruction == reason
    panel.render(_snap("aborted", message="Calibration aborted by the user after 3 trials."))
    assert "after 3 trials" in display.instruction
    panel.leave_full_screen()


def test_paradigm_tooltips_name_the_classes(panel) -> None:
    from PyQt6 import QtCore

    tip = panel.paradigm_combo.itemData(1, QtCore.Qt.ItemDataRole.ToolTipRole)
    assert "feet" in tip


def test_no_pylsl_or_torch_in_the_views() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import app.dashboard.views.calibration, app.dashboard.views.decoding\n"
        "import app.dashboard.views.health\n"
        "print(sorted({'pylsl', 'torch'} & {n.split('.')[0] for n in sys.modules}))\n"
    )
    env_out = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(REPO), capture_output=True, text=True, check=True
    )
    assert env_out.stdout.strip().splitlines()[-1] == "[]"
