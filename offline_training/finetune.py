"""Adapt a (pre)trained encoder to one person's calibration trials.

Two modes: ``probe`` (encoder frozen, a fresh linear head fitted) and ``finetune`` (all layers,
learning rates decaying layer by layer from the head towards the input). Before training the
subject's data are re-centred (Euclidean alignment: the model's ``alignment`` buffer is set to
the inverse square root of the mean covariance of the calibration windows), held-back trials
(whole trials, stratified by class) drive early stopping, and the best epoch's weights are kept.
Calibration (issue 4) and ``neurodeck evaluate`` share this code.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from neurodeck.common.types import ConfigError, FloatArray
from neurodeck.models.base import EEGModel
from neurodeck.offline_training.objectives import SupervisedObjective
from neurodeck.offline_training.trainer import Trainer, TrainSettings
from torch.utils.data import TensorDataset

logger = logging.getLogger(__name__)

ADAPT_MODES = ("probe", "finetune")


@dataclass(frozen=True)
class AdaptSettings:
    """How an encoder is adapted to a subject.

    Parameters
    ----------
    mode : str
        ``"probe"`` or ``"finetune"``.
    train : TrainSettings
        Optimiser settings (epochs, lr, batch size, patience, ...).
    layer_decay : float
        Learning-rate factor per layer group from the head towards the input (1 = uniform).
    val_fraction : float
        Fraction of trials held back for early stopping (0 disables it).
    label_smoothing : float
    align : bool
        Set the model's alignment from the calibration windows.
    new_head : bool
        Replace the head before training (always true for probes).
    augment : tuple of str
        Label-aware augmentations of the training batches
        (:data:`neurodeck.offline_training.label_augment.LABEL_AUGMENTATIONS`); none by default.
    """

    mode: str = "finetune"
    train: TrainSettings = field(
        default_factory=lambda: TrainSettings(
            epochs=30, batch_size=32, lr=1e-3, weight_decay=1e-2, patience=8, progress=False
        )
    )
    layer_decay: float = 0.7
    val_fraction: float = 0.2
    label_smoothing: float = 0.1
    align: bool = True
    new_head: bool = False
    augment: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from neurodeck.offline_training.label_augment import check_augment_names

        object.__setattr__(self, "augment", check_augment_names(self.augment))
        if self.mode not in ADAPT_MODES:
            raise ConfigError(f"'mode' must be one of {ADAPT_MODES}; got {self.mode!r}.")
        if not 0 < self.layer_decay <= 1:
            raise ConfigError(f"'layer_decay' must lie in (0, 1]; got {self.layer_decay}.")
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"'val_fraction' must lie in [0, 1); got {self.val_fraction}.")


@dataclass
class AdaptResult:
    """The adapted model and what happened while adapting it."""

    model: EEGModel
    history: list[dict[str, Any]]
    best_epoch: int | None
    val_acc: float | None


def layerwise_groups(model: EEGModel, decay: float, weight_decay: float) -> list[dict[str, Any]]:
    """Optimizer groups whose learning rate shrinks by ``decay`` per group towards the input.

    Parameters
    ----------
    model : EEGModel
        Its ``layer_groups()`` order the parameters from input to head.
    decay : float
        Factor per group; the head gets 1, the group before it ``decay``, and so on.
    weight_decay : float
        Applied to matrices only (1-D parameters are exempt).

    Returns
    -------
    groups : list of dict
        ``params``, ``lr_scale`` and ``weight_decay`` per group.
    """
    layers = model.layer_groups()
    groups = []
    for depth, params in enumerate(layers):
        scale = decay ** (len(layers) - 1 - depth)
        trainable = [p for p in params if p.requires_grad]
        for matrices in (True, False):
            ps = [p for p in trainable if (p.ndim > 1) == matrices]
            if ps:
                wd = weight_decay if matrices else 0.0
                groups.append({"params": ps, "lr_scale": scale, "weight_decay": wd})
    return groups


def split_trials(
    trial_ids: np.ndarray, y: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, val) that hold back whole trials, stratified by class.

    Parameters
    ----------
    trial_ids : ndarray, shape (n_windows,)
        Trial of each window (windows of one trial never straddle the split).
    y : ndarray, shape (n_windows,)
        Class of each window.
    val_fraction : float
        Fraction of each class's trials held back (at least one when > 0).
    seed : int
    """
    rng = np.random.default_rng(seed)
    val_trials: list[int] = []
    if val_fraction > 0:
        for cls in np.unique(y):
            trials = np.unique(trial_ids[y == cls])
            n_val = max(1, round(val_fraction * len(trials)))
            if n_val >= len(trials):
                raise ConfigError(
                    f"class {cls} has only {len(trials)} trial(s); cannot hold {n_val} back.",
                    "Record more trials or set val_fraction to 0.",
                )
            val_trials.extend(rng.choice(trials, n_val, replace=False).tolist())
    val = np.isin(trial_ids, val_trials)
    return ~val, val


