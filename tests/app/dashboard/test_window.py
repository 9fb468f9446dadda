"""The main window: frame loop, menus and shortcuts, drag-and-drop, settings, a real replay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from neurodeck.app.dashboard.window import MainWindow
from neurodeck.control.settings import DashboardSettings, Settings, load_settings
from neurodeck.control.snapshot import CalibrationView, CoreSnapshot
from PyQt6.QtCore import QMimeData, QPointF, Qt, QUrl
from PyQt6.QtGui import QDropEvent

pytestmark = pytest.mark.gui


def _action(win: MainWindow, text: str):
    for menu in win.menuBar().actions():
        for action in menu.menu().actions():
            if action.text() == text:
                return action
    raise AssertionError(f"no action {text!r}")


def test_menu_actions_send_commands_and_carry_shortcuts(window) -> None:
    _action(window, "Disconnect").trigger()
    _action(window, "Search for streams").trigger()
    _action(window, "Start calibration").trigger()
    fake = window.fake
    assert fake.called("disconnect") and fake.called("refresh_streams")
    assert fake.called("start_calibration") == [(("mi-lr",), {})]
    assert window.tabs.currentIndex() == 2
    shortcuts = {
        "Open recording to replay...": "Ctrl+O",
        "Load profile or checkpoint...": "Ctrl+L",
        "Pause / resume": "P",
        "Abort": "Esc",
        "Full-screen cues": "F11",
        "Decoding": "Ctrl+4",
    }
    for text, keys in shortcuts.items():
        assert _action(window, text).shortcut().toString() == keys


def test_pause_and_escape_follow_the_calibration_phase(window) -> None:
    fake = window.fake
    fake.snap = CoreSnapshot(t=1.0, connection="connected", calibration=CalibrationView("cues"))
    window.frame()
    _action(window, "Pause / resume").trigger()
    assert fake.called("pause_calibration")
    fake.snap = CoreSnapshot(t=2.0, calibration=CalibrationView("paused"))
    window.frame()
    _action(window, "Pause / resume").trigger()
    assert fake.called("resume_calibration")
    window.fullscreen_cues()
    assert window.cues_fullscreen()
    _action(window, "Abort").trigger()  # first Esc leaves full screen, nothing aborted
    assert not window.cues_fullscreen() and not fake.called("abort_calibration")
    _action(window, "Abort").trigger()
    assert fake.called("abort_calibration")
    fake.snap = CoreSnapshot(t=3.0, calibration=CalibrationView("done"))
    window.frame()
    _action(window, "Abort").trigger()
    assert len(fake.called("abort_calibration")) == 1  # nothing to abort any more


def _drop(window: MainWindow, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)


def test_dropping_recordings_replays_them(window, tmp_path) -> None:
    edf = tmp_path / "S01.edf"
    edf.write_bytes(b"0")
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    _drop(window, [notes])
    assert not window.fake.called("replay")
    _drop(window, [edf, notes])
    assert window.fake.called("replay") == [(([edf], 1.0, False), {})]


def test_errors_show_in_a_banner_until_dismissed(window) -> None:
    window.fake.snap = CoreSnapshot(t=1.0, errors=("Stream lost. Check the headset.",))
    window.frame()
    assert window.error_bar.isVisibleTo(window)
    assert "Stream lost" in window.error_label.text()
    window.fake.snap = CoreSnapshot(t=2.0)
    window.frame()
    assert not window.error_bar.isVisibleTo(window)


def test_settings_are_saved_and_loaded_as_toml(window, tmp_path) -> None:
    window.scope.scale_spin.setValue(20)
    window.scope.filter_check.setChecked(False)
    window.calibration.paradigm_combo.setCurrentIndex(
        window.calibration.paradigm_combo.findText("mi-4")
    )
    path = window.save_settings()
    saved = load_settings(path).dashboard
    assert saved.scale_uv == 20.0 and not saved.filter and saved.paradigm == "mi-4"
    other = tmp_path / "other.toml"
    other.write_text('[dashboard]\nscale_uv = 100.0\nfilter = true\nparadigm = "mi-lr"\n')
    assert window.load_settings_file(other)
    assert window.scope.uv_per_div == 100.0 and window.scope.use_filtered
    assert window.calibration.paradigm_combo.currentText() == "mi-lr"
    bad = tmp_path / "bad.toml"
    bad.write_text("[dashboard]\nscale_uv = -1.0\n")
    assert not window.load_settings_file(bad)
    assert "scale_uv" in window.status_label.text()
    assert window.scope.uv_per_div == 100.0  # unchanged


def test_settings_messages_show_absolute_paths(window, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert window.save_settings(Path("mine.toml")) is not None
    assert window.status_label.text() == f"settings saved to {tmp_path / 'mine.toml'}"
    assert window.load_settings_file(Path("mine.toml"))
    assert window.status_label.text() == f"settings loaded from {tmp_path / 'mine.toml'}"
    assert window.settings_path == tmp_path / "mine.toml"  # Ctrl+S writes there, from anywhere


def test_frames_are_measured(window) -> None:
    for _ in range(5):
        window.frame()
    stats = window.stats.summary()
    assert stats["frames"] == 5 and stats["frame_max_ms"] >= stats["frame_p50_ms"] > 0


@pytest.mark.lsl
@pytest.mark.slow
@pytest.mark.data
def test_the_dashboard_decodes_a_real_replay(qtbot, make_core, eegbci_profile) -> None:
    """End to end: the window over the real core, EEGBCI run 12 replayed on LSL, decoded live."""
    from neurodeck.streaming.recording_io import eegbci_run_files

    from tests.conftest import SHARED_DATA

    core = make_core()
    win = MainWindow(core, Settings(dashboard=DashboardSettings(replay_speed=4.0)))
    qtbot.addWidget(win)
    win.show()
    win.replay(eegbci_run_files(SHARED_DATA, 1, [12]))
    qtbot.waitUntil(
        lambda: win.snap.signal is not None and win.snap.spectrum is not None, timeout=30000
    )
    sig = win.snap.signal
    assert len(sig.channel_names) == 64 and win.scope.curve.getData()[0] is not None
    win.tabs.setCurrentIndex(1)
    qtbot.waitUntil(
        lambda: win.spectrum is not None and win.snap.spectrum is not None, timeout=5000
    )
    core.load_model(eegbci_profile, decoder="reference")
    win.tabs.setCurrentIndex(3)
    qtbot.waitUntil(
        lambda: win.snap.decoding is not None and len(win.snap.decoding.times) >= 8,
        timeout=30000,
    )
    qtbot.wait(200)
    dec = win.snap.decoding
    np.testing.assert_allclose(win.decoding.bar_heights, dec.smoothed, atol=0.05)
    assert win.decoding.cursor_x is not None and -1 <= win.decoding.cursor_x <= 1
    assert win.health.fields["lost_samples"].text() == "0"
    assert "reference" in win.decoding.decoder_label.text()
    stats = win.stats.summary()
    assert stats["frames"] > 20
    win.close()


@pytest.mark.lsl
@pytest.mark.slow
@pytest.mark.data
def test_a_bad_file_leaves_the_running_replay_alone(qtbot, make_core, monkeypatch, tmp_path):
    """File > Open of a corrupt file while a replay runs: the error is shown, and the replay
    stays connected, its samples advancing and its channels listed."""
    from neurodeck.streaming.recording_io import eegbci_run_files
    from PyQt6.QtWidgets import QFileDialog

    from tests.conftest import SHARED_DATA

    core = make_core()
    win = MainWindow(core, Settings(dashboard=DashboardSettings(replay_speed=4.0)), frame_ms=0)
    qtbot.addWidget(win)

    def frame_until(check, timeout_s: float) -> None:
        qtbot.waitUntil(lambda: (win.frame(), check())[1], timeout=int(timeout_s * 1000))

    win.replay(eegbci_run_files(SHARED_DATA, 1, [4]))
    frame_until(lambda: win.snap.signal is not None, 30.0)
    stream, names = win.snap.stream, win.snap.signal.channel_names
    garbage = tmp_path / "garbage.edf"
    garbage.write_bytes(b"0" * 300)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(garbage)], ""))
    win.open_recording()
    frame_until(lambda: bool(win.snap.errors), 30.0)
    assert "garbage.edf" in win.error_label.text() and not win.error_bar.isHidden()
    n0 = win.snap.signal.n_written
    frame_until(lambda: win.snap.signal is not None and win.snap.signal.n_written > n0 + 160, 5.0)
    assert win.snap.connection == "connected" and win.snap.stream == stream
    assert win.snap.source is not None and win.snap.source.running
    assert win.scope.channel_names == names


@pytest.mark.lsl
@pytest.mark.slow
@pytest.mark.data
def test_a_cut_file_and_a_two_stream_xdf_ask_then_replay(qtbot, make_core, monkeypatch, tmp_path):
    """File > Open of a file cut short asks whether to replay what it holds; an XDF file with
    two EEG streams asks which one. Each answer replays (the CLI's --allow-truncated and
    --xdf-stream), and the source that ran before is kept until then."""
    from neurodeck.streaming.recording_io import eegbci_run_files
    from PyQt6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

    from tests.conftest import SHARED_DATA
    from tests.streaming.xdf_files import RIGHT_AMP_NAMES, labrecorder_two_amps_file

    core = make_core()
    win = MainWindow(core, Settings(dashboard=DashboardSettings(replay_speed=4.0)), frame_ms=0)
    qtbot.addWidget(win)

    def frame_until(check, timeout_s: float) -> None:
        qtbot.waitUntil(lambda: (win.frame(), check())[1], timeout=int(timeout_s * 1000))

    source = eegbci_run_files(SHARED_DATA, 1, [4])[0]
    cut = tmp_path / "cut.edf"
    data = source.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    asked: list[str] = []
    asked_status: list[str] = []

    def answer(*a, **k):
        asked.append(a[2])
        asked_status.append(win.status_label.text())  # what the status line says meanwhile
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(cut)], ""))
    win.open_recording()
    frame_until(lambda: win.snap.source is not None and win.snap.connection == "connected", 30.0)
    assert len(asked) == 1 and "cut.edf is shorter than its header declares" in asked[0]
    assert any("cut.edf: replay the part it holds?" in text for text in asked_status)
    frame_until(lambda: win.snap.signal is not None, 10.0)
    assert len(win.snap.signal.channel_names) == 64 and not win.snap.errors

    two = labrecorder_two_amps_file(tmp_path / "two.xdf", n_samples=5000)
    offered: list[list[str]] = []
    monkeypatch.setattr(
        QInputDialog, "getItem", lambda *a, **k: offered.append(a[3]) or ("Right amp", True)
    )
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(two)], ""))
    win.open_recording()
    frame_until(
        lambda: (
            win.snap.signal is not None
            and len(win.snap.signal.channel_names) == len(RIGHT_AMP_NAMES)
        ),
        30.0,
    )
    assert offered == [["Left amp", "Right amp"]]
    assert win.snap.connection == "connected" and "two.xdf" in win.snap.source.label
    win.close()
