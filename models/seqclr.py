"""SeqCLR: channel-wise convolutional encoder with recurrent projector and summariser.

SeqCLR (Mohsenvand, Izadi & Maes 2020) learns a *channel-wise* encoder: every EEG channel (and,
in pretraining, every difference of two channels) is an independent single-channel series that
the encoder turns into 4 feature channels of the same length. Pretraining contrasts two augmented
views of each series (see :mod:`neurodeck.offline_training.augment`) through a recurrent projector.
For a downstream task all channels of a window are encoded, their 4-channel outputs are stacked into
a ``4 * n_channels``-feature sequence, and a recurrent summariser of the projector's architecture
followed by an MLP head gives the class logits.

Only the convolutional channel encoder, SeqCLR-C, is implemented here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from neurodeck.common.checks import check_int, check_int_tuple, check_positive
from neurodeck.common.types import ConfigError
from neurodeck.models.base import EEGModel
from neurodeck.models.registry import register_model
from torch import Tensor, nn

logger = logging.getLogger(__name__)

N_ENCODER_OUTPUTS = 4
"""Feature channels the channel encoder gives per input channel (fixed by SeqCLR)."""

# Relative widths of the stem branches of SeqCLR-C (100, 100, 50 channels in the paper's figure).
_STEM_PROPORTIONS_3 = (2, 2, 1)


def split_width(width: int, n_branches: int) -> tuple[int, ...]:
    """Split ``width`` stem channels over ``n_branches`` branches.

    Three branches get SeqCLR-C's 2:2:1 proportions (100/100/50 of 250); any other number an equal
    split. Rounding uses the largest remainder, so the parts always sum to ``width``.

    Parameters
    ----------
    width : int
        Total number of stem output channels.
    n_branches : int
        Number of parallel stem convolutions.

    Returns
    -------
    widths : tuple of int
        Channels of each branch, each >= 1, summing to ``width``.

    Raises
    ------
    ConfigError
        If ``width < n_branches``.
    """
    if width < n_branches:
        raise ConfigError(
            f"'width' must be >= the number of stem branches ({n_branches}); got {width}."
        )
    weights = _STEM_PROPORTIONS_3 if n_branches == 3 else (1,) * n_branches
    exact = [width * w / sum(weights) for w in weights]
    parts = [max(1, int(e)) for e in exact]
    by_remainder = sorted(range(n_branches), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    for i in by_remainder[: width - sum(parts)]:
        parts[i] += 1
    return tuple(parts)


class _SameConv1d(nn.Sequential):
    """Reflection padding then Conv1d, so that the output has the input's length.

    Odd kernels are padded symmetrically, even kernels with one sample more on the right.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        left = (kernel_size - 1) // 2
        super().__init__(
            nn.ReflectionPad1d((left, kernel_size - 1 - left)),
            nn.Conv1d(in_channels, out_channels, kernel_size),
        )


class _Stem(nn.Module):
    """Parallel reflection-padded convolutions of one channel, concatenated."""

    def __init__(self, kernel_sizes: Sequence[int], widths: Sequence[int]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            _SameConv1d(1, w, k) for k, w in zip(kernel_sizes, widths, strict=True)
        )

    def forward(self, x: Tensor) -> Tensor:
        # (series, 1, times) -> (series, width, times)
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class _ResidualUnit(nn.Module):
    """``x + Conv(BN(ReLU(W x)))``; ``W`` is a pointwise linear map over the feature axis.

    The pointwise linear map is a kernel-1 Conv1d, the same operation as ``nn.Linear`` applied at
    every time step without transposing.
    """

    def __init__(self, width: int, kernel_size: int) -> None:
        super().__init__()
        self.pointwise = nn.Conv1d(width, width, 1)
        self.norm = nn.BatchNorm1d(width)
        self.conv = _SameConv1d(width, width, kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.pointwise(x), inplace=True)  # (series, width, times)
        return x + self.conv(self.norm(h))  # (series, width, times)


