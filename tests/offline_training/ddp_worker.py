"""Run by torchrun (2 processes) from test_trainer.py: a tiny DDP training on CPU, gloo."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from neurodeck.offline_training.trainer import Trainer, TrainSettings

from tests.offline_training.test_trainer import _data, _Regression


def main() -> None:
    torch.manual_seed(0)
    out = Path(sys.argv[1])
    objective = _Regression()
    # Like a self-supervised objective's unused classification head: trainable, never in the loss.
    objective.idle_head = torch.nn.Linear(3, 2)
    settings = TrainSettings(epochs=3, batch_size=8, lr=0.2, progress=False, device="cpu")
    history = Trainer(objective, _data(), settings, out).fit()
    weight = objective.linear.weight.detach().flatten().tolist()
    rank = os.environ["RANK"]
    (out / f"rank{rank}.txt").write_text(f"{history[-1]['loss']} {weight}\n")
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
