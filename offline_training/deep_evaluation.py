"""Leave-subjects-out evaluation of the deep encoders under the online motor-imagery protocol.

Subjects are split into folds. For each fold the encoder's recipe runs on the *training*
subjects only (self-supervised pretraining on all their runs, then cross-subject supervised
training on their imagery runs); then each held-out subject is calibrated on its own runs 4 and 8
and decoded on run 12 exactly as :mod:`offline_training.evaluation` does for the classical
references. Conditions per encoder:

``scratch``
    random initialisation -> cross-subject supervised -> fine-tuned on the subject.
``zeroshot``
    the cross-subject model ``finetune`` starts from (``scratch``'s for recipes without a
    self-supervised stage), only re-centred on the subject's calibration windows, not trained.
``probe``
    self-supervised encoder, frozen -> linear head fitted on the subject.
``finetune``
    self-supervised encoder -> cross-subject supervised -> fine-tuned on the subject.
``ensemble``
    mean of ``finetune``'s (else ``scratch``'s) and the tangent-space reference's window
    probabilities.

Nothing a held-out subject recorded is seen before its own calibration, and its test run is used
only for scoring.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from calibration.riemann import fit_tangent_space_lr
from common.types import ConfigError, FloatArray
from models.base import EEGModel
from offline_training.evaluation import (
    CLASS_NAMES,
    Protocol,
    RunData,
    load_run,
    online_windows,
    reference_data,
)
from offline_training.finetune import AdaptSettings, adapt, predict_proba
from offline_training.pipeline import Recipe, run_recipe
from streaming.preprocessing import PreprocessingConfig
from streaming.recording_io import eegbci_run_files

logger = logging.getLogger(__name__)

DEEP_MODES = ("scratch", "zeroshot", "probe", "finetune", "ensemble")
Trials = list[tuple[FloatArray, int]]


def cue_crops(
    run: RunData, window_s: float, ends: tuple[float, float, float]
) -> tuple[FloatArray, np.ndarray, np.ndarray]:
    """Labelled calibration windows: per cue, windows ending at cue + first .. last every hop.

    Returns
    -------
    X : ndarray, shape (n_windows, n_channels, n_times)
    y : ndarray, shape (n_windows,)
    trial : ndarray, shape (n_windows,)
        Index of the cue each window belongs to.
    """
    first, last, hop = ends
    protocol = Protocol(window_s=window_s, hop_s=hop, first_end_s=first, last_end_s=last)
    xs, ys, trials = [], [], []
    for i, (windows, label) in enumerate(online_windows(run, protocol)):
        xs.append(windows)
        ys += [label] * len(windows)
        trials += [i] * len(windows)
    return np.concatenate(xs), np.asarray(ys), np.asarray(trials)


def _subject_data(
    calib_files: Sequence[Path],
    test_files: Sequence[Path],
    preprocessing: PreprocessingConfig,
    window_s: float,
    ends: tuple[float, float, float],
) -> tuple[FloatArray, np.ndarray, np.ndarray, Trials]:
    """Calibration crops (with trial ids across runs) and online test trials of a subject."""
    xs, ys, ts = [], [], []
    offset = 0
    for path in calib_files:
        X, y, trial = cue_crops(load_run(path, preprocessing), window_s, ends)
        xs.append(X)
        ys.append(y)
        ts.append(trial + offset)
        offset += int(trial.max()) + 1
    protocol = Protocol(window_s=window_s)
    test = [
        t for path in test_files for t in online_windows(load_run(path, preprocessing), protocol)
    ]
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ts), test


def _probas(predict: Callable[[FloatArray], np.ndarray], trials: Trials) -> list[np.ndarray]:
    return [predict(windows) for windows, _ in trials]


def scores(probas: Sequence[np.ndarray], trials: Trials) -> dict[str, float]:
    """Window and trial accuracy from per-trial window probabilities."""
    hits = np.concatenate(
        [p.argmax(1) == label for p, (_, label) in zip(probas, trials, strict=True)]
    )
    correct = [
        int(p.mean(0).argmax()) == label for p, (_, label) in zip(probas, trials, strict=True)
    ]
    return {
        "window_acc": round(float(hits.mean()), 3),
        "trial_acc": round(float(np.mean(correct)), 3),
    }


def _reference_probas(calib_files: Sequence[Path], test_files: Sequence[Path]) -> list[np.ndarray]:
    """Tangent-space reference probabilities on the subject's online test windows."""
    X, y, trials = reference_data(calib_files, test_files, Protocol())
    model = fit_tangent_space_lr(X, y, len(CLASS_NAMES))
    return _probas(model.predict_proba, trials)


