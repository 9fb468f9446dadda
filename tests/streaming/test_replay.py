"""Replay over real LSL on loopback: exact data, true timestamps, markers on their samples."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import mne
import numpy as np
import pylsl
import pytest
from neurodeck.common.types import RecordingError
from neurodeck.streaming.lsl_io import local_clock, meta_from_info, resolve_stream
from neurodeck.streaming.recording_io import load_recording
from neurodeck.streaming.replay import Replayer

SFREQ = 100.0
SPEED = 10.0
NAMES = ["C3..", "Cz", "C4", "Oz"]
ONSETS = [0.5, 1.0, 2.25]
LABELS = ["T1", "T0", "T2"]

pytestmark = pytest.mark.lsl


def _write_edf(
    path: Path,
    first_index: int = 0,
    n_samples: int = 300,
    names: list[str] | None = None,
    sfreq: float = SFREQ,
) -> Path:
    """EDF+ file whose channel 0 holds the running sample index (in microvolts)."""
    names = names or NAMES
    rng = np.random.default_rng(first_index)
    data = rng.standard_normal((len(names), n_samples)) * 20e-6
    data[0] = np.arange(first_index, first_index + n_samples) * 1e-6
    raw = mne.io.RawArray(data, mne.create_info(names, sfreq, "eeg"), verbose="error")
    raw.set_annotations(mne.Annotations(ONSETS, [0.5, 0.5, 0.2], LABELS))
    mne.export.export_raw(path, raw, overwrite=True, verbose="error")
    return path


@dataclass
class Received:
    """What the inlets got: samples (n_channels, n), timestamps, arrival times, markers."""

    data: np.ndarray
    timestamps: np.ndarray
    arrival_of_last: float
    markers: list[str]
    marker_times: np.ndarray


class _Client:
    """Inlets on a replay's EEG and marker streams, opened before the replay starts."""

    def __init__(self, replayer: Replayer) -> None:
        self.eeg = pylsl.StreamInlet(resolve_stream(source_id=replayer.source_id), max_buflen=60)
        self.markers = pylsl.StreamInlet(resolve_stream(source_id=replayer.marker_source_id))
        self.eeg.open_stream(timeout=5.0)
        self.markers.open_stream(timeout=5.0)

    def pull(self, n_samples: int, n_markers: int, timeout_s: float = 10.0) -> Received:
        """Pull until ``n_samples`` samples and ``n_markers`` markers arrived, or the deadline."""
        chunks, stamps, arrival = [], [], 0.0
        deadline = time.monotonic() + timeout_s
        while sum(len(c) for c in chunks) < n_samples and time.monotonic() < deadline:
            data, ts = self.eeg.pull_chunk(timeout=0.05)
            if ts:
                arrival = local_clock()
                chunks.append(np.asarray(data, dtype=np.float32))
                stamps.extend(ts)
        marks, mark_ts = [], []
        while len(marks) < n_markers and time.monotonic() < deadline:
            sample, ts = self.markers.pull_sample(timeout=0.05)
            if sample is not None:
                marks.append(sample[0])
                mark_ts.append(ts)
        data = np.concatenate(chunks).T if chunks else np.zeros((0, 0), np.float32)
        return Received(data, np.asarray(stamps), arrival, marks, np.asarray(mark_ts))


@pytest.fixture
def edf_a(tmp_path: Path) -> Path:
    return _write_edf(tmp_path / "a.edf")


@pytest.fixture
def edf_b(tmp_path: Path) -> Path:
    return _write_edf(tmp_path / "b.edf", first_index=300)


def _replay(paths: list[Path], unique_id: str, **kwargs: object) -> Replayer:
    return Replayer(paths, name=unique_id, source_id=unique_id, **kwargs)


