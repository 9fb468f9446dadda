"""The scope: a scrolling multichannel trace of :class:`~neurodeck.control.snapshot.SignalView`.

Every drawn channel sits in its own lane (one division high, the first channel at the top), the
newest sample at the right edge, time in seconds relative to that sample. All channels form ONE
:class:`pyqtgraph.PlotCurveItem` (rows separated by NaN, ``connect='finite'``) after min/max
("peak") decimation (:mod:`.decimation`) to at most one point per horizontal pixel
(:data:`POINTS_PER_PIXEL`, :data:`MAX_BINS`), vectorised over channels; nothing is redrawn when
neither the samples (``n_written``) nor the settings changed.

Cost, 64 channels x 10 s at 250 Hz, offscreen on the 2-core development machine: about 1 ms per
render (slicing, decimation, layout) and 5 ms painting; driven by a 30 Hz timer in a 1280 x 800
window the GUI thread uses 19-25 % of one core (1920 x 1080: 25 %, bins capped by
:data:`MAX_BINS`).

Scaling: channel k is drawn as ``-k + clip((x - centre_k) * scale_k, -1.5, 1.5)`` (lane k at
``y = -k``, see :data:`CLIP_LANES`) where ``centre_k`` is the mean of its drawn points (so DC
offsets of raw signals stay in the lane) and ``scale_k`` is its gain divided by its µV per
division. In the default "per channel" mode every channel gets its own µV per division: the 5-95
percentile range of its drawn (decimated) points divided by a fill fraction, recomputed a few
times a second and smoothed in log steps (:mod:`neurodeck.app.dashboard.views.lane_scaling`) so
that a lane does not jump; in "fixed" mode every channel has the global µV per division of the
spin box.

Amplitude scale: :class:`ScaleBar`, right of the plot, draws a bar whose height is a round number
of microvolts. In fixed mode it is a whole number of lanes at the global scale; in per-channel mode
it is drawn at the scale of the median lane (the bar reads true for that lane; each channel's own
µV per division is in its tooltip in the channel list, and :attr:`ScopeView.lane_uv_per_div`).

Names: lanes and the channel list show the 10-05 spelling of each label
(:func:`neurodeck.models.electrodes.electrode_name`: ``Fc5.`` -> ``FC5``); settings and selections
keep the stream's own labels. When lanes are shorter than the font, the axis shows every k-th name
(:class:`~neurodeck.app.dashboard.views.scope_scales.ChannelAxis`), so names never overlap.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pyqtgraph as pg
from neurodeck.app.dashboard.views.decimation import peak_decimate
from neurodeck.app.dashboard.views.elided import ElidedLabel
from neurodeck.app.dashboard.views.lane_scaling import LaneScaler
from neurodeck.app.dashboard.views.scope_scales import ChannelAxis, ScaleBar, nice_value
from neurodeck.control.snapshot import CoreCommands, CoreSnapshot, SignalView, SpectrumView
from neurodeck.models.electrodes import electrode_name
from numpy.typing import NDArray
from PyQt6 import QtCore, QtGui, QtWidgets

#: Selectable time spans in seconds.
SPANS_S: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0)
DEFAULT_SPAN_S = 10.0
#: Values of the µV-per-division spin box (1-2-5 steps).
UV_STEPS: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
DEFAULT_UV_PER_DIV = 100
#: Scale modes of the mode box: label -> per-channel (True) or fixed (False).
SCALE_MODES = {"per channel": True, "fixed": False}
#: The scale bar is at least this tall, in pixels.
SCALE_BAR_MIN_PX = 30
#: A trace is clipped to this many lanes above and below its own (big artefacts stay readable).
CLIP_LANES = 1.5
#: Per-channel gains are clamped to this range.
GAIN_RANGE = (1.0 / 64, 64.0)
#: Colours of flagged channels (list items and axis labels).
FLAG_COLOURS = {"flat": "#6f8fc0", "noisy": "#e0582a"}
TRACE_COLOUR = "#1f2a44"
GRID_COLOUR = "#c8c8c8"
NOT_CONNECTED = "Not connected: pick a stream, a replay or the simulator."
_MAX_FLAGS_SHOWN = 4  # longer flag lists are shortened in the summary label
_FALLBACK_WIDTH_PX = 800  # plot width assumed before the widget has a size
#: Points drawn per horizontal pixel and channel (after min/max decimation); painting time grows
#: with it (64 channels x 1000 pixels: about 3 ms at 1, 6 ms at 2).
POINTS_PER_PIXEL = 1.0
#: At most this many min/max bins across the plot, whatever its width (painting cost is bounded:
#: 64 channels x 960 points).
MAX_BINS = 480


class _UvSpinBox(QtWidgets.QSpinBox):
    """µV per division, stepping through :data:`UV_STEPS` (1-2-5)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(UV_STEPS[0], UV_STEPS[-1])
        self.setSuffix(" µV/div")
        self.setValue(DEFAULT_UV_PER_DIV)
        self.setKeyboardTracking(False)

    def stepBy(self, steps: int) -> None:
        value = self.value()
        if steps > 0:  # the first step above the value, then further
            index = int(np.searchsorted(UV_STEPS, value, side="right")) + steps - 1
        else:
            index = int(np.searchsorted(UV_STEPS, value, side="left")) + steps
        self.setValue(UV_STEPS[min(max(index, 0), len(UV_STEPS) - 1)])


