"""The scope's scales: the channel-name axis (labels thinned to fit) and the µV scale bar."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets


def nice_value(value: float) -> float:
    """The 1-2-5 number nearest ``value`` in log scale (``value > 0``)."""
    exponent = math.floor(math.log10(value))
    candidates = [m * 10.0**e for e in (exponent, exponent + 1) for m in (1.0, 2.0, 5.0)]
    return min(candidates, key=lambda c: abs(math.log(c / value)))


class ChannelAxis(pg.AxisItem):
    """Left axis whose tick labels (channel names) can be coloured one by one, thinned to fit.

    When lanes are shorter than a label, only every k-th label is drawn (k the smallest that
    leaves no overlap). :attr:`drawn_labels` lists what the last paint drew.
    """

    def __init__(self) -> None:
        super().__init__("left")
        self.label_colours: dict[str, QtGui.QColor] = {}
        self.drawn_labels: list[tuple[QtCore.QRectF, str]] = []

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):
        super().drawPicture(p, axisSpec, tickSpecs, [])
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        p.setClipRect(self.boundingRect().toAlignedRect())
        default = self.textPen()
        self.drawn_labels = []
        for rect, flags, text in thin_labels(textSpecs):
            colour = self.label_colours.get(text)
            p.setPen(pg.mkPen(colour) if colour is not None else default)
            p.drawText(rect, int(flags), text)
            self.drawn_labels.append((QtCore.QRectF(rect), text))


def thin_labels(text_specs: list) -> list:
    """Every k-th of the ``(rect, flags, text)`` label specs, k the least that stops overlaps."""
    if len(text_specs) < 2:
        return list(text_specs)
    centres = np.array([spec[0].center().y() for spec in text_specs])
    spacing = float(np.min(np.abs(np.diff(centres))))
    height = max(spec[0].height() for spec in text_specs)
    step = max(1, math.ceil(height / spacing)) if spacing > 0 else len(text_specs)
    return list(text_specs[::step])


class ScaleBar(QtWidgets.QWidget):
    """A vertical bar of a round number of microvolts, drawn at the scope's lane height.

    Attributes
    ----------
    microvolts : float
        What the bar stands for.
    lanes : float
        Its height in lanes (one lane = one division).
    note : str
        A second line under the value (``"median lane"`` in per-channel mode).
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.microvolts = 0.0
        self.lanes = 0.0
        self.note = ""
        self._lane_px = 0.0
        self._top_px = 0.0
        self.setFixedWidth(70)

    def set_scale(self, microvolts: float, lanes: float, note: str, lane_px: float, top: float):
        """Show a bar of ``microvolts`` that is ``lanes`` lanes of ``lane_px`` pixels high."""
        new = (microvolts, lanes, note, lane_px, top)
        if new != (self.microvolts, self.lanes, self.note, self._lane_px, self._top_px):
            self.microvolts, self.lanes, self.note, self._lane_px, self._top_px = new
            self.update()

    def text(self) -> str:
        """The bar's caption, ``"50 µV"`` (and the note on a second line)."""
        if self.microvolts <= 0:
            return ""
        value = f"{self.microvolts:g} µV"
        return f"{value}\n{self.note}" if self.note else value

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        if self.microvolts <= 0 or self._lane_px <= 0:
            return
        painter = QtGui.QPainter(self)
        colour = self.palette().color(QtGui.QPalette.ColorRole.WindowText)
        painter.setPen(QtGui.QPen(colour, 2))
        height = self.lanes * self._lane_px
        top = self._top_px + 4
        x = 8.0
        painter.drawLine(QtCore.QPointF(x, top), QtCore.QPointF(x, top + height))
        for y in (top, top + height):  # end ticks
            painter.drawLine(QtCore.QPointF(x - 4, y), QtCore.QPointF(x + 4, y))
        rect = QtCore.QRectF(x + 6, top + height / 2 - 20, self.width() - x - 6, 40)
        flags = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
        font = painter.font()
        painter.drawText(rect, int(flags), f"{self.microvolts:g}\nµV")
        if self.note:
            font.setPointSizeF(font.pointSizeF() * 0.85)
            painter.setFont(font)
            below = QtCore.QRectF(0, top + height + 4, self.width(), 36)
            painter.drawText(
                below,
                int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.TextFlag.TextWordWrap),
                self.note,
            )