def test_replay_exact_data_timestamps_markers(edf_a: Path, unique_id: str) -> None:
    rec = load_recording(edf_a)
    with _replay([edf_a], unique_id, speed=SPEED) as replayer:
        client = _Client(replayer)
        replayer.start()
        got = client.pull(rec.n_samples, n_markers=3)
        replayer.join(timeout=5.0)
        period = 1.0 / (SFREQ * SPEED)
        # data: identical float32 values, nothing dropped, duplicated or reordered
        assert got.data.shape == rec.data.shape
        np.testing.assert_array_equal(got.data, rec.data)
        np.testing.assert_array_equal(np.round(got.data[0]), np.arange(rec.n_samples))
        # timestamps: true, one per sample, 1 / (sfreq * speed) apart from t0
        np.testing.assert_allclose(got.timestamps[0], replayer.t0, atol=1e-9)
        np.testing.assert_allclose(np.diff(got.timestamps), period, atol=1e-9)
        # no drift: the last sample left when its timestamp came, not before and not much later
        assert 0.0 <= got.arrival_of_last - got.timestamps[-1] < 0.25
        # markers: every annotation, each stamped with the timestamp of its onset sample
        assert got.markers == LABELS
        onset_index = [round(a[0] * SFREQ) for a in rec.annotations]
        np.testing.assert_allclose(got.marker_times, got.timestamps[onset_index], atol=1e-9)
        onset_time = replayer.t0 + np.array([a[0] for a in rec.annotations]) / SPEED
        assert np.all(np.abs(got.marker_times - onset_time) <= period)
        assert replayer.n_pushed == rec.n_samples and replayer.n_markers_pushed == 3


def test_replay_of_a_labrecorder_xdf_publishes_eeg_and_its_markers(tmp_path, unique_id) -> None:
    """EEG + markers from another host's clock + an accelerometer: the EEG and the markers."""
    from tests.streaming.xdf_files import MARKERS, labrecorder_file
    from tests.streaming.xdf_files import SFREQ as XDF_SFREQ

    path = labrecorder_file(tmp_path / "session.xdf", n_samples=500)
    markers = [(label, position) for label, position in MARKERS if position < 500]
    with _replay([path], unique_id, speed=SPEED) as replayer:
        assert replayer.sfreq == XDF_SFREQ and replayer.meta.channel_names == (
            "C3", "Cz", "C4", "Pz"
        )  # fmt: skip
        client = _Client(replayer)
        replayer.start()
        got = client.pull(500, n_markers=len(markers))
        replayer.join(timeout=5.0)
    np.testing.assert_array_equal(got.data[0], np.arange(500))  # every sample, in order
    assert got.markers == [label for label, _ in markers]
    onset_index = [int(np.ceil(position)) for _, position in markers]  # clock-corrected
    np.testing.assert_allclose(got.marker_times, got.timestamps[onset_index], atol=1e-9)


def test_replay_of_a_file_with_two_amplifiers_asks_which_then_replays_it(
    tmp_path, unique_id
) -> None:
    """Several EEG streams: refused with their names; the one named replays with the markers
    (from a third host's clock) on the samples they fell on."""
    from tests.streaming.xdf_files import MARKERS, RIGHT_AMP_NAMES, labrecorder_two_amps_file

    path = labrecorder_two_amps_file(tmp_path / "two.xdf", n_samples=500)
    with pytest.raises(RecordingError, match="holds 2 EEG streams") as err:
        _replay([path], unique_id)
    assert "'Left amp'" in err.value.problem and "'Right amp'" in err.value.problem
    assert "--xdf-stream NAME" in err.value.hint
    markers = [(label, position) for label, position in MARKERS if position < 500]
    with _replay([path], unique_id, speed=SPEED, xdf_stream="Right amp") as replayer:
        assert replayer.meta.channel_names == RIGHT_AMP_NAMES
        client = _Client(replayer)
        replayer.start()
        got = client.pull(500, n_markers=len(markers))
        replayer.join(timeout=5.0)
    np.testing.assert_array_equal(got.data[0], np.arange(500))  # the right amp, every sample
    assert got.markers == [label for label, _ in markers]
    onset_index = [int(np.ceil(position)) for _, position in markers]  # clock-corrected
    np.testing.assert_allclose(got.marker_times, got.timestamps[onset_index], atol=1e-9)


