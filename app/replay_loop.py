"""The calibrate-then-decode loop on replayed recordings, shared by ``loop`` and ``demo``.

1. replay the calibration runs as an LSL headset (a child process, markers included);
2. record them crash-safe and calibrate on the replayed cue markers, as
   ``neurodeck calibrate --from-markers`` does;
3. replay the test run and decode it live through the same path as ``neurodeck decode``;
4. report the online accuracy against the replayed markers, and the latency.

Every step is the code a live session runs; only the headset is a replay.
"""

from __future__ import annotations

import argparse
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from neurodeck.app.status import StatusPrinter, summary_dict, summary_text
from neurodeck.calibration.defaults import DEFAULT_ENCODER, calibration_settings
from neurodeck.common.paths import data_roots
from neurodeck.common.types import Prediction, RecordingError
from neurodeck.control.children import Child, replay_args, spawn
from neurodeck.control.settings import load_settings

logger = logging.getLogger(__name__)

CALIBRATION_RUNS = (4, 8)
TEST_RUN = 12

#: EEGBCI imagery runs: T1 = left fist, T2 = right fist.
EEGBCI_CLASSES = {"T1": "left", "T2": "right"}


@dataclass(frozen=True)
class DemoData:
    """Where the demo's calibration and test signals come from."""

    calibration: list[Path]
    test: list[Path]
    origin: str


def find_data(explicit: Path | None, subject: int) -> DemoData | None:
    """EEGBCI files for the demo, or None when neither a folder nor a download has them."""
    from neurodeck.streaming.recording_io import eegbci_run_files

    for root in data_roots(explicit):
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


def calibrate_by_replay(args: argparse.Namespace, calibration: list[Path], out: Path) -> Any:
    """Replay the calibration runs, record them with their markers, fit; returns the profile."""
    from neurodeck.calibration.calibrate import calibrate_recordings, load_base_encoder
    from neurodeck.calibration.live import record_from_markers
    from neurodeck.calibration.trials import load_calibration_source
    from neurodeck.streaming.lsl_io import resolve_stream

    base = load_base_encoder(args.model or DEFAULT_ENCODER)
    note = leakage_note(base.meta.training, getattr(args, "subject", None))
    if note:
        print(f"note: {note}", flush=True)
    name = f"neurodeck-calib-{uuid.uuid4().hex[:6]}"
    out.mkdir(parents=True, exist_ok=True)
    child = spawn(
        replay_args(calibration, speed=args.calib_speed, name=name), log=out / "replay.log"
    )
    print(
        f"calibration: replaying {', '.join(p.name for p in calibration)} as '{name}' at "
        f"x{args.calib_speed:g}; recording it with its markers",
        flush=True,
    )
    try:
        eeg = resolve_stream(name=name, stream_type="EEG", timeout_s=30.0)
        markers = resolve_stream(name=f"{name}-markers", stream_type="Markers", timeout_s=5.0)
        recorded = record_from_markers(
            eeg,
            markers,
            out / "profile" / "recording",
            EEGBCI_CLASSES,
            progress=lambda line: print(f"  {line}", end="\r", flush=True),
            overwrite=True,
        )
    finally:
        child.wait(10.0)
    print(f"\n  recording done ({recorded.reason}): {recorded.path}", flush=True)
    profile, report = calibrate_recordings(
        [load_calibration_source(recorded.path)],
        base,
        EEGBCI_CLASSES,
        ("left", "right"),
        out / "profile",
        calibration_settings(args.cv_folds, args.epochs, chooser=args.choose),
        subject=out.name,
        progress=lambda line: print(f"  {line}", flush=True),
        recording_ended=recorded.ended,
        device=args.device,
    )
    scores = report["scores"]
    figures = ", ".join(f"{k} {v['cv_accuracy']:.2f}" for k, v in scores.items()) or "skipped"
    print(
        f"  profile {profile.path}: model ready {report['timings']['ready_s']:.1f} s after the "
        f"recording; cross-validated accuracy {figures}; decoding with {profile.decoder} "
        f"({report['decoder_reason']})",
        flush=True,
    )
    return profile, report


