"""Masked EEG modelling: predict a frozen neural tokenizer's codes of masked patches (LaBraM).

Pretraining of :class:`neurodeck.models.labram.LaBraM` happens in two stages, each an objective with
``loss(batch) -> (loss, metrics)`` for :class:`neurodeck.offline_training.trainer.Trainer`:

1. the neural tokenizer, :class:`neurodeck.models.labram_tokenizer.NeuralTokenizer` (its own
   ``loss``; its parameters are the trainable ones, the codebook follows an EMA);
2. masked EEG modelling, :class:`MaskedEEGModelling`: the student sees windows with half of its
   patch embeddings replaced by a mask token and predicts the tokenizer's code of each masked
   patch; with symmetric masking it also sees the complementary mask, so that every patch is
   predicted once per step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from neurodeck.common.types import ConfigError
from neurodeck.models.labram import LaBraM
from neurodeck.models.labram_tokenizer import NeuralTokenizer
from neurodeck.models.layers import trunc_normal_
from torch import Tensor, nn

logger = logging.getLogger(__name__)

Metrics = dict[str, float]


def random_mask(
    batch: int,
    length: int,
    mask_ratio: float,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Per-sample random masks with exactly ``int(length * mask_ratio)`` masked tokens each.

    Parameters
    ----------
    batch : int
        Number of samples.
    length : int
        Tokens per sample ``L``.
    mask_ratio : float
        Fraction of tokens to mask.
    device : torch.device or str, optional
        Device of the returned mask (default: CPU).
    generator : torch.Generator, optional
        Source of the uniform noise (default: torch's global generator); the noise is drawn on
        the generator's device and moved to ``device``.

    Returns
    -------
    mask : BoolTensor, shape (batch, length)
        True at the ``int(length * mask_ratio)`` tokens of smallest noise (argsort of uniform
        noise), independently per sample.
    """
    noise_device = generator.device if generator is not None else device
    noise = torch.rand((batch, length), generator=generator, device=noise_device)
    n_masked = int(length * mask_ratio)
    order = noise.argsort(dim=1)  # (batch, length)
    mask = torch.zeros((batch, length), dtype=torch.bool, device=noise.device)
    mask.scatter_(1, order[:, :n_masked], True)
    return mask.to(device) if device is not None else mask


def _windows(batch: Tensor | tuple[Tensor, ...] | list[Tensor]) -> Tensor:
    """The windows of a batch: the batch itself, or its first element."""
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    if not isinstance(x, Tensor) or x.ndim != 3:
        raise ConfigError(
            "masked EEG modelling needs windows of shape (batch, n_channels, n_times); got "
            f"{getattr(x, 'shape', type(x).__name__)}."
        )
    return x