def test_replay_header(edf_a: Path, unique_id: str) -> None:
    with _replay([edf_a], unique_id, speed=SPEED) as replayer:
        info = pylsl.StreamInlet(resolve_stream(source_id=unique_id)).info(timeout=5.0)
        meta = meta_from_info(info)
        assert meta.channel_names == tuple(NAMES)
        assert meta.channel_units == ("microvolts",) * len(NAMES)
        assert meta.sfreq == SFREQ and meta.replay_speed == SPEED
        assert meta.stream_type == "EEG" and info.channel_format() == pylsl.cf_float32
        assert info.desc().child_value("source_file") == "a.edf"
        assert replayer.meta.channel_names == meta.channel_names
        marker_info = pylsl.StreamInlet(resolve_stream(source_id=f"{unique_id}-markers")).info(
            timeout=5.0
        )
        assert marker_info.name() == f"{unique_id}-markers" and marker_info.type() == "Markers"
        assert marker_info.channel_format() == pylsl.cf_string
        assert marker_info.nominal_srate() == pylsl.IRREGULAR_RATE


def test_replay_without_markers_publishes_the_eeg_stream_alone(edf_a: Path, unique_id: str):
    rec = load_recording(edf_a)
    with _replay([edf_a], unique_id, speed=SPEED, markers=False) as replayer:
        assert not replayer.publishes_markers and replayer._marker_outlet is None
        inlet = pylsl.StreamInlet(resolve_stream(source_id=unique_id), max_buflen=60)
        inlet.open_stream(timeout=5.0)
        assert not pylsl.resolve_bypred(f"source_id='{replayer.marker_source_id}'", 1, 0.5)
        assert replayer.wait_for_consumers(5.0)
        replayer.start()
        chunks: list[np.ndarray] = []
        deadline = time.monotonic() + 10.0
        while sum(len(c) for c in chunks) < rec.n_samples and time.monotonic() < deadline:
            data, ts = inlet.pull_chunk(timeout=0.05)
            if ts:
                chunks.append(np.asarray(data, dtype=np.float32))
        replayer.join(timeout=5.0)
        np.testing.assert_array_equal(np.concatenate(chunks).T, rec.data)
        assert replayer.n_pushed == rec.n_samples and replayer.n_markers_pushed == 0


def test_two_files_back_to_back(edf_a: Path, edf_b: Path, unique_id: str) -> None:
    with _replay([edf_a, edf_b], unique_id, speed=SPEED) as replayer:
        client = _Client(replayer)
        replayer.start()
        got = client.pull(600, n_markers=6)
        replayer.join(timeout=5.0)
        assert replayer.duration_s == pytest.approx(6.0)
        np.testing.assert_array_equal(np.round(got.data[0]), np.arange(600))
        np.testing.assert_allclose(np.diff(got.timestamps), 1.0 / (SFREQ * SPEED), atol=1e-9)
        assert got.markers == LABELS * 2
        onset_index = [round(o * SFREQ) + offset for offset in (0, 300) for o in ONSETS]
        np.testing.assert_allclose(got.marker_times, got.timestamps[onset_index], atol=1e-9)


def test_loop_restarts_seamlessly(tmp_path: Path, unique_id: str) -> None:
    path = _write_edf(tmp_path / "short.edf", n_samples=300)
    with _replay([path], unique_id, speed=SPEED * 2, loop=True) as replayer:
        assert replayer.total_samples is None
        client = _Client(replayer)
        replayer.start()
        got = client.pull(750, n_markers=7)
        replayer.stop()
        replayer.join(timeout=5.0)
        n = got.data.shape[1]
        assert n >= 750
        np.testing.assert_array_equal(np.round(got.data[0]), np.arange(n) % 300)
        np.testing.assert_allclose(np.diff(got.timestamps), 1.0 / (SFREQ * SPEED * 2), atol=1e-9)
        assert got.markers[:7] == LABELS * 2 + LABELS[:1]
        onset_index = [round(o * SFREQ) + offset for offset in (0, 300) for o in ONSETS]
        np.testing.assert_allclose(got.marker_times[:6], got.timestamps[onset_index], atol=1e-9)


