"""Training objectives: NT-Xent contrastive (SeqCLR, SimCLR), SPP-EEGNet's pair task, supervised.

Each objective is an ``nn.Module`` owning the model and any pretraining head, with
``loss(batch) -> (loss, metrics)`` as :class:`neurodeck.offline_training.trainer.Trainer` expects.
Masked EEG modelling for the LaBraM-style transformer lives in
:mod:`neurodeck.offline_training.mem`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from neurodeck.common.checks import check_int, check_positive
from neurodeck.common.types import ConfigError
from neurodeck.models.base import EEGModel
from torch import Tensor, nn

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
        ``augment(x, y, alignment) -> (x, y)`` applied to training batches only (shapes
        preserved), e.g. :class:`neurodeck.offline_training.label_augment.SupervisedAugment`; it
        receives the model's alignment matrix so that spatial augmentations act in the aligned
        space.

    Notes
    -----
    A batch is ``(x, y, ...)`` with x (batch, n_channels, n_times) and y (batch,) int64.
    """

    def __init__(
        self,
        model: EEGModel,
        label_smoothing: float = 0.0,
        augment: Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]] | None = None,
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
            x, y = self.augment(x, y, self.model.alignment)
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
            from neurodeck.offline_training.augment import spp_augment

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
        from neurodeck.offline_training.augment import recombine_channels

        if self.recombine:
            x = recombine_channels(x.cpu(), max_pairs=x.shape[1], gen=self.generator)
        flat = x.reshape(-1, 1, x.shape[-1])
        pick = torch.randperm(flat.shape[0], generator=self.generator)[: self.series_per_batch]
        return flat[pick]

    def loss(self, batch: Tensor) -> tuple[Tensor, Metrics]:
        """NT-Xent between two augmented views of single-channel series."""
        from neurodeck.offline_training.augment import seqclr_views

        device = batch.device
        series = self._series(batch)
        v1, v2 = seqclr_views(series.cpu(), self.sfreq, self.generator)
        z1 = self.model.project(v1.to(device))  # (n, 1, T) -> (n, 32)
        z2 = self.model.project(v2.to(device))
        loss, acc = nt_xent(z1, z2, self.temperature)
        return loss, {"acc": float(acc)}


# Strengths of SimCLRObjective's augmentations (windows in µV; see offline_training.augment).
SIMCLR_SHIFT_FRACTION = 0.1  # largest time shift, a fraction of the window (0.2 s of 2 s)
SIMCLR_SCALE_RANGE = (0.5, 2.0)  # amplitude factor per window, the same for all its channels
SIMCLR_STOP_CENTRES_HZ = (4.0, 40.0)  # band-stop centres (5 Hz wide), capped at 0.45 * sfreq
SIMCLR_MASK_FRACTION = 0.1  # longest zeroed run per channel, a fraction of the window
SIMCLR_NOISE_SIGMA = 0.2  # largest white-noise level relative to each channel's spread


def shared_time_shift(x: Tensor, sfreq: float, gen: torch.Generator, max_fraction: float) -> Tensor:
    """:func:`neurodeck.offline_training.augment.time_shift` with one shift per window for all
    channels.

    The shift is drawn and reflected at the edges exactly as ``time_shift`` does (it is applied
    to a ramp of sample indices), then used for every channel of the window, so that the
    relative timing of the channels, and thus the spatial structure, is kept.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, times)
    sfreq : float
        Sampling rate in Hz.
    gen : torch.Generator
    max_fraction : float
        Largest shift as a fraction of the window length.

    Returns
    -------
    shifted : Tensor, shape (batch, channels, times), same dtype
    """
    from neurodeck.offline_training.augment import time_shift

    batch, n_channels, n_times = x.shape
    ramp = torch.arange(n_times, dtype=torch.float64).expand(batch, 1, n_times).contiguous()
    source = time_shift(ramp, sfreq, gen, max_fraction).long().to(x.device)  # (batch, 1, times)
    return torch.gather(x, 2, source.expand(batch, n_channels, n_times))