class MaskedEEGModelling(nn.Module):
    """LaBraM's masked EEG modelling objective with symmetric masking.

    For each window the frozen tokenizer gives the code of every patch (it sees the unmasked
    window). A random mask hides ``int(L * mask_ratio)`` of the ``L`` patch embeddings of the
    student (replaced by its mask token after the temporal convolution, before the position
    embeddings); ``lm_head`` predicts the codes at the masked positions from the student's
    normalised tokens. With ``symmetric=True`` the student also runs with the inverted mask
    (both passes in one batch of ``2 * batch``), and the loss is the sum of the two mean
    cross-entropies.

    Parameters
    ----------
    student : LaBraM
        The transformer being pretrained (its head is not used). Build it with
        ``drop_path=0.0`` to follow LaBraM's pretraining recipe.
    tokenizer : NeuralTokenizer
        A trained tokenizer with the same ``patch_size``. It is frozen (``requires_grad``
        off, eval mode) and is *not* a registered submodule: it is absent from
        :meth:`parameters` and :meth:`state_dict` (save it as its own artifact), but ``.to()``,
        ``.cuda()`` and ``.float()`` move it together with the objective.
    mask_ratio : float
        Fraction of patches masked, in (0, 1).
    symmetric : bool
        Also predict the complementary positions with the inverted mask.
    generator : torch.Generator, optional
        Source of the masks' noise (default: torch's global generator).

    Attributes
    ----------
    lm_head : nn.Linear
        ``embed_dim -> n_codes``, truncated-normal init.

    Notes
    -----
    A batch is a Tensor ``x`` of shape (batch, n_channels, n_times) in microvolts, or a
    tuple/list whose first element is one. Windows use the student's ``channel_names`` unless
    :meth:`loss` gets another ``channel_index``. Called from the training thread. One step
    (forward + backward, symmetric) of a ``"small"`` student with a ``"small"`` tokenizer on 32
    windows of 64 channels x 400 samples takes about 1.3 s on one CPU thread (shared host).

    References
    ----------
    .. [1] W.-B. Jiang, L.-M. Zhao, B.-L. Lu. "Large brain model for learning generic
       representations with tremendous EEG data in BCI." ICLR 2024.
    """

    def __init__(
        self,
        student: LaBraM,
        tokenizer: NeuralTokenizer,
        mask_ratio: float = 0.5,
        symmetric: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(student, LaBraM):
            raise ConfigError(f"'student' must be a LaBraM; got {type(student).__name__}.")
        if not isinstance(tokenizer, NeuralTokenizer):
            raise ConfigError(
                f"'tokenizer' must be a NeuralTokenizer; got {type(tokenizer).__name__}."
            )
        if student.patch_size != tokenizer.patch_size:
            raise ConfigError(
                f"student and tokenizer must cut the same patches; patch_size "
                f"{student.patch_size} != {tokenizer.patch_size}."
            )
        if isinstance(mask_ratio, bool) or not 0 < mask_ratio < 1:
            raise ConfigError(f"'mask_ratio' must be in (0, 1); got {mask_ratio!r}.")
        quantizer = tokenizer.quantizer
        if quantizer.kmeans_init and not bool(quantizer.initialized):
            logger.warning(
                "the tokenizer's codebook was never initialised: is it trained? Its codes are "
                "meaningless targets until it is."
            )
        self.student = student
        tokenizer.requires_grad_(False)
        tokenizer.eval()
        self._frozen: tuple[NeuralTokenizer] = (tokenizer,)  # a tuple is not registered
        self.lm_head = nn.Linear(student.embed_dim, tokenizer.n_codes)
        trunc_normal_(self.lm_head.weight)
        nn.init.zeros_(self.lm_head.bias)
        self.mask_ratio = float(mask_ratio)
        self.symmetric = bool(symmetric)
        self.generator = generator

    @property
    def tokenizer(self) -> NeuralTokenizer:
        """The frozen tokenizer that provides the targets."""
        return self._frozen[0]

    def _apply(self, fn: Callable[[Tensor], Tensor], *args: Any, **kwargs: Any) -> nn.Module:
        """Apply ``fn`` (device or dtype moves) to the objective and the frozen tokenizer."""
        super()._apply(fn, *args, **kwargs)
        self.tokenizer._apply(fn, *args, **kwargs)
        return self

    def random_mask(self, batch: int, length: int, device: torch.device | str) -> Tensor:
        """Masks of this objective's ratio, shape (batch, length); see :func:`random_mask`."""
        n_masked = int(length * self.mask_ratio)
        if n_masked < 1 or (self.symmetric and n_masked >= length):
            raise ConfigError(
                f"mask_ratio={self.mask_ratio} masks {n_masked} of {length} patches; the "
                "mask and (with symmetric masking) its complement must each hold a patch.",
                "Use longer windows or more channels, or another mask_ratio.",
            )
        return random_mask(batch, length, self.mask_ratio, device, self.generator)

    def loss(
        self,
        batch: Tensor | tuple[Tensor, ...] | list[Tensor],
        channel_index: Tensor | None = None,
    ) -> tuple[Tensor, Metrics]:
        """Cross-entropy of code prediction at masked (and, symmetric, unmasked) patches.

        Parameters
        ----------
        batch : Tensor, shape (batch, n_channels, n_times), or tuple whose first element is one
            Windows in microvolts.
        channel_index : LongTensor, shape (n_channels,) or (batch, n_channels), optional
            Spatial rows of another montage (:func:`neurodeck.models.layers.spatial_index`), for
            both the student and the tokenizer; default: the student's.

        Returns
        -------
        loss : Tensor, shape ()
            Masked cross-entropy, plus the complementary one when symmetric.
        metrics : dict of str to float
            ``loss``, ``loss_masked``, ``accuracy_masked`` and, when symmetric,
            ``loss_symmetric``, ``accuracy_symmetric``; ``accuracy`` over all predictions.
        """
        x = _windows(batch)
        index = self.student.channel_index if channel_index is None else channel_index
        index = index.to(x.device)
        targets = self.tokenizer.codes(x, index)  # (batch, L), no grad
        n, length = targets.shape
        mask = self.random_mask(n, length, x.device)  # (batch, L)
        if self.symmetric:
            x, mask, targets = (
                torch.cat((x, x)),
                torch.cat((mask, ~mask)),
                torch.cat((targets, targets)),
            )
            index = torch.cat((index, index)) if index.ndim == 2 else index
        tokens = self.student.forward_tokens(x, mask, index)  # (batch', L, d)
        logits = self.lm_head(tokens[mask])  # (n_predicted, n_codes)
        per_token = F.cross_entropy(logits, targets[mask], reduction="none")  # (n_predicted,)
        correct = (logits.detach().argmax(dim=-1) == targets[mask]).float()
        n_first = int(mask[:n].sum())  # predictions of the first (masked) pass
        loss_masked = per_token[:n_first].mean()
        metrics = {
            "loss_masked": float(loss_masked.detach()),
            "accuracy_masked": float(correct[:n_first].mean()),
            "accuracy": float(correct.mean()),
        }
        loss = loss_masked
        if self.symmetric:
            loss_symmetric = per_token[n_first:].mean()
            loss = loss + loss_symmetric
            metrics["loss_symmetric"] = float(loss_symmetric.detach())
            metrics["accuracy_symmetric"] = float(correct[n_first:].mean())
        metrics["loss"] = float(loss.detach())
        return loss, metrics
