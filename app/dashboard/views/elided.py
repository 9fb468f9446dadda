"""A one-line label that elides its text to the width it gets, instead of widening the window.

Qt's ``QLabel`` asks for the width of its whole text: one long stream name or status message makes
the window's minimum width grow (issue 18). :class:`ElidedLabel` asks for a small minimum, draws
``"neurodeck-repl…S001R04"`` when it is too narrow, and shows the whole text as its tooltip.
"""

from __future__ import annotations

from PyQt6 import QtCore, QtGui, QtWidgets

#: Minimum width of an elided label, in pixels.
MIN_WIDTH_PX = 60


class ElidedLabel(QtWidgets.QLabel):
    """Plain-text label that never asks for more than :data:`MIN_WIDTH_PX` and elides to fit.

    Parameters
    ----------
    text : str
    mode : Qt.TextElideMode
        Where the ellipsis goes (default: the middle, which keeps both ends of a name or path).
    parent : QWidget, optional

    Notes
    -----
    ``text()`` returns the whole text; the tooltip follows it unless :meth:`setToolTip` was given
    another one since.
    """

    def __init__(
        self,
        text: str = "",
        mode: QtCore.Qt.TextElideMode = QtCore.Qt.TextElideMode.ElideMiddle,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._mode = mode
        self._own_tip = True
        self.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        self.setText(text)

    def setText(self, text: str | None) -> None:
        text = text or ""
        super().setText(text)
        if self._own_tip:
            super().setToolTip(text)

    def setToolTip(self, tip: str | None) -> None:
        """A tooltip of its own (``""`` goes back to showing the whole text)."""
        self._own_tip = not tip
        super().setToolTip(tip or self.text())

    def minimumSizeHint(self) -> QtCore.QSize:
        hint = super().minimumSizeHint()
        return QtCore.QSize(min(hint.width(), MIN_WIDTH_PX), hint.height())

    def elided_text(self) -> str:
        """The text as drawn at the current width."""
        width = self.contentsRect().width()
        return self.fontMetrics().elidedText(self.text(), self._mode, max(width, 0))

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(self.alignment()),
            self.palette(),
            self.isEnabled(),
            self.elided_text(),
            self.foregroundRole(),
        )
