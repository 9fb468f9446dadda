"""ShallowConvNet: shapes, scaled time lengths, fixed-montage errors, max-norm, round trip."""

from __future__ import annotations

import pytest
import torch
from neurodeck.common.types import ConfigError
from neurodeck.models.layers import MaxNormConv2d, MaxNormLinear
from neurodeck.models.shallow_convnet import ShallowConvNet
from neurodeck.streaming.simulator import STANDARD_MONTAGES
from torch import nn

MONTAGE_19 = ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7")
MONTAGE_19 += ("P3", "Pz", "P4", "P8", "O1", "O2")
MONTAGES = {8: STANDARD_MONTAGES[8], 19: MONTAGE_19, 64: STANDARD_MONTAGES[64]}


def _model(
    n_channels: int = 8, sfreq: float = 128.0, n_outputs: int = 3, **kwargs
) -> ShallowConvNet:
    torch.manual_seed(0)
    return ShallowConvNet(MONTAGES[n_channels], sfreq, int(2 * sfreq), n_outputs, **kwargs)


def _row_norms(weight: torch.Tensor) -> torch.Tensor:
    return weight.detach().flatten(1).norm(dim=1)


@pytest.mark.parametrize("sfreq", [128.0, 160.0])
@pytest.mark.parametrize("n_channels", [8, 19, 64])
def test_output_shapes(n_channels: int, sfreq: float) -> None:
    model = _model(n_channels, sfreq).eval()
    x = 20.0 * torch.randn(2, n_channels, int(2 * sfreq))
    assert model.encode(x).shape == (2, model.n_features)
    assert model(x).shape == (2, 3)


@pytest.mark.parametrize(
    ("sfreq", "lengths", "n_pooled"),
    [(250.0, (25, 75, 15), 27), (160.0, (16, 48, 10), 26), (128.0, (13, 38, 8), 26)],
)
def test_time_lengths_scale_with_sfreq(
    sfreq: float, lengths: tuple[int, int, int], n_pooled: int
) -> None:
    model = _model(sfreq=sfreq)
    assert (model.filter_time_length, model.pool_time_length, model.pool_time_stride) == lengths
    assert model.n_pooled == n_pooled  # (2 * sfreq - filter + 1 - pool) // stride + 1
    assert model.n_features == 40 * n_pooled


def test_other_montage_or_length_raises_a_clear_error() -> None:
    model = _model(8)
    with pytest.raises(ConfigError, match=r"8 channels, 256 samples.*\(2, 64, 256\)"):
        model(torch.randn(2, 64, 256))
    with pytest.raises(ConfigError, match=r"\(2, 8, 128\)"):
        model(torch.randn(2, 8, 128))
    with pytest.raises(ConfigError, match="n_times"):
        ShallowConvNet(MONTAGES[8], 128.0, 40, 2)


def test_max_norm_holds_after_an_optimizer_step() -> None:
    model = _model(8, n_outputs=2)
    assert isinstance(model.temporal, MaxNormConv2d) and isinstance(model.spatial, MaxNormConv2d)
    assert isinstance(model.head, MaxNormLinear)
    x = 20.0 * torch.randn(4, 8, 256)
    y = torch.tensor([0, 1, 0, 1])
    optimizer = torch.optim.SGD(model.parameters(), lr=1000.0)  # large: pushes norms past bounds
    nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
    bounds = {model.temporal: 2.0, model.spatial: 2.0, model.head: 0.5}
    assert any(_row_norms(layer.weight).max() > bound for layer, bound in bounds.items())
    model(x)  # the constraint is applied before the weights are used
    for layer, bound in bounds.items():
        assert _row_norms(layer.weight).max() <= bound + 1e-6
