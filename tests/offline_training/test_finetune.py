"""Adapting an encoder to one person: trial-level splits, layer-wise rates, probes, alignment."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from neurodeck.common.types import ConfigError
from neurodeck.models.registry import build_model
from neurodeck.offline_training.finetune import (
    AdaptSettings,
    adapt,
    layerwise_groups,
    predict_proba,
    split_trials,
)

NAMES = ["F3", "Fz", "F4", "C3", "Cz", "C4", "P3", "P4"]


def _eegnet():
    config = {"channel_names": NAMES, "sfreq": 64.0, "n_times": 128, "n_outputs": 2}
    return build_model("eegnet", config)


def _separable(n_trials: int = 24, crops: int = 3, seed: int = 0):
    """Class 1 has a strong 10 Hz rhythm on C3, class 0 on C4."""
    rng = np.random.default_rng(seed)
    t = np.arange(128) / 64.0
    X, y, trial = [], [], []
    for i in range(n_trials):
        label = i % 2
        for _ in range(crops):
            x = rng.standard_normal((8, 128)).astype(np.float32)
            x[3 if label else 5] += 4 * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 6))
            X.append(x)
            y.append(label)
            trial.append(i)
    return np.stack(X), np.array(y), np.array(trial)


def test_split_holds_back_whole_trials_per_class() -> None:
    _, y, trial = _separable(20, crops=3)
    train, val = split_trials(trial, y, 0.2, seed=0)
    assert set(trial[train]).isdisjoint(trial[val])
    assert len(set(trial[val][y[val] == 0])) == 2 and len(set(trial[val][y[val] == 1])) == 2
    with pytest.raises(ConfigError, match="cannot hold"):
        split_trials(np.array([0, 1]), np.array([0, 1]), 0.5, seed=0)


def test_layerwise_rates_shrink_towards_the_input() -> None:
    model = _eegnet()
    groups = layerwise_groups(model, 0.5, 1e-2)
    scales = [g["lr_scale"] for g in groups]
    assert max(scales) == 1.0 and min(scales) == 0.5 ** (len(model.layer_groups()) - 1)
    head = {id(p) for p in model.head.parameters()}
    assert all(g["lr_scale"] == 1.0 for g in groups if {id(p) for p in g["params"]} & head)
    assert all(g["weight_decay"] == 0.0 for g in groups if g["params"][0].ndim == 1)


def test_finetune_learns_a_separable_task_and_aligns() -> None:
    X, y, trial = _separable()
    model = _eegnet()
    settings = AdaptSettings()
    settings = replace(settings, train=replace(settings.train, lr=3e-3, epochs=40, patience=None))
    res = adapt(model, X, y, trial, settings)
    assert not torch.equal(res.model.alignment, torch.eye(8))  # re-centred on this subject
    assert torch.equal(model.alignment, torch.eye(8))  # the input model is untouched
    Xt, yt, _ = _separable(seed=1)
    acc = (predict_proba(res.model, Xt).argmax(1) == yt).mean()
    assert acc > 0.8 and res.best_epoch is not None


def test_probe_changes_only_the_head() -> None:
    X, y, trial = _separable(12, crops=2)
    model = _eegnet()
    settings = AdaptSettings(mode="probe")
    settings = replace(settings, train=replace(settings.train, epochs=3))
    res = adapt(model, X, y, trial, settings)
    before = dict(model.named_parameters())
    for name, p in res.model.named_parameters():
        if not name.startswith("head"):
            assert torch.equal(p, before[name]), name
    assert all(p.requires_grad for p in res.model.parameters())  # unfrozen for later use


def test_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="'mode'"):
        AdaptSettings(mode="retrain")
    with pytest.raises(ConfigError, match="'layer_decay'"):
        AdaptSettings(layer_decay=0.0)
