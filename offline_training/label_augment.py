"""Label-aware augmentations for supervised training and fine-tuning on motor imagery.

The self-supervised sets in :mod:`neurodeck.offline_training.augment` draw every channel separately,
which is right for SeqCLR's single-channel series but destroys the spatial patterns (C3 against C4)
that motor-imagery decoding rests on. The augmentations here keep them:

``mirror``
    Swap the hemispheres (C3 <-> C4, FC5 <-> FC6, ...; midline and unpaired channels stay) and
    swap the labels ``left`` <-> ``right`` with it ("channels symmetry", [1]_, [2]_). Done in the
    model's aligned space, so that a Euclidean-aligned subject stays whitened.
``scale``
    One log-uniform gain in [1/1.25, 1.25] per window (all channels alike).
``noise``
    White Gaussian noise at 5 % of each channel's spread.

References
----------
.. [1] C. Rommel, T. Moreau, J. Paillard, A. Gramfort. "CADDA: Class-wise automatic differentiable
   data augmentation for EEG signals." ICLR 2022.
.. [2] C. Rommel, J. Paillard, T. Moreau, A. Gramfort. "Data augmentation for learning predictive
   models on EEG: a systematic comparison." Journal of Neural Engineering 19(6), 066020, 2022.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import torch
from neurodeck.common.types import ConfigError
from torch import Tensor

LABEL_AUGMENTATIONS: tuple[str, ...] = ("mirror", "scale", "noise")
"""Names accepted by :class:`SupervisedAugment`."""

MIRROR_P = 0.5
SCALE_MAX = 1.25
NOISE_SIGMA = 0.05

_NAME_RE = re.compile(r"^([A-Z]+?)(\d+)$")
_MIRROR_CLASSES = {"left": "right", "right": "left"}


def _core(name: str) -> str:
    return str(name).replace(".", "").replace(" ", "").upper()


def mirror_index(channel_names: Sequence[str]) -> np.ndarray:
    """Each channel's mirror image across the midline, by its 10-10 name.

    Odd numbers lie on the left and the next even number is their mirror (C3 <-> C4,
    FT9 <-> FT10); midline (``z``) channels, channels whose partner is absent and names outside
    the 10-10 scheme map to themselves.

    Parameters
    ----------
    channel_names : sequence of str, length n_channels
        Labels; case and EEGBCI's dots are ignored (``Fc5.`` is FC5).

    Returns
    -------
    index : ndarray, shape (n_channels,), int64
        ``x[:, index]`` is the mirrored montage; an involution (``index[index] == arange``).
    """
    cores = [_core(n) for n in channel_names]
    where = {c: i for i, c in enumerate(cores)}
    index = np.arange(len(cores))
    for i, core in enumerate(cores):
        match = _NAME_RE.match(core)
        if match is None:
            continue
        stem, number = match.group(1), int(match.group(2))
        partner = f"{stem}{number + 1 if number % 2 else number - 1}"
        if number > 0 and partner in where:
            index[i] = where[partner]
    return index


def mirror_classes(class_names: Sequence[str]) -> np.ndarray:
    """Label permutation that goes with mirroring: ``left`` <-> ``right``, others unchanged.

    Returns
    -------
    index : ndarray, shape (n_classes,), int64
        ``index[y]`` is the label of a mirrored window of class ``y``.
    """
    names = list(class_names)
    index = np.arange(len(names))
    for i, name in enumerate(names):
        partner = _MIRROR_CLASSES.get(name)
        if partner in names:
            index[i] = names.index(partner)
    return index


def check_augment_names(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple, or a ConfigError naming the unknown ones and the choices."""
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = sorted(set(names) - set(LABEL_AUGMENTATIONS))
    if unknown:
        raise ConfigError(
            f"unknown augmentation(s) {unknown}; choose from {list(LABEL_AUGMENTATIONS)}."
        )
    return names


class SupervisedAugment:
    """Seeded label-aware augmentation of training batches, ``(x, y) -> (x, y)``.

    Parameters
    ----------
    names : sequence of str
        A subset of :data:`LABEL_AUGMENTATIONS`, applied in that order.
    channel_names : sequence of str, length n_channels
    class_names : sequence of str
        ``mirror`` needs both ``left`` and ``right`` among them; other classes (feet, rest) keep
        their label.
    seed : int

    Raises
    ------
    ConfigError
        For an unknown name, or ``mirror`` on classes without a left/right pair or on a montage
        with no mirrored pair of channels.
    """

    def __init__(
        self,
        names: Sequence[str],
        channel_names: Sequence[str],
        class_names: Sequence[str],
        seed: int = 0,
    ) -> None:
        names = check_augment_names(names)
        self.names = tuple(n for n in LABEL_AUGMENTATIONS if n in names)
        self.generator = torch.Generator().manual_seed(seed)
        self.channel_index = torch.from_numpy(mirror_index(channel_names))
        self.class_index = torch.from_numpy(mirror_classes(class_names))
        if "mirror" in self.names:
            if not {"left", "right"} <= set(class_names):
                raise ConfigError(
                    f"the 'mirror' augmentation swaps 'left' and 'right', but the classes are "
                    f"{list(class_names)}; drop 'mirror' for this paradigm."
                )
            if torch.equal(self.channel_index, torch.arange(len(self.channel_index))):
                raise ConfigError(
                    "the 'mirror' augmentation found no left/right pair of 10-10 channel names "
                    f"in {list(channel_names)[:8]}...; drop 'mirror' for this montage."
                )

    def __call__(
        self, x: Tensor, y: Tensor, alignment: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Augment a batch.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times)
            Windows as the model receives them (before its alignment).
        y : Tensor, shape (batch,), int64
        alignment : Tensor, shape (n_channels, n_channels), optional
            The model's alignment ``A``; mirroring is done as ``A^-1 P A x`` so that the model
            sees ``P A x``, the mirror of the aligned window.

        Returns
        -------
        x, y : Tensors of the same shapes (new tensors; the inputs are not modified)
        """
        gen = self.generator
        batch = x.shape[0]
        if "mirror" in self.names:
            flip = torch.rand(batch, generator=gen) < MIRROR_P
            if flip.any():
                x, y = x.clone(), y.clone()
                x[flip] = self._mirror(x[flip], alignment)
                y[flip] = self.class_index.to(y.device)[y[flip]]
        if "scale" in self.names:
            log_gain = (torch.rand(batch, 1, 1, generator=gen) * 2 - 1) * math.log(SCALE_MAX)
            x = x * log_gain.exp().to(x)
        if "noise" in self.names:
            spread = x.std(dim=2, keepdim=True, correction=0)
            noise = torch.randn(x.shape, generator=gen).to(x)
            x = x + noise * NOISE_SIGMA * spread
        return x, y

    def _mirror(self, x: Tensor, alignment: Tensor | None) -> Tensor:
        index = self.channel_index.to(x.device)
        if alignment is None or torch.equal(alignment, torch.eye(len(alignment)).to(alignment)):
            return x[:, index]
        a = alignment.to(torch.float64)
        mixing = torch.linalg.solve(a, a[index])  # A^-1 P A, (n_channels, n_channels)
        return torch.matmul(mixing.to(x), x)
