"""Text colours that read well on the plots' background (WCAG 2 contrast of at least 4.5 : 1).

The dashboard draws on white (``launch.py`` sets pyqtgraph's background); tests and embedders may
keep pyqtgraph's black default. Text items take their colour from here when they are built, so a
value label or a cursor caption is never light grey on white (issue 18).
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6 import QtGui, QtWidgets

#: Text on a light background: near-black and a muted grey (contrast on white 12.6 and 6.3).
LIGHT_BACKGROUND_TEXT = ("#303030", "#5f5f5f")
#: Text on a dark background: near-white and a muted grey (contrast on black 16.0 and 9.4).
DARK_BACKGROUND_TEXT = ("#e8e8e8", "#b0b0b0")


def relative_luminance(colour: QtGui.QColor) -> float:
    """WCAG 2 relative luminance of an opaque colour (0 black, 1 white)."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * linear(colour.redF())
        + 0.7152 * linear(colour.greenF())
        + 0.0722 * linear(colour.blueF())
    )


def contrast_ratio(a: QtGui.QColor, b: QtGui.QColor) -> float:
    """WCAG 2 contrast ratio of two opaque colours, 1 to 21."""
    high, low = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def plot_background() -> QtGui.QColor:
    """The background pyqtgraph paints new plots with (its ``background`` option)."""
    option = pg.getConfigOption("background")
    if option is None or option == "default":
        app = QtWidgets.QApplication.instance()
        palette = app.palette() if app is not None else QtGui.QPalette()
        return palette.color(QtGui.QPalette.ColorRole.Window)
    return pg.mkColor(option)


def text_colour(muted: bool = False, background: QtGui.QColor | None = None) -> QtGui.QColor:
    """A text colour for ``background`` (default: :func:`plot_background`).

    Parameters
    ----------
    muted : bool
        The secondary (grey) colour instead of the primary one; both reach 4.5 : 1.
    background : QColor, optional
    """
    back = plot_background() if background is None else background
    light = relative_luminance(back) > 0.18  # mid grey: the lighter of the two contrasts wins
    choice = LIGHT_BACKGROUND_TEXT if light else DARK_BACKGROUND_TEXT
    return QtGui.QColor(choice[1] if muted else choice[0])