class ChannelEncoder(nn.Module):
    """SeqCLR-C: one EEG channel in, 4 feature channels of the same length out.

    Parameters
    ----------
    width : int
        Feature channels inside the encoder (250 in SeqCLR-C).
    stem_kernel_sizes : sequence of int
        Kernel sizes of the parallel stem convolutions.
    stem_widths : sequence of int
        Output channels of each stem convolution; they sum to ``width``.
    res_kernel_size : int
        Kernel size of the convolution in each residual unit.
    out_kernel_size : int
        Kernel size of the output convolution.
    n_res_units : int
        Number of residual units (4 in SeqCLR-C).

    Notes
    -----
    All convolutions are reflection-padded to keep the length, so the input must be longer than
    half of the largest kernel (``n_times > max_kernel // 2``).
    """

    def __init__(
        self,
        width: int,
        stem_kernel_sizes: Sequence[int],
        stem_widths: Sequence[int],
        res_kernel_size: int,
        out_kernel_size: int,
        n_res_units: int,
    ) -> None:
        super().__init__()
        self.stem = _Stem(stem_kernel_sizes, stem_widths)
        self.res_units = nn.ModuleList(
            _ResidualUnit(width, res_kernel_size) for _ in range(n_res_units)
        )
        self.output = nn.Sequential(
            nn.ReLU(),
            nn.BatchNorm1d(width),
            _SameConv1d(width, N_ENCODER_OUTPUTS, out_kernel_size),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Encode single-channel series.

        Parameters
        ----------
        x : Tensor, shape (n_series, 1, n_times)

        Returns
        -------
        z : Tensor, shape (n_series, 4, n_times)
        """
        h = self.stem(x)  # (series, 1, times) -> (series, width, times)
        for unit in self.res_units:
            h = unit(h)  # (series, width, times)
        return self.output(h)  # (series, width, times) -> (series, 4, times)


class MultiScaleBiLSTM(nn.Module):
    """Bidirectional LSTMs at full, 1/2, 1/4, ... resolution; final hidden states concatenated.

    Level ``i`` reads the input average-pooled by ``2**i`` in time (a trailing odd sample is
    dropped at each halving). This is the recurrent block of SeqCLR's projector and of its
    downstream classifier.

    Parameters
    ----------
    in_features : int
        Features per time step of the input.
    hidden_sizes : sequence of int
        Hidden units of the LSTM at each level (SeqCLR: 256, 128, 64).

    Attributes
    ----------
    n_features : int
        Output size, ``2 * sum(hidden_sizes)`` (both directions of every level).
    min_times : int
        Shortest input the block accepts, ``2 ** (len(hidden_sizes) - 1)``.
    """

    def __init__(self, in_features: int, hidden_sizes: Sequence[int]) -> None:
        super().__init__()
        self.lstms = nn.ModuleList(
            nn.LSTM(in_features, h, batch_first=True, bidirectional=True) for h in hidden_sizes
        )
        self.n_features = 2 * sum(hidden_sizes)
        self.min_times = 2 ** (len(hidden_sizes) - 1)

    def forward(self, x: Tensor) -> Tensor:
        """Summarise sequences.

        Parameters
        ----------
        x : Tensor, shape (batch, in_features, n_times)

        Returns
        -------
        features : Tensor, shape (batch, n_features)
            Per level: forward then backward final hidden state.
        """
        batch = x.shape[0]
        features = []
        for level, lstm in enumerate(self.lstms):
            if level > 0:
                x = F.avg_pool1d(x, kernel_size=2, stride=2)  # (batch, feats, times / 2**level)
            _, (h_n, _) = lstm(x.transpose(1, 2))  # h_n: (2 directions, batch, hidden)
            features.append(h_n.transpose(0, 1).reshape(batch, -1))  # -> (batch, 2 * hidden)
        return torch.cat(features, dim=1)  # -> (batch, n_features)


def _mlp(in_features: int, hidden: int, out_features: int) -> nn.Sequential:
    """Linear -> ReLU -> Linear."""
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, out_features))


@register_model("seqclr")
class SeqCLR(EEGModel):
    """SeqCLR with the convolutional channel encoder (SeqCLR-C).

    Every channel of a window is encoded on its own by :attr:`channel_encoder` (1 -> 4 channels,
    same length); the ``4 * n_channels`` outputs are stacked channel by channel (rows ``4k`` to
    ``4k + 3`` belong to input channel ``k``) and summarised by bidirectional LSTMs at full, 1/2
    and 1/4 resolution (:attr:`summariser`); the head is Linear -> ReLU -> Linear. Pretraining
    uses :meth:`project`, the same channel encoder followed by the recurrent :attr:`projector`
    (its LSTMs read the 4 channels of one series) and an MLP to a ``projection_dim`` vector for
    the NT-Xent loss.

    Parameters
    ----------
    channel_names : sequence of str
        Input channel names, in order (only their number matters to the network).
    sfreq : float
        Input sampling rate in Hz (recorded; the defaults suit 2-s windows at 160-200 Hz).
    n_times : int
        Samples per window; at least :attr:`min_times`, i.e. ``max_kernel // 2 + 1`` (reflection
        padding) and ``2 ** (len(lstm_hidden_sizes) - 1)`` (the coarsest LSTM level).
    n_outputs : int
        Number of classes.
    width : int
        Feature channels inside the channel encoder (SeqCLR-C: 250). Smaller values give a
        CPU-sized model, e.g. 64.
    stem_kernel_sizes : sequence of int
        Kernel sizes of the parallel stem convolutions. The default (65, 33, 17) is the Brüsch
        reimplementation's choice for short windows; the paper's figure has about (128, 64, 16).
        Even sizes are allowed.
    stem_widths : sequence of int or None
        Output channels of each stem convolution, summing to ``width``. None splits ``width``
        2:2:1 for three kernels (as 100/100/50) or equally otherwise (see :func:`split_width`).
        :attr:`config` stores the resolved list.
    res_kernel_size : int
        Kernel size of the convolution in each residual unit (Brüsch: 33; paper: about 64).
    out_kernel_size : int
        Kernel size of the output convolution (width -> 4).
    n_res_units : int
        Number of residual units (SeqCLR-C: 4).
    lstm_hidden_sizes : sequence of int
        Hidden units of the bidirectional LSTMs at full, 1/2, 1/4, ... resolution, used by both
        the projector and the summariser (SeqCLR: 256, 128, 64).
    mlp_hidden : int
        Hidden units of the projector MLP and of the head (SeqCLR: 128).
    projection_dim : int
        Size of the pretraining projection (SeqCLR: 32).
    input_scale_uv : float
        Input microvolts are divided by this before the channel encoder (default 10 µV).

    Attributes
    ----------
    channel_encoder : ChannelEncoder
        Single-channel encoder, (n_series, 1, T) -> (n_series, 4, T).
    projector : nn.ModuleDict
        ``"rnn"`` (:class:`MultiScaleBiLSTM` over 4 features) and ``"mlp"`` (-> projection_dim).
        Pretraining only: not used by :meth:`encode`, not in :meth:`encoder_parameters` nor
        :meth:`layer_groups`.
    summariser : MultiScaleBiLSTM
        Recurrent block over the stacked ``4 * n_channels`` features.
    n_features : int
        Size of :meth:`encode`'s output, ``2 * sum(lstm_hidden_sizes)`` (896 by default).

    Notes
    -----
    **Input scaling.** Windows in µV are divided by the fixed ``input_scale_uv`` (10 µV maps
    typical band-passed EEG to about unit range). A per-window z-score was rejected: it would
    undo two of SeqCLR's six augmentations (amplitude scaling and DC shift, which are defined in
    µV) and divide by zero on flat channels. The BatchNorm layers inside the encoder keep it
    well-conditioned if the amplitude range differs from this assumption.

    **Pretraining parameters.** :meth:`encoder_parameters` (what ``freeze_encoder`` freezes for a
    linear probe) covers the channel encoder and the summariser, not the projector or the head;
    :meth:`layer_groups` is [stem, residual unit 1..n, output block, summariser, head]. The
    projector's parameters are never used in ``forward``; a contrastive pretraining loop
    optimises :meth:`pretraining_parameters` (channel encoder + projector): windows ->
    ``offline_training.augment.recombine_channels`` -> reshape to ``(n_series, 1, n_times)`` ->
    ``seqclr_views`` -> :meth:`project` on both views -> NT-Xent.

    **Memory.** The channel encoder runs on ``batch * n_channels`` series of ``width`` features
    at full length, so activations grow as ``batch * n_channels * width * n_times``: 0.66 GB per
    stored tensor for (32, 64, 320) at ``width=250``, with about 20 of them kept for backward.
    Use ``width=64`` or small batches on CPU.

    **CPU cost** (torch 2.13, one thread, one forward + backward step, best of 1-3 runs on a
    2-core machine shared with other jobs, so rough; the channel encoder dominates, its cost grows
    as ``series * width**2 * kernel * times``):

    ====================================  ==========  ==================  =================
    configuration (64 channels)           parameters  ``project`` batch   downstream batch
                                                      (256, 1, 320)       (B, 64, 320)
    ====================================  ==========  ==================  =================
    default (width 250, LSTM 256/128/64)  11.1 M      57 s                B=2: 27 s
    small (``width=64``,                  0.92 M      10 s                B=4: 6.7 s;
    ``lstm_hidden_sizes=(64, 32, 16)``,                                   B=32: 49 s,
    ``mlp_hidden=64``)                                                    3.9 GB peak RSS
    ====================================  ==========  ==================  =================

    The default model at (32, 64, 320) was not run: scaling the B=2 figure gives about 7 min and
    15-20 GB per step on one CPU thread; train it on a GPU.

    ``forward`` is called from training loops and from the inference worker thread (under
    ``torch.no_grad()``, in eval mode so that BatchNorm uses its running statistics); it keeps no
    state between calls.

    References
    ----------
    .. [1] M. N. Mohsenvand, M. R. Izadi, P. Maes. "Contrastive representation learning for
       electroencephalogram classification." Proceedings of the Machine Learning for Health
       NeurIPS Workshop, PMLR 136, 2020.
    .. [2] T. Brüsch, M. N. Schmidt, T. S. Alstrøm. "Multi-view self-supervised learning for
       multivariate variable-channel time series." IEEE MLSP 2023 (SeqCLR reimplementation,
       github.com/theabrusch/Multiview_TS_SSL).
    """

    def __init__(
        self,
        channel_names: Sequence[str],
        sfreq: float,
        n_times: int,
        n_outputs: int,
        width: int = 250,
        stem_kernel_sizes: Sequence[int] = (65, 33, 17),
        stem_widths: Sequence[int] | None = None,
        res_kernel_size: int = 33,
        out_kernel_size: int = 33,
        n_res_units: int = 4,
        lstm_hidden_sizes: Sequence[int] = (256, 128, 64),
        mlp_hidden: int = 128,
        projection_dim: int = 32,
        input_scale_uv: float = 10.0,
    ) -> None:
        super().__init__(channel_names, sfreq, n_times, n_outputs)
        self.width = check_int("width", width)
        self.stem_kernel_sizes = check_int_tuple("stem_kernel_sizes", stem_kernel_sizes)
        if stem_widths is None:
            self.stem_widths = split_width(self.width, len(self.stem_kernel_sizes))
        else:
            self.stem_widths = check_int_tuple("stem_widths", stem_widths)
            if len(self.stem_widths) != len(self.stem_kernel_sizes):
                raise ConfigError(
                    f"'stem_widths' needs one entry per stem kernel "
                    f"({len(self.stem_kernel_sizes)}); got {list(self.stem_widths)}."
                )
            if sum(self.stem_widths) != self.width:
                raise ConfigError(
                    f"'stem_widths' must sum to 'width' ({self.width}); "
                    f"got {list(self.stem_widths)} (sum {sum(self.stem_widths)})."
                )
        self.res_kernel_size = check_int("res_kernel_size", res_kernel_size)
        self.out_kernel_size = check_int("out_kernel_size", out_kernel_size)
        self.n_res_units = check_int("n_res_units", n_res_units, minimum=0)
        self.lstm_hidden_sizes = check_int_tuple("lstm_hidden_sizes", lstm_hidden_sizes)
        self.mlp_hidden = check_int("mlp_hidden", mlp_hidden)
        self.projection_dim = check_int("projection_dim", projection_dim)
        self.input_scale_uv = check_positive("input_scale_uv", input_scale_uv, unit="µV")
        self._check_length(self.n_times, "n_times")

        self.channel_encoder = ChannelEncoder(
            self.width,
            self.stem_kernel_sizes,
            self.stem_widths,
            self.res_kernel_size,
            self.out_kernel_size,
            self.n_res_units,
        )
        projector_rnn = MultiScaleBiLSTM(N_ENCODER_OUTPUTS, self.lstm_hidden_sizes)
        self.projector = nn.ModuleDict(
            {
                "rnn": projector_rnn,
                "mlp": _mlp(projector_rnn.n_features, self.mlp_hidden, self.projection_dim),
            }
        )
        self.summariser = MultiScaleBiLSTM(
            N_ENCODER_OUTPUTS * self.n_channels, self.lstm_hidden_sizes
        )
        self.n_features = self.summariser.n_features
        self.head = self.new_head(self.n_outputs)

    @property
    def config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments (stored in checkpoints)."""
        return {
            **super().config,
            "width": self.width,
            "stem_kernel_sizes": list(self.stem_kernel_sizes),
            "stem_widths": list(self.stem_widths),
            "res_kernel_size": self.res_kernel_size,
            "out_kernel_size": self.out_kernel_size,
            "n_res_units": self.n_res_units,
            "lstm_hidden_sizes": list(self.lstm_hidden_sizes),
            "mlp_hidden": self.mlp_hidden,
            "projection_dim": self.projection_dim,
            "input_scale_uv": self.input_scale_uv,
        }

    @property
    def min_times(self) -> int:
        """Shortest series the network accepts (reflection padding and the 1/4-rate LSTM)."""
        kernels = (*self.stem_kernel_sizes, self.res_kernel_size, self.out_kernel_size)
        return max(max(kernels) // 2 + 1, 2 ** (len(self.lstm_hidden_sizes) - 1))

    def _check_length(self, n_times: int, name: str) -> None:
        if n_times < self.min_times:
            raise ConfigError(
                f"'{name}' must be >= {self.min_times} samples for these kernel sizes and "
                f"{len(self.lstm_hidden_sizes)} LSTM levels; got {n_times}."
            )

    # -- the network ---------------------------------------------------------------------------

    def encode_channels(self, x: Tensor) -> Tensor:
        """Channel-encoder output of single-channel series in µV.

        Parameters
        ----------
        x : Tensor, shape (n_series, 1, n_times), microvolts

        Returns
        -------
        z : Tensor, shape (n_series, 4, n_times)
        """
        if x.ndim != 3 or x.shape[1] != 1:
            raise ConfigError(
                f"channel encoder input must have shape (n_series, 1, n_times); "
                f"got {tuple(x.shape)}."
            )
        self._check_length(x.shape[-1], "n_times of the input")
        return self.channel_encoder(x / self.input_scale_uv)  # -> (series, 4, times)

    def project(self, x1: Tensor) -> Tensor:
        """Pretraining projection of single-channel series.

        Parameters
        ----------
        x1 : Tensor, shape (n_series, 1, n_times), microvolts
            One (augmented) channel or channel difference per row.

        Returns
        -------
        projection : Tensor, shape (n_series, projection_dim)
            Not normalised; the NT-Xent loss L2-normalises it.
        """
        z = self.encode_channels(x1)  # (series, 1, times) -> (series, 4, times)
        h = self.projector["rnn"](z)  # -> (series, 2 * sum(lstm_hidden_sizes))
        return self.projector["mlp"](h)  # -> (series, projection_dim)

    def encode(self, x: Tensor) -> Tensor:
        """Summarised channel-wise features of aligned windows.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times), microvolts

        Returns
        -------
        features : Tensor, shape (batch, n_features)
        """
        if x.ndim != 3 or x.shape[1] != self.n_channels:
            raise ConfigError(
                f"input must have shape (batch, {self.n_channels}, n_times); got {tuple(x.shape)}."
            )
        batch, n_channels, n_times = x.shape
        series = x.reshape(batch * n_channels, 1, n_times)  # (batch * chans, 1, times)
        z = self.encode_channels(series)  # -> (batch * chans, 4, times)
        z = z.reshape(batch, n_channels * N_ENCODER_OUTPUTS, n_times)  # -> (batch, 4 chans, times)
        return self.summariser(z)  # -> (batch, n_features)

    def new_head(self, n_outputs: int) -> nn.Module:
        """Linear(n_features, mlp_hidden) -> ReLU -> Linear(mlp_hidden, n_outputs)."""
        return _mlp(self.n_features, self.mlp_hidden, n_outputs)

    # -- parameter groups ----------------------------------------------------------------------

    def encoder_parameters(self) -> Iterator[nn.Parameter]:
        """Channel encoder and summariser parameters (neither the projector's nor the head's)."""
        yield from self.channel_encoder.parameters()
        yield from self.summariser.parameters()

    def pretraining_parameters(self) -> Iterator[nn.Parameter]:
        """What contrastive pretraining optimises: channel encoder and projector."""
        yield from self.channel_encoder.parameters()
        yield from self.projector.parameters()

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """[stem, residual unit 1, ..., residual unit n, output block, summariser, head].

        The projector is in no group (it is not part of the downstream network).
        """
        encoder = self.channel_encoder
        return [
            list(encoder.stem.parameters()),
            *(list(unit.parameters()) for unit in encoder.res_units),
            list(encoder.output.parameters()),
            list(self.summariser.parameters()),
            list(self.head.parameters()),
        ]
