"""SPPEEGNet: shapes on any montage and length, the height quirk, transfer by blocks, training."""

from __future__ import annotations

import pytest
import torch
from neurodeck.common.types import ConfigError
from neurodeck.models.spp_eegnet import SPPEEGNet
from neurodeck.streaming.simulator import STANDARD_MONTAGES
from torch import nn

MONTAGE_19 = ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7")
MONTAGE_19 += ("P3", "Pz", "P4", "P8", "O1", "O2")
MONTAGES = {8: STANDARD_MONTAGES[8], 19: MONTAGE_19, 64: STANDARD_MONTAGES[64]}


def _model(n_channels: int = 8, sfreq: float = 128.0, n_outputs: int = 3, **kwargs) -> SPPEEGNet:
    torch.manual_seed(0)
    return SPPEEGNet(MONTAGES[n_channels], sfreq, int(2 * sfreq), n_outputs, **kwargs)


@pytest.mark.parametrize("sfreq", [128.0, 160.0])
@pytest.mark.parametrize("n_channels", [8, 19, 64])
def test_output_shapes(n_channels: int, sfreq: float) -> None:
    model = _model(n_channels, sfreq).eval()
    x = torch.randn(2, n_channels, int(2 * sfreq))
    assert model.encode(x).shape == (2, model.n_features) == (2, 100)
    logits = model(x)
    assert logits.shape == (2, 3)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize(("n_channels", "n_times"), [(1, 200), (4, 320), (9, 50), (21, 801)])
def test_accepts_other_channel_counts_and_lengths(n_channels: int, n_times: int) -> None:
    # 1, 4 and 9 channels break the original's explicit pyramid padding rule.
    model = _model(19).eval()
    logits = model(torch.randn(2, n_channels, n_times))
    assert logits.shape == (2, 3)
    assert torch.isfinite(logits).all()


def test_height_quirk_and_time_reduction() -> None:
    model = _model(19).eval()
    x = torch.randn(1, 1, 19, 801)
    for block in model.blocks:
        x = block(x)
    assert x.shape == (1, 32, 19 + 12, 201)  # the original's (32, 31, 201) for EEGBCI


def test_parameter_layout_matches_the_original() -> None:
    model = _model(64)
    assert isinstance(model.blocks, nn.ModuleList) and len(model.blocks) == 6
    for block in model.blocks:
        conv, _, norm, _ = block
        assert list(block.parameters()) == [conv.weight, conv.bias, norm.weight, norm.bias]
    params = list(model.parameters())
    assert params[:24] == [p for block in model.blocks for p in block.parameters()]
    assert params[24:26] == [model.embed.weight, model.embed.bias]
    assert model.embed.in_features == 32 * (25 + 9 + 4) == 1216
    assert sum(p.numel() for p in model.encoder_parameters()) == 137_732
    strided = [i for i, block in enumerate(model.blocks) if block[0].stride == (1, 2)]
    dropped = [i for i, block in enumerate(model.blocks) if block[1].p > 0]
    assert strided == dropped == [2, 5]


def test_first_k_blocks_transfer() -> None:
    source = _model(19)
    torch.manual_seed(1)  # _model seeds 0: the target must start from other weights
    target = SPPEEGNet(MONTAGES[64], 160.0, 320, 2)
    target.load_blocks(source, 3)
    for i in range(6):
        pairs = zip(source.blocks[i].parameters(), target.blocks[i].parameters(), strict=True)
        same = [torch.equal(a, b) for a, b in pairs]
        if i < 3:
            assert all(same)
        else:  # GroupNorm starts at ones and zeros in both; the convs differ
            assert not torch.equal(source.blocks[i][0].weight, target.blocks[i][0].weight)
    assert not torch.equal(source.embed.weight, target.embed.weight)
    # The copied encoder still runs on the target's montage.
    assert target(torch.randn(2, 64, 320)).shape == (2, 2)
    with pytest.raises(ConfigError, match="n_blocks"):
        target.load_blocks(source, 7)


def test_zscore_makes_input_scale_and_offset_irrelevant() -> None:
    model = _model(8).eval()
    x = torch.randn(2, 8, 256)
    torch.testing.assert_close(model(x * 1000.0 + 50.0), model(x), rtol=1e-4, atol=1e-4)


def test_flat_window_gives_finite_output_and_gradient() -> None:
    model = _model(8)
    x = torch.zeros(2, 8, 256, requires_grad=True)
    for train in (True, False):
        model.train(train)
        logits = model(x)
        assert torch.isfinite(logits).all()
        logits.sum().backward()
        assert torch.isfinite(x.grad).all()


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="pyramid_levels"):
        _model(8, pyramid_levels=[])
    with pytest.raises(ConfigError, match="dropout"):
        _model(8, dropout=1.0)
    with pytest.raises(ConfigError, match="shape"):
        _model(8)(torch.randn(8, 256))
