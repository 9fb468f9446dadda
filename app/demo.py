"""The demo: calibrate on two recorded runs, replay a third as if it were a headset, decode it live.

1. Find the EEGBCI data (``--data``, ``$NEURODECK_DATA``, ``../shared/data``, else mne's download),
   falling back to the built-in simulator, saying so.
2. Calibrate: replay runs 4 and 8 (imagined left vs right fist) as an LSL headset, record them
   with their markers, fine-tune the shipped encoder and fit the Riemannian reference
   (:mod:`app.loop`, the same code as ``neurodeck calibrate --from-markers``).
3. Replay run 12 on LSL in a separate process (EEG + markers, true timestamps).
4. Decode it through the live path with the better decoder. With a display (and no
   ``--headless``) the dashboard opens on the replay, looping run 12 at real speed, and shows the
   scope, the spectra, the probabilities against the true cues and the health figures until the
   window is closed. Without one, the terminal prints predictions against the true cues, then a
   summary, and the run ends.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from neurodeck.app.cli import write_json
from neurodeck.app.status import StatusPrinter, summary_text
from neurodeck.common.types import Prediction, RecordingError

logger = logging.getLogger(__name__)

CALIBRATION_RUNS = (4, 8)
TEST_RUN = 12


@dataclass(frozen=True)
class DemoData:
    """Where the demo's calibration and test signals come from."""

    calibration: list[Path]
    test: list[Path]
    origin: str


def repo_root() -> Path:
    """The checkout holding the ``app`` package."""
    return Path(__file__).resolve().parents[1]


def candidate_roots(explicit: Path | None) -> list[Path]:
    """Data roots to try, in order."""
    roots = [explicit] if explicit else []
    if os.environ.get("NEURODECK_DATA"):
        roots.append(Path(os.environ["NEURODECK_DATA"]))
    roots.append(repo_root().parent / "shared" / "data")
    return roots


def find_data(explicit: Path | None, subject: int) -> DemoData | None:
    """EEGBCI files for the demo, or None when neither a folder nor a download has them."""
    from neurodeck.streaming.recording_io import eegbci_run_files

    for root in candidate_roots(explicit):
        try:
            calib = eegbci_run_files(root, subject, list(CALIBRATION_RUNS))
            test = eegbci_run_files(root, subject, [TEST_RUN])
            return DemoData(calib, test, f"EEGBCI subject {subject} from {root}")
        except RecordingError as exc:
            logger.info("no demo data in %s: %s", root, exc.problem)
    try:
        import mne

        root = Path(mne.get_config("MNE_DATA", str(Path.home() / "mne_data")))
        calib = eegbci_run_files(root, subject, list(CALIBRATION_RUNS), allow_download=True)
        test = eegbci_run_files(root, subject, [TEST_RUN], allow_download=True)
        return DemoData(calib, test, f"EEGBCI subject {subject}, downloaded to {root}")
    except (RecordingError, OSError) as exc:
        logger.info("EEGBCI download failed: %s", exc)
        return None


def start_replay(
    paths: list[Path], speed: float, name: str, source_id: str, log: Path
) -> subprocess.Popen:
    """``neurodeck replay`` of ``paths`` in a child process that waits for a consumer."""
    cmd = [
        sys.executable,
        "-m",
        "neurodeck",
        "replay",
        *map(str, paths),
        "--speed",
        str(speed),
        "--name",
        name,
        "--source-id",
        source_id,
        "--wait-for-consumer",
        "30",
    ]
    return subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=log.open("w"), cwd=repo_root(), env=dict(os.environ)
    )


def _start_simulator(speed: float, name: str, duration_s: float, log: Path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "neurodeck",
        "simulate",
        "--name",
        name,
        "--channels",
        "32",
        "--speed",
        str(speed),
        "--duration",
        str(duration_s),
        "--seed",
        "7",
        "--wait-for-consumer",
        "30",
    ]
    return subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=log.open("w"), cwd=repo_root(), env=dict(os.environ)
    )


class TrialReporter:
    """Prints each cued trial's decoded class once its scoring span (cue + 1..4 s) has passed."""

    def __init__(
        self,
        classes: tuple[str, ...],
        marker_classes: dict[str, str],
        speed: float,
        tty: bool = False,
    ):
        self.classes, self.marker_classes, self.speed = classes, marker_classes, speed
        self.prefix = "\r\x1b[2K" if tty else ""
        self.reported: set[float] = set()
        self.n_correct = 0

    def update(self, cues, predictions: list[Prediction], now: float) -> None:
        """Report the trials whose window span is complete at ``now``."""
        for cue in cues:
            label = self.marker_classes.get(cue.label)
            end = cue.timestamp + 4.0 / self.speed
            if label is None or cue.timestamp in self.reported or now < end + 0.05:
                continue
            probs = [
                p.probabilities
                for p in predictions
                if cue.timestamp + 1.0 / self.speed - 1e-6 <= p.t_last <= end + 1e-6
            ]
            if not probs:
                continue
            self.reported.add(cue.timestamp)
            mean = np.mean(probs, axis=0)
            decoded = self.classes[int(mean.argmax())]
            ok = decoded == label
            self.n_correct += ok
            print(
                f"{self.prefix}  trial {len(self.reported):2d}: cue {label:5s} -> decoded "
                f"{decoded:5s} (p={mean.max():.2f}, {len(probs)} windows) "
                f"{'correct' if ok else 'wrong'}",
                flush=True,
            )


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    from neurodeck.app.commands import check_speed

    check_speed(args.speed)
    gui = not args.headless and bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    from neurodeck.app.settings import load_settings

    data = find_data(args.data or load_settings(args.config).data.root, args.subject)
    if data is None:
        print(
            "No EEGBCI data found and none could be downloaded: the demo falls back to "
            "neurodeck's built-in simulator (synthetic EEG, not a real recording)."
        )
        from neurodeck.app.demo_sim import run_simulated_demo

        return run_simulated_demo(args, out)
    print(f"neurodeck demo: {data.origin}")
    if gui:
        return _dashboard_demo(args, data, out)
    from neurodeck.app.loop import run_loop

    summary = run_loop(args, data.calibration, data.test, out)
    write_json(args.json, {"data": data.origin, **summary})
    return 0


