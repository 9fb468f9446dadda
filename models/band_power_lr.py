"""Band-power logistic regression: the classical reference decoder of the affective family.

Log band power of every electrode in the five classical bands
(:mod:`neurodeck.models.band_features`, 1-s frames averaged over the window), standardised with the
training mean and spread, then a multinomial logistic regression. This is the usual baseline of
affective and workload EEG (for example alpha and theta power for mental arithmetic, Klimesch 1999)
and the yardstick the deep affective models are compared against, in calibration reports and in
``neurodeck evaluate``.

It is an ``nn.Module`` with buffers only, so it runs in the live inference worker and is saved as
a checkpoint like the deep models; it is fitted with
:func:`neurodeck.offline_training.affective.fit_band_power_lr`.

References
----------
.. [1] W. Klimesch. "EEG alpha and theta oscillations reflect cognitive and memory performance:
   a review and analysis." Brain Research Reviews 29(2-3), 169-195, 1999.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from neurodeck.common.types import ConfigError
from neurodeck.models.band_features import BANDS, band_power, check_bands
from neurodeck.models.registry import register_model
from torch import Tensor, nn


@register_model("band_power_lr")
class BandPowerLR(nn.Module):
    """Logistic regression on standardised log band power.

    Parameters
    ----------
    n_channels : int
        Electrodes ``C``.
    n_classes : int
        Classes (>= 2).
    sfreq : float
        Input rate in Hz.
    frame_s : float
        Band-power frame length in seconds.
    bands : sequence of (name, low, high), optional
        Default :data:`neurodeck.models.band_features.BANDS`.

    Attributes
    ----------
    mean, scale : Tensor, shape (C * n_bands,)
        Standardisation of the features (buffers).
    weight : Tensor, shape (n_classes, C * n_bands)
    bias : Tensor, shape (n_classes,)

    Notes
    -----
    A fresh module is untrained (zero weights, uniform probabilities).
    """

    def __init__(
        self,
        n_channels: int,
        n_classes: int,
        sfreq: float,
        frame_s: float = 1.0,
        bands: Sequence[Sequence[Any]] | None = None,
    ) -> None:
        super().__init__()
        if n_channels < 1 or n_classes < 2:
            raise ConfigError(
                f"need n_channels >= 1 and n_classes >= 2; got {n_channels}, {n_classes}."
            )
        self.n_channels = int(n_channels)
        self.n_classes = int(n_classes)
        self.sfreq = float(sfreq)
        self.frame_s = float(frame_s)
        self.bands = check_bands(
            BANDS if bands is None else bands, self.sfreq, round(self.frame_s * self.sfreq)
        )
        n = self.n_features
        self.register_buffer("mean", torch.zeros(n))
        self.register_buffer("scale", torch.ones(n))
        self.register_buffer("weight", torch.zeros(self.n_classes, n))
        self.register_buffer("bias", torch.zeros(self.n_classes))

    @property
    def n_features(self) -> int:
        """``C * n_bands``."""
        return self.n_channels * len(self.bands)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-safe."""
        return {
            "n_channels": self.n_channels,
            "n_classes": self.n_classes,
            "sfreq": self.sfreq,
            "frame_s": self.frame_s,
            "bands": [list(b) for b in self.bands],
        }

    def features(self, x: Tensor | np.ndarray) -> Tensor:
        """Log band power, ``(batch, C, T) -> (batch, C * n_bands)`` (channel-major)."""
        t = torch.as_tensor(x)
        if t.ndim != 3 or t.shape[1] != self.n_channels:
            raise ConfigError(
                f"expected windows of shape (batch, {self.n_channels}, n_times); got "
                f"{tuple(t.shape)}."
            )
        power = band_power(t, self.sfreq, self.bands, self.frame_s).mean(-2)  # (b, C, bands)
        return torch.log(power).reshape(len(t), -1)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits, ``(batch, C, T) -> (batch, n_classes)``."""
        z = (self.features(x) - self.mean) / self.scale
        return z @ self.weight.T + self.bias

    @torch.no_grad()
    def predict_proba(self, x: Tensor | np.ndarray) -> np.ndarray:
        """Class probabilities, ``(batch, C, T) -> (batch, n_classes)`` float64."""
        logits = self.forward(torch.as_tensor(x, dtype=torch.float32))
        return torch.softmax(logits.double(), 1).numpy()
