"""Recipes and the stages they run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from neurodeck.app.train_commands import RECIPE_DIR
from neurodeck.common.types import ConfigError
from neurodeck.models.checkpoint import load_checkpoint
from neurodeck.offline_training.pipeline import (
    Recipe,
    SSLStage,
    build_encoder,
    pretrain_ssl,
    run_recipe,
    save_stage,
)

from tests.offline_training.test_windows import CHANNELS, SFREQ, make_corpus


@pytest.mark.parametrize("path", sorted(RECIPE_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_recipe_parses_and_builds(path: Path) -> None:
    recipe = Recipe.from_toml(path)
    assert recipe.name == path.stem
    model = build_encoder(recipe, ["C3", "Cz", "C4", "Fz", "Pz", "O1", "O2", "F3"], 2)
    with torch.no_grad():
        assert model(torch.zeros(1, 8, recipe.n_times)).shape == (1, 2)


def test_recipe_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\narchitecture = "eegnet"\nlearning_rate = 3\n')
    with pytest.raises(ConfigError, match="unknown keys \\['learning_rate'\\]"):
        Recipe.from_toml(bad)
    bad.write_text('name = "x"\narchitecture = "eegnet"\n[ssl]\nobjective = "magic"\n')
    with pytest.raises(ConfigError, match=r"'ssl\.objective'"):
        Recipe.from_toml(bad)
    with pytest.raises(ConfigError, match="cannot read recipe"):
        Recipe.from_toml(tmp_path / "missing.toml")


def load_names(path: Path) -> list[str]:
    from neurodeck.streaming.recording_io import load_recording

    return list(load_recording(path).channel_names)


@pytest.mark.slow
def test_recipe_stages_on_one_real_subject(data_root: Path, tmp_path: Path) -> None:
    recipe = Recipe.from_toml(RECIPE_DIR / "spp_eegnet.toml")
    tiny = {"epochs": 1, "steps_per_epoch": 2, "batch_size": 4, "progress": False}
    ssl = replace(recipe.ssl, runs=(4,), train=replace(recipe.ssl.train, **tiny))
    sup = replace(recipe.supervised, runs=(4,), train=replace(recipe.supervised.train, **tiny))
    recipe = replace(recipe, ssl=ssl, supervised=sup, cache_dir=str(tmp_path / "cache"))
    models = run_recipe(recipe, data_root, [1], tmp_path / "run")
    assert set(models) == {"ssl", "supervised", "scratch"}
    assert (tmp_path / "run" / "ssl" / "curves.png").exists()
    assert not torch.equal(models["ssl"].blocks[0][0].weight, models["scratch"].blocks[0][0].weight)
    path = save_stage(
        models["supervised"],
        recipe,
        tmp_path / "m.safetensors",
        "supervised",
        ("left", "right"),
        [1],
    )
    _, meta = load_checkpoint(path)
    assert meta.training["stage"] == "supervised" and meta.sfreq == 80.0
    assert len(meta.channel_names) == 64


class _FakeCorpus:
    def __init__(self, subjects):
        self._subjects = tuple(subjects)

    def subjects(self):
        return self._subjects

    def select(self, subjects):
        return _FakeCorpus(subjects)


def test_validation_subjects_are_held_out_of_training() -> None:
    from neurodeck.offline_training.pipeline import split_subjects

    corpus = _FakeCorpus([f"S{i:03d}" for i in range(1, 13)])
    train, val = split_subjects(corpus, 2, seed=0)
    assert len(val.subjects()) == 2 and len(train.subjects()) == 10
    assert set(train.subjects()).isdisjoint(val.subjects())
    assert split_subjects(corpus, 2, seed=0)[1].subjects() == val.subjects()  # seeded
    assert split_subjects(corpus, 0, seed=0) == (corpus, None)
    with pytest.raises(ConfigError, match="val_subjects"):
        split_subjects(corpus, 12, seed=0)


def test_simclr_is_an_ssl_objective() -> None:
    assert SSLStage(objective="simclr").objective == "simclr"
    with pytest.raises(ConfigError, match=r"'ssl\.objective'"):
        SSLStage(objective="simclr_v2")


def test_simclr_stage_trains_the_encoder(tmp_path: Path, rng) -> None:
    recipe = Recipe.from_dict(
        {
            "name": "tiny_simclr",
            "architecture": "shallow_convnet",
            "model": {"n_filters_time": 4, "n_filters_spat": 4},
            "preprocessing": {"sfreq_out": SFREQ},
            "ssl": {
                "objective": "simclr",
                "stride_s": 1.0,
                "objective_args": {"temperature": 0.2, "proj_dim": 8, "hidden": 16},
                "train": {"epochs": 1, "steps_per_epoch": 2, "batch_size": 4},
            },
        }
    )
    ssl = replace(recipe.ssl, train=replace(recipe.ssl.train, progress=False, device="cpu"))
    recipe = replace(recipe, ssl=ssl)
    corpus = make_corpus(tmp_path, [1000, 1000], ["a", "b"], rng=rng)
    model = build_encoder(recipe, CHANNELS, 2)
    before = model.temporal.weight.detach().clone()
    history = pretrain_ssl(recipe, model, corpus, None)
    assert len(history) == 1 and 0.0 <= history[0]["acc"] <= 1.0
    assert not torch.equal(model.temporal.weight, before)


def test_unknown_objective_args_are_refused_when_the_recipe_is_read() -> None:
    with pytest.raises(ConfigError, match=r"\['temprature'\].*takes \['hidden'"):
        SSLStage(objective="simclr", objective_args={"temprature": 0.1})
    with pytest.raises(ConfigError, match="min_gap_s"):
        SSLStage(objective="pair", objective_args={"min_gap": 5.0})
    with pytest.raises(ConfigError, match="mask_ratio"):
        SSLStage(objective="mem", objective_args={"ratio": 0.5})
    assert SSLStage(objective="contrastive", objective_args={"temperature": 0.2}).objective_args
