"""DecodeSession over real LSL: predictions flow; bad streams and samples give clear outcomes."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from neurodeck.common.types import ChannelMappingError, ConfigError
from neurodeck.models.tangent_space import TangentSpaceLR
from neurodeck.streaming.lsl_io import resolve_stream
from neurodeck.streaming.preprocessing import PreprocessingConfig
from neurodeck.streaming.session import DecoderSpec, DecodeSession

from tests.lsl_helpers import IndexedOutlet, wait_until

pytestmark = pytest.mark.lsl

EEGBCI_LIKE = ["index", "C3..", "Cz..", "C4..", "Fz.."]


def _spec(sfreq: float = 160.0) -> DecoderSpec:
    rng = np.random.default_rng(0)
    model = TangentSpaceLR.from_fitted(np.eye(3), rng.standard_normal((1, 6)), np.zeros(1), 2)
    return DecoderSpec(
        model=model,
        channel_names=("C3", "Cz", "C4"),
        sfreq=sfreq,
        window_s=1.0,
        class_names=("left", "right"),
        preprocessing=PreprocessingConfig(bandpass=(8.0, 30.0)).to_dict(),
    )


def _outlet(uid: str, sfreq: float = 160.0, n: int = 100_000, names=EEGBCI_LIKE, speed=4.0):
    return IndexedOutlet(
        uid, len(names), sfreq, n, speed=speed, chunk_n=8, channel_names=names, source_id=uid
    )


def test_predictions_flow_with_latency_fields(unique_id) -> None:
    outlet = _outlet(unique_id)
    got = []
    torch.set_num_threads(2)  # the session's runner brings it to one thread on CPU
    session = DecodeSession(
        resolve_stream(source_id=unique_id), _spec(), hop_s=0.25, device="cpu", sinks=[got.append]
    ).start()
    outlet.start()
    try:
        assert wait_until(lambda: len(got) >= 20, 15.0)
        snap = session.snapshot()
    finally:
        session.stop()
        outlet.close()
    assert snap.acquisition.lost_samples == 0
    assert all(abs(sum(p.probabilities) - 1) < 1e-9 for p in got)
    ends = np.array([p.end_index for p in got])
    assert np.all(np.diff(ends) % 40 == 0) and np.all(np.diff(ends) > 0)
    assert all(p.t_last <= p.t_recv <= p.t_out for p in got)
    assert snap.worker.latency.n >= 20 and snap.worker.latency.e2e_p99_ms < 1000
    assert snap.worker.runner == "cpu fp32, 1 thread" and torch.get_num_threads() == 1


@pytest.mark.parametrize(
    ("make_outlet", "error", "expected"),
    [
        (
            lambda uid: _outlet(uid, names=["index", "Fz..", "Pz..", "Oz.."]),
            ChannelMappingError,
            ["C3", "C4"],
        ),
        (
            lambda uid: IndexedOutlet(uid, 5, 160.0, 10, labels=False),
            ChannelMappingError,
            ["declares no channel labels"],
        ),
        # band-pass edge 30 Hz is above the Nyquist frequency of a 50 Hz stream
        (lambda uid: _outlet(uid, sfreq=50.0), ConfigError, ["Nyquist"]),
    ],
    ids=["missing-channels", "unlabelled", "rate-too-low"],
)
def test_unusable_streams_are_refused_with_a_reason(unique_id, make_outlet, error, expected):
    outlet = make_outlet(unique_id)
    try:
        with pytest.raises(error) as err:
            DecodeSession(resolve_stream(source_id=unique_id), _spec(), device="cpu")
    finally:
        outlet.close()
    assert all(text in str(err.value) for text in expected)


def test_other_rate_is_resampled_to_the_model_rate(unique_id) -> None:
    outlet = _outlet(unique_id, sfreq=250.0)
    got = []
    session = DecodeSession(
        resolve_stream(source_id=unique_id), _spec(), device="cpu", sinks=[got.append]
    ).start()
    outlet.start()
    try:
        assert wait_until(lambda: len(got) >= 5, 15.0)
        assert session.acquisition.processed.n_channels == 3
    finally:
        session.stop()
        outlet.close()
    ratio = session.acquisition.processed.n_written / session.acquisition.raw.n_written
    assert ratio == pytest.approx(160 / 250, abs=0.01)


def test_nan_samples_are_counted_and_their_windows_skipped(unique_id) -> None:
    outlet = _outlet(unique_id)
    outlet.nan_at = 800  # channel 1 ('C3..') gets a NaN at 5 s
    got = []
    session = DecodeSession(
        resolve_stream(source_id=unique_id), _spec(), device="cpu", sinks=[got.append]
    ).start()
    outlet.start()
    try:
        assert wait_until(lambda: session.acquisition.raw.n_written > 2400, 20.0)
        assert wait_until(lambda: any(p.end_index > 2200 for p in got), 5.0)
        snap = session.snapshot()
    finally:
        session.stop()
        outlet.close()
    assert snap.acquisition.n_nonfinite == 1
    assert "C3.." in snap.acquisition.message
    assert snap.worker.dropped_invalid >= 4  # every window over the NaN (+ settling)
    assert all(np.isfinite(p.probabilities).all() for p in got)
    assert not any(p.end_index - 160 <= 800 < p.end_index for p in got)


def test_a_stalls_backlog_is_dropped_as_stale_and_every_window_is_accounted(unique_id) -> None:
    """SIGSTOP/SIGCONT of a source: its backlog is never decoded late, and nothing is uncounted."""
    outlet = _outlet(unique_id, speed=1.0)
    got = []
    session = DecodeSession(
        resolve_stream(source_id=unique_id),
        _spec(),
        hop_s=0.25,
        device="cpu",
        sinks=[got.append],
        deadline_s=0.5,
    ).start()
    outlet.start()
    try:
        assert wait_until(lambda: len(got) >= 8, 15.0)
        outlet.pause()
        time.sleep(1.2)  # 1.2 s of samples fall due (shorter than stall_s: no re-attach)
        paused_at = outlet.pushed
        outlet.resume()
        assert wait_until(lambda: outlet.pushed > paused_at + 160 * 5, 15.0)
        assert wait_until(lambda: len(got) > 0 and got[-1].end_index > paused_at + 160 * 4, 10.0)
    finally:
        session.stop()
        outlet.close()
    worker = session.snapshot().worker
    assert not [p for p in got if p.t_out - p.t_last > 0.5 + 0.2], "decoded late"
    assert worker.dropped_skipped + worker.dropped_stale >= 1  # the backlog is not all decoded
    assert worker.n_predictions + worker.dropped + worker.n_faults == worker.n_windows
    assert worker.n_windows >= (outlet.pushed - 160) // 40 - 8  # about one per hop, all counted


def test_decoding_resumes_after_the_stream_comes_back(unique_id) -> None:
    first = _outlet(unique_id, n=480, speed=1.0)
    got = []
    session = DecodeSession(
        resolve_stream(source_id=unique_id), _spec(), device="cpu", sinks=[got.append]
    ).start()
    first.start()
    try:
        assert wait_until(first.done, 10.0) and wait_until(lambda: len(got) > 0, 5.0)
        first.close()
        assert wait_until(lambda: session.snapshot().acquisition.state == "stalled", 3.0)
        n_before = len(got)
        second = _outlet(unique_id, n=2000, speed=2.0)
        second.start()
        try:
            assert wait_until(lambda: len(got) > n_before + 5, 15.0), "decoding did not resume"
            snap = session.snapshot()  # before the second source closes (its own stall)
        finally:
            second.close()
    finally:
        session.stop()
    assert snap.acquisition.n_gaps >= 1 and snap.acquisition.n_stalls == 1
