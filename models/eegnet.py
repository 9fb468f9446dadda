"""EEGNet (Lawhern et al. 2018): a compact depthwise-separable CNN for a fixed montage.

Its max-norm constrained layers, shared with ShallowConvNet, are in :mod:`neurodeck.models.layers`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from neurodeck.common.checks import check_dropout, check_int
from neurodeck.common.types import ConfigError
from neurodeck.models.base import EEGModel
from neurodeck.models.layers import MaxNormConv2d, MaxNormLinear, check_montage
from neurodeck.models.registry import register_model
from torch import Tensor, nn

logger = logging.getLogger(__name__)

# Max-norm bounds of the reference implementation (arl-eegmodels ``EEGNet``).
DEPTHWISE_MAX_NORM = 1.0
HEAD_MAX_NORM = 0.25
# Pool sizes of the reference implementation; not scaled with sfreq (see the class Notes).
POOL1 = 4
POOL2 = 8
# Keras BatchNormalization defaults (momentum 0.99 in Keras = 0.01 in torch), as braindecode.
BN_MOMENTUM = 0.01
BN_EPS = 1e-3


def _same_pad(kernel_length: int) -> nn.ZeroPad2d:
    """Zero padding in time that keeps the length, as Keras' "same" (extra sample on the right)."""
    left = (kernel_length - 1) // 2
    return nn.ZeroPad2d((left, kernel_length - 1 - left, 0, 0))


