"""EEGNet: shapes, fixed-montage errors, max-norm after optimizer steps, config round trip."""

from __future__ import annotations

import pytest
import torch
from neurodeck.common.types import ConfigError
from neurodeck.models.eegnet import EEGNet
from neurodeck.models.layers import MaxNormConv2d, MaxNormLinear
from neurodeck.streaming.simulator import STANDARD_MONTAGES
from torch import nn

MONTAGE_19 = ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7")
MONTAGE_19 += ("P3", "Pz", "P4", "P8", "O1", "O2")
MONTAGES = {8: STANDARD_MONTAGES[8], 19: MONTAGE_19, 64: STANDARD_MONTAGES[64]}


def _model(n_channels: int = 8, sfreq: float = 128.0, n_outputs: int = 3, **kwargs) -> EEGNet:
    torch.manual_seed(0)
    return EEGNet(MONTAGES[n_channels], sfreq, int(2 * sfreq), n_outputs, **kwargs)


def _row_norms(weight: torch.Tensor) -> torch.Tensor:
    return weight.detach().flatten(1).norm(dim=1)


@pytest.mark.parametrize("sfreq", [128.0, 160.0])
@pytest.mark.parametrize("n_channels", [8, 19, 64])
def test_output_shapes(n_channels: int, sfreq: float) -> None:
    model = _model(n_channels, sfreq).eval()
    n_times = int(2 * sfreq)
    x = 20.0 * torch.randn(2, n_channels, n_times)
    features = model.encode(x)
    assert features.shape == (2, model.n_features)
    assert model.n_features == 16 * (n_times // 32)
    assert model(x).shape == (2, 3)


def test_kernel_lengths_scale_with_sfreq() -> None:
    assert (_model(sfreq=128.0).kern_length, _model(sfreq=128.0).separable_kern_length) == (64, 16)
    assert (_model(sfreq=160.0).kern_length, _model(sfreq=160.0).separable_kern_length) == (80, 20)
    assert _model(kern_length=32, separable_kern_length=7).config["kern_length"] == 32


def test_other_montage_or_length_raises_a_clear_error() -> None:
    model = _model(8)
    with pytest.raises(ConfigError, match=r"8 channels, 256 samples.*\(2, 19, 256\)"):
        model(torch.randn(2, 19, 256))
    with pytest.raises(ConfigError, match=r"\(2, 8, 300\)"):
        model(torch.randn(2, 8, 300))
    with pytest.raises(ConfigError, match="n_times"):
        EEGNet(MONTAGES[8], 128.0, 31, 2)


def test_max_norm_holds_after_an_optimizer_step() -> None:
    model = _model(8, n_outputs=2)
    spatial, head = model.spatial[0], model.head
    assert isinstance(spatial, MaxNormConv2d) and isinstance(head, MaxNormLinear)
    x = 20.0 * torch.randn(4, 8, 256)
    y = torch.tensor([0, 1, 0, 1])
    optimizer = torch.optim.SGD(model.parameters(), lr=100.0)  # large: pushes norms past bounds
    nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
    assert _row_norms(spatial.weight).max() > 1.0 or _row_norms(head.weight).max() > 0.25
    model(x)  # the constraint is applied before the weights are used
    assert _row_norms(spatial.weight).max() <= 1.0 + 1e-6
    assert _row_norms(head.weight).max() <= 0.25 + 1e-6
    assert _row_norms(head.weight).max() > 0.25 - 1e-3  # scaled down to the bound, not to zero
