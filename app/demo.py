"""The demo: calibrate on two recorded runs, replay a third as if it were a headset, decode it live.

1. Find the EEGBCI data (``--data``, ``$NEURODECK_DATA``, ``../shared/data``, else mne's download),
   falling back to the built-in simulator, saying so.
2. Calibrate: replay runs 4 and 8 (imagined left vs right fist) as an LSL headset, record them
   with their markers, fine-tune the shipped encoder and fit the Riemannian reference
   (:mod:`neurodeck.app.replay_loop`, the same code as ``neurodeck calibrate --from-markers``).
3. Replay run 12 on LSL in a separate process (EEG + markers, true timestamps).
4. Decode it through the live path with the better decoder. With a display (and no
   ``--headless``) the dashboard opens on the replay, looping run 12 at real speed, and shows the
   scope, the spectra, the probabilities against the true cues and the health figures until the
   window is closed. Without one, the terminal prints predictions against the true cues, then a
   summary, and the run ends.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from neurodeck.app.demo_sim import run_simulated_demo
from neurodeck.app.replay_loop import DemoData, calibrate_by_replay, find_data, run_loop
from neurodeck.common.jsonio import write_json
from neurodeck.control.children import check_speed
from neurodeck.control.settings import load_settings


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    check_speed(args.speed)
    settings = load_settings(args.config)  # a wrong setting stops here, before any work
    gui = not args.headless and bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    data = find_data(args.data or settings.data.root, args.subject)
    if data is None:
        print(
            "No EEGBCI data found and none could be downloaded: the demo falls back to "
            "neurodeck's built-in simulator (synthetic EEG, not a real recording)."
        )
        return run_simulated_demo(args, out)
    print(f"neurodeck demo: {data.origin}")
    if gui:
        return _dashboard_demo(args, data, out)
    summary = run_loop(args, data.calibration, data.test, out)
    write_json(args.json, {"data": data.origin, **summary})
    return 0


def _dashboard_demo(args: argparse.Namespace, data: DemoData, out: Path) -> int:
    """Calibrate by replay in the terminal, then open the dashboard decoding the test run live."""
    from neurodeck.app.dashboard.launch import DashboardLaunch, run_dashboard

    profile, _ = calibrate_by_replay(args, data.calibration, out)
    print(
        f"opening the dashboard: replaying {data.test[0].name} in a loop (x1) and decoding it "
        f"with {profile.path}. Close the window to end the demo.",
        flush=True,
    )
    return run_dashboard(
        DashboardLaunch(
            replay=list(data.test), speed=1.0, loop=True, model=profile.path, config=args.config
        )
    )
