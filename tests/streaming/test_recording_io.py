"""Loading recordings: real EEGBCI runs, generated EDF/FIF files, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pytest
from neurodeck.common.types import RecordingError
from neurodeck.streaming.recording_io import (
    SUPPORTED_EXTENSIONS,
    Recording,
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
