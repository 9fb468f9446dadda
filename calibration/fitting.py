"""Fit a person's decoders on calibration trials: re-centred, fine-tuned, and the reference.

1. **Re-centred network** (:func:`recentre`, the ``zeroshot`` candidate). The shipped
   cross-subject network is moved to the person's montage (name-indexed networks read the
   electrodes they know; fixed-montage models need their channels), aligned with the inverse
   square root of the calibration windows' mean covariance (Euclidean alignment), and its input
   statistics are measured on them. No label is used and nothing is trained.
2. **Fine-tuned network** (:func:`fit_encoder`). The same, then adapted with
   :func:`neurodeck.offline_training.finetune.adapt` with the network's recipe settings
   (:meth:`CalibrationSettings.for_base`): layer-wise learning rates (or a frozen encoder for a
   linear probe), label-aware augmentation, early stopping on held-back whole trials. It trains
   on the windows a live decoder sees: windows of the model's length ending 1 to 4 s after each
   cue.
3. **Reference** (:func:`fit_reference`). Tangent-space logistic regression on the cue + 0.5 ..
   2.5 s epochs (8-30 Hz), as in ``neurodeck evaluate``; it fits in well under a second. When
   the network filters like it, it reads the network's chain (:func:`reference_preprocessing`),
   so the two decode the same window and can be averaged (:func:`shares_window`).
4. **Cross-validation** (:func:`cross_validate`). Stratified k-fold over trials, the same folds
   for every candidate; each fold repeats the fine-tuning and the reference on its training
   trials. Which candidate the profile uses is :mod:`neurodeck.calibration.candidates`' choice.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from neurodeck.calibration.riemann import fit_tangent_space_lr
from neurodeck.calibration.trials import (
    MIN_TRIALS_PER_CLASS,
    ContinuousEEG,
    InsufficientTrialsError,
    TrialSet,
    build_trials,
)
from neurodeck.common.types import (
    AFFECTIVE,
    MOTOR_IMAGERY,
    ChannelMappingError,
    ConfigError,
    FloatArray,
)
from neurodeck.models.base import EEGModel
from neurodeck.models.checkpoint import ModelMeta
from neurodeck.offline_training.affective import fit_band_power_lr
from neurodeck.offline_training.finetune import AdaptSettings, adapt, predict_proba
from neurodeck.offline_training.trainer import TrainSettings
from neurodeck.streaming.channels import is_eeg_channel_name, normalize_channel_name
from neurodeck.streaming.preprocessing import PreprocessingConfig
from neurodeck.streaming.recording_io import flat_rows
from numpy.typing import NDArray
from sklearn.model_selection import StratifiedKFold
from torch import nn

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

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
    adapt: AdaptSettings | None = None
    cv_folds: int = 5
    min_trials_per_class: int = MIN_TRIALS_PER_CLASS[MOTOR_IMAGERY]
    C_reg: float = 1.0
    seed: int = 0
    reference: str = "tangent_space"
    reference_window_s: float = 4.0
    family: str = MOTOR_IMAGERY
    chooser: str = "default"
    epochs: int | None = None
    augment: tuple[str, ...] | None = None
    mode: str | None = None

    def __post_init__(self) -> None:
        from neurodeck.calibration.candidates import check_chooser

        object.__setattr__(self, "chooser", check_chooser(self.chooser))
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

    def for_base(self, base: BaseEncoder | None, device: str | None = None) -> CalibrationSettings:
        """Settings with the fine-tuning resolved for ``base``, on ``device``, seeded.

        The adaptation is :attr:`adapt` when given, else the one the base encoder's recipe was
        evaluated with (its checkpoint's ``training.adapt``), else a generic default; then
        :attr:`epochs`, :attr:`augment` and :attr:`mode` override it.
        """
        adapt = self.adapt or (base_adapt(base.meta) if base is not None else None)
        adapt = adapt or _default_adapt()
        train = dataclasses.replace(
            adapt.train,
            seed=self.seed,
            device=device or adapt.train.device,
            epochs=self.epochs if self.epochs is not None else adapt.train.epochs,
        )
        adapt = dataclasses.replace(
            adapt,
            train=train,
            augment=adapt.augment if self.augment is None else tuple(self.augment),
            mode=self.mode or adapt.mode,
        )
        return dataclasses.replace(self, adapt=adapt)

    def with_seed_device(self, device: str | None) -> CalibrationSettings:
        """:meth:`for_base` without a base encoder (the generic fine-tuning)."""
        return self.for_base(None, device)

    @property
    def resolved_adapt(self) -> AdaptSettings:
        """The adaptation (after :meth:`for_base`; the generic default before)."""
        return self.adapt or _default_adapt()


def base_adapt(meta: ModelMeta) -> AdaptSettings | None:
    """The adaptation a checkpoint's recipe prescribes (``training.adapt``), if it has one."""
    table = meta.training.get("adapt")
    if not isinstance(table, dict):
        return None
    from neurodeck.offline_training.pipeline import adapt_from_table

    return adapt_from_table(table)


def affective_settings(
    epoch_s: tuple[float, float], cv_folds: int = 5, seed: int = 0, epochs: int | None = None
) -> CalibrationSettings:
    """Calibration of the affective family from long blocks (emotion recall: about 60 s each).

    The encoder (GMSS) trains on 4-s windows every 2 s inside ``epoch_s`` without spatial
    re-centering (it would whiten away the power changes that carry state) and without held-back
    blocks (a session has only two or three blocks per class); the reference is the band-power
    logistic regression on the same windows. Cross-validation holds out whole blocks.
    """
    from neurodeck.offline_training.affective import (
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
        min_trials_per_class=MIN_TRIALS_PER_CLASS[AFFECTIVE],
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
    vocabulary = getattr(model, "vocabulary", None)
    if vocabulary is not None:  # reads the electrodes it has spatial weights for
        picked = model.readable_channels(vocabulary, eeg)  # type: ignore[attr-defined]
        left_out = [c for c in eeg if c not in picked]
        if left_out:
            logger.info("Channels the encoder has no weights for, left out: %s", left_out)
        return picked
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
    settings: CalibrationSettings, available: Sequence[str], base: BaseEncoder | None = None
) -> PreprocessingConfig:
    """The reference's chain over every EEG channel of this montage.

    When the encoder's saved chain filters as the reference's does (same band-pass, order,
    notch and re-reference), the reference reads the encoder's chain instead (its channels and
    rate): both then decode the same window, and calibration can average them
    (:func:`shares_window`). On the 64-channel EEGBCI montage at 160 Hz the two chains are the
    same samples.
    """
    own = dataclasses.replace(
        settings.reference_preprocessing, channel_names=eeg_channels(available)
    )
    if base is not None and _same_filtering(own, base):
        return encoder_preprocessing(base, available)
    return own


def _same_filtering(cfg: PreprocessingConfig, base: BaseEncoder) -> bool:
    theirs = PreprocessingConfig.from_dict(base.meta.preprocessing)
    keys = ("bandpass", "filter_order", "notch_hz", "reference", "clip_uv")
    return all(getattr(cfg, k) == getattr(theirs, k) for k in keys)


def shares_window(base: BaseEncoder, settings: CalibrationSettings, available: Sequence[str]):
    """True when the encoder and the reference read the same preprocessed window.

    Same chain (:func:`reference_preprocessing`) and same window length: their probabilities
    can then be averaged window by window, live, by one model.
    """
    if settings.reference != "tangent_space":
        return False
    same_chain = reference_preprocessing(settings, available, base) == encoder_preprocessing(
        base, available
    )
    return same_chain and abs(reference_window_s(settings) - base.window_s) < 1e-9


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
    base: BaseEncoder | None = None,
) -> TrialSet:
    """Trials in the reference's preprocessing (see :func:`reference_preprocessing`)."""
    cfg = reference_preprocessing(settings, recordings[0].channel_names, base)
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


