"""XDF: the writer read back by pyxdf bit-exact, a recorded session exported and read back, and
the reader's stream choice, clock correction, units and refusal of damaged files."""

from __future__ import annotations

import io
import logging
import struct
from pathlib import Path

import numpy as np
import pylsl
import pytest
import pyxdf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from neurodeck.common.types import RecordingError
from neurodeck.streaming import xdf_write
from neurodeck.streaming.lsl_io import local_clock, make_stream_info, resolve_stream
from neurodeck.streaming.recorded_session import export_session, load_session, to_recording
from neurodeck.streaming.recorder import SessionRecorder
from neurodeck.streaming.recording_io import load_recording
from neurodeck.streaming.xdf_read import load_xdf_signal
from neurodeck.streaming.xdf_write import XdfChannel, XdfStream, varlen_int, write_xdf

from tests.streaming.xdf_files import (
    MARKERS,
    NAMES,
    SFREQ,
    T0,
    accelerometer_stream,
    eeg_stream,
    eeg_uv,
    labrecorder_file,
    marker_stream,
)

PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _pyxdf(path: Path, sync: bool = True) -> dict[str, dict]:
    """pyxdf.load_xdf without dejittering, streams by name."""
    streams, _ = pyxdf.load_xdf(path, synchronize_clocks=sync, dejitter_timestamps=False)
    return {s["info"]["name"][0]: s for s in streams}


def _refused(path: Path, *fragments: str, **kwargs: object) -> RecordingError:
    with pytest.raises(RecordingError) as info:
        load_xdf_signal(path, **kwargs)
    assert info.value.hint, "every RecordingError must say what to do"
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    return info.value


# -- the writer -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "width"), [(0, 1), (255, 1), (256, 4), (2**32 - 1, 4), (2**32, 8)]
)
def test_variable_length_integers_are_read_back_by_pyxdf(value: int, width: int) -> None:
    from pyxdf.pyxdf import _read_varlen_int

    raw = varlen_int(value)
    assert raw[0] == width and len(raw) == 1 + width
    assert _read_varlen_int(io.BytesIO(raw)) == value


_FINITE = st.floats(-1e6, 1e6, allow_nan=False, width=32)


@st.composite
def _streams(draw: st.DrawFn) -> tuple[XdfStream, XdfStream]:
    n_channels = draw(st.integers(1, 5))
    n = draw(st.integers(0, 300))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int16, np.int32]))
    values = draw(st.lists(_FINITE, min_size=n * n_channels, max_size=n * n_channels))
    data = np.array(values, dtype=np.float64).reshape(n_channels, n)
    if np.issubdtype(dtype, np.integer):
        data = np.clip(np.round(data), -30000, 30000)
    start = draw(st.floats(0.0, 1e6, allow_nan=False))
    steps = draw(st.lists(st.floats(0.0, 0.5), min_size=n, max_size=n))
    eeg = XdfStream(
        name="amp",
        stream_type="EEG",
        timestamps=start + np.cumsum(steps),
        data=data.astype(dtype),
        nominal_srate=draw(st.sampled_from([100.0, 256.0, 1000.0])),
        channels=tuple(XdfChannel(f"E{i}", "microvolts", "EEG") for i in range(n_channels)),
    )
    labels = draw(st.lists(st.text(max_size=300), max_size=20))
    times = draw(st.lists(st.floats(-1e6, 1e6), min_size=len(labels), max_size=len(labels)))
    markers = XdfStream("cues", "Markers", np.array(times, np.float64), labels=tuple(labels))
    return eeg, markers


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # pyxdf: equal timestamps
@PROPERTY
@given(streams=_streams(), chunk_s=st.sampled_from([0.01, 1.0, 100.0]))
def test_what_the_writer_writes_pyxdf_reads_back_exactly(tmp_path_factory, streams, chunk_s):
    eeg, markers = streams
    path = write_xdf(tmp_path_factory.mktemp("x") / "w.xdf", [eeg, markers], chunk_s=chunk_s)
    for sync in (False, True):  # offsets of 0 s leave the timestamps untouched
        got = _pyxdf(path, sync)
        assert got["amp"]["info"]["channel_format"] == [eeg.channel_format]
        np.testing.assert_array_equal(got["amp"]["time_stamps"], eeg.timestamps)
        series = np.asarray(got["amp"]["time_series"]).reshape(eeg.n_samples, eeg.channel_count)
        np.testing.assert_array_equal(series, eeg.data.T)
        assert [row[0] for row in got["cues"]["time_series"]] == list(markers.labels)
        np.testing.assert_array_equal(got["cues"]["time_stamps"], markers.timestamps)
        assert got["cues"]["footer"]["info"]["sample_count"] == [str(markers.n_samples)]


