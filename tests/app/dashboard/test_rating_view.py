"""The self-assessment panel: its scales and button, and its place in the cue screen."""

from __future__ import annotations

import pytest

from tests.app.dashboard.fakes import emotion_calibration

pytestmark = pytest.mark.gui


def test_the_panel_resets_to_the_middle_and_submits_its_values(qtbot) -> None:
    from neurodeck.app.dashboard.views.rating import SamPanel

    sam = SamPanel()
    qtbot.addWidget(sam)
    assert set(sam.sliders) == {"valence", "arousal"}
    assert sam.values() == (5, 5)
    got: list[tuple[int, int]] = []
    sam.submitted.connect(lambda v, a: got.append((v, a)))
    sam.sliders["valence"].setValue(9)
    sam.sliders["arousal"].setValue(1)
    assert sam.values() == (9, 1)
    sam.submit_button.click()
    assert got == [(9, 1)]
    sam.reset()
    assert sam.values() == (5, 5)


def test_the_self_assessment_panel_submits_a_rating(display, qtbot) -> None:
    got: list[tuple[int, int]] = []
    display.rating_submitted.connect(lambda v, a: got.append((v, a)))
    display.show_state(emotion_calibration("self_assessment", rating_open=True))
    sam = display.sam_panel
    assert display.current == "rating" and not sam.isHidden()
    assert sam.values() == (5, 5)
    assert sam.geometry().intersects(display.rect())
    sam.sliders["valence"].setValue(8)
    sam.sliders["arousal"].setValue(2)
    sam.submit_button.click()
    assert got == [(8, 2)]
    display.show_state(emotion_calibration("self_assessment", rating_open=False))
    assert display.current == "rated" and sam.isHidden()
    display.show_state(
        emotion_calibration("self_assessment", rating_open=True)
    )  # next block: reset to 5
    assert sam.values() == (5, 5)
