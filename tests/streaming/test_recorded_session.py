"""Reading session folders back: crash leftovers, bad folders, markers, FIF / EDF export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from neurodeck.common.types import RecordingError, StreamMeta
from neurodeck.streaming.recorded_session import (
    CLOSED_FILE,
    EEG_FILE,
    HEADER_FILE,
    MARKERS_FILE,
    TIMES_FILE,
    export_session,
    load_session,
    sample_index,
    session_header,
    to_recording,
)
from neurodeck.streaming.recording_io import load_recording

SFREQ = 200.0
NAMES = ("index", "C3", "Cz", "C4")


def _meta(units: tuple[str, ...] = ("microvolts",) * 4, speed: float = 1.0) -> StreamMeta:
    return StreamMeta("eeg", "EEG", "eeg-id", "host", NAMES, units, SFREQ, replay_speed=speed)


def _rows(n_samples: int) -> np.ndarray:
    """(n_samples, n_channels) float32 with the sample index in channel 0."""
    rng = np.random.default_rng(0)
    rows = (rng.standard_normal((n_samples, len(NAMES))) * 20).astype(np.float32)
    rows[:, 0] = np.arange(n_samples)
    return rows


def write_session(
    folder: Path,
    rows: np.ndarray,
    stamps: np.ndarray,
    markers: list[tuple[float, str]] = (),  # type: ignore[assignment]
    meta: StreamMeta | None = None,
    closed: bool = True,
) -> Path:
    """Write a session folder by hand, in the recorder's format."""
    folder.mkdir(parents=True, exist_ok=True)
    header = session_header(meta or _meta(), ["eeg-markers"])
    (folder / HEADER_FILE).write_text(json.dumps(header), encoding="utf-8")
    (folder / EEG_FILE).write_bytes(np.asarray(rows, "<f4").tobytes())
    (folder / TIMES_FILE).write_bytes(np.asarray(stamps, "<f8").tobytes())
    lines = [json.dumps({"t": t, "label": label, "stream": "eeg-markers"}) for t, label in markers]
    (folder / MARKERS_FILE).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    if closed:
        (folder / CLOSED_FILE).write_text(json.dumps({"n_samples": len(stamps)}), encoding="utf-8")
    return folder


def _expect_error(folder: Path, *fragments: str) -> RecordingError:
    with pytest.raises(RecordingError) as info:
        load_session(folder)
    assert info.value.hint, "every RecordingError must say what to do"
    for fragment in fragments:
        assert fragment in str(info.value)
    return info.value


def test_load_scales_units_and_sorts_markers(tmp_path: Path) -> None:
    rows, stamps = _rows(400), 100.0 + np.arange(400) / SFREQ
    units = ("microvolts", "volts", "mV", "")
    markers = [(101.0, "b"), (100.5, "a"), (101.0, "c")]
    session = load_session(write_session(tmp_path / "s", rows, stamps, markers, _meta(units)))
    assert session.complete and session.truncated_bytes == 0
    assert session.data.shape == (4, 400) and session.data.dtype == np.float32
    assert session.data.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(session.data[0], rows[:, 0])
    np.testing.assert_allclose(session.data[1], rows[:, 1] * 1e6, rtol=1e-6)
    np.testing.assert_allclose(session.data[2], rows[:, 2] * 1e3, rtol=1e-6)
    np.testing.assert_array_equal(session.data[3], rows[:, 3])  # unknown unit: as recorded
    np.testing.assert_array_equal(session.timestamps, stamps)
    assert [m.label for m in session.markers] == ["a", "b", "c"]  # by time, ties in file order
    assert session.n_samples == 400 and session.sfreq == SFREQ and session.duration_s == 2.0
    assert session.marker_streams == ("eeg-markers",)


