"""ShallowConvNet's fused convolution and the any-montage variant that reads channels by name."""

from __future__ import annotations

import math

import pytest
import torch
from neurodeck.common.montages import montage
from neurodeck.common.types import ChannelMappingError
from neurodeck.models.registry import build_model
from neurodeck.models.shallow_any import ShallowConvNetAnyMontage

from tests.models.test_zoo import MONTAGE_64


def _two_layers(model, x: torch.Tensor) -> torch.Tensor:
    """ShallowConvNet as published: temporal conv, then spatial conv, BN, square, pool, log."""
    x = model.temporal(x.unsqueeze(1))
    x = model.bn(model.spatial(x))
    return model.pool(x * x).clamp(min=1e-6).log().flatten(1)


def _any(channels, vocabulary=MONTAGE_64) -> ShallowConvNetAnyMontage:
    return build_model(
        "shallow_convnet_any",
        {"channel_names": list(channels), "sfreq": 160.0, "n_times": 320, "n_outputs": 2,
         "vocabulary": list(vocabulary), "dropout": 0.0},
    ).eval()  # fmt: skip


def test_fused_convolution_is_the_two_layers() -> None:
    model = build_model(
        "shallow_convnet",
        {"channel_names": MONTAGE_64, "sfreq": 160.0, "n_times": 320, "n_outputs": 2},
    ).eval()
    with torch.no_grad():
        model.temporal.bias.normal_()  # a bias of its own: it is folded into the fused one
        x = torch.randn(3, 64, 320)
        torch.testing.assert_close(model.features(x), _two_layers(model, x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["8", "19", "64"])
def test_one_network_reads_8_19_and_64_named_channels(name: str) -> None:
    full = _any(MONTAGE_64)
    channels = MONTAGE_64 if name == "64" else list(montage(name))
    sub = full.with_channels(channels)
    x = torch.randn(2, len(channels), 320)
    with torch.no_grad():
        out = sub(x)
        # the same as the 64-row network on a window whose absent rows are zero, scaled
        padded = torch.zeros(2, 64, 320)
        rows = [[c.lower() for c in MONTAGE_64].index(n.lower()) for n in channels]
        padded[:, rows] = x * math.sqrt(64 / len(channels))
        expected = full.head(full.features(padded))
    assert out.shape == (2, 2)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)


def test_unknown_electrodes_are_named_and_left_out_by_readable_channels() -> None:
    with pytest.raises(ChannelMappingError, match="EXG1"):
        _any(["C3", "Cz", "EXG1"])
    picked = ShallowConvNetAnyMontage.readable_channels(MONTAGE_64, ["C3", "TP9", "Cz", "C4"])
    assert picked == ("C3", "Cz", "C4")
    with pytest.raises(ChannelMappingError, match="at least 3"):
        ShallowConvNetAnyMontage.readable_channels(MONTAGE_64, ["C3", "TP9", "TP10"])


def test_batchnorm_statistics_are_measured_on_the_persons_windows() -> None:
    model = _any(montage("8"))
    x = 3.0 * torch.randn(64, 8, 320)
    seen = []
    hook = model.bn.register_forward_hook(lambda _m, inp, _out: seen.append(inp[0].detach()))
    model.fit_input_statistics(x)  # one batch: the statistics of these windows exactly
    hook.remove()
    assert not model.training and model.bn.momentum == 0.1  # restored
    spatial = seen[0]  # (windows, filters, 1, time): the spatial filters' outputs
    torch.testing.assert_close(model.bn.running_mean, spatial.mean((0, 2, 3)))
    torch.testing.assert_close(
        model.bn.running_var, spatial.var((0, 2, 3), correction=1), rtol=1e-4, atol=1e-5
    )