def evaluate_held_out(
    models: dict[str, EEGModel],
    recipe: Recipe,
    calib_files: Sequence[Path],
    test_files: Sequence[Path],
    modes: Sequence[str],
) -> dict[str, Any]:
    """Calibrate each condition's model on one held-out subject and score its test runs.

    Parameters
    ----------
    models : dict
        ``"ssl"`` (self-supervised encoder), ``"supervised"`` (ssl + cross-subject) and
        ``"scratch"`` (random init + cross-subject), as far as the modes need them.
    recipe : Recipe
        Preprocessing, window and adaptation settings.
    calib_files, test_files : sequence of Path
        The subject's calibration runs (cues as T1/T2 annotations) and test runs.
    modes : sequence of str
        Conditions to score; ``ensemble`` also scores the tangent-space reference.
    """
    ends = recipe.supervised.ends if recipe.supervised else (1.0, 4.0, 0.5)
    X, y, trial, test = _subject_data(
        calib_files, test_files, recipe.preprocessing, recipe.window_s, ends
    )
    result: dict[str, Any] = {"n_calib_windows": len(y), "n_test_trials": len(test)}
    probas: dict[str, list[np.ndarray]] = {}
    plan = {"scratch": ("scratch", recipe.adapt), "finetune": ("supervised", recipe.adapt)}
    plan["probe"] = ("ssl", _probe_settings(recipe.adapt))
    for mode in modes:
        if mode == "ensemble":
            continue
        t0 = time.perf_counter()
        if mode == "zeroshot":
            model = _zero_shot(models, X)
            best_epoch, val_acc = None, None
        else:
            source, settings = plan[mode]
            res = adapt(models[source], X, y, trial, settings, class_names=CLASS_NAMES)
            model, best_epoch, val_acc = res.model, res.best_epoch, res.val_acc
        probas[mode] = _probas(lambda w, m=model: predict_proba(m, w), test)
        result[mode] = {
            **scores(probas[mode], test),
            "best_epoch": best_epoch,
            "val_acc": val_acc,
            "adapt_s": round(time.perf_counter() - t0, 1),
        }
    if "ensemble" in modes:
        ref = _reference_probas(calib_files, test_files)
        deep = probas["finetune"] if "finetune" in probas else probas["scratch"]
        mixed = [(a + b) / 2 for a, b in zip(deep, ref, strict=True)]
        result["ensemble"] = scores(mixed, test)
        result["ts_lr"] = scores(ref, test)
    return result


def _zero_shot(models: dict[str, EEGModel], X: FloatArray) -> EEGModel:
    """The cross-subject model, re-centred on the calibration windows ``X``, untrained."""
    from offline_training.windows import euclidean_alignment_matrix

    model = copy.deepcopy(models["supervised"] if "supervised" in models else models["scratch"])
    model.set_alignment(torch.from_numpy(euclidean_alignment_matrix(X)))
    return model.eval()


def _probe_settings(s: AdaptSettings) -> AdaptSettings:
    from dataclasses import replace

    return replace(s, mode="probe", train=replace(s.train, lr=max(s.train.lr, 1e-2)))


def check_modes(modes: Sequence[str]) -> tuple[str, ...]:
    """Validate the condition names (ensemble needs finetune)."""
    unknown = [m for m in modes if m not in DEEP_MODES]
    if unknown:
        raise ConfigError(f"unknown evaluation modes {unknown}; known: {list(DEEP_MODES)}.")
    if "ensemble" in modes and not {"finetune", "scratch"} & set(modes):
        raise ConfigError("mode 'ensemble' averages 'finetune' (or 'scratch') with ts_lr; add one.")
    return tuple(modes)


