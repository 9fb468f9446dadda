"""One optimiser step of each objective lowers its loss on a tiny fixed batch."""

from __future__ import annotations

import pytest
import torch

from common.types import ConfigError
from models.registry import build_model
from offline_training.objectives import (
    ContrastiveObjective,
    PairTaskObjective,
    SupervisedObjective,
    nt_xent,
)

NAMES = ["F3", "Fz", "F4", "C3", "Cz", "C4", "P3", "P4"]


def _model(name: str, **extra):
    config = {"channel_names": NAMES, "sfreq": 64.0, "n_times": 128, "n_outputs": 2, **extra}
    return build_model(name, config)


def _lowers(objective, batch, lr: float = 1e-3, steps: int = 3) -> tuple[float, float]:
    opt = torch.optim.Adam([p for p in objective.parameters() if p.requires_grad], lr=lr)
    objective.eval()
    with torch.no_grad():
        before = float(objective.loss(batch)[0])
    objective.train()
    for _ in range(steps):
        loss, _ = objective.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    objective.eval()
    with torch.no_grad():
        after = float(objective.loss(batch)[0])
    return before, after


def test_nt_xent_prefers_matching_views() -> None:
    z = torch.randn(16, 8)
    matched, acc = nt_xent(z, z + 0.01 * torch.randn(16, 8), 0.1)
    shuffled, _ = nt_xent(z, torch.randn(16, 8), 0.1)
    assert matched < shuffled and acc == 1.0
    with pytest.raises(ConfigError, match="temperature"):
        nt_xent(z, z, 0.0)


def test_supervised_step_lowers_cross_entropy() -> None:
    x = torch.randn(16, 8, 128)
    y = torch.arange(16) % 2
    before, after = _lowers(SupervisedObjective(_model("eegnet")), (x, y), lr=1e-2)
    assert after < before


def test_pair_task_step_lowers_bce() -> None:
    model = _model("spp_eegnet", n_filters=4, dropout=0.0)
    x1 = torch.randn(8, 8, 128)
    x2 = torch.cat([x1[:4] + 0.05 * torch.randn(4, 8, 128), torch.randn(4, 8, 128)])
    label = torch.tensor([1.0] * 4 + [0.0] * 4)
    before, after = _lowers(PairTaskObjective(model, 100), (x1, x2, label), lr=1e-3, steps=5)
    assert after < before


def test_contrastive_step_lowers_nt_xent() -> None:
    model = _model("seqclr", width=8, lstm_hidden_sizes=(4, 4, 4), mlp_hidden=8, n_res_units=1)
    objective = ContrastiveObjective(model, 64.0, temperature=0.5, series_per_batch=16, seed=3)
    batch = torch.randn(2, 8, 128)

    def fixed_loss(b):  # same series and views every call, so losses are comparable
        objective.generator.manual_seed(3)
        return ContrastiveObjective.loss(objective, b)

    objective.loss = fixed_loss
    before, after = _lowers(objective, batch, lr=3e-3, steps=4)
    assert after < before


def test_probe_keeps_a_frozen_encoder_in_eval_mode() -> None:
    model = _model("eegnet")
    model.freeze_encoder()
    SupervisedObjective(model).train()
    assert not model.training and model.head.training
