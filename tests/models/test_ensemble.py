"""The probability-averaging ensemble: what it computes, its checkpoint, its refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from neurodeck.calibration.riemann import fit_tangent_space_lr
from neurodeck.common.types import ConfigError
from neurodeck.models.checkpoint import ModelMeta, load_checkpoint, save_checkpoint
from neurodeck.models.ensemble import ProbabilityEnsemble
from neurodeck.models.registry import build_model

#: Registered models covered here rather than by the per-model case tables.
COMPOSITE_CASES = {"ensemble"}
CHANNELS = ["C3", "Cz", "C4", "CP3", "CP4", "FC3", "FC4", "Pz"]


def _members():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 8, 320)).astype(np.float32)
    X[::2, 0] *= 3.0  # class 0 has more power on C3
    reference = fit_tangent_space_lr(X, np.array([0, 1] * 10), 2)
    network = build_model(
        "shallow_convnet_any",
        {"channel_names": CHANNELS, "sfreq": 160.0, "n_times": 320, "n_outputs": 2},
    ).eval()
    return network, reference, X


def test_it_returns_the_log_of_the_mean_probability_and_round_trips(tmp_path) -> None:
    network, reference, X = _members()
    ensemble = ProbabilityEnsemble.of([network, reference], weights=[1.0, 3.0])
    x = torch.from_numpy(X[:4])
    with torch.no_grad():
        p = 0.25 * torch.softmax(network(x), 1) + 0.75 * torch.softmax(reference(x), 1)
        out = ensemble(x)
    torch.testing.assert_close(torch.softmax(out, 1), p.float(), rtol=1e-5, atol=1e-6)
    meta = ModelMeta("ensemble", ensemble.config, tuple(CHANNELS), 160.0, 2.0, ("left", "right"))
    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "e.safetensors", ensemble, meta))
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), out)


def test_bad_ensembles_are_refused() -> None:
    network, reference, _ = _members()
    with pytest.raises(ConfigError, match="at least 2 members"):
        ProbabilityEnsemble.of([network])
    with pytest.raises(ConfigError, match="non-negative"):
        ProbabilityEnsemble.of([network, reference], weights=[1.0, -1.0])
