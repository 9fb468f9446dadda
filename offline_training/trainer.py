"""One training loop for every objective: seeds, progress, logs, curves, resume, DDP.

An *objective* is an ``nn.Module`` that owns the trainable parts (the model and any pretraining
heads) and has ``loss(batch) -> (loss, metrics)``; the trainer knows nothing else about it, so
self-supervised pretraining, cross-subject supervised training and fine-tuning share this code.

Multi-GPU: started under ``torchrun --nproc_per_node N``, the trainer joins the process group
(NCCL on CUDA, Gloo on CPU), wraps the objective in ``DistributedDataParallel``, shards the data
with ``DistributedSampler`` and writes logs and checkpoints from rank 0 only. Started plainly it
runs in one process; that path is what the tests exercise.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from neurodeck.common.checks import check_int, check_positive
from neurodeck.common.types import ConfigError
from neurodeck.models.device import select_device
from neurodeck.offline_training.train_state import load_train_state, save_train_state
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, RandomSampler

logger = logging.getLogger(__name__)

Batch = Any
Metrics = dict[str, float]
RESUME_FILE = "resume.safetensors"
LOG_FILE = "metrics.jsonl"
CURVES_FILE = "curves.png"


@dataclass(frozen=True)
class TrainSettings:
    """How an objective is optimised.

    Parameters
    ----------
    epochs : int
        Passes over the data (or over ``steps_per_epoch`` batches).
    batch_size : int
        Samples per step and process.
    lr : float
        Peak learning rate (each parameter group may scale it with its own ``lr_scale``).
    min_lr : float
        Final learning rate of the cosine schedule.
    warmup_epochs : float
        Linear warm-up from 0, in epochs.
    weight_decay : float
        Decoupled weight decay (AdamW); 1-D parameters and biases are exempt.
    betas : tuple of float
        Adam betas.
    grad_clip : float or None
        Clip the global gradient norm to this value.
    steps_per_epoch : int or None
        Cap on the batches per epoch (random subset each epoch); None for the whole dataset.
    seed : int
        Seeds torch, numpy, python and the data order.
    num_workers : int
        DataLoader worker processes.
    device : str
        ``auto``, ``cpu`` or ``cuda[:N]`` (under torchrun: the local rank's GPU).
    patience : int or None
        Stop when the validation metric has not improved for this many epochs.
    monitor : str
        Validation metric to monitor (higher is better unless it ends in ``loss``).
    progress : bool
        Show a progress bar on rank 0.
    """

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    min_lr: float = 0.0
    warmup_epochs: float = 0.0
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float | None = None
    steps_per_epoch: int | None = None
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    patience: int | None = None
    monitor: str = "val_loss"
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            object.__setattr__(self, name, check_int(name, getattr(self, name)))
        check_positive("lr", self.lr)
        if self.min_lr < 0 or self.min_lr > self.lr:
            raise ConfigError(f"'min_lr' must lie in [0, lr={self.lr}]; got {self.min_lr}.")
        if self.warmup_epochs < 0 or self.weight_decay < 0:
            raise ConfigError("'warmup_epochs' and 'weight_decay' must be >= 0.")
        if self.grad_clip is not None:
            check_positive("grad_clip", self.grad_clip)
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ConfigError(f"'steps_per_epoch' must be >= 1; got {self.steps_per_epoch}.")
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSettings:
        """Build from a TOML table, naming unknown keys."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown training settings {unknown}; known: {sorted(known)}.")
        return cls(**data)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (libraries draw from it)
    torch.manual_seed(seed)


