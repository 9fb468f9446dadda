"""A paused calibration in full-screen cues: Resume and Abort on screen, text naming only them."""

from __future__ import annotations

import re

import pytest
from neurodeck.app.dashboard.window import MainWindow
from neurodeck.control.snapshot import CalibrationView, CoreSnapshot
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QPushButton

pytestmark = pytest.mark.gui


@pytest.fixture
def window(window):
    """The conftest window, shown: its shortcuts (P) act only while it is shown."""
    window.show()
    yield window
    window.calibration.leave_full_screen()


def _show(win: MainWindow, phase: str) -> None:
    cal = CalibrationView(phase, paradigm="mi-lr", cue="rest", trial=3, n_trials=40)
    win.fake.snap = CoreSnapshot(t=1.0, connection="connected", calibration=cal)
    win.frame()


def _visible_buttons(widget) -> dict[str, QPushButton]:
    return {b.text(): b for b in widget.findChildren(QPushButton) if b.isVisible()}


def test_paused_full_screen_cues_offer_resume_and_abort_buttons(qtbot, window) -> None:
    _show(window, "cues")
    window.fullscreen_cues()
    display = window.calibration.full_screen_display
    assert window.cues_fullscreen() and not _visible_buttons(display)
    _show(window, "paused")
    buttons = _visible_buttons(display)
    assert {"Resume", "Abort"} <= set(buttons)
    assert all(b.isEnabled() for b in buttons.values())
    # the text names only controls that exist: buttons on this screen, and the P key
    text = f"{display.title} {display.instruction}"
    assert "Resume" in text
    for word in re.findall(r"\b(Resume|Abort|Start|Pause|Stop)\b", text):
        assert word in buttons, f"the paused screen names '{word}' but shows no such button"
    assert "press P" in display.instruction
    # the pointer shows over the paused screen (it is hidden while cues run)
    assert display.cursor().shape() != Qt.CursorShape.BlankCursor
    qtbot.keyClick(display, Qt.Key.Key_P)  # the key the text names works over this screen
    assert len(window.fake.called("resume_calibration")) == 1
    qtbot.mouseClick(buttons["Resume"], Qt.MouseButton.LeftButton)
    assert len(window.fake.called("resume_calibration")) == 2
    qtbot.mouseClick(buttons["Abort"], Qt.MouseButton.LeftButton)
    assert window.fake.called("abort_calibration")
    assert window.cues_fullscreen(), "the buttons act on the calibration, not on the window"
    _show(window, "cues")  # running again: the buttons go and the pointer hides
    assert not _visible_buttons(display)
    assert display.cursor().shape() == Qt.CursorShape.BlankCursor


def test_the_embedded_cue_display_leaves_the_buttons_to_the_panel(window) -> None:
    """In the tab, the panel's own Resume button is what the text names; no second set."""
    window.tabs.setCurrentIndex(2)
    _show(window, "paused")
    panel = window.calibration
    assert not _visible_buttons(panel.cue_display)
    assert panel.pause_button.text() == "Resume" and panel.pause_button.isEnabled()
    assert "Resume" in panel.cue_display.instruction