def copy_models(models: dict[str, EEGModel]) -> dict[str, EEGModel]:
    """Deep copies, so that adapting to one subject never leaks into the next."""
    return {k: copy.deepcopy(v) for k, v in models.items()}


def _stages_for(modes: Sequence[str], has_ssl: bool) -> tuple[str, ...]:
    stages = []
    if "probe" in modes:
        stages.append("ssl")
    if "finetune" in modes or ("zeroshot" in modes and has_ssl):
        stages += ["ssl", "supervised"]
    if "scratch" in modes or ("zeroshot" in modes and not has_ssl):
        stages.append("scratch")
    return tuple(dict.fromkeys(stages))


def mean_scores(per_subject: dict[int, dict[str, Any]], modes: Sequence[str]) -> dict[str, Any]:
    """Mean window and trial accuracy of each condition over subjects."""
    out = {}
    for mode in modes:
        rows = [r[mode] for r in per_subject.values() if mode in r]
        if rows:
            out[mode] = {
                k: round(float(np.mean([r[k] for r in rows])), 3)
                for k in ("window_acc", "trial_acc")
            }
    return out


def evaluate_deep(
    root: Path,
    subjects: Sequence[int],
    recipe: Recipe,
    n_folds: int = 3,
    modes: Sequence[str] = DEEP_MODES,
    device: str | None = None,
    out_dir: Path | None = None,
    seed: int = 0,
    progress: Callable[[int, dict[str, Any]], None] | None = None,
    calib_runs: Sequence[int] = (4, 8),
    test_runs: Sequence[int] = (12,),
) -> dict[str, Any]:
    """Leave-subjects-out evaluation of one encoder recipe.

    Parameters
    ----------
    root : Path
        Data root holding the EEGBCI files.
    subjects : sequence of int
        Subjects to split into folds (each is held out exactly once).
    recipe : Recipe
        The encoder's recipe (its ``data.subjects`` is ignored: folds decide).
    n_folds : int
        Number of subject folds.
    modes : sequence of str
        Conditions (see the module docstring).
    device : str, optional
        Training device (``auto``, ``cpu``, ``cuda``).
    out_dir : Path, optional
        Per-fold training logs, curves and resume files.
    seed : int
        Seed of the fold split.
    progress : callable, optional
        ``progress(subject, result)`` after each held-out subject.
    calib_runs, test_runs : sequence of int
        Each held-out subject's calibration and test runs (cues as T1 / T2 annotations).

    Returns
    -------
    dict
        Split, per-subject figures, means per condition, and timings.
    """
    from offline_training.windows import subject_folds

    modes = check_modes(modes)
    per_subject: dict[int, dict[str, Any]] = {}
    folds = []
    t0 = time.perf_counter()
    labels = [f"S{int(s):03d}" for s in subjects]
    for k, (train_labels, test_labels) in enumerate(subject_folds(labels, n_folds, seed)):
        train = [int(s[1:]) for s in train_labels]
        test = [int(s[1:]) for s in test_labels]
        fold_dir = None if out_dir is None else Path(out_dir) / recipe.name / f"fold{k}"
        t_fold = time.perf_counter()
        models = run_recipe(
            recipe, root, train, fold_dir, _stages_for(modes, recipe.ssl is not None), device=device
        )
        train_s = round(time.perf_counter() - t_fold, 1)
        folds.append({"train": [int(s) for s in train], "test": [int(s) for s in test]})
        folds[-1]["train_s"] = train_s
        for subject in test:
            calib = eegbci_run_files(root, subject, calib_runs)
            test_files = eegbci_run_files(root, subject, test_runs)
            res = evaluate_held_out(copy_models(models), recipe, calib, test_files, modes)
            res["fold"] = k
            per_subject[int(subject)] = res
            if progress is not None:
                progress(int(subject), res)
    return {
        "recipe": recipe.name,
        "architecture": recipe.architecture,
        "recipe_file": recipe.source,
        "modes": list(modes),
        "calib_runs": list(calib_runs),
        "test_runs": list(test_runs),
        "folds": folds,
        "per_subject": per_subject,
        "mean": mean_scores(per_subject, [*modes, "ts_lr"]),
        "seconds": round(time.perf_counter() - t0, 1),
    }