def default_param_groups(module: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two groups: weight-decayed matrices and exempt 1-D parameters (norms, biases, tokens)."""
    decay, exempt = [], []
    for p in module.parameters():
        if p.requires_grad:
            (decay if p.ndim > 1 else exempt).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": exempt, "weight_decay": 0.0},
    ]


def lr_factor(step: int, total: int, warmup: int, min_ratio: float) -> float:
    """Multiplier of the peak rate: linear warm-up, then cosine decay to ``min_ratio``."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


@dataclass(frozen=True)
class _Schedule:
    """Per-group peak rates and the warm-up + cosine factor over the whole run."""

    bases: list[float]
    steps_per_epoch: int
    epochs: int
    warmup_steps: int
    min_ratio: float

    def apply(self, optimizer: torch.optim.Optimizer, step: int) -> None:
        """Set every group's learning rate for optimisation step ``step``."""
        total = self.steps_per_epoch * self.epochs
        factor = lr_factor(step, total, self.warmup_steps, self.min_ratio)
        for group, base in zip(optimizer.param_groups, self.bases, strict=True):
            group["lr"] = base * factor


class _LossModule(nn.Module):
    """Gives an objective a ``forward`` so that DistributedDataParallel can wrap it."""

    def __init__(self, objective: nn.Module) -> None:
        super().__init__()
        self.objective = objective

    def forward(self, batch: Batch) -> tuple[Tensor, Metrics]:
        return self.objective.loss(batch)


def _to_device(batch: Batch, device: torch.device) -> Batch:
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch


@dataclass
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(device: str) -> tuple[_Dist, torch.device]:
    """Join the torchrun process group when launched by torchrun; pick the device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist(), select_device(device)
    import torch.distributed as dist

    dist_info = _Dist(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    use_cuda = torch.cuda.is_available() and device != "cpu"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(dist_info.local_rank)
        return dist_info, torch.device("cuda", dist_info.local_rank)
    return dist_info, torch.device("cpu")


class Trainer:
    """Optimise an objective over a dataset, with logs, curves, checkpoints and resume.

    Parameters
    ----------
    objective : nn.Module
        Has ``loss(batch) -> (loss, metrics)``; all its trainable parameters are optimised.
    dataset : Dataset
        Yields samples that ``collate_fn`` (default: torch's) turns into a batch.
    settings : TrainSettings
    out_dir : Path or None
        Where ``metrics.jsonl``, ``curves.png`` and ``resume.safetensors`` go; None keeps
        nothing on disk (in-memory fine-tuning).
    collate_fn : callable, optional
    param_groups : list of dict, optional
        Optimizer groups; a group may carry ``lr_scale`` (layer-wise learning rates). Default:
        :func:`default_param_groups`.
    validate : callable, optional
        ``validate(objective) -> metrics`` run after each epoch on rank 0 (prefix ``val_``).
    on_epoch : callable, optional
        ``on_epoch(epoch, record)`` after each epoch (progress reporting to a GUI, ...).

    Notes
    -----
    Runs in the calling thread; a GUI must call it from a worker thread.
    """

    def __init__(
        self,
        objective: nn.Module,
        dataset: Dataset,
        settings: TrainSettings,
        out_dir: Path | None = None,
        collate_fn: Callable | None = None,
        param_groups: list[dict[str, Any]] | None = None,
        validate: Callable[[nn.Module], Metrics] | None = None,
        on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
    ) -> None:
        if not hasattr(objective, "loss"):
            raise ConfigError(f"{type(objective).__name__} has no loss(batch) method.")
        self.objective = objective
        self.dataset = dataset
        self.settings = settings
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.collate_fn = collate_fn
        self._groups = param_groups
        self.validate = validate
        self.on_epoch = on_epoch
        self.history: list[dict[str, Any]] = []
        self.best_state: dict[str, Tensor] | None = None
        self.best_epoch: int | None = None

    # -- set-up ---------------------------------------------------------------------------------

    def _loader(self, dist_info: _Dist, epoch: int) -> DataLoader:
        s = self.settings
        gen = torch.Generator().manual_seed(s.seed * 100_003 + epoch)
        n_samples = None if s.steps_per_epoch is None else s.steps_per_epoch * s.batch_size
        if dist_info.world > 1:
            sampler: Any = DistributedSampler(self.dataset, seed=s.seed, drop_last=True)
            sampler.set_epoch(epoch)
        else:
            n_samples = min(n_samples or len(self.dataset), len(self.dataset))
            sampler = RandomSampler(self.dataset, num_samples=n_samples, generator=gen)
        return DataLoader(
            self.dataset,
            batch_size=s.batch_size,
            sampler=sampler,
            collate_fn=self.collate_fn,
            num_workers=s.num_workers,
            drop_last=len(self.dataset) % s.batch_size == 1,  # no batch of one (norms)
            pin_memory=torch.cuda.is_available(),
            persistent_workers=False,
        )

    def _optimizer(self) -> torch.optim.Optimizer:
        s = self.settings
        groups = self._groups or default_param_groups(self.objective, s.weight_decay)
        groups = [dict(g) for g in groups if any(p.requires_grad for p in g["params"])]
        if not groups:
            raise ConfigError("nothing to train: every parameter of the objective is frozen.")
        for g in groups:
            g["params"] = [p for p in g["params"] if p.requires_grad]
            g["lr"] = s.lr * g.pop("lr_scale", 1.0)
            g.setdefault("weight_decay", s.weight_decay)
        return torch.optim.AdamW(groups, lr=s.lr, betas=s.betas, weight_decay=s.weight_decay)

    # -- the loop -------------------------------------------------------------------------------

    def fit(self, resume: bool = True) -> list[dict[str, Any]]:
        """Train for ``settings.epochs`` epochs (continuing a saved run when ``resume``).

        Returns
        -------
        history : list of dict
            One record per epoch: epoch, lr, train metrics (means), val metrics, seconds.
        """
        s = self.settings
        seed_everything(s.seed)
        dist_info, device = _init_distributed(s.device)
        self.objective.to(device)
        module: nn.Module = _LossModule(self.objective)
        if dist_info.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [device.index] if device.type == "cuda" else None
            # Self-supervised objectives never touch the model's classification head: without
            # find_unused_parameters DDP stops at the second step, missing their gradients.
            module = DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)
        optimizer = self._optimizer()
        bases = [g["lr"] for g in optimizer.param_groups]  # before a resume overwrites them
        start = self._maybe_resume(optimizer, resume)
        steps = len(self._loader(dist_info, 0))
        schedule = _Schedule(
            bases, steps, s.epochs, round(s.warmup_epochs * steps), s.min_lr / s.lr
        )
        for epoch in range(start, s.epochs):
            t0 = time.perf_counter()
            record = self._epoch(epoch, module, optimizer, schedule, dist_info, device)
            if self.validate is not None and dist_info.main:
                self.objective.eval()
                with torch.no_grad():
                    record.update({f"val_{k}": v for k, v in self.validate(self.objective).items()})
            record["seconds"] = round(time.perf_counter() - t0, 2)
            if self._end_epoch(record, optimizer, dist_info):
                break
        return self.history

    def _epoch(
        self,
        epoch: int,
        module: nn.Module,
        optimizer: torch.optim.Optimizer,
        schedule: _Schedule,
        dist_info: _Dist,
        device: torch.device,
    ) -> dict[str, Any]:
        """One pass over the data; the record holds the mean of each training metric."""
        self.objective.train()
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)  # datasets that draw pairs / crops per epoch
        sums: dict[str, float] = {}
        n = 0
        loader = self._loader(dist_info, epoch)
        for i, batch in enumerate(self._progress(loader, epoch, dist_info)):
            schedule.apply(optimizer, epoch * schedule.steps_per_epoch + i)
            metrics = self._step(module, optimizer, _to_device(batch, device))
            for k, v in metrics.items():
                sums[k] = sums.get(k, 0.0) + v
            n += 1
        record = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"]}
        record.update({k: v / max(n, 1) for k, v in sums.items()})
        return record

    def _step(self, module: nn.Module, optimizer: torch.optim.Optimizer, batch: Batch) -> Metrics:
        loss, metrics = module(batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss became {loss.item()}; lower the learning rate or check the data "
                "for NaN/inf samples."
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.settings.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.objective.parameters(), self.settings.grad_clip)
        optimizer.step()
        if hasattr(self.objective, "after_step"):
            self.objective.after_step()
        return {"loss": float(loss.detach()), **{k: float(v) for k, v in metrics.items()}}

    def _progress(self, loader: DataLoader, epoch: int, dist_info: _Dist) -> Iterable:
        if not (self.settings.progress and dist_info.main):
            return loader
        from tqdm.auto import tqdm

        desc = f"epoch {epoch + 1}/{self.settings.epochs}"
        return tqdm(loader, desc=desc, leave=False, file=sys.stderr, disable=None)

    def _end_epoch(
        self, record: dict[str, Any], optimizer: torch.optim.Optimizer, dist_info: _Dist
    ) -> bool:
        """Log, keep the best state, checkpoint; True when early stopping says stop."""
        self.history.append(record)
        logger.info("%s", " ".join(f"{k}={_fmt(v)}" for k, v in record.items()))
        improved = self._track_best(record)
        if dist_info.main and self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with open(self.out_dir / LOG_FILE, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            info = {
                "epoch": record["epoch"],
                "history": self.history,
                "settings": asdict(self.settings),
            }
            save_train_state(
                self.out_dir / RESUME_FILE,
                self.objective.state_dict(),
                optimizer.state_dict(),
                info,
            )
            plot_curves(self.history, self.out_dir / CURVES_FILE)
        if self.on_epoch is not None:
            self.on_epoch(record["epoch"], record)
        patience = self.settings.patience
        if patience is None or self.best_epoch is None or improved:
            return False
        return record["epoch"] - self.best_epoch >= patience

    def _track_best(self, record: dict[str, Any]) -> bool:
        key = self.settings.monitor
        if key not in record:
            return False
        value = record[key]
        sign = -1.0 if key.endswith("loss") else 1.0
        best = None if self.best_epoch is None else self.history[self.best_epoch - 1][key]
        if best is None or sign * value > sign * best:
            self.best_epoch = record["epoch"]
            self.best_state = {
                k: v.detach().clone() for k, v in self.objective.state_dict().items()
            }
            return True
        return False

    def _maybe_resume(self, optimizer: torch.optim.Optimizer, resume: bool) -> int:
        if not resume or self.out_dir is None or not (self.out_dir / RESUME_FILE).exists():
            if self.out_dir is not None and (self.out_dir / LOG_FILE).exists():
                (self.out_dir / LOG_FILE).unlink()  # a fresh run starts a fresh log
            return 0
        module_state, optim_state, info = load_train_state(self.out_dir / RESUME_FILE)
        self.objective.load_state_dict(module_state)
        optimizer.load_state_dict(optim_state)
        self.history = list(info["history"])
        logger.info("Resumed %s at epoch %d", self.out_dir, info["epoch"])
        return int(info["epoch"])

    def restore_best(self) -> None:
        """Load the state of the best validation epoch (no-op without validation)."""
        if self.best_state is not None:
            self.objective.load_state_dict(self.best_state)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def plot_curves(history: list[dict[str, Any]], path: Path) -> None:
    """PNG of every numeric metric against the epoch (loss-like metrics on their own panel)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in history[0] if k not in ("epoch", "lr", "seconds")]
    epochs = [r["epoch"] for r in history]
    losses = [k for k in keys if "loss" in k]
    others = [k for k in keys if k not in losses]
    fig, axes = plt.subplots(1, 2 if others else 1, figsize=(10 if others else 5, 3.5))
    axes = np.atleast_1d(axes)
    for ax, group, title in ((axes[0], losses, "loss"), (axes[-1], others, "metrics")):
        for k in group:
            ax.plot(epochs, [r.get(k, np.nan) for r in history], marker=".", label=k)
        ax.set_xlabel("epoch")
        ax.set_title(title)
        if group:
            ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)
