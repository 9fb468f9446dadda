"""The Emotion tab: the mental state an affective decoder reads, and the band power behind it.

For a decoder of family ``affective`` (``common.types.AFFECTIVE``) it shows

- the current state in large type (argmax of the smoothed probabilities) with that probability,
- the smoothed class probabilities over the last ``history_s`` seconds, one line per class in the
  Okabe-Ito colour-blind-safe palette, with a legend and the chance level,
- a gauge: the valence / arousal plane with the classes as anchors, the current point and its
  trail over the last :data:`TRAIL_S` seconds (Russell's circumplex; coordinates are the
  convention of :mod:`neurodeck.control.affect`, not measurements), a one-axis version when the
  classes only define valence (``negative, neutral, positive``), or a workload bar when they are
  rest vs mental arithmetic,
- band-power scalp maps, delta to gamma, from the Spectrum tab's analysis (the same
  :class:`~neurodeck.app.dashboard.views.scalp.ScalpMapPlot`), with the frontal alpha asymmetry.

Without an affective decoder it says what to do instead (load an affective profile, or calibrate
with the emotion-recall paradigm); the band maps still show while a stream is connected.
Everything comes from the snapshot (never LSL or torch); items are created once and updated with
``setData`` at the frame rate, the maps only when the snapshot carries a new spectrum.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from neurodeck.app.dashboard.views.contrast import text_colour
from neurodeck.app.dashboard.views.scalp import ScalpMapPlot
from neurodeck.common.types import AFFECTIVE
from neurodeck.control.affect import AffectAxes, affect_axes, frontal_alpha_asymmetry
from neurodeck.control.snapshot import (
    BANDS,
    CoreCommands,
    CoreSnapshot,
    DecodingView,
    SpectrumView,
)
from numpy.typing import NDArray
from PyQt6 import QtCore, QtWidgets

#: Shown instead of the state while no model decodes.
NO_AFFECTIVE_TEXT = (
    "No affective decoder.\n\nLoad an affective profile or checkpoint (File > Load profile, "
    "Ctrl+L), or calibrate one: Calibration tab, emotion-recall paradigm. The mental state, "
    "its valence and arousal appear here."
)
#: Shown while a motor-imagery model decodes.
MOTOR_IMAGERY_TEXT = (
    "The loaded model decodes motor imagery ({classes}): see the Decoding tab (Ctrl+4).\n\n"
    "This tab shows affective decoders: load an affective profile (Ctrl+L) or calibrate with "
    "the emotion-recall paradigm."
)
#: Shown instead of the gauge when the classes have no place on any axis.
NO_GAUGE_TEXT = (
    "No gauge: the classes ({classes}) have no valence, arousal or workload convention "
    "(see control/affect.py)."
)
NO_MAPS_TEXT = "Band-power maps appear a few seconds after a stream is connected."
NO_LOCATED_TEXT = "No band-power maps: fewer than 4 channels have a 10-05 position."

#: Okabe & Ito (2008) colour-blind-safe palette, one colour per class index.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 114, 178),  # blue
    (230, 159, 0),  # orange
    (0, 158, 115),  # bluish green
    (204, 121, 167),  # reddish purple
    (86, 180, 233),  # sky blue
    (213, 94, 0),  # vermillion
    (240, 228, 66),  # yellow
    (153, 153, 153),  # grey
)
#: Seconds of the gauge's trail.
TRAIL_S = 10.0
#: Half-width of the gauge plane (the unit circle plus a margin for the corner words).
GAUGE_RANGE = 1.2
#: Quadrant words of the circumplex (Russell 1980) in the plane's corners: (word, x, y, anchor).
QUADRANTS = (
    ("excited", GAUGE_RANGE, GAUGE_RANGE, (1.0, 0.0)),
    ("tense", -GAUGE_RANGE, GAUGE_RANGE, (0.0, 0.0)),
    ("sad, bored", -GAUGE_RANGE, -GAUGE_RANGE, (0.0, 1.0)),
    ("calm, content", GAUGE_RANGE, -GAUGE_RANGE, (1.0, 1.0)),
)


def class_colour(index: int) -> tuple[int, int, int]:
    """RGB colour of the class at ``index`` (the palette repeats after 8 classes)."""
    return PALETTE[index % len(PALETTE)]


def _freeze(plot: pg.PlotItem) -> None:
    """No mouse, menu or auto-range: the view sets every range itself; axes cached."""
    plot.setMouseEnabled(x=False, y=False)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.disableAutoRange()
    for name in ("left", "bottom"):
        plot.getAxis(name).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


#: The bands' letters, for map titles that fit a narrow map.
GREEK = {"delta": "δ", "theta": "θ", "alpha": "α", "beta": "β", "gamma": "γ"}


class EmotionPanel(QtWidgets.QWidget):
    """State, smoothed probabilities, valence / arousal (or workload) gauge and band-power maps.

    Parameters
    ----------
    core : CoreCommands
        The dashboard core (this view sends no commands).
    parent : QWidget, optional

    Attributes
    ----------
    decoder_label, placeholder : QLabel
        What decodes; the advice shown instead of the state when no affective model does.
    state_label, probability_label, axes_label : QLabel
        The current state (large), its smoothed probability, and valence / arousal / workload.
    curves : list of pg.PlotCurveItem
        Smoothed probability of each class over time (x = time - ``snap.t``).
    gauge_stack : QStackedWidget
        :attr:`plane_plot` (circumplex or one axis), :attr:`workload_plot`, or :attr:`no_gauge`.
    point, trail : pg.ScatterPlotItem, pg.PlotCurveItem
        The current valence / arousal and the path of the last :data:`TRAIL_S` seconds.
    workload_bar : pg.BarGraphItem
        The workload index in [0, 1].
    maps : dict of str to ScalpMapPlot
        One scalp map per band of :data:`neurodeck.control.snapshot.BANDS`.
    asymmetry_label : QLabel
        Frontal alpha asymmetry ln(F4) - ln(F3).

    Notes
    -----
    :meth:`render` is called from the GUI thread about 30 times a second while the tab is shown.
    """

    def __init__(self, core: CoreCommands, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._axes: AffectAxes | None = None
        self._history_s: float | None = None
        self._last_decoding: DecodingView | None = None
        self._last_t: float | None = None
        self._spectrum: SpectrumView | None = None
        self._maps_drawn = False
        self.curves: list[pg.PlotCurveItem] = []
        self.anchor_texts: list[pg.TextItem] = []

        self.decoder_label = QtWidgets.QLabel("No model")
        self.decoder_label.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.placeholder = QtWidgets.QLabel(NO_AFFECTIVE_TEXT)
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: gray; font-size: 14pt;")
        body = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(body)
        row.setContentsMargins(0, 0, 0, 0)
        row.addLayout(self._build_state(), 0)
        row.addWidget(self._build_timeline(), 3)
        row.addWidget(self._build_gauges(), 2)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(body)
        self._body = body

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.decoder_label)
        layout.addWidget(self.stack, 3)
        layout.addWidget(self._build_maps(), 2)

    # ----------------------------------------------------------------------------------- build
    def _build_state(self) -> QtWidgets.QVBoxLayout:
        self.state_label = QtWidgets.QLabel("-")
        self.state_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.state_label.setMinimumWidth(220)
        self.state_label.setStyleSheet("font-size: 30pt; font-weight: bold;")
        self.probability_label = QtWidgets.QLabel("")
        self.probability_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.probability_label.setStyleSheet("font-size: 14pt;")
        self.axes_label = QtWidgets.QLabel("")
        self.axes_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.axes_label.setWordWrap(True)
        column = QtWidgets.QVBoxLayout()
        column.addStretch(1)
        for label in (self.state_label, self.probability_label, self.axes_label):
            column.addWidget(label)
        column.addStretch(1)
        return column

    def _build_timeline(self) -> pg.PlotWidget:
        widget = pg.PlotWidget(title="Smoothed probabilities")
        self.timeline_plot = widget.getPlotItem()
        _freeze(self.timeline_plot)
        self.timeline_plot.setYRange(0.0, 1.0, padding=0.02)
        self.timeline_plot.setLabel("bottom", "time", units="s")
        self.timeline_plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.timeline_plot.addLegend(offset=(5, 5))
        dash = QtCore.Qt.PenStyle.DashLine
        self.chance_line = pg.InfiniteLine(
            pos=0.5, angle=0, pen=pg.mkPen((150, 150, 150), width=1, style=dash)
        )
        self.timeline_plot.addItem(self.chance_line)
        return widget

    def _build_gauges(self) -> QtWidgets.QStackedWidget:
        self.gauge_stack = QtWidgets.QStackedWidget()
        self.plane_plot = pg.PlotWidget(title="Valence / arousal")
        plane = self.plane_plot.getPlotItem()
        _freeze(plane)
        plane.setAspectLocked(True)
        plane.setRange(
            xRange=(-GAUGE_RANGE, GAUGE_RANGE), yRange=(-GAUGE_RANGE, GAUGE_RANGE), padding=0
        )
        plane.setLabel("bottom", "valence")
        plane.setLabel("left", "arousal")
        angle = np.linspace(0.0, 2 * np.pi, 121)
        grey = pg.mkPen((130, 130, 130), width=1)
        plane.addItem(pg.PlotCurveItem(x=np.cos(angle), y=np.sin(angle), pen=grey))
        plane.addItem(pg.PlotCurveItem(x=[-1.0, 1.0], y=[0.0, 0.0], pen=grey))
        self.arousal_axis = pg.PlotCurveItem(x=[0.0, 0.0], y=[-1.0, 1.0], pen=grey)
        plane.addItem(self.arousal_axis)
        self.quadrant_texts = []
        for word, x, y, anchor in QUADRANTS:
            text = pg.TextItem(word, color=text_colour(muted=True), anchor=anchor)
            text.setPos(x, y)
            plane.addItem(text)
            self.quadrant_texts.append(text)
        self.anchors = pg.ScatterPlotItem(size=10, pen=pg.mkPen(None))
        plane.addItem(self.anchors)
        self.trail = pg.PlotCurveItem(pen=pg.mkPen((240, 200, 60, 160), width=2))
        plane.addItem(self.trail)
        self.point = pg.ScatterPlotItem(
            x=[0.0], y=[0.0], size=20, brush=pg.mkBrush(255, 210, 50), pen=pg.mkPen("k", width=1)
        )
        plane.addItem(self.point)

        self.workload_plot = pg.PlotWidget(title="Workload index")
        work = self.workload_plot.getPlotItem()
        _freeze(work)
        work.setRange(xRange=(-0.8, 0.8), yRange=(0.0, 1.0), padding=0.02)
        work.getAxis("bottom").setTicks([[]])
        self.workload_bar = pg.BarGraphItem(
            x=[0.0], height=[0.0], width=0.8, brush=pg.mkBrush(*PALETTE[1])
        )
        work.addItem(self.workload_bar)
        work.addItem(pg.InfiniteLine(pos=0.5, angle=0, pen=grey))

        self.no_gauge = QtWidgets.QLabel("")
        self.no_gauge.setWordWrap(True)
        self.no_gauge.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.no_gauge.setStyleSheet("color: gray;")
        for widget in (self.plane_plot, self.workload_plot, self.no_gauge):
            self.gauge_stack.addWidget(widget)
        return self.gauge_stack

    def _build_maps(self) -> QtWidgets.QWidget:
        box = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        header = QtWidgets.QHBoxLayout()
        self.maps_label = QtWidgets.QLabel(NO_MAPS_TEXT)
        self.asymmetry_label = QtWidgets.QLabel("")
        self.asymmetry_label.setToolTip(
            "ln(alpha power F4) - ln(alpha power F3) (Davidson 1992): positive means less alpha, "
            "read as more activity, over the left frontal cortex"
        )
        header.addWidget(self.maps_label, 1)
        header.addWidget(self.asymmetry_label)
        column.addLayout(header)
        row = QtWidgets.QHBoxLayout()
        self.maps: dict[str, ScalpMapPlot] = {}
        for band, (low, high) in BANDS.items():
            plot = ScalpMapPlot(
                colour_bar_label="log10 µV²",
                title=f"{GREEK[band]} {low:g}-{high:g} Hz",  # fits a map 110 px wide
                orientation="horizontal",
            )
            plot.setMinimumSize(110, 150)
            row.addWidget(plot)
            self.maps[band] = plot
        column.addLayout(row, 1)
        return box

    def _set_classes(self, class_names: tuple[str, ...]) -> None:
        """Re-create what depends on the classes: curves, legend, anchors, gauge kind."""
        axes = affect_axes(class_names)
        self._axes = axes
        for curve in self.curves:
            self.timeline_plot.removeItem(curve)
        self.legend.clear()
        self.curves = []
        for i, name in enumerate(class_names):
            curve = pg.PlotCurveItem(pen=pg.mkPen(class_colour(i), width=2), name=name)
            self.timeline_plot.addItem(curve)
            self.curves.append(curve)
        self.chance_line.setValue(1.0 / max(len(class_names), 1))
        self._set_anchors(axes)
        kind = axes.kind
        if kind == "workload":
            self.gauge_stack.setCurrentWidget(self.workload_plot)
            weights = axes.workload if axes.workload is not None else np.zeros(0)
            high = [n for n, w in zip(class_names, weights, strict=True) if w == weights.max()]
            self.workload_plot.getPlotItem().setLabel("left", f"P({', '.join(high)})")
        elif kind == "none":
            self.gauge_stack.setCurrentWidget(self.no_gauge)
            self.no_gauge.setText(NO_GAUGE_TEXT.format(classes=", ".join(class_names)))
        else:
            self.gauge_stack.setCurrentWidget(self.plane_plot)
            plane = self.plane_plot.getPlotItem()
            plane.setLabel("left", "arousal" + ("" if axes.arousal is not None else " (n/a)"))
            plane.setLabel("bottom", "valence" + ("" if axes.valence is not None else " (n/a)"))
            two_d = kind == "circumplex"
            self.arousal_axis.setVisible(two_d or kind == "arousal")
            for text in self.quadrant_texts:
                text.setVisible(two_d)
        self._last_decoding = None

    def _set_anchors(self, axes: AffectAxes) -> None:
        plane = self.plane_plot.getPlotItem()
        for text in self.anchor_texts:
            plane.removeItem(text)
        self.anchor_texts = []
        xy = axes.coordinates()  # (n_classes, 2)
        brushes = [pg.mkBrush(*class_colour(i)) for i in range(len(xy))]
        self.anchors.setData(x=xy[:, 0], y=xy[:, 1], brush=brushes)
        for i, name in enumerate(axes.class_names):
            text = pg.TextItem(name, color=class_colour(i), anchor=(0.5, 1.2))
            text.setPos(float(xy[i, 0]), float(xy[i, 1]))
            plane.addItem(text)
            self.anchor_texts.append(text)

    # ---------------------------------------------------------------------------------- render
    def render(self, snap: CoreSnapshot) -> None:
        """Draw ``snap.decoding`` and ``snap.spectrum`` (GUI thread, about 30 Hz; cheap)."""
        self._render_maps(snap.spectrum)
        decoding = snap.decoding
        if decoding is None or decoding.family != AFFECTIVE:
            self._show_state(False, decoding)
            return
        self._show_state(True, decoding)
        if decoding.class_names != (self._axes.class_names if self._axes else None):
            self._set_classes(decoding.class_names)
        if decoding.history_s != self._history_s:
            self._history_s = decoding.history_s
            self.timeline_plot.setXRange(-decoding.history_s, 0.0, padding=0)
        if decoding is self._last_decoding and snap.t == self._last_t:
            return  # nothing moved
        self._last_decoding, self._last_t = decoding, snap.t
        self._draw_state(decoding)
        self._draw_timeline(decoding, snap.t)
        self._draw_gauge(decoding)

    def _show_state(self, on: bool, decoding: DecodingView | None) -> None:
        target = self._body if on else self.placeholder
        if decoding is None:
            _set_text(self.decoder_label, "No model")
            _set_text(self.placeholder, NO_AFFECTIVE_TEXT)
        elif not on:
            _set_text(self.decoder_label, f"Decoder: {decoding.decoder} (motor imagery)")
            classes = ", ".join(decoding.class_names)
            _set_text(self.placeholder, MOTOR_IMAGERY_TEXT.format(classes=classes))
        else:
            smoothing = f"smoothed over {decoding.smoothing_s:g} s"
            _set_text(self.decoder_label, f"Decoder: {decoding.decoder} (affective, {smoothing})")
        if self.stack.currentWidget() is not target:
            self.stack.setCurrentWidget(target)
            if not on:
                self._axes = None
                self._last_decoding = None

    def _draw_state(self, decoding: DecodingView) -> None:
        smoothed = np.nan_to_num(np.asarray(decoding.smoothed, dtype=np.float64).ravel())
        if smoothed.size != len(decoding.class_names) or smoothed.size == 0:
            return
        i = int(np.argmax(smoothed))
        if _set_text(self.state_label, decoding.class_names[i]):
            r, g, b = class_colour(i)
            self.state_label.setStyleSheet(
                f"font-size: 30pt; font-weight: bold; color: rgb({r}, {g}, {b});"
            )
        _set_text(self.probability_label, f"{100 * smoothed[i]:.0f} % (smoothed)")
        valence, arousal, workload = self._expected(decoding, smoothed)
        parts = [
            f"{name} {value:+.2f}"
            for name, value in (("valence", valence), ("arousal", arousal))
            if value is not None
        ]
        if workload is not None:
            parts.append(f"workload {workload:.2f}")
        _set_text(self.axes_label, "   ".join(parts))

    def _expected(
        self, decoding: DecodingView, smoothed: NDArray[np.float64]
    ) -> tuple[float | None, float | None, float | None]:
        """Valence, arousal, workload: the core's figures, else computed from ``smoothed``."""
        found = (decoding.valence, decoding.arousal, decoding.workload)
        if any(v is not None for v in found) or self._axes is None:
            return found
        return self._axes.expected(smoothed)

    def _draw_timeline(self, decoding: DecodingView, t_now: float) -> None:
        x = np.asarray(decoding.times, dtype=np.float64) - t_now
        history = decoding.smoothed_history
        probs = np.asarray(history if history is not None else decoding.probabilities)
        for i, curve in enumerate(self.curves):
            if probs.ndim == 2 and i < probs.shape[1] and probs.shape[0] == x.size:
                curve.setData(x=x, y=probs[:, i])
            else:
                curve.setData(x=np.zeros(0), y=np.zeros(0))

    def _draw_gauge(self, decoding: DecodingView) -> None:
        axes = self._axes
        if axes is None or axes.kind == "none":
            return
        smoothed = np.nan_to_num(np.asarray(decoding.smoothed, dtype=np.float64).ravel())
        valence, arousal, workload = self._expected(decoding, smoothed)
        if axes.kind == "workload":
            level = float(np.clip(workload or 0.0, 0.0, 1.0))
            self.workload_bar.setOpts(x=[0.0], height=[level])
            return
        x, y = float(valence or 0.0), float(arousal or 0.0)
        self.point.setData(x=[x], y=[y])
        history = decoding.smoothed_history
        times = np.asarray(decoding.times, dtype=np.float64)
        if history is None or len(times) == 0 or len(history) != len(times):
            self.trail.setData(x=np.zeros(0), y=np.zeros(0))
            return
        recent = times >= times[-1] - TRAIL_S  # stream seconds, like the timeline
        tx, ty = axes.trajectory(np.asarray(history)[recent])
        self.trail.setData(x=tx, y=ty)

    def _render_maps(self, spectrum: SpectrumView | None) -> None:
        if spectrum is self._spectrum and self._maps_drawn:
            return
        self._spectrum, self._maps_drawn = spectrum, True
        if spectrum is None or not spectrum.scalp_maps:
            for plot in self.maps.values():
                plot.clear_map()
            _set_text(self.maps_label, NO_MAPS_TEXT if spectrum is None else NO_LOCATED_TEXT)
            _set_text(self.asymmetry_label, "")
            return
        for band, plot in self.maps.items():
            plot.set_electrodes(spectrum.scalp_positions, spectrum.scalp_names)
            plot.show_map(spectrum.scalp_maps.get(band), spectrum.scalp_extent)
        _set_text(
            self.maps_label,
            f"Band power over the head, log10 µV² (each map its own scale; last "
            f"{spectrum.span_s:.0f} s)",
        )
        faa = frontal_alpha_asymmetry(
            spectrum.channel_names, spectrum.band_names, spectrum.band_power
        )
        text = "" if faa is None else f"frontal alpha asymmetry ln F4 − ln F3: {faa:+.2f}"
        _set_text(self.asymmetry_label, text)

    # ----------------------------------------------------------------------------- for tests
    @property
    def state_text(self) -> str:
        """The state shown in large type (``"-"`` before the first prediction)."""
        return self.state_label.text()

    @property
    def gauge_position(self) -> tuple[float, float] | None:
        """``(valence, arousal)`` of the drawn point, None when the plane is not shown."""
        if self.gauge_stack.currentWidget() is not self.plane_plot:
            return None
        x, y = self.point.getData()
        return (float(x[0]), float(y[0])) if len(x) else None

    @property
    def workload_level(self) -> float | None:
        """Height of the workload bar, None when the workload gauge is not shown."""
        if self.gauge_stack.currentWidget() is not self.workload_plot:
            return None
        return float(np.asarray(self.workload_bar.opts["height"])[0])


def _set_text(label: QtWidgets.QLabel, text: str) -> bool:
    """Set ``text`` only when it changed (a relayout costs more than the compare)."""
    if label.text() == text:
        return False
    label.setText(text)
    return True