def leakage_note(training: dict[str, Any], subject: int | None) -> str | None:
    """A warning when the network was trained on the subject being decoded, else None.

    The shipped networks leave out EEGBCI subject 1, the demo's; decoding any other shared
    subject with them scores runs the network has seen (run 12 included): optimistic figures.
    """
    seen = training.get("subjects") or []
    if subject is None or int(subject) not in [int(s) for s in seen]:
        return None
    return (
        f"the network was trained on EEGBCI subject {subject}'s runs, run 12 included, so "
        "this accuracy is optimistic. Subject 1 is left out of the shipped networks; "
        "`neurodeck evaluate --encoders mi_shallow64` gives leave-subjects-out figures."
    )


def decode_test_run(args: argparse.Namespace, profile: Any, test: list[Path], out: Path) -> dict:
    """Replay the test run and decode it live with the profile; returns the decode summary."""
    name = f"neurodeck-test-{uuid.uuid4().hex[:6]}"
    child = spawn(replay_args(test, speed=args.speed, name=name), log=out / "replay-test.log")
    print(
        f"decoding: replaying {test[0].name} as '{name}' at x{args.speed:g} through the live path:",
        flush=True,
    )
    return decode_replay(
        args, profile.path, name, child, out, str(test[0]), recording_length(test[0])
    )


def run_loop(args: argparse.Namespace, calibration: list[Path], test: list[Path], out: Path):
    """Calibrate by replay, decode the test run; returns the combined summary."""
    t0 = time.perf_counter()
    profile, report = calibrate_by_replay(args, calibration, out)
    online = decode_test_run(args, profile, test, out)
    return {
        "calibration": {
            "profile": str(profile.path),
            "decoder": profile.decoder,
            "trials": report["trials"],
            "cv": report["cv"],
            "cv_accuracy": {k: v["cv_accuracy"] for k, v in report["scores"].items()},
            "timings": report["timings"],
        },
        "online": online,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def recording_length(path: Path) -> int:
    """Number of samples in a recording, from its header."""
    import mne

    return int(mne.io.read_raw(path, preload=False, verbose="error").n_times)


def decode_replay(
    args: argparse.Namespace,
    model_path: Path,
    name: str,
    child: Child,
    out: Path,
    origin: str,
    n_samples: int | None,
) -> dict:
    """Decode the stream ``name`` until all ``n_samples`` arrived (or the publisher exits).

    Decoding follows the ``[decode]`` and ``[acquisition]`` settings (``args.config``), as
    ``neurodeck decode`` does. Returns the summary: latency and health figures, and the accuracy
    against the replayed cues.
    """
    from neurodeck.calibration.decoders import load_decoder_spec
    from neurodeck.streaming.lsl_io import resolve_stream
    from neurodeck.streaming.session import DecodeSession
    from neurodeck.streaming.sinks import JSONLSink

    settings = load_settings(getattr(args, "config", None))
    spec, _ = load_decoder_spec(model_path)
    collected: list[Prediction] = []
    try:
        eeg = resolve_stream(name=name, stream_type="EEG", timeout_s=20.0)
        markers = resolve_stream(name=f"{name}-markers", stream_type="Markers", timeout_s=5.0)
        jsonl = JSONLSink(out / "predictions.jsonl")
        session = DecodeSession(
            eeg,
            spec,
            hop_s=settings.decode.hop_s,
            device=settings.decode.device,
            deadline_s=settings.decode.deadline_s,
            settings=settings.acquisition,
            sinks=[jsonl, collected.append],
            marker_info=markers,
        ).start()
        try:
            _watch(session, child, n_samples, collected, spec, args.speed)
        finally:
            session.stop()
            jsonl.close()
    finally:
        child.wait(5.0)  # the publisher lingers until our inlet is gone, then exits
    if child.proc.returncode not in (0, -15):
        raise RecordingError(
            f"The {child.command} process failed: {child.failure()} (log: {child.log}).",
            f"Run `neurodeck {child.command}` by hand to see why.",
        )
    summary = _summarise(session, collected, spec, args.speed)
    summary.update({"data": origin, "model": str(model_path), "speed": args.speed})
    return summary


def _watch(
    session, child: Child, n_samples: int | None, collected: list[Prediction], spec, speed: float
) -> None:
    """Print status and trials until every sample arrived (or the publisher ended)."""
    from neurodeck.streaming.lsl_io import local_clock

    printer = StatusPrinter()
    reporter = TrialReporter(spec.class_names, dict(spec.marker_classes), speed, printer.tty)
    t_complete = None
    while t_complete is None or time.monotonic() - t_complete < 0.3:
        if t_complete is None and (
            (n_samples is not None and session.acquisition.raw.n_written >= n_samples)
            or not child.running
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
