"""LaBraM's neural tokenizer: vector-quantized neural spectrum prediction.

A transformer encoder turns every EEG patch into a vector; a cosine vector quantizer snaps it to
the nearest of ``n_codes`` codebook entries; a small transformer decoder predicts the patch's
Fourier amplitude and phase from the codes. The trained tokenizer's code indices are the
targets of masked EEG modelling (``offline_training.mem``). It is a pretraining artifact, not a
classifier: it is not in the model registry, but :attr:`NeuralTokenizer.config` rebuilds it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from neurodeck.common.checks import check_fraction, check_int, check_positive
from neurodeck.common.types import ConfigError
from neurodeck.models.labram import NeuralTransformer
from neurodeck.models.layers import TemporalConv, patchify, spatial_index, trunc_normal_
from torch import Tensor, nn

logger = logging.getLogger(__name__)

#: Named sizes for :meth:`NeuralTokenizer.from_preset`: ``"base"`` is the paper's tokenizer
#: (7.61M parameters), ``"small"`` a CPU-sized one (0.51M parameters).
TOKENIZER_PRESETS: dict[str, dict[str, Any]] = {
    "base": {
        "patch_size": 200,
        "conv_channels": 8,  # embed_dim 200
        "depth": 12,
        "decoder_depth": 3,
        "n_heads": 10,
        "n_codes": 8192,
        "code_dim": 64,
    },
    "small": {
        "patch_size": 200,
        "conv_channels": 4,  # embed_dim 100
        "depth": 2,
        "decoder_depth": 1,
        "n_heads": 5,
        "n_codes": 1024,
        "code_dim": 32,
    },
}

_KMEANS_ITERS = 10
#: Default ``dead_threshold`` of :class:`VectorQuantizer`: a code used at under a tenth of the
#: mean rate (usage EMA) is re-initialised from the batch.
DEAD_THRESHOLD = 0.1
#: Default ``usage_decay`` of :class:`VectorQuantizer` (EMA of the code usage): with
#: ``DEAD_THRESHOLD`` a code that stops being used is restarted about 10 steps later.
USAGE_DECAY = 0.8
_STD_FLOOR = 1e-6  # z-scoring of a flat window divides by this instead of 0


def l2_normalize(x: Tensor) -> Tensor:
    """``x`` divided by its L2 norm along the last dimension (zero vectors stay zero)."""
    return F.normalize(x, p=2.0, dim=-1)


def zscore_per_sample(x: Tensor) -> Tensor:
    """Z-score each sample over all its other dimensions.

    Parameters
    ----------
    x : Tensor, shape (batch, ...)

    Returns
    -------
    Tensor, same shape
        ``(x - mean) / std`` with mean and (unbiased) std over all but the first dimension; a
        constant sample becomes 0.
    """
    dims = tuple(range(1, x.ndim))
    mean = x.mean(dim=dims, keepdim=True)
    std = x.std(dim=dims, keepdim=True).clamp_min(_STD_FLOOR)
    return (x - mean) / std


def fourier_targets(patches: Tensor) -> tuple[Tensor, Tensor]:
    """Amplitude and phase of the full DFT of every patch, z-scored within each sample.

    Parameters
    ----------
    patches : Tensor, shape (batch, n_channels, n_patches, patch_size)
        Patches already scaled to 0.1 mV (:func:`neurodeck.models.layers.patchify`).

    Returns
    -------
    amplitude, phase : Tensor, shape (batch, n_channels * n_patches, patch_size)
        ``|X|`` and ``angle(X)`` of the ``patch_size``-point DFT (all bins kept), each z-scored
        over channels x patches x bins of its sample; tokens channel-major.
    """
    spectrum = torch.fft.fft(patches.float(), dim=-1)  # (batch, chans, patches, P) complex
    amplitude = zscore_per_sample(spectrum.abs())
    phase = zscore_per_sample(spectrum.angle())
    return amplitude.flatten(1, 2), phase.flatten(1, 2)  # (batch, chans * patches, P)


class CodeEmbedding(nn.Module):
    """Per-token linear map (a 1x1 convolution) from code vectors to decoder tokens.

    Parameters
    ----------
    code_dim : int
        Dimension ``D`` of the codes.
    embed_dim : int
        Token dimension ``d`` of the decoder.
    """

    def __init__(self, code_dim: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(code_dim, embed_dim)

    def forward(self, codes: Tensor) -> Tensor:
        """(batch, n_channels, n_patches, D) -> (batch, n_channels * n_patches, d)."""
        return self.proj(codes.flatten(1, 2))


def _task_layer(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """Linear -> tanh -> Linear (truncated-normal init)."""
    layers = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, out_dim))
    for layer in (layers[0], layers[2]):
        trunc_normal_(layer.weight)
        nn.init.zeros_(layer.bias)
    return layers


class VectorQuantizer(nn.Module):
    """Cosine-similarity vector quantizer with an EMA-updated, L2-normalised codebook.

    Inputs and codes are L2-normalised, so the nearest code (Euclidean) is the one of largest
    cosine similarity. In training mode every call moves each *used* code towards the
    normalised mean of the vectors assigned to it, ``c <- normalize(decay * c + (1 - decay) *
    normalize(mean))``; unused codes keep their value. Optionally the codebook is initialised by
    spherical k-means (10 iterations) on the first training batch. Gradients pass to the inputs
    by the straight-through estimator; the loss is the commitment term only (the codebook learns
    through the EMA, not by gradient). All of this is LaBraM's (BEiT v2's) quantizer; the code
    search, k-means and EMA run in (at least) float32, also under autocast.

    Dead-code restart (not in the published code, on by default): every training call also
    keeps an EMA (decay ``usage_decay``) of each code's usage, :attr:`cluster_size`, the number
    of vectors per batch assigned to it. After the codebook EMA, every code whose usage EMA is
    below ``dead_threshold`` times the mean usage (``n / n_codes`` for batches of ``n``
    vectors) is re-initialised to a randomly chosen normalised input vector of the batch
    (distinct ones while the batch has enough; drawn with torch's global RNG, so
    ``torch.manual_seed`` makes it reproducible), and its usage EMA is set to the threshold: it
    survives if it is used at least at that rate, otherwise it is drawn again on the next call.
    This keeps the codebook on the current encoder outputs and stops the collapse onto a few
    codes (and the trivial masked-modelling targets that follow). With the defaults (0.1,
    0.8) a code that stops being used is restarted about 10 training steps later
    (``log(0.1) / log(0.8)``), a code that k-means left empty at the first step.
    ``dead_threshold=0`` gives the published quantizer. Without k-means initialisation the
    usage EMA starts at the mean for every code.

    Parameters
    ----------
    n_codes : int
        Codebook size ``K``.
    code_dim : int
        Code dimension ``D``.
    decay : float
        EMA decay of the codebook.
    beta : float
        Weight of the commitment loss ``beta * MSE(sg(z_q), z)``.
    kmeans_init : bool
        Initialise the codebook by k-means on the first training batch.
    dead_threshold : float
        Restart codes whose usage EMA is below this fraction of the mean usage, in ``[0, 1)``;
        0 disables restarts.
    usage_decay : float
        Decay of the usage EMA, in ``[0, 1)``; smaller restarts sooner (and noisier).

    Attributes
    ----------
    codebook : Tensor, shape (n_codes, code_dim)
        Unit-norm codes (a buffer: saved, not trained by the optimiser).
    cluster_size : Tensor, shape (n_codes,)
        EMA of the vectors per batch assigned to each code (buffer; all 0 until the first
        training call or k-means).
    initialized : Tensor, shape (), bool
        Whether the k-means initialisation has run (buffer).
    n_restarted : int
        Codes restarted by the last training call.
    """

    def __init__(
        self,
        n_codes: int,
        code_dim: int,
        decay: float = 0.99,
        beta: float = 1.0,
        kmeans_init: bool = True,
        dead_threshold: float = DEAD_THRESHOLD,
        usage_decay: float = USAGE_DECAY,
    ) -> None:
        super().__init__()
        self.n_codes = check_int("n_codes", n_codes, 2)
        self.code_dim = check_int("code_dim", code_dim, 1)
        self.decay = check_fraction("decay", decay)
        self.beta = check_positive("beta", beta)
        self.kmeans_init = bool(kmeans_init)
        self.dead_threshold = check_fraction("dead_threshold", dead_threshold)
        self.usage_decay = check_fraction("usage_decay", usage_decay)
        self.n_restarted = 0
        self.register_buffer("codebook", l2_normalize(torch.randn(n_codes, code_dim)))
        self.register_buffer("cluster_size", torch.zeros(n_codes))
        self.register_buffer("initialized", torch.tensor(not kmeans_init))

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        """Accept state dicts saved before :attr:`cluster_size` existed (usage starts anew)."""
        state_dict.setdefault(prefix + "cluster_size", torch.zeros_like(self.cluster_size))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def _work_dtype(self) -> torch.dtype:
        """float32, or the codebook's dtype where that is wider (float64)."""
        return torch.promote_types(self.codebook.dtype, torch.float32)

    def nearest(self, z: Tensor) -> Tensor:
        """Index of the nearest code of each unit vector.

        Parameters
        ----------
        z : Tensor, shape (n, code_dim), unit norm

        Returns
        -------
        index : LongTensor, shape (n,)
        """
        codebook = self.codebook.to(self._work_dtype)
        return (z.to(codebook.dtype) @ codebook.t()).argmax(dim=-1)  # max cosine = min distance

    @torch.no_grad()
    def init_kmeans(self, z: Tensor, generator: torch.Generator | None = None) -> None:
        """Set the codebook to spherical k-means centroids of unit vectors ``z``, (n, code_dim).

        Starts from ``n_codes`` vectors drawn from ``z`` (with replacement when ``n < n_codes``);
        a centroid that loses all its vectors keeps its previous value. :attr:`cluster_size`
        becomes the number of vectors of each final centroid.
        """
        z = z.detach().to(self._work_dtype)
        n = z.shape[0]
        if n >= self.n_codes:
            start = torch.randperm(n, generator=generator)[: self.n_codes]
        else:
            start = torch.randint(0, n, (self.n_codes,), generator=generator)
        means = z[start.to(z.device)]
        counts = torch.zeros(self.n_codes, dtype=torch.long, device=z.device)
        for _ in range(_KMEANS_ITERS):
            assign = (z @ means.t()).argmax(dim=-1)  # (n,)
            sums = torch.zeros_like(means).index_add_(0, assign, z)
            counts = torch.bincount(assign, minlength=self.n_codes)
            means = torch.where((counts > 0).unsqueeze(-1), l2_normalize(sums), means)
        self.codebook.copy_(means)
        self.cluster_size.copy_(counts)
        self.initialized.fill_(True)

    @torch.no_grad()
    def ema_update(self, z: Tensor, index: Tensor) -> None:
        """Move the codes used by ``index`` towards their assigned vectors; track usage.

        Parameters
        ----------
        z : Tensor, shape (n, code_dim)
            Unit vectors.
        index : LongTensor, shape (n,)
            Code of each vector.
        """
        codebook = self.codebook.to(self._work_dtype)
        counts = torch.bincount(index, minlength=self.n_codes).to(codebook.dtype)  # (K,)
        usage = self.cluster_size.to(codebook.dtype)
        never = usage.sum() == 0  # no statistics yet: every code starts at the mean
        usage = torch.where(never, torch.full_like(usage, index.numel() / self.n_codes), usage)
        self.cluster_size.copy_(self.usage_decay * usage + (1.0 - self.usage_decay) * counts)
        sums = torch.zeros_like(codebook).index_add_(0, index, z.detach().to(codebook.dtype))
        used = (counts > 0).unsqueeze(-1)  # (K, 1)
        target = torch.where(used, l2_normalize(sums), codebook)
        moved = l2_normalize(self.decay * codebook + (1.0 - self.decay) * target)
        self.codebook.copy_(torch.where(used, moved, codebook))

    @torch.no_grad()
    def restart_dead_codes(self, z: Tensor) -> int:
        """Re-initialise the codes whose usage EMA is below ``dead_threshold`` x its mean.

        Parameters
        ----------
        z : Tensor, shape (n, code_dim)
            Unit vectors of the current batch to draw the new codes from (torch's global RNG).

        Returns
        -------
        int
            Number of restarted codes.
        """
        if self.dead_threshold == 0 or z.shape[0] == 0:
            return 0
        floor = self.dead_threshold * self.cluster_size.mean()
        dead = (self.cluster_size < floor).nonzero().squeeze(-1)  # (n_dead,)
        n_dead, n = dead.numel(), z.shape[0]
        if n_dead == 0:
            return 0
        # distinct vectors while the batch has enough of them
        pick = torch.randperm(n)[:n_dead] if n >= n_dead else torch.randint(0, n, (n_dead,))
        new = z.detach()[pick.to(z.device)].to(self._work_dtype)
        self.codebook[dead] = l2_normalize(new).to(self.codebook.dtype)
        self.cluster_size[dead] = floor.to(self.cluster_size.dtype)
        return n_dead

    def forward(self, z: Tensor, update: bool | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Quantize vectors.

        Parameters
        ----------
        z : Tensor, shape (..., code_dim)
            Vectors (normalised here).
        update : bool, optional
            Run the k-means initialisation (first call), the EMA update and the dead-code
            restart; default: in training mode.

        Returns
        -------
        z_q : Tensor, shape (..., code_dim)
            The chosen codebook rows in value, in the dtype of ``z``; gradients flow to ``z``
            (straight-through).
        loss : Tensor, shape ()
            Commitment loss ``beta * MSE(sg(z_q), normalize(z))``, in float32 (or wider).
        index : LongTensor, shape (...)
            Chosen codes (with the codebook before this call's update).
        """
        update = self.training if update is None else update
        in_dtype = z.dtype
        with torch.autocast(z.device.type, enabled=False):  # quantize in full precision
            z = l2_normalize(z.to(self._work_dtype))
            flat = z.reshape(-1, self.code_dim)  # (n, D)
            if update and not bool(self.initialized):
                self.init_kmeans(flat)
            index = self.nearest(flat.detach())  # (n,)
            z_q = self.codebook[index].to(z.dtype).view_as(z)
            loss = self.beta * F.mse_loss(z_q.detach(), z)
            if update:
                self.ema_update(flat, index)
                self.n_restarted = self.restart_dead_codes(flat)
        z_q = z + (z_q - z).detach()  # straight-through
        return z_q.to(in_dtype), loss, index.view(z.shape[:-1])


def code_perplexity(index: Tensor, n_codes: int) -> float:
    """Perplexity ``exp(H)`` of the distribution of the codes in ``index`` (any shape).

    1 when every vector has the same code, ``n_codes`` when all codes are equally frequent.
    """
    counts = torch.bincount(index.reshape(-1), minlength=n_codes).double()
    p = counts[counts > 0] / counts.sum()
    return float(torch.exp(-(p * p.log()).sum())) if p.numel() else 0.0


class NeuralTokenizer(nn.Module):
    """VQ neural spectrum prediction: EEG patches -> discrete codes -> Fourier amplitude/phase.

    Encoder: a :class:`neurodeck.models.labram.NeuralTransformer` with the temporal-convolution
    stem, in the tokenizer's configuration (q and v biases, no QK-LayerNorm, no layer scale), giving
    ``fc_norm``-ed patch tokens; a task layer Linear(d, d) -> tanh -> Linear(d, D) maps them to
    the quantizer. Quantizer: :class:`VectorQuantizer` (cosine, EMA, straight-through; plus
    dead-code restarts, not in LaBraM, see ``dead_threshold``).
    Decoder: a shallower transformer of the same kind whose patch embedding is a per-token
    linear map ``D -> d`` and which has its own spatial/temporal embedding tables, looked up the
    same way; two heads Linear(d, d) -> tanh -> Linear(d, patch_size) predict the amplitude and
    phase targets of :func:`fourier_targets`.

    Parameters
    ----------
    channel_names : sequence of str
        Default montage (electrode names); any other montage can be passed per call.
    sfreq : float
        Sampling rate in Hz the tokenizer is trained at (recorded; 200 Hz in LaBraM).
    patch_size : int
        Samples per patch, a multiple of 8.
    conv_channels : int
        Feature maps of the temporal convolution; ``embed_dim = patch_size // 8 *
        conv_channels`` for encoder and decoder.
    depth : int
        Encoder blocks (12 in LaBraM).
    decoder_depth : int
        Decoder blocks (3 in LaBraM).
    n_heads : int
        Attention heads of encoder and decoder.
    mlp_ratio : float
        MLP hidden size over ``embed_dim``.
    n_codes : int
        Codebook size ``K`` (8192 in LaBraM).
    code_dim : int
        Code dimension ``D`` (64 in LaBraM's paper).
    ema_decay : float
        EMA decay of the codebook.
    beta : float
        Commitment-loss weight.
    kmeans_init : bool
        Initialise the codebook by k-means on the first training batch.
    dead_threshold : float
        Dead-code restart: codes whose usage EMA falls below this fraction of the mean are
        re-initialised from the batch's encoder outputs (:class:`VectorQuantizer`); 0 gives
        LaBraM's quantizer, which has no restarts.
    usage_decay : float
        Decay of the code-usage EMA that decides the restarts.
    max_patches : int
        Rows of the temporal-embedding tables.
    drop_path : float
        Stochastic depth of the encoder (0 in LaBraM).

    Notes
    -----
    ``loss`` in training mode updates the codebook (EMA, dead-code restarts, and k-means on the
    first call) and draws from torch's global RNG for the restarts, so call it from one
    training thread. ``codes`` never changes the codebook.

    Sizes (:data:`TOKENIZER_PRESETS`): ``"base"`` 7,607,840 trainable parameters (the codebook
    is a buffer), ``"small"`` 513,224. One ``"small"`` training step (forward + backward) on 32
    windows of 64 channels x 400 samples takes 0.3-0.7 s on one CPU thread (shared host).

    References
    ----------
    .. [1] W.-B. Jiang, L.-M. Zhao, B.-L. Lu. "Large brain model for learning generic
       representations with tremendous EEG data in BCI." ICLR 2024.
    .. [2] Z. Peng, L. Dong, H. Bao, Q. Ye, F. Wei. "BEiT v2: Masked image modeling with
       vector-quantized visual tokenizers." arXiv:2208.06366, 2022.
    """

    def __init__(
        self,
        channel_names: Sequence[str],
        sfreq: float = 200.0,
        patch_size: int = 200,
        conv_channels: int = 8,
        depth: int = 12,
        decoder_depth: int = 3,
        n_heads: int = 10,
        mlp_ratio: float = 4.0,
        n_codes: int = 8192,
        code_dim: int = 64,
        ema_decay: float = 0.99,
        beta: float = 1.0,
        kmeans_init: bool = True,
        max_patches: int = 16,
        drop_path: float = 0.0,
        dead_threshold: float = DEAD_THRESHOLD,
        usage_decay: float = USAGE_DECAY,
    ) -> None:
        super().__init__()
        if isinstance(channel_names, str) or not channel_names:
            raise ConfigError(f"'channel_names' must be a non-empty list; got {channel_names!r}.")
        self.channel_names = [str(name) for name in channel_names]
        self.sfreq = check_positive("sfreq", sfreq)
        self.patch_size = check_int("patch_size", patch_size, 8)
        self.conv_channels = check_int("conv_channels", conv_channels, 4)
        self.depth = check_int("depth", depth)
        self.decoder_depth = check_int("decoder_depth", decoder_depth)
        self.n_heads = check_int("n_heads", n_heads)
        self.mlp_ratio = check_positive("mlp_ratio", mlp_ratio)
        self.max_patches = check_int("max_patches", max_patches)
        self.drop_path = check_fraction("drop_path", drop_path)
        self.register_buffer("channel_index", spatial_index(self.channel_names), persistent=False)
        d = self.embed_dim
        common = {"mlp_ratio": self.mlp_ratio, "qkv_bias": True, "qk_norm": False}
        common |= {"layer_scale_init": 0.0, "max_patches": self.max_patches}
        self.encoder = NeuralTransformer(
            TemporalConv(self.patch_size, self.conv_channels),
            d,
            self.depth,
            self.n_heads,
            drop_path=self.drop_path,
            **common,
        )
        self.encode_task_layer = _task_layer(d, d, code_dim)
        self.quantizer = VectorQuantizer(
            n_codes, code_dim, ema_decay, beta, kmeans_init, dead_threshold, usage_decay
        )
        self.decoder = NeuralTransformer(
            CodeEmbedding(code_dim, d), d, self.decoder_depth, self.n_heads, **common
        )
        self.amplitude_head = _task_layer(d, d, self.patch_size)
        self.phase_head = _task_layer(d, d, self.patch_size)

    @classmethod
    def from_preset(
        cls, preset: str, channel_names: Sequence[str], **overrides: Any
    ) -> NeuralTokenizer:
        """Build a named size of :data:`TOKENIZER_PRESETS` (``"base"``, ``"small"``).

        Raises
        ------
        ConfigError
            If ``preset`` is unknown.
        """
        if preset not in TOKENIZER_PRESETS:
            raise ConfigError(
                f"unknown tokenizer preset {preset!r}; known presets: {sorted(TOKENIZER_PRESETS)}."
            )
        return cls(channel_names, **{**TOKENIZER_PRESETS[preset], **overrides})

    @property
    def embed_dim(self) -> int:
        """Token dimension ``patch_size // 8 * conv_channels``."""
        return self.patch_size // 8 * self.conv_channels

    @property
    def n_codes(self) -> int:
        """Codebook size."""
        return self.quantizer.n_codes

    @property
    def config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments (``NeuralTokenizer(**config)`` rebuilds it)."""
        q = self.quantizer
        return {
            "channel_names": list(self.channel_names),
            "sfreq": self.sfreq,
            "patch_size": self.patch_size,
            "conv_channels": self.conv_channels,
            "depth": self.depth,
            "decoder_depth": self.decoder_depth,
            "n_heads": self.n_heads,
            "mlp_ratio": self.mlp_ratio,
            "n_codes": q.n_codes,
            "code_dim": q.code_dim,
            "ema_decay": q.decay,
            "beta": q.beta,
            "kmeans_init": q.kmeans_init,
            "max_patches": self.max_patches,
            "drop_path": self.drop_path,
            "dead_threshold": q.dead_threshold,
            "usage_decay": q.usage_decay,
        }

    def _patches_and_index(self, x: Tensor, channel_index: Tensor | None) -> tuple[Tensor, Tensor]:
        """Patches of ``x`` (0.1 mV) and the spatial rows to use."""
        index = self.channel_index if channel_index is None else channel_index.to(x.device)
        if x.ndim == 3 and x.shape[1] != index.shape[-1]:
            raise ConfigError(
                f"input has {x.shape[1]} channels but the tokenizer expects {index.shape[-1]}."
            )
        return patchify(x, self.patch_size, self.max_patches), index

    def quantize(
        self, patches: Tensor, index: Tensor, update: bool | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Encode and quantize patches.

        Parameters
        ----------
        patches : Tensor, shape (batch, n_channels, n_patches, patch_size)
        index : LongTensor, shape (n_channels,) or (batch, n_channels)
            Spatial rows.
        update : bool, optional
            Update the codebook (default: in training mode).

        Returns
        -------
        z_q : Tensor, shape (batch, n_channels * n_patches, code_dim)
        commit_loss : Tensor, shape ()
        codes : LongTensor, shape (batch, n_channels * n_patches)
        """
        tokens = self.encoder.patch_tokens(patches, index)  # (batch, chans * patches, d)
        z = self.encode_task_layer(tokens)  # (batch, chans * patches, D)
        return self.quantizer(z, update=update)

    def loss(
        self, x: Tensor, channel_index: Tensor | None = None
    ) -> tuple[Tensor, dict[str, float]]:
        """Tokenizer loss: commitment + MSE(amplitude) + MSE(phase).

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times)
            Windows in microvolts, ``n_times`` a whole number of patches.
        channel_index : LongTensor, shape (n_channels,) or (batch, n_channels), optional
            Spatial rows of another montage (:func:`neurodeck.models.layers.spatial_index`).

        Returns
        -------
        loss : Tensor, shape ()
        metrics : dict of str to float
            ``loss``, ``commit``, ``amplitude_mse``, ``phase_mse``, ``code_usage`` (distinct
            codes in the batch over ``n_codes``) and ``perplexity`` (:func:`code_perplexity` of
            the batch's codes: 1 when collapsed onto one code, at most ``n_codes``).
        """
        patches, index = self._patches_and_index(x, channel_index)  # (batch, chans, A, P)
        batch, n_channels, n_patches, _ = patches.shape
        z_q, commit, codes = self.quantize(patches, index)  # (batch, chans * A, D)
        # (batch, chans * A, D) -> (batch, chans, A, D) -> decoder tokens (batch, chans * A, d)
        decoded = self.decoder.patch_tokens(z_q.view(batch, n_channels, n_patches, -1), index)
        amplitude, phase = fourier_targets(patches)  # (batch, chans * A, P) each
        amplitude_mse = F.mse_loss(self.amplitude_head(decoded), amplitude)
        phase_mse = F.mse_loss(self.phase_head(decoded), phase)
        loss = commit + amplitude_mse + phase_mse
        metrics = {
            "loss": float(loss.detach()),
            "commit": float(commit.detach()),
            "amplitude_mse": float(amplitude_mse.detach()),
            "phase_mse": float(phase_mse.detach()),
            "code_usage": codes.unique().numel() / self.n_codes,
            "perplexity": code_perplexity(codes, self.n_codes),
        }
        return loss, metrics

    @torch.no_grad()
    def codes(self, x: Tensor, channel_index: Tensor | None = None) -> Tensor:
        """Code index of every patch (never updates the codebook).

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times)
            Windows in microvolts.
        channel_index : LongTensor, shape (n_channels,) or (batch, n_channels), optional
            Spatial rows of another montage.

        Returns
        -------
        codes : LongTensor, shape (batch, n_channels * n_patches)
            Channel-major, as the patch tokens of
            :meth:`neurodeck.models.labram.LaBraM.forward_tokens`.
        """
        patches, index = self._patches_and_index(x, channel_index)
        return self.quantize(patches, index, update=False)[2]
