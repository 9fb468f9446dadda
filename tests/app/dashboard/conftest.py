"""Dashboard view fixtures: a fake core for the views, and the real core's fixtures."""

from __future__ import annotations

import pytest

from tests.app.dashboard.fakes import FakeCore
from tests.control.conftest import eegbci_profile, make_core, wait_for  # noqa: F401


@pytest.fixture
def core() -> FakeCore:
    """A core that records the commands it is given (view tests; a module may override it)."""
    return FakeCore()


@pytest.fixture
def panel(qtbot, core):
    """A CalibrationPanel over :func:`core` (a module may override it)."""
    from neurodeck.app.dashboard.views.calibration import CalibrationPanel

    widget = CalibrationPanel(core)
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    return widget


@pytest.fixture
def display(qtbot):
    """A CueDisplay, 480 x 360 (cue screen and rating tests; a module may override it)."""
    from neurodeck.app.dashboard.views.cue_screen import CueDisplay

    widget = CueDisplay()
    qtbot.addWidget(widget)
    widget.resize(480, 360)
    return widget


@pytest.fixture
def window(qtbot, tmp_path, core):
    """A MainWindow over :func:`core` (``window.fake``), settings saved in ``tmp_path``."""
    from neurodeck.app.dashboard.window import MainWindow
    from neurodeck.control.settings import Settings

    win = MainWindow(core, Settings(), settings_path=tmp_path / "dash.toml", frame_ms=0)
    qtbot.addWidget(win)
    win.fake = core
    return win
