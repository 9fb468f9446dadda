"""Make the documentation's pictures of the dashboard from a real replay, in a real window.

Run under a display (Xvfb on a server)::

    xvfb-run -s "-screen 0 1920x1200x24" .venv/bin/python scripts/screenshots.py \
        --profile runs/demo/profile --out docs

It replays EEGBCI subject 1 (``$NEURODECK_DATA`` or ``../shared/data``) through the real core and
window, and writes:

- ``dashboard.png``: 1600x1000, decoding run 12 with the profile (the README's picture);
- ``dashboard-1024x640.png``: the Signals tab at 1024x640, the smallest supported window;
- ``calibration-cues.png``: the full-screen cue display during a motor-imagery calibration.

Look at every picture before committing it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("LSLAPICFG", str(REPO / "streaming" / "lsl_machine.cfg"))


def main() -> int:
    """Write the three pictures; 0 on success."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", type=Path, required=True, help="a subject-1 profile folder")
    ap.add_argument("--data", type=Path, default=None, help="folder holding MNE-eegbci-data")
    ap.add_argument("--out", type=Path, default=REPO / "docs")
    args = ap.parse_args()

    import pyqtgraph as pg
    from neurodeck.app.dashboard.window import MainWindow
    from neurodeck.common.paths import data_roots
    from neurodeck.control.core import DashboardCore
    from neurodeck.control.settings import CoreSettings, DashboardSettings, Settings
    from neurodeck.streaming.recording_io import eegbci_run_files
    from PyQt6.QtWidgets import QApplication

    data = next(r for r in data_roots(args.data) if (r / "MNE-eegbci-data").is_dir())
    app = QApplication.instance() or QApplication(sys.argv[:1])
    pg.setConfigOptions(antialias=False, background="w", foreground="k")

    def wait(check: Callable[[], bool], timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            app.processEvents()
            if check():
                return
            time.sleep(0.01)
        snap = win.snap
        raise SystemExit(
            f"timed out after {timeout_s} s: {snap.connection}, status {snap.status!r}, "
            f"calibration {snap.calibration.phase} cue {snap.calibration.cue!r} "
            f"{snap.calibration.message!r}, errors {snap.errors}"
        )

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def shot(window: MainWindow, name: str) -> None:
        path = args.out / name
        window.grab().save(str(path))
        print(f"wrote {path} ({window.width()}x{window.height()})", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        dash = DashboardSettings(replay_speed=1.0, replay_loop=True, out_dir=tmp)
        settings = Settings(dashboard=dash)

        # 1. decoding run 12 with the profile
        core = DashboardCore(CoreSettings.from_settings(settings))
        win = MainWindow(core, settings)
        win.resize(1600, 1000)
        win.show()
        win.replay(eegbci_run_files(data, 1, [12]))
        wait(lambda: win.snap.signal is not None, 30.0)
        core.load_model(args.profile.resolve())
        win.tabs.setCurrentIndex(3)
        wait(lambda: win.snap.decoding is not None and len(win.snap.decoding.times) > 40, 60.0)
        settle(20.0)  # a full 30 s of predictions on the plot
        shot(win, "dashboard.png")

        # 2. the Signals tab at 1024x640
        win.tabs.setCurrentIndex(0)
        win.showNormal()
        win.resize(1024, 640)
        settle(3.0)
        shot(win, "dashboard-1024x640.png")

        # 3. full-screen cues during a calibration on run 4
        core.stop_decoding()
        win.replay(eegbci_run_files(data, 1, [4]))
        wait(lambda: win.snap.source is not None and "R04" in win.snap.source.label, 30.0)
        wait(lambda: win.snap.connection == "connected", 30.0)
        win.resize(1280, 800)
        win.start_calibration()
        win.fullscreen_cues()
        cal = lambda: win.snap.calibration  # noqa: E731
        wait(lambda: cal().phase == "cues" and str(cal().cue).startswith("cue_"), 90.0)
        wait(lambda: cal().cue_age_s > 1.0, 10.0)
        display = win.calibration.full_screen_display
        path = args.out / "calibration-cues.png"
        display.grab().save(str(path))
        print(f"wrote {path} ({display.width()}x{display.height()}, cue {cal().cue})")
        core.abort_calibration()
        settle(1.0)
        win.close()
        core.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
