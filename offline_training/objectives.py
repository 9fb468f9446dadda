"""Training objectives: NT-Xent contrastive (SeqCLR), SPP-EEGNet's pair task, supervised.

Each objective is an ``nn.Module`` owning the model and any pretraining head, with
``loss(batch) -> (loss, metrics)`` as :class:`offline_training.trainer.Trainer` expects. Masked
EEG modelling for the LaBraM-style transformer lives in :mod:`offline_training.mem`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from common.types import ConfigError
from models.base import EEGModel

Metrics = dict[str, float]


def nt_xent(z1: Tensor, z2: Tensor, temperature: float) -> tuple[Tensor, Tensor]:
    """SimCLR's normalised-temperature cross-entropy over a batch of positive pairs.

    Every sample's positive is its other view; the 2N - 2 other samples of the batch are its
    negatives.

    Parameters
    ----------
    z1, z2 : Tensor, shape (n, dim)
        Projections of the two views (normalised here).
    temperature : float
        Softmax temperature (> 0).

    Returns
    -------
    loss : Tensor, scalar
    accuracy : Tensor, scalar
        Fraction of samples whose most similar other sample is their positive.

    References
    ----------
    .. [1] T. Chen, S. Kornblith, M. Norouzi, G. Hinton. "A simple framework for contrastive
       learning of visual representations." ICML 2020.
    """
    if z1.shape != z2.shape or z1.ndim != 2 or z1.shape[0] < 2:
        raise ConfigError(f"nt_xent needs two (n >= 2, dim) batches; got {z1.shape}, {z2.shape}.")
    if temperature <= 0:
        raise ConfigError(f"'temperature' must be > 0; got {temperature}.")
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2n, dim)
    sim = z @ z.T / temperature  # (2n, 2n)
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    loss = F.cross_entropy(sim, target)
    accuracy = (sim.argmax(dim=1) == target).float().mean()
    return loss, accuracy


class SupervisedObjective(nn.Module):
    """Cross-entropy of a classifier on labelled windows.

    Parameters
    ----------
    model : EEGModel
    label_smoothing : float
        Label smoothing of the cross-entropy.
    augment : callable, optional
        ``augment(x) -> x`` applied to training batches only (shape preserved).

    Notes
    -----
    A batch is ``(x, y, ...)`` with x (batch, n_channels, n_times) and y (batch,) int64.
    """

    def __init__(
        self,
        model: EEGModel,
        label_smoothing: float = 0.0,
        augment: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.label_smoothing = float(label_smoothing)
        self.augment = augment

    def train(self, mode: bool = True) -> SupervisedObjective:
        """Training mode, except for a frozen encoder (linear probe), which stays in eval mode
        so that its normalisation statistics do not drift."""
        super().train(mode)
        if mode and not any(p.requires_grad for p in self.model.encoder_parameters()):
            self.model.eval()
            self.model.head.train(True)
        return self

    def loss(self, batch: tuple[Tensor, ...]) -> tuple[Tensor, Metrics]:
        """Cross-entropy and accuracy on one batch."""
        x, y = batch[0], batch[1]
        if self.training and self.augment is not None:
            x = self.augment(x)
        logits = self.model(x)  # (batch, chans, times) -> (batch, classes)
        loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        acc = (logits.argmax(dim=1) == y).float().mean()
        return loss, {"acc": float(acc)}


class PairTaskObjective(nn.Module):
    """SPP-EEGNet's self-supervised task: are two windows the same (augmented) or distant?

    The shared encoder embeds both windows; ``Linear(|e1 - e2|) -> 1`` gives a logit trained with
    binary cross-entropy (label 1: the second window is an augmentation of the first; 0: a window
    of the same recording at least ``min_gap_s`` away). This is the published pretext task, not
    a SimCLR variant.

    Parameters
    ----------
    model : EEGModel
        An encoder whose ``encode`` accepts any channel count and length (SPP-EEGNet).
    embed_dim : int
        Size of ``model.encode``'s output.

    Notes
    -----
    A batch is ``(x1, x2, label)``: x1 (batch, C, T1), x2 (batch, C, T2), label (batch,) float.

    References
    ----------
    .. [1] X. Li, V. Metsis. "An input-agnostic self-supervised EEG representation model for
       inter-dataset transfer learning." IC2IT 2022, LNNS 453.
    """

    def __init__(
        self, model: EEGModel, embed_dim: int, sfreq: float | None = None, seed: int = 0
    ) -> None:
        super().__init__()
        self.model = model
        self.pair_head = nn.Linear(embed_dim, 1)
        self.sfreq = sfreq
        self.generator = torch.Generator().manual_seed(seed)

    def loss(self, batch: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, Metrics]:
        """BCE of the same/different logit and its accuracy.

        With ``sfreq`` set, the second windows of a training batch first go through one random
        SPP-EEGNet augmentation (the same for the whole batch, so the length stays common).
        """
        x1, x2, label = batch
        if self.training and self.sfreq is not None:
            from offline_training.augment import spp_augment

            x2 = spp_augment(x2.cpu(), self.sfreq, self.generator).to(x1.device)
        e1 = self.model.encode(self.model.align(x1))  # (batch, chans, t1) -> (batch, dim)
        e2 = self.model.encode(self.model.align(x2))
        logit = self.pair_head((e1 - e2).abs()).squeeze(1)  # (batch,)
        loss = F.binary_cross_entropy_with_logits(logit, label.float())
        acc = ((logit > 0).float() == label.float()).float().mean()
        return loss, {"acc": float(acc)}


class ContrastiveObjective(nn.Module):
    """SeqCLR: channel-wise contrastive learning with NT-Xent.

    Every batch of multichannel windows is turned into single-channel series (original channels
    and, with ``recombine``, differences of channel pairs), each series gets two random
    augmentations (two views), the channel encoder and recurrent projector map each view to a
    32-d vector, and NT-Xent pulls the two views of a series together.

    Parameters
    ----------
    model : EEGModel
        A SeqCLR model (``project(x1: (n, 1, T)) -> (n, 32)``).
    sfreq : float
        Sampling rate of the windows (for the band-stop augmentation).
    temperature : float
        NT-Xent temperature (the published value is uncertain; sweep 0.05-0.5).
    series_per_batch : int
        Series drawn from each batch (keeps the cost bounded whatever the channel count).
    recombine : bool
        Add channel-difference series (SeqCLR's channel recombination).

    References
    ----------
    .. [1] M. N. Mohsenvand, M. R. Izadi, P. Maes. "Contrastive representation learning for
       electroencephalogram classification." PMLR 136 (ML4H), 238-253, 2020.
    """

    def __init__(
        self,
        model: EEGModel,
        sfreq: float,
        temperature: float = 0.1,
        series_per_batch: int = 256,
        recombine: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.model = model
        self.sfreq = float(sfreq)
        self.temperature = float(temperature)
        self.series_per_batch = int(series_per_batch)
        self.recombine = recombine
        self.generator = torch.Generator().manual_seed(seed)

    def _series(self, x: Tensor) -> Tensor:
        """(batch, C, T) -> (n, 1, T): a random subset of (recombined) single channels."""
        from offline_training.augment import recombine_channels

        if self.recombine:
            x = recombine_channels(x.cpu(), max_pairs=x.shape[1], gen=self.generator)
        flat = x.reshape(-1, 1, x.shape[-1])
        pick = torch.randperm(flat.shape[0], generator=self.generator)[: self.series_per_batch]
        return flat[pick]

    def loss(self, batch: Tensor) -> tuple[Tensor, Metrics]:
        """NT-Xent between two augmented views of single-channel series."""
        from offline_training.augment import seqclr_views

        device = batch.device
        series = self._series(batch)
        v1, v2 = seqclr_views(series.cpu(), self.sfreq, self.generator)
        z1 = self.model.project(v1.to(device))  # (n, 1, T) -> (n, 32)
        z2 = self.model.project(v2.to(device))
        loss, acc = nt_xent(z1, z2, self.temperature)
        return loss, {"acc": float(acc)}
