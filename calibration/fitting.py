"""Fit a person's decoders on calibration trials: the fine-tuned encoder and the reference.

1. **Fine-tuned encoder.** The shipped (pretrained) encoder is moved to the person's montage
   (input-agnostic encoders read any 10-20 subset; fixed-montage models need their channels),
   re-centred on the person's data (Euclidean alignment), and adapted with
   :func:`offline_training.finetune.adapt`: layer-wise learning-rate decay (or a frozen encoder
   for a linear probe), early stopping on held-back whole trials, the best epoch's weights kept.
   It trains on the windows a live decoder sees: windows of the model's length ending 1 to 4 s
   after each cue (the shipped recipes' ``ends``).
2. **Reference.** Tangent-space logistic regression on the cue + 0.5 .. 2.5 s epochs (8-30 Hz),
   as in ``neurodeck evaluate``; it fits in well under a second.
3. **Cross-validation.** Stratified k-fold over trials, the same folds for both; each fold
   repeats the whole fitting procedure on its training trials. The report gives accuracy per
   fold, per class and as a confusion matrix, and says which decoder is better.

The final models are fitted (and usable) before the cross-validation starts; the time from the
end of the recording to that point is the "time to a ready model".
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import StratifiedKFold
from torch import nn

from calibration.riemann import fit_tangent_space_lr
from calibration.trials import ContinuousEEG, TrialSet, build_trials
from common.types import AFFECTIVE, MOTOR_IMAGERY, ChannelMappingError, ConfigError, FloatArray
from models.base import EEGModel
from models.checkpoint import ModelMeta
from offline_training.affective import fit_band_power_lr
from offline_training.finetune import AdaptSettings, adapt, predict_proba
from offline_training.trainer import TrainSettings
from streaming.channels import is_eeg_channel_name, normalize_channel_name
from streaming.preprocessing import PreprocessingConfig

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

#: Decoder names inside a subject profile.
DECODERS = ("finetuned", "reference")


#: The classical reference decoders calibration can fit.
REFERENCES = ("tangent_space", "band_power")


def _default_adapt() -> AdaptSettings:
    return AdaptSettings(
        mode="finetune",
        train=TrainSettings(
            epochs=15, batch_size=32, lr=1e-3, weight_decay=1e-2, patience=5, progress=False
        ),
        layer_decay=0.7,
        val_fraction=0.2,
    )


@dataclass(frozen=True)
class CalibrationSettings:
    """How calibration trials become decoders.

    Parameters
    ----------
    ends_s : (first, last, hop)
        Training windows of the encoder end at cue + first .. last every hop seconds.
    reference_epoch_s : (tmin, tmax)
        Epoch of the reference, relative to the cue.
    reference_preprocessing : PreprocessingConfig
        Causal chain of the reference (channels are filled in from the recording).
    adapt : AdaptSettings
        Fine-tuning of the encoder (mode, epochs, learning rates, held-back fraction).
    cv_folds : int
        Folds of the cross-validation (0 skips it; the report then has no accuracy).
    min_trials_per_class : int
        Fewest usable trials per class.
    C_reg : float
        Inverse regularisation of the reference's logistic regression.
    seed : int
        Seed of the folds and of the fine-tuning.
    reference : str
        The classical reference decoder: ``"tangent_space"`` (motor imagery: one covariance per
        reference epoch) or ``"band_power"`` (affective: log band power of sliding windows of
        ``reference_window_s`` inside the reference epoch, hop half a window).
    reference_window_s : float
        Window of the band-power reference, seconds (its live window too).
    family : str
        Decoding family written into both checkpoints (``common.types.FAMILIES``); an encoder
        pretrained for one family (LaBraM on motor imagery) gets a new head for the other.
    """

    ends_s: tuple[float, float, float] = (1.0, 4.0, 0.5)
    reference_epoch_s: tuple[float, float] = (0.5, 2.5)
    reference_preprocessing: PreprocessingConfig = field(
        default_factory=lambda: PreprocessingConfig(bandpass=(8.0, 30.0), filter_order=4)
    )
    adapt: AdaptSettings = field(default_factory=_default_adapt)
    cv_folds: int = 5
    min_trials_per_class: int = 5
    C_reg: float = 1.0
    seed: int = 0
    reference: str = "tangent_space"
    reference_window_s: float = 4.0
    family: str = MOTOR_IMAGERY

    def __post_init__(self) -> None:
        if self.reference not in REFERENCES:
            raise ConfigError(f"'reference' must be one of {REFERENCES}; got {self.reference!r}.")
        first, last, hop = self.ends_s
        if not (hop > 0 and last >= first):
            raise ConfigError(f"'ends_s' must be (first, last, hop>0); got {self.ends_s!r}.")
        lo, hi = self.reference_epoch_s
        if not hi > lo:
            raise ConfigError(f"'reference_epoch_s' needs tmax > tmin; got {(lo, hi)!r}.")
        if self.cv_folds == 1 or self.cv_folds < 0:
            raise ConfigError(f"'cv_folds' must be 0 (skip) or >= 2; got {self.cv_folds}.")
        if self.min_trials_per_class < 2:
            raise ConfigError(
                f"'min_trials_per_class' must be >= 2; got {self.min_trials_per_class}."
            )

    def with_seed_device(self, device: str | None) -> CalibrationSettings:
        """The same settings with the fine-tuning on ``device`` and seeded by :attr:`seed`."""
        train = dataclasses.replace(
            self.adapt.train, seed=self.seed, device=device or self.adapt.train.device
        )
        return dataclasses.replace(self, adapt=dataclasses.replace(self.adapt, train=train))


def affective_settings(
    epoch_s: tuple[float, float], cv_folds: int = 5, seed: int = 0, epochs: int | None = None
) -> CalibrationSettings:
    """Calibration of the affective family from long blocks (emotion recall: about 60 s each).

    The encoder (GMSS) trains on 4-s windows every 2 s inside ``epoch_s`` without spatial
    re-centering (it would whiten away the power changes that carry state) and without held-back
    blocks (a session has only two or three blocks per class); the reference is the band-power
    logistic regression on the same windows. Cross-validation holds out whole blocks.
    """
    from offline_training.affective import (
        AFFECTIVE_WINDOW_S,
        affective_preprocessing,
        gmss_adapt_settings,
    )

    lo, hi = epoch_s
    w = AFFECTIVE_WINDOW_S
    if hi - lo < w:
        raise ConfigError(
            f"the epoch {lo:g}-{hi:g} s is shorter than the {w:g}-s window of affective models.",
            "Use blocks of several seconds (the emotion-recall paradigm records 60-s blocks).",
        )
    adapt_settings = gmss_adapt_settings(epochs or 40, seed)
    return CalibrationSettings(
        ends_s=(lo + w, hi, w / 2),
        reference_epoch_s=(lo, hi),
        reference_preprocessing=affective_preprocessing(),
        adapt=dataclasses.replace(adapt_settings, val_fraction=0.0),
        cv_folds=cv_folds,
        min_trials_per_class=2,
        seed=seed,
        reference="band_power",
        reference_window_s=w,
        family=AFFECTIVE,
    )


@dataclass(frozen=True)
class BaseEncoder:
    """The shipped (pretrained) encoder calibration starts from.

    Parameters
    ----------
    model : EEGModel
    meta : ModelMeta
        Its checkpoint metadata (window, rate, preprocessing, class names).
    source : str
        Where it was loaded from (provenance).
    """

    model: EEGModel
    meta: ModelMeta
    source: str

    @property
    def window_s(self) -> float:
        """Window length the encoder reads, seconds."""
        return float(self.meta.window_s)


def eeg_channels(names: Sequence[str]) -> tuple[str, ...]:
    """Canonical names of the 10-20 / 10-10 channels among ``names`` (AUX, triggers dropped).

    Raises
    ------
    ChannelMappingError
        If none of the names is an EEG position.
    """
    picked = tuple(normalize_channel_name(n) for n in names if is_eeg_channel_name(n))
    if not picked:
        raise ChannelMappingError(
            f"None of the recording's channels is a 10-20 / 10-10 position: {list(names)[:12]}.",
            "Calibration maps channels by name: configure the headset driver to publish "
            "standard electrode labels (C3, Cz, C4, ...).",
        )
    dropped = [n for n in names if not is_eeg_channel_name(n)]
    if dropped:
        logger.info("Not EEG positions, left out of calibration: %s", dropped)
    return picked


def encoder_channels(model: EEGModel, available: Sequence[str]) -> tuple[str, ...]:
    """Channels the encoder reads on this montage.

    Input-agnostic encoders take every EEG channel of the recording; fixed-montage models take
    their own channels, which must all be present.

    Raises
    ------
    ChannelMappingError
        Listing the model channels the recording lacks.
    """
    eeg = eeg_channels(available)
    if model.channel_agnostic:
        return eeg
    have = set(eeg)
    missing = [c for c in model.channel_names if c not in have]
    if missing:
        raise ChannelMappingError(
            f"The recording lacks {len(missing)} of the model's {model.n_channels} channels: "
            f"{missing[:16]}{' ...' if len(missing) > 16 else ''}.",
            "Record with a montage that has these channels, or calibrate an input-agnostic "
            "encoder (spp_eegnet, labram) that reads any 10-20 subset.",
        )
    return tuple(model.channel_names)


def encoder_preprocessing(base: BaseEncoder, available: Sequence[str]) -> PreprocessingConfig:
    """The encoder's saved chain, reading the channels it takes from this montage."""
    channels = encoder_channels(base.model, available)
    cfg = PreprocessingConfig.from_dict(base.meta.preprocessing)
    return dataclasses.replace(cfg, channel_names=channels, sfreq_out=base.meta.sfreq)


