"""Layers and small building blocks that more than one model file uses.

- Max-norm constrained layers (:class:`MaxNormConv2d`, :class:`MaxNormLinear`,
  :func:`apply_max_norm`) of EEGNet and ShallowConvNet: the Keras reference code constrains some
  weights with ``max_norm``, which neurodeck reproduces as braindecode's constrained layers do.
- :func:`check_montage`, the input check of the fixed-montage models (EEGNet, ShallowConvNet).
- Patch tokenization of LaBraM and its neural tokenizer: :func:`patchify` (window -> patches),
  :class:`TemporalConv` (the patch embedding: patch -> token), :func:`spatial_index` (rows of
  the spatial-embedding table, by electrode name) and :func:`trunc_normal_` (their
  initialisation).

Argument checks (``check_int``, ``check_dropout``, ...) live in :mod:`neurodeck.common.checks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from neurodeck.common.types import ConfigError
from neurodeck.models.electrodes import electrode_indices
from torch import Tensor, nn

if TYPE_CHECKING:
    from neurodeck.models.base import EEGModel

#: Inputs in microvolts are divided by this before patching (unit 0.1 mV, values mostly in
#: [-1, 1]), as in every LaBraM training script.
UV_PER_UNIT = 100.0
#: Standard deviation of the truncated-normal initialisation of linear layers and embeddings.
INIT_STD = 0.02


class MaxNormConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose every output filter has L2 norm at most ``max_norm``.

    Before each forward pass the weight is renormalised in place (``torch.renorm`` over dim 0,
    outside autograd), as braindecode's ``Conv2dWithConstraint`` does. This equals Keras'
    ``max_norm`` constraint applied after every optimizer step, one step late: the weights used
    by every forward pass satisfy the bound.

    Parameters
    ----------
    *args, **kwargs
        As ``nn.Conv2d``.
    max_norm : float
        Bound on the norm of each filter ``weight[i]``, shape ``(in_channels / groups, kh, kw)``.
    """

    def __init__(self, *args: Any, max_norm: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_norm = float(max_norm)

    def forward(self, x: Tensor) -> Tensor:
        """Renormalise the weight, then convolve ``x`` as ``nn.Conv2d``."""
        apply_max_norm(self.weight, self.max_norm)
        return super().forward(x)


class MaxNormLinear(nn.Linear):
    """``nn.Linear`` whose every output unit's weight row has L2 norm at most ``max_norm``.

    Renormalised in place before each forward pass, as :class:`MaxNormConv2d`.

    Parameters
    ----------
    in_features, out_features : int
        As ``nn.Linear``.
    max_norm : float
        Bound on the norm of each row ``weight[i]``, shape ``(in_features,)``.
    bias : bool
        As ``nn.Linear``.
    """

    def __init__(
        self, in_features: int, out_features: int, *, max_norm: float, bias: bool = True
    ) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.max_norm = float(max_norm)

    def forward(self, x: Tensor) -> Tensor:
        """Renormalise the weight, then apply ``x @ weight.T + bias``."""
        apply_max_norm(self.weight, self.max_norm)
        return super().forward(x)


def apply_max_norm(weight: Tensor, max_norm: float) -> None:
    """Scale down, in place, every ``weight[i]`` whose L2 norm exceeds ``max_norm``.

    Parameters
    ----------
    weight : Tensor, shape (n_out, ...)
        A parameter; rows with a norm at or below the bound are left unchanged.
    max_norm : float
        The bound.

    Notes
    -----
    Writes through ``weight.data``, so autograd does not see it and a graph built by an earlier
    forward pass (for example the other branch of a Siamese pair) stays valid.
    """
    with torch.no_grad():
        weight.data.copy_(torch.renorm(weight.data, p=2, dim=0, maxnorm=max_norm))


def check_montage(model: EEGModel, x: Tensor) -> None:
    """Raise ConfigError unless ``x`` is ``(batch, model.n_channels, model.n_times)``.

    For fixed-montage models, whose feature size depends on both.
    """
    expected = (model.n_channels, model.n_times)
    if x.ndim != 3 or tuple(x.shape[1:]) != expected:
        raise ConfigError(
            f"{type(model).__name__} was built for input (batch, {expected[0]} channels, "
            f"{expected[1]} samples); got shape {tuple(x.shape)}. It is a fixed-montage model: "
            "build it for this montage and window length, or use an input-agnostic model."
        )


def trunc_normal_(tensor: Tensor, std: float = INIT_STD) -> Tensor:
    """Fill ``tensor`` in place from N(0, std^2) truncated at +-2 std; return it."""
    return nn.init.trunc_normal_(tensor, std=std, a=-2 * std, b=2 * std)


def spatial_index(channel_names: Sequence[str]) -> Tensor:
    """Rows of the spatial-embedding table for a montage.

    Parameters
    ----------
    channel_names : sequence of str, length n_channels
        Electrode names (matched as :func:`neurodeck.models.electrodes.electrode_indices` does).

    Returns
    -------
    index : LongTensor, shape (n_channels,)
        ``1 + row`` of each name in :data:`neurodeck.models.electrodes.ELECTRODE_TABLE` (row 0 is
        CLS).

    Raises
    ------
    ChannelMappingError
        Listing the names that are not electrodes of the table.
    """
    return torch.tensor([row + 1 for row in electrode_indices(channel_names)], dtype=torch.long)


def patchify(x: Tensor, patch_size: int, max_patches: int) -> Tensor:
    """Scale a window to 0.1 mV and cut every channel into patches.

    Parameters
    ----------
    x : Tensor, shape (batch, n_channels, n_times)
        Windows in microvolts; ``n_times`` a multiple of ``patch_size``.
    patch_size : int
        Samples per patch.
    max_patches : int
        Most patches per channel (rows of the temporal-embedding table).

    Returns
    -------
    patches : Tensor, shape (batch, n_channels, n_patches, patch_size)
        ``x / 100``, channel-major.

    Raises
    ------
    ConfigError
        If ``x`` is not 3-D, or its length is not 1 to ``max_patches`` whole patches.
    """
    if x.ndim != 3:
        raise ConfigError(
            f"input must have shape (batch, n_channels, n_times); got {tuple(x.shape)}."
        )
    batch, n_channels, n_times = x.shape
    n_patches = n_times // patch_size
    if n_times % patch_size or not 1 <= n_patches <= max_patches:
        raise ConfigError(
            f"input length must be a multiple of patch_size={patch_size} samples and at most "
            f"{max_patches} patches ({max_patches * patch_size} samples); got {n_times}.",
            f"Cut windows of whole patches (at 200 Hz: 1 s per patch, at most {max_patches} s).",
        )
    # (batch, chans, times) -> (batch, chans, patches, patch_size)
    return (x / UV_PER_UNIT).reshape(batch, n_channels, n_patches, patch_size)


class TemporalConv(nn.Module):
    """Patch -> token: three Conv -> GroupNorm(4) -> GELU blocks along the time of each patch.

    Block 1 has kernel 15, stride 8, padding 7 (length ``patch_size / 8``); blocks 2 and 3 kernel
    3, stride 1, padding 1. The output is flattened time-major, giving
    ``embed_dim = patch_size / 8 * conv_channels`` features per patch.

    Parameters
    ----------
    patch_size : int
        Samples per patch, a multiple of 8.
    conv_channels : int
        Feature maps of the convolutions, a multiple of 4 (the GroupNorm groups).
    """

    def __init__(self, patch_size: int, conv_channels: int) -> None:
        super().__init__()
        if patch_size % 8:
            raise ConfigError(f"'patch_size' must be a multiple of 8; got {patch_size}.")
        if conv_channels % 4:
            raise ConfigError(f"'conv_channels' must be a multiple of 4; got {conv_channels}.")
        c = conv_channels
        self.blocks = nn.Sequential(
            nn.Conv2d(1, c, kernel_size=(1, 15), stride=(1, 8), padding=(0, 7)),
            nn.GroupNorm(4, c),
            nn.GELU(),
            nn.Conv2d(c, c, kernel_size=(1, 3), padding=(0, 1)),
            nn.GroupNorm(4, c),
            nn.GELU(),
            nn.Conv2d(c, c, kernel_size=(1, 3), padding=(0, 1)),
            nn.GroupNorm(4, c),
            nn.GELU(),
        )
        self.out_features = patch_size // 8 * conv_channels

    def forward(self, patches: Tensor) -> Tensor:
        """Tokens of patches.

        Parameters
        ----------
        patches : Tensor, shape (batch, n_channels, n_patches, patch_size)

        Returns
        -------
        tokens : Tensor, shape (batch, n_channels * n_patches, embed_dim), channel-major
        """
        batch, n_channels, n_patches, patch_size = patches.shape
        # (batch, chans, patches, patch_size) -> (batch, 1, chans * patches, patch_size)
        x = patches.reshape(batch, 1, n_channels * n_patches, patch_size)
        x = self.blocks(x)  # -> (batch, conv_channels, chans * patches, patch_size / 8)
        # -> (batch, chans * patches, patch_size / 8 * conv_channels), time-major features
        return x.permute(0, 2, 3, 1).reshape(batch, n_channels * n_patches, -1)
