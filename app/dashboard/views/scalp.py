"""The scalp-map widget shared by the Spectrum and Emotion tabs: an interpolated image over a head
outline (nose up), the electrodes (name on hover) and a colour bar with units.

Nothing is drawn outside the head: the image is clipped to the outline, and electrodes below it
(T9, T10, Iz and other sites under the Fpz-T7-Oz-T8 ring, further than :data:`DRAWN_RADIUS`) are
left out of the drawing (they still shape the map; the plot's tooltip names them), as EEGLAB's
``topoplot`` does.

The images come ready-made in :class:`~neurodeck.control.snapshot.SpectrumView` (log10 band power on
a grid, NaN outside the head, see :class:`neurodeck.control.analysis.ScalpInterpolator`); this
widget only draws them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PyQt6 import QtCore, QtGui, QtWidgets

COLOURMAP = "viridis"
OUTLINE_COLOUR = (128, 128, 128)
#: Electrodes further than this from the centre (head units; outline = 1) are not drawn.
DRAWN_RADIUS = 1.05
#: Visible range of the map: the head, its ears and its nose.
X_RANGE = (-1.12, 1.12)
Y_RANGE = (-1.05, 1.16)


def head_outline(n_points: int = 121) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Unit circle, nose and ears as one path for ``connect='finite'``.

    Returns
    -------
    x, y : ndarray, shape (n,)
        Pieces separated by NaN.
    """
    angle = np.linspace(0.0, 2 * np.pi, n_points)
    ear = np.linspace(-np.pi / 2, np.pi / 2, 15)
    pieces = [
        (np.cos(angle), np.sin(angle)),
        (np.array([-0.12, 0.0, 0.12]), np.array([0.99, 1.12, 0.99])),  # nose at +y
        (1.0 + 0.06 * np.cos(ear), 0.18 * np.sin(ear)),  # right ear
        (-1.0 - 0.06 * np.cos(ear), 0.18 * np.sin(ear)),  # left ear
    ]
    x = np.concatenate([np.append(px, np.nan) for px, _ in pieces])
    y = np.concatenate([np.append(py, np.nan) for _, py in pieces])
    return x, y


def finite_levels(image: NDArray[np.float64]) -> tuple[float, float]:
    """``(min, max)`` of the finite pixels (``(0, 1)`` when none; a flat map gets a tiny span)."""
    finite = image[np.isfinite(image)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return (low, high if high > low else low + 1e-3)


class ScalpMapPlot(pg.PlotWidget):
    """One scalp map: image, head outline, electrodes, colour bar.

    Parameters
    ----------
    colour_bar_label : str or None
        Label (with units) of the colour bar; None for no bar.
    title : str or None
        Title above the head.
    orientation : {"vertical", "horizontal"}
        Colour bar right of the head, or under it (small multiples side by side).
    parent : QWidget, optional

    Attributes
    ----------
    image : pyqtgraph.ImageItem
        Row-major image (row 0 = lowest y), clipped to the head outline by :attr:`head_clip`.
    head_clip : QGraphicsEllipseItem
        The unit circle; the image is its child and is drawn only inside it.
    outline : pyqtgraph.PlotCurveItem
    electrodes : pyqtgraph.ScatterPlotItem
        Positions of the electrodes within :data:`DRAWN_RADIUS`; ``data`` holds the names
        (shown on hover).
    colour_bar : pyqtgraph.ColorBarItem or None

    Notes
    -----
    GUI thread only; :meth:`show_map` costs one image upload, so callers redraw only when the
    spectrum changes (2-4 times a second), not every frame.
    """

    def __init__(
        self,
        colour_bar_label: str | None = "log10 µV²",
        title: str | None = None,
        orientation: str = "vertical",
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        item = self.getPlotItem()
        item.setAspectLocked(True)
        item.setMouseEnabled(x=False, y=False)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.hideAxis("left")
        item.hideAxis("bottom")
        if title:
            item.setTitle(title)
        self.head_clip = QtWidgets.QGraphicsEllipseItem(-1.0, -1.0, 2.0, 2.0)
        self.head_clip.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
        self.head_clip.setFlag(
            QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True
        )
        item.addItem(self.head_clip)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setParentItem(self.head_clip)
        x, y = head_outline()
        outline_pen = pg.mkPen(OUTLINE_COLOUR, width=2)  # seen on dark and light backgrounds
        self.outline = pg.PlotCurveItem(x=x, y=y, pen=outline_pen, connect="finite")
        item.addItem(self.outline)
        self.electrodes = pg.ScatterPlotItem(
            size=6,
            pen=pg.mkPen("k"),
            brush=pg.mkBrush("w"),
            hoverable=True,
            tip=lambda x, y, data: str(data),
        )
        item.addItem(self.electrodes)
        self.colour_bar: pg.ColorBarItem | None = None
        if colour_bar_label is not None:
            self.colour_bar = pg.ColorBarItem(
                values=(0.0, 1.0),
                colorMap=COLOURMAP,
                interactive=False,
                label=colour_bar_label,
                orientation=orientation,
                width=10 if orientation == "horizontal" else 16,
                colorMapMenu=False,
            )
            self.colour_bar.setImageItem(self.image, insert_in=item)
        else:
            self.image.setColorMap(pg.colormap.get(COLOURMAP))
        item.setRange(xRange=X_RANGE, yRange=Y_RANGE, padding=0.0)

    def set_electrodes(self, positions: NDArray[np.float64], names: Sequence[str]) -> None:
        """Place the electrodes.

        Parameters
        ----------
        positions : ndarray, shape (n_located, 2)
            Head coordinates (unit circle = outline, nose at +y).
        names : sequence of str
            One per row of ``positions``.
        """
        xy = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
        inside = np.hypot(xy[:, 0], xy[:, 1]) <= DRAWN_RADIUS
        shown = [name for name, keep in zip(names, inside, strict=True) if keep]
        self.electrodes.setData(x=xy[inside, 0], y=xy[inside, 1], data=shown)
        below = [str(name) for name, keep in zip(names, inside, strict=True) if not keep]
        self.setToolTip(
            f"Not drawn (below the head outline, still interpolated): {', '.join(below)}"
            if below
            else ""
        )

    def show_map(
        self, image: NDArray[np.float64] | None, extent: tuple[float, float, float, float]
    ) -> tuple[float, float] | None:
        """Draw ``image`` over ``extent`` with levels from its finite pixels.

        Parameters
        ----------
        image : ndarray, shape (grid, grid), or None
            NaN outside the head; None clears the map.
        extent : (x_min, x_max, y_min, y_max)

        Returns
        -------
        (low, high) or None
            The colour levels used; None when cleared.
        """
        if image is None:
            self.image.clear()
            return None
        low, high = finite_levels(image)
        self.image.setImage(image, autoLevels=False, levels=(low, high))
        x_min, x_max, y_min, y_max = extent
        self.image.setRect(QtCore.QRectF(x_min, y_min, x_max - x_min, y_max - y_min))
        if self.colour_bar is not None:
            self.colour_bar.setLevels((low, high))
        return low, high

    def clear_map(self) -> None:
        """Remove the image and the electrodes."""
        self.image.clear()
        self.electrodes.setData(x=np.zeros(0), y=np.zeros(0))