def reference_preprocessing(
    settings: CalibrationSettings, available: Sequence[str]
) -> PreprocessingConfig:
    """The reference's chain over every EEG channel of this montage."""
    return dataclasses.replace(
        settings.reference_preprocessing, channel_names=eeg_channels(available)
    )


def deep_trials(
    recordings: Sequence[ContinuousEEG],
    base: BaseEncoder,
    marker_classes: Mapping[str, str],
    class_names: Sequence[str],
    settings: CalibrationSettings,
) -> TrialSet:
    """Trials in the encoder's preprocessing, spanning every training window."""
    cfg = encoder_preprocessing(base, recordings[0].channel_names)
    first, last, _ = settings.ends_s
    span = (first - base.window_s, last)
    return build_trials(
        recordings, marker_classes, class_names, span, cfg, settings.min_trials_per_class
    )


def reference_trials(
    recordings: Sequence[ContinuousEEG],
    marker_classes: Mapping[str, str],
    class_names: Sequence[str],
    settings: CalibrationSettings,
) -> TrialSet:
    """Trials in the reference's preprocessing (every EEG channel of the recording)."""
    cfg = reference_preprocessing(settings, recordings[0].channel_names)
    return build_trials(
        recordings,
        marker_classes,
        class_names,
        settings.reference_epoch_s,
        cfg,
        settings.min_trials_per_class,
    )


