"""``neurodeck record`` and ``neurodeck export``: handlers driven through their own parsers."""

from __future__ import annotations

import argparse
import json
import threading
import time

import numpy as np
import pylsl
import pytest
from neurodeck.app import record_commands
from neurodeck.app.record_commands import add_parsers
from neurodeck.common.types import ConfigError, RecordingError
from neurodeck.streaming.lsl_io import make_stream_info
from neurodeck.streaming.recorded_session import load_session
from neurodeck.streaming.recording_io import load_recording

from tests.lsl_helpers import IndexedOutlet


def _run(*argv: str) -> int:
    ap = argparse.ArgumentParser(prog="neurodeck")
    add_parsers(ap.add_subparsers(dest="command", required=True))
    args = ap.parse_args(argv)
    return args.handler(args)


def _marker_outlet(name: str) -> pylsl.StreamOutlet:
    info = make_stream_info(
        name, "Markers", ["marker"], pylsl.IRREGULAR_RATE, name, channel_format="string", unit=""
    )
    return pylsl.StreamOutlet(info)


def _push_markers(outlet: pylsl.StreamOutlet, stop: threading.Event) -> None:
    k = 0
    while not stop.wait(0.1):
        outlet.push_sample(["left" if k % 2 else "right"])
        k += 1


@pytest.mark.lsl
def test_record_with_auto_markers_then_export(tmp_path, unique_id, capsys) -> None:
    outlet = IndexedOutlet(unique_id, 4, 500.0, 100_000, chunk_n=10).start()
    markers = _marker_outlet(f"{unique_id}-markers")
    stop = threading.Event()
    pusher = threading.Thread(target=_push_markers, args=(markers, stop), daemon=True)
    pusher.start()
    folder, summary = tmp_path / "session", tmp_path / "summary.json"
    try:
        code = _run(
            "record", "--stream", unique_id, "--out", str(folder), "--duration", "1.5",
            "--json", str(summary),
        )  # fmt: skip
    finally:
        stop.set()
        pusher.join()
        outlet.close()
    out = capsys.readouterr().out
    assert code == 0
    assert f"'{unique_id}-markers'" in out and f"session folder: {folder}" in out
    assert "samples" in out and "markers" in out
    session = load_session(folder)
    assert session.complete and session.n_samples > 200 and len(session.markers) >= 5
    np.testing.assert_array_equal(np.diff(session.data[0]), 1)  # ch0 = index: nothing lost
    report = json.loads(summary.read_text())
    assert report["n_samples"] == session.n_samples and report["ended_by"] == "duration reached"

    edf = tmp_path / "session.edf"
    assert _run("export", str(folder), str(edf)) == 0
    assert "exported" in capsys.readouterr().out
    rec = load_recording(edf)
    labels = [label for _, _, label in rec.annotations if label != "BAD_ACQ_SKIP"]
    assert labels and set(labels) <= {"left", "right"}
    with pytest.raises(RecordingError, match="already exists"):
        _run("export", str(folder), str(edf))


@pytest.mark.lsl
def test_record_waits_for_a_lost_stream_as_long_as_asked_then_says_so(
    tmp_path, unique_id, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(record_commands, "AUTO_MARKERS_TIMEOUT_S", 0.3)
    outlet = IndexedOutlet(unique_id, 2, 250.0, 100_000, chunk_n=5).start()
    closer = threading.Timer(3.0, outlet.close)  # after the name is resolved (0.75 s or more)
    closer.start()
    folder, summary = tmp_path / "s", tmp_path / "summary.json"
    t0 = time.monotonic()
    try:
        code = _run(
            "record", "--stream", unique_id, "--out", str(folder), "--duration", "30",
            "--lost-timeout", "1.5", "--json", str(summary),
        )  # fmt: skip
    finally:
        closer.join()
    captured = capsys.readouterr()
    assert code == 2 and 2.5 < time.monotonic() - t0 < 20  # waited 1.5 s for it, not 30
    assert "recording without markers" in captured.out and "stream lost" in captured.out
    assert "was gone for more than 1.5 s" in captured.err and "kept in" in captured.err
    report = json.loads(summary.read_text())
    assert report["stream_lost"] and report["marker_streams"] == [] and report["n_samples"] > 0
    assert report["ended_by"] == "stream lost" and load_session(folder).complete


@pytest.mark.lsl
def test_a_stall_does_not_end_a_recording(tmp_path, unique_id, monkeypatch) -> None:
    """The source stops for longer than the stall limit; the recording goes on to --duration."""
    monkeypatch.setattr(record_commands, "AUTO_MARKERS_TIMEOUT_S", 0.3)
    outlet = IndexedOutlet(unique_id, 2, 250.0, 100_000, chunk_n=5)
    outlet.pause()  # before it pushes anything: the recorder must see its first sample
    outlet.start()
    resumer = threading.Timer(7.0, outlet.resume)  # silent for 7 s: more than 5 s (stalled)
    resumer.start()
    summary = tmp_path / "summary.json"
    try:
        code = _run(
            "record", "--stream", unique_id, "--out", str(tmp_path / "s"), "--duration", "10",
            "--json", str(summary),
        )  # fmt: skip
    finally:
        resumer.join()
        outlet.close()
    report = json.loads(summary.read_text())
    assert code == 0 and report["ended_by"] == "duration reached" and not report["stream_lost"]
    session = load_session(tmp_path / "s")
    assert session.n_samples > 250  # what came after the stall is recorded
    np.testing.assert_array_equal(session.data[0], np.arange(session.n_samples))


def test_bad_arguments_are_refused(tmp_path) -> None:
    with pytest.raises(ConfigError, match="'--duration' must be > 0"):
        _run("record", "--stream", "x", "--out", str(tmp_path / "s"), "--duration", "0")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "eeg.f32").write_bytes(b"")
    with pytest.raises(RecordingError, match="not empty"):  # refused before waiting for streams
        _run("record", "--stream", "no-such-stream", "--out", str(busy), "--timeout", "60")
    with pytest.raises(RecordingError, match="not found"):
        _run("export", str(tmp_path / "missing"), str(tmp_path / "out.fif"))
    with pytest.raises(RecordingError, match="unsupported ending"):
        _run("export", str(tmp_path), str(tmp_path / "out.txt"))


