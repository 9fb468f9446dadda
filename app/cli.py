"""``neurodeck <command>``: the one command-line entry point.

Commands import the core lazily, after the LSL configuration has been chosen (liblsl reads
``LSLAPICFG`` once, when pylsl is first imported).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from neurodeck.app.options import (
    add_config_option,
    add_data_option,
    add_loop_options,
    add_xdf_stream_option,
)
from neurodeck.common.paths import EEGBCI_SHARED_SUBJECTS
from neurodeck.control.children import EXIT_ORPHANED, die_with_parent

logger = logging.getLogger("neurodeck")

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = EXIT_ORPHANED


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    p.add_argument(
        "--local",
        action="store_true",
        help="keep LSL discovery on this machine (ResolveScope = machine)",
    )


def _add_publisher(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--wait-for-consumer",
        type=float,
        default=0.0,
        metavar="S",
        help="wait up to S seconds for a consumer before publishing (default 0)",
    )


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="neurodeck", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("streams", help="list the LSL streams visible now")
    p.add_argument("--timeout", type=float, default=2.0, help="seconds to listen (default 2)")
    p.add_argument("--json", type=Path, help="also write the list as JSON")

    p = sub.add_parser(
        "replay",
        help="replay recordings (EDF, BDF, FIF, GDF, BrainVision, XDF) on LSL",
        description="Publish recordings on LSL as a headset: the EEG stream, and its annotations "
        "(for XDF files: the markers of the file's marker streams, placed with the file's "
        "clock-corrected timestamps) on '<name>-markers'.",
    )
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--speed", type=float, default=1.0, help="replay speed factor (default 1)")
    p.add_argument("--loop", action="store_true", help="start again at the end, forever")
    p.add_argument("--name", default="neurodeck-replay", help="EEG stream name")
    p.add_argument("--source-id", help="stable LSL source_id (default: derived from name+files)")
    p.add_argument(
        "--chunk-s", type=float, default=0.02, help="signal seconds per push (default 0.02)"
    )
    p.add_argument(
        "--no-markers",
        dest="markers",
        action="store_false",
        help="publish the EEG stream alone, without '<name>-markers' (for mne-lsl consumers)",
    )
    add_xdf_stream_option(p)
    p.add_argument(
        "--allow-truncated",
        action="store_true",
        help="replay what an EDF/BDF/FIF/BrainVision/XDF file cut short holds (its complete "
        "records, buffers, samples or chunks; default: refuse it)",
    )
    _add_publisher(p)

    p = sub.add_parser("simulate", help="publish a synthetic motor-imagery headset on LSL")
    p.add_argument("--name", default="neurodeck-sim")
    p.add_argument("--channels", type=int, default=32, help="number of channels")
    p.add_argument("--sfreq", type=float, default=250.0)
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--seed", type=int, default=0)
    _add_publisher(p)

    p = sub.add_parser("decode", help="decode a live stream headless")
    p.add_argument("--stream", required=True, help="EEG stream name (or source_id with --by-id)")
    p.add_argument("--by-id", action="store_true", help="--stream is a source_id")
    p.add_argument("--model", required=True, type=Path, help="subject profile folder or checkpoint")
    p.add_argument(
        "--decoder",
        help="with a profile: which of its decoders (zeroshot, finetuned, reference, or the "
        "ensemble it holds; default: the one calibration chose)",
    )
    p.add_argument(
        "--markers", help="marker stream name to show true cues ('auto': <stream>-markers)"
    )
    p.add_argument("--jsonl", type=Path, help="append every prediction to this JSONL file")
    p.add_argument("--json", type=Path, help="write the final summary as JSON")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument(
        "--hop",
        type=float,
        help="seconds between windows (default: the settings' [decode] hop_s, 0.25)",
    )
    p.add_argument("--device", help="auto, cpu or cuda[:N] (default auto)")
    p.add_argument(
        "--outlet",
        help="prediction stream name (default: 'neurodeck-predictions' for motor imagery, "
        "'neurodeck-emotion' for affective decoders; type 'Predictions' and desc/family "
        "either way)",
    )
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the stream")
    add_config_option(p)

    from neurodeck.app import bench_command, calibrate_command, gui_command, loop, record_commands

    bench_command.add_parser(sub)
    calibrate_command.add_parser(sub)
    gui_command.add_parser(sub)
    record_commands.add_parsers(sub)
    loop.add_parser(sub)

    p = sub.add_parser(
        "evaluate",
        help="online MI evaluation (EEGBCI) or rest-vs-arithmetic state evaluation (EEGMAT), "
        "subjects held out (JSON out)",
    )
    add_data_option(p)
    p.add_argument(
        "--task",
        choices=("mi", "eegmat"),
        default="mi",
        help="mi: motor imagery on EEGBCI (default); eegmat: rest vs mental arithmetic, "
        "band-power reference and GMSS",
    )
    p.add_argument(
        "--pretrained",
        type=Path,
        help="with --task eegmat: the GMSS checkpoint to fine-tune (default the shipped one)",
    )
    p.add_argument("--subjects", type=int, nargs="+", default=EEGBCI_SHARED_SUBJECTS)
    p.add_argument("--calib-runs", type=int, nargs="+", default=[4, 8])
    p.add_argument("--test-runs", type=int, nargs="+", default=[12])
    p.add_argument(
        "--models",
        nargs="*",
        default=["csp_lda", "ts_lr"],
        help="classical references: csp_lda, ts_lr (default both)",
    )
    p.add_argument(
        "--encoders",
        nargs="*",
        default=[],
        metavar="RECIPE",
        help="cross-subject decoders: recipe names in configs/pretrain (e.g. mi_shallow64) or "
        "TOML paths; each held-out subject is calibrated as neurodeck calibrate does",
    )
    p.add_argument(
        "--channels",
        nargs="+",
        metavar="MONTAGE",
        help="also evaluate on these montages: 8, 16, 19, 32 or a name of common/montages.py "
        "(the references and the encoders, on those electrodes only)",
    )
    p.add_argument(
        "--choose",
        default="default",
        help="calibration's decoder choice: default, cv, or always:NAME (see calibrate --choose)",
    )
    p.add_argument("--cv-folds", type=int, default=5, help="calibration cross-validation folds")
    p.add_argument(
        "--drift",
        type=float,
        nargs="+",
        default=[],
        metavar="TAU_S",
        help="also score the networks re-centred while decoding (running covariance mean with "
        "this time constant, seconds)",
    )
    p.add_argument("--folds", type=int, default=3, help="subject folds for the encoders")
    p.add_argument("--device", default="auto", help="training device: auto, cpu, cuda")
    p.add_argument("--run-dir", type=Path, default=Path("runs/evaluate"), help="training logs")
    p.add_argument("--json", type=Path, help="write all figures as JSON")

    p = sub.add_parser("pretrain", help="rebuild a shipped encoder from its recipe (TOML)")
    p.add_argument(
        "--recipe",
        required=True,
        type=Path,
        help="a recipe name in configs/pretrain (mi_shallow64...), a recipe TOML, or gmss for "
        "the affective encoder",
    )
    add_data_option(p)
    p.add_argument("--subjects", type=int, nargs="+", help="default: the recipe's, else all")
    p.add_argument(
        "--out", type=Path, help="checkpoint (default models/pretrained/NAME.safetensors)"
    )
    p.add_argument("--run-dir", type=Path, default=Path("runs/pretrain"), help="logs and curves")
    p.add_argument("--device", default=None, help="override the recipe's device")
    p.add_argument("--restart", action="store_true", help="ignore saved progress and start over")
    p.add_argument("--json", type=Path, help="write the training summary as JSON")

    p = sub.add_parser("demo", help="replay a real recording and decode it live")
    add_data_option(p)
    p.add_argument("--subject", type=int, default=1, help="EEGBCI subject (default 1)")
    add_loop_options(p, speed=4.0)
    p.add_argument("--headless", action="store_true", help="no dashboard even with a display")
    p.add_argument("--json", type=Path, help="write the summary as JSON")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="where logs and models go")

    for action in sub.choices.values():
        _add_common(action)
    return ap


def _setup(args: argparse.Namespace) -> None:
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.local or args.command == "demo" or os.environ.get("NEURODECK_LSL_SCOPE") == "machine":
        from neurodeck.streaming.lsl_env import use_machine_scope

        use_machine_scope(force=args.command == "demo" and "LSLAPICFG" not in os.environ)
    elif args.verbose < 2:  # -vv keeps liblsl's INFO lines
        from neurodeck.streaming.lsl_env import quiet_default_config

        quiet_default_config()


def _commands() -> dict[str, Callable[[argparse.Namespace], int]]:
    from neurodeck.app import commands, demo, train_commands

    return {
        "streams": commands.cmd_streams,
        "replay": commands.cmd_replay,
        "simulate": commands.cmd_simulate,
        "decode": commands.cmd_decode,
        "demo": demo.run_demo,
        "evaluate": train_commands.cmd_evaluate,
        "pretrain": train_commands.cmd_pretrain,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; user errors print a message (no traceback) and exit with 2."""
    die_with_parent()
    args = _parser().parse_args(argv)
    _setup(args)
    from neurodeck.common.types import NeurodeckError

    try:
        handler = getattr(args, "handler", None) or _commands()[args.command]
        return handler(args)
    except NeurodeckError as exc:
        print(f"neurodeck {args.command}: error: {exc.problem}", file=sys.stderr)
        if exc.hint:
            print(f"  what to do: {exc.hint}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
