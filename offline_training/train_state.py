"""Resumable training state saved without pickle: tensors in safetensors, the rest as JSON.

A resume file holds the objective's ``state_dict``, the optimizer's ``state_dict`` (its tensors
flattened under ``optim/<param>/<name>`` keys, its param groups as JSON), the epoch counter, the
metric history and the torch / numpy / python RNG states. Like model checkpoints it is never
unpickled, so a resume file from an untrusted place cannot run code.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from neurodeck.common.types import CheckpointError
from neurodeck.models.checkpoint import nonfinite_tensors
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

_META_KEY = "neurodeck_train_state"


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer state_dict into tensors and a JSON-safe rest."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, slots in state["state"].items():
        for name, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim/{pid}/{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], rest: dict[str, Any]) -> dict:
    """Inverse of :func:`_flatten_optimizer`."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, pid, name = key.split("/", 2)
        state.setdefault(int(pid), {})[name] = value
    for pid, slots in rest["scalars"].items():
        state.setdefault(int(pid), {}).update(slots)
    return {"state": state, "param_groups": rest["param_groups"]}


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Current torch (CPU and CUDA), numpy and python RNG states."""
    tensors = {"rng/torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda{i}"] = s
    py = random.getstate()
    numpy_state = np.random.get_state(legacy=False)  # noqa: NPY002
    numpy_state["state"]["key"] = numpy_state["state"]["key"].tolist()
    rest = {"numpy": numpy_state, "python": [py[0], list(py[1]), py[2]]}
    return tensors, rest


def set_rng_state(tensors: dict[str, torch.Tensor], rest: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(tensors["rng/torch"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng/cuda")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    numpy_state = dict(rest["numpy"])
    numpy_state["state"] = {**numpy_state["state"]}
    numpy_state["state"]["key"] = np.asarray(numpy_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(numpy_state)  # noqa: NPY002
    version, internal, gauss = rest["python"]
    random.setstate((version, tuple(internal), gauss))


def save_train_state(
    path: Path,
    module_state: dict[str, torch.Tensor],
    optimizer_state: dict[str, Any],
    info: dict[str, Any],
) -> None:
    """Write a resume file atomically.

    Parameters
    ----------
    path : Path
        Destination (``.safetensors``).
    module_state : dict
        The trained module's ``state_dict``.
    optimizer_state : dict
        The optimizer's ``state_dict``.
    info : dict
        JSON-safe extras (epoch, history, settings).
    """
    tensors = {f"module/{k}": v.detach().cpu().contiguous() for k, v in module_state.items()}
    opt_tensors, opt_rest = _flatten_optimizer(optimizer_state)
    rng_tensors, rng_rest = rng_state()
    tensors.update(opt_tensors)
    tensors.update(rng_tensors)
    meta = {"info": info, "optimizer": opt_rest, "rng": rng_rest}
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_file(tensors, str(tmp), metadata={_META_KEY: json.dumps(meta)})
    os.replace(tmp, path)


def load_train_state(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """Read a resume file and restore the RNG states.

    Returns
    -------
    module_state : dict
    optimizer_state : dict
    info : dict

    Raises
    ------
    CheckpointError
        If the file is not a neurodeck resume file.
    """
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(_META_KEY)
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(
            f"{path} is not a readable resume file ({exc}).",
            "Delete it to start the training from scratch.",
        ) from exc
    if raw is None:
        raise CheckpointError(f"{path} has no neurodeck training state.", "Delete it or rename it.")
    bad = nonfinite_tensors({k: v for k, v in tensors.items() if not k.startswith("rng/")})
    if bad:
        raise CheckpointError(
            f"{path} holds non-finite training state (NaN or inf): {'; '.join(bad[:6])}; "
            "resuming from it would train on NaN.",
            "The training diverged before this state was saved: delete the file to start the "
            "training from scratch (lower the learning rate if it diverges again).",
        )
    meta = json.loads(raw)
    module = {k[len("module/") :]: v for k, v in tensors.items() if k.startswith("module/")}
    optim = {k: v for k, v in tensors.items() if k.startswith("optim/")}
    set_rng_state({k: v for k, v in tensors.items() if k.startswith("rng/")}, meta["rng"])
    return module, _unflatten_optimizer(optim, meta["optimizer"]), meta["info"]
