"""``neurodeck record`` and ``neurodeck export``: handlers driven through their own parsers."""

from __future__ import annotations

import argparse
import json
import threading

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
def test_record_goes_without_markers_and_stops_when_stream_is_lost(
    tmp_path, unique_id, capsys, monkeypatch
) -> None:
    monkeypatch.setattr(record_commands, "AUTO_MARKERS_TIMEOUT_S", 0.3)
    outlet = IndexedOutlet(unique_id, 2, 250.0, 100_000, chunk_n=5).start()
    closer = threading.Timer(3.0, outlet.close)  # after the name is resolved (0.75 s or more)
    closer.start()
    folder, summary = tmp_path / "s", tmp_path / "summary.json"
    try:
        code = _run(
            "record", "--stream", unique_id, "--out", str(folder), "--duration", "30",
            "--json", str(summary),
        )  # fmt: skip
    finally:
        closer.join()
    out = capsys.readouterr().out
    assert code == 0
    assert "recording without markers" in out and "stream lost" in out
    report = json.loads(summary.read_text())
    assert report["stream_lost"] and report["marker_streams"] == [] and report["n_samples"] > 0
    assert load_session(folder).complete


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
