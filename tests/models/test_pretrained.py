"""The checkpoints shipped in models/pretrained: present, small, loadable, rebuildable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from neurodeck.models.checkpoint import load_checkpoint
from neurodeck.streaming.preprocessing import PreprocessingConfig

PRETRAINED = Path(__file__).resolve().parents[2] / "models" / "pretrained"
REPO = PRETRAINED.parents[1]
SHIPPED = ("spp_eegnet", "labram_small")


def test_shipped_encoders_are_present_and_small() -> None:
    files = {p.stem: p for p in PRETRAINED.glob("*.safetensors")}
    assert set(SHIPPED) <= set(files), f"missing: {set(SHIPPED) - set(files)}"
    total_mb = sum(p.stat().st_size for p in files.values()) / 2**20
    assert total_mb <= 30.0


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_encoder_loads_and_decodes_a_window(name: str) -> None:
    model, meta = load_checkpoint(PRETRAINED / f"{name}.safetensors")
    assert meta.training["stage"] == "supervised"
    assert (REPO / meta.training["recipe"]).is_file() or Path(meta.training["recipe"]).is_file()
    assert meta.class_names == ("left", "right") and len(meta.channel_names) == 64
    pre = PreprocessingConfig.from_dict(meta.preprocessing)
    assert pre.sfreq_out == meta.sfreq
    window = np.random.default_rng(0).standard_normal((1, 64, round(meta.window_s * meta.sfreq)))
    with torch.no_grad():
        p = torch.softmax(model(torch.from_numpy(window.astype(np.float32) * 10)), 1)
    assert torch.isfinite(p).all() and torch.allclose(p.sum(1), torch.ones(1, dtype=p.dtype))


@pytest.mark.parametrize("name", ["mi_shallow64", "mi_shallow_any"])
def test_the_motor_imagery_networks_are_their_recipes_output(name: str) -> None:
    from neurodeck.offline_training.pipeline import Recipe, recipe_digest

    model, meta = load_checkpoint(PRETRAINED / f"{name}.safetensors")
    recipe = Recipe.from_toml(REPO / "configs" / "pretrain" / f"{name}.toml")
    assert meta.training["recipe_digest"] == recipe_digest(recipe), "rebuild: neurodeck pretrain"
    assert meta.training["subjects"] == list(recipe.subjects) and 1 not in recipe.subjects
    assert meta.training["adapt"]["augment"] == list(recipe.adapt.augment)
    assert meta.class_names == ("left", "right") and len(meta.channel_names) == 64
    assert PreprocessingConfig.from_dict(meta.preprocessing).bandpass == (8.0, 30.0)
    channels = ["C3", "Cz", "C4", "FC3", "FC4", "CP3", "CP4", "Pz"]
    if model.channel_agnostic:  # the any-montage network reads a small headset too
        model = model.with_channels(channels)
    n = len(model.channel_names)
    window = np.random.default_rng(0).standard_normal((2, n, round(meta.window_s * meta.sfreq)))
    with torch.no_grad():
        p = torch.softmax(model(torch.from_numpy(window.astype(np.float32) * 10)), 1)
    assert torch.isfinite(p).all() and p.shape == (2, 2)
