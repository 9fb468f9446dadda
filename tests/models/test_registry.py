"""Registry tests, including one parametrised test over every registered architecture."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from neurodeck.common.types import CheckpointError, ConfigError
from neurodeck.models import registry
from neurodeck.models.band_features import BANDS
from neurodeck.models.band_power_lr import BandPowerLR
from neurodeck.models.checkpoint import ModelMeta, load_checkpoint, save_checkpoint
from neurodeck.models.registry import build_model, register_model, registered_models
from neurodeck.models.tangent_space import TangentSpaceLR
from torch import nn


def _randomize_tangent_space_lr(model: nn.Module, rng: np.random.Generator) -> None:
    """Give a TangentSpaceLR an SPD reference and non-zero weights."""
    assert isinstance(model, TangentSpaceLR)
    a = rng.standard_normal((model.n_channels, model.n_channels))
    model.set_reference(a @ a.T + model.n_channels * np.eye(model.n_channels))
    model.set_linear(
        rng.standard_normal((model.n_classes, model.n_features)),
        rng.standard_normal(model.n_classes),
    )


def _randomize_band_power_lr(model: nn.Module, rng: np.random.Generator) -> None:
    """Give a BandPowerLR non-zero weights."""
    assert isinstance(model, BandPowerLR)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(rng.standard_normal(tuple(model.weight.shape))))
        model.bias.copy_(torch.from_numpy(rng.standard_normal(model.n_classes)))


@dataclass(frozen=True)
class ModelCase:
    """A tiny test configuration of one architecture."""

    config: dict[str, Any]
    n_samples: int
    randomize: Callable[[nn.Module, np.random.Generator], None]


# One entry per registered architecture; test_every_registered_model_has_a_case enforces it.
MODEL_CASES: dict[str, ModelCase] = {
    "tangent_space_lr": ModelCase(
        config={"n_channels": 4, "n_classes": 3, "shrinkage": "oas"},
        n_samples=40,
        randomize=_randomize_tangent_space_lr,
    ),
    "band_power_lr": ModelCase(
        config={
            "n_channels": 4,
            "n_classes": 3,
            "sfreq": 100.0,
            "frame_s": 1.0,
            "bands": [[name, lo, hi] for name, lo, hi in BANDS],
        },
        n_samples=200,
        randomize=_randomize_band_power_lr,
    ),
}


def test_every_registered_model_has_a_case() -> None:
    from tests.models.test_ensemble import COMPOSITE_CASES
    from tests.models.test_zoo import DEEP_CASES

    missing = sorted(
        set(registered_models()) - set(MODEL_CASES) - set(DEEP_CASES) - COMPOSITE_CASES
    )
    assert not missing, f"registered models without a test case in MODEL_CASES: {missing}"


def test_builtin_models_are_registered() -> None:
    assert "tangent_space_lr" in registered_models()
    assert registry.model_class("tangent_space_lr") is TangentSpaceLR


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_registered_model_builds_runs_and_round_trips(
    name: str, tmp_path: Path, rng: np.random.Generator
) -> None:
    case = MODEL_CASES[name]
    model = build_model(name, case.config)
    assert registry.architecture_name(model) == name
    config = json.loads(json.dumps(model.config))  # must be JSON-safe
    assert config == case.config
    case.randomize(model, rng)
    model.eval()

    n_channels, n_classes = config["n_channels"], config["n_classes"]
    x = torch.from_numpy(rng.standard_normal((3, n_channels, case.n_samples)).astype(np.float32))
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (3, n_classes)
    assert logits.dtype == torch.float32
    assert torch.isfinite(logits).all()
    assert logits.std() > 0  # randomised weights give varied logits

    meta = ModelMeta(
        architecture=name,
        config=config,
        channel_names=tuple(f"Ch{i}" for i in range(n_channels)),
        sfreq=100.0,
        window_s=case.n_samples / 100.0,
        class_names=tuple(f"class{i}" for i in range(n_classes)),
    )
    path = save_checkpoint(tmp_path / f"{name}.safetensors", model, meta)
    loaded, loaded_meta = load_checkpoint(path)
    assert type(loaded) is type(model)
    assert loaded_meta == meta
    assert not loaded.training
    with torch.no_grad():
        assert torch.equal(loaded(x), logits)


def test_build_model_unknown_name_lists_known_ones() -> None:
    with pytest.raises(CheckpointError, match="unknown model architecture 'no_such_net'") as err:
        build_model("no_such_net", {})
    assert "'tangent_space_lr'" in str(err.value)


def test_build_model_rejects_unknown_and_missing_config_keys() -> None:
    with pytest.raises(ConfigError, match=r"unknown keys \['n_filters'\], missing keys \[\]"):
        build_model("tangent_space_lr", {"n_channels": 4, "n_classes": 2, "n_filters": 8})
    with pytest.raises(ConfigError, match=r"missing keys \['n_classes'\]"):
        build_model("tangent_space_lr", {"n_channels": 4})


def test_build_model_passes_invalid_values_to_model_validation() -> None:
    with pytest.raises(ConfigError, match="'n_classes' must be an integer >= 2"):
        build_model("tangent_space_lr", {"n_channels": 4, "n_classes": 1})


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, type[nn.Module]]:
    """A copy of the registry that tests may add to without leaking."""
    registered_models()  # import built-ins first
    scratch = dict(registry._REGISTRY)
    monkeypatch.setattr(registry, "_REGISTRY", scratch)
    return scratch


class _Tiny(nn.Module):
    def __init__(self, n_channels: int, n_classes: int = 2) -> None:
        super().__init__()
        self.n_channels, self.n_classes = n_channels, n_classes
        self.linear = nn.Linear(n_channels, n_classes)

    @property
    def config(self) -> dict[str, Any]:
        return {"n_channels": self.n_channels, "n_classes": self.n_classes}


def test_register_model_adds_and_builds(scratch_registry: dict[str, type[nn.Module]]) -> None:
    register_model("tiny_test_net")(_Tiny)
    assert "tiny_test_net" in registered_models()
    model = build_model("tiny_test_net", {"n_channels": 3})
    assert isinstance(model, _Tiny)
    assert model.config == {"n_channels": 3, "n_classes": 2}


def test_register_model_refuses_a_taken_name(scratch_registry: dict[str, type[nn.Module]]) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_model("tangent_space_lr")(_Tiny)
    assert scratch_registry["tangent_space_lr"] is TangentSpaceLR


def test_register_model_refuses_classes_without_config_or_module(
    scratch_registry: dict[str, type[nn.Module]],
) -> None:
    class NoConfig(nn.Module):
        pass

    with pytest.raises(ValueError, match="'config'"):
        register_model("no_config")(NoConfig)
    with pytest.raises(ValueError, match=r"nn\.Module subclass"):
        register_model("not_a_module")(dict)  # type: ignore[arg-type]
    assert "no_config" not in scratch_registry


def test_architecture_name_of_unregistered_model_raises() -> None:
    with pytest.raises(CheckpointError, match="is not registered"):
        registry.architecture_name(_Tiny(2))