def test_headers_footers_and_clock_offsets_are_those_of_labrecorder(tmp_path) -> None:
    stream = eeg_stream(n_samples=600, offset_s=0.125)
    path = write_xdf(tmp_path / "h.xdf", [stream, marker_stream("Cues", [T0 + 1], ["x"])])
    streams, file_header = pyxdf.load_xdf(path, synchronize_clocks=False)
    assert file_header["info"]["version"] == ["1.0"]
    info = streams[0]["info"]
    assert (info["name"], info["type"], info["channel_count"]) == (["ActiChamp"], ["EEG"], ["4"])
    assert (info["nominal_srate"], info["source_id"]) == (["250.0"], ["ActiChamp-sid"])
    channels = info["desc"][0]["channels"][0]["channel"]
    assert [c["label"][0] for c in channels] == list(NAMES)
    assert {c["unit"][0] for c in channels} == {"microvolts"} and channels[0]["type"] == ["EEG"]
    footer = streams[0]["footer"]["info"]
    assert footer["sample_count"] == ["600"]
    assert float(footer["first_timestamp"][0]) == stream.timestamps[0]
    assert float(footer["last_timestamp"][0]) == stream.timestamps[-1]
    offsets = footer["clock_offsets"][0]["offset"]
    assert [float(o["value"][0]) for o in offsets] == [0.125, 0.125]
    assert streams[0]["clock_values"] == [0.125, 0.125]  # the ClockOffset chunks
    raw = path.read_bytes()
    assert raw.startswith(b"XDF:") and raw.count(xdf_write.BOUNDARY_UUID) >= 1


@pytest.mark.parametrize("interruption", [OSError(28, "No space left"), KeyboardInterrupt])
def test_an_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch, interruption) -> None:
    out = tmp_path / "out.xdf"
    out.write_bytes(b"the earlier export")
    calls = []

    def failing(stream, start, stop):
        calls.append(start)
        if len(calls) == 3:
            raise interruption
        return original(stream, start, stop)

    original = xdf_write.samples_content
    monkeypatch.setattr(xdf_write, "samples_content", failing)
    expected = RecordingError if isinstance(interruption, OSError) else KeyboardInterrupt
    with pytest.raises(expected):
        write_xdf(out, [eeg_stream(n_samples=2000)], chunk_s=1.0)
    assert out.read_bytes() == b"the earlier export", "the final name is replaced only when whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xdf"], "no temporary file left"


# -- a real session, recorded over LSL, exported and read back --------------------------------
def _marker_outlet(name: str) -> pylsl.StreamOutlet:
    info = make_stream_info(
        name, "Markers", ["marker"], pylsl.IRREGULAR_RATE, name, channel_format="string", unit=""
    )
    return pylsl.StreamOutlet(info)


