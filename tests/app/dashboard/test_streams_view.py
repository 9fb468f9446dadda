"""The stream list: rows told apart by host and source_id, the selection kept across refreshes,
the connected stream marked, and the status bar's count taken from the rows shown."""

from __future__ import annotations

import re

import pytest
from neurodeck.app.dashboard.views.streams import StreamsPanel
from neurodeck.control.snapshot import CoreSnapshot, StreamRow

pytestmark = pytest.mark.gui

A = StreamRow("amp", "EEG", 32, 500.0, "lab-pc", "amp-serial-0001")
B = StreamRow("amp", "EEG", 32, 500.0, "lab-pc", "amp-serial-0002")
A_MARKERS = StreamRow("amp-markers", "Markers", 1, 0.0, "lab-pc", "amp-serial-0001-markers")
C = StreamRow("aardvark", "EEG", 8, 250.0, "other-pc", "aa-1")  # sorts before the others


@pytest.fixture
def streams(qtbot, core):
    panel = StreamsPanel(core)
    qtbot.addWidget(panel)
    panel.resize(420, 300)
    return panel


def _texts(panel: StreamsPanel) -> list[str]:
    table = panel.table
    return [
        " | ".join(table.item(i, j).text() for j in range(table.columnCount()))
        for i in range(table.rowCount())
    ]


def _row_of(panel: StreamsPanel, source_id: str) -> int:
    """Index of the row whose text or tooltip shows ``source_id``."""
    table = panel.table
    for i in range(table.rowCount()):
        if any(source_id in (table.item(i, j).toolTip() or "") for j in range(table.columnCount())):
            return i
    raise AssertionError(f"no row for {source_id}")


def _render(panel: StreamsPanel, rows, stream=None, connection="disconnected") -> None:
    panel.render(CoreSnapshot(t=1.0, streams=tuple(rows), stream=stream, connection=connection))


def test_rows_of_the_same_name_are_told_apart(streams) -> None:
    _render(streams, [A, B, A_MARKERS])
    texts = _texts(streams)
    assert len(texts) == 3 and len(set(texts)) == 3
    a, b = texts[_row_of(streams, A.source_id)], texts[_row_of(streams, B.source_id)]
    assert a != b and "lab-pc" in a and "0001" in a and "0002" in b
    tip = streams.table.item(_row_of(streams, B.source_id), 0).toolTip()
    assert "lab-pc" in tip and "amp-serial-0002" in tip


def test_the_selection_survives_refreshes(streams) -> None:
    _render(streams, [A, B, A_MARKERS], stream=A, connection="connected")
    assert streams.selected_key() == A.key  # nothing chosen yet: the connected stream
    streams.table.selectRow(_row_of(streams, B.source_id))  # the user picks B
    assert streams.selected_key() == B.key
    before = streams.table.item(_row_of(streams, A.source_id), 0)  # A is in every search
    refreshes = [
        [A, B, A_MARKERS],  # a new search, same streams
        [C, A, B, A_MARKERS],  # a stream appears above B
        [B, C, A_MARKERS, A],  # in another order
        [C, B, A],  # one disappears
        [A, C],  # the chosen one drops out of a search for a moment...
        [A, B, C],  # ...and is chosen again when it is back
        [A, B],  # another disappears
    ]
    for rows in refreshes:
        _render(streams, rows, stream=A, connection="connected")
        if B in rows:
            assert streams.selected_key() == B.key, f"moved after {[r.source_id for r in rows]}"
        assert streams.table.rowCount() == len(rows)
    assert streams.table.item(_row_of(streams, A.source_id), 0) is before, "rebuilt, not updated"


