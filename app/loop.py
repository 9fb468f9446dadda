"""``neurodeck loop``: the whole calibrate-then-decode loop for one EEGBCI subject, on LSL.

How a user checks a pipeline on public data, and what the demo runs:

1. replay the subject's imagery runs 4 and 8 as an LSL headset (separate process, markers
   included, at ``--calib-speed``);
2. ``calibrate --from-markers`` on that stream: record it crash-safe, cut trials at the replayed
   T1/T2 markers, re-centre and fine-tune the shipped cross-subject network, fit the Riemannian
   reference, cross-validate, choose the decoder, write the subject profile;
3. replay run 12 (at ``--speed``) and decode it live with the profile's decoder;
4. report the online accuracy against the replayed markers, and the latency.

Every step is the code a live session runs (:mod:`neurodeck.app.replay_loop`); only the
headset is a replay.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neurodeck.app.options import add_loop_options
from neurodeck.app.replay_loop import find_data, run_loop
from neurodeck.common.jsonio import write_json
from neurodeck.common.types import RecordingError
from neurodeck.control.children import check_speed
from neurodeck.control.settings import load_settings


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


def cmd_loop(args: argparse.Namespace) -> int:
    """Run the loop for one subject."""
    check_speed(args.speed)
    check_speed(args.calib_speed)
    data = find_data(args.data or load_settings(args.config).data.root, args.subject)
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
