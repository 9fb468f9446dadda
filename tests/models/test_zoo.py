"""Every registered deep model: named montages of 8, 19 and 64 channels at two sampling rates,
checkpoint round trip, refusal of channels that cannot be mapped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from neurodeck.common.types import ChannelMappingError, CheckpointError
from neurodeck.models.base import EEGModel
from neurodeck.models.checkpoint import ModelMeta, load_checkpoint, save_checkpoint
from neurodeck.models.registry import build_model, registered_models

MONTAGE_64 = [
    "Fc5", "Fc3", "Fc1", "Fcz", "Fc2", "Fc4", "Fc6", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
    "Cp5", "Cp3", "Cp1", "Cpz", "Cp2", "Cp4", "Cp6", "Fp1", "Fpz", "Fp2", "Af7", "Af3", "Afz",
    "Af4", "Af8", "F7", "F5", "F3", "F1", "Fz", "F2", "F4", "F6", "F8", "Ft7", "Ft8", "T7", "T8",
    "T9", "T10", "Tp7", "Tp8", "P7", "P5", "P3", "P1", "Pz", "P2", "P4", "P6", "P8", "Po7",
    "Po3", "Poz", "Po4", "Po8", "O1", "Oz", "O2", "Iz",
]  # fmt: skip
MONTAGE_19 = [
    "Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz", "C4", "T4", "T5", "P3", "Pz",
    "P4", "T6", "O1", "O2",
]  # fmt: skip
MONTAGE_8 = ["F3", "Fz", "F4", "C3", "Cz", "C4", "P3", "P4"]
MONTAGES = {8: MONTAGE_8, 19: MONTAGE_19, 64: MONTAGE_64}

#: Small configurations of every deep architecture; ``patch`` marks models whose windows must be
#: whole 1-s patches.
DEEP_CASES: dict[str, dict[str, Any]] = {
    "eegnet": {"dropout": 0.0},
    "shallow_convnet": {"dropout": 0.0},
    "shallow_convnet_any": {"dropout": 0.0},
    "spp_eegnet": {"n_filters": 8, "dropout": 0.0},
    "seqclr": {"width": 16, "lstm_hidden_sizes": (8, 8, 8), "mlp_hidden": 8, "n_res_units": 1},
    "labram": {"conv_channels": 4, "depth": 2, "n_heads": 2, "drop_path": 0.0, "patch": True},
    "gmss": {"hidden": 8, "dropout": 0.0},
}
RATES = (128.0, 200.0)


def _build(name: str, n_channels: int, sfreq: float, n_outputs: int = 3) -> EEGModel:
    extra = dict(DEEP_CASES[name])
    if extra.pop("patch", False):
        extra["patch_size"] = int(sfreq)  # 1-s patches at either rate
    config = {
        "channel_names": MONTAGES[n_channels],
        "sfreq": sfreq,
        "n_times": int(2 * sfreq),
        "n_outputs": n_outputs,
        **extra,
    }
    return build_model(name, config)


def test_every_deep_model_has_a_case() -> None:
    from tests.models.test_ensemble import COMPOSITE_CASES
    from tests.models.test_registry import MODEL_CASES

    missing = set(registered_models()) - set(DEEP_CASES) - set(MODEL_CASES) - COMPOSITE_CASES
    assert not missing, f"registered models without a test case: {sorted(missing)}"


@pytest.mark.parametrize("sfreq", RATES)
@pytest.mark.parametrize("n_channels", [8, 19, 64])
@pytest.mark.parametrize("name", sorted(DEEP_CASES))
def test_model_on_named_montages(name: str, n_channels: int, sfreq: float) -> None:
    try:
        model = _build(name, n_channels, sfreq)
    except TypeError as exc:  # a case whose arguments drifted from the constructor
        pytest.fail(f"{name}: {exc}")
    model.eval()
    x = torch.randn(2, n_channels, int(2 * sfreq), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (2, 3)
    assert torch.isfinite(logits).all()
    groups = model.layer_groups()
    flat = [id(p) for g in groups for p in g]
    assert len(flat) == len(set(flat)), "a parameter sits in two layer groups"
    assert {id(p) for p in groups[-1]} == {id(p) for p in model.head.parameters()}


@pytest.mark.parametrize("name", sorted(DEEP_CASES))
def test_checkpoint_round_trip(name: str, tmp_path: Path) -> None:
    model = _build(name, 19, 128.0).eval()
    model.set_alignment(torch.eye(19) * 2.0)
    meta = ModelMeta(
        architecture=name,
        config=model.config,
        channel_names=tuple(model.channel_names),
        sfreq=128.0,
        window_s=2.0,
        class_names=("left", "right", "feet"),
    )
    path = save_checkpoint(tmp_path / "m.safetensors", model, meta)
    loaded, meta2 = load_checkpoint(path)
    x = torch.randn(2, 19, 256)
    with torch.no_grad():
        assert torch.allclose(model(x), loaded(x), atol=1e-6)
    assert torch.equal(loaded.alignment, torch.eye(19) * 2.0)
    assert meta2.channel_names == meta.channel_names


def test_checkpoint_whose_config_disagrees_with_its_channels_is_refused(tmp_path: Path) -> None:
    model = _build("eegnet", 8, 128.0, n_outputs=2)
    meta = ModelMeta(
        architecture="eegnet",
        config=model.config,
        channel_names=tuple(model.channel_names),
        sfreq=128.0,
        window_s=2.0,
        class_names=("left", "right", "feet"),  # the head has 2 outputs
    )
    with pytest.raises(CheckpointError, match="n_outputs"):
        save_checkpoint(tmp_path / "m.safetensors", model, meta)


def test_stream_without_the_models_channels_is_refused_by_name() -> None:
    from neurodeck.streaming.channels import map_channels

    model = _build("spp_eegnet", 19, 128.0)
    headset = ["Fp1", "Fp2", "C3", "C4", "O1", "O2", "AUX1", "AUX2"]
    with pytest.raises(ChannelMappingError) as err:
        map_channels(headset, model.channel_names)
    assert "F7" in str(err.value)


def test_transformer_refuses_unknown_electrode_names() -> None:
    with pytest.raises(ChannelMappingError, match="EXG1"):
        build_model(
            "labram",
            {
                "channel_names": ["C3", "Cz", "EXG1"],
                "sfreq": 200.0,
                "n_times": 400,
                "n_outputs": 2,
                "depth": 1,
                "conv_channels": 4,
                "n_heads": 2,
            },
        )


@pytest.mark.parametrize("name", sorted(DEEP_CASES))
def test_registry_round_trip_gives_identical_outputs(name: str) -> None:
    model = _build(name, 19, 128.0)
    model.train()(torch.randn(4, 19, 256))  # move normalisation statistics off their defaults
    rebuilt = build_model(name, json.loads(json.dumps(model.config)))
    rebuilt.load_state_dict(model.state_dict())
    x = torch.randn(3, 19, 256)
    torch.testing.assert_close(rebuilt.eval()(x), model.eval()(x), rtol=0, atol=0)


@pytest.mark.parametrize("name", sorted(DEEP_CASES))
def test_reset_head_and_freeze_encoder(name: str) -> None:
    model = _build(name, 8, 128.0)
    model.reset_head(5)
    assert model.n_outputs == 5 and model(torch.randn(2, 8, 256)).shape == (2, 5)
    model.freeze_encoder()
    head = {id(p) for p in model.head.parameters()}
    assert not any(p.requires_grad for p in model.encoder_parameters())
    assert all(p.requires_grad for p in model.parameters() if id(p) in head)


@pytest.mark.parametrize("name", sorted(DEEP_CASES))
def test_flat_window_gives_finite_output(name: str) -> None:
    model = _build(name, 8, 128.0)
    for train in (True, False):
        assert torch.isfinite(model.train(train)(torch.zeros(2, 8, 256))).all()


@pytest.mark.parametrize("name", sorted(DEEP_CASES))
def test_a_few_adam_steps_lower_the_loss(name: str) -> None:
    model = _build(name, 8, 128.0, n_outputs=2)
    x = 20.0 * torch.randn(8, 8, 256, generator=torch.Generator().manual_seed(3))
    y = torch.tensor([0, 1] * 4)
    lr = 1e-4 if name == "spp_eegnet" else 1e-3  # its 1216-input SPP layer jumps at 1e-3
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(6):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
