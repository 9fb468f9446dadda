"""The trainer: loss goes down, logs and curves are written, resume continues exactly."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import torch
from neurodeck.common.types import CheckpointError, ConfigError
from neurodeck.offline_training.train_state import load_train_state
from neurodeck.offline_training.trainer import RESUME_FILE, Trainer, TrainSettings, lr_factor
from safetensors import safe_open
from torch import nn
from torch.utils.data import TensorDataset


class _Regression(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def loss(self, batch):
        x, y = batch
        loss = ((self.linear(x).squeeze(1) - y) ** 2).mean()
        return loss, {"mse": float(loss.detach())}


def _data() -> TensorDataset:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=gen)
    return TensorDataset(x, x @ torch.tensor([1.0, -2.0, 0.5, 3.0]))


def _settings(**kw) -> TrainSettings:
    return TrainSettings(**{"epochs": 4, "batch_size": 16, "lr": 0.2, "progress": False, **kw})


def test_loss_decreases_and_logs_are_written(tmp_path: Path) -> None:
    history = Trainer(_Regression(), _data(), _settings(), tmp_path).fit()
    assert history[-1]["loss"] < history[0]["loss"] / 2
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3, 4]
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_resume_continues_to_the_same_weights(tmp_path: Path) -> None:
    torch.manual_seed(1)
    straight = _Regression()
    Trainer(straight, _data(), _settings(), tmp_path / "a").fit()

    def crash_after_two(epoch: int, record: dict) -> None:
        if epoch == 2:
            raise KeyboardInterrupt  # the process dies after epoch 2 was saved

    torch.manual_seed(1)
    with pytest.raises(KeyboardInterrupt):
        Trainer(_Regression(), _data(), _settings(), tmp_path / "b", on_epoch=crash_after_two).fit()
    resumed = _Regression()  # a new process starts from a fresh module
    history = Trainer(resumed, _data(), _settings(), tmp_path / "b").fit()
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    assert torch.allclose(resumed.linear.weight, straight.linear.weight, atol=1e-6)


def test_resume_file_is_safetensors_not_pickle(tmp_path: Path) -> None:
    Trainer(_Regression(), _data(), _settings(epochs=1), tmp_path).fit()
    with safe_open(str(tmp_path / RESUME_FILE), framework="pt") as f:
        assert "module/linear.weight" in set(f.keys())
    _, optim, info = load_train_state(tmp_path / RESUME_FILE)
    assert info["epoch"] == 1 and optim["state"]


def test_garbage_resume_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / RESUME_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="resume file"):
        Trainer(_Regression(), _data(), _settings(), tmp_path).fit()


def test_early_stopping_keeps_the_best_epoch() -> None:
    scores = iter([0.5, 0.8, 0.6, 0.6, 0.6, 0.6])
    trainer = Trainer(
        _Regression(),
        _data(),
        _settings(epochs=6, patience=2, monitor="val_acc"),
        validate=lambda objective: {"acc": next(scores)},
    )
    history = trainer.fit()
    assert len(history) == 4 and trainer.best_epoch == 2


def test_nan_loss_stops_with_advice() -> None:
    class _Nan(_Regression):
        def loss(self, batch):
            return self.linear(batch[0]).sum() * float("nan"), {}

    with pytest.raises(FloatingPointError, match="learning rate"):
        Trainer(_Nan(), _data(), _settings(epochs=1)).fit()


def test_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="'epochs'"):
        TrainSettings(epochs=0)
    with pytest.raises(ConfigError, match="unknown training settings"):
        TrainSettings.from_dict({"epoch": 3})


def test_schedule_warms_up_then_decays_to_the_floor() -> None:
    factors = [lr_factor(step, 100, 10, 0.1) for step in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[-1] == pytest.approx(0.1, abs=1e-3)
    assert all(a >= b for a, b in itertools.pairwise(factors[10:]))


@pytest.mark.slow
def test_two_process_ddp_keeps_replicas_in_sync(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    worker = Path(__file__).with_name("ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        "29517",
        str(worker),
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ranks = [(tmp_path / f"rank{r}.txt").read_text().split(" ", 1) for r in (0, 1)]
    assert ranks[0][1] == ranks[1][1]  # gradients were all-reduced: identical weights
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 3  # rank 0 logs only
