"""The spectrum panel: power spectra, band powers and a scalp map of
:class:`~neurodeck.control.snapshot.SpectrumView`.

Three plots: (a) log10 power spectral density from 1 to 45 Hz, the mean over channels with their
min-max range shaded (and, optionally, every channel as a thin line), (b) the mean absolute power
of each band as bars (means and ranges over the channels not flagged flat or noisy, so that one
bad electrode does not hide the others), (c) the interpolated log10 power of one band
over the head with the outline, the nose, the electrodes (name on hover) and a colour bar. The
core computes
everything (:mod:`neurodeck.control.analysis`); the panel redraws only when the snapshot carries a
new :class:`SpectrumView` object (2-4 times a second) or the user picks another band.
"""

from __future__ import annotations

import warnings

import numpy as np
import pyqtgraph as pg
from neurodeck.app.dashboard.views.contrast import text_colour
from neurodeck.app.dashboard.views.scalp import COLOURMAP, ScalpMapPlot, head_outline
from neurodeck.control.snapshot import BANDS, CoreCommands, CoreSnapshot, SpectrumView
from numpy.typing import NDArray
from PyQt6 import QtCore, QtWidgets

__all__ = ["COLOURMAP", "SpectrumPanel", "head_outline"]

#: Frequencies shown in the spectrum plot, in Hz.
FREQ_RANGE_HZ = (1.0, 45.0)
#: Powers below this (µV^2/Hz) are drawn at this floor on the log axis.
POWER_FLOOR = 1e-6
DEFAULT_BAND = "alpha"
MEAN_COLOUR = "#f0c040"
RANGE_COLOUR = (240, 192, 64, 60)
CHANNEL_COLOUR = (160, 160, 160, 90)
BAR_COLOUR = "#4a90d9"
NO_SIGNAL = "No spectrum yet: connect a stream (the first figures take a few seconds)."
NO_MAP = "No scalp map: fewer than 4 channels have a 10-05 position."


