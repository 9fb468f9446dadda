"""LaBraM: shapes, channel lookup by name, presets, config round trip, groups, training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from neurodeck.common.types import ChannelMappingError, ConfigError
from neurodeck.models.labram import LABRAM_PRESETS, LaBraM
from neurodeck.models.layers import spatial_index
from neurodeck.models.registry import build_model

NAMES_8 = ["Fz", "C3", "Cz", "C4", "Pz", "O1", "O2", "Oz"]
NAMES_19 = [
    "Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz",
    "C4", "T4", "T5", "P3", "Pz", "P4", "T6", "O1", "O2",
]  # fmt: skip
NAMES_64 = [  # EEGBCI's labels, dots included
    "Fc5.", "Fc3.", "Fc1.", "Fcz.", "Fc2.", "Fc4.", "Fc6.", "C5..", "C3..", "C1..", "Cz..",
    "C2..", "C4..", "C6..", "Cp5.", "Cp3.", "Cp1.", "Cpz.", "Cp2.", "Cp4.", "Cp6.", "Fp1.",
    "Fpz.", "Fp2.", "Af7.", "Af3.", "Afz.", "Af4.", "Af8.", "F7..", "F5..", "F3..", "F1..",
    "Fz..", "F2..", "F4..", "F6..", "F8..", "Ft7.", "Ft8.", "T7..", "T8..", "T9..", "T10.",
    "Tp7.", "Tp8.", "P7..", "P5..", "P3..", "P1..", "Pz..", "P2..", "P4..", "P6..", "P8..",
    "Po7.", "Po3.", "Poz.", "Po4.", "Po8.", "O1..", "O2..", "Oz..", "Iz..",
]  # fmt: skip


# Tiny architecture for tests: 1-s patches at 200 Hz, d = 200 // 8 * 4 = 100.
TINY = {"conv_channels": 4, "depth": 2, "n_heads": 4, "drop_path": 0.0}


def _tiny(names: list[str], n_times: int = 400, n_outputs: int = 3, **kw: object) -> LaBraM:
    torch.manual_seed(0)
    return LaBraM(names, 200.0, n_times, n_outputs, **{**TINY, **kw}).eval()


def _windows(n: int, n_channels: int, n_times: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return 20.0 * torch.randn(n, n_channels, n_times, generator=gen)


@pytest.mark.parametrize("names", [NAMES_8, NAMES_19, NAMES_64], ids=["8ch", "19ch", "64ch"])
@pytest.mark.parametrize("n_patches", [2, 4])
def test_logits_for_montages_and_lengths(names: list[str], n_patches: int) -> None:
    model = _tiny(names, n_times=200 * n_patches)
    x = _windows(2, len(names), 200 * n_patches)
    with torch.no_grad():
        logits = model(x)
        tokens = model.forward_tokens(x)
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()
    assert tokens.shape == (2, len(names) * n_patches, model.embed_dim)


def test_other_rates_use_patches_of_patch_size_samples() -> None:
    # 160 Hz with 1-s patches; any whole number of patches is accepted at run time.
    model = LaBraM(NAMES_8, 160.0, 480, 2, patch_size=160, **TINY).eval()
    assert model.embed_dim == 160 // 8 * 4
    with torch.no_grad():
        assert model(_windows(2, 8, 480)).shape == (2, 2)
        assert model(_windows(2, 8, 160)).shape == (2, 2)


def test_lengths_that_are_not_whole_patches_are_refused() -> None:
    with pytest.raises(ConfigError, match="multiple of patch_size=200"):
        LaBraM(NAMES_8, 200.0, 300, 2, **TINY)
    with pytest.raises(ConfigError, match="max_patches"):
        LaBraM(NAMES_8, 200.0, 800, 2, max_patches=2, **TINY)
    model = _tiny(NAMES_8)
    with pytest.raises(ConfigError, match="multiple of patch_size=200"):
        model(_windows(1, 8, 300))
    with pytest.raises(ConfigError, match="at most 16 patches"):
        model(_windows(1, 8, 17 * 200))
    with pytest.raises(ConfigError, match="8"):
        model(_windows(1, 7, 400))
    with pytest.raises(ConfigError, match="conv_channels"):
        LaBraM(NAMES_8, 200.0, 400, 2, conv_channels=6)
    with pytest.raises(ConfigError, match="n_heads"):
        LaBraM(NAMES_8, 200.0, 400, 2, conv_channels=4, n_heads=3)


def test_channel_names_must_be_electrodes_once() -> None:
    with pytest.raises(ChannelMappingError, match="STI 014"):
        LaBraM(["C3", "STI 014"], 200.0, 400, 2, **TINY)
    with pytest.raises(ConfigError, match="same electrode"):
        LaBraM(["T3", "T7"], 200.0, 400, 2, **TINY)


def test_base_preset_has_the_paper_size() -> None:
    model = LaBraM.from_preset("base", NAMES_64, 200.0, 400, 2)
    n_params = sum(p.numel() for p in model.parameters())
    assert abs(n_params - 5.8e6) / 5.8e6 < 0.05
    assert (model.embed_dim, model.depth, model.n_heads) == (200, 12, 10)
    small = LaBraM.from_preset("small", NAMES_64, 200.0, 400, 2)
    assert sum(p.numel() for p in small.parameters()) < 1.5e6
    assert set(LABRAM_PRESETS) == {"base", "small"}
    with pytest.raises(ConfigError, match="unknown LaBraM preset"):
        LaBraM.from_preset("huge", NAMES_8, 200.0, 400, 2)


def test_spatial_embeddings_follow_names_not_positions() -> None:
    model = _tiny(NAMES_19)
    perm = torch.from_numpy(np.random.default_rng(3).permutation(19))
    permuted = _tiny([NAMES_19[i] for i in perm])
    permuted.load_state_dict(model.state_dict())
    x = _windows(2, 19, 400)
    with torch.no_grad():
        reference = model.encode(x)
        assert torch.allclose(permuted.encode(x[:, perm]), reference, atol=1e-5)
        # Same positions, other names: the features change.
        renamed = _tiny([*NAMES_19[1:], "Oz"])
        renamed.load_state_dict(model.state_dict())
        assert not torch.allclose(renamed.encode(x), reference, atol=1e-3)
        # channel_index runs the same weights on another montage.
        index = spatial_index([NAMES_19[i] for i in perm])
        assert torch.allclose(model.encode(x[:, perm], channel_index=index), reference, atol=1e-5)
        per_sample = index.expand(2, -1)  # (batch, n_channels): one montage per window
        assert torch.allclose(model.encode(x[:, perm], per_sample), reference, atol=1e-5)


def test_config_round_trip_through_the_registry() -> None:
    model = _tiny(NAMES_64, n_outputs=4)
    config = json.loads(json.dumps(model.config))
    rebuilt = build_model("labram", config)
    assert isinstance(rebuilt, LaBraM) and rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    rebuilt.eval()
    x = _windows(2, 64, 400)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), model(x))


def test_layer_groups_cover_every_parameter_once_head_last() -> None:
    model = _tiny(NAMES_8)
    groups = model.layer_groups()
    assert len(groups) == model.depth + 3
    flat = [id(p) for group in groups for p in group]
    assert len(flat) == len(set(flat)) == len(list(model.parameters()))
    assert {id(p) for p in groups[-1]} == {id(p) for p in model.head.parameters()}
    stem = {id(p) for p in groups[0]}
    bb = model.backbone
    assert {id(bb.cls_token), id(bb.mask_token), id(bb.spatial_embed)} <= stem
    assert id(bb.time_embed) in {id(p) for p in groups[-2]}
    no_decay = model.no_weight_decay_names()
    assert {"backbone.spatial_embed", "backbone.time_embed", "backbone.cls_token"} <= no_decay
    assert "head.bias" in no_decay and "backbone.blocks.0.gamma_1" in no_decay
    assert "backbone.blocks.0.attn.qkv.weight" not in no_decay


def test_a_few_adam_steps_lower_the_loss() -> None:
    model = _tiny(NAMES_8, n_outputs=2).train()
    x = _windows(8, 8, 400, seed=1)
    y = torch.tensor([0, 1, 0, 1, 1, 0, 1, 0])
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(12):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert abs(losses[0] - np.log(2)) < 0.01  # head init_scale 0.001: near-uniform start
    assert losses[-1] < 0.8 * losses[0]


def test_flat_and_masked_windows() -> None:
    model = _tiny(NAMES_8)
    with torch.no_grad():
        assert torch.isfinite(model(torch.zeros(2, 8, 400))).all()
        assert torch.isfinite(model(torch.full((2, 8, 400), 1e4))).all()
        x, other = _windows(1, 8, 400, seed=1), _windows(1, 8, 400, seed=2)
        all_masked = torch.ones(1, 16, dtype=torch.bool)
        # Masking replaces the patch embeddings: fully masked windows are indistinguishable.
        assert torch.allclose(
            model.forward_tokens(x, all_masked), model.forward_tokens(other, all_masked)
        )
        half = torch.zeros(1, 16, dtype=torch.bool)
        half[0, ::2] = True
        assert not torch.allclose(model.forward_tokens(x, half), model.forward_tokens(x))
    with pytest.raises(ConfigError, match="mask"):
        model.forward_tokens(x, torch.ones(1, 15, dtype=torch.bool))
