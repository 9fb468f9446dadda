"""The prediction panel draws what the snapshot says: bars, timeline, cue regions and cursor."""

from __future__ import annotations

import numpy as np
import pytest
from neurodeck.control.snapshot import CoreSnapshot, CueSpan, DecodingView

from tests.app.dashboard.fakes import FakeCore

pytestmark = pytest.mark.gui

T_NOW = 1000.0


def _decoding(
    class_names: tuple[str, ...] = ("left", "right"),
    n: int = 50,
    feedback: float | None = 0.4,
    cues: tuple[CueSpan, ...] = (),
    seed: int = 0,
) -> DecodingView:
    rng = np.random.default_rng(seed)
    times = T_NOW - 10.0 + np.arange(n) * 0.2
    raw = rng.random((n, len(class_names)))
    probs = raw / raw.sum(axis=1, keepdims=True)
    smoothed = probs[-5:].mean(axis=0)
    return DecodingView(
        class_names=class_names,
        decoder="demo profile (reference)",
        times=times,
        probabilities=probs,
        smoothed=smoothed,
        feedback=feedback,
        cues=cues,
        history_s=30.0,
    )


@pytest.fixture
def panel(qtbot):
    from neurodeck.app.dashboard.views.decoding import DecodingPanel

    widget = DecodingPanel(FakeCore())
    qtbot.addWidget(widget)
    widget.resize(800, 400)
    return widget


def test_no_model_shows_placeholder(panel) -> None:
    from neurodeck.app.dashboard.views.decoding import NO_MODEL_TEXT

    panel.render(CoreSnapshot(t=T_NOW))
    assert not panel.placeholder.isHidden()
    assert panel.placeholder.text() == NO_MODEL_TEXT
    assert panel.graphics.isHidden()
    panel.render(CoreSnapshot(t=T_NOW, decoding=_decoding()))
    assert panel.placeholder.isHidden()
    assert not panel.graphics.isHidden()
    assert "demo profile (reference)" in panel.decoder_label.text()
    panel.render(CoreSnapshot(t=T_NOW + 1))
    assert not panel.placeholder.isHidden()


def test_bars_are_the_smoothed_probabilities(panel) -> None:
    dec = _decoding(class_names=("left", "right", "feet", "rest"))
    panel.render(CoreSnapshot(t=T_NOW, decoding=dec))
    np.testing.assert_allclose(panel.bar_heights, dec.smoothed)
    assert panel.highlighted == int(np.argmax(dec.smoothed))
    assert panel.chance_line.value() == pytest.approx(0.25)
    ticks = panel.bar_plot.getAxis("bottom")._tickLevels[0]
    assert [name for _, name in ticks] == ["left", "right", "feet", "rest"]


def test_timeline_curves_are_probabilities_relative_to_now(panel) -> None:
    dec = _decoding()
    panel.render(CoreSnapshot(t=T_NOW, decoding=dec))
    assert len(panel.curves) == 2
    for i, curve in enumerate(panel.curves):
        x, y = curve.getData()
        np.testing.assert_allclose(x, dec.times - T_NOW)
        np.testing.assert_allclose(y, dec.probabilities[:, i])
    # the same predictions a second later slide left by one second
    panel.render(CoreSnapshot(t=T_NOW + 1.0, decoding=dec))
    x, _ = panel.curves[0].getData()
    np.testing.assert_allclose(x, dec.times - T_NOW - 1.0)
    left, right = panel.timeline_plot.viewRange()[0]
    assert (left, right) == pytest.approx((-30.0, 0.0))


def test_cue_regions_span_the_true_cues_and_are_reused(panel) -> None:
    cues = (
        CueSpan(T_NOW - 9.0, T_NOW - 5.0, "left"),
        CueSpan(T_NOW - 3.0, T_NOW + 1.0, "right"),
    )
    panel.render(CoreSnapshot(t=T_NOW, decoding=_decoding(cues=cues)))
    assert panel.cue_spans() == [
        pytest.approx((-9.0, -5.0, "left")),
        pytest.approx((-3.0, 1.0, "right")),
    ]
    assert [(s[0], s[1]) for s in panel.cue_spans()] == [(-9.0, -5.0), (-3.0, 1.0)]
    assert [s[2] for s in panel.cue_spans()] == ["left", "right"]
    left_colour = panel.cue_rects[0].brush().color()
    right_colour = panel.cue_rects[1].brush().color()
    assert left_colour.rgb() != right_colour.rgb()
    assert 0 < left_colour.alpha() < 255
    pool = list(panel.cue_rects)
    # one cue scrolled out: one region hidden, none created
    panel.render(CoreSnapshot(t=T_NOW + 2.0, decoding=_decoding(cues=cues[1:])))
    assert [s[:2] for s in panel.cue_spans()] == [(-5.0, -1.0)]
    assert panel.cue_rects == pool
    assert panel.cue_rects[0].isVisible() and not panel.cue_rects[1].isVisible()
    assert panel.cue_texts[0].textItem.toPlainText() == "right"


def test_cursor_follows_feedback_and_hides_without_it(panel) -> None:
    panel.render(CoreSnapshot(t=T_NOW, decoding=_decoding(feedback=-0.35)))
    assert panel.cursor_x == pytest.approx(-0.35)
    assert not panel.feedback_note.isVisible()
    panel.render(CoreSnapshot(t=T_NOW + 0.1, decoding=_decoding(feedback=0.8)))
    assert panel.cursor_x == pytest.approx(0.8)
    panel.render(CoreSnapshot(t=T_NOW + 0.2, decoding=_decoding(feedback=None)))
    assert panel.cursor_x is None
    assert panel.feedback_note.isVisible()


def test_changing_classes_rebuilds_curves(panel) -> None:
    panel.render(CoreSnapshot(t=T_NOW, decoding=_decoding()))
    dec = _decoding(class_names=("left", "right", "feet"), feedback=None)
    panel.render(CoreSnapshot(t=T_NOW + 1, decoding=dec))
    assert len(panel.curves) == 3
    assert panel.chance_line.value() == pytest.approx(1 / 3)
    np.testing.assert_allclose(panel.curves[2].getData()[1], dec.probabilities[:, 2])
    np.testing.assert_allclose(panel.bar_heights, dec.smoothed)


def test_panel_paints(panel, qtbot) -> None:
    panel.render(
        CoreSnapshot(t=T_NOW, decoding=_decoding(cues=(CueSpan(T_NOW - 4, T_NOW, "left"),)))
    )
    image = panel.grab().toImage()
    assert not image.isNull()
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
    }
    assert len(colours) > 5
