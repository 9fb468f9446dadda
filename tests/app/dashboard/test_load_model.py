"""Loading a model from the window: a ``.safetensors`` checkpoint file, a profile folder, and a
checkpoint for other channels (the real core, a simulated headset on loopback LSL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from neurodeck.app.dashboard.window import MainWindow
from neurodeck.calibration.profile import write_profile
from neurodeck.control.settings import Settings
from PyQt6.QtWidgets import QFileDialog

from tests.app.affective import EMOTION_CLASSES, save_affective_checkpoint
from tests.app.dashboard.test_window import _action
from tests.control.conftest import simulator  # noqa: F401

pytestmark = [pytest.mark.gui, pytest.mark.lsl]


class Dialogs:
    """The file dialogs, patched: each answers what the test set, and records that it was asked."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.file = ""
        self.folder = ""
        self.asked: list[tuple[str, tuple]] = []
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(self._file))
        monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(self._folder))

    def _file(self, *args, **kwargs) -> tuple[str, str]:
        self.asked.append(("file", args))
        return self.file, ""

    def _folder(self, *args, **kwargs) -> str:
        self.asked.append(("folder", args))
        return self.folder


@pytest.fixture
def connected(qtbot, make_core, simulator):  # noqa: F811
    """The window over a real core connected to a 16-channel simulated headset."""
    core = make_core()
    win = MainWindow(core, Settings(), frame_ms=0)
    qtbot.addWidget(win)
    core.connect(simulator.source_id)
    _frames_until(qtbot, win, lambda s: s.signal is not None)
    return win


def _frames_until(qtbot, win: MainWindow, check, timeout_ms: int = 20000):
    def done() -> bool:
        win.frame()
        return bool(check(win.snap))

    qtbot.waitUntil(done, timeout=timeout_ms)
    return win.snap


def test_a_checkpoint_file_is_chosen_and_decodes(qtbot, connected, monkeypatch, tmp_path) -> None:
    checkpoint = save_affective_checkpoint(tmp_path / "emotion.safetensors")
    dialogs = Dialogs(monkeypatch)
    dialogs.file = str(checkpoint)
    connected.load_model()  # File > Load profile or checkpoint... (Ctrl+L)
    kind, args = dialogs.asked[0]
    assert kind == "file", "a checkpoint is a file: the dialog must let the user choose one"
    assert "*.safetensors" in args[3] and "profile.json" in args[3]  # the filter
    snap = _frames_until(qtbot, connected, lambda s: s.decoding is not None)
    assert snap.decoding.class_names == EMOTION_CLASSES
    assert snap.decoding.decoder == "emotion.safetensors"
    assert not snap.errors
    assert connected.settings.last_profile == str(checkpoint)


def test_a_profile_folder_still_loads(qtbot, connected, monkeypatch, tmp_path) -> None:
    profile = tmp_path / "S001"
    profile.mkdir()
    save_affective_checkpoint(profile / "finetuned.safetensors")
    write_profile(profile, "finetuned", {"finetuned": "finetuned.safetensors"},
                  EMOTION_CLASSES, {}, {})  # fmt: skip
    dialogs = Dialogs(monkeypatch)
    dialogs.folder = str(profile)
    _action(connected, "Load profile folder...").trigger()
    assert [kind for kind, _ in dialogs.asked] == ["folder"]
    snap = _frames_until(qtbot, connected, lambda s: s.decoding is not None)
    assert snap.decoding.decoder == "S001 (finetuned decoder)"
    connected.core.stop_decoding()
    _frames_until(qtbot, connected, lambda s: s.decoding is None)
    # the profile's index file chosen in the file dialog stands for its folder
    dialogs.file = str(profile / "profile.json")
    connected.load_model()
    snap = _frames_until(qtbot, connected, lambda s: s.decoding is not None)
    assert snap.decoding.decoder == "S001 (finetuned decoder)"
    assert Path(connected.settings.last_profile) == profile


def test_a_checkpoint_for_other_channels_is_refused_with_a_reason(
    qtbot, connected, monkeypatch, tmp_path
) -> None:
    checkpoint = save_affective_checkpoint(tmp_path / "ear.safetensors", channels=("A1", "A2"))
    dialogs = Dialogs(monkeypatch)
    dialogs.file = str(checkpoint)
    connected.load_model()
    snap = _frames_until(qtbot, connected, lambda s: s.errors)
    assert "required channels are missing" in snap.errors[-1]
    assert "A1" in snap.errors[-1] and "checkpoint trained on your montage" in snap.errors[-1]
    assert snap.decoding is None and snap.connection == "connected"
    assert connected.error_bar.isVisibleTo(connected)


def test_cancelling_the_dialog_loads_nothing(connected, monkeypatch) -> None:
    dialogs = Dialogs(monkeypatch)
    connected.load_model()
    connected.core.wait_idle(5.0)
    connected.frame()
    assert dialogs.asked and connected.snap.decoding is None and not connected.snap.errors
