"""ModelRunner: eager CPU, the reduced-precision check, and (with CUDA) pinned copies and graphs."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from neurodeck.common.types import ConfigError
from neurodeck.models.eegnet import EEGNet
from neurodeck.streaming.runner import ModelRunner, RunnerOptions, check_windows

CHANNELS = ("C3", "Cz", "C4", "FC3", "FC4", "CP3", "CP4", "Pz")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _eegnet() -> torch.nn.Module:
    torch.manual_seed(0)
    return EEGNet(CHANNELS, 160.0, 320, 3).eval()


class Linear(torch.nn.Module):
    """Logits proportional to each window's mean: smooth, precision-tolerant."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(1, 2)) / 20.0
        return torch.stack([m, -m], dim=1)


class Fragile(torch.nn.Module):
    """Two logits that differ by a sliver of a large number: bf16 rounds the sliver away."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Linear(1, 2, bias=False)
        with torch.no_grad():
            self.w.weight.copy_(torch.tensor([[1000.0], [1000.0 + 3.0]]) / 1000.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        big = 1000.0 + x.mean(dim=(1, 2), keepdim=False)[:, None] / 100.0
        return self.w(big)  # (batch, 2): logits differ by ~3, lost in bf16's 8-bit mantissa


def test_cpu_runner_gives_the_models_softmax_as_float64_rows() -> None:
    model = _eegnet()
    runner = ModelRunner(model, "cpu")
    runner.warm_up(len(CHANNELS), 320)
    x = check_windows(len(CHANNELS), 320, n=5)
    probs = runner.predict_proba(x)
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(x)).double(), dim=1).numpy()
    assert probs.dtype == np.float64 and probs.shape == (5, 3)
    np.testing.assert_allclose(probs, expected, atol=1e-6)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-12)
    assert runner.precision == "fp32" and runner.describe() == "cpu fp32, 1 thread"
    assert torch.get_num_threads() == 1  # acquisition and the GUI keep the other core


def test_cpu_runner_uses_one_torch_thread_by_default_on_every_thread() -> None:
    torch.set_num_threads(2)  # the conftest fixture restores the setting afterwards
    seen: list[int] = []

    class Spy(Linear):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(torch.get_num_threads())
            return super().forward(x)

    runner = ModelRunner(Spy(), "cpu")
    assert RunnerOptions().cpu_threads == 1 and torch.get_num_threads() == 1
    worker = threading.Thread(target=runner.predict_proba, args=(check_windows(4, 100, n=1),))
    worker.start()  # the inference worker calls the model from its own thread
    worker.join()
    assert seen == [1] and runner.describe() == "cpu fp32, 1 thread"
    torch.set_num_threads(2)
    ModelRunner(Spy(), "cpu", cpu_threads=0)  # 0 leaves torch's setting alone
    assert torch.get_num_threads() == 2


def test_reduced_precision_is_kept_only_when_it_matches_float32() -> None:
    good = ModelRunner(Linear(), "cpu", options=RunnerOptions(precision="bf16", tolerance=0.02))
    good.warm_up(len(CHANNELS), 320)
    tried = good.check.tried["bf16"]
    assert good.precision == "bf16" and tried["max_abs_diff"] <= 0.02
    assert tried["same_decision"] == 1.0
    bad = ModelRunner(Fragile(), "cpu", options=RunnerOptions(precision="bf16"))
    bad.warm_up(len(CHANNELS), 320)
    assert bad.precision == "fp32" and bad.check.chosen == "fp32"
    assert bad.check.tried["bf16"]["max_abs_diff"] > 0.01
    # what it predicts is float32's
    x = check_windows(len(CHANNELS), 320, n=4)
    ref = ModelRunner(Fragile(), "cpu", options=RunnerOptions(precision="fp32"))
    np.testing.assert_allclose(bad.predict_proba(x), ref.predict_proba(x), atol=1e-6)


def test_auto_precision_on_cpu_is_float32_without_a_check() -> None:
    runner = ModelRunner(Linear(), "cpu")
    runner.warm_up(4, 100)
    assert runner.precision == "fp32" and runner.check.tried == {}
    assert not runner.uses_graphs


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"precision": "int8"}, "precision"), ({"max_batch": 0}, "max_batch"),
     ({"tolerance": 0.0}, "tolerance"), ({"cpu_threads": -1}, "cpu_threads")],
)  # fmt: skip
def test_runner_options_are_validated(kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        RunnerOptions(**kwargs)


def test_check_windows_look_like_eeg() -> None:
    x = check_windows(8, 320, n=16)
    assert x.shape == (16, 8, 320) and x.dtype == np.float32
    assert 10 < float(x.std()) < 60 and np.isfinite(x).all()


@pytest.mark.gpu
@needs_cuda
def test_cuda_graph_path_predicts_as_the_cpu_path() -> None:
    model = _eegnet()
    cpu = ModelRunner(model, "cpu")
    cpu.warm_up(len(CHANNELS), 320)
    gpu = ModelRunner(_eegnet(), "cuda", options=RunnerOptions(precision="fp32"))
    gpu.warm_up(len(CHANNELS), 320)
    assert gpu.uses_graphs and "CUDA graphs" in gpu.describe()
    x = check_windows(len(CHANNELS), 320, n=11)
    np.testing.assert_allclose(gpu.predict_proba(x), cpu.predict_proba(x), atol=1e-4)
    # one window at a time through the batch-1 graph gives the same rows
    rows = np.concatenate([gpu.predict_proba(x[i : i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(rows, cpu.predict_proba(x), atol=1e-4)


@pytest.mark.gpu
@needs_cuda
def test_cuda_graph_replay_equals_eager_and_batches_split() -> None:
    eager = ModelRunner(
        _eegnet(), "cuda", options=RunnerOptions(precision="fp32", cuda_graphs=False)
    )
    graph = ModelRunner(_eegnet(), "cuda", options=RunnerOptions(precision="fp32", max_batch=4))
    for r in (eager, graph):
        r.warm_up(len(CHANNELS), 320)
    assert graph.uses_graphs and not eager.uses_graphs
    x = check_windows(len(CHANNELS), 320, n=10)  # 4 + 4 + 2 through three graphs
    np.testing.assert_allclose(graph.predict_proba(x), eager.predict_proba(x), atol=1e-5)


@pytest.mark.gpu
@needs_cuda
def test_auto_precision_on_cuda_matches_float32_within_its_tolerance() -> None:
    runner = ModelRunner(_eegnet(), "cuda")
    runner.warm_up(len(CHANNELS), 320)
    ref = ModelRunner(_eegnet(), "cpu")
    x = check_windows(len(CHANNELS), 320, n=32, seed=5)
    diff = np.abs(runner.predict_proba(x) - ref.predict_proba(x)).max()
    assert diff <= runner.options.tolerance + 1e-4, runner.check.to_dict()