def common_trials(a: TrialSet, b: TrialSet) -> tuple[TrialSet, TrialSet]:
    """Both trial sets restricted to the cues both kept (their spans may drop different edges)."""
    shared = np.intersect1d(a.onsets, b.onsets)
    if len(shared) == a.n_trials == b.n_trials:
        return a, b
    keep_a = np.flatnonzero(np.isin(a.onsets, shared))
    keep_b = np.flatnonzero(np.isin(b.onsets, shared))
    return a.subset(keep_a), b.subset(keep_b)


# -- fitting ------------------------------------------------------------------------------------


def fit_encoder(
    base: BaseEncoder, trials: TrialSet, settings: CalibrationSettings
) -> tuple[EEGModel, dict[str, Any]]:
    """Fine-tune a copy of the base encoder on the trials; it reads ``trials.channel_names``.

    The pretrained head is kept when the classes are the pretrained ones (in the same order);
    otherwise (or for a linear probe) a fresh head is trained.

    Returns
    -------
    model : EEGModel
        Aligned to the person, in eval mode, on the CPU.
    details : dict
        ``best_epoch``, ``val_acc`` (held-back trials), ``history``, ``n_windows``.
    """
    model = base.model.with_channels(trials.channel_names)
    s = settings.adapt
    if tuple(trials.class_names) != tuple(base.meta.class_names) or s.mode == "probe":
        s = dataclasses.replace(s, new_head=True)
    X, y, trial = trials.sliding_windows(base.window_s, settings.ends_s)
    result = adapt(model, X, y, trial, s, class_names=trials.class_names)
    details = {
        "best_epoch": result.best_epoch,
        "val_acc": result.val_acc,
        "history": result.history,
        "n_windows": len(y),
        "new_head": s.new_head,
    }
    return result.model, details


