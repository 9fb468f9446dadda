"""Leave-subjects-out evaluation of what ``neurodeck calibrate`` builds, under the online protocol.

Subjects are split into folds. For each fold the recipe trains its cross-subject network on the
*training* subjects only (:func:`neurodeck.offline_training.pipeline.cross_subject_model`, the code
``neurodeck pretrain`` runs). Each held-out subject is then calibrated exactly as a user is:
:func:`neurodeck.calibration.calibrate.calibrate_recordings` on its calibration runs (4 and 8: 30
trials) writes a subject profile, choosing a decoder with the calibration's chooser. Its test run
(12) is decoded with the windows a live decoder sees
(:func:`neurodeck.calibration.scoring.cued_windows`): the profile's chosen decoder from its
checkpoint, and every other candidate for the comparison of choosers (ensembles as the mean of their
members' window probabilities, which is what their checkpoint computes).

Nothing a held-out subject recorded is seen before its own calibration, and its test run is used
only for scoring.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from neurodeck.calibration.calibrate import calibrate_recordings
from neurodeck.calibration.candidates import ALL_CANDIDATES, choose, members
from neurodeck.calibration.fitting import BaseEncoder, CalibrationSettings
from neurodeck.calibration.scoring import cued_windows, trial_scores
from neurodeck.evaluation.classical import CLASS_NAMES, MARKER_CLASSES, load_runs
from neurodeck.models.checkpoint import load_checkpoint
from neurodeck.offline_training.finetune import predict_proba
from neurodeck.offline_training.pipeline import Recipe, adapt_table, cross_subject_model
from neurodeck.streaming.recording_io import eegbci_run_files
from scipy.stats import wilcoxon

logger = logging.getLogger(__name__)

#: Choosers compared in the study: cross-validation, and each candidate always.
CHOOSERS = ("cv", *(f"always:{name}" for name in ALL_CANDIDATES))


def fold_base(recipe: Recipe, model: Any, path: Path) -> BaseEncoder:
    """A fold's cross-subject model as calibration's base encoder (with the recipe's adaptation)."""
    _, meta = load_checkpoint(path)
    training = {**meta.training, "adapt": adapt_table(recipe.adapt)}
    return BaseEncoder(model, dataclasses.replace(meta, training=training), str(path))


def score_subject(
    base: BaseEncoder,
    calib_files: Sequence[Path],
    test_files: Sequence[Path],
    out_dir: Path,
    settings: CalibrationSettings,
    channels: Sequence[str] | None = None,
    drift_tau_s: Sequence[float] = (),
) -> dict[str, Any]:
    """Calibrate one held-out subject as ``neurodeck calibrate`` does and score its test runs.

    Parameters
    ----------
    base : BaseEncoder
        The fold's cross-subject network (never trained on this subject).
    calib_files, test_files : sequence of Path
        The subject's calibration and test runs (cues as T1 / T2 annotations).
    out_dir : Path
        Where the subject profile is written.
    settings : CalibrationSettings
        Calibration's settings (those of ``neurodeck calibrate``).
    channels : sequence of str, optional
        Restrict every run to these electrodes (a consumer montage).
    drift_tau_s : sequence of float
        Also score every candidate with the networks re-centred while decoding
        (:func:`recentred_proba`), once per time constant.

    Returns
    -------
    dict
        ``decoder`` (chosen) and its test figures under ``chosen``; per candidate its test
        figures and cross-validated accuracy; ``timings`` of the calibration.
    """
    calib = load_runs(calib_files, channels)
    test = load_runs(test_files, channels)
    profile, report = calibrate_recordings(
        calib, base, MARKER_CLASSES, CLASS_NAMES, out_dir, settings, subject=out_dir.name
    )
    window_proba: dict[str, np.ndarray] = {}
    y = trial = None
    for name in profile.checkpoints:
        if len(members(name)) > 1:
            continue
        model, meta = load_checkpoint(profile.checkpoint(name))
        X, y, trial = cued_windows(meta, test, MARKER_CLASSES, CLASS_NAMES)
        window_proba[name] = predict_proba(model, X)
    assert y is not None and trial is not None
    result: dict[str, Any] = {"decoder": profile.decoder, "candidates": {}}
    for name in report["candidates"]:
        p = np.mean([window_proba[m] for m in members(name)], axis=0)
        cv = report["scores"].get(name, {})
        result["candidates"][name] = {
            **trial_scores(p, y, trial),
            "cv_accuracy": cv.get("cv_accuracy"),
        }
    for tau in drift_tau_s:
        drifted = dict(window_proba)
        for name in ("zeroshot", "finetuned"):
            if name in profile.checkpoints:
                model, meta = load_checkpoint(profile.checkpoint(name))
                drifted[name] = recentred_proba(model, meta, test, tau)
        for name in report["candidates"]:
            p = np.mean([drifted[m] for m in members(name)], axis=0)
            result["candidates"][name][f"recentred_{tau:g}s"] = trial_scores(p, y, trial)
    chosen_model, chosen_meta = load_checkpoint(profile.checkpoint())
    X, y, trial = cued_windows(chosen_meta, test, MARKER_CLASSES, CLASS_NAMES)
    result["chosen"] = trial_scores(predict_proba(chosen_model, X), y, trial)
    result["timings"] = report["timings"]
    result["n_test_trials"] = len(np.unique(trial))
    return result


def recentred_proba(
    model: Any, meta: Any, runs: Sequence[Any], tau_s: float, hop_s: float = 0.25
) -> np.ndarray:
    """Probabilities of the cue windows with the alignment following the stream's drift.

    Every run goes through the checkpoint's chain; windows on the live grid (one every
    ``hop_s``) update a :class:`neurodeck.streaming.recentring.RunningRecentring` that starts from
    the calibration's alignment. Each cue window (those of
    :func:`neurodeck.calibration.scoring.cued_windows`, in the same order) is decoded with the
    alignment of the newest grid window that ends no later than it: nothing after a window is used.

    Returns
    -------
    ndarray, shape (n_cue_windows, n_classes)
    """
    import copy

    import torch
    from neurodeck.calibration.scoring import PROTOCOL_ENDS_S
    from neurodeck.streaming.preprocessing import PreprocessingConfig, Preprocessor
    from neurodeck.streaming.recentring import RunningRecentring

    cfg = dataclasses.replace(
        PreprocessingConfig.from_dict(meta.preprocessing),
        channel_names=tuple(meta.channel_names),
        sfreq_out=meta.sfreq,
    )
    model = copy.deepcopy(model).eval()
    n = round(meta.window_s * meta.sfreq)
    hop = round(hop_s * meta.sfreq)
    first, last, step = PROTOCOL_ENDS_S
    out = []
    for run in runs:
        data = Preprocessor(cfg, run.channel_names, run.sfreq).process_array(run.data)
        grid = np.arange(n, data.shape[1] + 1, hop)
        calibrated = model.alignment.clone()
        follow = RunningRecentring(calibrated.numpy(), hop_s, tau_s)
        alignments = np.stack([follow.update(data[:, e - n : e]) for e in grid])
        cues = [(m.timestamp, m.label) for m in run.markers if m.label in MARKER_CLASSES]
        for onset, _ in cues:
            ends = [round((onset + e) * meta.sfreq) for e in np.arange(first, last + 1e-9, step)]
            if ends[0] - n < 0 or ends[-1] > data.shape[1]:
                continue  # as the cutter: a trial that does not fit is left out
            for end in ends:
                k = int(np.searchsorted(grid, end, side="right")) - 1
                model.set_alignment(torch.from_numpy(alignments[k]) if k >= 0 else calibrated)
                out.append(predict_proba(model, data[None, :, end - n : end]))
    return np.concatenate(out)


def evaluate_calibrated(
    root: Path,
    subjects: Sequence[int],
    recipe: Recipe,
    settings: CalibrationSettings,
    n_folds: int = 3,
    seed: int = 0,
    run_dir: Path = Path("runs/evaluate"),
    channels: Sequence[str] | None = None,
    device: str | None = None,
    progress: Callable[[int, dict[str, Any]], None] | None = None,
    calib_runs: Sequence[int] = (4, 8),
    test_runs: Sequence[int] = (12,),
    drift_tau_s: Sequence[float] = (),
) -> dict[str, Any]:
    """Leave-subjects-out evaluation of one recipe through calibration.

    Parameters
    ----------
    root : Path
        Data root holding the EEGBCI files.
    subjects : sequence of int
        Subjects to split into folds (each is held out exactly once).
    recipe : Recipe
        The cross-subject network's recipe (its ``data.subjects`` is ignored: folds decide).
    settings : CalibrationSettings
        Calibration settings (the chooser, CV folds, fine-tuning overrides).
    n_folds, seed : int
        Subject folds and the seed of their split.
    run_dir : Path
        Fold models (reused when trained on the same subjects by the same recipe) and profiles.
    channels : sequence of str, optional
        Calibrate and test on these electrodes only (the model must read them).
    device : str, optional
        Training device of the fold models.
    progress : callable, optional
        ``progress(subject, result)`` after each held-out subject.
    calib_runs, test_runs : sequence of int
    drift_tau_s : sequence of float
        Time constants of re-centring while decoding to score as well (see
        :func:`recentred_proba`).

    Returns
    -------
    dict
        Split, per-subject figures, means, the chooser comparison and timings.
    """
    from neurodeck.offline_training.windows import subject_folds

    per_subject: dict[int, dict[str, Any]] = {}
    folds = []
    t0 = time.perf_counter()
    labels = [f"S{int(s):03d}" for s in subjects]
    montage = "all" if not channels else f"{len(channels)}ch"
    for k, (train_labels, test_labels) in enumerate(subject_folds(labels, n_folds, seed)):
        train = [int(s[1:]) for s in train_labels]
        test = [int(s[1:]) for s in test_labels]
        fold_dir = Path(run_dir) / recipe.name / f"fold{k}"
        if n_folds != 3 or seed != 0:
            fold_dir = Path(run_dir) / recipe.name / f"folds{n_folds}-seed{seed}" / f"fold{k}"
        t_fold = time.perf_counter()
        model, path = cross_subject_model(recipe, root, train, fold_dir, device)
        base = fold_base(recipe, model, path)
        folds.append({"train": train, "test": test, "train_s": round(time.perf_counter() - t_fold)})
        for subject in test:
            res = score_subject(
                base,
                eegbci_run_files(root, subject, calib_runs),
                eegbci_run_files(root, subject, test_runs),
                fold_dir / f"profiles-{montage}" / f"S{subject:03d}",
                settings,
                channels,
                drift_tau_s,
            )
            res["fold"] = k
            per_subject[int(subject)] = res
            if progress is not None:
                progress(int(subject), res)
    return {
        "recipe": recipe.name,
        "architecture": recipe.architecture,
        "recipe_file": recipe.source,
        "chooser": settings.chooser,
        "channels": list(channels) if channels else "all",
        "calib_runs": list(calib_runs),
        "test_runs": list(test_runs),
        "split": f"{n_folds} subject folds (seed {seed}); each fold's network is trained on the "
        "other folds' subjects only",
        "folds": folds,
        "per_subject": per_subject,
        "mean": summarise(per_subject),
        "choosers": compare_choosers(per_subject),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _paired(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Mean difference, subjects better, and the Wilcoxon signed-rank p of ``a`` against ``b``."""
    d = np.asarray(a) - np.asarray(b)
    p = float(wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
    return {
        "mean_diff": round(float(d.mean()), 4),
        "better": int((d > 0).sum()),
        "worse": int((d < 0).sum()),
        "n": len(d),
        "wilcoxon_p": round(p, 4),
    }


def summarise(per_subject: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """Mean window / trial accuracy of the chosen decoder and of each candidate, with the
    chosen decoder and each candidate paired against the reference (TS+LR)."""
    rows = list(per_subject.values())
    out: dict[str, Any] = {}
    names = ["chosen", *rows[0]["candidates"]] if rows else []
    for name in names:
        got = [r["chosen"] if name == "chosen" else r["candidates"].get(name) for r in rows]
        got = [g for g in got if g is not None]
        if len(got) == len(rows):
            out[name] = {
                k: round(float(np.mean([g[k] for g in got])), 4)
                for k in ("window_acc", "trial_acc")
            }
    for key in sorted({k for r in rows for c in r["candidates"].values() for k in c
                       if k.startswith("recentred_")}):  # fmt: skip
        for name in rows[0]["candidates"]:
            got = [r["candidates"][name].get(key) for r in rows]
            if all(g is not None for g in got):
                plain = [r["candidates"][name]["window_acc"] for r in rows]
                out[f"{name} {key}"] = {
                    k: round(float(np.mean([g[k] for g in got])), 4)
                    for k in ("window_acc", "trial_acc")
                }
                out[f"{name} {key}"]["vs_fixed_alignment"] = _paired(
                    [g["window_acc"] for g in got], plain
                )
    if rows and "reference" in rows[0]["candidates"]:
        ref = [r["candidates"]["reference"]["window_acc"] for r in rows]
        for name in names:
            if name in out and name != "reference":
                got = [r["chosen"] if name == "chosen" else r["candidates"][name] for r in rows]
                if any(g is None for g in got):
                    continue
                out[name]["vs_reference"] = _paired([g["window_acc"] for g in got], ref)
    return out


def compare_choosers(per_subject: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """What each chooser would have given every subject, from the same calibrations.

    ``cv`` picks the candidate with the highest cross-validated trial accuracy on the 30
    calibration trials; ``always:NAME`` takes that candidate.
    """
    out = {}
    for rule in CHOOSERS:
        picks, window, trial = [], [], []
        for res in per_subject.values():
            cands = res["candidates"]
            cv = {n: c["cv_accuracy"] for n, c in cands.items() if c["cv_accuracy"] is not None}
            name, _ = choose(rule, list(cands), cv or None)
            picks.append(name)
            window.append(cands[name]["window_acc"])
            trial.append(cands[name]["trial_acc"])
        if not window:
            continue
        out[rule] = {
            "window_acc": round(float(np.mean(window)), 4),
            "trial_acc": round(float(np.mean(trial)), 4),
            "picks": {n: picks.count(n) for n in sorted(set(picks))},
        }
    return out
