"""Building a corpus from generated EDF files and the real EEGBCI runs: cache, channels, errors."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import mne
import neurodeck.offline_training.corpus as corpus_module
import numpy as np
import pytest
from neurodeck.common.types import ChannelMappingError, ConfigError, RecordingError
from neurodeck.offline_training.corpus import (
    Corpus,
    EEGBCISource,
    FolderSource,
    build_corpus,
)
from neurodeck.streaming.preprocessing import PreprocessingConfig, Preprocessor
from neurodeck.streaming.recording_io import load_recording

SFREQ = 160.0
NAMES = ["C3..", "EEG Cz-REF", "C4", "Pz", "ECG"]  # ECG is no 10-05 position: dropped
CONFIG = PreprocessingConfig(bandpass=(8.0, 30.0), filter_order=4)
CUES = ([2.0, 6.0, 10.0], [0.5, 0.5, 0.5], ["T1", "T2", "T0"])


def write_edf(path: Path, names: list[str] = NAMES, seconds: float = 14.0, seed: int = 0) -> Path:
    """A small EDF+ file of noise (about 20 uV) with three cue annotations."""
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((len(names), int(seconds * SFREQ))) * 20e-6  # volts
    raw = mne.io.RawArray(data, mne.create_info(names, SFREQ, "eeg"), verbose="error")
    inside = [k for k, onset in enumerate(CUES[0]) if onset + CUES[1][k] < seconds]
    raw.set_annotations(mne.Annotations(*([part[k] for k in inside] for part in CUES)))
    path.parent.mkdir(parents=True, exist_ok=True)
    mne.export.export_raw(path, raw, fmt="edf", overwrite=True, verbose="error")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two subjects in sub-folders, two runs for the first."""
    root = tmp_path / "eeg"
    write_edf(root / "subA" / "run1.edf", seed=1)
    write_edf(root / "subA" / "run2.edf", seed=2)
    write_edf(root / "subB" / "run1.edf", seed=3)
    return root


def test_corpus_equals_live_preprocessing(folder: Path, tmp_path: Path) -> None:
    config = PreprocessingConfig(channel_names=("C4", "C3", "Cz"), reference="average")
    corpus = build_corpus(FolderSource(folder), config, tmp_path / "cache")
    assert len(corpus) == 3 and corpus.subjects() == ("subA", "subB")
    assert [r.run for r in corpus] == ["run1", "run2", "run1"]
    for i, rec in enumerate(corpus):
        raw = load_recording(rec.path)
        expected = Preprocessor(config, raw.channel_names, raw.sfreq).process_array(raw.data)
        data = corpus.data(i)
        assert isinstance(data, np.memmap) and data.dtype == np.float32
        np.testing.assert_array_equal(data, expected)
        assert rec.channel_names == ("C4", "C3", "Cz") and rec.sfreq == SFREQ
        assert rec.n_samples == raw.n_samples == data.shape[1]
        assert [a.description for a in rec.annotations] == CUES[2]
        np.testing.assert_allclose([a.onset_s for a in rec.annotations], CUES[0])


def test_channel_names_harmonised_and_non_eeg_dropped(folder: Path, tmp_path: Path) -> None:
    corpus = build_corpus(FolderSource(folder / "subB"), CONFIG, tmp_path / "cache")
    assert corpus[0].channel_names == ("C3", "Cz", "C4", "Pz")
    assert corpus[0].subject == "run1"  # a file directly in the folder: subject = file stem
    raw = load_recording(corpus[0].path)
    expected = Preprocessor(CONFIG, raw.channel_names[:4], SFREQ).process_array(raw.data[:4])
    np.testing.assert_array_equal(corpus.data(0), expected)


def test_resampling_keeps_annotation_times(folder: Path, tmp_path: Path) -> None:
    config = PreprocessingConfig(bandpass=(8.0, 30.0), sfreq_out=80.0)
    corpus = build_corpus(FolderSource(folder / "subB"), config, tmp_path / "cache")
    rec = corpus[0]
    assert rec.sfreq == 80.0 and rec.n_samples == 14 * 80 == corpus.data(0).shape[1]
    assert rec.resample_delay_s > 0
    np.testing.assert_allclose([a.onset_s for a in rec.annotations], CUES[0])


def test_second_build_reads_the_cache(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, int]] = []
    first = build_corpus(
        FolderSource(folder),
        CONFIG,
        tmp_path / "cache",
        progress=lambda d, n, _: calls.append((d, n)),
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]

    def must_not_load(path: Path, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"cache miss: {path} was loaded again")

    monkeypatch.setattr(corpus_module, "load_recording", must_not_load)
    second = build_corpus(FolderSource(folder), CONFIG, tmp_path / "cache")
    assert [r.cache_file for r in second] == [r.cache_file for r in first]
    np.testing.assert_array_equal(second.data(2), first.data(2))
    # other settings are another cache entry: the file must be loaded (and here cannot be)
    other = PreprocessingConfig(bandpass=(8.0, 25.0))
    with pytest.raises(AssertionError, match="cache miss"):
        build_corpus(FolderSource(folder), other, tmp_path / "cache")


