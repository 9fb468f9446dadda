"""LaBraM: a neural transformer over one-second patches of every EEG channel.

Each channel is cut into patches of ``patch_size`` samples; a small temporal convolution turns
every patch into a token; a spatial embedding looked up by the channel's *name* and a temporal
embedding indexed by the patch's position are added; a pre-LN transformer mixes all tokens of
all channels. The same module serves three uses: classification (:class:`LaBraM`, registered
``"labram"``), masked EEG modelling (:meth:`LaBraM.forward_tokens` with a mask, see
``offline_training.mem``) and, with other settings, the encoder and decoder of the neural
tokenizer (:mod:`neurodeck.models.labram_tokenizer`), which reuse :class:`NeuralTransformer`. The
patch tokenization both share (:func:`~neurodeck.models.layers.patchify`, the patch embedding
:class:`~neurodeck.models.layers.TemporalConv`, :func:`~neurodeck.models.layers.spatial_index`) is
in :mod:`neurodeck.models.layers`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from neurodeck.common.checks import check_fraction, check_int, check_positive
from neurodeck.common.types import ConfigError
from neurodeck.models.base import EEGModel
from neurodeck.models.electrodes import ELECTRODE_TABLE
from neurodeck.models.layers import TemporalConv, patchify, spatial_index, trunc_normal_
from neurodeck.models.registry import register_model
from torch import Tensor, nn

logger = logging.getLogger(__name__)

#: LayerNorm epsilon of every LaBraM norm.
LN_EPS = 1e-6
#: Rows of the spatial-embedding table: row 0 for the CLS token, row ``i + 1`` for
#: ``ELECTRODE_TABLE[i]``.
N_SPATIAL_ROWS = len(ELECTRODE_TABLE) + 1

#: Named architectures for :meth:`LaBraM.from_preset`. ``"base"`` is LaBraM-Base of the paper
#: (5.86M parameters with this electrode table, 5.8M in the paper); ``"small"`` is a CPU-sized
#: variant (0.76M parameters).
LABRAM_PRESETS: dict[str, dict[str, Any]] = {
    "base": {
        "patch_size": 200,
        "conv_channels": 8,  # embed_dim 200
        "depth": 12,
        "n_heads": 10,
        "mlp_ratio": 4.0,
        "layer_scale_init": 0.1,
    },
    "small": {
        "patch_size": 200,
        "conv_channels": 4,  # embed_dim 100
        "depth": 6,
        "n_heads": 5,
        "mlp_ratio": 4.0,
        "layer_scale_init": 0.1,
    },
}


class DropPath(nn.Module):
    """Stochastic depth: zero a residual branch for a random subset of samples (training only).

    Parameters
    ----------
    drop_prob : float
        Probability of dropping the branch of a sample; kept branches are scaled by
        ``1 / (1 - drop_prob)``.
    """

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = check_fraction("drop_prob", drop_prob)

    def forward(self, x: Tensor) -> Tensor:
        """Apply stochastic depth to ``x``, shape (batch, ...)."""
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        return x * x.new_empty(shape).bernoulli_(keep).div_(keep)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


class Attention(nn.Module):
    """Multi-head self-attention with optional BEiT-style q/v biases and QK-LayerNorm.

    Parameters
    ----------
    dim : int
        Token dimension, a multiple of ``n_heads``.
    n_heads : int
        Attention heads.
    qkv_bias : bool
        Learn a bias for q and v (none for k), as BEiT; LaBraM's classifier has none.
    qk_norm : bool
        LayerNorm over the head dimension of q and k before the dot product.
    """

    def __init__(self, dim: int, n_heads: int, qkv_bias: bool = False, qk_norm: bool = True):
        super().__init__()
        if dim % n_heads:
            raise ConfigError(
                f"'n_heads' must divide the embedding dimension {dim}; got {n_heads}."
            )
        self.n_heads = n_heads
        self.head_dim = dim // n_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.v_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.q_norm = nn.LayerNorm(self.head_dim, eps=LN_EPS) if qk_norm else nn.Identity()
        self.k_norm = nn.LayerNorm(self.head_dim, eps=LN_EPS) if qk_norm else nn.Identity()
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        """Attend over tokens ``x``, shape (batch, n_tokens, dim); same shape out."""
        batch, n_tokens, dim = x.shape
        bias = None
        if self.q_bias is not None and self.v_bias is not None:
            bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias)  # (batch, tokens, 3 * dim)
        # -> 3 x (batch, heads, tokens, head_dim)
        q, k, v = qkv.view(batch, n_tokens, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k = self.q_norm(q), self.k_norm(k)
        out = F.scaled_dot_product_attention(q, k, v)  # (batch, heads, tokens, head_dim)
        return self.proj(out.transpose(1, 2).reshape(batch, n_tokens, dim))


class Mlp(nn.Module):
    """Linear -> GELU -> Linear on tokens, hidden size ``mlp_ratio * dim``."""

    def __init__(self, dim: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        """(batch, n_tokens, dim) -> (batch, n_tokens, dim)."""
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-LN transformer block with optional layer scale and stochastic depth.

    ``x + DropPath(gamma_1 * Attn(LN(x)))``, then ``x + DropPath(gamma_2 * MLP(LN(x)))``.

    Parameters
    ----------
    dim, n_heads, qkv_bias, qk_norm
        As :class:`Attention`.
    mlp_ratio : float
        Hidden size of the MLP over ``dim``.
    layer_scale_init : float
        Initial value of the per-channel scales ``gamma``; 0 disables layer scale.
    drop_path : float
        Stochastic-depth probability of both residual branches.
    """

    def __init__(
        self,
        dim: int,
        n_heads: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = False,
        qk_norm: bool = True,
        layer_scale_init: float = 0.1,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = Attention(dim, n_heads, qkv_bias=qkv_bias, qk_norm=qk_norm)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = Mlp(dim, mlp_ratio)
        if layer_scale_init > 0:
            self.gamma_1 = nn.Parameter(torch.full((dim,), float(layer_scale_init)))
            self.gamma_2 = nn.Parameter(torch.full((dim,), float(layer_scale_init)))
        else:
            self.gamma_1 = self.gamma_2 = None

    def forward(self, x: Tensor) -> Tensor:
        """(batch, n_tokens, dim) -> (batch, n_tokens, dim)."""
        attn = self.attn(self.norm1(x))
        mlp_in = x + self.drop_path(attn if self.gamma_1 is None else self.gamma_1 * attn)
        mlp = self.mlp(self.norm2(mlp_in))
        return mlp_in + self.drop_path(mlp if self.gamma_2 is None else self.gamma_2 * mlp)


class NeuralTransformer(nn.Module):
    """LaBraM's token pipeline: patch embedding, CLS, spatial/temporal embeddings, blocks, norm.

    Parameters
    ----------
    patch_embed : nn.Module
        Maps ``(batch, n_channels, n_patches, n_in)`` to tokens
        ``(batch, n_channels * n_patches, embed_dim)``
        (:class:`~neurodeck.models.layers.TemporalConv` for encoders, a linear map of code vectors
        for the tokenizer's decoder).
    embed_dim : int
        Token dimension ``d``.
    depth : int
        Transformer blocks.
    n_heads, mlp_ratio, qkv_bias, qk_norm, layer_scale_init
        As :class:`Block`.
    drop_path : float
        Stochastic-depth probability of the last block, rising linearly from 0 at the first.
    max_patches : int
        Rows of the temporal-embedding table (most patches per channel).
    use_mask_token : bool
        Learn a mask token that replaces masked patch embeddings (masked EEG modelling).

    Attributes
    ----------
    cls_token : Parameter, shape (1, 1, embed_dim)
    mask_token : Parameter, shape (1, 1, embed_dim), or None
    spatial_embed : Parameter, shape (N_SPATIAL_ROWS, embed_dim)
        Row 0 is added to CLS, row ``1 + i`` to every patch of electrode ``ELECTRODE_TABLE[i]``.
    time_embed : Parameter, shape (max_patches, embed_dim)
        Row ``k`` is added to the ``k``-th patch of every channel (not to CLS).
    fc_norm : nn.LayerNorm
        Final norm of patch tokens (per token, or of their mean).
    """

    def __init__(
        self,
        patch_embed: nn.Module,
        embed_dim: int,
        depth: int,
        n_heads: int,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = False,
        qk_norm: bool = True,
        layer_scale_init: float = 0.1,
        drop_path: float = 0.0,
        max_patches: int = 16,
        use_mask_token: bool = False,
    ) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.max_patches = max_patches
        self.patch_embed = patch_embed
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if use_mask_token else None
        self.spatial_embed = nn.Parameter(torch.zeros(N_SPATIAL_ROWS, embed_dim))
        self.time_embed = nn.Parameter(torch.zeros(max_patches, embed_dim))
        rates = torch.linspace(0, drop_path, depth).tolist()
        self.blocks = nn.ModuleList(
            Block(embed_dim, n_heads, mlp_ratio, qkv_bias, qk_norm, layer_scale_init, rate)
            for rate in rates
        )
        self.fc_norm = nn.LayerNorm(embed_dim, eps=LN_EPS)
        self._init_weights()

    def _init_weights(self) -> None:
        """Truncated normal 0.02 for linears and embeddings; block l's output layers / sqrt(2l)."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                trunc_normal_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        for param in (self.cls_token, self.mask_token, self.spatial_embed, self.time_embed):
            if param is not None:
                trunc_normal_(param)
        with torch.no_grad():
            for layer, block in enumerate(self.blocks, start=1):
                block.attn.proj.weight.div_(math.sqrt(2.0 * layer))
                block.mlp.fc2.weight.div_(math.sqrt(2.0 * layer))

    def forward(self, inputs: Tensor, channel_index: Tensor, mask: Tensor | None = None) -> Tensor:
        """Hidden states of CLS and patch tokens after the last block (before ``fc_norm``).

        Parameters
        ----------
        inputs : Tensor, shape (batch, n_channels, n_patches, n_in)
            Patches (or code vectors) for ``patch_embed``.
        channel_index : LongTensor, shape (n_channels,) or (batch, n_channels)
            Spatial-embedding rows of the channels (:func:`~neurodeck.models.layers.spatial_index`).
        mask : BoolTensor, shape (batch, n_channels * n_patches), optional
            True where the patch embedding is replaced by the mask token.

        Returns
        -------
        hidden : Tensor, shape (batch, 1 + n_channels * n_patches, embed_dim)
            CLS first, then the patch tokens channel-major.
        """
        batch, n_channels, n_patches, _ = inputs.shape
        if n_patches > self.max_patches:
            raise ConfigError(f"at most {self.max_patches} patches per channel; got {n_patches}.")
        if channel_index.shape[-1] != n_channels:
            raise ConfigError(
                f"channel_index has {channel_index.shape[-1]} channels but the input has "
                f"{n_channels}."
            )
        x = self.patch_embed(inputs)  # (batch, chans * patches, d)
        if mask is not None:
            if self.mask_token is None:
                raise ConfigError("this transformer has no mask token; build it with one.")
            if mask.shape != x.shape[:2] or mask.dtype != torch.bool:
                raise ConfigError(
                    f"mask must be a bool tensor of shape {tuple(x.shape[:2])}; got "
                    f"{mask.dtype} {tuple(mask.shape)}."
                )
            x = torch.where(mask.unsqueeze(-1), self.mask_token.to(x.dtype), x)
        # spatial (..., chans, 1, d) + temporal (patches, d) -> (..., chans * patches, d)
        position = self.spatial_embed[channel_index].unsqueeze(-2) + self.time_embed[:n_patches]
        x = x + position.flatten(-3, -2)
        cls = (self.cls_token + self.spatial_embed[0]).expand(batch, -1, -1)  # (batch, 1, d)
        x = torch.cat((cls, x), dim=1)  # (batch, 1 + chans * patches, d)
        for block in self.blocks:
            x = block(x)
        return x

    def patch_tokens(
        self, inputs: Tensor, channel_index: Tensor, mask: Tensor | None = None
    ) -> Tensor:
        """Normalised patch tokens, shape (batch, n_channels * n_patches, embed_dim).

        Arguments as :meth:`forward`; CLS is dropped and ``fc_norm`` applied to every token.
        """
        return self.fc_norm(self(inputs, channel_index, mask)[:, 1:])

    def pooled(self, inputs: Tensor, channel_index: Tensor) -> Tensor:
        """Normalised mean of the patch tokens, shape (batch, embed_dim); arguments as forward."""
        return self.fc_norm(self(inputs, channel_index)[:, 1:].mean(dim=1))


@register_model("labram")
class LaBraM(EEGModel):
    """LaBraM-style neural transformer classifier (Jiang et al. 2024).

    The window (microvolts) is divided by 100 and cut into ``patch_size``-sample patches per
    channel; :class:`~neurodeck.models.layers.TemporalConv` makes a token of each patch; a learnable
    CLS token is prepended; each patch token gets the spatial embedding of its channel (looked up by
    name in :data:`neurodeck.models.electrodes.ELECTRODE_TABLE`) and the temporal embedding of its
    position; a stack of pre-LN blocks (QK-LayerNorm, no q/k/v bias, layer scale, stochastic
    depth, MLP ratio 4 with GELU, LayerNorm eps 1e-6) follows. Features are the LayerNorm'd mean
    of the patch tokens (CLS excluded); the head is linear.

    Parameters
    ----------
    channel_names : sequence of str
        Input electrode names, in order; each must be in the electrode table (10-05 names, T3-T6,
        A1/A2, M1/M2, T1/T2; case and EEGBCI dots ignored).
    sfreq : float
        Input sampling rate in Hz. The model does not resample: a patch is ``patch_size``
        samples whatever the rate. LaBraM's recipe (and any weights pretrained with it) uses
        200 Hz and 200-sample (1 s) patches; neurodeck's preprocessing resamples to that.
    n_times : int
        Samples per window: a multiple of ``patch_size``, at most ``max_patches`` patches.
        Windows of any such length are accepted at run time.
    n_outputs : int
        Number of classes.
    patch_size : int
        Samples per patch, a multiple of 8.
    conv_channels : int
        Feature maps of the temporal convolution, a multiple of 4. The token dimension is derived
        from it, ``embed_dim = patch_size // 8 * conv_channels`` (200 for the defaults), as in
        the paper: there is no separate ``embed_dim`` argument, so a config cannot contradict
        itself and no projection layer is needed.
    depth : int
        Transformer blocks.
    n_heads : int
        Attention heads; must divide ``embed_dim``.
    mlp_ratio : float
        MLP hidden size over ``embed_dim``.
    layer_scale_init : float
        Initial layer-scale value (0.1 for Base; 0 disables layer scale).
    drop_path : float
        Stochastic-depth rate of the last block (0.1 when fine-tuning Base, 0 for pretraining).
    max_patches : int
        Rows of the temporal-embedding table (16 in LaBraM: at most 16 s at 200 Hz).

    Attributes
    ----------
    backbone : NeuralTransformer
        Patch embedding, embeddings, blocks and ``fc_norm``.
    channel_index : LongTensor, shape (n_channels,)
        Spatial-embedding rows of ``channel_names`` (a buffer rebuilt from the names, not saved).
    head : nn.Linear
        ``embed_dim -> n_outputs``; truncated-normal init scaled by ``init_scale = 0.001``.

    Notes
    -----
    Presets (:data:`LABRAM_PRESETS`, :meth:`from_preset`), parameter counts with 2 outputs (the
    count does not depend on the montage): ``"base"`` (depth 12, d 200, 10 heads, c 8)
    5,863,138; ``"small"`` (depth 6, d 100, 5 heads, c 4) 764,274. The spatial table has 342
    rows (LaBraM's has 129), which adds 42,600 parameters to Base; pretrained LaBraM tables can be
    ported row by row by electrode name.

    Measured CPU time of one training step (forward + backward, optimiser excluded) on a batch of
    32 windows of 64 channels x 400 samples at 200 Hz (2 patches, 129 tokens), 1 thread,
    torch 2.13, on a shared 2-core x86 host (ranges over repeated runs under varying load):
    ``"small"`` 0.5-0.9 s, ``"base"`` 3.4-4.7 s. Inference of one such window (``no_grad``,
    batch 1): small 6-11 ms, base 34-48 ms.

    ``forward`` is called from training loops and from the inference worker thread (under
    ``torch.no_grad()``); it keeps no state between calls.

    References
    ----------
    .. [1] W.-B. Jiang, L.-M. Zhao, B.-L. Lu. "Large brain model for learning generic
       representations with tremendous EEG data in BCI." ICLR 2024.
    .. [2] H. Bao, L. Dong, S. Piao, F. Wei. "BEiT: BERT pre-training of image transformers."
       ICLR 2022.
    """

    channel_agnostic = True

    init_scale = 0.001

    def __init__(
        self,
        channel_names: Sequence[str],
        sfreq: float,
        n_times: int,
        n_outputs: int,
        patch_size: int = 200,
        conv_channels: int = 8,
        depth: int = 12,
        n_heads: int = 10,
        mlp_ratio: float = 4.0,
        layer_scale_init: float = 0.1,
        drop_path: float = 0.1,
        max_patches: int = 16,
    ) -> None:
        super().__init__(channel_names, sfreq, n_times, n_outputs)
        self.patch_size = check_int("patch_size", patch_size, 8)
        self.conv_channels = check_int("conv_channels", conv_channels, 4)
        self.depth = check_int("depth", depth, 1)
        self.n_heads = check_int("n_heads", n_heads, 1)
        self.mlp_ratio = check_positive("mlp_ratio", mlp_ratio)
        self.layer_scale_init = float(layer_scale_init)
        if self.layer_scale_init < 0:
            raise ConfigError(f"'layer_scale_init' must be >= 0; got {layer_scale_init!r}.")
        self.drop_path = check_fraction("drop_path", drop_path)
        self.max_patches = check_int("max_patches", max_patches, 1)
        if self.n_times % self.patch_size or self.n_times > self.max_patches * self.patch_size:
            raise ConfigError(
                f"'n_times' must be a multiple of patch_size={self.patch_size} and at most "
                f"max_patches={self.max_patches} patches; got {self.n_times}."
            )
        index = spatial_index(self.channel_names)
        if len(set(index.tolist())) != len(index):
            raise ConfigError(
                f"'channel_names' name the same electrode twice: {self.channel_names} "
                "(T3/T4/T5/T6 are T7/T8/P7/P8)."
            )
        self.register_buffer("channel_index", index, persistent=False)
        self.backbone = NeuralTransformer(
            TemporalConv(self.patch_size, self.conv_channels),
            embed_dim=self.embed_dim,
            depth=self.depth,
            n_heads=self.n_heads,
            mlp_ratio=self.mlp_ratio,
            qkv_bias=False,
            qk_norm=True,
            layer_scale_init=self.layer_scale_init,
            drop_path=self.drop_path,
            max_patches=self.max_patches,
            use_mask_token=True,
        )
        self.head = self.new_head(n_outputs)

    @classmethod
    def from_preset(
        cls,
        preset: str,
        channel_names: Sequence[str],
        sfreq: float,
        n_times: int,
        n_outputs: int,
        **overrides: Any,
    ) -> LaBraM:
        """Build a named architecture of :data:`LABRAM_PRESETS` (``"base"``, ``"small"``).

        Parameters
        ----------
        preset : str
            Preset name.
        channel_names, sfreq, n_times, n_outputs
            As the constructor.
        **overrides
            Constructor arguments that replace the preset's (``drop_path=0.0``...).

        Raises
        ------
        ConfigError
            If ``preset`` is unknown.
        """
        if preset not in LABRAM_PRESETS:
            raise ConfigError(
                f"unknown LaBraM preset {preset!r}; known presets: {sorted(LABRAM_PRESETS)}."
            )
        kwargs = {**LABRAM_PRESETS[preset], **overrides}
        return cls(channel_names, sfreq, n_times, n_outputs, **kwargs)

    @property
    def embed_dim(self) -> int:
        """Token dimension ``patch_size // 8 * conv_channels``."""
        return self.patch_size // 8 * self.conv_channels

    @property
    def config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments."""
        return {
            **super().config,
            "patch_size": self.patch_size,
            "conv_channels": self.conv_channels,
            "depth": self.depth,
            "n_heads": self.n_heads,
            "mlp_ratio": self.mlp_ratio,
            "layer_scale_init": self.layer_scale_init,
            "drop_path": self.drop_path,
            "max_patches": self.max_patches,
        }

    def new_head(self, n_outputs: int) -> nn.Module:
        """Linear ``embed_dim -> n_outputs``, truncated normal 0.02 scaled by 0.001."""
        head = nn.Linear(self.embed_dim, n_outputs)
        with torch.no_grad():
            trunc_normal_(head.weight).mul_(self.init_scale)
            nn.init.zeros_(head.bias)
        return head

    def _patches_and_index(self, x: Tensor, channel_index: Tensor | None) -> tuple[Tensor, Tensor]:
        """Patches of ``x`` and the spatial rows to use (``channel_index`` or the buffer)."""
        index = self.channel_index if channel_index is None else channel_index.to(x.device)
        if x.ndim == 3 and x.shape[1] != index.shape[-1]:
            raise ConfigError(
                f"input has {x.shape[1]} channels but the model expects {index.shape[-1]} "
                + ("(its channel_names)." if channel_index is None else "(channel_index).")
            )
        return patchify(x, self.patch_size, self.max_patches), index

    def encode(self, x: Tensor, channel_index: Tensor | None = None) -> Tensor:
        """Pooled features of windows.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times)
            Windows in microvolts (after :meth:`align`); ``n_times`` any whole number of patches
            up to ``max_patches``.
        channel_index : LongTensor, shape (n_channels,) or (batch, n_channels), optional
            Spatial rows of another montage (:func:`~neurodeck.models.layers.spatial_index` of its
            names), for pretraining across datasets; default: those of ``channel_names``.

        Returns
        -------
        features : Tensor, shape (batch, embed_dim)
            ``fc_norm`` of the mean patch token.
        """
        patches, index = self._patches_and_index(x, channel_index)  # (batch, chans, patches, P)
        return self.backbone.pooled(patches, index)  # (batch, d)

    def forward_tokens(
        self, x: Tensor, mask: Tensor | None = None, channel_index: Tensor | None = None
    ) -> Tensor:
        """Normalised patch tokens, for masked EEG modelling.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times)
            Windows in microvolts.
        mask : BoolTensor, shape (batch, n_channels * n_patches), optional
            True where the patch embedding (output of the temporal convolution) is replaced by
            the learnable mask token, before the spatial and temporal embeddings are added.
            Token ``i`` is patch ``i % n_patches`` of channel ``i // n_patches``.
        channel_index : LongTensor, shape (n_channels,) or (batch, n_channels), optional
            As :meth:`encode`.

        Returns
        -------
        tokens : Tensor, shape (batch, n_channels * n_patches, embed_dim)
            ``fc_norm`` of every patch token after the last block, CLS excluded.
        """
        patches, index = self._patches_and_index(x, channel_index)
        return self.backbone.patch_tokens(patches, index, mask)  # (batch, chans * patches, d)

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Parameter groups for layer-wise learning-rate decay (LaBraM's fine-tuning recipe).

        Returns
        -------
        groups : list of list of Parameter, length depth + 3
            0: cls token, mask token, spatial embedding and the temporal-convolution stem;
            ``1 .. depth``: one block each; ``depth + 1``: temporal embedding and ``fc_norm``;
            last: the head.
        """
        bb = self.backbone
        stem = [bb.cls_token, bb.spatial_embed, *bb.patch_embed.parameters()]
        if bb.mask_token is not None:
            stem.insert(1, bb.mask_token)
        blocks = [list(block.parameters()) for block in bb.blocks]
        top = [bb.time_embed, *bb.fc_norm.parameters()]
        return [stem, *blocks, top, list(self.head.parameters())]

    def no_weight_decay_names(self) -> set[str]:
        """Names (as ``named_parameters``) of parameters to exclude from weight decay.

        Returns
        -------
        names : set of str
            1-D parameters (norms, layer scales, biases) and the CLS/mask tokens and the
            spatial/temporal embedding tables.
        """
        skip = {"cls_token", "mask_token", "spatial_embed", "time_embed"}
        return {
            name
            for name, param in self.named_parameters()
            if param.ndim <= 1 or name.endswith(".bias") or name.rsplit(".", 1)[-1] in skip
        }
