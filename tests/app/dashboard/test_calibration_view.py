"""The calibration panel: cue display per marker, buttons per phase, commands, fitting, report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from neurodeck.control.snapshot import CalibrationView, CoreSnapshot

from tests.conftest import REPO

pytestmark = pytest.mark.gui


def _report() -> dict:
    """A calibration report as ``calibrate_recordings`` writes it (two of its candidates)."""
    return {
        "trials": {"left": 16, "right": 14},
        "candidates": ["finetuned", "reference"],
        "scores": {
            "finetuned": {
                "cv_accuracy": 0.5333333333333333,
                "cv_std": 0.1699673171197595,
                "per_class_recall": {"left": 0.4375, "right": 0.6428571428571429},
                "confusion": [[7, 9], [5, 9]],
            },
            "reference": {
                "cv_accuracy": 0.7,
                "cv_std": 0.08164965809277264,
                "per_class_recall": {"left": 0.6875, "right": 0.7142857142857143},
                "confusion": [[11, 5], [4, 10]],
            },
        },
        "decoder": "reference",
        "decoder_reason": "highest cross-validated trial accuracy (0.70) of 2 candidates",
        "timings": {"ready_s": 11.44, "total_s": 33.35},
        "chance": 0.5333,
    }


def _snap(phase: str = "idle", connection: str = "connected", **cal) -> CoreSnapshot:
    values = dict(phase=phase, paradigm="mi-lr", class_names=("left", "right"))
    values.update(cal)
    return CoreSnapshot(t=5.0, connection=connection, calibration=CalibrationView(**values))


@pytest.mark.parametrize(
    ("cue", "phase", "kind"),
    [
        (None, "idle", "idle"),
        (None, "starting", "ready"),
        ("calib_start", "cues", "ready"),
        ("fixation", "cues", "cross"),
        ("cue_left", "cues", "arrow_left"),
        ("cue_right", "cues", "arrow_right"),
        ("cue_feet", "cues", "feet"),
        ("cue_rest", "cues", "rest_class"),
        ("cue_tongue", "cues", "class_text"),
        ("rest", "cues", "break"),
        ("rest", "paused", "paused"),
        ("calib_end", "fitting", "finished"),
        ("calib_abort", "cues", "aborted"),
        ("cue_left", "aborted", "aborted"),
    ],
)
def test_cue_display_draws_each_marker(qtbot, cue, phase, kind) -> None:
    from neurodeck.app.dashboard.views.calibration import CueDisplay

    display = CueDisplay()
    qtbot.addWidget(display)
    display.show_state(CalibrationView(phase=phase, cue=cue))
    assert display.current == kind
    display.resize(200, 150)
    assert not display.grab().toImage().isNull()


def test_unknown_class_shows_its_title(qtbot) -> None:
    from neurodeck.app.dashboard.views.calibration import CueDisplay

    display = CueDisplay()
    qtbot.addWidget(display)
    display.show_state(CalibrationView(phase="cues", cue="cue_tongue"))
    assert display.title == "TONGUE"
    display.show_state(CalibrationView(phase="cues", cue="cue_jump"))
    assert (display.current, display.title) == ("class_text", "JUMP")


def _brightness(display) -> np.ndarray:
    image = display.grab().toImage()
    width, height = image.width(), image.height()
    grey = np.array(
        [[image.pixelColor(x, y).value() for x in range(0, width, 2)] for y in range(0, height, 2)],
        dtype=np.float64,
    )
    return grey


def test_arrow_pixels_point_the_right_way(qtbot) -> None:
    from neurodeck.app.dashboard.views.calibration import CueDisplay

    display = CueDisplay()
    qtbot.addWidget(display)
    display.resize(320, 240)
    display.show_state(CalibrationView(phase="cues", cue="cue_left", cue_duration_s=4.0))
    left_arrow = _brightness(display)
    half = left_arrow.shape[1] // 2
    assert left_arrow[:, :half].sum() > 1.2 * left_arrow[:, half:].sum()
    assert left_arrow.max() > 200  # the arrow is bright on a black background
    assert np.median(left_arrow) < 10
    display.show_state(CalibrationView(phase="cues", cue="cue_right", cue_duration_s=4.0))
    right_arrow = _brightness(display)
    assert right_arrow[:, half:].sum() > 1.2 * right_arrow[:, :half].sum()


def test_period_progress_and_trial_counter(qtbot) -> None:
    from neurodeck.app.dashboard.views.calibration import CueDisplay

    display = CueDisplay()
    qtbot.addWidget(display)
    cal = CalibrationView(
        phase="cues", cue="cue_left", cue_age_s=1.0, cue_duration_s=4.0, trial=12, n_trials=40
    )
    display.show_state(cal)
    assert display.fraction == pytest.approx(0.25)
    assert display.counter_text == "12 / 40"
    display.show_state(CalibrationView(phase="cues", cue="rest", cue_age_s=9.0, cue_duration_s=1.5))
    assert display.fraction == 1.0
    assert display.counter_text == ""


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


def test_report_when_done(panel, core) -> None:
    report = _report()
    panel.render(_snap("done", report=report, profile_path="runs/demo/profile"))
    assert not panel.report_box.isHidden()
    assert panel.fit_box.isHidden()
    rows = panel.table_texts(panel.scores_table)
    by_decoder = {row[0]: row for row in rows}
    assert set(by_decoder) == {"finetuned", "reference (used)"}
    assert by_decoder["reference (used)"][1] == "70.0 % ± 8.2"
    assert by_decoder["finetuned"][1] == "53.3 % ± 17.0"
    assert by_decoder["reference (used)"][2] == "+16.7 pts"
    summary = panel.report_summary.text()
    assert "reference" in summary and "53.3 %" in summary and "11.4 s" in summary
    assert "Why: highest cross-validated trial accuracy (0.70)" in summary
    assert panel.table_texts(panel.confusion_table) == [
        ["11", "5"],
        ["4", "10"],
    ]
    header = panel.confusion_table.verticalHeaderItem(1)
    assert header is not None and header.text() == "right"
    panel.use_button.click()
    assert core.called("use_profile") == [((), {})]


def test_report_of_another_decoder_and_a_bad_report(panel) -> None:
    report = _report()
    report = {**report, "decoder": "finetuned"}
    panel.render(_snap("done", report=report))
    assert panel.table_texts(panel.confusion_table) == [
        ["7", "9"],
        ["5", "9"],
    ]
    panel.render(_snap("done", report={"scores": {"x": {"cv_accuracy": "oops"}}}))
    assert "could not be read" in panel.report_summary.text()


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
