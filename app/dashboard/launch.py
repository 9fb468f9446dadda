"""Opening the dashboard: what it does on start, from ``neurodeck gui`` or the demo."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from neurodeck.common.jsonio import write_text_atomic
from neurodeck.common.types import ConfigError


@dataclass
class DashboardLaunch:
    """What the dashboard does on start (from ``neurodeck gui`` or the demo)."""

    replay: list[Path] = field(default_factory=list)
    speed: float | None = None
    loop: bool = False
    simulate: int | None = None
    stream: str | None = None
    model: Path | None = None
    config: Path | None = None
    tab: str | None = None
    screenshot: Path | None = None
    shot_after: float = 8.0
    quit_after: float | None = None
    stats: Path | None = None


def has_display() -> bool:
    """True when Qt can open a window here (an X or Wayland display, or an offscreen platform)."""
    return bool(
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM") in ("offscreen", "minimal", "vnc")
    )


def run_dashboard(launch: DashboardLaunch) -> int:
    """Open the dashboard, run the launch steps, return the exit code when the window closes."""
    if not has_display():
        raise ConfigError(
            "No display to open the dashboard on (DISPLAY and WAYLAND_DISPLAY are unset).",
            "Run it on a desktop, under Xvfb (xvfb-run neurodeck gui ...), or decode headless "
            "with `neurodeck decode`.",
        )
    from neurodeck.app.dashboard.window import TABS, MainWindow
    from neurodeck.control.core import DashboardCore
    from neurodeck.control.settings import CoreSettings, load_settings
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    settings = load_settings(launch.config)
    dash = settings.dashboard
    if launch.speed is not None:
        dash = dash.replace(replay_speed=launch.speed)
    if launch.loop:
        dash = dash.replace(replay_loop=True)
    settings = settings.replace(dashboard=dash)
    core = DashboardCore(CoreSettings.from_settings(settings))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("neurodeck")
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=False, background="w", foreground="k")
    window = MainWindow(core, settings)
    window.show()
    core.refresh_streams()
    if launch.replay:
        window.replay(launch.replay)
    elif launch.simulate:
        core.simulate(launch.simulate)
    elif launch.stream:
        core.connect(launch.stream)
    if launch.model is not None:
        core.load_model(launch.model)
        window.tabs.setCurrentIndex(3)
    if launch.tab:
        window.tabs.setCurrentIndex([t.lower() for t in TABS].index(launch.tab))
    if launch.screenshot is not None:
        shot = launch.screenshot

        def take() -> None:
            shot.parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(shot))
            print(f"wrote {shot}", flush=True)

        QTimer.singleShot(int(launch.shot_after * 1000), take)
    if launch.quit_after is not None:
        QTimer.singleShot(int(launch.quit_after * 1000), window.close)
    code = app.exec()
    if launch.stats is not None:
        launch.stats.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(launch.stats, json.dumps(window.stats.summary(), indent=2) + "\n")
    return code
