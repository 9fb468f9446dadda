"""``neurodeck loop``: the whole calibrate-then-decode loop for one EEGBCI subject, on LSL.

How a user checks a pipeline on public data, and what the demo runs:

1. replay the subject's imagery runs 4 and 8 as an LSL headset (separate process, markers
   included, at ``--calib-speed``);
2. ``calibrate --from-markers`` on that stream: record it crash-safe, cut trials at the replayed
   T1/T2 markers, re-centre and fine-tune the shipped cross-subject network, fit the Riemannian
   reference, cross-validate, choose the decoder, write the subject profile;
3. replay run 12 (at ``--speed``) and decode it live with the profile's decoder;
4. report the online accuracy against the replayed markers, and the latency.

Every step is the code a live session runs; only the headset is a replay.
"""

from __future__ import annotations

import argparse
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from neurodeck.app.cli import write_json
from neurodeck.common.types import RecordingError

#: EEGBCI imagery runs: T1 = left fist, T2 = right fist.
EEGBCI_CLASSES = {"T1": "left", "T2": "right"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``loop``."""
    p = sub.add_parser(
        "loop", help="replay EEGBCI runs 4+8, calibrate on them, replay run 12 and decode it"
    )
    p.add_argument("--subject", type=int, default=1, help="EEGBCI subject (default 1)")
    p.add_argument(
        "--data", type=Path, help="data root (default: $NEURODECK_DATA or ../shared/data)"
    )
    add_loop_options(p, speed=10.0)
    p.add_argument("--out", type=Path, default=Path("runs/loop"), help="profiles and logs")
    p.add_argument("--json", type=Path, help="write the summary as JSON")
    p.set_defaults(handler=cmd_loop)


def add_loop_options(p: argparse.ArgumentParser, speed: float) -> None:
    """Options shared by ``loop`` and ``demo``."""
    from neurodeck.app.calibrate_command import add_choice_options

    p.add_argument("--speed", type=float, default=speed, help=f"test replay speed ({speed:g})")
    p.add_argument(
        "--calib-speed", type=float, default=10.0, help="calibration replay speed (default 10)"
    )
    p.add_argument(
        "--model",
        type=Path,
        help="network to calibrate (default: mi_shallow64, the shipped 64-channel EEGBCI model)",
    )
    p.add_argument("--cv-folds", type=int, default=5, help="cross-validation folds (0 skips)")
    p.add_argument("--epochs", type=int, help="fine-tuning epochs (default: the network's recipe)")
    add_choice_options(p)
    p.add_argument("--device", help="fine-tuning device: auto, cpu, cuda[:N]")


def calibrate_by_replay(args: argparse.Namespace, calibration: list[Path], out: Path) -> Any:
    """Replay the calibration runs, record them with their markers, fit; returns the profile."""
    from neurodeck.app.calibrate_command import DEFAULT_ENCODER, calibration_settings
    from neurodeck.app.demo import start_replay
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
    proc = start_replay(calibration, args.calib_speed, name, f"{name}-eeg", out / "replay.log")
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
        _finish(proc)
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


def _finish(proc: subprocess.Popen) -> None:
    try:
        proc.wait(timeout=10.0)
    except subprocess.TimeoutExpired:
        proc.terminate()


def decode_test_run(args: argparse.Namespace, profile: Any, test: list[Path], out: Path) -> dict:
    """Replay the test run and decode it live with the profile; returns the decode summary."""
    from neurodeck.app.demo import decode_replay, recording_length, start_replay

    name = f"neurodeck-test-{uuid.uuid4().hex[:6]}"
    proc = start_replay(test, args.speed, name, f"{name}-eeg", out / "replay-test.log")
    print(
        f"decoding: replaying {test[0].name} as '{name}' at x{args.speed:g} through the live path:",
        flush=True,
    )
    return decode_replay(
        args, profile.path, name, proc, out, str(test[0]), recording_length(test[0])
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


def cmd_loop(args: argparse.Namespace) -> int:
    """Run the loop for one subject."""
    from neurodeck.app.commands import check_speed
    from neurodeck.app.demo import find_data

    check_speed(args.speed)
    check_speed(args.calib_speed)
    data = find_data(args.data, args.subject)
    if data is None:
        raise RecordingError(
            f"No EEGBCI runs 4, 8 and 12 of subject {args.subject} found (and none downloaded).",
            "Point --data (or $NEURODECK_DATA) at a folder holding MNE-eegbci-data.",
        )
    out = args.out / f"S{args.subject:03d}"
    summary = run_loop(args, data.calibration, data.test, out)
    score = summary["online"]["online_score"]
    decoder = summary["calibration"]["decoder"]
    print(
        f"loop S{args.subject:03d}: online accuracy on run 12 with the {decoder} decoder: "
        f"window {score['window_accuracy']:.3f}, trial {score['trial_accuracy']:.3f} "
        f"({summary['seconds']:.0f} s in all)"
    )
    write_json(args.json, {"subject": args.subject, **summary})
    return 0