def test_run_blocking_progress_and_stop_event(edf_a: Path, unique_id: str) -> None:
    stop = threading.Event()
    calls: list[tuple[int, int | None]] = []

    def progress(n_pushed: int, total: int | None) -> None:
        calls.append((n_pushed, total))
        if n_pushed >= 100:
            stop.set()

    with _replay([edf_a], unique_id, speed=50.0, chunk_s=0.1) as replayer:
        n_pushed = replayer.run_blocking(stop, progress)
        assert replayer.n_per_push == 10
        assert n_pushed == 100 == replayer.n_pushed
        assert calls[0] == (10, 300) and calls[-1] == (100, 300)
        with pytest.raises(RuntimeError, match="already ran"):
            replayer.start()


def test_mismatched_files_are_refused(tmp_path: Path, edf_a: Path, unique_id: str) -> None:
    other_rate = _write_edf(tmp_path / "rate.edf", n_samples=600, sfreq=200.0)
    with pytest.raises(RecordingError, match=r"rate\.edf.*200 Hz.*100 Hz"):
        _replay([edf_a, other_rate], unique_id)
    other_names = _write_edf(tmp_path / "names.edf", names=["C3..", "Cz", "C4", "Pz"])
    with pytest.raises(RecordingError, match=r"names\.edf.*missing \['Oz'\], extra \['Pz'\]"):
        _replay([edf_a, other_names], unique_id)


def test_bad_inputs_fail_before_any_outlet(tmp_path: Path, edf_a: Path, unique_id: str) -> None:
    with pytest.raises(RecordingError, match="non-empty list"):
        Replayer([], name=unique_id)
    with pytest.raises(RecordingError, match="not found"):
        _replay([edf_a, tmp_path / "missing.edf"], unique_id)
    assert not pylsl.resolve_bypred(f"source_id='{unique_id}'", 1, 0.3)


class _LoggingOutlet:
    """Stands in for a StreamOutlet: notes when each push happened and its timestamps."""

    def __init__(self) -> None:
        self.pushes: list[tuple[float, list[float]]] = []

    def push_chunk(self, samples: np.ndarray, timestamps: list[float]) -> None:
        self.pushes.append((local_clock(), list(timestamps)))

    def push_sample(self, sample: list[str], timestamp: float) -> None:
        self.pushes.append((local_clock(), [timestamp]))


def test_pushes_follow_the_clock(edf_a: Path, unique_id: str) -> None:
    with _replay([edf_a], unique_id, speed=SPEED, chunk_s=0.1) as replayer:
        eeg, markers = _LoggingOutlet(), _LoggingOutlet()
        replayer._outlet, replayer._marker_outlet = eeg, markers  # type: ignore[assignment]
        replayer.run_blocking()
    assert len(eeg.pushes) == 30 and len(markers.pushes) == 3
    assert all(at >= stamps[-1] for at, stamps in eeg.pushes)  # never before the last sample
    for at, (stamp,) in markers.pushes:
        assert at >= stamp  # a cue is not announced before it happens ...
        chunk_at = next(t for t, stamps in eeg.pushes if stamps[0] <= stamp <= stamps[-1])
        assert at <= chunk_at  # ... and never after the sample it marks


def test_worker_fault_is_logged_and_raised_by_join(
    edf_a: Path, unique_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(start: int, n_samples: int) -> None:
        raise ValueError("boom")

    with _replay([edf_a], unique_id) as replayer:
        replayer._read_block = broken  # type: ignore[method-assign]
        replayer.start()
        with pytest.raises(ValueError, match="boom"):
            replayer.join(timeout=5.0)
        assert isinstance(replayer.error, ValueError)
        assert not replayer.is_running
    assert "Publishing thread" in caplog.text and "Traceback" in caplog.text