def _reference_windows(
    trials: TrialSet, settings: CalibrationSettings
) -> tuple[FloatArray, NDArray[np.int64], NDArray[np.int64]]:
    """Sliding windows of the band-power reference inside the reference epoch."""
    lo, hi = settings.reference_epoch_s
    w = settings.reference_window_s
    if hi - lo < w:
        raise ConfigError(
            f"the reference epoch {lo:g}-{hi:g} s is shorter than its {w:g}-s window.",
            "Lengthen the paradigm's epoch or shorten the reference window.",
        )
    return trials.sliding_windows(w, (lo + w, hi, w / 2))


def fit_reference(trials: TrialSet, settings: CalibrationSettings) -> nn.Module:
    """The classical reference on all trials: tangent-space or band-power logistic regression."""
    n_classes = len(trials.class_names)
    if settings.reference == "band_power":
        X, y, _ = _reference_windows(trials, settings)
        return fit_band_power_lr(X, y, n_classes, trials.sfreq, settings.C_reg)
    lo, hi = settings.reference_epoch_s
    return fit_tangent_space_lr(trials.crop(lo, hi), trials.y, n_classes, settings.C_reg)


def reference_trial_proba(
    model: nn.Module, trials: TrialSet, settings: CalibrationSettings
) -> FloatArray:
    """Per-trial probabilities of the reference, shape (n_trials, n_classes)."""
    if settings.reference == "band_power":
        X, _, trial = _reference_windows(trials, settings)
        p = model.predict_proba(X)  # type: ignore[operator]
        return np.stack([p[trial == i].mean(0) for i in range(trials.n_trials)])
    lo, hi = settings.reference_epoch_s
    return model.predict_proba(trials.crop(lo, hi))  # type: ignore[operator]


def reference_window_s(settings: CalibrationSettings) -> float:
    """Live window of the reference decoder, seconds."""
    if settings.reference == "band_power":
        return settings.reference_window_s
    lo, hi = settings.reference_epoch_s
    return hi - lo


