"""The calibration cue screen: the glyph per marker, progress and counter; the affective prompt,
picture and video fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from neurodeck.calibration.emotion import STIMULUS_FIXATION_PROMPT, STIMULUS_PROMPTS
from neurodeck.calibration.paradigm import PARADIGMS
from neurodeck.control.snapshot import CalibrationView

pytestmark = pytest.mark.gui

EMO = PARADIGMS["emotion-recall"]
PROMPT = EMO.prompt("negative")


def _cal(cue: str | None, **values) -> CalibrationView:
    base = dict(phase="cues", paradigm="emotion-recall", class_names=EMO.class_names, cue=cue)
    base.update(values)
    return CalibrationView(**base)


def _grey(widget) -> np.ndarray:
    image = widget.grab().toImage()
    return np.array(
        [
            [image.pixelColor(x, y).getRgb()[:3] for x in range(0, image.width(), 2)]
            for y in range(0, image.height(), 2)
        ],
        dtype=np.float64,
    )


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
    from neurodeck.app.dashboard.views.cue_screen import CueDisplay

    display = CueDisplay()
    qtbot.addWidget(display)
    display.show_state(CalibrationView(phase=phase, cue=cue))
    assert display.current == kind
    display.resize(200, 150)
    assert not display.grab().toImage().isNull()


def test_unknown_class_shows_its_title(qtbot) -> None:
    from neurodeck.app.dashboard.views.cue_screen import CueDisplay

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
    from neurodeck.app.dashboard.views.cue_screen import CueDisplay

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
    from neurodeck.app.dashboard.views.cue_screen import CueDisplay

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


# -- affective paradigms --------------------------------------------------------------------------
def test_the_prompt_is_shown_large_before_and_during_the_block(display) -> None:
    from neurodeck.app.dashboard.views.cue_kinds import RECALL_BEFORE, RECALL_DURING

    display.show_state(_cal("fixation", prompt=PROMPT, cue_duration_s=10.0, trial=1, n_trials=6))
    assert (display.current, display.title, display.instruction) == (
        "prompt",
        PROMPT,
        RECALL_BEFORE,
    )
    pixels = _grey(display)
    assert pixels.max() > 200 and (pixels.max(axis=2) > 150).mean() > 0.01  # much white text
    display.show_state(_cal("cue_negative", prompt=PROMPT))
    assert (display.current, display.title, display.instruction) == (
        "recall",
        PROMPT,
        RECALL_DURING,
    )
    display.show_state(_cal("fixation", prompt=STIMULUS_FIXATION_PROMPT))
    assert display.current == "prompt" and display.instruction == ""
    display.show_state(_cal("self_assessment"))
    assert (display.current, display.title) == ("rated", "Thank you")
    assert display.sam_panel.isHidden()


def test_motor_imagery_views_are_unchanged(display) -> None:
    display.show_state(CalibrationView(phase="cues", cue="cue_left"))
    assert display.current == "arrow_left"
    display.show_state(CalibrationView(phase="cues", cue="fixation"))
    assert display.current == "cross"


def test_a_picture_is_scaled_to_fit_and_loaded_once(display, tmp_path: Path) -> None:
    from PyQt6 import QtGui

    path = tmp_path / "negative" / "red.png"
    path.parent.mkdir()
    image = QtGui.QImage(64, 48, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor(255, 0, 0))
    assert image.save(str(path))
    cal = _cal("cue_negative", prompt=STIMULUS_PROMPTS["image"], stimulus=str(path))
    display.show_state(cal)
    assert (display.current, display.stimulus) == ("image", str(path))
    assert display.instruction == STIMULUS_PROMPTS["image"]
    loaded = display._pixmap(str(path))
    pixels = _grey(display)
    h, w = pixels.shape[:2]
    centre = pixels[h // 2, w // 2]
    assert centre[0] > 200 and centre[1] < 50  # red in the middle
    red = (pixels[..., 0] > 200) & (pixels[..., 1] < 50)
    rows, cols = np.nonzero(red)
    height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
    assert width / height == pytest.approx(64 / 48, rel=0.05)  # aspect kept
    assert height >= 0.6 * h  # scaled up to fill the cue area
    display.show_state(_cal("cue_negative", stimulus=str(path), cue_age_s=3.0, cue_duration_s=60))
    assert display._pixmap(str(path)) is loaded  # cached, not read again


def test_an_unreadable_picture_says_so(display, tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"not a jpeg")
    display.show_state(_cal("cue_positive", stimulus=str(path)))
    assert display.current == "image" and display._pixmap(str(path)).isNull()
    assert _grey(display).max() > 150  # the message is painted


def test_a_video_without_qt_multimedia_names_the_file_and_what_to_install(
    display, monkeypatch, tmp_path: Path
) -> None:
    import neurodeck.app.dashboard.views.cue_screen as views

    monkeypatch.setattr(views, "_MULTIMEDIA", "Videos need Qt Multimedia (test).")
    path = tmp_path / "neutral" / "clip.mp4"
    display.show_state(_cal("cue_neutral", prompt=STIMULUS_PROMPTS["video"], stimulus=str(path)))
    assert (display.current, display.title) == ("video", "clip.mp4")
    assert display.instruction == STIMULUS_PROMPTS["video"]
    assert display.video_message == "Videos need Qt Multimedia (test)."
    assert _grey(display).max() > 150
    display.show_state(_cal("rest"))
    assert display.current == "break"


def test_the_real_multimedia_check_gives_modules_or_a_hint() -> None:
    from neurodeck.app.dashboard.views.cue_screen import multimedia

    result = multimedia()
    if isinstance(result, str):
        assert "Qt Multimedia" in result and "install" in result.lower()
    else:
        assert hasattr(result[0], "QMediaPlayer") and hasattr(result[1], "QVideoWidget")