def test_export_to_xdf(tmp_path, capsys) -> None:
    """``export SESSION out.xdf``: EEG and markers with their timestamps, readable by pyxdf."""
    import pyxdf

    from tests.streaming.test_recorded_session import _rows, write_session

    rows, stamps = _rows(700), 4321.0 + np.arange(700) / 200.0
    markers = [(stamps[3], "cue_left"), (stamps[650] + 0.001, "cue_right")]
    folder = write_session(tmp_path / "session", rows, stamps, markers)
    out, summary = tmp_path / "export" / "session.xdf", tmp_path / "export.json"
    assert _run("export", str(folder), str(out), "--json", str(summary)) == 0
    assert f"exported 700 samples (3.5 s) and 2 markers to {out}" in capsys.readouterr().out
    assert json.loads(summary.read_text())["out_file"] == str(out)
    streams, _ = pyxdf.load_xdf(out, dejitter_timestamps=False)
    eeg, cues = sorted(streams, key=lambda s: s["info"]["channel_format"][0])
    np.testing.assert_array_equal(eeg["time_series"], rows)
    np.testing.assert_array_equal(eeg["time_stamps"], stamps)
    assert [row[0] for row in cues["time_series"]] == ["cue_left", "cue_right"]
    np.testing.assert_array_equal(cues["time_stamps"], [t for t, _ in markers])
    assert cues["info"]["name"] == ["eeg-markers"]
    with pytest.raises(RecordingError, match="already exists"):
        _run("export", str(folder), str(out))
    assert _run("export", str(folder), str(out), "--overwrite") == 0


def _session(folder, markers=((0.5, "left"), (1.0, "right"))):
    from tests.streaming.test_recorded_session import write_session

    rows = np.random.default_rng(0).standard_normal((400, 4)).astype(np.float32)
    return write_session(folder, rows, np.arange(400) / 200.0, list(markers))


def test_export_warns_when_the_markers_file_is_missing(tmp_path, capsys) -> None:
    folder = _session(tmp_path / "s")
    assert _run("export", str(folder), str(tmp_path / "with.fif")) == 0
    assert "warning" not in capsys.readouterr().err
    (folder / "markers.jsonl").unlink()
    summary = tmp_path / "summary.json"
    code = _run("export", str(folder), str(tmp_path / "without.fif"), "--json", str(summary))
    captured = capsys.readouterr()
    assert code == 0
    assert f"warning: {folder / 'markers.jsonl'} is missing" in captured.err
    assert "without.fif will hold NO markers" in captured.err
    assert "and 0 markers" in captured.out
    assert json.loads(summary.read_text())["markers_file_missing"] is True
    assert load_recording(tmp_path / "without.fif").annotations == ()


def test_export_without_the_timestamps_file_names_it(tmp_path) -> None:
    folder = _session(tmp_path / "s")
    (folder / "eeg_times.f64").unlink()
    with pytest.raises(RecordingError, match=r"has no timestamps file eeg_times\.f64") as err:
        _run("export", str(folder), str(tmp_path / "out.fif"))
    assert "no EEG" not in str(err.value) and "Restore eeg_times.f64" in err.value.hint
    assert not (tmp_path / "out.fif").exists()
