"""From calibration recordings to a subject profile (headless; the CLI and the dashboard call it).

Order of work, so that a usable model exists as early as possible:

1. cut the trials twice (the encoder's chain and the reference's chain) from the same cues;
2. fine-tune the shipped encoder, fit the reference, save both and a provisional
   ``profile.json`` that uses the fine-tuned encoder: **the model is ready** here
   (``timings.ready_s`` counts from the end of the recording);
3. cross-validate both on the same folds, write the report, and switch the profile to the decoder
   with the higher cross-validated accuracy.
"""

from __future__ import annotations

import dataclasses
import logging
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calibration.emotion import self_assessment_report
from calibration.fitting import (
    BaseEncoder,
    CalibrationSettings,
    Progress,
    better_decoder,
    common_trials,
    cross_validate,
    decoder_scores,
    deep_trials,
    encoder_preprocessing,
    fit_encoder,
    fit_reference,
    reference_preprocessing,
    reference_trials,
    reference_window_s,
)
from calibration.profile import SubjectProfile, write_profile
from calibration.report import report_text, write_report_png
from calibration.trials import ContinuousEEG, TrialSet
from common.jsonio import write_json_atomic
from common.types import ConfigError
from models.checkpoint import ModelMeta, load_checkpoint, save_checkpoint
from models.registry import architecture_name

logger = logging.getLogger(__name__)

#: Checkpoint file of each decoder inside a profile.
CHECKPOINT_FILES = {"finetuned": "finetuned.safetensors", "reference": "reference.safetensors"}


def load_base_encoder(path: str | Path) -> BaseEncoder:
    """Load the encoder calibration starts from (a shipped or pretrained checkpoint).

    Raises
    ------
    CheckpointError
        If the file is not a neurodeck checkpoint.
    ConfigError
        If it is not a deep encoder (the tangent-space reference has nothing to fine-tune).
    """
    from models.base import EEGModel

    model, meta = load_checkpoint(path)
    if not isinstance(model, EEGModel):
        raise ConfigError(
            f"{path} holds a {meta.architecture} model, which cannot be fine-tuned.",
            "Give a deep encoder, for example models/pretrained/spp_eegnet.safetensors.",
        )
    return BaseEncoder(model, meta, str(path))


def _dropped(trials: TrialSet) -> list[dict[str, Any]]:
    return [dataclasses.asdict(d) for d in trials.dropped]


def _provenance(
    trials: TrialSet, marker_classes: Mapping[str, str], subject: str | None
) -> dict[str, Any]:
    return {
        "data": list(trials.sources),
        "subject": subject,
        "command": shlex.join(sys.argv),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "n_trials": trials.n_trials,
        "trials_per_class": trials.counts(),
        "marker_classes": dict(marker_classes),
    }


def _encoder_meta(
    base: BaseEncoder,
    model: Any,
    trials: TrialSet,
    recordings: Sequence[ContinuousEEG],
    details: Mapping[str, Any],
    provenance: Mapping[str, Any],
    settings: CalibrationSettings,
) -> ModelMeta:
    cfg = encoder_preprocessing(base, recordings[0].channel_names)
    return ModelMeta(
        architecture=base.meta.architecture,
        config=model.config,
        channel_names=trials.channel_names,
        sfreq=base.meta.sfreq,
        window_s=base.meta.window_s,
        class_names=trials.class_names,
        preprocessing=cfg.to_dict(),
        training={
            **provenance,
            "stage": "calibrated",
            "base_model": base.source,
            "base_recipe": base.meta.training.get("recipe"),
            "adapt": {
                "mode": settings.adapt.mode,
                "layer_decay": settings.adapt.layer_decay,
                "val_fraction": settings.adapt.val_fraction,
                "epochs": settings.adapt.train.epochs,
                "lr": settings.adapt.train.lr,
                "new_head": details["new_head"],
            },
            "ends_s": list(settings.ends_s),
            "n_windows": details["n_windows"],
        },
        metrics={"best_epoch": details["best_epoch"], "val_acc": details["val_acc"]},
        family=settings.family,
    )


def _reference_meta(
    model: Any,
    trials: TrialSet,
    recordings: Sequence[ContinuousEEG],
    provenance: Mapping[str, Any],
    settings: CalibrationSettings,
    family: str,
) -> ModelMeta:
    cfg = reference_preprocessing(settings, recordings[0].channel_names)
    return ModelMeta(
        architecture=architecture_name(model),
        config=model.config,
        channel_names=trials.channel_names,
        sfreq=trials.sfreq,
        window_s=reference_window_s(settings),
        class_names=trials.class_names,
        preprocessing=cfg.to_dict(),
        training={
            **provenance,
            "stage": "calibrated",
            "epoch_s": list(settings.reference_epoch_s),
        },
        metrics={},
        family=family,
    )