@pytest.mark.lsl
def test_a_recorded_session_exports_to_xdf_sample_exact(tmp_path, unique_id, rng) -> None:
    n, sfreq = 2500, 500.0
    names = ["index", "C3", "Cz", "C4", "Pz"]
    outlet = pylsl.StreamOutlet(make_stream_info(unique_id, "EEG", names, sfreq, unique_id))
    cues, notes = _marker_outlet(f"{unique_id}-markers"), _marker_outlet(f"{unique_id}-notes")
    rec = SessionRecorder(
        resolve_stream(source_id=unique_id),
        tmp_path / "session",
        [resolve_stream(name=f"{unique_id}-{kind}") for kind in ("markers", "notes")],
        flush_s=0.05,
    )
    rows = (rng.standard_normal((n, len(names))) * 40).astype(np.float32)
    rows[:, 0] = np.arange(n)
    rows[1234, 2] = np.nan
    stamps = local_clock() + np.arange(n) / sfreq
    with rec:
        for i in range(0, n, 100):
            outlet.push_chunk(rows[i : i + 100], stamps[i : i + 100])
        for label, k in (("cue_left", 10), ("cue_right", 1500), ("süß", 2499)):
            cues.push_sample([label], stamps[k])
        notes.push_sample(["eyes closed"], stamps[700] + 0.0011)
        assert rec.wait_until(n_samples=n, n_markers=4, timeout_s=10.0)
    session = load_session(tmp_path / "session")
    out = export_session(tmp_path / "session", tmp_path / "session.xdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session", "session.xdf"]

    for sync in (True, False):
        got = _pyxdf(out, sync)
        assert set(got) == {unique_id, f"{unique_id}-markers", f"{unique_id}-notes"}
        eeg = got[unique_id]
        # data: the float32 values the recorder stored, bit for bit (NaN in its place)
        assert eeg["time_series"].dtype == np.float32
        np.testing.assert_array_equal(eeg["time_series"], session.data.T)
        np.testing.assert_array_equal(eeg["time_series"], rows)
        # timestamps: exactly those of eeg_times.f64
        np.testing.assert_array_equal(eeg["time_stamps"], session.timestamps)
        # markers: every one, with its stream and its exact timestamp
        by_stream = {
            name: [(row[0], t) for row, t in zip(s["time_series"], s["time_stamps"], strict=True)]
            for name, s in got.items()
            if name != unique_id
        }
        from_session = sorted((m.label, m.timestamp) for m in session.markers)
        assert sorted(by_stream[f"{unique_id}-markers"] + by_stream[f"{unique_id}-notes"]) == (
            from_session
        )
        assert [label for label, _ in by_stream[f"{unique_id}-notes"]] == ["eyes closed"]
        assert eeg["footer"]["info"]["sample_count"] == [str(n)]
        channels = eeg["info"]["desc"][0]["channels"][0]["channel"]
        assert [c["label"][0] for c in channels] == names
    # the XDF reads back through neurodeck as the session does
    expected = to_recording(session)
    again = load_recording(out)
    np.testing.assert_array_equal(again.data, expected.data)
    assert again.annotations == expected.annotations and again.sfreq == sfreq
    signal = load_xdf_signal(out)
    np.testing.assert_array_equal(signal.timestamps, session.timestamps)
    assert signal.markers == session.markers


# -- reading ----------------------------------------------------------------------------------
def test_a_labrecorder_file_gives_eeg_and_clock_corrected_markers(tmp_path) -> None:
    path = labrecorder_file(tmp_path / "lr.xdf")  # markers on another host's clock
    signal = load_xdf_signal(path)
    assert signal.stream.name == "ActiChamp" and signal.marker_streams == ("Cues",)
    assert signal.channel_names == NAMES and signal.sfreq == SFREQ
    np.testing.assert_array_equal(signal.data, eeg_uv(1000))
    true = T0 + np.arange(1000) / SFREQ
    np.testing.assert_allclose(signal.timestamps, true, atol=1e-9, rtol=0)
    np.testing.assert_allclose(
        [m.timestamp for m in signal.markers], [T0 + p / SFREQ for _, p in MARKERS], atol=1e-9
    )
    rec = load_recording(path)
    assert [label for _, _, label in rec.annotations] == [label for label, _ in MARKERS]
    onsets = [np.ceil(position) / SFREQ for _, position in MARKERS]  # first sample at or after
    np.testing.assert_allclose([a[0] for a in rec.annotations], onsets, atol=1e-12)


