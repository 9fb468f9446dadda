"""The stream browser: LSL streams seen on the network, connect and disconnect, sources, models."""

from __future__ import annotations

import html

from neurodeck.app.dashboard.views.elided import ElidedLabel
from neurodeck.control.snapshot import CoreCommands, CoreSnapshot, StreamRow
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

#: Columns of the browser table.
COLUMNS = ("name", "type", "channels", "rate", "host")

_STATE_COLOURS = {
    "connected": "#2e7d32",
    "connecting": "#f9a825",
    "stalled": "#c62828",
    "lost": "#c62828",
    "disconnected": "#616161",
}


class StreamsPanel(QWidget):
    """Stream table with Refresh / Connect / Disconnect, and the source and model buttons.

    The file dialogs (open a recording, load a profile) belong to the main window, which owns
    the settings; this panel asks for them with :attr:`open_recording_requested` and
    :attr:`load_model_requested`.

    Parameters
    ----------
    core : CoreCommands
    """

    open_recording_requested = pyqtSignal()
    load_model_requested = pyqtSignal()
    simulate_requested = pyqtSignal()

    def __init__(self, core: CoreCommands, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self._rows: tuple[StreamRow, ...] | None = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([c.capitalize() for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for i in range(1, len(COLUMNS) - 1):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(len(COLUMNS) - 1, 80)  # the host: elided, never wider than the name
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # names keep both ends
        self.table.doubleClicked.connect(lambda _i: self._connect_selected())

        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Search for LSL streams again (F5)")
        self.refresh_button.clicked.connect(core.refresh_streams)
        self.connect_button = QPushButton("Connect")
        self.connect_button.clicked.connect(self._connect_selected)
        self.disconnect_button = QPushButton("Disconnect")
        self.disconnect_button.clicked.connect(core.disconnect)
        self.replay_button = QPushButton("Open recording...")
        self.replay_button.setToolTip("Replay an EDF/BDF/FIF file as if it were a headset (Ctrl+O)")
        self.replay_button.clicked.connect(self.open_recording_requested.emit)
        self.sim_button = QPushButton("Simulator")
        self.sim_button.setToolTip("Start the built-in synthetic headset")
        self.sim_button.clicked.connect(self.simulate_requested.emit)
        self.stop_source_button = QPushButton("Stop source")
        self.stop_source_button.clicked.connect(core.stop_source)
        self.model_button = QPushButton("Load profile...")
        self.model_button.setToolTip("Decode with a subject profile or a checkpoint (Ctrl+L)")
        self.model_button.clicked.connect(self.load_model_requested.emit)
        self.stop_decoding_button = QPushButton("Stop decoding")
        self.stop_decoding_button.clicked.connect(core.stop_decoding)

        self.state_label = QLabel("disconnected")  # rich text; the stream name is elided
        self.state_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.source_label = ElidedLabel("")

        row1 = QHBoxLayout()
        for b in (self.refresh_button, self.connect_button, self.disconnect_button):
            row1.addWidget(b)
        row2 = QHBoxLayout()
        for b in (self.replay_button, self.sim_button, self.stop_source_button):
            row2.addWidget(b)
        row3 = QHBoxLayout()
        for b in (self.model_button, self.stop_decoding_button):
            row3.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table, 1)
        layout.addLayout(row1)
        layout.addWidget(self.state_label)
        layout.addLayout(row2)
        layout.addWidget(self.source_label)
        layout.addLayout(row3)

    def selected_key(self) -> str | None:
        """Key of the selected stream, or None."""
        rows = self.table.selectionModel().selectedRows()
        if not rows or self._rows is None:
            return None
        index = rows[0].row()
        return self._rows[index].key if index < len(self._rows) else None

    def _connect_selected(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.core.connect(key)

    def render(self, snap: CoreSnapshot) -> None:
        """Draw the stream list and the connection state."""
        if snap.streams != self._rows:
            self._fill(snap.streams, snap.stream)
        self.refresh_button.setEnabled(not snap.browsing)
        self.refresh_button.setText("Searching..." if snap.browsing else "Refresh")
        connected = snap.stream is not None
        self.connect_button.setEnabled(bool(snap.streams) and snap.connection != "connecting")
        self.disconnect_button.setEnabled(connected)
        self.model_button.setEnabled(connected)
        self.stop_decoding_button.setEnabled(snap.decoding is not None)
        colour = _STATE_COLOURS.get(snap.connection, "#616161")
        what = ""
        if snap.stream:  # elided to the label's width: a long name never widens the dock
            metrics = self.state_label.fontMetrics()
            room = self.state_label.width() - metrics.horizontalAdvance(f"{snap.connection} to ''")
            name = metrics.elidedText(snap.stream.name, Qt.TextElideMode.ElideMiddle, room - 12)
            what = f" to '{html.escape(name)}'"
        text = f"<b style='color:{colour}'>{snap.connection}</b>{what}"
        if text != self.state_label.text():
            self.state_label.setText(text)
            self.state_label.setToolTip(snap.stream.name if snap.stream else "")
        source = snap.source
        self.stop_source_button.setEnabled(source is not None and source.running)
        label = ""
        if source is not None:
            state = "running" if source.running else "stopped"
            label = f"{source.kind} ({state}): {source.label}, x{source.speed:g}"
        if label != self.source_label.text():
            self.source_label.setText(label)

    def _fill(self, rows: tuple[StreamRow, ...], connected: StreamRow | None) -> None:
        previous = self.selected_key()
        self._rows = rows
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            values = (row.name, row.stream_type, str(row.n_channels), f"{row.sfreq:g}", row.host)
            for j, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(f"source_id: {row.source_id}")
                if j in (2, 3):
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(i, j, item)
            if row.key == previous or (previous is None and connected and row.key == connected.key):
                self.table.selectRow(i)
        if rows and not self.table.selectionModel().selectedRows():
            eeg = [i for i, r in enumerate(rows) if r.stream_type != "Markers"]
            self.table.selectRow(eeg[0] if eeg else 0)
