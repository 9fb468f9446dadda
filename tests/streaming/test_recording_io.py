"""Loading recordings: real EEGBCI runs, generated EDF/FIF files, and every kind of bad input."""

from __future__ import annotations

import functools
import logging
import math
import tempfile
from pathlib import Path

import mne
import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from neurodeck.common.types import RecordingError
from neurodeck.streaming.recording_io import (
    SUPPORTED_EXTENSIONS,
    Recording,
    check_recording_path,
    eegbci_run_files,
    load_recording,
)

SFREQ = 100.0
NAMES = ["C3..", "Cz", "C4", "Oz"]


def _raw(n_samples: int = 300, ch_types: str | list[str] = "eeg") -> mne.io.RawArray:
    """Synthetic raw (volts) with the sample index, in microvolts, in channel 0."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((len(NAMES), n_samples)) * 20e-6
    data[0] = np.arange(n_samples) * 1e-6
    raw = mne.io.RawArray(data, mne.create_info(NAMES, SFREQ, ch_types), verbose="error")
    raw.set_annotations(mne.Annotations([0.5, 1.0, 2.25], [0.5, 0.5, 0.2], ["T1", "T0", "T2"]))
    return raw


@pytest.fixture
def edf_file(tmp_path: Path) -> Path:
    """A 3 s, 4-channel EDF+ file with three annotations."""
    path = tmp_path / "small.edf"
    mne.export.export_raw(path, _raw(), overwrite=True, verbose="error")
    return path


def _expect_error(path: Path, *fragments: str, **kwargs: bool) -> RecordingError:
    """Load ``path``, expect a RecordingError whose message has a hint and every fragment."""
    with pytest.raises(RecordingError) as info:
        load_recording(path, **kwargs)
    err = info.value
    assert err.hint, "every RecordingError must say what to do"
    for fragment in fragments:
        assert fragment in str(err)
    return err


def test_load_generated_edf(edf_file: Path) -> None:
    rec = load_recording(edf_file)
    assert isinstance(rec, Recording)
    assert rec.channel_names == tuple(NAMES)  # labels exactly as written, dots included
    assert rec.data.dtype == np.float32 and rec.data.flags["C_CONTIGUOUS"]
    assert rec.data.shape == (4, 300) and rec.sfreq == SFREQ
    # volts -> microvolts: channel 0 holds the sample index in microvolts (EDF 16-bit quantisation)
    np.testing.assert_allclose(rec.data[0], np.arange(300), atol=0.01)
    np.testing.assert_allclose(rec.data[1:], _raw().get_data()[1:] * 1e6, atol=0.01)
    assert [a[2] for a in rec.annotations] == ["T1", "T0", "T2"]
    np.testing.assert_allclose([a[0] for a in rec.annotations], [0.5, 1.0, 2.25])
    np.testing.assert_allclose([a[1] for a in rec.annotations], [0.5, 0.5, 0.2])
    assert rec.source == edf_file and rec.duration_s == pytest.approx(3.0)


def test_fif_picks_eeg_and_annotations_follow_first_sample(tmp_path: Path) -> None:
    raw = _raw(ch_types=["eeg", "eeg", "eog", "stim"])
    raw.crop(tmin=0.25)  # first_samp = 25: onsets must be counted from the first kept sample
    path = tmp_path / "cropped_raw.fif"
    raw.save(path, verbose="error")
    rec = load_recording(path)
    assert rec.channel_names == ("C3..", "Cz")
    np.testing.assert_allclose(rec.data[0], np.arange(25, 300), atol=1e-3)
    np.testing.assert_allclose([a[0] for a in rec.annotations], [0.25, 0.75, 2.0], atol=1e-9)
    everything = load_recording(path, eeg_only=False)
    assert everything.channel_names == ("C3..", "Cz", "C4")  # EOG kept, stim dropped
    np.testing.assert_allclose(everything.data[2], raw.get_data()[2] * 1e6, rtol=1e-5)


def test_missing_file(tmp_path: Path) -> None:
    _expect_error(tmp_path / "nope.edf", "not found", "nope.edf")


def test_directory_is_refused(tmp_path: Path) -> None:
    _expect_error(tmp_path, "not a file")


def test_unsupported_extension_lists_supported(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("1,2,3\n")
    err = _expect_error(path, ".csv")
    for ext in SUPPORTED_EXTENSIONS:
        assert ext in err.hint


def test_text_file_renamed_edf(tmp_path: Path) -> None:
    path = tmp_path / "notes.edf"
    path.write_text("this is not an EDF file\n" * 20)
    _expect_error(path, "Could not read", "notes.edf")


def test_header_only_edf(tmp_path: Path, edf_file: Path) -> None:
    path = tmp_path / "header.edf"
    path.write_bytes(edf_file.read_bytes()[:100])
    _expect_error(path, "Could not read")


def test_edf_with_zero_records(tmp_path: Path, edf_file: Path) -> None:
    raw_bytes = bytearray(edf_file.read_bytes())
    header_bytes = int(raw_bytes[184:192])
    raw_bytes[236:244] = b"0".ljust(8)  # number of data records
    path = tmp_path / "empty.edf"
    path.write_bytes(bytes(raw_bytes[:header_bytes]))
    _expect_error(path, "empty.edf")


def test_truncated_edf(tmp_path: Path, edf_file: Path) -> None:
    path = tmp_path / "cut.edf"
    path.write_bytes(edf_file.read_bytes()[:-500])  # the last data record is incomplete
    err = _expect_error(path, "shorter than its header")
    assert "allow_truncated" in err.hint
    rec = load_recording(path, allow_truncated=True)
    assert rec.n_samples == 200  # the two complete 1 s records


def test_file_without_eeg(tmp_path: Path) -> None:
    raw = mne.io.RawArray(
        np.zeros((2, 100)),
        mne.create_info(["EOG1", "STI"], SFREQ, ["eog", "stim"]),
        verbose="error",
    )
    path = tmp_path / "noeeg_raw.fif"
    raw.save(path, verbose="error")
    _expect_error(path, "no EEG channels", "eog, stim")


def test_recording_shape_check(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="does not match"):
        Recording(np.zeros((2, 5), np.float32), SFREQ, ("A",), (), tmp_path / "x.edf")


@pytest.mark.data
def test_eegbci_run(data_root: Path) -> None:
    paths = eegbci_run_files(data_root, 1, [4, 8])
    assert [p.name for p in paths] == ["S001R04.edf", "S001R08.edf"]
    rec = load_recording(paths[0])
    assert rec.n_channels == 64 and rec.sfreq == 160.0
    assert {"C3..", "Cz..", "C4.."} <= set(rec.channel_names)
    assert {"T0", "T1", "T2"} == {a[2] for a in rec.annotations}
    assert 1.0 < float(np.median(rec.data.std(axis=1))) < 500.0  # plausible microvolts


def test_eegbci_absent_files_are_not_downloaded(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="not found") as info:
        eegbci_run_files(tmp_path, 1, [4])
    assert "S001R04.edf" in str(info.value) and info.value.hint
    assert not (tmp_path / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0" / "S001").exists()


@pytest.mark.parametrize(("subject", "runs"), [(0, [4]), (110, [4]), (1, [15]), (1, [])])
def test_eegbci_bad_ids(tmp_path: Path, subject: int, runs: list[int]) -> None:
    with pytest.raises(RecordingError, match="must be"):
        eegbci_run_files(tmp_path, subject, runs)


# -- recordings without signal, and EDF headers that cannot scale their samples ----------------

#: Widths of the per-signal fields of an EDF header, in file order (label ... reserved).
_EDF_WIDTHS = (16, 80, 8, 8, 8, 8, 8, 80, 8, 32)
#: Index of the range fields among them.
_RANGE_FIELDS = {"physical minimum": 3, "physical maximum": 4, "digital minimum": 5,
                 "digital maximum": 6}  # fmt: skip


def _patch_header(content: bytes, signal: int, field: str, text: str) -> bytes:
    """``content`` with one header field of one signal replaced by ``text`` (8 characters)."""
    n_signals = int(content[252:256])
    k = _RANGE_FIELDS[field]
    start = 256 + sum(w * n_signals for w in _EDF_WIDTHS[:k]) + signal * _EDF_WIDTHS[k]
    out = bytearray(content)
    out[start : start + 8] = text.encode("latin-1").ljust(8)[:8]
    return bytes(out)


@functools.cache
def _edf_bytes() -> bytes:
    """The bytes of a 3 s, 4-channel EDF+ file (annotation signal last), made once."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "base.edf"
        mne.export.export_raw(path, _raw(), overwrite=True, verbose="error")
        return path.read_bytes()


