"""SPP-EEGNet (Li & Metsis 2022): an input-agnostic conv encoder with spatial pyramid pooling.

Six (by default) small conv blocks treat a window as a one-channel image ``(channels, time)``;
spatial pyramid pooling turns the feature maps of any height and width into a fixed-length
vector, so one encoder accepts any montage and window length. Pretrained blocks transfer
between datasets by position: "transfer the first k blocks" is ``model.blocks[:k]``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from neurodeck.common.checks import check_dropout, check_int
from neurodeck.common.types import ConfigError
from neurodeck.models.base import EEGModel
from neurodeck.models.registry import register_model
from torch import Tensor, nn

logger = logging.getLogger(__name__)

# Added to each channel's variance before the z-score (microvolts squared), so that a flat
# channel gives zeros instead of NaN (in the output and in input gradients); far below any EEG.
ZSCORE_EPS = 1e-6
#: Input normalisation: ``"channel"`` z-scores each channel within the window (the paper);
#: ``"window"`` removes each channel's mean and divides the whole window by one scale, which keeps
#: the relative power of the channels (the motor-imagery signal: band power over C3 vs C4).
INPUT_NORMS = ("channel", "window")
# Blocks ``i`` with ``i % 3 == 2`` (2 and 5 of 6) halve time and carry the dropout.
_STRIDED_EVERY = 3


def _conv_block(in_filters: int, n_filters: int, stride: int, dropout: float) -> nn.Sequential:
    """Conv2d (1, 3) -> Dropout2d -> GroupNorm (one group per filter) -> ReLU.

    Its parameters are, in this order: conv weight, conv bias, GroupNorm weight, GroupNorm bias.
    """
    return nn.Sequential(
        # Padding 1 on both axes, as the original: the (1, 3) kernel adds 2 rows per block.
        nn.Conv2d(in_filters, n_filters, kernel_size=(1, 3), stride=(1, stride), padding=(1, 1)),
        nn.Dropout2d(dropout),
        nn.GroupNorm(n_filters, n_filters),
        nn.ReLU(inplace=True),
    )


@register_model("spp_eegnet")
class SPPEEGNet(EEGModel):
    """SPP-EEGNet encoder with a linear head; accepts any channel count and window length.

    Each window is z-scored per channel, seen as a ``(1, C, T)`` image, and passed through
    ``n_blocks`` conv blocks (Conv2d ``(1, 3)`` -> Dropout2d -> GroupNorm -> ReLU, 32 filters),
    where blocks 2 and 5 use stride ``(1, 2)`` in time and Dropout2d ``dropout`` (the others
    dropout 0). Max pooling to 5x5, 3x3 and 2x2 grids (spatial pyramid pooling), concatenated,
    then a linear layer without activation gives the ``embed_dim`` representation; the head is
    ``Linear(embed_dim, n_outputs)``.

    Parameters
    ----------
    channel_names : sequence of str
        Channel names of the training montage (recorded, and sizing the alignment buffer; the
        network itself does not depend on them).
    sfreq : float
        Input sampling rate in Hz (recorded only).
    n_times : int
        Samples per training window (recorded only).
    n_outputs : int
        Number of classes.
    n_filters : int
        Filters of every conv block (and GroupNorm groups).
    n_blocks : int
        Number of conv blocks; blocks ``i`` with ``i % 3 == 2`` are strided and carry dropout.
    embed_dim : int
        Size of the representation (the SPP linear layer's output).
    dropout : float
        Dropout2d probability of the strided blocks.
    pyramid_levels : sequence of int
        Output grid sizes ``n`` (``n x n``) of the pyramid's max-pool levels.

    Attributes
    ----------
    blocks : nn.ModuleList of nn.Sequential
        The conv blocks, input side first; each holds exactly 4 parameter tensors (conv weight,
        conv bias, GroupNorm weight, GroupNorm bias), so ``list(model.parameters())[:4 * k]`` are
        the first ``k`` blocks, as the original's positional ``--layers=4k`` transfer assumes.
    pyramid : nn.ModuleList of nn.AdaptiveMaxPool2d
        One pool per pyramid level.
    embed : nn.Linear
        ``n_filters * sum(n * n for n in pyramid_levels)`` (1216) -> ``embed_dim`` (100).
    n_features : int
        ``embed_dim``.

    Notes
    -----
    Height quirk, replicated on purpose: the original pads the (1, 3) convs by 1 on *both* axes,
    so each block adds 2 zero-padded rows and a C-channel input leaves the blocks with
    ``C + 2 * n_blocks`` rows; time ``T`` becomes about ``T / 4`` (801 -> 201). Keeping it keeps
    pretrained blocks and feature maps compatible with the paper's.

    The pyramid uses ``nn.AdaptiveMaxPool2d`` instead of the original's explicit kernel, stride
    and padding rule, which gives the same grid but is invalid in PyTorch for 1, 4 and 9 input
    channels; adaptive pooling also works when a map is smaller than the grid.

    Each channel is z-scored within the window inside :meth:`encode`, as the paper's
    preprocessing does (population std, ``ZSCORE_EPS`` added to the variance), so the input
    scale does not matter and a flat channel gives zeros.

    Compute: about 138k parameters in the encoder (137,732 at the defaults, independent of the
    montage). Forward + backward of a (32, 64, 320) batch (EEGBCI training input: 64 channels,
    2 s at 160 Hz) took 2.4-3.9 s on one CPU thread (median about 2.7 s; 3.5-4.8 s when the
    shared 2-core test machine was fully loaded; torch 2.13), about 1 s of it forward: about
    12 GFLOP forward, mostly the (1, 3) convs, which run near 15 GFLOP/s. For comparison, EEGNet
    took about 0.34 s and ShallowConvNet about 1.1 s on the same batch. The cost grows linearly
    with ``C + 2 * n_blocks`` and with ``T``.

    ``forward`` is called from training loops and from the inference worker thread.

    References
    ----------
    .. [1] X. Li, V. Metsis. "SPP-EEGNET: An input-agnostic self-supervised EEG representation
       model for inter-dataset transfer learning." Proceedings of the 18th International
       Conference on Computing and Information Technology (IC2IT 2022), Lecture Notes in
       Networks and Systems 453, Springer, 2022.
    .. [2] K. He, X. Zhang, S. Ren, J. Sun. "Spatial pyramid pooling in deep convolutional
       networks for visual recognition." IEEE Transactions on Pattern Analysis and Machine
       Intelligence 37(9), 1904-1916, 2015.
    """

    channel_agnostic = True

    def __init__(
        self,
        channel_names: Sequence[str],
        sfreq: float,
        n_times: int,
        n_outputs: int,
        n_filters: int = 32,
        n_blocks: int = 6,
        embed_dim: int = 100,
        dropout: float = 0.5,
        pyramid_levels: Sequence[int] = (5, 3, 2),
        input_norm: str = "channel",
    ) -> None:
        super().__init__(channel_names, sfreq, n_times, n_outputs)
        if input_norm not in INPUT_NORMS:
            raise ConfigError(f"'input_norm' must be one of {INPUT_NORMS}; got {input_norm!r}.")
        self.input_norm = input_norm
        self.n_filters = check_int("n_filters", n_filters)
        self.n_blocks = check_int("n_blocks", n_blocks)
        self.embed_dim = check_int("embed_dim", embed_dim)
        self.dropout = check_dropout(dropout)
        if isinstance(pyramid_levels, (str, bytes)) or not isinstance(pyramid_levels, Sequence):
            raise ConfigError(
                f"'pyramid_levels' must be a non-empty list of integers >= 1; "
                f"got {pyramid_levels!r}."
            )
        if not pyramid_levels:
            raise ConfigError("'pyramid_levels' must be a non-empty list of integers >= 1; got [].")
        self.pyramid_levels = [check_int("pyramid_levels[i]", n) for n in pyramid_levels]

        self.blocks = nn.ModuleList()
        for i in range(self.n_blocks):
            strided = i % _STRIDED_EVERY == _STRIDED_EVERY - 1
            self.blocks.append(
                _conv_block(
                    1 if i == 0 else self.n_filters,
                    self.n_filters,
                    stride=2 if strided else 1,
                    dropout=self.dropout if strided else 0.0,
                )
            )
        self.pyramid = nn.ModuleList(nn.AdaptiveMaxPool2d(n) for n in self.pyramid_levels)
        n_pooled = self.n_filters * sum(n * n for n in self.pyramid_levels)
        self.embed = nn.Linear(n_pooled, self.embed_dim)
        self.head = self.new_head(n_outputs)

    @property
    def n_features(self) -> int:
        """Size of the representation, ``embed_dim``."""
        return self.embed_dim

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-safe."""
        return {
            **super().config,
            "n_filters": self.n_filters,
            "n_blocks": self.n_blocks,
            "embed_dim": self.embed_dim,
            "dropout": self.dropout,
            "pyramid_levels": list(self.pyramid_levels),
            "input_norm": self.input_norm,
        }

    def encode(self, x: Tensor) -> Tensor:
        """Representation of windows of any channel count and length.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels_any, n_times_any)
            Windows in any unit (each channel is z-scored here).

        Returns
        -------
        features : Tensor, shape (batch, embed_dim)
        """
        if x.ndim != 3:
            raise ConfigError(
                f"SPPEEGNet input must have shape (batch, channels, times); got {tuple(x.shape)}."
            )
        var, mean = torch.var_mean(x, dim=-1, correction=0, keepdim=True)  # (batch, chans, 1)
        if self.input_norm == "window":  # one scale per window: keeps relative channel power
            var = var.mean(dim=1, keepdim=True)  # (batch, 1, 1)
        x = (x - mean) / torch.sqrt(var + ZSCORE_EPS)  # (batch, chans, times), z-scored
        x = x.unsqueeze(1)  # -> (batch, 1, chans, times)
        for block in self.blocks:
            x = block(x)  # -> (batch, n_filters, chans + 2 * n_blocks, ~times / 4) at the end
        pooled = [pool(x).flatten(1) for pool in self.pyramid]  # each (batch, n_filters * n * n)
        x = torch.cat(pooled, dim=1)  # -> (batch, n_filters * sum(n * n))
        return self.embed(x)  # -> (batch, embed_dim)

    def new_head(self, n_outputs: int) -> nn.Module:
        """Linear layer from the representation to logits."""
        return nn.Linear(self.embed_dim, n_outputs)

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """One group per conv block, then the SPP linear layer, then the head."""
        return [
            *(list(block.parameters()) for block in self.blocks),
            list(self.embed.parameters()),
            list(self.head.parameters()),
        ]

    def load_blocks(self, source: SPPEEGNet, n_blocks: int) -> None:
        """Copy the first ``n_blocks`` conv blocks of ``source`` into this model.

        The transfer of the paper (``--layers=4 * n_blocks``): everything else (the SPP linear
        layer, the head) keeps its own weights.

        Parameters
        ----------
        source : SPPEEGNet
            A (pretrained) model with the same ``n_filters`` and at least ``n_blocks`` blocks.
        n_blocks : int
            Number of blocks to copy, from the input side; 0 copies nothing.

        Raises
        ------
        ConfigError
            If ``n_blocks`` exceeds either model's blocks or the filter counts differ.
        """
        n_blocks = check_int("n_blocks", n_blocks, minimum=0)
        if n_blocks > min(len(self.blocks), len(source.blocks)):
            raise ConfigError(
                f"'n_blocks' must be <= the blocks of both models "
                f"({len(source.blocks)} and {len(self.blocks)}); got {n_blocks}."
            )
        if source.n_filters != self.n_filters:
            raise ConfigError(
                f"cannot transfer blocks between models with {source.n_filters} and "
                f"{self.n_filters} filters."
            )
        pairs = zip(self.blocks[:n_blocks], source.blocks[:n_blocks], strict=True)
        for target_block, source_block in pairs:
            target_block.load_state_dict(source_block.state_dict())
