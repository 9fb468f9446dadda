"""``neurodeck gui``: open the dashboard, optionally replaying a recording and decoding it."""

from __future__ import annotations

import argparse
from pathlib import Path

from neurodeck.app.options import add_config_option


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
    p.add_argument("--tab", choices=("signals", "spectrum", "calibration", "decoding", "emotion"))
    p.add_argument("--screenshot", type=Path, help="save a PNG of the window (after --shot-after)")
    p.add_argument("--shot-after", type=float, default=8.0, help="seconds before the screenshot")
    p.add_argument("--quit-after", type=float, help="close the window after S seconds")
    p.add_argument("--stats", type=Path, help="write frame statistics as JSON on exit")
    add_config_option(p)
    p.set_defaults(handler=cmd_gui)


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the dashboard."""
    from neurodeck.app.dashboard.launch import DashboardLaunch, run_dashboard

    return run_dashboard(
        DashboardLaunch(
            replay=list(args.replay or []),
            speed=args.speed,
            loop=args.loop,
            simulate=args.simulate,
            stream=args.stream,
            model=args.model,
            config=args.config,
            tab=args.tab,
            screenshot=args.screenshot,
            shot_after=args.shot_after,
            quit_after=args.quit_after,
            stats=args.stats,
        )
    )