def test_samples_with_deduced_timestamps_are_read(tmp_path) -> None:
    """LabRecorder stamps only some samples (timestamp byte 0: previous + 1 / nominal_srate)."""
    stream = eeg_stream(n_samples=6)
    values = eeg_uv(6)
    samples = [varlen_int(6)]
    for i in range(6):
        stamp = struct.pack("<Bd", 8, T0 + i / SFREQ) if i in (0, 3) else b"\x00"
        samples.append(stamp + values[:, i].astype("<f4").tobytes())
    raw = b"".join(
        [
            xdf_write.MAGIC,
            xdf_write.chunk(xdf_write.TAG_FILE_HEADER, xdf_write.file_header_xml()),
            xdf_write.chunk(xdf_write.TAG_STREAM_HEADER, xdf_write.stream_header_xml(stream), 7),
            xdf_write.chunk(xdf_write.TAG_SAMPLES, b"".join(samples), 7),
            xdf_write.chunk(
                xdf_write.TAG_STREAM_FOOTER, b"<info><sample_count>6</sample_count></info>", 7
            ),
        ]
    )
    (tmp_path / "lr.xdf").write_bytes(raw)
    signal = load_xdf_signal(tmp_path / "lr.xdf")
    np.testing.assert_array_equal(signal.data, values)
    np.testing.assert_allclose(signal.timestamps, T0 + np.arange(6) / SFREQ, atol=1e-9, rtol=0)


def test_without_clock_correction_the_markers_would_be_off(tmp_path) -> None:
    """The check above means something: the raw marker timestamps are 1.75 s off the EEG."""
    got = _pyxdf(labrecorder_file(tmp_path / "lr.xdf"), sync=False)
    shift = got["Cues"]["time_stamps"][0] - got["ActiChamp"]["time_stamps"][101]
    assert shift == pytest.approx(1.5 + 0.25 - 0.7 / SFREQ, abs=1e-6)


@pytest.mark.parametrize("unit", ["volts", "millivolts", "microvolts"])
def test_units_are_converted_to_microvolts(tmp_path, unit: str) -> None:
    path = write_xdf(tmp_path / "u.xdf", [eeg_stream(unit=unit)])
    signal = load_xdf_signal(path, allow_truncated=False)
    np.testing.assert_allclose(signal.data, eeg_uv(1000), rtol=1e-6, atol=1e-4)


def test_unknown_units_are_kept_with_a_warning(tmp_path, caplog) -> None:
    path = write_xdf(tmp_path / "u.xdf", [eeg_stream(unit="counts")])
    with caplog.at_level(logging.WARNING):
        signal = load_xdf_signal(path)
    np.testing.assert_array_equal(signal.data, eeg_uv(1000))
    assert "['counts']" in caplog.text and "assuming microvolts" in caplog.text


def test_channel_types_pick_the_eeg(tmp_path) -> None:
    stream = eeg_stream(channel_types=["EEG", "EOG", "EEG", "AUX"])
    path = write_xdf(tmp_path / "t.xdf", [stream])
    assert load_xdf_signal(path).channel_names == ("C3", "C4")
    assert load_recording(path, eeg_only=False).channel_names == ("C3", "Cz", "C4")
    aux_only = eeg_stream(channel_types=["AUX"] * 4)
    _refused(write_xdf(tmp_path / "a.xdf", [aux_only]), "holds no EEG channels", "aux")


def test_missing_labels_become_generic_names(tmp_path, caplog) -> None:
    stream = eeg_stream()
    unlabelled = XdfStream(
        "amp", "EEG", stream.timestamps, data=stream.data, nominal_srate=SFREQ
    )  # no desc/channels
    signal = load_xdf_signal(write_xdf(tmp_path / "n.xdf", [unlabelled]))
    assert signal.channel_names == ("Ch1", "Ch2", "Ch3", "Ch4") and "Ch1..Ch4" in caplog.text


