"""Channel-subset training: one checkpoint for the 64-channel EEGBCI cap and small headsets.

Each training batch reads one subset of the named electrodes: sometimes all of them, sometimes a
named headset montage (:data:`neurodeck.common.montages.MONTAGES`), otherwise a random subset of
random size. The windows are Euclidean-aligned *on that subset*, with the subject's mean covariance
restricted to it, exactly as calibration aligns a person's windows on the channels their headset
has (the rows of a 64-channel whitened window are not a whitened 8-channel window). Hemisphere
mirroring (``mirror``) is done before the subset is cut: a mirrored window reads the mirror
electrodes' rows under the original names, and its ``left``/``right`` label is swapped.

:class:`SubsetSupervisedObjective` is the supervised stage's objective for encoders that read
channels by name (:class:`neurodeck.models.shallow_any.ShallowConvNetAnyMontage`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from neurodeck.common.montages import MONTAGES
from neurodeck.common.types import ConfigError
from neurodeck.models.shallow_any import channel_key
from torch import Tensor, nn

#: Relative eigenvalue floor of the subset alignment (as offline_training.windows).
_FLOOR = 1e-6


@dataclass(frozen=True)
class SubsetSettings:
    """How channel subsets are drawn.

    Parameters
    ----------
    p_full : float
        Probability that a batch reads every electrode.
    p_named : float
        Probability that it reads a named montage (each equally likely).
    min_channels : int
        Fewest electrodes of a random subset (the rest of the time: uniform in
        ``[min_channels, n_vocabulary]``).
    """

    p_full: float = 0.25
    p_named: float = 0.35
    min_channels: int = 6

    def __post_init__(self) -> None:
        if not (self.p_full >= 0 and self.p_named >= 0 and self.p_full + self.p_named <= 1):
            raise ConfigError(
                f"'channel_subsets' needs p_full, p_named >= 0 with p_full + p_named <= 1; got "
                f"{self.p_full}, {self.p_named}."
            )
        if self.min_channels < 2:
            raise ConfigError(f"'min_channels' must be >= 2; got {self.min_channels}.")

    @classmethod
    def from_dict(cls, data: Mapping[str, float | int]) -> SubsetSettings:
        """From a recipe's ``[supervised.channel_subsets]`` table."""
        unknown = sorted(set(data) - {"p_full", "p_named", "min_channels"})
        if unknown:
            raise ConfigError(
                f"'channel_subsets' has unknown keys {unknown}; known: p_full, p_named, "
                "min_channels."
            )
        return cls(**data)  # type: ignore[arg-type]


class ChannelSubsetSampler:
    """Seeded draws of vocabulary positions, one subset per batch.

    Parameters
    ----------
    vocabulary : sequence of str
        The electrodes of the training windows, in row order.
    settings : SubsetSettings
    seed : int
    """

    def __init__(self, vocabulary: Sequence[str], settings: SubsetSettings, seed: int = 0):
        self.n = len(vocabulary)
        self.settings = settings
        if settings.min_channels > self.n:
            raise ConfigError(
                f"'min_channels' {settings.min_channels} exceeds the {self.n} training channels."
            )
        keys = {channel_key(v): i for i, v in enumerate(vocabulary)}
        self.named = {
            name: np.sort([keys[channel_key(c)] for c in chans])
            for name, chans in MONTAGES.items()
            if all(channel_key(c) in keys for c in chans)
        }
        self.rng = np.random.default_rng(seed)

    def draw(self) -> np.ndarray:
        """Sorted vocabulary positions of one subset, shape (k,), int64."""
        s, u = self.settings, self.rng.random()
        if u < s.p_full:
            return np.arange(self.n)
        if u < s.p_full + s.p_named and self.named:
            names = sorted(self.named)
            return self.named[names[self.rng.integers(len(names))]].copy()
        k = int(self.rng.integers(s.min_channels, self.n + 1))
        return np.sort(self.rng.choice(self.n, size=k, replace=False))


def inverse_sqrt_batch(matrices: Tensor, floor: float = _FLOOR) -> Tensor:
    """``R^{-1/2}`` of a batch of SPD matrices, shape (batch, k, k), float64, eigenvalue-floored."""
    values, vectors = torch.linalg.eigh(matrices)
    top = values[:, -1:].clamp(min=torch.finfo(values.dtype).tiny)
    values = torch.maximum(values, floor * top)
    return (vectors / values.sqrt().unsqueeze(1)) @ vectors.transpose(1, 2)


