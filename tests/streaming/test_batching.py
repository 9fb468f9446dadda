"""BatchedInferenceWorker: several lanes, one model call per shape, per-lane stale drops."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from neurodeck.common.types import ConfigError, Prediction
from neurodeck.models.eegnet import EEGNet
from neurodeck.streaming.batching import BatchedInferenceWorker
from neurodeck.streaming.inference import InferenceWorker, Lane
from neurodeck.streaming.lsl_io import local_clock
from neurodeck.streaming.ring_buffer import RingBuffer
from neurodeck.streaming.runner import ModelRunner, RunnerOptions
from neurodeck.streaming.scheduler import WindowScheduler

from tests.lsl_helpers import wait_until

CHANNELS = ("C3", "Cz", "C4", "FC3", "FC4", "CP3", "CP4", "Pz")
SFREQ, WINDOW_N, HOP_N = 160.0, 320, 40
CLASSES = ("left", "right", "feet")


class SpyRunner(ModelRunner):
    """A ModelRunner that notes the shape of every batch it is given."""

    def __init__(self, *args, delay_s: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shapes: list[tuple[int, ...]] = []
        self.delay_s = delay_s

    def predict_proba(self, windows: np.ndarray) -> np.ndarray:
        self.shapes.append(tuple(windows.shape))
        time.sleep(self.delay_s)
        return super().predict_proba(windows)


class MeanModel(torch.nn.Module):
    """Any ``(batch, chans, times)`` to three logits: works for every window shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(1, 2)) / 20.0
        s = x.std(dim=(1, 2)) / 20.0
        return torch.stack([m, -m, s], dim=1)


def _eegnet() -> torch.nn.Module:
    torch.manual_seed(0)
    return EEGNet(CHANNELS, SFREQ, WINDOW_N, len(CLASSES)).eval()


def _signal(seed: int, n_channels: int = len(CHANNELS), n: int = 2000) -> np.ndarray:
    """EEG-like samples, shape (n_channels, n), float32."""
    return (np.random.default_rng(seed).standard_normal((n_channels, n)) * 20).astype(np.float32)


def _write(buffer: RingBuffer, data: np.ndarray, start: int, t_recv: float | None = None) -> None:
    """Write ``data`` (n_channels, n) as samples ``start ..`` at SFREQ."""
    stamps = (start + np.arange(data.shape[1])) / SFREQ
    buffer.write(data, stamps, local_clock() if t_recv is None else t_recv)


def _lane(name: str, n_channels: int = len(CHANNELS), window_n: int = WINDOW_N, **kw) -> Lane:
    buffer = RingBuffer(n_channels, 4000)
    return Lane(CLASSES, buffer, WindowScheduler(window_n, HOP_N), SFREQ, name=name, **kw)


def _single(runner: ModelRunner, lane: Lane, deadline_s: float | None = 0.5) -> InferenceWorker:
    """The one-stream worker on a copy of ``lane``'s grid (its own buffer)."""
    buffer = RingBuffer(lane.buffer.n_channels, lane.buffer.capacity)
    return InferenceWorker(
        runner,
        CLASSES,
        buffer,
        threading.Event(),
        WindowScheduler(lane.scheduler.window_n, HOP_N),
        SFREQ,
        deadline_s=deadline_s,
    )


def _same(batched: Prediction, single: Prediction) -> None:
    np.testing.assert_allclose(batched.probabilities, single.probabilities, rtol=0, atol=1e-6)
    assert batched.end_index == single.end_index and batched.t_last == single.t_last
    assert batched.seq == single.seq and batched.class_names == single.class_names