def _two_eeg_file(path: Path) -> Path:
    return write_xdf(
        path,
        [
            eeg_stream("Left amp", seed=1),
            marker_stream("Cues", [T0 + 1.0], ["T1"]),
            eeg_stream("Right amp", n_samples=500, names=("O1", "Oz", "O2"), seed=2),
            accelerometer_stream(),
        ],
    )


def test_several_eeg_streams_are_refused_with_their_names(tmp_path) -> None:
    err = _refused(_two_eeg_file(tmp_path / "two.xdf"), "2 EEG streams", "'Left amp'")
    assert "'Right amp'" in err.problem and "Motion" not in err.problem
    assert "--xdf-stream NAME" in err.hint and "xdf_stream='Left amp'" in err.hint


def test_a_stream_is_chosen_by_name(tmp_path) -> None:
    path = _two_eeg_file(tmp_path / "two.xdf")
    right = load_xdf_signal(path, stream="Right amp")
    assert right.channel_names == ("O1", "Oz", "O2") and right.n_samples == 500
    np.testing.assert_array_equal(right.data, eeg_uv(500, 3, seed=2))
    assert [m.label for m in right.markers] == ["T1"]
    rec = load_recording(path, xdf_stream="Left amp")
    np.testing.assert_array_equal(rec.data, eeg_uv(1000, seed=1))
    _refused(path, "no stream named 'Nope'", "'Left amp'", "'Cues'", stream="Nope")
    _refused(path, "'Cues' is not a signal stream", stream="Cues")
    _refused(path, "stream 'Motion' holds no EEG channels", "acc", stream="Motion")


def test_a_single_signal_stream_of_another_type_is_used(tmp_path) -> None:
    stream = eeg_stream(stream_type="ExG")
    path = write_xdf(tmp_path / "e.xdf", [stream, marker_stream("Cues", [T0], ["go"])])
    assert load_xdf_signal(path).stream.name == "ActiChamp"
    none = write_xdf(tmp_path / "m.xdf", [marker_stream("Cues", [T0], ["go"])])
    _refused(none, "holds no EEG stream", "'Cues' (Markers")


def test_an_empty_eeg_stream_is_refused(tmp_path) -> None:
    empty = XdfStream(
        "amp", "EEG", np.empty(0), data=np.empty((2, 0), np.float32), nominal_srate=SFREQ
    )
    _refused(write_xdf(tmp_path / "e.xdf", [empty]), "holds no samples")


# -- damaged files ----------------------------------------------------------------------------
def test_files_that_are_not_xdf_are_refused(tmp_path) -> None:
    for name, content in (("empty.xdf", b""), ("text.xdf", b"hello " * 50), ("magic.xdf", b"XDF:")):
        (tmp_path / name).write_bytes(content)
    _refused(tmp_path / "empty.xdf", "not a readable XDF file", "magic code")
    _refused(tmp_path / "text.xdf", "not a readable XDF file", "magic code")
    _refused(tmp_path / "magic.xdf", "holds no chunks")
    with pytest.raises(RecordingError, match="not found"):
        load_recording(tmp_path / "missing.xdf")


def test_a_missing_footer_is_a_truncation(tmp_path) -> None:
    path = labrecorder_file(tmp_path / "lr.xdf")
    raw = path.read_bytes()
    start = raw.rindex(b"<?xml") - 8  # the last footer: [1][length][6, 0][stream id 3][XML]
    assert raw[start] == 1 and raw[start + 2 : start + 8] == b"\x06\x00\x03\x00\x00\x00"
    cut = tmp_path / "cut.xdf"
    cut.write_bytes(raw[:start])
    _refused(cut, "is truncated", "no StreamFooter for 'Motion'")
    assert load_xdf_signal(cut, allow_truncated=True).n_samples == 1000


