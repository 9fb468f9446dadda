"""One optimiser step of each objective lowers its loss on a tiny fixed batch."""

from __future__ import annotations

import pytest
import torch
from neurodeck.common.types import ConfigError
from neurodeck.models.registry import build_model
from neurodeck.offline_training.objectives import (
    ContrastiveObjective,
    PairTaskObjective,
    SimCLRObjective,
    SupervisedObjective,
    nt_xent,
    shared_time_shift,
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


def _simclr_model(name: str, **extra):
    """A model of 2-s windows at 160 Hz on the 8 named channels."""
    return _model(name, sfreq=160.0, n_times=320, **extra)


@pytest.mark.parametrize("name", ["shallow_convnet", "eegnet"])
def test_simclr_projects_multichannel_windows(name: str) -> None:
    model = _simclr_model(name)
    objective = SimCLRObjective(model, 160.0, proj_dim=16, hidden=32, n_times=320, seed=1)
    assert objective.projector[0].in_features == model.n_features
    assert objective.projector[-1].out_features == 16
    assert model.training  # the dummy forward restored the mode
    x = 20.0 * torch.randn(6, 8, 320)
    v1, v2 = objective.augment(x, objective.generator), objective.augment(x, objective.generator)
    assert v1.shape == v2.shape == x.shape and not torch.equal(v1, v2)
    loss, metrics = objective.loss(x)
    assert loss.ndim == 0 and torch.isfinite(loss) and 0.0 <= metrics["acc"] <= 1.0
    loss.backward()
    assert all(p.grad is not None for p in model.encoder_parameters())


def test_simclr_steps_lower_nt_xent_on_fixed_views() -> None:
    model = _simclr_model("shallow_convnet", n_filters_time=8, n_filters_spat=8, dropout=0.0)
    objective = SimCLRObjective(model, 160.0, temperature=0.5, seed=3)
    batch = 20.0 * torch.randn(8, 8, 320)

    def fixed_loss() -> torch.Tensor:  # the same views every call, so losses are comparable
        objective.generator.manual_seed(3)
        return objective.loss(batch)[0]

    opt = torch.optim.Adam(objective.parameters(), lr=1e-3)
    objective.train()  # batch statistics throughout: running averages play no part
    with torch.no_grad():
        before = float(fixed_loss())
    for _ in range(5):
        loss = fixed_loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = float(fixed_loss())
    assert after < 0.8 * before  # about 2.3 -> 1.0 over seeds 0-9


def test_simclr_views_of_whitened_windows_are_recognisable_before_training() -> None:
    """On aligned (unit-variance) windows, the two views of a window must stay closer to each
    other than to other windows even for a random encoder; otherwise the task cannot start
    (what 10 µV DC offsets did to ShallowConvNet's power features on EEGBCI)."""
    model = _simclr_model("shallow_convnet", dropout=0.0)
    objective = SimCLRObjective(model, 160.0, seed=0).eval()
    gen = torch.Generator().manual_seed(0)
    mixing = torch.randn(32, 8, 8, generator=gen)  # each window its own spatial pattern
    x = mixing @ torch.randn(32, 8, 320, generator=gen)
    x = x / x.std(dim=(1, 2), keepdim=True)
    with torch.no_grad():
        _, metrics = objective.loss(x)
    assert metrics["acc"] > 0.5


def test_simclr_same_seed_same_loss() -> None:
    batch = 20.0 * torch.randn(8, 8, 320)

    def first_loss(seed: int) -> float:
        torch.manual_seed(0)  # same weights
        model = _simclr_model("shallow_convnet", n_filters_time=8, n_filters_spat=8, dropout=0.0)
        with torch.no_grad():
            return float(SimCLRObjective(model, 160.0, seed=seed).loss(batch)[0])

    assert first_loss(5) == first_loss(5)
    assert first_loss(5) != first_loss(6)


def test_simclr_time_shift_is_shared_by_the_channels() -> None:
    x = torch.arange(100, dtype=torch.float32).repeat(4, 3, 1) + 1000.0 * torch.arange(3)[:, None]
    shifted = shared_time_shift(x, 100.0, torch.Generator().manual_seed(0), max_fraction=0.1)
    offsets = shifted - 1000.0 * torch.arange(3)[:, None]
    assert torch.equal(offsets[:, 0], offsets[:, 1]) and torch.equal(offsets[:, 0], offsets[:, 2])
    assert not torch.equal(shifted, x)


def test_simclr_errors_name_the_argument() -> None:
    model = _simclr_model("shallow_convnet", n_filters_time=4, n_filters_spat=4)
    with pytest.raises(ConfigError, match="temperature"):
        SimCLRObjective(model, 160.0, temperature=0.0)
    with pytest.raises(ConfigError, match="p_augment"):
        SimCLRObjective(model, 160.0, p_augment=1.5)
    with pytest.raises(ConfigError, match="band-stop"):  # no room for the stop band at 40 Hz
        SimCLRObjective(model, 40.0)