def test_crash_leftovers_load_with_warnings(tmp_path: Path, caplog) -> None:
    rows, stamps = _rows(300), np.arange(300) / SFREQ
    folder = write_session(tmp_path / "s", rows, stamps, [(0.5, "a"), (1.0, "b")], closed=False)
    with open(folder / EEG_FILE, "ab") as f:  # half a frame: 6 of 16 bytes
        f.write(np.arange(4, dtype="<f4").tobytes()[:6])
    with open(folder / TIMES_FILE, "ab") as f:  # one whole timestamp more than frames
        f.write(np.array([1.5], "<f8").tobytes())
    partial = b'{"t": 1.2, "lab'
    with open(folder / MARKERS_FILE, "ab") as f:
        f.write(partial)
    session = load_session(folder)
    assert not session.complete
    assert session.n_samples == 300
    np.testing.assert_array_equal(session.data[0], np.arange(300))
    assert [m.label for m in session.markers] == ["a", "b"]
    assert session.truncated_bytes == 6 + 8 + len(partial)
    assert "partial marker line" in caplog.text and "partial last frame" in caplog.text


def test_nan_is_kept_and_reported(tmp_path: Path, caplog) -> None:
    rows = _rows(50)
    rows[10, 2] = np.nan
    session = load_session(write_session(tmp_path / "s", rows, np.arange(50) / SFREQ))
    assert np.isnan(session.data[2, 10]) and np.isfinite(session.data).sum() == 4 * 50 - 1
    assert "NaN/inf" in caplog.text and "Cz" in caplog.text


def test_missing_folder_and_header(tmp_path: Path) -> None:
    _expect_error(tmp_path / "nope", "not found")
    (tmp_path / "empty").mkdir()
    _expect_error(tmp_path / "empty", "holds no header.json")


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda h: {**h, "version": 2}, "version 2"),
        (lambda h: {**h, "version": "one"}, "positive integer"),
        (lambda h: {**h, "format": "xdf"}, "not a 'neurodeck-session' header"),
        (lambda h: {**h, "channel_names": []}, "channel_names"),
        (lambda h: {**h, "sfreq": 0}, "sfreq"),
        (lambda h: {**h, "files": {}}, "data types"),
    ],
    ids=["newer-version", "bad-version", "wrong-format", "no-channels", "zero-rate", "no-dtypes"],
)
def test_bad_header_is_refused(tmp_path: Path, edit, fragment: str) -> None:
    folder = write_session(tmp_path / "s", _rows(10), np.arange(10) / SFREQ)
    header = json.loads((folder / HEADER_FILE).read_text())
    (folder / HEADER_FILE).write_text(json.dumps(edit(header)))
    _expect_error(folder, fragment)


def test_corrupt_header_is_refused(tmp_path: Path) -> None:
    folder = write_session(tmp_path / "s", _rows(10), np.arange(10) / SFREQ)
    (folder / HEADER_FILE).write_text('{"format": "neurodeck-session", "vers')
    _expect_error(folder, "corrupt", "not valid JSON")


def test_session_without_eeg_loads_but_does_not_convert(tmp_path: Path) -> None:
    folder = write_session(tmp_path / "s", _rows(0), np.empty(0), [(1.0, "left")])
    session = load_session(folder)
    assert session.n_samples == 0 and len(session.markers) == 1
    with pytest.raises(RecordingError, match="markers without EEG") as info:
        to_recording(session)
    assert info.value.hint


def test_sample_index_and_fast_replay_onsets(tmp_path: Path, caplog) -> None:
    speed = 4.0  # timestamps 4 times closer than the content rate
    stamps = 50.0 + np.arange(400) / (SFREQ * speed)
    markers = [
        (stamps[0] - 0.5, "early"),
        (stamps[0], "first"),
        (stamps[100] - 1e-4, "at-100"),
        (stamps[-1] + 0.1 / (SFREQ * speed), "last"),
        (stamps[-1] + 1.0, "late"),
    ]
    folder = write_session(tmp_path / "s", _rows(400), stamps, markers, _meta(speed=speed))
    session = load_session(folder)
    np.testing.assert_array_equal(sample_index(session, [stamps[0], stamps[5] + 1e-6]), [0, 6])
    rec = to_recording(session)
    assert [(onset, label) for onset, _, label in rec.annotations] == [
        (0.0, "first"),
        (100 / SFREQ, "at-100"),
        (399 / SFREQ, "last"),
    ]
    assert "2 of 5 markers" in caplog.text