@register_model("eegnet")
class EEGNet(EEGModel):
    """EEGNet-F1,D (default EEGNet-8,2) for windows of a fixed montage and length.

    Temporal conv ``(1, kern_length)`` -> BatchNorm -> depthwise spatial conv ``(C, 1)``
    (max-norm 1.0) -> BatchNorm -> ELU -> AvgPool(1, 4) -> Dropout -> separable conv (depthwise
    ``(1, separable_kern_length)`` then pointwise to ``f2``) -> BatchNorm -> ELU -> AvgPool(1, 8)
    -> Dropout -> flatten -> Linear head (max-norm 0.25). No conv has a bias; "same" padding in
    time, as Keras pads (one sample more on the right for even kernels).

    Parameters
    ----------
    channel_names : sequence of str
        Input channel names, in order (``C`` of them).
    sfreq : float
        Input sampling rate in Hz.
    n_times : int
        Samples per window ``T``; at least 32 (the two pools divide time by 32).
    n_outputs : int
        Number of classes.
    f1 : int
        Temporal filters.
    d : int
        Spatial filters per temporal filter (depth multiplier).
    f2 : int
        Pointwise filters of the separable conv.
    kern_length : int or None
        Temporal kernel length in samples; None means ``round(sfreq / 2)`` (64 at 128 Hz, the
        paper's value: half a second).
    separable_kern_length : int or None
        Kernel length of the separable depthwise conv; None means ``round(16 * sfreq / 128)``,
        the paper's 16 samples at 128 Hz, scaled so that it spans the same 125 ms at any rate.
    dropout : float
        Dropout probability (0.25, the paper's cross-subject value; 0.5 within-subject).

    Attributes
    ----------
    n_features : int
        ``f2 * ((T // 4) // 8)``, the flattened feature size fed to the head.

    Notes
    -----
    Input scaling: windows are used in microvolts as they come, without rescaling. The first conv
    has no bias and is followed by BatchNorm, so a global input scale cancels out except through
    BatchNorm's eps (1e-3, Keras' default); EEG in microvolts gives feature variances far above
    that, whereas the reference example's millivolts (volts x 1000) would not. The pool sizes
    (4, 8) are not scaled with ``sfreq``: at 160 Hz one feature spans 200 ms instead of 250 ms.
    Max-norm is applied to the weights before each forward pass (see
    :class:`neurodeck.models.layers.MaxNormConv2d`). This is a fixed-montage baseline:
    :meth:`encode` raises ConfigError for any other channel count or window length. ``forward`` is
    called from training loops and from the inference worker thread.

    References
    ----------
    .. [1] V. J. Lawhern, A. J. Solon, N. R. Waytowich, S. M. Gordon, C. P. Hung, B. J. Lance.
       "EEGNet: a compact convolutional neural network for EEG-based brain-computer
       interfaces." Journal of Neural Engineering 15(5), 056013, 2018.
    """

    def __init__(
        self,
        channel_names: Sequence[str],
        sfreq: float,
        n_times: int,
        n_outputs: int,
        f1: int = 8,
        d: int = 2,
        f2: int = 16,
        kern_length: int | None = None,
        separable_kern_length: int | None = None,
        dropout: float = 0.25,
    ) -> None:
        super().__init__(channel_names, sfreq, n_times, n_outputs)
        self.f1 = check_int("f1", f1)
        self.d = check_int("d", d)
        self.f2 = check_int("f2", f2)
        if kern_length is None:
            kern_length = max(1, round(self.sfreq / 2))
        if separable_kern_length is None:
            separable_kern_length = max(1, round(16 * self.sfreq / 128))
        self.kern_length = check_int("kern_length", kern_length)
        self.separable_kern_length = check_int("separable_kern_length", separable_kern_length)
        self.dropout = check_dropout(dropout)
        if self.n_times // POOL1 // POOL2 < 1:
            raise ConfigError(
                f"EEGNet needs 'n_times' >= {POOL1 * POOL2} (its pools divide time by "
                f"{POOL1 * POOL2}); got {self.n_times}."
            )
        f1d = self.f1 * self.d
        self.temporal = nn.Sequential(
            _same_pad(self.kern_length),
            nn.Conv2d(1, self.f1, (1, self.kern_length), bias=False),
            nn.BatchNorm2d(self.f1, momentum=BN_MOMENTUM, eps=BN_EPS),
        )
        self.spatial = nn.Sequential(
            MaxNormConv2d(
                self.f1,
                f1d,
                (self.n_channels, 1),
                groups=self.f1,
                bias=False,
                max_norm=DEPTHWISE_MAX_NORM,
            ),
            nn.BatchNorm2d(f1d, momentum=BN_MOMENTUM, eps=BN_EPS),
            nn.ELU(),
            nn.AvgPool2d((1, POOL1)),
            nn.Dropout(self.dropout),
        )
        self.separable = nn.Sequential(
            _same_pad(self.separable_kern_length),
            nn.Conv2d(f1d, f1d, (1, self.separable_kern_length), groups=f1d, bias=False),
            nn.Conv2d(f1d, self.f2, 1, bias=False),
            nn.BatchNorm2d(self.f2, momentum=BN_MOMENTUM, eps=BN_EPS),
            nn.ELU(),
            nn.AvgPool2d((1, POOL2)),
            nn.Dropout(self.dropout),
        )
        self.head = self.new_head(n_outputs)

    @property
    def n_features(self) -> int:
        """Length of the flattened features: ``f2 * ((n_times // 4) // 8)``."""
        return self.f2 * (self.n_times // POOL1 // POOL2)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-safe, with kernel lengths resolved to integers."""
        return {
            **super().config,
            "f1": self.f1,
            "d": self.d,
            "f2": self.f2,
            "kern_length": self.kern_length,
            "separable_kern_length": self.separable_kern_length,
            "dropout": self.dropout,
        }

    def encode(self, x: Tensor) -> Tensor:
        """Flattened EEGNet features.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_times)
            Aligned windows in microvolts.

        Returns
        -------
        features : Tensor, shape (batch, n_features)

        Raises
        ------
        ConfigError
            If the channel count or window length differs from the model's.
        """
        check_montage(self, x)
        x = x.unsqueeze(1)  # (batch, chans, times) -> (batch, 1, chans, times)
        x = self.temporal(x)  # -> (batch, f1, chans, times)
        x = self.spatial(x)  # -> (batch, f1 * d, 1, times // 4)
        x = self.separable(x)  # -> (batch, f2, 1, times // 4 // 8)
        return x.flatten(1)  # -> (batch, n_features)

    def new_head(self, n_outputs: int) -> nn.Module:
        """Max-norm (0.25) constrained linear layer from features to logits."""
        return MaxNormLinear(self.n_features, n_outputs, max_norm=HEAD_MAX_NORM)

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Temporal conv + BN, spatial conv + BN, separable convs + BN, head."""
        return [
            list(self.temporal.parameters()),
            list(self.spatial.parameters()),
            list(self.separable.parameters()),
            list(self.head.parameters()),
        ]