def check_trials_carry_signal(trials: TrialSet) -> None:
    """Refuse to fit on trials that are all flat (every channel holds one value in each).

    :func:`~neurodeck.calibration.trials.build_trials` drops flat trials as it cuts them; this
    guards the fitting functions against trial sets built otherwise. Nothing can be learnt from
    such trials (and the covariances of the reference are singular).

    Parameters
    ----------
    trials : TrialSet
        The trials to fit on.

    Raises
    ------
    InsufficientTrialsError
        If no trial holds any signal; the message says how many trials and channels.
    """
    if trials.n_trials == 0:
        raise InsufficientTrialsError(
            "No trial to fit a decoder on.", "Record a calibration session with cues."
        )
    flat = flat_rows(trials.X).all(axis=1)  # (n_trials, n_channels) -> (n_trials,)
    if flat.all():
        raise InsufficientTrialsError(
            f"All {trials.n_trials} calibration trials are flat: none of their "
            f"{len(trials.channel_names)} channels ({', '.join(trials.channel_names[:8])}"
            f"{', ...' if len(trials.channel_names) > 8 else ''}) changes within a trial, so "
            "there is nothing to fit a decoder on.",
            "Check that the electrodes touch the skin and the amplifier is on (the recording "
            "holds no EEG signal during the cues), then record the calibration again.",
        )
    if flat.any():
        logger.warning(
            "%d of %d trials are flat; the decoder is fitted on them all the same.",
            int(flat.sum()),
            trials.n_trials,
        )


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
    check_trials_carry_signal(trials)
    model = base.model.with_channels(trials.channel_names)
    s = settings.resolved_adapt
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


