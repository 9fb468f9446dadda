"""Every scalp map has a colour bar with units and nothing outside the head; labels read well."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from neurodeck.control.analysis import SpectrumAnalyzer
from neurodeck.control.snapshot import CoreSnapshot, DecodingView, SpectrumView
from PyQt6 import QtGui

from tests.app.dashboard.fakes import FakeCore
from tests.app.dashboard.test_small_screen import EEGBCI_NAMES

pytestmark = pytest.mark.gui

#: Head outline with ears and nose, in head units (unit circle = the outline).
HEAD_X = 1.1
HEAD_Y = (-1.02, 1.15)


@pytest.fixture(scope="module")
def spectrum() -> SpectrumView:
    """Spectrum of 64 EEGBCI channels, T9, T10 and Iz among them (below the head outline)."""
    rng = np.random.default_rng(5)
    data = 10.0 * rng.standard_normal((64, 640))
    return SpectrumAnalyzer(tuple(EEGBCI_NAMES), 160.0, grid=48).compute(data, data)


@pytest.fixture(params=["w", "k"], ids=["light", "dark"])
def background(request):
    """The app's white background (launch.py) and pyqtgraph's default black one."""
    before = {k: pg.getConfigOption(k) for k in ("background", "foreground")}
    foreground = "k" if request.param == "w" else "d"
    pg.setConfigOptions(background=request.param, foreground=foreground)
    yield request.param
    pg.setConfigOptions(**before)


def _contrast(a: QtGui.QColor, b: QtGui.QColor) -> float:
    """WCAG 2 contrast ratio of two opaque colours."""

    def luminance(c: QtGui.QColor) -> float:
        channels = np.array([c.redF(), c.greenF(), c.blueF()])
        curve = ((channels + 0.055) / 1.055) ** 2.4
        linear = np.where(channels <= 0.03928, channels / 12.92, curve)
        return float(linear @ [0.2126, 0.7152, 0.0722])

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_band_map_has_a_colour_bar_with_units(qtbot, spectrum) -> None:
    from neurodeck.app.dashboard.views.emotion import EmotionPanel
    from neurodeck.app.dashboard.views.spectrum import SpectrumPanel

    emotion = EmotionPanel(FakeCore())
    qtbot.addWidget(emotion)
    spec = SpectrumPanel(FakeCore())
    qtbot.addWidget(spec)
    snap = CoreSnapshot(t=1.0, spectrum=spectrum)
    emotion.render(snap)
    spec.render(snap)
    plots = [*emotion.maps.values(), spec.map_plot]
    assert len(plots) == 6
    for plot in plots:
        bar = plot.colour_bar
        assert bar is not None
        label = bar.axis.labelText if bar.horizontal else bar.getAxis("left").labelText
        assert "µV²" in label, label
        low, high = bar.levels()
        finite = plot.image.image[np.isfinite(plot.image.image)]
        assert (low, high) == pytest.approx((finite.min(), finite.max()))


def _in_view(item, view) -> tuple[float, float, float, float]:
    """``(x_min, x_max, y_min, y_max)`` of what ``item`` paints, in head units."""
    rect = item.mapRectToItem(view.childGroup, item.boundingRect())
    return rect.left(), rect.right(), rect.top(), rect.bottom()


def test_scalp_maps_draw_nothing_outside_the_head(qtbot, spectrum) -> None:
    from neurodeck.app.dashboard.views.scalp import ScalpMapPlot

    plot = ScalpMapPlot(title="alpha")
    qtbot.addWidget(plot)
    plot.resize(300, 300)
    plot.set_electrodes(spectrum.scalp_positions, spectrum.scalp_names)
    plot.show_map(spectrum.scalp_maps["alpha"], spectrum.scalp_extent)
    assert max(np.hypot(*spectrum.scalp_positions.T)) > 1.1  # T9, T10, Iz lie outside
    view = plot.getPlotItem().getViewBox()
    items = [i for i in view.addedItems if i.isVisible()]
    assert plot.electrodes in items and plot.outline in items
    for item in items:
        x_min, x_max, y_min, y_max = _in_view(item, view)
        where = (type(item).__name__, x_min, x_max, y_min, y_max)
        assert x_min >= -HEAD_X and x_max <= HEAD_X, where
        assert HEAD_Y[0] <= min(y_min, y_max) and max(y_min, y_max) <= HEAD_Y[1], where
    outside = set(spectrum.scalp_names) - set(plot.electrodes.data["data"])
    assert {"T9..", "T10.", "Iz.."} <= outside
    assert "T9" in plot.toolTip()  # what is not drawn is said


def test_value_and_cursor_labels_have_readable_contrast(qtbot, background, spectrum) -> None:
    from neurodeck.app.dashboard.views.decoding import DecodingPanel
    from neurodeck.app.dashboard.views.spectrum import SpectrumPanel

    spec = SpectrumPanel(FakeCore())
    qtbot.addWidget(spec)
    spec.render(CoreSnapshot(t=1.0, spectrum=spectrum))
    back = spec.bar_plot.backgroundBrush().color()
    assert len(spec.bar_labels) == len(spectrum.band_names)
    for label in spec.bar_labels:
        assert _contrast(label.color, back) >= 4.5, (label.color.name(), back.name())
    decoding = DecodingPanel(FakeCore())
    qtbot.addWidget(decoding)
    view = DecodingView(
        class_names=("left", "right"),
        decoder="test",
        times=np.array([0.5, 1.0]),
        probabilities=np.array([[0.4, 0.6], [0.3, 0.7]]),
        smoothed=np.array([0.3, 0.7]),
        feedback=0.4,
        history_s=10.0,
    )
    decoding.render(CoreSnapshot(t=1.0, decoding=view))
    back = decoding.graphics.backgroundBrush().color()
    for text in (decoding.feedback_left, decoding.feedback_right, decoding.feedback_note):
        assert _contrast(text.color, back) >= 4.5, (text.color.name(), back.name())
