"""The Emotion tab draws what the snapshot says: state, smoothed curves, gauge and band maps."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from neurodeck.common.types import AFFECTIVE, MOTOR_IMAGERY
from neurodeck.control.affect import affect_axes, smooth_probabilities
from neurodeck.control.analysis import SpectrumAnalyzer
from neurodeck.control.snapshot import BANDS, CoreSnapshot, DecodingView, SpectrumView

from tests.app.dashboard.fakes import FakeCore

pytestmark = pytest.mark.gui

T_NOW = 1000.0
SEED = ("negative", "neutral", "positive")
SEED_IV = ("neutral", "sad", "fear", "happy")


def _affective(
    class_names: tuple[str, ...] = SEED,
    favour: int = 2,
    n: int = 120,
    smoothing_s: float = 4.0,
    family: str = AFFECTIVE,
) -> DecodingView:
    """Predictions that drift towards class ``favour``, with the core's affective fields."""
    rng = np.random.default_rng(favour)
    times = T_NOW - 30.0 + np.arange(n) * 0.25
    alpha = np.ones(len(class_names))
    alpha[favour] = 6.0
    probs = rng.dirichlet(alpha, n)
    history = smooth_probabilities(times, probs, smoothing_s)
    smoothed = history[-1]
    valence, arousal, workload = affect_axes(class_names).expected(smoothed)
    return DecodingView(
        class_names=class_names,
        decoder="S01 emotion profile (finetuned decoder)",
        times=times,
        probabilities=probs,
        smoothed=smoothed,
        feedback=None,
        history_s=30.0,
        smoothing_s=smoothing_s,
        family=family,
        smoothed_history=history,
        valence=valence,
        arousal=arousal,
        workload=workload,
    )


@pytest.fixture
def panel(qtbot):
    from neurodeck.app.dashboard.views.emotion import EmotionPanel

    widget = EmotionPanel(FakeCore())
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    return widget


@pytest.fixture(scope="module")
def spectrum() -> SpectrumView:
    names = ("Fp1", "Fp2", "F3", "Fz", "F4", "C3", "Cz", "C4", "P3", "Pz", "P4", "O1", "Oz", "O2")
    rng = np.random.default_rng(3)
    sfreq, n = 250.0, 1000
    data = 5.0 * rng.standard_normal((len(names), n))
    data[-3:] += 20.0 * np.sin(2 * np.pi * 10.0 * np.arange(n) / sfreq)  # occipital alpha
    return SpectrumAnalyzer(names, sfreq, grid=24).compute(data, data)


def test_without_an_affective_decoder_it_says_what_to_do(panel) -> None:
    from neurodeck.app.dashboard.views.emotion import NO_AFFECTIVE_TEXT

    panel.render(CoreSnapshot(t=T_NOW))
    assert panel.stack.currentWidget() is panel.placeholder
    assert panel.placeholder.text() == NO_AFFECTIVE_TEXT
    assert "affective profile" in NO_AFFECTIVE_TEXT and "emotion-recall" in NO_AFFECTIVE_TEXT
    mi = dataclasses.replace(
        _affective(("left", "right"), favour=0), family=MOTOR_IMAGERY, valence=None
    )
    panel.render(CoreSnapshot(t=T_NOW, decoding=mi))
    assert panel.stack.currentWidget() is panel.placeholder
    assert "motor imagery (left, right)" in panel.placeholder.text()
    assert "Decoding tab" in panel.placeholder.text()
    panel.render(CoreSnapshot(t=T_NOW, decoding=_affective()))
    assert panel.stack.currentWidget() is not panel.placeholder
    assert "affective" in panel.decoder_label.text() and "4 s" in panel.decoder_label.text()


def test_the_state_is_the_smoothed_argmax_in_large_type(panel) -> None:
    dec = _affective(favour=2)
    panel.render(CoreSnapshot(t=T_NOW, decoding=dec))
    assert panel.state_text == "positive" == SEED[int(np.argmax(dec.smoothed))]
    assert panel.probability_label.text().startswith(f"{100 * dec.smoothed.max():.0f} %")
    assert f"valence {dec.valence:+.2f}" in panel.axes_label.text()
    assert "arousal" not in panel.axes_label.text()  # SEED's classes say nothing about it
    assert "30pt" in panel.state_label.styleSheet()
    panel.render(CoreSnapshot(t=T_NOW + 1, decoding=_affective(favour=0)))
    assert panel.state_text == "negative"


def test_curves_are_the_smoothed_history_relative_to_now(panel) -> None:
    dec = _affective()
    panel.render(CoreSnapshot(t=T_NOW, decoding=dec))
    assert len(panel.curves) == 3
    assert [c.name() for c in panel.curves] == list(SEED)
    for i, curve in enumerate(panel.curves):
        x, y = curve.getData()
        np.testing.assert_allclose(x, dec.times - T_NOW)
        np.testing.assert_allclose(y, dec.smoothed_history[:, i])
    colours = {c.opts["pen"].color().name() for c in panel.curves}
    assert len(colours) == 3
    assert panel.chance_line.value() == pytest.approx(1 / 3)
    assert panel.timeline_plot.viewRange()[0] == pytest.approx([-30.0, 0.0])


