"""The prediction panel: class probability bars, a probability timeline with the true cues, and a
feedback cursor.

Everything is drawn from :attr:`CoreSnapshot.decoding <neurodeck.control.snapshot.CoreSnapshot>`;
the items are created once (again only when the model's classes change) and updated with ``setData``
and ``setOpts`` at the GUI's frame rate, beside the scope.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from neurodeck.app.dashboard.views.contrast import text_colour
from neurodeck.common.types import AFFECTIVE
from neurodeck.control.snapshot import CoreCommands, CoreSnapshot, CueSpan, DecodingView
from numpy.typing import NDArray
from PyQt6 import QtCore, QtGui, QtWidgets

#: Text shown instead of the plots while nothing decodes.
NO_MODEL_TEXT = "No model: load a profile (Ctrl+L) or calibrate"
#: Text shown instead of the cursor when the model has no left and right classes.
NO_FEEDBACK_TEXT = "no feedback: the model has no 'left' and 'right' classes"
#: Added to the decoder line for affective models: this tab shows their raw probabilities, the
#: Emotion tab their smoothed state, valence / arousal (or workload) and band-power maps.
AFFECTIVE_NOTE = "affective model: the Emotion tab (Ctrl+5) shows its state and valence / arousal"

#: One colour per class index (tab10), shared by bars, curves and cue regions.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)
#: Colour of cues whose class the model does not know.
UNKNOWN_COLOUR = (160, 160, 160)
#: Alpha of the cue regions (0-255).
CUE_ALPHA = 55
#: Alpha of the bars that are not the argmax.
DIM_ALPHA = 110


def class_colour(index: int) -> tuple[int, int, int]:
    """RGB colour of the class at ``index`` (the palette repeats after 10 classes)."""
    return PALETTE[index % len(PALETTE)]


def cue_class(label: str) -> str:
    """The class a cue span stands for: its label without a ``cue_`` prefix."""
    return label[4:] if label.startswith("cue_") else label


class DecodingPanel(QtWidgets.QWidget):
    """Live predictions: probability bars, a timeline with the true cues, a feedback cursor.

    Parameters
    ----------
    core : CoreCommands
        The dashboard core (this view sends no commands; kept for symmetry with the others).
    parent : QWidget, optional

    Attributes
    ----------
    decoder_label, placeholder : QLabel
        What decodes; the text shown instead of the plots when nothing does.
    bars : pg.BarGraphItem
        One bar per class; ``bars.opts["height"]`` are the smoothed probabilities.
    highlighted : int or None
        Index of the argmax bar (drawn opaque with a white outline).
    chance_line : pg.InfiniteLine
        Horizontal line at ``1 / n_classes``.
    curves : list of pg.PlotCurveItem
        Timeline, one per class: x = prediction time - ``snap.t``, y = probability.
    cue_rects, cue_texts : list
        Pool of cue regions (QGraphicsRectItem, in data coordinates) and their labels; the first
        :attr:`n_cues` are visible. :meth:`cue_spans` lists what they show.
    cursor : pg.ScatterPlotItem
        The feedback dot on the track (x = feedback); hidden when feedback is None, with
        :attr:`feedback_note` shown instead. :attr:`cursor_x` reads its position.

    Notes
    -----
    :meth:`render` is called from the GUI thread about 30 times a second.
    """

    def __init__(self, core: CoreCommands, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._class_names: tuple[str, ...] | None = None
        self._history_s: float | None = None
        self._last_decoding: DecodingView | None = None
        self._last_t: float | None = None
        self._last_feedback: float | None = None
        self.highlighted: int | None = None
        self.curves: list[pg.PlotCurveItem] = []
        self.cue_rects: list[QtWidgets.QGraphicsRectItem] = []
        self.cue_texts: list[pg.TextItem] = []
        self.n_cues = 0

        self.decoder_label = QtWidgets.QLabel("No model")
        self.decoder_label.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.placeholder = QtWidgets.QLabel(NO_MODEL_TEXT)
        self.placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: gray; font-size: 14pt;")
        self.graphics = pg.GraphicsLayoutWidget()
        self._build_bars()
        self._build_timeline()
        self._build_feedback()

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.decoder_label)
        layout.addWidget(self.placeholder, 1)
        layout.addWidget(self.graphics, 1)
        self._show_plots(False)

    # ----------------------------------------------------------------------------------- build
    def _build_bars(self) -> None:
        self.bar_plot = self.graphics.addPlot(row=0, col=0, title="Probability")
        _freeze(self.bar_plot)
        self.bar_plot.setYRange(0.0, 1.0, padding=0.02)
        self.bars = pg.BarGraphItem(x=np.zeros(0), height=np.zeros(0), width=0.6)
        self.bar_plot.addItem(self.bars)
        self.chance_line = pg.InfiniteLine(
            pos=0.5,
            angle=0,
            pen=pg.mkPen((200, 200, 200), width=1, style=QtCore.Qt.PenStyle.DashLine),
        )
        self.bar_plot.addItem(self.chance_line)

    def _build_timeline(self) -> None:
        self.timeline_plot = self.graphics.addPlot(row=0, col=1, title="Predictions")
        _freeze(self.timeline_plot)
        self.timeline_plot.setYRange(0.0, 1.0, padding=0.02)
        self.timeline_plot.setLabel("bottom", "time", units="s")
        self.timeline_plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.timeline_plot.addLegend(offset=(5, -5))
        self.graphics.ci.layout.setColumnStretchFactor(0, 1)
        self.graphics.ci.layout.setColumnStretchFactor(1, 4)

    def _build_feedback(self) -> None:
        self.feedback_plot = self.graphics.addPlot(row=1, col=0, colspan=2)
        _freeze(self.feedback_plot)
        self.feedback_plot.setMaximumHeight(70)
        self.feedback_plot.hideAxis("left")
        self.feedback_plot.hideAxis("bottom")
        self.feedback_plot.setXRange(-1.1, 1.1, padding=0)
        self.feedback_plot.setYRange(-1.0, 1.0, padding=0)
        track = pg.PlotCurveItem(x=[-1.0, 1.0], y=[0.0, 0.0], pen=pg.mkPen((90, 90, 90), width=6))
        centre = pg.PlotCurveItem(
            x=[0.0, 0.0], y=[-0.6, 0.6], pen=pg.mkPen((150, 150, 150), width=1)
        )
        self.feedback_plot.addItem(track)
        self.feedback_plot.addItem(centre)
        self.cursor = pg.ScatterPlotItem(
            x=[0.0], y=[0.0], size=22, brush=pg.mkBrush(255, 220, 60), pen=pg.mkPen("w", width=1)
        )
        self.feedback_plot.addItem(self.cursor)
        ink, muted = text_colour(), text_colour(muted=True)  # readable on the background
        self.feedback_left = pg.TextItem("left", color=ink, anchor=(0.0, 0.0))
        self.feedback_right = pg.TextItem("right", color=ink, anchor=(1.0, 0.0))
        self.feedback_left.setPos(-1.0, 1.0)
        self.feedback_right.setPos(1.0, 1.0)
        self.feedback_note = pg.TextItem(NO_FEEDBACK_TEXT, color=muted, anchor=(0.5, 0.5))
        self.feedback_note.setPos(0.0, 0.0)
        for item in (self.feedback_left, self.feedback_right, self.feedback_note):
            self.feedback_plot.addItem(item)
        self.feedback_note.hide()

    def _set_classes(self, class_names: tuple[str, ...]) -> None:
        """Re-create what depends on the classes (ticks, curves, legend, chance line)."""
        self._class_names = class_names
        n_classes = len(class_names)
        ticks = [(float(i), name) for i, name in enumerate(class_names)]
        self.bar_plot.getAxis("bottom").setTicks([ticks])
        self.bar_plot.setXRange(-0.6, max(n_classes, 1) - 0.4, padding=0)
        self.chance_line.setValue(1.0 / n_classes if n_classes else 0.0)
        for curve in self.curves:
            self.timeline_plot.removeItem(curve)
        self.legend.clear()
        self.curves = []
        for i, name in enumerate(class_names):
            curve = pg.PlotCurveItem(pen=pg.mkPen(class_colour(i), width=2), name=name)
            curve.setZValue(10)
            self.timeline_plot.addItem(curve)
            self.curves.append(curve)
        left = "left" if "left" in class_names else "-1"
        right = "right" if "right" in class_names else "+1"
        self.feedback_left.setText(left)
        self.feedback_right.setText(right)
        for text in self.cue_texts:
            text.setText("")  # recoloured on the next draw
        self._last_decoding = None

    # ---------------------------------------------------------------------------------- render
    def render(self, snap: CoreSnapshot) -> None:
        """Draw ``snap.decoding`` (called from the GUI thread at about 30 Hz; must be cheap)."""
        decoding = snap.decoding
        if decoding is None:
            self._show_plots(False)
            _set_text(self.decoder_label, "No model")
            return
        self._show_plots(True)
        note = f"  ({AFFECTIVE_NOTE})" if decoding.family == AFFECTIVE else ""
        _set_text(self.decoder_label, f"Decoder: {decoding.decoder}{note}")
        if decoding.class_names != self._class_names:
            self._set_classes(decoding.class_names)
        if decoding.history_s != self._history_s:
            self._history_s = decoding.history_s
            self.timeline_plot.setXRange(-decoding.history_s, 0.0, padding=0)
        if decoding is self._last_decoding and snap.t == self._last_t:
            return  # the same predictions at the same instant: nothing moved
        self._last_decoding, self._last_t = decoding, snap.t
        self._draw_bars(decoding)
        self._draw_timeline(decoding, snap.t)
        self._draw_cues(decoding.cues, decoding.class_names, snap.t)
        self._draw_feedback(decoding.feedback)

    def _show_plots(self, visible: bool) -> None:
        if visible == (not self.graphics.isHidden()) and visible == self.placeholder.isHidden():
            return
        self.graphics.setVisible(visible)
        self.placeholder.setVisible(not visible)
        if not visible:
            self._class_names = None
            self._last_decoding = None

    def _draw_bars(self, decoding: DecodingView) -> None:
        n_classes = len(decoding.class_names)
        heights = np.zeros(n_classes)
        smoothed = np.asarray(decoding.smoothed, dtype=np.float64).ravel()[:n_classes]
        heights[: smoothed.size] = np.nan_to_num(smoothed)
        if np.array_equal(heights, self.bar_heights):
            return  # no new prediction since the last frame
        self.highlighted = int(np.argmax(heights)) if n_classes else None
        brushes = []
        pens = []
        for i in range(n_classes):
            alpha = 255 if i == self.highlighted else DIM_ALPHA
            brushes.append(pg.mkBrush(*class_colour(i), alpha))
            pens.append(pg.mkPen("w", width=2) if i == self.highlighted else pg.mkPen(None))
        self.bars.setOpts(
            x=np.arange(n_classes, dtype=np.float64), height=heights, brushes=brushes, pens=pens
        )

    def _draw_timeline(self, decoding: DecodingView, t_now: float) -> None:
        times = np.asarray(decoding.times, dtype=np.float64)
        probs = np.asarray(decoding.probabilities, dtype=np.float64)
        x = times - t_now
        for i, curve in enumerate(self.curves):
            if probs.ndim == 2 and i < probs.shape[1] and probs.shape[0] == x.size:
                curve.setData(x=x, y=probs[:, i])
            else:
                curve.setData(x=np.zeros(0), y=np.zeros(0))

    def _draw_cues(
        self, cues: tuple[CueSpan, ...], class_names: tuple[str, ...], t_now: float
    ) -> None:
        while len(self.cue_rects) < len(cues):
            self._grow_cue_pool()
        for i, cue in enumerate(cues):
            rect, text = self.cue_rects[i], self.cue_texts[i]
            x0, x1 = cue.t_start - t_now, cue.t_end - t_now
            rect.setRect(QtCore.QRectF(x0, 0.0, x1 - x0, 1.0))
            name = cue_class(cue.label)
            if text.textItem.toPlainText() != name:
                text.setText(name)
                colour = (
                    class_colour(class_names.index(name)) if name in class_names else UNKNOWN_COLOUR
                )
                rect.setBrush(pg.mkBrush(*colour, CUE_ALPHA))
                text.setColor(colour)
            text.setPos(max(x0, -(self._history_s or 0.0)), 1.0)
            rect.show()
            text.show()
        for i in range(len(cues), self.n_cues):
            self.cue_rects[i].hide()
            self.cue_texts[i].hide()
        self.n_cues = len(cues)

    def _grow_cue_pool(self) -> None:
        rect = QtWidgets.QGraphicsRectItem(0.0, 0.0, 0.0, 1.0)
        rect.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
        rect.setZValue(-10)
        text = pg.TextItem("", anchor=(0.0, 0.0))
        text.setZValue(5)
        rect.hide()
        text.hide()
        self.timeline_plot.addItem(rect, ignoreBounds=True)
        self.timeline_plot.addItem(text, ignoreBounds=True)
        self.cue_rects.append(rect)
        self.cue_texts.append(text)

    def _draw_feedback(self, feedback: float | None) -> None:
        if feedback is None or not np.isfinite(feedback):
            self.cursor.hide()
            self.feedback_note.show()
            self._last_feedback = None
            return
        self.cursor.show()
        self.feedback_note.hide()
        x = float(np.clip(feedback, -1.0, 1.0))
        if x != self._last_feedback:
            self.cursor.setData(x=[x], y=[0.0])
            self._last_feedback = x

    # ----------------------------------------------------------------------------- for tests
    @property
    def bar_heights(self) -> NDArray[np.float64]:
        """Heights of the drawn bars, one per class."""
        return np.asarray(self.bars.opts["height"], dtype=np.float64)

    @property
    def cursor_x(self) -> float | None:
        """Where the feedback cursor is drawn, or None when it is hidden."""
        if not self.cursor.isVisible():
            return None
        x, _ = self.cursor.getData()
        return float(x[0]) if len(x) else None

    def cue_spans(self) -> list[tuple[float, float, str]]:
        """``(x_start, x_end, label)`` of every visible cue region, in timeline coordinates."""
        spans = []
        for rect, text in zip(self.cue_rects[: self.n_cues], self.cue_texts, strict=False):
            r = rect.rect()
            spans.append((r.left(), r.right(), text.textItem.toPlainText()))
        return spans


def _freeze(plot: pg.PlotItem) -> None:
    """No mouse interaction, menu or auto-range: the view sets every range itself.

    The axes are cached as pixmaps (redrawn only when their range or size changes): replaying
    their tick pictures on every frame would cost more than the curves.
    """
    plot.setMouseEnabled(x=False, y=False)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.disableAutoRange()
    for name in ("left", "bottom", "right", "top"):
        plot.getAxis(name).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


def _set_text(label: QtWidgets.QLabel, text: str) -> None:
    """``label.setText(text)`` unless it already shows it (setText re-lays out the widget)."""
    if label.text() != text:
        label.setText(text)
