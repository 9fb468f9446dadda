"""EEGModel.with_channels: moving an encoder to another montage."""

from __future__ import annotations

import pytest
import torch
from neurodeck.common.types import ChannelMappingError
from neurodeck.models.eegnet import EEGNet
from neurodeck.models.labram import LaBraM
from neurodeck.models.spp_eegnet import SPPEEGNet

KW = {"sfreq": 80.0, "n_times": 160, "n_outputs": 2}


@pytest.mark.parametrize(
    "cls,extra",
    [(SPPEEGNet, {"n_filters": 4, "n_blocks": 2, "embed_dim": 8}),
     (LaBraM, {"depth": 1, "conv_channels": 4, "n_heads": 2, "patch_size": 40})],
)  # fmt: skip
def test_input_agnostic_models_move_to_any_montage_with_their_weights(cls, extra) -> None:
    model = cls(channel_names=["C3", "Cz", "C4", "Pz"], **KW, **extra)
    model.set_alignment(2 * torch.eye(4))
    other = model.with_channels(["Fp1", "C3", "C4"])
    assert other.channel_names == ["Fp1", "C3", "C4"] and type(other) is cls
    torch.testing.assert_close(other.alignment, torch.eye(3))
    for key, value in model.state_dict().items():
        if key != "alignment":
            torch.testing.assert_close(other.state_dict()[key], value)
    assert other(torch.randn(2, 3, 160)).shape == (2, 2)
    same = model.with_channels(["C3", "Cz", "C4", "Pz"])
    assert same is not model and torch.equal(same.alignment, model.alignment)


def test_fixed_montage_models_refuse_another_montage() -> None:
    model = EEGNet(channel_names=["C3", "Cz", "C4"], **KW)
    assert not model.channel_agnostic
    with pytest.raises(ChannelMappingError, match="fixed channels"):
        model.with_channels(["C3", "C4"])
