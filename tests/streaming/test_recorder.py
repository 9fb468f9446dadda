"""The crash-safe recorder over real LSL on loopback: exact data, SIGKILL, loss, bad folders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pylsl
import pytest
from neurodeck.common.types import ConfigError, RecordingError
from neurodeck.streaming.lsl_io import local_clock, make_stream_info, resolve_stream
from neurodeck.streaming.recorded_session import CLOSED_FILE, EEG_FILE, HEADER_FILE, load_session
from neurodeck.streaming.recorder import SessionRecorder

from tests.conftest import REPO
from tests.lsl_helpers import IndexedOutlet, wait_until

pytestmark = pytest.mark.lsl


def _marker_outlet(name: str, source_id: str) -> pylsl.StreamOutlet:
    info = make_stream_info(
        name,
        "Markers",
        ["marker"],
        pylsl.IRREGULAR_RATE,
        source_id,
        channel_format="string",
        unit="",
        channel_type="Markers",
    )
    return pylsl.StreamOutlet(info)


def _closed(folder: Path) -> dict:
    return json.loads((folder / CLOSED_FILE).read_text(encoding="utf-8"))


def test_samples_timestamps_and_markers_are_recorded_exactly(tmp_path, unique_id, rng) -> None:
    n, sfreq = 3000, 1000.0
    names = ["index"] + [f"Ch{i}" for i in range(1, 8)]
    outlet = pylsl.StreamOutlet(make_stream_info(unique_id, "EEG", names, sfreq, unique_id))
    markers = _marker_outlet(f"{unique_id}-markers", f"{unique_id}-m")
    folder = tmp_path / "session"
    folder.mkdir()
    (folder / CLOSED_FILE).write_text("{}")  # an earlier session in the folder
    (folder / EEG_FILE).write_bytes(b"old samples")
    rec = SessionRecorder(
        resolve_stream(source_id=unique_id),
        folder,
        [resolve_stream(source_id=f"{unique_id}-m")],
        flush_s=0.05,
        overwrite=True,
    )
    assert not (folder / CLOSED_FILE).exists(), "the earlier session's files must be replaced"
    header = json.loads((folder / HEADER_FILE).read_text())
    assert header["format"] == "neurodeck-session" and header["version"] == 1
    assert header["channel_names"] == names and header["sfreq"] == sfreq
    assert header["marker_streams"] == [f"{unique_id}-markers"]
    rows = (rng.standard_normal((n, 8)) * 50).astype(np.float32)
    rows[:, 0] = np.arange(n)
    rows[7, 3] = np.nan  # recorded as it arrived
    stamps = local_clock() + np.arange(n) / sfreq
    with rec:
        for i in range(0, n, 250):
            outlet.push_chunk(rows[i : i + 250], stamps[i : i + 250])
        labels, marker_times = ["left", "right", "pause ü"], stamps[[10, 1500, 2999]]
        for label, t in zip(labels, marker_times, strict=True):
            markers.push_sample([label], t)
        assert rec.wait_until(n_samples=n, n_markers=3, timeout_s=10.0)
        status = rec.status()
    rec.stop()  # idempotent
    assert status.n_samples == n and status.n_markers == 3 and status.duration_s == n / sfreq
    assert not status.stream_lost and status.error is None
    assert (folder / EEG_FILE).stat().st_size == n * 8 * 4
    session = load_session(folder)
    assert session.complete and session.truncated_bytes == 0
    np.testing.assert_array_equal(session.data, rows.T)  # NaN in the same place
    # proc_clocksync adds liblsl's clock offset estimate (tens of µs on loopback)
    np.testing.assert_allclose(session.timestamps, stamps, atol=1e-3, rtol=0)
    assert np.all(np.diff(session.timestamps) > 0)
    assert status.last_timestamp == session.timestamps[-1]
    assert [m.label for m in session.markers] == labels
    np.testing.assert_allclose([m.timestamp for m in session.markers], marker_times, atol=1e-3)
    closed = _closed(folder)
    assert closed["n_samples"] == n and closed["n_markers"] == 3 and not closed["stream_lost"]


def test_sigkill_loses_at_most_the_last_second(tmp_path, unique_id) -> None:
    sfreq = 500.0
    outlet = IndexedOutlet(unique_id, 4, sfreq, int(60 * sfreq), chunk_n=10)
    marker_id = f"{unique_id}-m"
    markers = _marker_outlet(f"{unique_id}-markers", marker_id)
    folder = tmp_path / "session"
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.streaming.recorder_worker", unique_id, marker_id, folder],
            cwd=REPO,
            env=dict(os.environ),  # LSLAPICFG: machine scope, as in this process
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    pushed: list[tuple[float, str]] = []
    try:
        ready = wait_until(
            lambda: (
                (folder / HEADER_FILE).exists()
                and outlet.outlet.have_consumers()
                and markers.have_consumers()
            ),
            30.0,
        )
        assert ready, f"recorder worker did not start: {log_path.read_text()}"
        outlet.start()
        t_end = time.monotonic() + 2.5
        while time.monotonic() < t_end:
            t = local_clock()
            markers.push_sample([f"m{len(pushed)}"], t)
            pushed.append((t, f"m{len(pushed)}"))
            time.sleep(0.1)
        t_kill = local_clock()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        time.sleep(0.3)  # the outlet goes on pushing after the kill
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        outlet.close()
    assert proc.returncode == -signal.SIGKILL
    session = load_session(folder)
    assert not session.complete
    # every sample from the first on, in order, no gap, up to at least kill - 1 s
    np.testing.assert_array_equal(session.data[0], np.arange(session.n_samples))
    assert session.n_samples > 0 and session.timestamps[-1] >= t_kill - 1.0
    expected = [label for t, label in pushed if t <= t_kill - 1.0]
    assert len(expected) >= 10
    assert [m.label for m in session.markers][: len(expected)] == expected


def test_lost_stream_keeps_data_and_is_reported(tmp_path, unique_id) -> None:
    outlet = IndexedOutlet(unique_id, 3, 500.0, 100_000, chunk_n=10)
    rec = SessionRecorder(resolve_stream(source_id=unique_id), tmp_path / "s").start()
    outlet.start()
    try:
        assert rec.wait_until(n_samples=250, timeout_s=5.0)
        assert not rec.status().stream_lost
        n_before = outlet.pushed
        outlet.close()
        assert wait_until(lambda: rec.status().stream_lost, 5.0), "loss was not reported"
        status = rec.status()
        assert status.running and status.error is None
    finally:
        rec.stop()
    session = load_session(tmp_path / "s")
    assert session.complete and session.n_samples == status.n_samples
    assert session.n_samples >= n_before - 20  # at most the chunks in flight at the loss
    np.testing.assert_array_equal(session.data[0], np.arange(session.n_samples))
    assert _closed(tmp_path / "s")["stream_lost"]


def test_silent_stream_is_reported_as_stalled_until_samples_return(tmp_path, unique_id) -> None:
    outlet = pylsl.StreamOutlet(make_stream_info(unique_id, "EEG", ["a", "b"], 100.0, unique_id))
    with SessionRecorder(
        resolve_stream(source_id=unique_id), tmp_path / "s", lost_after_s=0.3
    ) as rec:
        outlet.push_chunk(np.zeros((10, 2), np.float32))
        assert rec.wait_until(n_samples=10)
        assert wait_until(lambda: rec.status().stalled, 3.0)
        assert not rec.status().stream_lost and "stalled" in rec.status().message
        outlet.push_chunk(np.ones((10, 2), np.float32))
        assert wait_until(lambda: not rec.status().stalled, 3.0)
        assert rec.status().message == ""
    assert load_session(tmp_path / "s").n_samples == 20


def test_a_stall_loses_nothing_and_the_recording_goes_on(tmp_path, unique_id) -> None:
    """SIGSTOP/SIGCONT of a source: stalled meanwhile, then its backlog is recorded."""
    outlet = IndexedOutlet(unique_id, 2, 200.0, 2000, chunk_n=10)
    rec = SessionRecorder(resolve_stream(source_id=unique_id), tmp_path / "s", lost_after_s=0.5)
    rec.start()
    outlet.start()
    try:
        assert rec.wait_until(n_samples=300, timeout_s=10.0)
        outlet.pause()
        assert wait_until(lambda: rec.status().stalled, 5.0)
        outlet.resume()
        assert wait_until(outlet.done, 20.0) and rec.wait_until(n_samples=2000, timeout_s=5.0)
        assert not rec.status().stalled
    finally:
        rec.stop()
        outlet.close()
    session = load_session(tmp_path / "s")
    np.testing.assert_array_equal(session.data[0], np.arange(2000))  # every sample, in order
    assert _closed(tmp_path / "s")["gaps"] == []  # the backlog filled the pause


def test_a_restarted_source_is_reattached_and_the_gap_marked(tmp_path, unique_id) -> None:
    first = IndexedOutlet(unique_id, 2, 200.0, 400, chunk_n=10)
    rec = SessionRecorder(resolve_stream(source_id=unique_id), tmp_path / "s").start()
    first.start()
    try:
        assert wait_until(first.done, 10.0) and rec.wait_until(n_samples=400, timeout_s=5.0)
        first.close()
        assert wait_until(lambda: rec.status().stream_lost, 5.0)
        time.sleep(1.0)  # the source is gone for a while
        second = IndexedOutlet(unique_id, 2, 200.0, 400, chunk_n=10, start_index=400)
        try:  # a source that waits for its consumer loses nothing
            assert wait_until(lambda: rec.status().n_reattached == 1, 10.0)
            assert second.outlet.wait_for_consumers(5.0)
            second.start()
            assert wait_until(second.done, 10.0) and rec.wait_until(n_samples=800, timeout_s=5.0)
            status = rec.status()
        finally:
            second.close()
    finally:
        rec.stop()
    assert not status.stream_lost and status.n_gaps == 1 and status.n_reattached == 1
    session = load_session(tmp_path / "s")
    np.testing.assert_array_equal(session.data[0], np.arange(800))
    closed = _closed(tmp_path / "s")
    assert len(closed["gaps"]) == 1 and closed["gaps"][0]["resumed"] > closed["gaps"][0]["after"]
    from neurodeck.streaming.recorded_session import to_recording

    marks = [a for a in to_recording(session).annotations if a[2] == "BAD_ACQ_SKIP"]
    assert [round(onset * 200) for onset, _, _ in marks] == [400]


def test_a_source_back_with_another_layout_is_refused(tmp_path, unique_id) -> None:
    first = IndexedOutlet(unique_id, 2, 200.0, 200, chunk_n=10)
    rec = SessionRecorder(resolve_stream(source_id=unique_id), tmp_path / "s").start()
    first.start()
    try:
        assert wait_until(first.done, 10.0) and rec.wait_until(n_samples=200, timeout_s=5.0)
        first.close()
        assert wait_until(lambda: rec.status().stream_lost, 5.0)
        other = IndexedOutlet(unique_id, 3, 200.0, 200, chunk_n=10)
        try:
            assert wait_until(lambda: "another layout" in rec.status().message, 10.0)
            other.start()
            time.sleep(1.0)
            status = rec.status()
        finally:
            other.close()
    finally:
        rec.stop()
    assert status.stream_lost and status.n_reattached == 0
    assert "3 ch at 200 Hz instead of 2 ch at 200 Hz" in status.message
    assert load_session(tmp_path / "s").n_samples == 200


def test_stop_without_start_closes_an_empty_session(tmp_path, unique_id) -> None:
    outlet = IndexedOutlet(unique_id, 2, 100.0, 10)
    rec = SessionRecorder(resolve_stream(source_id=unique_id), tmp_path / "s")
    rec.stop()
    with pytest.raises(RecordingError, match="cannot restart"):
        rec.start()
    outlet.close()
    session = load_session(tmp_path / "s")
    assert session.complete and session.n_samples == 0
    assert _closed(tmp_path / "s")["n_samples"] == 0


def test_bad_output_folders_are_refused(tmp_path, unique_id) -> None:
    info = pylsl.StreamInfo(unique_id, "EEG", 2, 100.0, "float32", unique_id)  # never opened
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("x")
    with pytest.raises(RecordingError, match="not empty") as err:
        SessionRecorder(info, busy)
    assert "notes.txt" in str(err.value) and "overwrite" in err.value.hint
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(RecordingError, match="not a folder"):
        SessionRecorder(info, a_file)
    with pytest.raises(RecordingError, match="is a file"):
        SessionRecorder(info, a_file / "session")
    with pytest.raises(ConfigError, match=r"'flush_s' must be <= 1\.0"):
        SessionRecorder(info, tmp_path / "new", flush_s=2.0)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder_is_refused(tmp_path, unique_id) -> None:
    info = pylsl.StreamInfo(unique_id, "EEG", 2, 100.0, "float32", unique_id)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(RecordingError, match="permission denied"):
            SessionRecorder(info, locked / "session")
    finally:
        locked.chmod(0o700)


def test_marker_stream_is_refused_as_eeg(tmp_path, unique_id) -> None:
    outlet = _marker_outlet(unique_id, unique_id)
    with pytest.raises(ConfigError, match="not a regular numeric stream"):
        SessionRecorder(resolve_stream(source_id=unique_id), tmp_path / "s")
    assert not (tmp_path / "s").exists(), "nothing is written for a refused stream"
    del outlet


def test_integer_stream_is_stored_as_float32_values(tmp_path, unique_id) -> None:
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(unique_id, "EEG", 3, 100.0, "int16", unique_id))
    values = np.arange(-30, 30, dtype=np.int16).reshape(20, 3) * 1000
    with SessionRecorder(resolve_stream(source_id=unique_id), tmp_path / "s") as rec:
        outlet.push_chunk(values)
        assert rec.wait_until(n_samples=20)
    header = json.loads((tmp_path / "s" / HEADER_FILE).read_text())
    assert header["source_channel_format"] == "int16" and header["channel_format"] == "float32"
    session = load_session(tmp_path / "s")  # no labels or units: Ch1..Ch3, assumed microvolts
    np.testing.assert_array_equal(session.data, values.T.astype(np.float32))