class ScopeView(QtWidgets.QWidget):
    """Scrolling multichannel scope of ``snapshot.signal``.

    Parameters
    ----------
    core : CoreCommands
        The dashboard core (the scope sends it nothing today).
    parent : QWidget, optional

    Attributes
    ----------
    curve : pyqtgraph.PlotCurveItem
        Every drawn channel, one after the other, rows separated by one NaN point;
        ``curve.getData()`` gives ``x`` (seconds before the newest sample) and ``y``.
    drawn_names : tuple of str
        Names of the drawn channels, top lane first (row order of ``curve``).
    placeholder : QLabel
        Shown instead of the plot while there is no signal.

    Notes
    -----
    Lives on the GUI thread; :meth:`render` is called about 30 times a second.
    """

    def __init__(self, core: CoreCommands, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self.channel_names: tuple[str, ...] = ()
        self.display_names: dict[str, str] = {}  # stream label -> 10-05 spelling
        self.drawn_names: tuple[str, ...] = ()
        self._selected: tuple[str, ...] = ()
        self.gains: dict[str, float] = {}
        self.quality: dict[str, tuple[str, str]] = {}  # name -> (flag, reason)
        self._signal: SignalView | None = None
        self._spectrum: SpectrumView | None = None
        self._settings_version = 0
        self._drawn_key: tuple | None = None
        self._ranges_key: tuple | None = None
        self._lane_scaler = LaneScaler()  # per-channel µV/div, before gains
        self._lane_uv: NDArray[np.float64] = np.zeros(0)  # µV/div of each drawn lane
        self._tips: dict[str, str] = {}
        self.points_per_pixel = POINTS_PER_PIXEL
        self._build_controls()
        self._build_plot()
        self._build_layout()
        self._show_plot(False)

    # ---------------------------------------------------------------- construction

    def _build_controls(self) -> None:
        self.span_combo = QtWidgets.QComboBox()
        for span_s in SPANS_S:
            self.span_combo.addItem(f"{span_s:g} s", span_s)
        self.span_combo.setCurrentIndex(SPANS_S.index(DEFAULT_SPAN_S))
        self.span_combo.setToolTip("Time span of the scope")
        self.span_combo.currentIndexChanged.connect(self._settings_changed)
        self.scale_spin = _UvSpinBox()
        self.scale_spin.setToolTip("Microvolts per division (one lane); + and - keys step it")
        self.scale_spin.valueChanged.connect(self._settings_changed)
        self.zoom_in_button = QtWidgets.QPushButton("+")
        self.zoom_in_button.setToolTip("Larger traces (fewer µV per division)")
        self.zoom_in_button.clicked.connect(lambda: self.scale_spin.stepBy(-1))
        self.zoom_out_button = QtWidgets.QPushButton("−")
        self.zoom_out_button.setToolTip("Smaller traces (more µV per division)")
        self.zoom_out_button.clicked.connect(lambda: self.scale_spin.stepBy(1))
        for button in (self.zoom_in_button, self.zoom_out_button):
            button.setFixedWidth(28)
            button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.scale_mode_combo = QtWidgets.QComboBox()
        for label, per_channel in SCALE_MODES.items():
            self.scale_mode_combo.addItem(label, per_channel)
        self.scale_mode_combo.setToolTip(
            "per channel: every lane scaled to its own amplitude (5-95 percentile range, "
            "smoothed); each channel's µV/div is in its tooltip in the channel list.\n"
            "fixed: the same µV per division for every lane."
        )
        self.scale_mode_combo.currentIndexChanged.connect(self._scale_mode_changed)
        self.scale_bar = ScaleBar()
        self.filter_check = QtWidgets.QCheckBox("Filter")
        self.filter_check.setChecked(True)
        self.filter_check.toggled.connect(self._settings_changed)
        self.flags_label = ElidedLabel("", QtCore.Qt.TextElideMode.ElideRight)
        self.channel_list = QtWidgets.QListWidget()
        self.channel_list.setSelectionMode(
            QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection
        )
        self.channel_list.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.channel_list.customContextMenuRequested.connect(self._channel_menu)
        self.channel_list.itemChanged.connect(self._settings_changed)
        self.channel_list.setToolTip("Drawn channels; right-click for per-channel gain")
        self.all_button = QtWidgets.QPushButton("All")
        self.all_button.clicked.connect(lambda: self.select_channels(self.channel_names))
        self.none_button = QtWidgets.QPushButton("None")
        self.none_button.clicked.connect(lambda: self.select_channels(()))

    def _build_plot(self) -> None:
        self.axis = ChannelAxis()
        self.plot = pg.PlotWidget(axisItems={"left": self.axis}, background="w")
        item = self.plot.getPlotItem()
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        item.setMenuEnabled(False)
        item.disableAutoRange()
        item.setClipToView(True)
        item.showGrid(x=False, y=False)  # a grid over the traces repaints every frame
        item.setLabel("bottom", "time before the newest sample", units="s")
        self.curve = pg.PlotCurveItem(
            pen=pg.mkPen(TRACE_COLOUR, width=1), antialias=False, connect="finite"
        )
        self.second_marks = pg.PlotCurveItem(
            pen=pg.mkPen(GRID_COLOUR, width=1), antialias=False, connect="pairs"
        )
        item.addItem(self.second_marks)
        item.addItem(self.curve)
        self.placeholder = QtWidgets.QLabel(NOT_CONNECTED)
        self.placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.plot)

    def _build_layout(self) -> None:
        controls = QtWidgets.QHBoxLayout()
        controls.addWidget(QtWidgets.QLabel("Span"))
        controls.addWidget(self.span_combo)
        controls.addSpacing(12)
        controls.addWidget(QtWidgets.QLabel("Scale"))
        controls.addWidget(self.scale_mode_combo)
        for widget in (self.zoom_out_button, self.scale_spin, self.zoom_in_button):
            controls.addWidget(widget)
            widget.setVisible(not self.auto_scale)
        controls.addSpacing(12)
        controls.addWidget(self.filter_check)
        controls.addSpacing(12)
        controls.addWidget(self.flags_label, 1)
        side = QtWidgets.QVBoxLayout()
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.all_button)
        buttons.addWidget(self.none_button)
        side.addLayout(buttons)
        side.addWidget(self.channel_list, 1)
        side_widget = QtWidgets.QWidget()
        side_widget.setLayout(side)
        side_widget.setMaximumWidth(150)
        body = QtWidgets.QHBoxLayout()
        body.addWidget(self.stack, 1)
        body.addWidget(self.scale_bar)
        body.addWidget(side_widget)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(body, 1)

    # ---------------------------------------------------------------- settings

    @property
    def span_s(self) -> float:
        """Seconds shown."""
        return float(self.span_combo.currentData())

    @property
    def uv_per_div(self) -> float:
        """Global scale: microvolts per division (one lane)."""
        return float(self.scale_spin.value())

    @property
    def auto_scale(self) -> bool:
        """Whether each channel is scaled by its own amplitude (the "per channel" mode)."""
        return bool(self.scale_mode_combo.currentData())

    def set_auto_scale(self, on: bool) -> None:
        """Per-channel scales (True) or the fixed µV per division of the spin box (False)."""
        self.scale_mode_combo.setCurrentIndex(list(SCALE_MODES.values()).index(bool(on)))

    @property
    def lane_uv_per_div(self) -> dict[str, float]:
        """Microvolts per division of every drawn lane (gain included), by stream label."""
        return dict(zip(self.drawn_names, self._lane_uv.tolist(), strict=False))

    @property
    def use_filtered(self) -> bool:
        """Whether the filtered samples are drawn (else the raw ones)."""
        return self.filter_check.isChecked()

    def selected_names(self) -> tuple[str, ...]:
        """Names of the checked channels, in stream order."""
        return self._selected

    def _read_selected(self) -> tuple[str, ...]:
        return tuple(
            self.channel_list.item(i).data(QtCore.Qt.ItemDataRole.UserRole)
            for i in range(self.channel_list.count())
            if self.channel_list.item(i).checkState() == QtCore.Qt.CheckState.Checked
        )

    def select_channels(self, names: Iterable[str]) -> None:
        """Draw exactly the channels in ``names``."""
        wanted = set(names)
        self._update_items(
            lambda item, name: item.setCheckState(
                QtCore.Qt.CheckState.Checked if name in wanted else QtCore.Qt.CheckState.Unchecked
            )
        )
        self._settings_changed()

    def set_gain(self, name: str, gain: float) -> None:
        """Set the gain of one channel (1 = the global scale)."""
        low, high = GAIN_RANGE
        self.gains[name] = float(min(max(gain, low), high))
        self._refresh_item_texts()
        self._settings_changed()

    def scale_gains(self, names: Sequence[str], factor: float) -> None:
        """Multiply the gain of each channel in ``names`` by ``factor``."""
        for name in names:
            self.set_gain(name, self.gains.get(name, 1.0) * factor)

    def reset_gains(self, names: Sequence[str] | None = None) -> None:
        """Back to gain 1 for ``names`` (all channels when None)."""
        for name in self.channel_names if names is None else names:
            self.gains[name] = 1.0
        self._refresh_item_texts()
        self._settings_changed()

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if self.auto_scale:
            super().keyPressEvent(event)
        elif event.key() in (QtCore.Qt.Key.Key_Plus, QtCore.Qt.Key.Key_Equal):
            self.scale_spin.stepBy(-1)
        elif event.key() in (QtCore.Qt.Key.Key_Minus, QtCore.Qt.Key.Key_Underscore):
            self.scale_spin.stepBy(1)
        else:
            super().keyPressEvent(event)

    def _settings_changed(self, *_args: object) -> None:
        self._selected = self._read_selected()
        self._settings_version += 1
        self._lane_scaler.reset()
        if self._signal is not None:
            self._draw(self._signal)

    def _scale_mode_changed(self, *_args: object) -> None:
        for widget in (self.zoom_out_button, self.scale_spin, self.zoom_in_button):
            widget.setVisible(not self.auto_scale)
        self._settings_changed()

    def _channel_menu(self, pos: QtCore.QPoint) -> None:
        item = self.channel_list.itemAt(pos)
        names = [i.data(QtCore.Qt.ItemDataRole.UserRole) for i in self.channel_list.selectedItems()]
        if item is not None and item.data(QtCore.Qt.ItemDataRole.UserRole) not in names:
            names = [item.data(QtCore.Qt.ItemDataRole.UserRole)]
        menu = QtWidgets.QMenu(self)
        if names:
            menu.addAction("Gain ×2", lambda: self.scale_gains(names, 2.0))
            menu.addAction("Gain ×0.5", lambda: self.scale_gains(names, 0.5))
            menu.addAction("Reset gain", lambda: self.reset_gains(names))
            menu.addSeparator()
        menu.addAction("Reset all gains", lambda: self.reset_gains(None))
        menu.exec(self.channel_list.mapToGlobal(pos))

    # ---------------------------------------------------------------- channel list

    def _update_items(self, update) -> None:
        """Apply ``update(item, name)`` to every list item without firing ``itemChanged``."""
        blocked = self.channel_list.blockSignals(True)
        try:
            for i in range(self.channel_list.count()):
                item = self.channel_list.item(i)
                update(item, item.data(QtCore.Qt.ItemDataRole.UserRole))
        finally:
            self.channel_list.blockSignals(blocked)

    def _set_channels(self, names: tuple[str, ...]) -> None:
        """A new stream: rebuild the list (channels seen before keep their check and gain)."""
        previous = set(self.channel_names)
        kept = set(self._selected)
        self.channel_names = names
        self.display_names = {name: electrode_name(name) for name in names}
        self.gains = {name: self.gains.get(name, 1.0) for name in names}
        self.quality = {}
        self._spectrum = None
        blocked = self.channel_list.blockSignals(True)
        try:
            self.channel_list.clear()
            for name in names:
                item = QtWidgets.QListWidgetItem(self.display_names[name])
                item.setData(QtCore.Qt.ItemDataRole.UserRole, name)
                item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
                checked = name in kept or name not in previous
                item.setCheckState(
                    QtCore.Qt.CheckState.Checked if checked else QtCore.Qt.CheckState.Unchecked
                )
                self.channel_list.addItem(item)
        finally:
            self.channel_list.blockSignals(blocked)
        self._refresh_item_texts()
        self._apply_quality()
        self._selected = self._read_selected()
        self._settings_version += 1

    def _refresh_item_texts(self) -> None:
        def update(item: QtWidgets.QListWidgetItem, name: str) -> None:
            gain = self.gains.get(name, 1.0)
            shown = self.display_names.get(name, name)
            item.setText(shown if gain == 1.0 else f"{shown}  ×{gain:g}")

        self._update_items(update)

    # ---------------------------------------------------------------- flags

    def _set_quality(self, spectrum: SpectrumView | None) -> None:
        if spectrum is self._spectrum:
            return
        self._spectrum = spectrum
        self.quality = {}
        if spectrum is not None:
            self.quality = {q.name: (q.flag, q.reason) for q in spectrum.quality if q.flag != "ok"}
        self._apply_quality()

    def _apply_quality(self) -> None:
        default_brush = self.channel_list.palette().brush(QtGui.QPalette.ColorRole.Text)

        def update(item: QtWidgets.QListWidgetItem, name: str) -> None:
            flag, _reason = self.quality.get(name, ("ok", ""))
            colour = FLAG_COLOURS.get(flag)
            item.setForeground(QtGui.QBrush(QtGui.QColor(colour)) if colour else default_brush)

        self._update_items(update)
        self._refresh_tooltips()
        display = self.display_names
        self.axis.label_colours = {
            display.get(name, name): QtGui.QColor(FLAG_COLOURS[flag])
            for name, (flag, _) in self.quality.items()
            if flag in FLAG_COLOURS
        }
        self.axis.picture = None  # repaint the labels with the new colours
        self.axis.update()
        flagged = [f"{display.get(name, name)} {flag}" for name, (flag, _) in self.quality.items()]
        if not flagged:
            self.flags_label.setText("")
            self.flags_label.setToolTip("")
            return
        shown = ", ".join(flagged[:_MAX_FLAGS_SHOWN])
        more = (
            f", +{len(flagged) - _MAX_FLAGS_SHOWN} more" if len(flagged) > _MAX_FLAGS_SHOWN else ""
        )
        self.flags_label.setText(f"{len(flagged)} flagged: {shown}{more}")
        self.flags_label.setStyleSheet(f"color: {FLAG_COLOURS['noisy']}")
        self.flags_label.setToolTip(
            "\n".join(
                f"{display.get(name, name)}: {reason}" for name, (_, reason) in self.quality.items()
            )
        )

    def _refresh_tooltips(self) -> None:
        """Each list item's tooltip: its flag's reason, its µV per division, its stream label."""
        scales = self.lane_uv_per_div

        def update(item: QtWidgets.QListWidgetItem, name: str) -> None:
            lines = []
            reason = self.quality.get(name, ("ok", ""))[1]
            if reason:
                lines.append(reason)
            if name in scales:
                lines.append(f"{_format_uv(scales[name])} µV/div")
            if self.display_names.get(name, name) != name:
                lines.append(f"stream label: {name!r}")
            tip = "\n".join(lines)
            if self._tips.get(name) != tip:
                self._tips[name] = tip
                item.setToolTip(tip)

        self._update_items(update)

    # ---------------------------------------------------------------- drawing

    def render(self, snap: CoreSnapshot) -> None:
        """Draw ``snap.signal`` (and the channel flags of ``snap.spectrum``).

        Parameters
        ----------
        snap : CoreSnapshot

        Notes
        -----
        Called from the GUI thread about 30 times a second; returns at once when neither the
        samples nor the settings changed.
        """
        signal = snap.signal
        if signal is None:
            if self._signal is not None or self._drawn_key is None:
                self._signal = None
                self._drawn_key = ("empty",)
                self.curve.setData(x=np.zeros(0), y=np.zeros(0))
                self.drawn_names = ()
                self._lane_uv = np.zeros(0)
                self._update_scale_bar()
                self._show_plot(False)
            self._set_quality(None)
            return
        if signal.channel_names != self.channel_names:
            self._set_channels(tuple(signal.channel_names))
        if self.filter_check.toolTip() != signal.filter_label:
            self.filter_check.setToolTip(signal.filter_label)
        self._set_quality(snap.spectrum)
        self._signal = signal
        self._show_plot(True)
        self._draw(signal)

    def _show_plot(self, on: bool) -> None:
        target = self.plot if on else self.placeholder
        if self.stack.currentWidget() is not target:
            self.stack.setCurrentWidget(target)

    def _n_bins(self) -> int:
        """Decimation bins across the plot (each gives a minimum and a maximum point)."""
        width = int(self.plot.getPlotItem().getViewBox().width())
        width = width if width >= 50 else _FALLBACK_WIDTH_PX
        return max(1, min(round(width * self.points_per_pixel / 2), MAX_BINS))

    def _draw(self, signal: SignalView) -> None:
        n_bins = self._n_bins()
        key = (signal.n_written, signal.t_end, id(signal.raw), self._settings_version, n_bins)
        if key == self._drawn_key:
            self._update_scale_bar()
            return
        self._drawn_key = key
        names = self.selected_names()
        index = {name: i for i, name in enumerate(self.channel_names)}
        rows = np.array([index[name] for name in names], dtype=np.intp)
        self._set_ranges(names)
        self.drawn_names = names
        samples = signal.filtered if self.use_filtered else signal.raw
        n_span = min(samples.shape[1], round(self.span_s * signal.sfreq))
        if len(rows) == 0 or n_span < 2:
            self.curve.setData(x=np.zeros(0), y=np.zeros(0))
            self._lane_uv = np.zeros(0)
            self._update_scale_bar()
            return
        if len(rows) == len(self.channel_names):
            block = samples[:, samples.shape[1] - n_span :]  # a view, no copy
        else:
            block = samples[rows, samples.shape[1] - n_span :]
        first = max(signal.n_written, samples.shape[1]) - n_span
        positions, values = peak_decimate(block, first, n_bins)
        x = (positions - (n_span - 1)) / signal.sfreq  # (n_points,): newest sample at 0
        self._set_curve(x, values, names, signal)

    def _set_curve(
        self,
        x: NDArray[np.float64],
        values: NDArray[np.floating],
        names: tuple[str, ...],
        signal: SignalView,
    ) -> None:
        """Lay out ``values (n_drawn, n_points)`` in lanes and hand them to the curve."""
        n_rows, n_points = values.shape
        centre = values.mean(axis=1, dtype=np.float64)  # (n_drawn,)
        if not np.isfinite(centre).all():  # non-finite samples: centre on the finite ones
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                centre = np.nan_to_num(np.nanmean(values, axis=1, dtype=np.float64))
        scale = self._scales(values, centre, names, signal)  # (n_drawn,)
        y = np.full((n_rows, n_points + 1), np.nan)  # last column separates the rows
        body = y[:, :n_points]  # a view
        np.subtract(values, centre[:, None], out=body)
        body *= scale[:, None]
        np.clip(body, -CLIP_LANES, CLIP_LANES, out=body)
        body -= np.arange(n_rows)[:, None]  # lane k at y = -k
        xs = np.empty((n_rows, n_points + 1))
        xs[:, :n_points] = x
        xs[:, n_points] = x[-1]
        self.curve.setData(x=xs.ravel(), y=y.ravel(), connect="finite")
        self._update_scale_bar()

    def _scales(
        self,
        values: NDArray[np.floating],
        centre: NDArray[np.float64],
        names: tuple[str, ...],
        signal: SignalView,
    ) -> NDArray[np.float64]:
        """Lane units per µV of every drawn channel, ``(n_drawn,)``.

        Per-channel scales come from the decimated points (``values``, at most 2 per pixel),
        through :class:`~neurodeck.app.dashboard.views.lane_scaling.LaneScaler`.
        """
        gains = np.array([self.gains.get(name, 1.0) for name in names])
        if not self.auto_scale:
            uv = np.full(len(names), self.uv_per_div)
        else:
            uv = self._lane_scaler.update(values - centre[:, None], signal.n_written, signal.sfreq)
        lane_uv = uv / gains
        if not np.array_equal(lane_uv, self._lane_uv):
            self._lane_uv = lane_uv
            self._refresh_tooltips()
        return 1.0 / lane_uv

    def _update_scale_bar(self) -> None:
        """Size and caption of :attr:`scale_bar` for the current lanes (cheap when unchanged)."""
        view_box = self.plot.getPlotItem().getViewBox()
        n_lanes = max(len(self.drawn_names), 1)
        lane_px = view_box.height() / n_lanes
        if len(self._lane_uv) == 0 or lane_px <= 0:
            self.scale_bar.set_scale(0.0, 0.0, "", 0.0, 0.0)
            return
        lanes = next((n for n in (1, 2, 5, 10, 20, 50) if n * lane_px >= SCALE_BAR_MIN_PX), 50)
        top = view_box.sceneBoundingRect().top()
        if self.auto_scale:
            reference = float(np.median(self._lane_uv))
            microvolts = nice_value(reference * lanes)
            note = f"median lane {_format_uv(reference)} µV/div"
            self.scale_bar.set_scale(microvolts, microvolts / reference, note, lane_px, top)
        else:
            note = f"{self.uv_per_div:g} µV/div"
            self.scale_bar.set_scale(self.uv_per_div * lanes, float(lanes), note, lane_px, top)

    def _set_ranges(self, names: tuple[str, ...]) -> None:
        """Fixed ranges and channel-name ticks (only when the span or the channels change)."""
        key = (names, self.span_s)
        if key == self._ranges_key:
            return
        self._ranges_key = key
        item = self.plot.getPlotItem()
        item.setXRange(-self.span_s, 0.0, padding=0.0)
        y_low = -max(len(names), 1) + 0.5
        item.setYRange(y_low, 0.5, padding=0.0)
        seconds = -np.arange(1, math.ceil(self.span_s), dtype=np.float64)
        self.second_marks.setData(
            x=np.repeat(seconds, 2), y=np.tile([y_low, 0.5], len(seconds)), connect="pairs"
        )
        shown = self.display_names
        self.axis.setTicks([[(-k, shown.get(name, name)) for k, name in enumerate(names)], []])


def _format_uv(value: float) -> str:
    """Microvolts with two significant digits (``42``, ``4.2``, ``420``)."""
    return f"{value:.2g}" if value < 100 else f"{value:.0f}"