def _nanmean(values: NDArray[np.float64], axis: int) -> NDArray[np.float64]:
    """Mean over finite entries (NaN where there are none), without warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.where(np.isfinite(values), values, np.nan), axis=axis)


def _unflagged(spectrum: SpectrumView) -> NDArray[np.bool_]:
    """Rows of the channels flagged "ok" ``(n_channels,)``; every row when none is (or unknown)."""
    n_channels = len(spectrum.psd)
    ok = np.array([q.flag == "ok" for q in spectrum.quality], dtype=bool)
    if len(ok) != n_channels or not ok.any():
        return np.ones(n_channels, dtype=bool)
    return ok


class SpectrumPanel(QtWidgets.QWidget):
    """Power spectrum, band powers and scalp map of ``snapshot.spectrum``.

    Parameters
    ----------
    core : CoreCommands
        The dashboard core (the panel sends it nothing today).
    parent : QWidget, optional

    Attributes
    ----------
    mean_curve : pyqtgraph.PlotDataItem
        log10 of the mean PSD over the unflagged channels (all when every one is flagged),
        1-45 Hz.
    low_curve, high_curve : pyqtgraph.PlotCurveItem
        log10 of the smallest and largest PSD of those channels at each frequency (shaded).
    channel_curve : pyqtgraph.PlotCurveItem
        Every channel's log10 PSD (rows separated by NaN), drawn when "Channels" is ticked.
    bars : pyqtgraph.BarGraphItem
        Mean band power over the unflagged channels in µV^2, one bar per band.
    image : pyqtgraph.ImageItem
        The scalp map of the chosen band (row-major: row 0 = lowest y, see
        :class:`neurodeck.control.analysis.ScalpInterpolator`).
    electrodes : pyqtgraph.ScatterPlotItem
        Electrode positions (name on hover).
    band_combo : QComboBox
        Band of the scalp map.

    Notes
    -----
    Lives on the GUI thread; :meth:`render` is called about 30 times a second.
    """

    def __init__(self, core: CoreCommands, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self._spectrum: SpectrumView | None = None
        self._first = True
        self._build_spectrum_plot()
        self._build_bar_plot()
        self._build_map_plot()
        self._build_layout()
        self._show(False)

    # ---------------------------------------------------------------- construction

    def _build_spectrum_plot(self) -> None:
        self.psd_plot = pg.PlotWidget()
        item = self.psd_plot.getPlotItem()
        item.setMouseEnabled(x=False, y=True)
        item.setLabel("bottom", "frequency", units="Hz")
        item.setLabel("left", "log10 power (µV²/Hz)")
        item.setXRange(*FREQ_RANGE_HZ, padding=0.0)
        item.showGrid(x=True, y=True, alpha=0.2)
        self.channel_curve = pg.PlotCurveItem(
            pen=pg.mkPen(CHANNEL_COLOUR, width=1), antialias=False, connect="finite"
        )
        self.low_curve = pg.PlotCurveItem(pen=pg.mkPen(RANGE_COLOUR))
        self.high_curve = pg.PlotCurveItem(pen=pg.mkPen(RANGE_COLOUR))
        self.range_fill = pg.FillBetweenItem(self.low_curve, self.high_curve, brush=RANGE_COLOUR)
        self.mean_curve = pg.PlotDataItem(pen=pg.mkPen(MEAN_COLOUR, width=2))
        for curve in (self.channel_curve, self.range_fill, self.low_curve, self.high_curve):
            item.addItem(curve)
        item.addItem(self.mean_curve)
        self.channels_check = QtWidgets.QCheckBox("Channels")
        self.channels_check.setToolTip("Draw every channel's spectrum as a thin line")
        self.channels_check.toggled.connect(self._redraw_spectrum)

    def _build_bar_plot(self) -> None:
        self.bar_plot = pg.PlotWidget()
        item = self.bar_plot.getPlotItem()
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        item.setLabel("left", "mean band power (µV²)")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=BAR_COLOUR)
        item.addItem(self.bars)
        self.bar_labels: list[pg.TextItem] = []
        self._label_colour = text_colour()  # readable on the plot's background

    def _build_map_plot(self) -> None:
        self.map_plot = ScalpMapPlot(colour_bar_label="log10 µV²")  # shared with the Emotion tab
        self.image = self.map_plot.image
        self.outline = self.map_plot.outline
        self.electrodes = self.map_plot.electrodes
        self.colour_bar = self.map_plot.colour_bar
        self.band_combo = QtWidgets.QComboBox()
        for band in BANDS:
            self.band_combo.addItem(band)
        self.band_combo.setCurrentText(DEFAULT_BAND)
        self.band_combo.currentTextChanged.connect(self._redraw_map)
        self.map_label = QtWidgets.QLabel("")

    def _build_layout(self) -> None:
        left = QtWidgets.QVBoxLayout()
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Power spectrum"))
        top.addStretch(1)
        top.addWidget(self.channels_check)
        left.addLayout(top)
        left.addWidget(self.psd_plot, 3)
        left.addWidget(self.bar_plot, 2)
        right = QtWidgets.QVBoxLayout()
        band_row = QtWidgets.QHBoxLayout()
        band_row.addWidget(QtWidgets.QLabel("Scalp map"))
        band_row.addWidget(self.band_combo)
        band_row.addStretch(1)
        right.addLayout(band_row)
        right.addWidget(self.map_plot, 1)
        right.addWidget(self.map_label)
        body = QtWidgets.QWidget()
        body_layout = QtWidgets.QHBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.addLayout(left, 3)
        body_layout.addLayout(right, 2)
        self.placeholder = QtWidgets.QLabel(NO_SIGNAL)
        self.placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(body)
        self._body = body
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    # ---------------------------------------------------------------- drawing

    @property
    def band(self) -> str:
        """Band of the scalp map."""
        return self.band_combo.currentText()

    def render(self, snap: CoreSnapshot) -> None:
        """Draw ``snap.spectrum`` (only when it is a new object).

        Parameters
        ----------
        snap : CoreSnapshot

        Notes
        -----
        Called from the GUI thread about 30 times a second; returns at once when the spectrum
        is the one already drawn.
        """
        spectrum = snap.spectrum
        if spectrum is self._spectrum and not self._first:
            return
        self._first = False
        self._spectrum = spectrum
        if spectrum is None:
            self._clear()
            self._show(False)
            return
        self._show(True)
        self._set_bands(spectrum.band_names)
        self._redraw_spectrum()
        self._redraw_bars()
        self._redraw_map()

    def _show(self, on: bool) -> None:
        target = self._body if on else self.placeholder
        if self.stack.currentWidget() is not target:
            self.stack.setCurrentWidget(target)

    def _set_bands(self, band_names: tuple[str, ...]) -> None:
        """Offer the spectrum's bands in the combo (keeping the choice when it still exists)."""
        current = [self.band_combo.itemText(i) for i in range(self.band_combo.count())]
        if list(band_names) == current or not band_names:
            return
        chosen = self.band
        blocked = self.band_combo.blockSignals(True)
        try:
            self.band_combo.clear()
            self.band_combo.addItems(list(band_names))
            if chosen in band_names:
                self.band_combo.setCurrentText(chosen)
            elif DEFAULT_BAND in band_names:
                self.band_combo.setCurrentText(DEFAULT_BAND)
        finally:
            self.band_combo.blockSignals(blocked)

    def _clear(self) -> None:
        empty = np.zeros(0)
        for curve in (self.mean_curve, self.low_curve, self.high_curve):
            curve.setData(x=empty, y=empty)
        self.channel_curve.setData(x=empty, y=empty)
        self.bars.setOpts(x=empty, height=empty)
        self.image.clear()
        self.electrodes.setData(x=empty, y=empty)
        self.map_label.setText("")

    def _redraw_spectrum(self, *_args: object) -> None:
        spectrum = self._spectrum
        if spectrum is None:
            return
        low_hz, high_hz = FREQ_RANGE_HZ
        keep = (spectrum.freqs >= low_hz) & (spectrum.freqs <= high_hz)
        freqs = spectrum.freqs[keep]  # (n_shown,)
        psd = np.maximum(spectrum.psd[:, keep], POWER_FLOOR)  # (n_channels, n_shown); NaN kept
        in_range = psd[_unflagged(spectrum)]  # (n_ok, n_shown)
        mean = np.log10(np.maximum(_nanmean(in_range, axis=0), POWER_FLOOR))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            low = np.log10(np.nanmin(in_range, axis=0))
            high = np.log10(np.nanmax(in_range, axis=0))
        self.mean_curve.setData(x=freqs, y=mean, connect="finite")
        self.low_curve.setData(x=freqs, y=np.nan_to_num(low, nan=np.log10(POWER_FLOOR)))
        self.high_curve.setData(x=freqs, y=np.nan_to_num(high, nan=np.log10(POWER_FLOOR)))
        finite = np.concatenate([low[np.isfinite(low)], high[np.isfinite(high)]])
        if finite.size:
            self.psd_plot.getPlotItem().setYRange(finite.min() - 0.2, finite.max() + 0.2)
        if self.channels_check.isChecked() and len(psd):
            n_channels = psd.shape[0]
            y = np.full((n_channels, len(freqs) + 1), np.nan)
            y[:, :-1] = np.log10(psd)
            x = np.empty_like(y)
            x[:] = np.append(freqs, freqs[-1] if len(freqs) else 0.0)
            self.channel_curve.setData(x=x.ravel(), y=y.ravel(), connect="finite")
        else:
            self.channel_curve.setData(x=np.zeros(0), y=np.zeros(0))

    def _redraw_bars(self) -> None:
        spectrum = self._spectrum
        if spectrum is None:
            return
        heights = np.nan_to_num(_nanmean(spectrum.band_power[_unflagged(spectrum)], axis=0))
        x = np.arange(len(spectrum.band_names), dtype=np.float64)
        self.bars.setOpts(x=x, height=heights, width=0.6)
        item = self.bar_plot.getPlotItem()
        item.getAxis("bottom").setTicks([list(enumerate(spectrum.band_names)), []])
        top = float(heights.max()) if len(heights) and heights.max() > 0 else 1.0
        item.setRange(xRange=(-0.6, len(x) - 0.4), yRange=(0.0, top * 1.15), padding=0.0)
        for label in self.bar_labels:
            item.removeItem(label)
        self.bar_labels = []
        for k, height in enumerate(heights):
            label = pg.TextItem(f"{height:.3g}", color=self._label_colour, anchor=(0.5, 1.0))
            label.setPos(float(k), float(height))
            item.addItem(label)
            self.bar_labels.append(label)

    def _redraw_map(self, *_args: object) -> None:
        spectrum = self._spectrum
        if spectrum is None:
            return
        self.map_plot.set_electrodes(spectrum.scalp_positions, spectrum.scalp_names)
        levels = self.map_plot.show_map(spectrum.scalp_maps.get(self.band), spectrum.scalp_extent)
        if levels is None:
            self.map_label.setText(NO_MAP if not spectrum.scalp_maps else "")
            return
        low, high = levels
        edges = BANDS.get(self.band)
        hz = f" {edges[0]:g}-{edges[1]:g} Hz" if edges else ""
        self.map_label.setText(
            f"{self.band}{hz}, log10 µV²: min {low:.2f}, max {high:.2f} "
            f"(last {spectrum.span_s:.0f} s)"
        )