def test_two_lanes_predict_what_one_lane_workers_predict_in_one_call() -> None:
    runner = SpyRunner(_eegnet(), "cpu")
    lanes = [_lane("a"), _lane("b")]
    worker = BatchedInferenceWorker(runner, lanes)
    singles = [_single(ModelRunner(_eegnet(), "cpu"), lane) for lane in lanes]
    signals = [_signal(1), _signal(2)]
    got: dict[str, list[Prediction]] = {"a": [], "b": []}
    for lane in lanes:
        lane.sinks.append(got[lane.name].append)
    start = 0
    for n in (400, 40, 100, 40):  # the second round is one hop; the third skips one grid point
        for lane, single, sig in zip(lanes, singles, signals, strict=True):
            _write(lane.buffer, sig[:, start : start + n], start)
            _write(single.buffer, sig[:, start : start + n], start)
        start += n
        batched = worker.step()
        assert runner.shapes[-1] == (2, len(CHANNELS), WINDOW_N)  # both lanes, one call
        assert [p.end_index for p in batched] == [start - start % HOP_N] * 2
        for pred, single in zip(batched, singles, strict=True):
            _same(pred, single.step())
    assert len(runner.shapes) == 4 and worker.n_batches == 4 and worker.batch_sizes == {2: 4}
    assert [len(v) for v in got.values()] == [4, 4]  # each lane's sinks got its own
    assert worker.step() == [] and len(runner.shapes) == 4  # nothing due: no call
    status = worker.status("b")
    assert status.n_predictions == 4 and status.dropped_skipped == 1 and status.dropped == 1
    assert status.runner == "cpu fp32, 1 thread" and status.latency.n == 4
    assert set(worker.statuses()) == {"a", "b"}


def test_a_stale_lane_window_is_dropped_without_holding_the_other_lane() -> None:
    runner = SpyRunner(MeanModel(), "cpu")
    stale, fresh = _lane("stale"), _lane("fresh")
    worker = BatchedInferenceWorker(runner, [stale, fresh], deadline_s=0.5)
    _write(stale.buffer, _signal(1, n=400), 0, t_recv=local_clock() - 2.0)  # pulled 2 s ago
    _write(fresh.buffer, _signal(2, n=400), 0)
    preds = worker.step()
    assert runner.shapes == [(1, len(CHANNELS), WINDOW_N)]  # the fresh window alone
    assert len(preds) == 1 and fresh.latest is preds[0] and stale.latest is None
    assert worker.status("stale").dropped_stale == 1 and worker.status("stale").n_predictions == 0
    assert worker.status("fresh").dropped_stale == 0 and worker.status("fresh").n_predictions == 1
    # an invalid window (filters settling) is counted in its lane too
    invalid = _lane("invalid", bad_until=lambda: 10_000)
    other = BatchedInferenceWorker(SpyRunner(MeanModel(), "cpu"), [invalid])
    _write(invalid.buffer, _signal(3, n=400), 0)
    assert other.step() == [] and other.status().dropped_invalid == 1


def test_different_shapes_go_in_separate_batches() -> None:
    runner = SpyRunner(MeanModel(), "cpu")
    lanes = [_lane("a"), _lane("small", n_channels=4, window_n=160), _lane("b")]
    worker = BatchedInferenceWorker(runner, lanes)
    singles = [_single(ModelRunner(MeanModel(), "cpu"), lane) for lane in lanes]
    for i, (lane, single) in enumerate(zip(lanes, singles, strict=True)):
        sig = _signal(i, n_channels=lane.buffer.n_channels, n=400)
        _write(lane.buffer, sig, 0)
        _write(single.buffer, sig, 0)
    preds = worker.step()
    assert sorted(runner.shapes) == [(1, 4, 160), (2, len(CHANNELS), WINDOW_N)]
    assert worker.batch_sizes == {1: 1, 2: 1}
    by_lane = {lane.name: lane.latest for lane in lanes}
    assert len(preds) == 3 and all(p is not None for p in by_lane.values())
    for lane, single in zip(lanes, singles, strict=True):
        _same(by_lane[lane.name], single.step())


def test_a_slow_batch_makes_the_next_shapes_window_stale() -> None:
    runner = SpyRunner(MeanModel(), "cpu", delay_s=0.4)
    first, second = _lane("first"), _lane("second", n_channels=4)
    worker = BatchedInferenceWorker(runner, [second, first], deadline_s=0.2)
    _write(first.buffer, _signal(1, n=400), 0, t_recv=local_clock() - 0.01)  # the oldest: first
    _write(second.buffer, _signal(2, n_channels=4, n=400), 0)
    preds = worker.step()
    assert [p.end_index for p in preds] == [400] and first.latest is preds[0]
    assert runner.shapes == [(1, len(CHANNELS), WINDOW_N)]  # the second batch never ran
    assert worker.status("second").dropped_stale == 1