class SimCLRObjective(nn.Module):
    """SimCLR for multichannel encoders: NT-Xent between two augmented views of each window.

    Each window of a batch gets two independently augmented views; ``model.encode`` maps each
    aligned view to features and a projector MLP ``Linear(n_features, hidden) -> BatchNorm1d ->
    ReLU -> Linear(hidden, proj_dim)`` maps those to the space where :func:`nt_xent` pulls the
    two views of a window together and pushes the other windows of the batch away. Only the
    encoder is kept afterwards; the projector is discarded, as in SimCLR. Unlike
    :class:`ContrastiveObjective` (SeqCLR, one channel at a time) the encoder sees whole
    multichannel windows, so any :class:`neurodeck.models.base.EEGModel` (ShallowConvNet, EEGNet,
    SPP-EEGNet) can be pretrained.

    A view applies, in this order and each with probability ``p_augment`` per window, the
    augmentations of :mod:`neurodeck.offline_training.augment` with these strengths: a time shift of
    up to 10 % of the window, the same for all channels (:func:`shared_time_shift`); an amplitude
    factor U[0.5, 2], the same for all channels of a window; a 5-Hz band-stop centred in
    4-40 Hz (capped at 0.45 ``sfreq``), per channel; zeroing one run of up to 10 % of the window,
    per channel; white noise of up to 0.2 times each channel's standard deviation. There is no
    DC offset: the windows are band-passed and usually whitened (Euclidean alignment, unit
    variance), where SeqCLR's 10 µV offsets would dwarf the signal and the encoder's power
    features would tell the views apart by the offsets alone (the task then stays at chance).
    Augmentations are drawn on the CPU from the objective's own generator, so the same seed
    gives the same views.

    Parameters
    ----------
    model : EEGModel
        Encoder whose ``encode`` maps (batch, n_channels, n_times) to (batch, n_features).
    sfreq : float
        Sampling rate of the windows in Hz (> 50 Hz, for the band-stop's range).
    temperature : float
        NT-Xent temperature (> 0).
    proj_dim : int
        Output size of the projector.
    hidden : int
        Hidden size of the projector.
    n_times : int or None
        Samples per window (the recipe's ``window_s * sfreq``); None means ``model.n_times``.
        Used to find ``n_features`` with one forward pass of zeros in eval mode, at
        construction, so that the projector exists before the optimiser is built.
    p_augment : float
        Probability that each augmentation is applied to a window of a view, in [0, 1].
    seed : int
        Seed of the augmentation generator.

    Attributes
    ----------
    projector : nn.Sequential
        (batch, n_features) -> (batch, proj_dim).
    generator : torch.Generator
        CPU generator of every augmentation draw.

    Notes
    -----
    A batch is a float tensor (batch >= 2, n_channels, n_times) of windows in µV, as
    :class:`neurodeck.offline_training.windows.WindowDataset` yields them (a one-element tuple or
    list of it is accepted too). Views are augmented whether or not the objective is in training
    mode (two identical views would make the loss meaningless).

    References
    ----------
    .. [1] T. Chen, S. Kornblith, M. Norouzi, G. Hinton. "A simple framework for contrastive
       learning of visual representations." ICML 2020, PMLR 119, 1597-1607.
    .. [2] M. N. Mohsenvand, M. R. Izadi, P. Maes. "Contrastive representation learning for
       electroencephalogram classification." PMLR 136 (ML4H), 238-253, 2020.
    .. [3] J. Y. Cheng, H. Goh, K. Dogrusoz, O. Tuzel, E. Azemi. "Subject-aware contrastive
       learning for biosignals." arXiv:2007.04871, 2020.
    """

    def __init__(
        self,
        model: EEGModel,
        sfreq: float,
        temperature: float = 0.1,
        proj_dim: int = 64,
        hidden: int = 256,
        n_times: int | None = None,
        p_augment: float = 0.5,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.model = model
        self.sfreq = check_positive("sfreq", sfreq, unit="Hz")
        self.temperature = check_positive("temperature", temperature)
        proj_dim = check_int("proj_dim", proj_dim)
        hidden = check_int("hidden", hidden)
        if not isinstance(p_augment, (int, float)) or not 0.0 <= p_augment <= 1.0:
            raise ConfigError(f"'p_augment' must lie in [0, 1]; got {p_augment!r}.")
        self.p_augment = float(p_augment)
        self.n_times = model.n_times if n_times is None else int(n_times)
        self.generator = torch.Generator().manual_seed(seed)
        dummy = torch.zeros(2, model.n_channels, self.n_times)
        for step in self._steps(torch.Generator()):  # fail now, not at the first batch
            step(dummy)
        n_features = self._n_features()
        self.projector = nn.Sequential(
            nn.Linear(n_features, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Linear(hidden, proj_dim),
        ).to(model.alignment.device)

    def _n_features(self) -> int:
        """Size of ``model.encode``'s output, from one window of zeros in eval mode."""
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                x = torch.zeros(1, self.model.n_channels, self.n_times)
                features = self.model.encode(self.model.align(x.to(self.model.alignment.device)))
        finally:
            self.model.train(was_training)
        if features.ndim != 2:
            raise ConfigError(
                f"SimCLR needs {type(self.model).__name__}.encode to return (batch, n_features); "
                f"got shape {tuple(features.shape)}."
            )
        return int(features.shape[1])

    def _steps(self, gen: torch.Generator) -> tuple[Callable[[Tensor], Tensor], ...]:
        """The augmentations, in order, drawing from ``gen``."""
        from neurodeck.offline_training import augment as aug

        return (
            lambda v: shared_time_shift(v, self.sfreq, gen, SIMCLR_SHIFT_FRACTION),
            lambda v: aug.amplitude_scale(
                v.reshape(v.shape[0], 1, -1), gen, *SIMCLR_SCALE_RANGE
            ).reshape(v.shape),  # one factor per window
            lambda v: aug.band_stop(v, self.sfreq, gen, centre_range_hz=SIMCLR_STOP_CENTRES_HZ),
            lambda v: aug.zero_mask(v, gen, max_fraction=SIMCLR_MASK_FRACTION),
            lambda v: aug.gaussian_noise(v, gen, max_sigma=SIMCLR_NOISE_SIGMA),
        )

    def augment(self, x: Tensor, gen: torch.Generator) -> Tensor:
        """One random view of every window.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times), CPU, microvolts
        gen : torch.Generator
            CPU generator of every draw.

        Returns
        -------
        view : Tensor, shape (batch, n_channels, n_times), same dtype
        """
        x = x.clone()
        for step in self._steps(gen):
            rows = torch.nonzero(torch.rand(x.shape[0], generator=gen) < self.p_augment)[:, 0]
            if len(rows):
                x[rows] = step(x[rows])
        return x

    def loss(self, batch: Tensor | tuple[Tensor, ...]) -> tuple[Tensor, Metrics]:
        """NT-Xent between the projections of two augmented views of each window."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        device = x.device
        cpu = x.detach().cpu()
        v1 = self.augment(cpu, self.generator).to(device)
        v2 = self.augment(cpu, self.generator).to(device)
        z1 = self.projector(self.model.encode(self.model.align(v1)))  # (batch, C, T) -> (batch, p)
        z2 = self.projector(self.model.encode(self.model.align(v2)))
        loss, acc = nt_xent(z1, z2, self.temperature)
        return loss, {"acc": float(acc)}