@pytest.mark.parametrize("ending", [".fif", ".edf"])
def test_export_round_trip(tmp_path: Path, ending: str) -> None:
    n = 450  # not whole seconds: EDF pads the last data record
    rows, stamps = _rows(n), 10.0 + np.arange(n) / SFREQ
    markers = [(stamps[20], "left"), (stamps[201], "right"), (stamps[449], "end")]
    folder = write_session(tmp_path / "s", rows, stamps, markers)
    out = export_session(folder, tmp_path / f"out{ending}")
    rec = load_recording(out)
    assert rec.channel_names == NAMES and rec.sfreq == SFREQ
    atol = 1e-6 if ending == ".fif" else 0.0
    if ending == ".edf":  # 16 bits spread over each channel's range
        atol = float(np.max(rows.max(axis=0) - rows.min(axis=0))) / 65534 + 1e-3
    np.testing.assert_allclose(rec.data[:, :n], rows.T, atol=atol, rtol=1e-6)
    events = [(onset, label) for onset, _, label in rec.annotations if label != "BAD_ACQ_SKIP"]
    assert [label for _, label in events] == ["left", "right", "end"]
    np.testing.assert_allclose(
        [o for o, _ in events], [20 / SFREQ, 201 / SFREQ, 449 / SFREQ], atol=1 / SFREQ
    )


@pytest.mark.parametrize("ending", [".fif", ".xdf"])
def test_a_gap_in_the_timestamps_is_marked_in_the_export(tmp_path: Path, ending: str) -> None:
    stamps = 10.0 + np.arange(400) / SFREQ
    stamps[250:] += 3.0  # the source was gone for 3 s
    folder = write_session(tmp_path / "s", _rows(400), stamps, [(stamps[10], "left")])
    rec = load_recording(export_session(folder, tmp_path / f"out{ending}"))
    gaps = [onset for onset, _, label in rec.annotations if label == "BAD_ACQ_SKIP"]
    np.testing.assert_allclose(gaps, [250 / SFREQ], atol=1 / SFREQ)
    assert [label for _, _, label in rec.annotations] == ["left", "BAD_ACQ_SKIP"]


def test_an_xdf_export_marks_gaps_in_a_stream_of_their_own(tmp_path: Path) -> None:
    """The recorded marker stream stays as recorded; the gaps go to '<name>-gaps'."""
    import pyxdf

    stamps = 10.0 + np.arange(400) / SFREQ
    stamps[100:] += 1.0
    stamps[300:] += 2.0
    folder = write_session(tmp_path / "s", _rows(400), stamps, [(stamps[10], "left")])
    streams, _ = pyxdf.load_xdf(export_session(folder, tmp_path / "out.xdf"))
    by_name = {s["info"]["name"][0]: s for s in streams}
    assert [row[0] for row in by_name["eeg-markers"]["time_series"]] == ["left"]
    gaps = by_name["eeg-gaps"]
    assert [row[0] for row in gaps["time_series"]] == ["BAD_ACQ_SKIP"] * 2
    np.testing.assert_array_equal(gaps["time_stamps"], stamps[[100, 300]])
    no_gap = write_session(tmp_path / "t", _rows(400), 10.0 + np.arange(400) / SFREQ)
    streams, _ = pyxdf.load_xdf(export_session(no_gap, tmp_path / "none.xdf"))
    assert sorted(s["info"]["name"][0] for s in streams) == ["eeg", "eeg-markers"]