def encoder_trial_proba(
    model: EEGModel, trials: TrialSet, window_s: float, ends_s: tuple[float, float, float]
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Per-trial probabilities (mean over the trial's windows) and per-window hits.

    Returns
    -------
    proba : ndarray, shape (n_trials, n_classes)
    window_hits : ndarray, shape (n_windows,), bool
    """
    X, y, trial = trials.sliding_windows(window_s, ends_s)
    p = predict_proba(model, X)
    proba = np.stack([p[trial == i].mean(0) for i in range(trials.n_trials)])
    return proba, p.argmax(1) == y


# -- cross-validation -----------------------------------------------------------------------------


def _fold_count(y: NDArray[np.int64], folds: int) -> int:
    return min(folds, int(np.bincount(y).min()))


def cross_validate(
    base: BaseEncoder,
    deep: TrialSet,
    ref: TrialSet,
    settings: CalibrationSettings,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Stratified k-fold over trials, the same folds for the encoder and the reference.

    Returns
    -------
    dict
        ``folds``, ``split`` (a description), and per decoder ``proba`` (n_trials, n_classes,
        out-of-fold), ``fold_accuracy``, ``window_accuracy`` (encoder only).
    """
    n = _fold_count(deep.y, settings.cv_folds)
    if n < 2:
        return {"folds": 0, "split": "skipped (fewer than 2 trials in a class)"}
    n_classes = len(deep.class_names)
    proba = {name: np.zeros((deep.n_trials, n_classes)) for name in DECODERS}
    fold_acc: dict[str, list[float]] = {name: [] for name in DECODERS}
    window_hits: list[NDArray[np.bool_]] = []
    splitter = StratifiedKFold(n, shuffle=True, random_state=settings.seed)
    for k, (train, test) in enumerate(splitter.split(np.zeros(deep.n_trials), deep.y), 1):
        if progress:
            progress(f"cross-validation fold {k}/{n}")
        t0 = time.perf_counter()
        model, _ = fit_encoder(base, deep.subset(train), settings)
        p, hits = encoder_trial_proba(model, deep.subset(test), base.window_s, settings.ends_s)
        proba["finetuned"][test] = p
        window_hits.append(hits)
        reference = fit_reference(ref.subset(train), settings)
        proba["reference"][test] = reference_trial_proba(reference, ref.subset(test), settings)
        for name in DECODERS:
            fold_acc[name].append(float((proba[name][test].argmax(1) == deep.y[test]).mean()))
        logger.info(
            "fold %d/%d: finetuned %.3f, reference %.3f (%.1f s)",
            k,
            n,
            fold_acc["finetuned"][-1],
            fold_acc["reference"][-1],
            time.perf_counter() - t0,
        )
    return {
        "folds": n,
        "split": f"stratified {n}-fold over {deep.n_trials} trials (seed {settings.seed}); each "
        "fold fine-tunes from the shipped encoder and refits the reference on its training trials",
        "proba": proba,
        "fold_accuracy": fold_acc,
        "window_accuracy": float(np.concatenate(window_hits).mean()),
    }


def confusion(y: NDArray[np.int64], pred: NDArray[np.int64], n_classes: int) -> NDArray[np.int64]:
    """Confusion matrix, rows = true class, columns = predicted class."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (y, pred), 1)
    return m


def decoder_scores(
    y: NDArray[np.int64], proba: FloatArray, class_names: Sequence[str], fold_acc: list[float]
) -> dict[str, Any]:
    """Accuracy (pooled and per fold), per-class recall and the confusion matrix."""
    pred = proba.argmax(1)
    m = confusion(y, pred, len(class_names))
    recall = {
        name: (float(m[i, i] / m[i].sum()) if m[i].sum() else None)
        for i, name in enumerate(class_names)
    }
    return {
        "cv_accuracy": float((pred == y).mean()),
        "cv_std": float(np.std(fold_acc)),
        "fold_accuracy": [round(a, 4) for a in fold_acc],
        "per_class_recall": recall,
        "confusion": m.tolist(),
    }


def better_decoder(scores: Mapping[str, Mapping[str, Any]]) -> str:
    """The decoder with the higher cross-validated accuracy (the reference on a tie)."""
    fine = scores.get("finetuned", {}).get("cv_accuracy")
    ref = scores.get("reference", {}).get("cv_accuracy")
    if fine is None or ref is None:
        return "finetuned" if ref is None else "reference"
    return "finetuned" if fine > ref else "reference"