class SubsetSupervisedObjective(nn.Module):
    """Cross-entropy on per-batch channel subsets, each aligned on its own subset.

    Parameters
    ----------
    model : ShallowConvNetAnyMontage
        Needs ``logits_at(x, index)``; its ``channel_names`` are the training rows.
    covariances : ndarray, shape (n_groups, n_channels, n_channels)
        Mean covariance of each subject's raw windows.
    trial_group : ndarray, shape (n_trials,)
        Row of ``covariances`` of each trial id of the dataset.
    sampler : ChannelSubsetSampler
    class_names : sequence of str
    label_smoothing : float
    augment : sequence of str
        Any of ``mirror``, ``scale``, ``noise`` (:mod:`neurodeck.offline_training.label_augment`).
    seed : int

    Notes
    -----
    A batch is ``(x, y, trial)`` of :class:`neurodeck.offline_training.windows.CueWindowDataset`
    built with ``alignment="none"``: x (batch, n_channels, n_times) raw, y (batch,), trial (batch,).
    Evaluation batches (``eval()``) read every channel.
    """

    def __init__(
        self,
        model: nn.Module,
        covariances: np.ndarray,
        trial_group: np.ndarray,
        sampler: ChannelSubsetSampler,
        class_names: Sequence[str],
        label_smoothing: float = 0.1,
        augment: Sequence[str] = (),
        seed: int = 0,
    ) -> None:
        super().__init__()
        from neurodeck.offline_training.label_augment import (
            SupervisedAugment,
            mirror_classes,
            mirror_index,
        )

        self.model = model
        self.sampler = sampler
        self.label_smoothing = float(label_smoothing)
        self.register_buffer("covariances", torch.as_tensor(covariances, dtype=torch.float64))
        self.register_buffer("trial_group", torch.as_tensor(trial_group, dtype=torch.int64))
        self.register_buffer("mirror_rows", torch.from_numpy(mirror_index(model.channel_names)))
        self.register_buffer("mirror_labels", torch.from_numpy(mirror_classes(class_names)))
        self.mirror = "mirror" in augment
        rest = [a for a in augment if a != "mirror"]
        # checks the names, and refuses mirror for classes without left/right
        SupervisedAugment(augment, model.channel_names, class_names, seed)
        self.augment = (
            SupervisedAugment(rest, model.channel_names, class_names, seed) if rest else None
        )
        self.generator = torch.Generator().manual_seed(seed)

    def subset_batch(self, x: Tensor, y: Tensor, trial: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One batch on one channel subset, each window aligned on that subset.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times)
            Raw (unaligned) windows.
        y, trial : Tensor, shape (batch,)

        Returns
        -------
        x_subset : Tensor, shape (batch, k, n_times)
            ``R_s^{-1/2} x[rows]`` with ``R_s`` the subject's mean covariance on those rows.
        y : Tensor, shape (batch,)
            Labels (``left``/``right`` swapped for mirrored windows).
        index : Tensor, shape (k,)
            Vocabulary positions the rows stand for (every channel when not training).
        """
        device = x.device
        index = torch.as_tensor(
            self.sampler.draw() if self.training else np.arange(x.shape[1]), device=device
        )
        rows = index.expand(x.shape[0], -1)  # (batch, k): the electrodes each window reads
        if self.training and self.mirror:
            flip = (torch.rand(x.shape[0], generator=self.generator) < 0.5).to(device)
            rows = torch.where(flip[:, None], self.mirror_rows[index].expand_as(rows), rows)
            y = torch.where(flip, self.mirror_labels[y], y)
        cov = self.covariances[self.trial_group[trial]]  # (batch, C, C)
        sub = torch.gather(cov, 1, rows[:, :, None].expand(-1, -1, cov.shape[2]))
        sub = torch.gather(sub, 2, rows[:, None, :].expand(-1, rows.shape[1], -1))
        w = inverse_sqrt_batch(sub).to(x.dtype)  # (batch, k, k)
        picked = torch.gather(x, 1, rows[:, :, None].expand(-1, -1, x.shape[2]))
        return torch.bmm(w, picked), y, index

    def loss(self, batch: tuple[Tensor, ...]) -> tuple[Tensor, dict[str, float]]:
        """Cross-entropy and accuracy of one batch."""
        xs, y, index = self.subset_batch(batch[0], batch[1], batch[2])
        if self.training and self.augment is not None:
            xs, y = self.augment(xs, y)
        logits = self.model.logits_at(xs, index)
        loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        acc = (logits.argmax(dim=1) == y).float().mean()
        return loss, {"acc": float(acc), "channels": float(len(index))}


def trial_groups(dataset, recording_group: np.ndarray) -> np.ndarray:
    """Covariance row of each trial id of a CueWindowDataset, shape (n_trials,), int64."""
    groups = np.zeros(dataset.n_trials, dtype=np.int64)
    groups[dataset.trial_ids] = recording_group[dataset.index[:, 0]]
    return groups
