"""``neurodeck calibrate``: record (or reuse) a calibration session and write a subject profile.

Three sources of trials, one fitting path:

- ``--stream NAME``: play a cue paradigm (``--paradigm``), show the cues in the terminal, record
  the EEG and the cues crash-safe into ``OUT/recording``; with an affective paradigm
  (``emotion-recall``) the terminal also asks for a self-assessment after each block, and
  ``--stimuli FOLDER`` replaces the recall prompts by the user's own pictures or videos;
- ``--stream NAME --from-markers``: record the stream's own marker stream (a replayed EEGBCI run
  cues itself) until it ends;
- ``--recording PATH ...``: reuse session folders, EDF/FIF files or XDF files (LabRecorder; the
  EEG stream with its marker streams, ``--xdf-stream NAME`` when a file holds several EEG
  streams) instead of recording again.

Then :func:`neurodeck.calibration.calibrate.calibrate_recordings` fine-tunes the shipped encoder,
fits the Riemannian reference, cross-validates both and writes the profile ``decode --model OUT``
loads. The core is imported inside the handler, after the LSL configuration is chosen.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from neurodeck.app.options import (
    add_choice_options,
    add_xdf_stream_option,
    check_xdf_stream_option,
)
from neurodeck.common.types import AFFECTIVE, MOTOR_IMAGERY, ConfigError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``calibrate``."""
    p = sub.add_parser(
        "calibrate", help="record a calibration (or reuse one) and fit a subject profile"
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--stream", help="EEG stream to calibrate on (LSL name, or source_id with --by-id)"
    )
    src.add_argument(
        "--recording",
        nargs="+",
        type=Path,
        help="reuse recordings: session folders (neurodeck record / calibrate), EDF/FIF files "
        "(annotations mark the cues) or XDF files (the marker streams mark the cues)",
    )
    add_xdf_stream_option(p)
    p.add_argument(
        "--allow-truncated",
        action="store_true",
        help="with --recording: use what an EDF/BDF/FIF/BrainVision/XDF file cut short holds "
        "(default: refuse it)",
    )
    p.add_argument("--by-id", action="store_true", help="--stream is a source_id")
    p.add_argument("--out", type=Path, required=True, help="subject profile folder to write")
    p.add_argument(
        "--model",
        type=Path,
        help="pretrained network to calibrate (default for motor imagery: mi_shallow64 when "
        "the montage has its 64 EEGBCI channels, otherwise mi_shallow_any; gmss for affective "
        "paradigms)",
    )
    p.add_argument(
        "--paradigm",
        help="mi-lr (default), mi-4, emotion-recall, or a paradigm TOML file; with "
        "--recording it sets the family and epoch the recording was made with",
    )
    p.add_argument(
        "--stimuli",
        type=Path,
        metavar="FOLDER",
        help="with --stream and an affective paradigm: your own stimuli, one subfolder per class "
        "(negative/ neutral/ positive/) of pictures or videos; one is shown per block",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the cue order and the folds")
    p.add_argument(
        "--from-markers",
        nargs="?",
        const="auto",
        metavar="STREAM",
        help="trials from the stream's own marker stream (default name <stream>-markers)",
    )
    p.add_argument(
        "--classes",
        nargs="+",
        metavar="MARKER=CLASS",
        help="cue markers and their classes (default: the paradigm's cue_<class> markers, "
        "or the encoder's training markers, T1=left T2=right for EEGBCI)",
    )
    p.add_argument("--max-trials", type=int, help="with --from-markers: stop after N cues")
    p.add_argument("--duration", type=float, help="with --from-markers: stop after S seconds")
    p.add_argument("--cv-folds", type=int, default=5, help="cross-validation folds (0 skips)")
    p.add_argument("--epochs", type=int, help="fine-tuning epochs (default: the network's recipe)")
    p.add_argument("--mode", choices=("finetune", "probe"), help="how to adapt (default finetune)")
    p.add_argument(
        "--augment",
        nargs="+",
        choices=("mirror", "scale", "noise"),
        help="label-aware augmentation while fine-tuning: mirror (swap hemispheres and "
        "left/right labels), scale (gain per window), noise (default: the network's recipe)",
    )
    add_choice_options(p)
    p.add_argument("--device", help="fine-tuning device: auto, cpu, cuda[:N] (default auto)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the stream")
    p.add_argument("--overwrite", action="store_true", help="replace a recording in OUT")
    p.add_argument("--cue-speed", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--json", type=Path, help="write the report as JSON")
    p.set_defaults(handler=cmd_calibrate)


def parse_classes(pairs: list[str]) -> dict[str, str]:
    """``["T1=left", "T2=right"]`` -> ``{"T1": "left", "T2": "right"}``."""
    split = [c.split("=", 1) for c in pairs]
    if any(len(p) != 2 or not all(p) for p in split):
        raise ConfigError(f"'--classes' takes MARKER=CLASS pairs; got {pairs}.")
    return dict(split)  # type: ignore[arg-type]


def _default_meta() -> Any:
    from neurodeck.calibration.defaults import DEFAULT_ENCODER
    from neurodeck.models.checkpoint import read_checkpoint_meta

    return read_checkpoint_meta(DEFAULT_ENCODER)


def _classes_from(marker_classes: dict[str, str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(marker_classes.values()))


def _default_classes(recordings: list[Any], base: Any) -> dict[str, str]:
    """The cue markers found in the recordings: the paradigm's, else the encoder's training."""
    from neurodeck.calibration.paradigm import class_of_marker

    labels = {m.label for rec in recordings for m in rec.markers}
    cues = {label: class_of_marker(label) for label in sorted(labels)}
    found = {label: c for label, c in cues.items() if c is not None}
    if found:
        return found
    trained = base.meta.training.get("marker_classes") or {}
    if trained and set(trained) & labels:
        return dict(trained)
    raise ConfigError(
        f"No cue markers recognised in the recording (markers: {sorted(labels)[:12]}).",
        "Name the markers that cue each class, for example --classes T1=left T2=right.",
    )


def load_cli_stimuli(args: argparse.Namespace, paradigm: Any) -> Any:
    """The checked ``--stimuli`` folder (a StimulusSet), or None without the option.

    Raises
    ------
    ConfigError
        Used without recording cues, with a motor-imagery paradigm, or with a bad folder.
    """
    if args.stimuli is None:
        return None
    from neurodeck.calibration.emotion import load_stimuli
    from neurodeck.common.types import AFFECTIVE

    if not args.stream or args.from_markers:
        raise ConfigError(
            "'--stimuli' needs a calibration that plays its own cues.",
            "Use it with --stream NAME (without --from-markers).",
        )
    if paradigm.family != AFFECTIVE:
        raise ConfigError(
            f"'--stimuli' needs an affective paradigm; '{paradigm.name}' is {paradigm.family}.",
            'Use --paradigm emotion-recall (or a TOML file with family = "affective").',
        )
    return load_stimuli(args.stimuli, paradigm.class_names)


def _record(
    args: argparse.Namespace,
    paradigm: Any,
    marker_classes: dict[str, str] | None,
    stimuli: Any = None,
):
    """Record from the live stream; returns the RecordedCalibration."""
    from neurodeck.calibration.live import record_from_markers, record_paradigm
    from neurodeck.streaming.lsl_io import by_id_hint, resolve_stream

    query = {"source_id": args.stream} if args.by_id else {"name": args.stream}
    eeg = resolve_stream(**query, timeout_s=args.timeout, hint=by_id_hint("calibrate"))
    folder = args.out / "recording"
    if args.from_markers:
        name = f"{eeg.name()}-markers" if args.from_markers == "auto" else args.from_markers
        markers = resolve_stream(
            name=name,
            stream_type="Markers",
            timeout_s=args.timeout,
            prefer_source_id=f"{eeg.source_id()}-markers",  # replay's and simulate's pairing
            hint="Stop the marker stream you do not want, or name another with --from-markers.",
        )
        print(f"recording '{eeg.name()}' with its markers '{name}' into {folder}", flush=True)
        assert marker_classes is not None
        return record_from_markers(
            eeg,
            markers,
            folder,
            marker_classes,
            max_trials=args.max_trials,
            duration_s=args.duration,
            progress=lambda line: print(line, flush=True),
            overwrite=args.overwrite,
        )
    print(f"calibration: {paradigm.summary()}; recording into {folder}", flush=True)
    if stimuli is not None:
        print(
            f"{stimuli.describe()}. The terminal shows their file names only: present them "
            "with the dashboard (neurodeck gui) or a program that reads the cue stream.",
            flush=True,
        )
    return record_paradigm(
        eeg,
        folder,
        paradigm,
        seed=args.seed,
        speed=args.cue_speed,
        overwrite=args.overwrite,
        stimuli=stimuli,
    )


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Record or load the calibration, fit, report, write the profile.

    A failed calibration leaves nothing half-made: an ``--out`` folder it created is removed
    again when it holds no file (a recording, once written, is always kept).
    """
    created = not args.out.exists()
    try:
        return _calibrate(args)
    except BaseException:
        if created:
            remove_empty_folders(args.out)
        raise


def remove_empty_folders(folder: Path) -> None:
    """Remove ``folder`` and the folders below it that hold no file (never a file)."""
    if not folder.is_dir():
        return
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        if not any(sub.iterdir()):
            sub.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()


def _calibrate(args: argparse.Namespace) -> int:
    from neurodeck.calibration.calibrate import calibrate_recordings, load_base_encoder
    from neurodeck.calibration.defaults import (
        DEFAULT_AFFECTIVE_ENCODER,
        calibration_settings,
        default_mi_encoder,
    )
    from neurodeck.calibration.paradigm import load_paradigm
    from neurodeck.calibration.trials import load_calibration_source
    from neurodeck.common.jsonio import write_json

    if args.from_markers and not args.stream:
        raise ConfigError("'--from-markers' needs '--stream'.")
    check_xdf_stream_option(args.xdf_stream, args.recording)
    if args.by_id and not args.stream:
        raise ConfigError("'--by-id' needs '--stream' (the source_id of the EEG stream).")
    explicit = parse_classes(args.classes) if args.classes else None
    paradigm = None
    if args.stream and not args.from_markers:
        paradigm = load_paradigm(args.paradigm or "mi-lr")
        explicit = explicit or dict(paradigm.marker_classes)
    elif args.paradigm:  # a recording made with this paradigm
        paradigm = load_paradigm(args.paradigm)
    family = getattr(paradigm, "family", MOTOR_IMAGERY) if paradigm else MOTOR_IMAGERY
    # Motor imagery: the network is chosen by the montage once the recording is there.
    chosen = args.model or (DEFAULT_AFFECTIVE_ENCODER if family == AFFECTIVE else None)
    base = load_base_encoder(chosen) if chosen is not None else None
    if paradigm is None and base is not None:
        family = base.meta.family
    stimuli = None
    if args.stimuli is not None:
        stimuli = load_cli_stimuli(args, paradigm or load_paradigm(args.paradigm or "mi-lr"))
    if args.stream and args.from_markers and explicit is None:
        trained = base.meta.training if base is not None else _default_meta().training
        explicit = dict(trained.get("marker_classes") or {"T1": "left", "T2": "right"})
    if args.stream:
        try:
            recorded = _record(args, paradigm, explicit, stimuli)
        except KeyboardInterrupt:
            folder = args.out / "recording"
            print(
                f"\ncalibration stopped; what was recorded is kept in {folder}. Fit it with: "
                f"neurodeck calibrate --recording {folder} --out {args.out}",
                flush=True,
            )
            raise
        print(f"recording done ({recorded.reason}): {recorded.path}", flush=True)
        sources, ended = [recorded.path], recorded.ended
    else:
        sources, ended = list(args.recording), time.perf_counter()
    truncated_ok = getattr(args, "allow_truncated", False)
    recordings = [
        load_calibration_source(p, xdf_stream=args.xdf_stream, allow_truncated=truncated_ok)
        for p in sources
    ]
    if base is None:
        base = load_base_encoder(default_mi_encoder(recordings[0].channel_names))
        print(f"network: {Path(base.source).name} (chosen for this montage)", flush=True)
    marker_classes = explicit or _default_classes(recordings, base)
    profile, report = calibrate_recordings(
        recordings,
        base,
        marker_classes,
        _classes_from(marker_classes),
        args.out,
        calibration_settings(
            args.cv_folds,
            args.epochs,
            args.mode,
            args.seed,
            paradigm,
            family,
            args.augment,
            args.choose,
        ),
        paradigm=paradigm.to_dict() if paradigm else None,
        subject=args.out.name,
        progress=lambda line: print(f"  {line}", flush=True),
        recording_ended=ended,
        device=args.device,
    )
    from neurodeck.calibration.report import report_text

    print(report_text(report))
    print(f"profile: {profile.path} (decode with: neurodeck decode --model {profile.path} ...)")
    write_json(args.json, {"profile": str(profile.path), **report})
    return 0
