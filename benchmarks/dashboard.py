"""Dashboard frame-rate benchmark (issue 5): the scope at 30 frames/s, and frames while fine-tuning.

Runs the real dashboard (core, window, views) on a real LSL stream from the simulator child
process and measures, on the GUI thread:

1. ``scope``: the Signals tab drawing every channel over the scope span (default 64 channels x
   10 s at 250 Hz), for ``--seconds``;
2. ``naive``: the same data drawn the textbook way (one full-resolution curve per channel), in the
   same process and window: the baseline the ratios are taken against;
3. ``finetune``: the scope again while ``neurodeck calibrate`` fine-tunes an encoder on EEGBCI
   runs 4 and 8 in the background (the child process the dashboard's calibration starts).

Figures: frames per second, frame-code time (``frame()``) and paint time of the plot views
(p50 / p99 / max), the longest gap between two frames (what a user sees as a freeze), and the GUI
thread's CPU time per wall second (``time.thread_time`` on that thread). Goals: >= 30 frames/s
with the GUI thread at <= 30 % of a core, and no gap over 100 ms while fine-tuning runs.

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/dashboard.py --json results/dashboard.json
    xvfb-run -s "-screen 0 1920x1080x24" python benchmarks/dashboard.py   # a real X server
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from neurodeck.streaming.lsl_env import use_machine_scope  # noqa: E402

use_machine_scope(force=True)

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from neurodeck.control.children import Child, spawn  # noqa: E402
from neurodeck.control.snapshot import CoreSnapshot  # noqa: E402
from PyQt6.QtCore import QEventLoop, QTimer  # noqa: E402
from PyQt6.QtWidgets import QApplication, QWidget  # noqa: E402

PAINTS: list[float] = []


def _timed_paint() -> None:
    """Time every paint of a pyqtgraph view (the scope's drawing happens there, not in frame())."""
    original = pg.GraphicsView.paintEvent

    def paint(self, ev):
        t0 = time.perf_counter()
        original(self, ev)
        PAINTS.append(time.perf_counter() - t0)

    pg.GraphicsView.paintEvent = paint


class NaiveScope(QWidget):
    """Baseline: one full-resolution PlotDataItem per channel, redrawn every frame."""

    def __init__(self) -> None:
        super().__init__()
        from PyQt6.QtWidgets import QVBoxLayout

        self.plot = pg.PlotWidget()
        QVBoxLayout(self).addWidget(self.plot)
        self.curves: list[pg.PlotDataItem] = []

    def render(self, snap: CoreSnapshot) -> None:
        sig = snap.signal
        if sig is None:
            return
        data = sig.filtered
        if len(self.curves) != data.shape[0]:
            self.plot.clear()
            self.curves = [self.plot.plot(pen=pg.mkPen("k", width=1)) for _ in range(len(data))]
        x = (np.arange(data.shape[1]) - data.shape[1]) / sig.sfreq
        for i, curve in enumerate(self.curves):
            curve.setData(x, data[i] / 50.0 - i)


def pump(seconds: float) -> None:
    """Run the Qt event loop for ``seconds``."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def measure(window, seconds: float, stop=None) -> dict:
    """Frame statistics over ``seconds`` (or until ``stop()`` is true)."""
    window.stats.reset()
    PAINTS.clear()
    t0 = time.monotonic()
    t_end = t0 + seconds
    while time.monotonic() < t_end and not (stop and stop()):
        pump(0.25)
    out = window.stats.summary()
    paints = np.array(PAINTS) * 1e3 if PAINTS else np.zeros(1)
    out.update(
        paint_p50_ms=float(np.percentile(paints, 50)),
        paint_p99_ms=float(np.percentile(paints, 99)),
        paint_max_ms=float(paints.max()),
        paints=len(PAINTS),
        seconds=round(time.monotonic() - t0, 1),
    )
    return out


def start_finetune(out: Path, data: Path | None) -> Child | None:
    """``neurodeck calibrate`` on EEGBCI S1 runs 4+8 in a child, as the dashboard runs it."""
    from neurodeck.common.paths import data_roots
    from neurodeck.streaming.recording_io import eegbci_run_files

    for root in data_roots(data):
        try:
            runs = eegbci_run_files(root, 1, [4, 8])
            break
        except Exception:  # try the next root
            continue
    else:
        return None
    args = ["calibrate", "--recording", *map(str, runs), "--out", str(out), "--cv-folds", "3"]
    return spawn(args, single_thread=True)


def row(name: str, s: dict) -> str:
    return (
        f"{name:10s} {s['fps']:6.1f} {s['frame_p50_ms']:7.2f} {s['frame_p99_ms']:7.2f} "
        f"{s['paint_p50_ms']:7.2f} {s['paint_p99_ms']:7.2f} {s['interval_max_ms']:8.1f} "
        f"{100 * s['gui_cpu_fraction']:6.1f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--sfreq", type=float, default=250.0)
    ap.add_argument("--span", type=float, default=10.0, help="scope span in seconds")
    ap.add_argument("--seconds", type=float, default=20.0, help="seconds per measurement")
    ap.add_argument("--finetune-s", type=float, default=90.0, help="longest fine-tuning phase")
    ap.add_argument("--data", type=Path, help="data root holding MNE-eegbci-data")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from neurodeck.app.dashboard.window import MainWindow
    from neurodeck.control.core import DashboardCore
    from neurodeck.control.settings import CoreSettings, DashboardSettings, Settings

    _timed_paint()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    pg.setConfigOptions(antialias=False, background="w", foreground="k")
    tmp = Path(tempfile.mkdtemp(prefix="neurodeck-bench-"))
    core = DashboardCore(CoreSettings(scope_s=max(20.0, args.span), out_dir=tmp))
    window = MainWindow(
        core, Settings(dashboard=DashboardSettings(scope_s=args.span, out_dir=str(tmp)))
    )
    window.resize(1600, 1000)
    window.show()
    core.simulate(args.channels, args.sfreq)
    deadline = time.monotonic() + 60
    need = int(args.span * args.sfreq)
    while time.monotonic() < deadline:
        pump(0.25)
        sig = window.snap.signal
        if sig is not None and sig.raw.shape[1] >= need and window.snap.spectrum is not None:
            break
    else:
        print(f"the simulator stream did not fill the scope: {window.snap.status}")
        return 1
    pump(1.0)
    results: dict = {}
    results["scope"] = measure(window, args.seconds)
    naive = NaiveScope()
    window.tabs.addTab(naive, "naive")
    window.tabs.setCurrentWidget(naive)
    results["naive"] = measure(window, args.seconds)
    window.tabs.setCurrentIndex(0)
    pump(1.0)
    child = start_finetune(tmp / "profile", args.data)
    if child is not None:
        pump(3.0)  # past the child's start-up, into the fine-tuning
        results["finetune"] = measure(window, args.finetune_s, stop=lambda: not child.running)
        results["finetune"]["child_exit"] = child.proc.poll()
        if child.running:
            child.stop()
    window.close()
    shape = f"{args.channels} ch x {args.span:g} s at {args.sfreq:g} Hz"
    print(f"dashboard benchmark: {shape}; Qt platform {app.platformName()}")
    print(f"{'':10s} {'fps':>6s} {'frame ms p50/p99':>15s} {'paint ms p50/p99':>15s} "
          f"{'gap ms':>8s} {'GUI %':>6s}")  # fmt: skip
    for name, s in results.items():
        print(row(name, s))
    scope, base = results["scope"], results["naive"]
    cost = lambda s: s["gui_cpu_fraction"] / max(s["fps"], 1e-9)  # noqa: E731
    ratio = cost(base) / cost(scope)
    print(f"GUI CPU per frame: scope {1e3 * cost(scope):.1f} ms, naive {1e3 * cost(base):.1f} ms "
          f"({ratio:.1f}x less)")  # fmt: skip
    goals = {
        "fps_ge_30": scope["fps"] >= 30.0,
        "gui_cpu_le_30pct": scope["gui_cpu_fraction"] <= 0.30,
    }
    if "finetune" in results:
        goals["no_gap_over_100ms_while_finetuning"] = results["finetune"]["interval_max_ms"] <= 100
    print("goals: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in goals.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "date": time.strftime("%Y-%m-%d"),
            "platform": app.platformName(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
            "python": platform.python_version(),
            "pyqtgraph": pg.__version__,
            "signal": shape,
            "results": results,
            "naive_over_scope_cpu_per_frame": round(ratio, 2),
            "goals": goals,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