def test_a_failed_export_leaves_no_file_under_the_final_name(tmp_path: Path, monkeypatch) -> None:
    """The writer dies half-way (as a SIGKILL would cut it): the target never appears."""
    import mne

    folder = write_session(tmp_path / "s", _rows(400), 10.0 + np.arange(400) / SFREQ)

    def half_then_fail(self, fname, *args, **kwargs):
        Path(fname).write_bytes(b"\x00" * 1000)  # a partial file at the writer's path
        raise OSError("disk full")

    monkeypatch.setattr(mne.io.BaseRaw, "save", half_then_fail)
    with pytest.raises(RecordingError, match="disk full"):
        export_session(folder, tmp_path / "out.fif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no out.fif, no leftover


def test_a_failed_xdf_export_leaves_no_file_under_the_final_name(
    tmp_path: Path, monkeypatch
) -> None:
    from neurodeck.streaming import xdf_write

    folder = write_session(tmp_path / "s", _rows(400), 10.0 + np.arange(400) / SFREQ)
    real = xdf_write._write_body

    def half_then_fail(f, *args, **kwargs):
        real(f, *args, **kwargs)  # the samples are written, the footers never come
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xdf_write, "_write_body", half_then_fail)
    with pytest.raises(RecordingError, match="No space left on device"):
        export_session(folder, tmp_path / "out.xdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no out.xdf, no leftover


def test_export_refuses_bad_targets(tmp_path: Path) -> None:
    folder = write_session(tmp_path / "s", _rows(200), np.arange(200) / SFREQ)
    with pytest.raises(RecordingError, match=r"unsupported ending '\.csv'"):
        export_session(folder, tmp_path / "out.csv")
    (tmp_path / "taken.fif").write_bytes(b"")
    with pytest.raises(RecordingError, match="already exists"):
        export_session(folder, tmp_path / "taken.fif")
    long_names = StreamMeta("eeg", "EEG", "id", "h", ("a" * 20,), ("uV",), SFREQ)
    long = write_session(
        tmp_path / "long", _rows(200)[:, :1], np.arange(200) / SFREQ, meta=long_names
    )
    with pytest.raises(RecordingError, match="at most 16 characters"):
        export_session(long, tmp_path / "long.edf")
    assert export_session(long, tmp_path / "long.fif").is_file()  # FIF keeps long names


def test_a_missing_timestamps_file_is_named_not_reported_as_no_eeg(tmp_path: Path) -> None:
    folder = write_session(tmp_path / "s", _rows(300), np.arange(300) / SFREQ, [(0.5, "left")])
    (folder / TIMES_FILE).unlink()
    err = _expect_error(folder, f"has no timestamps file {TIMES_FILE}", "holds 300 samples")
    assert "markers without EEG" not in str(err) and "no EEG" not in str(err)
    assert f"Restore {TIMES_FILE}" in err.hint


def test_a_missing_sample_file_is_named(tmp_path: Path) -> None:
    folder = write_session(tmp_path / "s", _rows(300), np.arange(300) / SFREQ)
    (folder / EEG_FILE).unlink()
    _expect_error(folder, f"has no sample file {EEG_FILE}", "holds 300 timestamps")
    (folder / TIMES_FILE).unlink()
    _expect_error(folder, f"neither {EEG_FILE}", TIMES_FILE)


def test_a_missing_markers_file_loads_with_a_warning(tmp_path: Path, caplog) -> None:
    folder = write_session(tmp_path / "s", _rows(300), np.arange(300) / SFREQ, [(0.5, "left")])
    assert not load_session(folder).markers_file_missing
    (folder / MARKERS_FILE).unlink()
    session = load_session(folder)
    assert session.markers == () and session.markers_file_missing
    assert f"has no {MARKERS_FILE}" in caplog.text and "markers are unknown" in caplog.text


def test_an_emptied_timestamps_file_is_named_when_converting(tmp_path: Path) -> None:
    folder = write_session(tmp_path / "s", _rows(300), np.arange(300) / SFREQ)
    (folder / TIMES_FILE).write_bytes(b"")
    session = load_session(folder)
    assert session.n_samples == 0
    with pytest.raises(RecordingError) as info:
        to_recording(session)
    assert f"{EEG_FILE} holds 300 samples but {TIMES_FILE} 0 timestamps" in str(info.value)
    assert "markers without EEG" not in str(info.value) and info.value.hint