def _dashboard_demo(args: argparse.Namespace, data: DemoData, out: Path) -> int:
    """Calibrate by replay in the terminal, then open the dashboard decoding the test run live."""
    from neurodeck.app.gui_command import DashboardLaunch, run_dashboard
    from neurodeck.app.loop import calibrate_by_replay

    profile, _ = calibrate_by_replay(args, data.calibration, out)
    print(
        f"opening the dashboard: replaying {data.test[0].name} in a loop (x1) and decoding it "
        f"with {profile.path}. Close the window to end the demo.",
        flush=True,
    )
    return run_dashboard(
        DashboardLaunch(replay=list(data.test), speed=1.0, loop=True, model=profile.path)
    )


def recording_length(path: Path) -> int:
    """Number of samples in a recording, from its header."""
    import mne

    return int(mne.io.read_raw(path, preload=False, verbose="error").n_times)


def decode_replay(
    args: argparse.Namespace,
    model_path: Path,
    name: str,
    proc: subprocess.Popen,
    out: Path,
    origin: str,
    n_samples: int,
) -> dict:
    """Decode the demo stream until all ``n_samples`` arrived (or the publisher exits).

    Returns the summary: latency and health figures, and the accuracy against the replayed cues.
    """
    from neurodeck.app.commands import load_decoder_spec
    from neurodeck.streaming.lsl_io import resolve_stream
    from neurodeck.streaming.session import DecodeSession
    from neurodeck.streaming.sinks import JSONLSink

    spec, _ = load_decoder_spec(model_path)
    collected: list[Prediction] = []
    try:
        eeg = resolve_stream(name=name, stream_type="EEG", timeout_s=20.0)
        markers = resolve_stream(name=f"{name}-markers", stream_type="Markers", timeout_s=5.0)
        jsonl = JSONLSink(out / "predictions.jsonl")
        session = DecodeSession(
            eeg, spec, hop_s=0.25, sinks=[jsonl, collected.append], marker_info=markers
        ).start()
        try:
            _watch(session, proc, n_samples, collected, spec, args.speed)
        finally:
            session.stop()
            jsonl.close()
    finally:
        try:
            proc.wait(timeout=5.0)  # the replay lingers until our inlet is gone, then exits
        except subprocess.TimeoutExpired:
            proc.terminate()
    if proc.returncode not in (0, -15):
        raise RecordingError(
            f"The replay process failed (exit {proc.returncode}); see {out}/*.log.",
            "Run `neurodeck replay FILE` by hand to see why.",
        )
    summary = _summarise(session, collected, spec, args.speed)
    summary.update({"data": origin, "model": str(model_path), "speed": args.speed})
    return summary


def _watch(session, proc, n_samples: int, collected: list[Prediction], spec, speed: float) -> None:
    """Print status and trials until every sample arrived, then let the last windows decode."""
    from neurodeck.streaming.lsl_io import local_clock

    printer = StatusPrinter()
    reporter = TrialReporter(spec.class_names, dict(spec.marker_classes), speed, printer.tty)
    t_complete = None
    while t_complete is None or time.monotonic() - t_complete < 0.3:
        if t_complete is None and (
            session.acquisition.raw.n_written >= n_samples or proc.poll() is not None
        ):
            t_complete = time.monotonic()
        printer.update(session.snapshot())
        reporter.update(session.markers.events(), list(collected), local_clock())
        time.sleep(0.05)
    reporter.update(session.markers.events(), list(collected), local_clock() + 10.0)
    printer.update(session.snapshot(), force=True)
    printer.finish()


def _summarise(session, collected: list[Prediction], spec, speed: float) -> dict:
    """Print and return the final figures, with accuracy against the replayed cues."""
    from neurodeck.app.status import summary_dict
    from neurodeck.calibration.scoring import score_online

    summary = summary_dict(session.snapshot())
    cues = [
        (m.timestamp, spec.class_names.index(spec.marker_classes[m.label]))
        for m in session.markers.events()
        if m.label in spec.marker_classes
    ]
    score = score_online(
        np.array([p.t_last for p in collected]),
        np.array([p.probabilities for p in collected]),
        cues,
        time_scale=1.0 / speed,
    )
    summary["online_score"] = score.to_dict()
    print(summary_text(summary))
    print(
        f"accuracy against the replayed cues: window {score.window_accuracy:.3f} "
        f"({score.n_windows} windows), trial {score.trial_accuracy:.3f} ({score.n_trials} trials)"
    )
    return summary
