"""ShallowConvNet: shapes, scaled time lengths, fixed-montage errors, max-norm, round trip."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import torch
from torch import nn

from common.types import ConfigError
from models.eegnet import MaxNormConv2d, MaxNormLinear
from models.registry import build_model
from models.shallow_convnet import ShallowConvNet
from streaming.simulator import STANDARD_MONTAGES

MONTAGE_19 = ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7")
MONTAGE_19 += ("P3", "Pz", "P4", "P8", "O1", "O2")
MONTAGES = {8: STANDARD_MONTAGES[8], 19: MONTAGE_19, 64: STANDARD_MONTAGES[64]}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and lose much on a busy shared CPU."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


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


def test_config_round_trip_gives_identical_outputs() -> None:
    model = _model(19, sfreq=160.0, n_outputs=4)
    model.train()(torch.randn(4, 19, 320))  # move the BatchNorm running statistics
    config = json.loads(json.dumps(model.config))
    torch.manual_seed(5)
    rebuilt = build_model("shallow_convnet", config)
    assert isinstance(rebuilt, ShallowConvNet)
    rebuilt.load_state_dict(model.state_dict())
    x = torch.randn(3, 19, 320)
    torch.testing.assert_close(rebuilt.eval()(x), model.eval()(x), rtol=0, atol=0)


def test_layer_groups_cover_every_parameter_once_with_head_last() -> None:
    model = _model(8)
    groups = model.layer_groups()
    flat = [id(p) for group in groups for p in group]
    assert len(flat) == len(set(flat))
    assert set(flat) == {id(p) for p in model.parameters() if p.requires_grad}
    assert [id(p) for p in groups[-1]] == [id(p) for p in model.head.parameters()]


def test_reset_head_and_freeze_encoder() -> None:
    model = _model(8)
    model.reset_head(5)
    assert isinstance(model.head, MaxNormLinear)
    assert model.n_outputs == 5
    assert model(torch.randn(2, 8, 256)).shape == (2, 5)
    model.freeze_encoder()
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in model.head.parameters()}


def test_flat_window_gives_finite_output() -> None:
    model = _model(8)
    for train in (True, False):
        assert torch.isfinite(model.train(train)(torch.zeros(2, 8, 256))).all()


def test_a_few_adam_steps_lower_the_loss() -> None:
    model = _model(8, n_outputs=2, dropout=0.0)
    generator = torch.Generator().manual_seed(3)
    x = 20.0 * torch.randn(8, 8, 256, generator=generator)
    y = torch.tensor([0, 1] * 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