def can_recentre(base: BaseEncoder, trials: TrialSet, settings: CalibrationSettings) -> bool:
    """True when the base network decodes these classes as it is (a zero-shot candidate).

    It must have been trained across people on the cued classes, in the same order.
    """
    trained = base.meta.training.get("stage") in ("supervised", "calibrated")
    return (
        trained
        and tuple(trials.class_names) == tuple(base.meta.class_names)
        and settings.resolved_adapt.mode == "finetune"
    )


def recentre(
    base: BaseEncoder, trials: TrialSet, settings: CalibrationSettings
) -> tuple[EEGModel, dict[str, Any]]:
    """The base network re-centred on the person, untrained ("zero-shot").

    Euclidean alignment from the calibration windows (those fine-tuning trains on), then the
    model's own input statistics (BatchNorm for montage-agnostic networks); no label is used.

    Returns
    -------
    model : EEGModel
        In eval mode, on the CPU.
    details : dict
        ``n_windows``.
    """
    from neurodeck.offline_training.windows import euclidean_alignment_matrix

    check_trials_carry_signal(trials)
    model = base.model.with_channels(trials.channel_names).cpu()
    X, _, _ = trials.sliding_windows(base.window_s, settings.ends_s)
    if settings.resolved_adapt.align:
        model.set_alignment(torch.from_numpy(euclidean_alignment_matrix(X)))
    model.fit_input_statistics(X)
    return model.eval(), {"n_windows": len(X)}


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
    """The classical reference on all trials: tangent-space or band-power logistic regression.

    Raises
    ------
    InsufficientTrialsError
        If every trial is flat (see :func:`check_trials_carry_signal`).
    """
    check_trials_carry_signal(trials)
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


def _window_proba_reference(
    model: nn.Module, ref: TrialSet, deep: TrialSet, window_s: float, settings, shared: bool
) -> FloatArray:
    """The reference's probability for each deep window of the trials (n_windows, n_classes).

    On a shared window it decodes the same windows; otherwise its per-trial probability (own
    epoch or own windows) is given to every window of the trial.
    """
    if shared:
        X, _, _ = deep.sliding_windows(window_s, settings.ends_s)
        return model.predict_proba(X)  # type: ignore[operator]
    per_trial = reference_trial_proba(model, ref, settings)
    _, _, trial = deep.sliding_windows(window_s, settings.ends_s)
    return per_trial[trial]