class _Warnings(logging.Handler):
    """Collects the warnings of recording_io (caplog cannot be used inside hypothesis)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.text = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.text += record.getMessage() + "\n"

    def __enter__(self) -> _Warnings:
        logging.getLogger("neurodeck.streaming.recording_io").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("neurodeck.streaming.recording_io").removeHandler(self)


def _number(text: str) -> float | None:
    """A header number as EDF readers parse it (decimal comma allowed); None if it is not one."""
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


_number_text = st.one_of(
    st.integers(-32768, 32767).map(str),
    st.integers(-99_999_999, 99_999_999).map(str),
    st.floats(-9999, 9999, allow_nan=False).map(lambda x: f"{x:.2f}"),
)
_special_text = st.sampled_from(
    ["nan", "inf", "-inf", "1e999", "", "abc", "1,5", "--1", "0x10", " 7 ", "1.5e-300"]
)


@st.composite
def _signal_ranges(draw) -> dict[str, str]:
    """Physical and digital minimum and maximum of one signal: mostly numbers, at times text,
    NaN or inf, often with a minimum equal to its maximum."""
    values = {}
    for field in _RANGE_FIELDS:
        special = draw(st.sampled_from([False] * 7 + [True]), label=f"{field} special")
        values[field] = draw(_special_text if special else _number_text, label=field)
    equal = draw(st.sampled_from(["none", "physical", "digital"]), label="equal")
    if equal != "none":
        values[f"{equal} maximum"] = values[f"{equal} minimum"]
    return values


@settings(max_examples=100, deadline=None)
@given(
    patched=st.lists(st.integers(0, len(NAMES) - 1), min_size=1, max_size=len(NAMES), unique=True),
    data=st.data(),
)
def test_generated_edf_ranges_load_or_are_refused_naming_the_signals(patched, data) -> None:
    """Any header range values: a RecordingError naming the signals, or a recording whose
    channels without signal are named in a warning; never another exception, never NaN."""
    content = _edf_bytes()
    ranges = {i: data.draw(_signal_ranges(), label=f"signal {i}") for i in patched}
    for i, values in ranges.items():
        for field, text in values.items():
            content = _patch_header(content, i, field, text)
    parsed = {i: {f: _number(t[:8]) for f, t in v.items()} for i, v in ranges.items()}
    non_numeric = [NAMES[i] for i, v in parsed.items() if None in v.values()]
    undefined = [
        NAMES[i]
        for i, v in parsed.items()
        if None not in v.values()
        and (not all(map(math.isfinite, v.values()))
             or v["physical minimum"] == v["physical maximum"]
             or v["digital minimum"] == v["digital maximum"])
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "generated.edf"
        path.write_bytes(content)
        with _Warnings() as warned:
            try:
                rec = load_recording(path)
            except RecordingError as err:
                message = str(err)
                assert err.hint, "every refusal says what to do"
                event(f"refused: {message.split(': ')[1][:40]}")
                if non_numeric:
                    assert "text where numbers belong" in message
                    assert all(repr(name) in message for name in non_numeric)
                elif len(undefined) == len(NAMES):
                    assert "undefined range" in message
                    assert all(name in message for name in NAMES)
                else:
                    assert "holds no EEG signal" in message
                return
    assert not non_numeric and len(undefined) < len(NAMES)
    event(f"loaded, {len(undefined)} signal(s) of undefined range")
    for name in undefined:  # no reader can scale them: read as 0 and named
        assert not rec.data[NAMES.index(name)].any() and name in warned.text
    for name, row in zip(rec.channel_names, rec.data, strict=True):
        sound = np.isfinite(row).all() and np.ptp(row) > 0
        assert sound or name in warned.text, f"{name} carries no signal but was not named"


def test_a_header_without_one_usable_range_is_refused_before_the_data_are_read(
    tmp_path: Path,
) -> None:
    content = _edf_bytes()
    for i in range(len(NAMES)):
        content = _patch_header(content, i, "physical minimum", "250")
        content = _patch_header(content, i, "physical maximum", "250")
    path = tmp_path / "norange.edf"
    path.write_bytes(content)
    with pytest.raises(RecordingError) as info:
        check_recording_path(path)  # the header alone decides
    message = str(info.value)
    assert "no signal of this file can be converted to microvolts" in message
    assert "C3.. (physical minimum = maximum = 250)" in message and "Oz (" in message
    assert "EDFbrowser" in info.value.hint
    content = _patch_header(content, 2, "digital maximum", "ten")
    path.write_bytes(content)
    _expect_error(path, "text where numbers belong", "'C4' digital maximum 'ten'")


def test_one_signal_without_range_is_read_as_zero_and_named(tmp_path: Path, caplog) -> None:
    content = _patch_header(_edf_bytes(), 1, "digital minimum", "32767")  # = digital maximum
    path = tmp_path / "onebad.edf"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        rec = load_recording(path)
    assert not rec.data[1].any() and rec.data[[0, 2, 3]].std(axis=1).min() > 1.0
    assert "1 of 4 channels carry no signal" in caplog.text
    assert "Cz (digital minimum = maximum = 32767)" in caplog.text


def test_flat_and_nan_recordings_are_refused_naming_the_channels(tmp_path: Path) -> None:
    info = mne.create_info(NAMES, SFREQ, "eeg")
    flat = mne.io.RawArray(np.full((4, 300), 5e-6), info, verbose="error")
    mne.export.export_raw(tmp_path / "flat.edf", flat, overwrite=True, verbose="error")
    _expect_error(tmp_path / "flat.edf", "holds no EEG signal",
                  "flat, one value throughout: C3.., Cz, C4, Oz")  # fmt: skip
    nan = mne.io.RawArray(np.full((4, 300), np.nan), info, verbose="error")
    nan.save(tmp_path / "nan_raw.fif", verbose="error")
    _expect_error(tmp_path / "nan_raw.fif", "only NaN/inf: C3.., Cz, C4, Oz")
    mixed = _raw().get_data()
    mixed[:2] = np.nan
    mixed[2:] = 1e-6
    mne.io.RawArray(mixed, info, verbose="error").save(tmp_path / "mixed_raw.fif", verbose="error")
    _expect_error(tmp_path / "mixed_raw.fif", "only NaN/inf: C3.., Cz",
                  "flat, one value throughout: C4, Oz")  # fmt: skip


def test_some_dead_channels_load_with_a_warning_naming_them(tmp_path: Path, caplog) -> None:
    data = _raw().get_data()
    data[1] = 0.0  # an unplugged electrode
    data[2] = np.nan  # a channel the driver never filled
    data[3, 10:12] = np.inf  # two bad samples
    raw = mne.io.RawArray(data, mne.create_info(NAMES, SFREQ, "eeg"), verbose="error")
    raw.save(tmp_path / "dead_raw.fif", verbose="error")
    with caplog.at_level(logging.WARNING):
        rec = load_recording(tmp_path / "dead_raw.fif")
    assert rec.n_channels == 4
    assert "2 of 4 channels carry no signal" in caplog.text
    assert "only NaN/inf: C4" in caplog.text and "flat, one value throughout: Cz" in caplog.text
    assert "NaN/inf samples in Oz (2 of 300 samples)" in caplog.text


def test_truncation_hint_names_what_a_command_line_user_can_run(
    tmp_path: Path, edf_file: Path
) -> None:
    from neurodeck.app.cli import _parser
    from neurodeck.calibration.trials import load_calibration_source

    path = tmp_path / "cut.edf"
    path.write_bytes(edf_file.read_bytes()[:-500])
    err = _expect_error(path, "shorter than its header")
    assert "--allow-truncated to `neurodeck replay` or `neurodeck calibrate --recording`" in (
        err.hint
    )
    assert _parser().parse_args(["replay", str(path), "--allow-truncated"]).allow_truncated
    calibrate = ["calibrate", "--recording", str(path), "--out", "p", "--allow-truncated"]
    assert _parser().parse_args(calibrate).allow_truncated
    assert load_calibration_source(path, allow_truncated=True).n_samples == 200
