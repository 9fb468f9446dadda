"""The stream browser: LSL streams seen on the network, connect and disconnect, sources, models.

The table is kept row by row, keyed by :attr:`StreamRow.identity` (name, host, source_id): a
refresh removes the rows that went, inserts the new ones in order and rewrites only the cells that
changed, so the user's selection stays on the stream it was on. Each row shows the host and a short
source_id (the tooltip shows them whole); the connected stream is bold with a dot coloured by its
state.
"""

from __future__ import annotations

import html

from neurodeck.app.dashboard.views.elided import ElidedLabel
from neurodeck.control.snapshot import CoreCommands, CoreSnapshot, StreamRow
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor
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

#: Columns of the browser table ("source": host and short source_id).
COLUMNS = ("name", "type", "channels", "rate", "source")
#: Short headers (the dock is narrow on a laptop); the whole words are their tooltips.
HEADERS = ("Name", "Type", "Ch", "Hz", "Source")
#: Longest source_id shown whole in the table (longer ones keep their head and tail).
SHORT_ID = 14
#: Mark before the connected stream's name.
CONNECTED_MARK = "\u25cf "

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
        self._listed: tuple[tuple[StreamRow, ...], tuple[str, str, str] | None, str] | None = None
        self._rows: list[StreamRow] = []  # the table's rows, in order
        self._connected: tuple[str, str, str] | None = None
        self._chosen: tuple[str, str, str] | None = None  # the user's pick (or the connection)
        self._auto = False  # selecting by default: not a choice to remember
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        for i, column in enumerate(COLUMNS):
            self.table.horizontalHeaderItem(i).setToolTip(
                {"source": "host · source_id"}.get(column, column)
            )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for i in range(1, len(COLUMNS) - 1):
            header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(len(COLUMNS) - 1, 64)  # host · source_id: elided; whole in tooltip
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # names keep both ends
        self.table.doubleClicked.connect(lambda _i: self._connect_selected())
        self.table.itemSelectionChanged.connect(self._remember_choice)

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
        self.model_button = QPushButton("Load model...")
        self.model_button.setToolTip(
            "Decode with a subject profile (its profile.json) or a .safetensors checkpoint (Ctrl+L)"
        )
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
        row = self.selected_row()
        return row.key if row is not None else None

    def selected_row(self) -> StreamRow | None:
        """The selected stream, or None."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        index = rows[0].row()
        return self._rows[index] if index < len(self._rows) else None

    def _remember_choice(self) -> None:
        row = self.selected_row()
        if row is not None and not self._auto:
            self._chosen = row.identity

    def _select(self, identity: tuple[str, str, str] | None) -> bool:
        """Select the row of ``identity``; False when it is not listed."""
        at = next((i for i, r in enumerate(self._rows) if r.identity == identity), None)
        if at is not None:
            self.table.selectRow(at)
        return at is not None

    def _connect_selected(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.core.connect(key)

    def render(self, snap: CoreSnapshot) -> None:
        """Draw the stream list and the connection state."""
        connected = snap.stream.identity if snap.stream is not None else None
        listed = (snap.streams, connected, snap.connection)
        if listed != self._listed:
            self._listed = listed
            self._update_rows(snap.streams, connected, snap.connection)
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

    def _update_rows(
        self, rows: tuple[StreamRow, ...], connected: tuple[str, str, str] | None, state: str
    ) -> None:
        """Bring the table to ``rows`` in place: the selection stays on its stream."""
        self._auto = True  # selection changes from here on are not the user's choice
        try:
            self._update_table(rows, connected, state)
        finally:
            self._auto = False

    def _update_table(
        self, rows: tuple[StreamRow, ...], connected: tuple[str, str, str] | None, state: str
    ) -> None:
        table = self.table
        wanted = sorted({r.identity: r for r in rows}.values(), key=lambda r: r.identity)
        ids = {r.identity for r in wanted}
        for i in reversed(range(len(self._rows))):  # the streams that went
            if self._rows[i].identity not in ids:
                table.removeRow(i)
                del self._rows[i]
        for i, row in enumerate(wanted):  # the new ones, in order (the rest keep theirs)
            if i >= len(self._rows) or self._rows[i].identity != row.identity:
                table.insertRow(i)
                self._rows.insert(i, row)
                for j in range(len(COLUMNS)):
                    item = QTableWidgetItem("")
                    if j in (2, 3):
                        item.setTextAlignment(
                            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                        )
                    table.setItem(i, j, item)
            self._rows[i] = row
            self._show_row(i, row, state if row.identity == connected else None)
        if connected is not None and connected != self._connected:  # a new connection
            self._chosen = connected
        self._connected = connected
        selected = self.selected_row()
        on_choice = selected is not None and selected.identity == self._chosen
        if self._chosen is not None and not on_choice and self._select(self._chosen):
            return  # back on the stream chosen, now that it is listed again
        if self._rows and selected is None:  # nothing chosen: a signal stream, for Connect
            first = next((r for r in self._rows if r.stream_type != "Markers"), self._rows[0])
            self._select(first.identity)

    def _show_row(self, i: int, row: StreamRow, state: str | None) -> None:
        """Write row ``i``'s cells (only those that changed); ``state``: the connected one's."""
        mark = CONNECTED_MARK if state is not None else ""
        values = (
            mark + row.name,
            row.stream_type,
            str(row.n_channels),
            f"{row.sfreq:g}",
            f"{row.host} \u00b7 {short_id(row.source_id)}" if row.source_id else row.host,
        )
        tip = (
            f"{row.name}\n{row.stream_type}, {row.n_channels} channels at {row.sfreq:g} Hz\n"
            f"host: {row.host}\nsource_id: {row.source_id or '(none)'}"
        )
        if state is not None:
            tip = f"{state}\n{tip}"
        colour = QColor(_STATE_COLOURS.get(state or "", "#616161"))
        for j, value in enumerate(values):
            item = self.table.item(i, j)
            if item.text() != value:
                item.setText(value)
            if item.toolTip() != tip:
                item.setToolTip(tip)
            if item.font().bold() != (state is not None):
                font = item.font()
                font.setBold(state is not None)
                item.setFont(font)
            if j == 0:
                item.setForeground(QBrush(colour) if state is not None else QBrush())


def short_id(source_id: str, width: int = SHORT_ID) -> str:
    """``source_id`` in at most ``width`` characters: its head and tail around an ellipsis.

    The tail is kept longer: serial numbers and suffixes (``-a``, ``-0002``) tell streams apart.
    """
    if len(source_id) <= width:
        return source_id
    head = max(1, (width - 1) // 3)
    return f"{source_id[:head]}\u2026{source_id[len(source_id) - (width - 1 - head) :]}"
