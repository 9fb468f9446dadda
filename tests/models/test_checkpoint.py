"""Checkpoint format: round trip, atomic writes, and a precise refusal for every bad file."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.torch
import torch
from neurodeck.common.types import CheckpointError, ConfigError
from neurodeck.models import checkpoint
from neurodeck.models.checkpoint import (
    METADATA_KEY,
    ModelMeta,
    load_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)
from neurodeck.models.tangent_space import TangentSpaceLR
from safetensors import safe_open

CHANNELS = ("C3", "Cz", "C4")
CLASSES = ("left", "right", "feet")


@pytest.fixture
def model(rng: np.random.Generator) -> TangentSpaceLR:
    a = rng.standard_normal((3, 3))
    return TangentSpaceLR.from_fitted(
        a @ a.T + 3 * np.eye(3), rng.standard_normal((3, 6)), rng.standard_normal(3), 3
    )


@pytest.fixture
def meta(model: TangentSpaceLR) -> ModelMeta:
    return ModelMeta(
        architecture="tangent_space_lr",
        config=model.config,
        channel_names=CHANNELS,
        sfreq=160.0,
        window_s=2.0,
        class_names=CLASSES,
        preprocessing={"bandpass_hz": [8.0, 30.0], "order": 4},
        training={"data": ["S001R04.edf"], "command": "neurodeck calibrate", "date": "2025-01-01"},
        metrics={"cv_accuracy": 0.75},
    )


@pytest.fixture
def saved(tmp_path: Path, model: TangentSpaceLR, meta: ModelMeta) -> Path:
    return save_checkpoint(tmp_path / "model.safetensors", model, meta)


def _write(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None) -> Path:
    safetensors.torch.save_file(tensors, str(path), metadata=metadata)
    return path


def _meta_dict(meta: ModelMeta, **changes: Any) -> str:
    data = dataclasses.asdict(meta)
    data.update(changes)
    return json.dumps(data)


def test_round_trip_gives_identical_outputs_and_meta(
    saved: Path, model: TangentSpaceLR, meta: ModelMeta, rng: np.random.Generator
) -> None:
    loaded, loaded_meta = load_checkpoint(saved)
    assert loaded_meta == meta
    assert isinstance(loaded, TangentSpaceLR) and not loaded.training
    x = torch.from_numpy(rng.standard_normal((4, 3, 320)).astype(np.float32) * 10)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_file_is_one_safetensors_with_json_metadata(saved: Path, meta: ModelMeta) -> None:
    assert sorted(p.name for p in saved.parent.iterdir()) == ["model.safetensors"]
    with safe_open(str(saved), framework="pt") as handle:
        header = handle.metadata()
        assert sorted(handle.keys()) == ["bias", "reference_isqrt", "weight"]
    stored = json.loads(header[METADATA_KEY])
    assert stored["architecture"] == "tangent_space_lr"
    assert stored["channel_names"] == list(CHANNELS)
    assert stored["format_version"] == 1
    assert read_checkpoint_meta(saved) == meta


def test_save_overwrites_atomically_and_cleans_up_on_failure(
    saved: Path, model: TangentSpaceLR, meta: ModelMeta, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = saved.read_bytes()

    def broken_save(tensors: dict, filename: str, metadata: dict) -> None:
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "save_file", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(saved, model, meta)
    assert saved.read_bytes() == before
    assert sorted(p.name for p in saved.parent.iterdir()) == ["model.safetensors"]


@pytest.mark.gpu
def test_loading_to_cuda(saved: Path, model: TangentSpaceLR) -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    loaded, _ = load_checkpoint(saved, device="cuda")
    x = torch.randn(2, 3, 100)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x.cuda()).cpu(), model(x), rtol=1e-6, atol=1e-6)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="checkpoint file not found"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_torch_save_file_is_refused_without_unpickling(
    tmp_path: Path, model: TangentSpaceLR, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("load_checkpoint tried to unpickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    with pytest.raises(CheckpointError, match="not a valid safetensors file") as err:
        load_checkpoint(path)
    assert "torch.save" in str(err.value) and "pickled" in str(err.value)


def test_plain_pickle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"weight": [1.0]}))
    with pytest.raises(CheckpointError, match="looks like a pickle file"):
        load_checkpoint(path)


@pytest.mark.parametrize("content", [b"", b"abc", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json!}"])
def test_garbage_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_checkpoint(path)


def test_truncated_file_is_refused(saved: Path) -> None:
    saved.write_bytes(saved.read_bytes()[:-8])
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_checkpoint(saved)


def test_safetensors_without_neurodeck_metadata(tmp_path: Path, model: TangentSpaceLR) -> None:
    path = _write(tmp_path / "hf.safetensors", model.state_dict(), {"format": "pt"})
    with pytest.raises(CheckpointError, match="without 'neurodeck' metadata"):
        load_checkpoint(path)
    path = _write(tmp_path / "bare.safetensors", model.state_dict(), None)
    with pytest.raises(CheckpointError, match="without 'neurodeck' metadata"):
        load_checkpoint(path)


def test_metadata_that_is_not_json(tmp_path: Path, model: TangentSpaceLR) -> None:
    path = _write(tmp_path / "m.safetensors", model.state_dict(), {METADATA_KEY: "{oops"})
    with pytest.raises(CheckpointError, match=r"'neurodeck' metadata in .* is not valid JSON"):
        load_checkpoint(path)


def test_unsupported_format_version(tmp_path: Path, model: TangentSpaceLR, meta: ModelMeta) -> None:
    text = _meta_dict(meta, format_version=2)
    path = _write(tmp_path / "m.safetensors", model.state_dict(), {METADATA_KEY: text})
    with pytest.raises(
        CheckpointError, match=r"format_version 2; this neurodeck reads versions \[1\]"
    ):
        load_checkpoint(path)


def test_unknown_architecture(tmp_path: Path, model: TangentSpaceLR, meta: ModelMeta) -> None:
    text = _meta_dict(meta, architecture="labram_xl")
    path = _write(tmp_path / "m.safetensors", model.state_dict(), {METADATA_KEY: text})
    with pytest.raises(CheckpointError, match="unknown model architecture 'labram_xl'") as err:
        load_checkpoint(path)
    assert "'tangent_space_lr'" in str(err.value)


def test_invalid_metadata_values(tmp_path: Path, model: TangentSpaceLR, meta: ModelMeta) -> None:
    text = _meta_dict(meta, sfreq=-1)
    path = _write(tmp_path / "m.safetensors", model.state_dict(), {METADATA_KEY: text})
    with pytest.raises(CheckpointError, match=r"invalid metadata .*'sfreq' must be > 0"):
        load_checkpoint(path)
    data = dataclasses.asdict(meta)
    del data["class_names"]
    path = _write(tmp_path / "m2.safetensors", model.state_dict(), {METADATA_KEY: json.dumps(data)})
    with pytest.raises(CheckpointError, match=r"lacks required keys \['class_names'\]"):
        load_checkpoint(path)


def test_config_that_does_not_fit_the_architecture(
    tmp_path: Path, model: TangentSpaceLR, meta: ModelMeta
) -> None:
    text = _meta_dict(meta, config={**meta.config, "depth": 3})
    path = _write(tmp_path / "m.safetensors", model.state_dict(), {METADATA_KEY: text})
    with pytest.raises(
        CheckpointError, match=r"does not fit architecture .*unknown keys \['depth'\]"
    ):
        load_checkpoint(path)


def test_channel_count_mismatch(tmp_path: Path, model: TangentSpaceLR, meta: ModelMeta) -> None:
    text = _meta_dict(meta, channel_names=["C3", "C4"])
    path = _write(tmp_path / "m.safetensors", model.state_dict(), {METADATA_KEY: text})
    with pytest.raises(CheckpointError, match="config n_channels=3 but channel_names lists 2"):
        load_checkpoint(path)


def test_class_count_mismatch(tmp_path: Path, model: TangentSpaceLR, meta: ModelMeta) -> None:
    text = _meta_dict(meta, class_names=["left", "right"])
    path = _write(tmp_path / "m.safetensors", model.state_dict(), {METADATA_KEY: text})
    with pytest.raises(CheckpointError, match="config n_classes=3 but class_names lists 2"):
        load_checkpoint(path)


def test_state_dict_mismatch_lists_every_problem(
    tmp_path: Path, model: TangentSpaceLR, meta: ModelMeta
) -> None:
    tensors = dict(model.state_dict())
    del tensors["bias"]
    tensors["extra"] = torch.zeros(2)
    tensors["weight"] = torch.zeros(3, 5, dtype=torch.float64)
    path = _write(tmp_path / "m.safetensors", tensors, {METADATA_KEY: meta.to_json()})
    with pytest.raises(CheckpointError, match="do not fit a TangentSpaceLR") as err:
        load_checkpoint(path)
    message = str(err.value)
    assert "missing keys ['bias']" in message
    assert "unexpected keys ['extra']" in message
    assert "weight: file (3, 5) vs model (3, 6)" in message


@pytest.mark.parametrize(
    ("poison", "count"),
    [(math.nan, "2 NaN, 0 inf"), (math.inf, "0 NaN, 2 inf")],
    ids=["nan", "inf"],
)
def test_non_finite_weights_are_refused_naming_the_tensors(
    tmp_path: Path, model: TangentSpaceLR, meta: ModelMeta, poison: float, count: str
) -> None:
    """A checkpoint written by a training that diverged loads nothing, and says which tensors."""
    with torch.no_grad():
        model.weight[0, :2] = poison
        model.bias[1] = -poison
    path = save_checkpoint(tmp_path / "diverged.safetensors", model, meta)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    message = str(err.value)
    assert str(path) in message and "non-finite weights" in message
    assert f"weight ({count} of 18 values)" in message
    assert "bias (" in message and "reference_isqrt" not in message  # only the poisoned ones
    assert "calibrate again" in err.value.hint


def test_integer_buffers_are_not_mistaken_for_non_finite() -> None:
    tensors = {"steps": torch.tensor([3], dtype=torch.int64), "mask": torch.ones(2, dtype=bool)}
    assert checkpoint.nonfinite_tensors(tensors) == []
    tensors["w"] = torch.tensor([1.0, float("nan")], dtype=torch.float16)
    assert checkpoint.nonfinite_tensors(tensors) == ["w (1 NaN, 0 inf of 2 values)"]


def test_save_refuses_meta_that_does_not_describe_the_model(
    tmp_path: Path, model: TangentSpaceLR, meta: ModelMeta
) -> None:
    path = tmp_path / "m.safetensors"
    with pytest.raises(CheckpointError, match="differs from the model's config"):
        save_checkpoint(
            path, model, dataclasses.replace(meta, config={**meta.config, "n_classes": 2})
        )
    with pytest.raises(CheckpointError, match="registered as 'tangent_space_lr'"):
        save_checkpoint(path, model, dataclasses.replace(meta, architecture="eegnet"))
    with pytest.raises(CheckpointError, match="channel_names lists 2"):
        save_checkpoint(path, model, dataclasses.replace(meta, channel_names=("C3", "C4")))
    assert not path.exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"class_names": ("left",)}, "'class_names' must hold at least 2"),
        ({"class_names": ("a", "a")}, "'class_names' must be unique"),
        ({"channel_names": ()}, "'channel_names' must hold at least 1"),
        ({"channel_names": ("C3", "C3", "Cz")}, r"'channel_names' must be unique; \['C3'\]"),
        ({"channel_names": ("C3", "")}, "non-empty strings"),
        ({"channel_names": "C3"}, "must be a list of strings"),
        ({"sfreq": 0.0}, "'sfreq' must be > 0"),
        ({"sfreq": float("nan")}, "'sfreq' must be a finite number"),
        ({"window_s": -2.0}, "'window_s' must be > 0"),
        ({"architecture": ""}, "'architecture' must be a non-empty string"),
        ({"preprocessing": None}, "'preprocessing' must be a dict"),
        ({"format_version": 0}, "'format_version' must be an integer >= 1"),
    ],
)
def test_model_meta_validation(meta: ModelMeta, changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(meta, **changes)


def test_model_meta_normalises_lists_and_counts(meta: ModelMeta) -> None:
    other = dataclasses.replace(meta, channel_names=list(CHANNELS), sfreq=160)
    assert other.channel_names == CHANNELS and isinstance(other.sfreq, float)
    assert (other.n_channels, other.n_classes, other.n_samples) == (3, 3, 320)
    assert ModelMeta.from_dict(json.loads(meta.to_json())) == meta


def test_model_meta_refuses_non_json_values(meta: ModelMeta) -> None:
    with pytest.raises(ConfigError, match="not JSON-serialisable"):
        dataclasses.replace(meta, metrics={"acc": np.float32(0.5)}).to_json()
