"""EEGNet: shapes, fixed-montage errors, max-norm after optimizer steps, config round trip."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import torch
from torch import nn

from common.types import ConfigError
from models.eegnet import EEGNet, MaxNormConv2d, MaxNormLinear
from models.registry import build_model
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


def test_config_round_trip_gives_identical_outputs() -> None:
    model = _model(19, sfreq=160.0, n_outputs=4)
    model.train()(torch.randn(4, 19, 320))  # move the BatchNorm running statistics
    config = json.loads(json.dumps(model.config))
    torch.manual_seed(5)
    rebuilt = build_model("eegnet", config)
    assert isinstance(rebuilt, EEGNet)
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