def test_the_valence_gauge_moves_with_the_state(panel) -> None:
    positive = _affective(favour=2)
    panel.render(CoreSnapshot(t=T_NOW, decoding=positive))
    x, y = panel.gauge_position
    assert x == pytest.approx(positive.valence) and x > 0 and y == 0.0
    tx, _ = panel.trail.getData()
    assert 30 <= len(tx) <= 41  # the last 10 s at a 0.25 s hop
    assert tx[-1] == pytest.approx(positive.valence)
    negative = _affective(favour=0)
    panel.render(CoreSnapshot(t=T_NOW + 0.5, decoding=negative))
    assert panel.gauge_position[0] == pytest.approx(negative.valence) and negative.valence < 0
    assert not panel.quadrant_texts[0].isVisible()  # one axis: no quadrant words


def test_seed_iv_gets_the_circumplex_with_anchors(panel) -> None:
    dec = _affective(SEED_IV, favour=2)  # fear: negative valence, high arousal
    panel.render(CoreSnapshot(t=T_NOW, decoding=dec))
    assert panel.gauge_stack.currentWidget() is panel.plane_plot
    x, y = panel.gauge_position
    assert (x, y) == pytest.approx((dec.valence, dec.arousal))
    assert x < 0 < y
    ax, ay = panel.anchors.getData()
    np.testing.assert_allclose(np.column_stack([ax, ay]), affect_axes(SEED_IV).coordinates())
    assert [t.textItem.toPlainText() for t in panel.anchor_texts] == list(SEED_IV)
    assert panel.quadrant_texts[0].isVisible()


def test_rest_versus_arithmetic_shows_a_workload_bar(panel) -> None:
    dec = _affective(("rest", "arithmetic"), favour=1)
    panel.render(CoreSnapshot(t=T_NOW, decoding=dec))
    assert panel.gauge_position is None
    assert panel.workload_level == pytest.approx(dec.smoothed[1]) == pytest.approx(dec.workload)
    assert "P(arithmetic)" in panel.workload_plot.getPlotItem().getAxis("left").labelText
    assert "workload" in panel.axes_label.text()


def test_classes_without_a_convention_get_no_gauge(panel) -> None:
    dec = _affective(("focused", "distracted"), favour=0)
    panel.render(CoreSnapshot(t=T_NOW, decoding=dec))
    assert panel.gauge_stack.currentWidget() is panel.no_gauge
    assert "focused, distracted" in panel.no_gauge.text()
    assert panel.state_text == "focused"


def test_band_maps_come_from_the_spectrum_and_are_not_redrawn(panel, spectrum, monkeypatch):
    panel.render(CoreSnapshot(t=T_NOW))
    assert all(plot.image.image is None for plot in panel.maps.values())
    panel.render(CoreSnapshot(t=T_NOW, spectrum=spectrum))
    assert list(panel.maps) == list(BANDS)
    for band, plot in panel.maps.items():
        np.testing.assert_array_equal(plot.image.image, spectrum.scalp_maps[band])
        ex, ey = plot.electrodes.getData()
        np.testing.assert_allclose(np.column_stack([ex, ey]), spectrum.scalp_positions)
    assert panel.asymmetry_label.text().startswith("frontal alpha asymmetry")
    calls = []
    monkeypatch.setattr(panel.maps["alpha"], "show_map", lambda *a: calls.append(a))
    panel.render(CoreSnapshot(t=T_NOW + 0.03, spectrum=spectrum, decoding=_affective()))
    assert calls == []
    panel.render(CoreSnapshot(t=T_NOW + 0.5, spectrum=dataclasses.replace(spectrum)))
    assert len(calls) == 1


def test_the_same_snapshot_is_not_redrawn(panel, monkeypatch) -> None:
    dec = _affective()
    panel.render(CoreSnapshot(t=T_NOW, decoding=dec))
    calls = []
    monkeypatch.setattr(panel.curves[0], "setData", lambda *a, **k: calls.append(k))
    panel.render(CoreSnapshot(t=T_NOW, decoding=dec))
    assert calls == []
    panel.render(CoreSnapshot(t=T_NOW + 0.03, decoding=dec))
    assert len(calls) == 1


def test_the_panel_paints_something(panel, spectrum, qtbot) -> None:
    panel.show()
    qtbot.waitExposed(panel)
    panel.render(CoreSnapshot(t=T_NOW, decoding=_affective(SEED_IV), spectrum=spectrum))
    image = panel.grab().toImage()
    pixels = np.array([image.pixel(x, y) for x in range(0, 1200, 37) for y in range(0, 700, 29)])
    assert len(np.unique(pixels)) > 10


def test_the_window_has_an_emotion_tab_and_decoding_points_there(qtbot, tmp_path) -> None:
    from neurodeck.app.dashboard.window import TABS, MainWindow
    from neurodeck.control.settings import DashboardSettings, Settings

    core = FakeCore(CoreSnapshot(t=T_NOW, decoding=_affective()))
    win = MainWindow(
        core,
        Settings(dashboard=DashboardSettings(out_dir=str(tmp_path))),
        tmp_path / "s.toml",
        frame_ms=0,
    )
    qtbot.addWidget(win)
    assert TABS[-1] == "Emotion" and win.tabs.tabText(4) == "Emotion"
    assert win.tabs.widget(4) is win.emotion
    view_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&View")
    emotion = next(a for a in view_menu.actions() if a.text() == "Emotion")
    assert emotion.shortcut().toString() == "Ctrl+5"
    emotion.trigger()
    win.frame()
    assert win.tabs.currentWidget() is win.emotion and win.emotion.state_text == "positive"
    win.tabs.setCurrentIndex(3)
    win.frame()
    assert "the Emotion tab" in win.decoding.decoder_label.text()