def test_max_batch_follows_the_lane_count_and_names_are_checked() -> None:
    runner = ModelRunner(MeanModel(), "cpu", options=RunnerOptions(max_batch=1))
    worker = BatchedInferenceWorker(runner, [_lane(""), _lane(""), _lane("")])
    assert runner.options.max_batch == 3 and runner.options.cpu_threads == 1
    assert [lane.name for lane in worker.lanes] == ["lane0", "lane1", "lane2"]
    assert worker.lane("lane2") is worker.lanes[2]
    with pytest.raises(KeyError, match="No lane named 'x'"):
        worker.lane("x")
    with pytest.raises(ConfigError, match="at least one lane"):
        BatchedInferenceWorker(runner, [])
    with pytest.raises(ConfigError, match="a appear more than once"):
        BatchedInferenceWorker(runner, [_lane("a"), _lane("a")])


def test_worker_thread_serves_both_lanes_with_batches_of_two() -> None:
    runner = SpyRunner(_eegnet(), "cpu")
    lanes = [_lane("a"), _lane("b", n_channels=len(CHANNELS))]
    worker = BatchedInferenceWorker(runner, lanes).start()
    warm_batches = {s[0] for s in runner.shapes}
    assert {1, 2} <= warm_batches  # every batch size was warmed up
    signals = [_signal(1, n=4000), _signal(2, n=4000)]
    stop = threading.Event()

    def feed() -> None:  # a hop at a time into both buffers, then one wake-up
        start = 0
        while not stop.is_set() and start + HOP_N <= 4000:
            for lane, sig in zip(lanes, signals, strict=True):
                _write(lane.buffer, sig[:, start : start + HOP_N], start)
            worker.notify()
            start += HOP_N
            time.sleep(0.02)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        assert wait_until(lambda: all(ln.n_predictions >= 10 for ln in lanes), 20.0)
    finally:
        stop.set()
        feeder.join(5.0)
        worker.stop()
    assert worker.batch_sizes[2] >= 5 and worker.status().n_faults == 0
    assert all(np.all(np.diff([p.end_index for p in ln.recent]) > 0) for ln in lanes)


@pytest.mark.lsl
def test_two_lsl_streams_on_loopback_share_one_model(unique_id) -> None:
    from neurodeck.streaming.acquisition import Acquisition
    from neurodeck.streaming.lsl_io import resolve_stream
    from neurodeck.streaming.preprocessing import PreprocessingConfig
    from neurodeck.streaming.session import DecoderSpec, build_preprocessor

    from tests.lsl_helpers import IndexedOutlet

    names = ["index", *CHANNELS]
    spec = DecoderSpec(
        _eegnet(),
        CHANNELS,
        SFREQ,
        2.0,
        CLASSES,
        PreprocessingConfig(bandpass=(8.0, 30.0)).to_dict(),
    )
    uids = [f"{unique_id}-a", f"{unique_id}-b"]
    outlets = [
        IndexedOutlet(uid, len(names), SFREQ, 100_000, speed=4.0, chunk_n=8, channel_names=names)
        for uid in uids
    ]
    acqs = [
        Acquisition(
            resolve_stream(source_id=uid),
            preprocessor_factory=lambda m: build_preprocessor(spec, m),
        )
        for uid in uids
    ]
    lanes = []
    for uid, acq in zip(uids, acqs, strict=True):
        assert acq.processed is not None
        lanes.append(
            Lane(
                CLASSES,
                acq.processed,
                WindowScheduler(WINDOW_N, HOP_N),
                SFREQ,
                bad_until=lambda acq=acq: acq.bad_until,
                name=uid,
            )
        )
    runner = SpyRunner(spec.model, "cpu")
    worker = BatchedInferenceWorker(runner, lanes)
    for acq in acqs:
        acq.data_event = worker.data_event  # every acquisition wakes the one worker
        acq.start()
    worker.start()
    for outlet in outlets:
        outlet.start()
    try:
        assert wait_until(lambda: all(ln.n_predictions >= 8 for ln in lanes), 30.0)
    finally:
        worker.stop()
        for acq in acqs:
            acq.stop()
        for outlet in outlets:
            outlet.close()
    assert runner.options.max_batch >= 2 and worker.status().n_faults == 0
    for lane in lanes:
        preds = list(lane.recent)
        assert all(abs(sum(p.probabilities) - 1) < 1e-9 for p in preds)
        assert all(p.t_last <= p.t_recv <= p.t_out for p in preds)
        assert lane.buffer.counters().lost_samples == 0