def cross_validate(
    base: BaseEncoder,
    deep: TrialSet,
    ref: TrialSet,
    settings: CalibrationSettings,
    singles: Sequence[str],
    shared: bool,
    zeroshot: EEGModel | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Stratified k-fold over trials, the same folds for every candidate.

    Each fold repeats the whole fitting of ``finetuned`` and ``reference`` on its training
    trials. ``zeroshot`` is fitted without labels (re-centring only), so it is scored on every
    trial as it is. Ensembles are the mean of their members' out-of-fold window probabilities.

    Returns
    -------
    dict
        ``folds``, ``split`` (a description), and per candidate: ``proba`` (n_trials, n_classes,
        the mean of its windows' out-of-fold probabilities), ``fold_accuracy`` (trials) and
        ``window_accuracy``.
    """
    from neurodeck.calibration.candidates import (
        FINETUNED,
        REFERENCE,
        ZEROSHOT,
        available_candidates,
    )
    from neurodeck.calibration.candidates import members as members_of

    n = _fold_count(deep.y, settings.cv_folds)
    if n < 2:
        return {"folds": 0, "split": "skipped (fewer than 2 trials in a class)"}
    X, y_w, trial_w = deep.sliding_windows(base.window_s, settings.ends_s)
    n_classes = len(deep.class_names)
    window_proba = {name: np.zeros((len(y_w), n_classes)) for name in singles}
    if ZEROSHOT in singles and zeroshot is not None:
        window_proba[ZEROSHOT] = predict_proba(zeroshot, X)
    splitter = StratifiedKFold(n, shuffle=True, random_state=settings.seed)
    folds = list(splitter.split(np.zeros(deep.n_trials), deep.y))
    for k, (train, test) in enumerate(folds, 1):
        if progress:
            progress(f"cross-validation fold {k}/{n}")
        t0 = time.perf_counter()
        rows = np.isin(trial_w, test)
        if FINETUNED in singles:
            model, _ = fit_encoder(base, deep.subset(train), settings)
            window_proba[FINETUNED][rows] = predict_proba(model, X[rows])
        if REFERENCE in singles:
            reference = fit_reference(ref.subset(train), settings)
            window_proba[REFERENCE][rows] = _window_proba_reference(
                reference, ref.subset(test), deep.subset(test), base.window_s, settings, shared
            )
        logger.info("fold %d/%d fitted in %.1f s", k, n, time.perf_counter() - t0)
    candidates = available_candidates(singles, shared)
    out: dict[str, Any] = {
        "folds": n,
        "split": f"stratified {n}-fold over {deep.n_trials} trials (seed {settings.seed}); each "
        "fold fine-tunes from the shipped encoder and refits the reference on its training "
        "trials; zeroshot is re-centred on all calibration windows (no labels) and scored on "
        "every trial",
        "proba": {},
        "fold_accuracy": {},
        "window_accuracy": {},
    }
    for name in candidates:
        p = np.mean([window_proba[m] for m in members_of(name)], axis=0)
        per_trial = np.stack([p[trial_w == i].mean(0) for i in range(deep.n_trials)])
        out["proba"][name] = per_trial
        out["window_accuracy"][name] = float((p.argmax(1) == y_w).mean())
        out["fold_accuracy"][name] = [
            float((per_trial[test].argmax(1) == deep.y[test]).mean()) for _, test in folds
        ]
    return out


def reference_cv_accuracy(trials: TrialSet, settings: CalibrationSettings) -> float:
    """Stratified k-fold accuracy of the reference alone on its trials (NaN when too few)."""
    n = _fold_count(trials.y, settings.cv_folds)
    if n < 2:
        return float("nan")
    hits = np.zeros(trials.n_trials, dtype=bool)
    splitter = StratifiedKFold(n, shuffle=True, random_state=settings.seed)
    for train, test in splitter.split(np.zeros(trials.n_trials), trials.y):
        model = fit_reference(trials.subset(train), settings)
        proba = reference_trial_proba(model, trials.subset(test), settings)
        hits[test] = proba.argmax(1) == trials.y[test]
    return float(hits.mean())


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