def calibrate_recordings(
    recordings: Sequence[ContinuousEEG],
    base: BaseEncoder,
    marker_classes: Mapping[str, str],
    class_names: Sequence[str],
    out_dir: str | Path,
    settings: CalibrationSettings | None = None,
    paradigm: Mapping[str, Any] | None = None,
    subject: str | None = None,
    progress: Progress | None = None,
    recording_ended: float | None = None,
    device: str | None = None,
) -> tuple[SubjectProfile, dict[str, Any]]:
    """Fit both decoders on the cued trials of ``recordings`` and write a subject profile.

    Parameters
    ----------
    recordings : sequence of ContinuousEEG
        Calibration recordings of one montage (session folders or files).
    base : BaseEncoder
        The shipped encoder to fine-tune.
    marker_classes : mapping
        Marker label -> class name of the cues.
    class_names : sequence of str
        Classes in model order.
    out_dir : path
        Profile folder (created; files in it are replaced).
    settings : CalibrationSettings, optional
    paradigm : mapping, optional
        The paradigm that produced the cues (saved as ``paradigm.json``).
    subject : str, optional
        A label for the report.
    progress : callable, optional
        Called with a short line at every step.
    recording_ended : float, optional
        ``time.perf_counter()`` when the last trial was recorded (default: now); the report's
        ``ready_s`` counts from it.
    device : str, optional
        Torch device of the fine-tuning (default: the settings', ``auto``).

    Returns
    -------
    profile : SubjectProfile
    report : dict
        Also written as ``report.json``.

    Raises
    ------
    InsufficientTrialsError, RecordingError, ChannelMappingError
        With a message that says what is wrong with the recording and what to do.
    """
    t_end = time.perf_counter() if recording_ended is None else recording_ended
    settings = (settings or CalibrationSettings()).with_seed_device(device)
    say = progress or (lambda _msg: None)
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)

    say("cutting trials")
    t0 = time.perf_counter()
    deep = deep_trials(recordings, base, marker_classes, class_names, settings)
    ref = reference_trials(recordings, marker_classes, class_names, settings)
    deep, ref = common_trials(deep, ref)
    trials_s = time.perf_counter() - t0
    provenance = _provenance(deep, marker_classes, subject)
    say(f"{deep.n_trials} trials {deep.counts()}; fine-tuning {base.meta.architecture}")

    t0 = time.perf_counter()
    model, details = fit_encoder(base, deep, settings)
    finetune_s = time.perf_counter() - t0
    meta = _encoder_meta(base, model, deep, recordings, details, provenance, settings)
    save_checkpoint(out / CHECKPOINT_FILES["finetuned"], model, meta)
    t0 = time.perf_counter()
    reference = fit_reference(ref, settings)
    reference_s = time.perf_counter() - t0
    ref_meta = _reference_meta(reference, ref, recordings, provenance, settings, settings.family)
    save_checkpoint(out / CHECKPOINT_FILES["reference"], reference, ref_meta)
    if paradigm is not None:
        write_json_atomic(out / "paradigm.json", dict(paradigm))
    write_json_atomic(
        out / "preprocessing.json",
        {"finetuned": meta.preprocessing, "reference": ref_meta.preprocessing},
    )
    ready_s = time.perf_counter() - t_end
    timings = {
        "trials_s": round(trials_s, 2),
        "finetune_s": round(finetune_s, 2),
        "reference_s": round(reference_s, 2),
        "ready_s": round(ready_s, 2),
    }
    info = {"subject": subject, "created": provenance["date"], "timings": timings}
    write_profile(
        out, "finetuned", CHECKPOINT_FILES, deep.class_names, marker_classes, {**info, "cv": None}
    )
    say(f"model ready {ready_s:.1f} s after the recording; cross-validating")

    t0 = time.perf_counter()
    cv = cross_validate(base, deep, ref, settings, progress=say) if settings.cv_folds else {}
    timings["cv_s"] = round(time.perf_counter() - t0, 2)
    scores = {}
    if cv.get("folds"):
        scores = {
            name: decoder_scores(
                deep.y, cv["proba"][name], deep.class_names, cv["fold_accuracy"][name]
            )
            for name in CHECKPOINT_FILES
        }
        scores["finetuned"]["window_accuracy"] = round(cv["window_accuracy"], 4)
    decoder = better_decoder(scores) if scores else "finetuned"
    timings["total_s"] = round(time.perf_counter() - t_end, 2)
    report = {
        "subject": subject,
        "encoder": f"{base.meta.architecture} from {base.source}",
        "trials": deep.counts(),
        "dropped": _dropped(deep),
        "cv": {"folds": cv.get("folds", 0), "split": cv.get("split", "skipped (--cv-folds 0)")},
        "scores": scores,
        "decoder": decoder,
        "finetune": {k: details[k] for k in ("best_epoch", "val_acc", "history")},
        "timings": timings,
        "chance": round(max(deep.counts().values()) / deep.n_trials, 4),
    }
    self_assessment = self_assessment_report(recordings)  # affective paradigms' ratings
    if self_assessment is not None:
        report["self_assessment"] = self_assessment
    write_json_atomic(out / "report.json", report)
    (out / "report.md").write_text(report_text(report))
    write_report_png(report, out / "report.png")
    summary = {k: {"cv_accuracy": round(v["cv_accuracy"], 4)} for k, v in scores.items()}
    profile = write_profile(
        out,
        decoder,
        CHECKPOINT_FILES,
        deep.class_names,
        marker_classes,
        {**info, "timings": timings, "cv": summary or None, "trials": deep.counts()},
    )
    logger.info("Profile written to %s (decoder %s)", out, decoder)
    return profile, report