def test_the_connected_stream_is_marked(streams) -> None:
    _render(streams, [A, B, A_MARKERS], stream=B, connection="connected")
    table = streams.table
    b, a = _row_of(streams, B.source_id), _row_of(streams, A.source_id)
    assert all(table.item(b, j).font().bold() for j in range(table.columnCount()))
    assert not any(table.item(a, j).font().bold() for j in range(table.columnCount()))
    assert "connected" in table.item(b, 0).toolTip() and "●" in table.item(b, 0).text()
    assert "●" not in table.item(a, 0).text()
    assert streams.selected_key() == B.key
    # a new connection (a replay started, a stream chosen elsewhere) moves the highlight to it
    _render(streams, [A, B, A_MARKERS], stream=A, connection="connected")
    assert streams.selected_key() == A.key
    assert table.item(_row_of(streams, A.source_id), 0).font().bold()
    assert not table.item(_row_of(streams, B.source_id), 0).font().bold()
    _render(streams, [A, B, A_MARKERS])  # disconnected: no mark, the selection stays
    assert not any(table.item(i, 0).font().bold() for i in range(table.rowCount()))
    assert streams.selected_key() == A.key


def test_connect_uses_the_selected_row(streams, core) -> None:
    _render(streams, [A, B, A_MARKERS])
    streams.table.selectRow(_row_of(streams, B.source_id))
    _render(streams, [C, A, B, A_MARKERS])
    streams.connect_button.click()
    assert core.called("connect") == [((B.key,), {})]


# -- the real core, real outlets on loopback LSL ---------------------------------------------------
@pytest.mark.lsl
@pytest.mark.slow  # about 6 s: a closed outlet must be forgotten by the resolver
def test_same_name_outlets_selection_and_count_with_the_real_core(
    qtbot, make_core, unique_id, monkeypatch
) -> None:
    import pylsl
    from neurodeck.app.dashboard.window import MainWindow
    from neurodeck.control.settings import Settings

    from tests.lsl_helpers import IndexedOutlet

    resolver = pylsl.ContinuousResolver  # forget a closed outlet after 2 s, not 3 (test time)
    monkeypatch.setattr(pylsl, "ContinuousResolver", lambda **_: resolver(forget_after=2.0))
    name = unique_id

    def outlet(tag: str) -> IndexedOutlet:
        return IndexedOutlet(name, 4, 100.0, 10**6, source_id=f"{name}-{tag}").start()

    first, second = outlet("a"), outlet("b")
    core = make_core()
    win = MainWindow(core, Settings(), frame_ms=0)
    qtbot.addWidget(win)
    panel = win.streams

    def frames_until(check, timeout_ms: int = 15000) -> None:
        def done() -> bool:
            win.frame()
            return bool(check())

        qtbot.waitUntil(done, timeout=timeout_ms)

    def mine() -> list[int]:
        table = panel.table
        return [i for i in range(table.rowCount()) if name in table.item(i, 0).toolTip()]

    def count_matches() -> None:
        """The status bar counts the rows the list shows (other tests' streams included)."""
        status = win.status_label.text()
        assert re.match(rf"{panel.table.rowCount()} streams? found", status), status

    try:
        core.refresh_streams()
        frames_until(lambda: len(mine()) == 2 and not win.snap.browsing)
        texts = _texts(panel)
        assert texts[mine()[0]] != texts[mine()[1]]
        count_matches()
        core.connect(f"{name}-a")
        frames_until(lambda: win.snap.stream is not None and win.snap.signal is not None)
        a = _row_of(panel, f"{name}-a")
        assert panel.table.item(a, 0).font().bold() and panel.selected_key() == f"{name}-a"
        panel.table.selectRow(_row_of(panel, f"{name}-b"))  # the user picks the other one
        third = IndexedOutlet(name, 4, 100.0, 10**6, source_id=f"{name}-0").start()  # sorts first
        core.refresh_streams()
        frames_until(lambda: len(mine()) == 3 and not win.snap.browsing)
        assert panel.selected_key() == f"{name}-b"
        count_matches()
        third.close()  # disappears
        frames_until(lambda: len(mine()) == 2, 10000)
        count_matches()  # the search's count follows the list, with no new search
        core.refresh_streams()
        frames_until(lambda: not win.snap.browsing and "found" in win.status_label.text())
        assert panel.selected_key() == f"{name}-b"
        assert panel.table.item(_row_of(panel, f"{name}-a"), 0).font().bold()  # still connected
        count_matches()
    finally:
        core.close()
        first.close()
        second.close()