def validator(x_val: torch.Tensor, y_val: torch.Tensor, batch: int = 256):
    """``validate(objective) -> {loss, acc}`` on held-back windows (x: (n, C, T), y: (n,))."""

    def validate(objective: SupervisedObjective) -> dict[str, float]:
        device = next(objective.parameters()).device
        logits = torch.cat(
            [
                objective.model(x_val[i : i + batch].to(device)).cpu()
                for i in range(0, len(x_val), batch)
            ]
        )
        return {
            "loss": float(F.cross_entropy(logits, y_val)),
            "acc": float((logits.argmax(1) == y_val).float().mean()),
        }

    return validate


def adapt(
    model: EEGModel,
    X: FloatArray,
    y: np.ndarray,
    trial_ids: np.ndarray,
    settings: AdaptSettings | None = None,
    alignment_windows: FloatArray | None = None,
    class_names: Sequence[str] | None = None,
) -> AdaptResult:
    """Adapt a copy of ``model`` to a subject's calibration windows.

    Parameters
    ----------
    model : EEGModel
        Pretrained (or fresh) model; it is not modified.
    X : ndarray, shape (n_windows, n_channels, n_times), float32
        Calibration windows, preprocessed, not aligned.
    y : ndarray, shape (n_windows,), int
    trial_ids : ndarray, shape (n_windows,), int
    settings : AdaptSettings, optional
    alignment_windows : ndarray, shape (n, n_channels, n_times), optional
        Windows for the alignment statistics (default: ``X``).
    class_names : sequence of str, optional
        Names of the labels 0, 1, ...; needed by the ``mirror`` augmentation.

    Returns
    -------
    AdaptResult
    """
    from neurodeck.offline_training.windows import euclidean_alignment_matrix

    s = settings or AdaptSettings()
    model = copy.deepcopy(model).cpu()
    if s.align:
        ref = X if alignment_windows is None else alignment_windows
        model.set_alignment(torch.from_numpy(euclidean_alignment_matrix(ref)))
    model.fit_input_statistics(X if alignment_windows is None else alignment_windows)
    if s.new_head or s.mode == "probe":
        model.reset_head(int(y.max()) + 1)
    model.freeze_encoder(s.mode == "probe")
    train_mask, val_mask = split_trials(trial_ids, y, s.val_fraction, s.train.seed)
    xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    augment = None
    if s.augment:
        from neurodeck.offline_training.label_augment import SupervisedAugment

        if class_names is None and "mirror" in s.augment:
            raise ConfigError("the 'mirror' augmentation needs the class names of the labels.")
        names = class_names or [str(i) for i in range(int(y.max()) + 1)]
        augment = SupervisedAugment(s.augment, model.channel_names, names, s.train.seed)
    objective = SupervisedObjective(model, s.label_smoothing, augment)
    validate = validator(xt[val_mask], yt[val_mask]) if val_mask.any() else None
    trainer = Trainer(
        objective,
        TensorDataset(xt[train_mask], yt[train_mask]),
        s.train,
        param_groups=layerwise_groups(model, s.layer_decay, s.train.weight_decay),
        validate=validate,
    )
    history = trainer.fit(resume=False)
    trainer.restore_best()
    model.freeze_encoder(False)
    model.eval()
    val_acc = None
    if trainer.best_epoch is not None:
        val_acc = history[trainer.best_epoch - 1].get("val_acc")
    return AdaptResult(model, history, trainer.best_epoch, val_acc)


@torch.no_grad()
def predict_proba(model: EEGModel, X: FloatArray, batch: int = 256, device: str = "cpu"):
    """Class probabilities of windows, shape (n_windows, n_classes), float64."""
    model = model.to(device).eval()
    out = []
    for i in range(0, len(X), batch):
        x = torch.from_numpy(np.ascontiguousarray(X[i : i + batch], dtype=np.float32))
        out.append(torch.softmax(model(x.to(device)).double(), 1).cpu())
    return torch.cat(out).numpy()
