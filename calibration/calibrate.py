"""From calibration recordings to a subject profile (headless; the CLI and the dashboard call it).

Order of work, so that a usable model exists as early as possible:

1. cut the trials (the encoder's chain; the reference's, which is the same one when the two
   filter alike) from the cues;
2. the decoders that need no training: the cross-subject network re-centred on the person
   (``zeroshot``) and the tangent-space reference; a provisional ``profile.json`` with the
   decoder the chooser picks among them: **the model is ready** here (``timings.ready_s``
   counts from the end of the recording);
3. fine-tune the network (``finetuned``);
4. cross-validate every candidate on the same folds, write the report, and set the profile to
   the decoder the chooser picks (:mod:`neurodeck.calibration.candidates`): single decoders or the
   mean of their probabilities.
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

from neurodeck.calibration.candidates import (
    FINETUNED,
    REFERENCE,
    ZEROSHOT,
    available_candidates,
    choose,
    members,
)
from neurodeck.calibration.emotion import self_assessment_report
from neurodeck.calibration.fitting import (
    BaseEncoder,
    CalibrationSettings,
    Progress,
    can_recentre,
    common_trials,
    cross_validate,
    decoder_scores,
    deep_trials,
    encoder_preprocessing,
    fit_encoder,
    fit_reference,
    recentre,
    reference_preprocessing,
    reference_trials,
    reference_window_s,
    shares_window,
)
from neurodeck.calibration.profile import SubjectProfile, write_profile
from neurodeck.calibration.report import report_text, write_report_png
from neurodeck.calibration.trials import ContinuousEEG, TrialSet
from neurodeck.common.jsonio import write_json_atomic, write_text_atomic
from neurodeck.common.types import ConfigError
from neurodeck.models.checkpoint import ModelMeta, load_checkpoint, save_checkpoint
from neurodeck.models.registry import architecture_name

logger = logging.getLogger(__name__)


def checkpoint_file(decoder: str) -> str:
    """File name of a decoder's checkpoint inside a profile (``zeroshot+reference`` ->
    ``zeroshot_reference.safetensors``)."""
    return decoder.replace("+", "_") + ".safetensors"


def load_base_encoder(path: str | Path) -> BaseEncoder:
    """Load the encoder calibration starts from (a shipped or pretrained checkpoint).

    Raises
    ------
    CheckpointError
        If the file is not a neurodeck checkpoint.
    ConfigError
        If it is not a deep encoder (the tangent-space reference has nothing to fine-tune).
    """
    from neurodeck.models.base import EEGModel

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
    how: Mapping[str, Any],
    provenance: Mapping[str, Any],
    settings: CalibrationSettings,
    metrics: Mapping[str, Any] | None = None,
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
            "base_subjects": base.meta.training.get("subjects"),
            **how,
            "ends_s": list(settings.ends_s),
        },
        metrics=dict(metrics or {}),
        family=settings.family,
    )


def _adapt_record(settings: CalibrationSettings, details: Mapping[str, Any]) -> dict[str, Any]:
    a = settings.resolved_adapt
    return {
        "adapt": {
            "mode": a.mode,
            "layer_decay": a.layer_decay,
            "val_fraction": a.val_fraction,
            "epochs": a.train.epochs,
            "lr": a.train.lr,
            "augment": list(a.augment),
            "new_head": details["new_head"],
        },
        "n_windows": details["n_windows"],
    }


def _reference_meta(
    model: Any,
    trials: TrialSet,
    recordings: Sequence[ContinuousEEG],
    provenance: Mapping[str, Any],
    settings: CalibrationSettings,
    family: str,
    base: BaseEncoder | None = None,
) -> ModelMeta:
    cfg = reference_preprocessing(settings, recordings[0].channel_names, base)
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
    """Build the candidate decoders on the cued trials of ``recordings``, choose, write a profile.

    See the module docstring for the order of work; :mod:`neurodeck.calibration.candidates` for the
    candidates and the choice (``settings.chooser``).

    Parameters
    ----------
    recordings : sequence of ContinuousEEG
        Calibration recordings of one montage (session folders or files).
    base : BaseEncoder
        The shipped network to re-centre and fine-tune.
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
        Also written as ``report.json``: ``candidates``, ``scores`` (cross-validated, per
        candidate), ``decoder`` and ``decoder_reason``, ``timings`` (``ready_s``: a usable
        profile; ``finetuned_ready_s``; ``total_s``).

    Raises
    ------
    InsufficientTrialsError, RecordingError, ChannelMappingError
        With a message that says what is wrong with the recording and what to do.
    """
    t_end = time.perf_counter() if recording_ended is None else recording_ended
    settings = (settings or CalibrationSettings()).for_base(base, device)
    say = progress or (lambda _msg: None)
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)

    say("cutting trials")
    t0 = time.perf_counter()
    deep = deep_trials(recordings, base, marker_classes, class_names, settings)
    ref = reference_trials(recordings, marker_classes, class_names, settings, base)
    deep, ref = common_trials(deep, ref)
    shared = shares_window(base, settings, recordings[0].channel_names)
    timings: dict[str, float] = {"trials_s": round(time.perf_counter() - t0, 2)}
    provenance = _provenance(deep, marker_classes, subject)
    say(f"{deep.n_trials} trials {deep.counts()}")
    saved = _Saved(out, deep.class_names, marker_classes)

    # 1. the decoders that need no training
    singles = [REFERENCE, FINETUNED]
    zeroshot = None
    if can_recentre(base, deep, settings):
        singles.insert(0, ZEROSHOT)
        t0 = time.perf_counter()
        zeroshot, zs_details = recentre(base, deep, settings)
        how = {"adapt": "re-centred (alignment and input statistics), not trained", **zs_details}
        meta = _encoder_meta(base, zeroshot, deep, recordings, how, provenance, settings)
        saved.add(ZEROSHOT, zeroshot, meta)
        timings["recentre_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    reference = fit_reference(ref, settings)
    timings["reference_s"] = round(time.perf_counter() - t0, 2)
    ref_meta = _reference_meta(
        reference, ref, recordings, provenance, settings, settings.family, base
    )
    saved.add(REFERENCE, reference, ref_meta)
    if paradigm is not None:
        write_json_atomic(out / "paradigm.json", dict(paradigm))
    untrained = available_candidates([n for n in singles if n != FINETUNED], shared)
    provisional, _ = choose(settings.chooser, untrained, None)
    saved.ensure(provisional)
    timings["ready_s"] = round(time.perf_counter() - t_end, 2)
    info = {"subject": subject, "created": provenance["date"], "timings": timings}
    saved.write(provisional, {**info, "cv": None, "provisional": True})
    say(f"model ready ({provisional}) {timings['ready_s']:.1f} s after the recording")

    # 2. fine-tuning
    say(f"fine-tuning {base.meta.architecture}")
    t0 = time.perf_counter()
    model, details = fit_encoder(base, deep, settings)
    timings["finetune_s"] = round(time.perf_counter() - t0, 2)
    metrics = {"best_epoch": details["best_epoch"], "val_acc": details["val_acc"]}
    how = _adapt_record(settings, details)
    meta = _encoder_meta(base, model, deep, recordings, how, provenance, settings, metrics)
    saved.add(FINETUNED, model, meta)
    timings["finetuned_ready_s"] = round(time.perf_counter() - t_end, 2)
    write_json_atomic(out / "preprocessing.json", saved.preprocessing())
    available = available_candidates(singles, shared)

    # 3. cross-validation and the choice
    t0 = time.perf_counter()
    cv: dict[str, Any] = {}
    if settings.cv_folds:
        say("cross-validating " + ", ".join(available))
        cv = cross_validate(base, deep, ref, settings, singles, shared, zeroshot, progress=say)
    timings["cv_s"] = round(time.perf_counter() - t0, 2)
    scores = {}
    for name in cv.get("proba", {}):
        scores[name] = decoder_scores(
            deep.y, cv["proba"][name], deep.class_names, cv["fold_accuracy"][name]
        )
        scores[name]["window_accuracy"] = round(cv["window_accuracy"][name], 4)
    cv_accuracy = {k: v["cv_accuracy"] for k, v in scores.items()} or None
    decoder, reason = choose(settings.chooser, available, cv_accuracy)
    saved.ensure(decoder)
    timings["total_s"] = round(time.perf_counter() - t_end, 2)
    report = {
        "subject": subject,
        "encoder": f"{base.meta.architecture} from {base.source}",
        "trials": deep.counts(),
        "dropped": _dropped(deep),
        "cv": {"folds": cv.get("folds", 0), "split": cv.get("split", "skipped (--cv-folds 0)")},
        "candidates": list(available),
        "chooser": settings.chooser,
        "scores": scores,
        "decoder": decoder,
        "decoder_reason": reason,
        "finetune": {k: details[k] for k in ("best_epoch", "val_acc", "history")},
        "timings": timings,
        "chance": round(max(deep.counts().values()) / deep.n_trials, 4),
    }
    self_assessment = self_assessment_report(recordings)  # affective paradigms' ratings
    if self_assessment is not None:
        report["self_assessment"] = self_assessment
    write_json_atomic(out / "report.json", report)
    write_text_atomic(out / "report.md", report_text(report))
    write_report_png(report, out / "report.png")
    summary = {k: {"cv_accuracy": round(v["cv_accuracy"], 4)} for k, v in scores.items()}
    profile = saved.write(
        decoder,
        {
            **info,
            "timings": timings,
            "cv": summary or None,
            "trials": deep.counts(),
            "decoder_reason": reason,
        },
    )
    logger.info("Profile written to %s (decoder %s: %s)", out, decoder, reason)
    return profile, report


class _Saved:
    """The decoders written into a profile folder so far, and the profile index."""

    def __init__(
        self, out: Path, class_names: tuple[str, ...], marker_classes: Mapping[str, str]
    ) -> None:
        self.out = out
        self.class_names = class_names
        self.marker_classes = marker_classes
        self.models: dict[str, tuple[Any, ModelMeta]] = {}

    def add(self, name: str, model: Any, meta: ModelMeta) -> None:
        """Write one decoder's checkpoint."""
        save_checkpoint(self.out / checkpoint_file(name), model, meta)
        self.models[name] = (model, meta)

    def ensure(self, name: str) -> None:
        """Write the ensemble ``name`` from its members (single decoders are already there)."""
        from neurodeck.models.ensemble import ProbabilityEnsemble

        parts = members(name)
        if name in self.models or len(parts) < 2:
            return
        modules = [self.models[m][0] for m in parts]
        first = self.models[parts[0]][1]
        ensemble = ProbabilityEnsemble.of(modules)
        meta = dataclasses.replace(
            first,
            architecture="ensemble",
            config=ensemble.config,
            training={**first.training, "members": list(parts), "adapt": "mean of members"},
            metrics={},
        )
        self.add(name, ensemble, meta)

    def preprocessing(self) -> dict[str, Any]:
        """Each decoder's preprocessing chain."""
        return {name: meta.preprocessing for name, (_, meta) in self.models.items()}

    def write(self, decoder: str, info: Mapping[str, Any]) -> SubjectProfile:
        """``profile.json`` naming ``decoder`` and every checkpoint written."""
        files = {name: checkpoint_file(name) for name in self.models}
        return write_profile(self.out, decoder, files, self.class_names, self.marker_classes, info)