def test_the_extra_sample_of_a_closed_outlet_is_dropped_as_pyxdf_does(tmp_path, caplog) -> None:
    """pylsl#67: one sample more than the footer says, and a stray last clock offset."""
    stream = eeg_stream(n_samples=1000)
    offsets = ((T0, 0.0), (T0 + 1, 0.0), (T0 + 2, 0.0), (T0 + 300, 0.0))
    stream = XdfStream(
        stream.name, "EEG", stream.timestamps, data=stream.data, nominal_srate=SFREQ,
        channels=stream.channels, clock_offsets=offsets,
    )  # fmt: skip
    raw = write_xdf(tmp_path / "x.xdf", [stream]).read_bytes()
    assert raw.count(b"<sample_count>1000<") == 1
    (tmp_path / "x.xdf").write_bytes(raw.replace(b"<sample_count>1000<", b"<sample_count>0999<"))
    with caplog.at_level(logging.WARNING):
        signal = load_xdf_signal(tmp_path / "x.xdf")
    np.testing.assert_array_equal(signal.data, eeg_uv(1000)[:, :999])
    assert "truncating extra samples" in caplog.text


def test_chunks_of_unknown_streams_are_corrupt(tmp_path) -> None:
    path = labrecorder_file(tmp_path / "lr.xdf")
    raw = bytearray(path.read_bytes())
    bad = xdf_write.chunk(xdf_write.TAG_CLOCK_OFFSET, struct.pack("<dd", 1.0, 0.0), 99)
    at = raw.index(xdf_write.BOUNDARY_UUID) - 4  # before the first Boundary chunk
    (tmp_path / "bad.xdf").write_bytes(bytes(raw[:at] + bad + raw[at:]))
    _refused(tmp_path / "bad.xdf", "unknown stream 99")


@pytest.fixture(scope="module")
def small_file(tmp_path_factory) -> bytes:
    path = labrecorder_file(tmp_path_factory.mktemp("xdf") / "small.xdf", n_samples=300)
    return path.read_bytes()


@PROPERTY
@given(data=st.data())
def test_every_truncation_is_refused_or_read_as_a_prefix(tmp_path, small_file, data) -> None:
    cut = data.draw(st.integers(0, len(small_file) - 1), label="cut")
    path = tmp_path / "cut.xdf"
    path.write_bytes(small_file[:cut])
    with pytest.raises(RecordingError) as info:
        load_xdf_signal(path)
    assert "truncated" in info.value.problem or "not a readable XDF file" in info.value.problem
    try:  # what a cut file still holds comes back exactly, or it is refused
        signal = load_xdf_signal(path, allow_truncated=True)
    except RecordingError:
        return
    np.testing.assert_array_equal(signal.data, eeg_uv(300)[:, : signal.n_samples])


@PROPERTY
@given(data=st.data())
def test_damaged_bytes_are_refused_or_read_never_crash(tmp_path, small_file, data) -> None:
    raw = bytearray(small_file)
    for _ in range(data.draw(st.integers(1, 8), label="n_flips")):
        at = data.draw(st.integers(0, len(raw) - 1), label="at")
        raw[at] = data.draw(st.integers(0, 255), label="byte")
    path = tmp_path / "damaged.xdf"
    path.write_bytes(bytes(raw))
    try:
        signal = load_xdf_signal(path)
    except RecordingError as err:
        assert err.hint
        return
    assert signal.data.dtype == np.float32 and signal.data.shape[1] == len(signal.timestamps)


@PROPERTY
@given(garbage=st.binary(max_size=2000), magic=st.booleans())
def test_random_bytes_are_refused(tmp_path, garbage: bytes, magic: bool) -> None:
    path = tmp_path / "random.xdf"
    path.write_bytes((b"XDF:" if magic else b"") + garbage)
    _refused(path)
