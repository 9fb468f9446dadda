"""The model on its device: numpy windows in, class probabilities out, as fast as the device allows.

CPU (the default without CUDA): eager PyTorch in ``inference_mode`` on ``cpu_threads`` threads
(one by default, so that acquisition and the dashboard keep the other cores), float32.

CUDA, for the fixed live window shape ``(batch, n_channels, n_samples)``:

- **pinned host buffers** and non-blocking copies in both directions: the window is copied into a
  page-locked buffer, then to a static device buffer on the current stream, and the probabilities
  come back the same way; one stream synchronisation per call;
- **warm-up** on a side stream (cuDNN autotuning, lazy initialisation) before anything is timed;
- **CUDA graphs**: the forward pass and the softmax are captured once per batch size and replayed,
  which removes the per-kernel launch overhead that dominates small models;
- **reduced precision** (``precision="auto"``): bf16 autocast, kept only when its probabilities
  match float32 on the same check windows within ``tolerance`` (largest absolute difference) and
  with the same decisions; otherwise fp16 is tried, then float32 is kept. :attr:`ModelRunner.check`
  records what was compared;
- **batches**: several windows go through one call; each batch size up to
  ``max_batch`` gets its own graph, larger batches are split.

Nothing here is specific to a model: any module mapping ``(batch, n_channels, n_samples)`` float32
to logits ``(batch, n_classes)`` works.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from neurodeck.common.types import ConfigError, FloatArray
from neurodeck.models.device import select_device

logger = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class RunnerOptions:
    """How a :class:`ModelRunner` runs its model.

    Parameters
    ----------
    precision : str
        ``auto`` (CUDA: bf16 or fp16 when they match float32 on the check windows, else float32;
        CPU: float32), ``fp32``, ``bf16`` or ``fp16`` (the last two are still checked, and refused
        with a warning when they do not match float32).
    cuda_graphs : bool
        Capture the forward pass as CUDA graphs (CUDA only).
    max_batch : int
        Largest batch with its own graph; larger batches are split.
    cpu_threads : int
        torch intra-op threads on CPU (0 leaves torch's setting alone).
    tolerance : float
        Largest absolute difference of probabilities allowed between reduced precision and
        float32 on the check windows.
    """

    precision: str = "auto"
    cuda_graphs: bool = True
    max_batch: int = 8
    cpu_threads: int = 1
    tolerance: float = 0.01

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"'precision' must be one of {', '.join(PRECISIONS)}; got {self.precision!r}."
            )
        if not 1 <= self.max_batch <= 256:
            raise ConfigError(f"'max_batch' must be 1 to 256; got {self.max_batch}.")
        if self.cpu_threads < 0:
            raise ConfigError(f"'cpu_threads' must be >= 0; got {self.cpu_threads}.")
        if not 0 < self.tolerance < 1:
            raise ConfigError(f"'tolerance' must be in (0, 1); got {self.tolerance}.")


@dataclass
class PrecisionCheck:
    """What the reduced-precision check compared (see :meth:`ModelRunner.warm_up`)."""

    chosen: str = "fp32"
    tried: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"chosen": self.chosen, "tried": self.tried}


@dataclass
class _Graph:
    """A captured forward pass for one batch size, with its buffers."""

    graph: torch.cuda.CUDAGraph
    host_in: torch.Tensor  # pinned (batch, chans, times) float32
    dev_in: torch.Tensor  # static device input
    dev_out: torch.Tensor  # static device probabilities (batch, classes) float32
    host_out: torch.Tensor  # pinned (batch, classes) float32


def check_windows(n_channels: int, n_samples: int, n: int = 32, seed: int = 0) -> FloatArray:
    """Windows for the precision check: EEG-like 1/f noise of about 20 uV with alpha bursts.

    Returns
    -------
    windows : ndarray, shape (n, n_channels, n_samples), float32
    """
    rng = np.random.default_rng(seed)
    white = rng.standard_normal((n, n_channels, n_samples))
    pink = np.cumsum(white, axis=-1)
    pink -= pink.mean(axis=-1, keepdims=True)
    pink /= pink.std(axis=-1, keepdims=True) + 1e-9
    t = np.arange(n_samples) / max(n_samples, 1)
    alpha = np.sin(2 * np.pi * 10 * t * 2)[None, None] * rng.uniform(0, 1, (n, n_channels, 1))
    return (20.0 * pink + 10.0 * alpha + 5.0 * white).astype(np.float32)


class ModelRunner:
    """Runs a torch classifier on windows: numpy in, probabilities out.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(batch, n_channels, n_samples)`` float32 to logits ``(batch, n_classes)``.
    device : str
        ``auto``, ``cpu`` or ``cuda[:N]``.
    cpu_threads : int, optional
        Shortcut for ``options.cpu_threads``.
    options : RunnerOptions, optional
    """

    def __init__(
        self,
        model: torch.nn.Module,
        device: str = "auto",
        cpu_threads: int | None = None,
        options: RunnerOptions | None = None,
    ) -> None:
        options = options or RunnerOptions()
        if cpu_threads is not None:
            options = RunnerOptions(**{**options.__dict__, "cpu_threads": cpu_threads})
        self.options = options
        self.device = select_device(device)
        if self.device.type == "cpu" and options.cpu_threads > 0:
            torch.set_num_threads(options.cpu_threads)
        self.model = model.to(self.device).eval()
        self.precision = "fp32"
        self.check = PrecisionCheck()
        self._graphs: dict[int, _Graph] = {}
        self._shape: tuple[int, int] | None = None
        self._graphs_failed = False

    # -- what runs ------------------------------------------------------------------------------
    @property
    def uses_graphs(self) -> bool:
        """True when calls replay CUDA graphs."""
        return bool(self._graphs)

    def describe(self) -> str:
        """Device, precision, graph use and CPU threads in words (health panel, benchmark).

        For example ``"cpu fp32, 1 thread"`` or ``"cuda:0 bf16, CUDA graphs"``.
        """
        parts = [f"{self.device} {self.precision}"]
        if self.uses_graphs:
            parts.append("CUDA graphs")
        if self.device.type == "cpu":
            n = torch.get_num_threads()
            parts.append(f"{n} thread" + ("s" if n != 1 else ""))
        return ", ".join(parts)

    def _forward(self, x: torch.Tensor, precision: str | None = None) -> torch.Tensor:
        """Probabilities ``(batch, n_classes)`` float32 on the device."""
        dtype = _DTYPES[precision or self.precision]
        enabled = dtype != torch.float32
        with torch.autocast(self.device.type, dtype=dtype, enabled=enabled):
            logits = self.model(x)  # (batch, chans, times) -> (batch, classes)
        return torch.softmax(logits.float(), dim=-1)

    # -- calls ----------------------------------------------------------------------------------
    def predict_proba(self, windows: FloatArray) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        windows : ndarray, shape (batch, n_channels, n_samples), float32

        Returns
        -------
        probabilities : ndarray, shape (batch, n_classes), float64
        """
        windows = np.ascontiguousarray(windows, dtype=np.float32)
        if not self._graph_path(windows.shape):
            return self._eager(windows)
        step = self.options.max_batch
        if windows.shape[0] > step:  # one graph per batch size up to max_batch
            return np.concatenate(
                [self.predict_proba(windows[i : i + step]) for i in range(0, len(windows), step)]
            )
        graph = self._graph_for(windows.shape[0])
        return self._replay(graph, windows) if graph is not None else self._eager(windows)

    @torch.inference_mode()
    def _eager(self, windows: FloatArray) -> np.ndarray:
        x = torch.from_numpy(windows).to(self.device, non_blocking=False)
        return _renormalised(self._forward(x).cpu().numpy())

    def _graph_path(self, shape: tuple[int, ...]) -> bool:
        """True when windows of ``shape`` go through CUDA graphs (the warmed-up shape)."""
        return (
            self.device.type == "cuda"
            and self.options.cuda_graphs
            and not self._graphs_failed
            and tuple(shape[1:]) == self._shape
        )

    def _replay(self, g: _Graph, windows: FloatArray) -> np.ndarray:
        g.host_in.numpy()[...] = windows  # into page-locked memory
        g.dev_in.copy_(g.host_in, non_blocking=True)
        g.graph.replay()
        g.host_out.copy_(g.dev_out, non_blocking=True)
        torch.cuda.current_stream(self.device).synchronize()
        return _renormalised(g.host_out.numpy())

    def _graph_for(self, batch: int) -> _Graph | None:
        """The graph for ``batch`` windows of the warmed-up shape (captured on first use)."""
        assert self._shape is not None
        if batch not in self._graphs:
            try:
                self._graphs[batch] = self._capture(batch, self._shape)
            except Exception:  # a model that cannot be captured runs eagerly, said once
                logger.warning("CUDA graph capture failed; running eagerly.", exc_info=True)
                self._graphs_failed = True
                self._graphs.clear()
                return None
        return self._graphs[batch]

    @torch.no_grad()
    def _capture(self, batch: int, shape: tuple[int, ...]) -> _Graph:
        """Capture forward + softmax for ``(batch, *shape)`` after a warm-up on a side stream."""
        n_classes = self._forward(torch.zeros((1, *shape), device=self.device)).shape[1]
        host_in = torch.zeros((batch, *shape), dtype=torch.float32).pin_memory()
        dev_in = torch.zeros((batch, *shape), dtype=torch.float32, device=self.device)
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(3):
                self._forward(dev_in)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            dev_out = self._forward(dev_in)
        host_out = torch.zeros((batch, n_classes), dtype=torch.float32).pin_memory()
        return _Graph(graph, host_in, dev_in, dev_out, host_out)

    # -- set-up ---------------------------------------------------------------------------------
    def warm_up(self, n_channels: int, n_samples: int, repeats: int = 3) -> None:
        """Prepare for windows of ``(n_channels, n_samples)``: precision, graphs, warm caches.

        Runs the model a few times on zeros (first-call costs), chooses the precision (see
        :class:`RunnerOptions`) and, on CUDA, captures the batch-1 graph.
        """
        self._shape = (n_channels, n_samples)
        zeros = np.zeros((1, n_channels, n_samples), np.float32)
        for _ in range(repeats):
            self._eager(zeros)
        self.precision = self._choose_precision(n_channels, n_samples)
        self._graphs.clear()
        if self._graph_path((1, *self._shape)):
            self._graph_for(1)
        for _ in range(repeats):
            self.predict_proba(zeros)
        logger.info("model runner: %s", self.describe())

    def _choose_precision(self, n_channels: int, n_samples: int) -> str:
        """The precision to run in, after comparing reduced precision with float32."""
        wanted = self.options.precision
        if wanted == "fp32" or (wanted == "auto" and self.device.type != "cuda"):
            self.check = PrecisionCheck("fp32")
            return "fp32"
        candidates = ["bf16", "fp16"] if wanted == "auto" else [wanted]
        x = torch.from_numpy(check_windows(n_channels, n_samples)).to(self.device)
        with torch.inference_mode():
            reference = self._forward(x, "fp32")
            check = PrecisionCheck("fp32")
            for name in candidates:
                if self.device.type == "cuda" and name == "bf16" and not _bf16_ok(self.device):
                    continue
                try:
                    probs = self._forward(x, name)
                except RuntimeError as exc:  # an op without a kernel for that dtype
                    check.tried[name] = {"error": 1.0}
                    logger.info("precision %s unavailable: %s", name, exc)
                    continue
                diff = float((probs - reference).abs().max())
                same = float((probs.argmax(1) == reference.argmax(1)).float().mean())
                check.tried[name] = {"max_abs_diff": round(diff, 6), "same_decision": same}
                if diff <= self.options.tolerance and same == 1.0:
                    check.chosen = name
                    break
        self.check = check
        if wanted != "auto" and check.chosen != wanted:
            logger.warning(
                "Precision %s does not match float32 on the check windows (%s); using float32.",
                wanted,
                check.tried.get(wanted),
            )
        return check.chosen


def _renormalised(probs: np.ndarray) -> np.ndarray:
    """float32 probabilities ``(batch, n_classes)`` as float64 rows that sum to 1."""
    out = probs.astype(np.float64)
    return out / out.sum(axis=1, keepdims=True)


def _bf16_ok(device: torch.device) -> bool:
    try:
        return bool(torch.cuda.is_bf16_supported())
    except Exception:  # pragma: no cover - very old drivers
        return False
