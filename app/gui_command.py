"""``neurodeck gui``: open the dashboard, optionally replaying a recording and decoding it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from neurodeck.common.types import ConfigError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``gui``."""
    p = sub.add_parser("gui", help="open the dashboard (PyQt6)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--replay", nargs="+", type=Path, metavar="FILE", help="replay recordings")
    src.add_argument("--simulate", type=int, nargs="?", const=32, metavar="CH", help="simulator")
    src.add_argument("--stream", help="connect to this LSL stream (name or source_id)")
    p.add_argument("--speed", type=float, help="replay speed (default: the settings', 1)")
    p.add_argument("--loop", action="store_true", help="replay in a loop")
    p.add_argument("--model", type=Path, help="subject profile (or checkpoint) to decode with")
    p.add_argument("--settings", type=Path, help="dashboard settings TOML")
    p.add_argument("--tab", choices=("signals", "spectrum", "calibration", "decoding", "emotion"))
    p.add_argument("--screenshot", type=Path, help="save a PNG of the window (after --shot-after)")
    p.add_argument("--shot-after", type=float, default=8.0, help="seconds before the screenshot")
    p.add_argument("--quit-after", type=float, help="close the window after S seconds")
    p.add_argument("--stats", type=Path, help="write frame statistics as JSON on exit")
    p.set_defaults(handler=cmd_gui)


@dataclass
class DashboardLaunch:
    """What the dashboard does on start (from ``neurodeck gui`` or the demo)."""

    replay: list[Path] = field(default_factory=list)
    speed: float | None = None
    loop: bool = False
    simulate: int | None = None
    stream: str | None = None
    model: Path | None = None
    settings: Path | None = None
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
    from neurodeck.app.dashboard.core import CoreSettings, DashboardCore
    from neurodeck.app.dashboard.gui_settings import load_gui_settings
    from neurodeck.app.dashboard.window import TABS, MainWindow
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    settings = load_gui_settings(launch.settings)
    if launch.speed is not None:
        settings = settings.replace(replay_speed=launch.speed)
    if launch.loop:
        settings = settings.replace(replay_loop=True)
    notch = settings.notch_hz or None
    core = DashboardCore(
        CoreSettings(
            notch_hz=notch,
            cv_folds=settings.cv_folds,
            out_dir=Path(settings.out_dir),
            affective_smoothing_s=settings.affective_smoothing_s,
        )
    )
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
        launch.stats.write_text(json.dumps(window.stats.summary(), indent=2) + "\n")
    return code


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the dashboard."""
    return run_dashboard(
        DashboardLaunch(
            replay=list(args.replay or []),
            speed=args.speed,
            loop=args.loop,
            simulate=args.simulate,
            stream=args.stream,
            model=args.model,
            settings=args.settings,
            tab=args.tab,
            screenshot=args.screenshot,
            shot_after=args.shot_after,
            quit_after=args.quit_after,
            stats=args.stats,
        )
    )