def test_corrupt_and_short_files_are_skipped(
    folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (folder / "subC").mkdir()
    (folder / "subC" / "broken.edf").write_bytes(b"0       not an edf file" * 10)
    write_edf(folder / "subD" / "short.edf", seconds=2.0)
    with caplog.at_level(logging.WARNING, logger="neurodeck.offline_training.corpus"):
        corpus = build_corpus(FolderSource(folder), CONFIG, tmp_path / "cache", min_duration_s=5)
    assert corpus.subjects() == ("subA", "subB")
    assert "broken.edf" in caplog.text and "short.edf" in caplog.text and "too short" in caplog.text


def test_missing_channels_raise_or_skip(
    folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_edf(folder / "subC" / "partial.edf", names=["C3", "Cz", "Oz"])
    config = PreprocessingConfig(channel_names=("C3", "Cz", "C4", "Pz"))
    with pytest.raises(ChannelMappingError) as info:
        build_corpus(FolderSource(folder), config, tmp_path / "cache")
    message = str(info.value)
    assert "partial.edf" in message and "'C4'" in message and "'Pz'" in message
    assert "on_missing='skip'" in info.value.hint
    with caplog.at_level(logging.WARNING, logger="neurodeck.offline_training.corpus"):
        corpus = build_corpus(FolderSource(folder), config, tmp_path / "cache", on_missing="skip")
    assert len(corpus) == 3 and "partial.edf" in caplog.text


def test_empty_corpus_names_what_was_searched(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordingError, match="0 file") as info:
        build_corpus(FolderSource(tmp_path / "empty"), CONFIG, tmp_path / "cache")
    assert str(tmp_path / "empty") in str(info.value) and info.value.hint
    with pytest.raises(RecordingError, match="not found"):
        FolderSource(tmp_path / "absent").recordings()


def test_subject_regex_and_select(tmp_path: Path) -> None:
    root = tmp_path / "eegmat"
    for name in ("Subject00_1.edf", "Subject00_2.edf", "Subject01_1.edf"):
        write_edf(root / name, seconds=3.0)
    source = FolderSource(root, pattern="Subject*", subject_regex=r"(Subject\d+)_")
    corpus = build_corpus(source, CONFIG, tmp_path / "cache")
    assert corpus.subjects() == ("Subject00", "Subject01")
    view = corpus.select(subjects=["Subject00"], runs=["Subject00_2"])
    assert isinstance(view, Corpus) and [r.run for r in view] == ["Subject00_2"]
    assert view.data(0) is corpus.data(1)  # a view: the same memory map
    assert len(corpus.select(subjects=["Subject00"])) == 2
    with pytest.raises(ConfigError, match="not in the corpus"):
        corpus.select(subjects=["Subject09"])


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"extensions": (".txt",)}, "extensions"), ({"subject_regex": "("}, "subject_regex")],
)
def test_folder_source_validation(tmp_path: Path, kwargs: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        FolderSource(tmp_path, **kwargs)


def test_eegbci_source_validation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="subjects"):
        EEGBCISource(tmp_path, subjects=(0,))
    with pytest.raises(ConfigError, match="runs"):
        EEGBCISource(tmp_path, subjects=(1,), runs=(4, 4))
    assert EEGBCISource(tmp_path, subjects=(1,)).recordings() == []  # absent: skipped, logged


@pytest.mark.data
def test_eegbci_subject_1(data_root: Path, tmp_path: Path) -> None:
    source = EEGBCISource(data_root, subjects=(1,), runs=(4, 8))
    start = time.perf_counter()
    corpus = build_corpus(source, CONFIG, tmp_path / "cache")
    cold_s = time.perf_counter() - start
    start = time.perf_counter()
    cached = build_corpus(source, CONFIG, tmp_path / "cache")
    logging.getLogger(__name__).info(
        "cold %.2f s, cached %.2f s", cold_s, time.perf_counter() - start
    )
    assert [(r.subject, r.run) for r in cached] == [("S001", "R04"), ("S001", "R08")]
    for i, rec in enumerate(corpus):
        assert rec.n_channels == 64 and rec.sfreq == 160.0 and "C3" in rec.channel_names
        assert corpus.data(i).shape == (64, rec.n_samples)
        cues = [a for a in rec.annotations if a.description in ("T1", "T2")]
        assert len(cues) == 15
