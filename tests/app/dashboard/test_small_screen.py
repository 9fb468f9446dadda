"""The window fits a 1024 x 640 laptop screen with 64 channels, whatever the stream's name."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from neurodeck.app.dashboard.window import MainWindow
from neurodeck.control.snapshot import (
    CoreSnapshot,
    HealthView,
    SignalView,
    SourceView,
    StreamRow,
)
from PyQt6 import QtWidgets

pytestmark = pytest.mark.gui

#: The 64 EEGBCI labels, as the EDF files spell them.
_EEGBCI = (
    "Fc5. Fc3. Fc1. Fcz. Fc2. Fc4. Fc6. C5.. C3.. C1.. Cz.. C2.. C4.. C6.. Cp5. Cp3. Cp1. Cpz. "
    "Cp2. Cp4. Cp6. Fp1. Fpz. Fp2. Af7. Af3. Afz. Af4. Af8. F7.. F5.. F3.. F1.. Fz.. F2.. F4.. "
    "F6.. F8.. Ft7. Ft8. T7.. T8.. T9.. T10. Tp7. Tp8. P7.. P5.. P3.. P1.. Pz.. P2.. P4.. P6.. "
    "P8.. Po7. Po3. Poz. Po4. Po8. O1.. Oz.. O2.. Iz.."
)
EEGBCI_NAMES = tuple(_EEGBCI.split(" "))
SCREEN = (1024, 640)


def _snapshot(stream_name: str, rng: np.random.Generator) -> CoreSnapshot:
    """A connected 64-channel replay called ``stream_name``, 10 s at 160 Hz."""
    data = (20.0 * rng.standard_normal((64, 1600))).astype(np.float32)
    signal = SignalView(tuple(EEGBCI_NAMES), 160.0, data, data, 10.0, 1600, "1-40 Hz band-pass")
    row = StreamRow(stream_name, "EEG", 64, 160.0, "a-rather-long-host-name.local", "src-1")
    return CoreSnapshot(
        t=10.0,
        streams=(row, StreamRow("Markers", "Markers", 1, 0.0, "host", "m-1")),
        connection="connected",
        stream=row,
        signal=signal,
        health=HealthView("streaming", 160.0, 160.0, 1600, 0, 0, 0, 0, 0),
        source=SourceView("replay", f"{stream_name}.edf", stream_name, 1.0, True),
        status=f"connected to {stream_name}",
    )


def _show(win: MainWindow, qtbot, snap: CoreSnapshot) -> None:
    win.fake.snap = snap
    win.resize(*SCREEN)
    win.show()
    qtbot.waitExposed(win)
    for _ in range(2):
        win.frame()
        QtWidgets.QApplication.processEvents()


def test_the_window_fits_1024_by_640_with_64_channels(window, qtbot, rng) -> None:
    _show(window, qtbot, _snapshot("neurodeck-replay-S001R04", rng))
    hint = window.minimumSizeHint()
    assert hint.width() <= SCREEN[0] and hint.height() <= SCREEN[1], hint
    assert (window.width(), window.height()) == SCREEN
    dock = window.findChild(QtWidgets.QDockWidget)
    for i in range(window.tabs.count()):  # only the shown page is laid out
        window.tabs.setCurrentIndex(i)
        window.frame()
        QtWidgets.QApplication.processEvents()
        for widget in (dock, window.streams, window.health, window.tabs, window.tabs.widget(i)):
            least = widget.minimumSizeHint()
            where = (window.tabs.tabText(i), type(widget).__name__, widget.size(), least)
            assert widget.width() >= least.width(), where
            assert widget.height() >= least.height(), where
        assert (window.width(), window.height()) == SCREEN
    assert window.tabs.width() >= 600  # the tabs get most of the width, not the dock


def test_scope_labels_are_thinned_and_never_overlap(window, qtbot, rng) -> None:
    _show(window, qtbot, _snapshot("neurodeck-replay-S001R04", rng))
    window.scope.plot.grab()  # paints the axis
    labels = window.scope.axis.drawn_labels  # (QRectF, text) of every label painted
    assert 8 <= len(labels) < 64  # thinned: lanes are shorter than the font
    rects = sorted((rect for rect, _ in labels), key=lambda r: r.top())
    for above, below in itertools.pairwise(rects):
        assert above.bottom() <= below.top(), (above, below)


def test_a_long_stream_name_does_not_widen_the_window(window, qtbot, rng) -> None:
    _show(window, qtbot, _snapshot("S01", rng))
    short = window.minimumSizeHint().width()
    dock_width = window.findChild(QtWidgets.QDockWidget).width()
    _show(window, qtbot, _snapshot("neurodeck-replay-" + "very-long-name-" * 12, rng))
    assert window.minimumSizeHint().width() <= max(short, SCREEN[0])
    assert window.width() == SCREEN[0]
    assert window.findChild(QtWidgets.QDockWidget).width() == dock_width  # the tabs do not shift
