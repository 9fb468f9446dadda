"""Window datasets over a corpus: index arithmetic, cue labels, Euclidean alignment, folds."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from neurodeck.common.types import ChannelMappingError, ConfigError
from neurodeck.offline_training.corpus import Corpus, CorpusAnnotation, CorpusRecording
from neurodeck.offline_training.windows import (
    CueWindowDataset,
    WindowDataset,
    euclidean_alignment_matrix,
    subject_folds,
)
from torch.utils.data import DataLoader

SFREQ = 100.0
CHANNELS = ("C3", "Cz", "C4")
LEFT_RIGHT = {"T1": "left", "T2": "right"}


def make_corpus(
    tmp_path: Path,
    lengths: list[int],
    subjects: list[str],
    cues: list[list[tuple[float, str]]] | None = None,
    rng: np.random.Generator | None = None,
) -> Corpus:
    """Recordings stored as .npy: channel 0 holds the sample index (or correlated noise)."""
    recordings = []
    for r, (n_samples, subject) in enumerate(zip(lengths, subjects, strict=True)):
        if rng is None:
            data = np.tile(np.arange(n_samples, dtype=np.float32), (3, 1))
            data[1:] += np.float32(1e5 * r)  # tell recordings and channels apart
            data[2] *= -1
        else:
            mixing = rng.standard_normal((3, 3)) * (r + 1)
            data = (mixing @ rng.standard_normal((3, n_samples))).astype(np.float32)
        path = tmp_path / f"rec{r}.npy"
        np.save(path, data)
        annotations = tuple(CorpusAnnotation(t, 0.5, d) for t, d in (cues[r] if cues else []))
        recordings.append(
            CorpusRecording(
                path=tmp_path / f"rec{r}.edf",
                subject=subject,
                run=f"R{r:02d}",
                channel_names=CHANNELS,
                sfreq=SFREQ,
                n_samples=n_samples,
                annotations=annotations,
                resample_delay_s=0.0,
                cache_file=path,
            )
        )
    return Corpus(recordings)


def test_window_count_and_content(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path, [1000, 150, 530], ["a", "a", "b"])
    ds = WindowDataset(corpus, window_s=2.0, stride_s=0.4)  # T = 200, S = 40
    counts = [(1000 - 200) // 40 + 1, 0, (530 - 200) // 40 + 1]
    assert len(ds) == sum(counts) and ds.index.dtype == np.int64
    assert [ds.recording_of(i) for i in (0, counts[0] - 1, counts[0])] == [0, 0, 2]
    assert ds.subject_of(len(ds) - 1) == "b"
    for i in (0, 7, counts[0], len(ds) - 1):
        x = ds[i]
        recording, start = ds.index[i]
        assert isinstance(x, torch.Tensor) and x.dtype == torch.float32 and x.shape == (3, 200)
        np.testing.assert_array_equal(x.numpy(), corpus.data(recording)[:, start : start + 200])
    assert ds[-1][0, -1] == 530 - 1 - (530 - 200) % 40
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_channel_selection_by_name(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path, [400], ["a"])
    ds = WindowDataset(corpus, 1.0, 1.0, channel_names=["c4", "C3"])
    assert ds.channel_names == ("C4", "C3")
    np.testing.assert_array_equal(ds[1].numpy(), corpus.data(0)[[2, 0], 100:200])
    with pytest.raises(ChannelMappingError, match=r"rec0\.edf"):
        WindowDataset(corpus, 1.0, 1.0, channel_names=["C3", "Pz"])


def test_window_dataset_errors(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path, [100], ["a"])
    with pytest.raises(ConfigError, match="No window"):
        WindowDataset(corpus, 2.0, 1.0)
    with pytest.raises(ConfigError, match="stride_s"):
        WindowDataset(corpus, 0.5, 0.0)
    with pytest.raises(ConfigError, match="alignment"):
        WindowDataset(corpus, 0.5, 0.5, alignment="trial")


def test_cue_windows_follow_the_online_protocol(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cues = [[(2.0, "T1"), (7.0, "T0"), (8.0, "T2")], [(1.0, "T2"), (0.5, "T1"), (9.5, "T1")]]
    corpus = make_corpus(tmp_path, [1300, 1100], ["a", "b"], cues)
    with caplog.at_level(logging.INFO, logger="neurodeck.offline_training.windows"):
        ds = CueWindowDataset(corpus, LEFT_RIGHT, ("left", "right"), 2.0, ends_s=(1.0, 4.0, 0.5))
    # kept: 2.0 T1, 8.0 T2 (ends 900..1200 <= 1300), 1.0 T2 (first end 200 - 200 = 0);
    # dropped: 0.5 T1 (starts before 0), 9.5 T1 (ends after 1100)
    assert "Dropped 2 trial(s)" in caplog.text
    assert ds.n_trials == 3 and ds.windows_per_trial == 7 and len(ds) == 21
    np.testing.assert_array_equal(ds.labels, np.repeat([0, 1, 1], 7))
    np.testing.assert_array_equal(ds.trial_ids, np.repeat([0, 1, 2], 7))
    x, label, trial = ds[8]  # trial 1 (cue 8.0 s), second window: ends at 8.0 + 1.5 s
    assert (label, trial) == (1, 1) and x.shape == (3, 200)
    assert x[0, -1] == 950 - 1 and x[0, 0] == 950 - 200
    assert ds.recording_of(20) == 1 and ds.subject_of(20) == "b"
    batch = next(iter(DataLoader(ds, batch_size=7)))
    assert batch[0].shape == (7, 3, 200) and batch[1].tolist() == [0] * 7


def test_cue_dataset_errors(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path, [1000], ["a"], [[(2.0, "T1")]])
    with pytest.raises(ConfigError, match="No trial"):
        CueWindowDataset(corpus, {"X": "left"}, ["left"], 2.0)
    with pytest.raises(ConfigError, match="not in class_names"):
        CueWindowDataset(corpus, LEFT_RIGHT, ["left"], 2.0)
    with pytest.raises(ConfigError, match="ends_s"):
        CueWindowDataset(corpus, LEFT_RIGHT, ["left", "right"], 2.0, ends_s=(4.0, 1.0, 0.25))


def _mean_covariance(windows: np.ndarray) -> np.ndarray:
    """(n, C, T) -> (C, C) mean of X X^T / T."""
    return np.einsum("nct,ndt->cd", windows, windows) / (windows.shape[0] * windows.shape[2])


def test_euclidean_alignment_matrix(rng: np.random.Generator) -> None:
    mixing = rng.standard_normal((4, 4))
    windows = np.einsum("cd,ndt->nct", mixing, rng.standard_normal((30, 4, 100)))
    matrix = euclidean_alignment_matrix(windows)
    assert matrix.shape == (4, 4) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-6)
    aligned = np.einsum("cd,ndt->nct", matrix.astype(np.float64), windows)
    np.testing.assert_allclose(_mean_covariance(aligned), np.eye(4), atol=1e-4)
    rank_deficient = windows - windows.mean(axis=1, keepdims=True)  # average reference
    assert np.all(np.isfinite(euclidean_alignment_matrix(rank_deficient)))
    with pytest.raises(ConfigError, match="all zero"):
        euclidean_alignment_matrix(np.zeros((2, 3, 10)))
    with pytest.raises(ConfigError, match="n_windows"):
        euclidean_alignment_matrix(np.zeros((3, 10)))


@pytest.mark.parametrize("mode", ["recording", "subject"])
def test_alignment_whitens_each_group(tmp_path: Path, rng: np.random.Generator, mode: str) -> None:
    corpus = make_corpus(tmp_path, [2000, 3000, 2500], ["a", "a", "b"], rng=rng)
    ds = WindowDataset(corpus, 1.0, 1.0, alignment=mode, alignment_max_windows=None)
    groups = [[0], [1], [2]] if mode == "recording" else [[0, 1], [2]]
    for members in groups:
        items = [i for i in range(len(ds)) if ds.recording_of(i) in members]
        windows = np.stack([ds[i].numpy() for i in items]).astype(np.float64)
        np.testing.assert_allclose(_mean_covariance(windows), np.eye(3), atol=1e-4)
    unaligned = WindowDataset(corpus, 1.0, 1.0)
    assert not np.allclose(ds[0].numpy(), unaligned[0].numpy())
    matrix = ds.alignment_matrix(0)
    np.testing.assert_allclose(ds[0].numpy(), matrix @ unaligned[0].numpy(), rtol=1e-5, atol=1e-5)


def test_cue_alignment_uses_the_subjects_own_windows(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    cues = [[(t, "T1" if t % 2 else "T2") for t in range(1, 15, 3)]] * 2
    corpus = make_corpus(tmp_path, [1800, 1800], ["a", "a"], cues, rng=rng)
    ds = CueWindowDataset(corpus, LEFT_RIGHT, ["left", "right"], 1.0, alignment="subject")
    windows = np.stack([ds[i][0].numpy() for i in range(len(ds))]).astype(np.float64)
    np.testing.assert_allclose(_mean_covariance(windows), np.eye(3), atol=1e-4)


def test_corpus_pickles_without_its_arrays(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path, [50_000], ["a"])
    ds = WindowDataset(corpus, 1.0, 1.0)
    _ = ds[0]  # opens the memory map
    clone = pickle.loads(pickle.dumps(ds))
    assert len(pickle.dumps(ds)) < 50_000  # the 600 kB array is not in the pickle
    np.testing.assert_array_equal(clone[5].numpy(), ds[5].numpy())


def test_subject_folds_partition_the_subjects() -> None:
    subjects = [f"S{k:03d}" for k in range(1, 12)] + ["S001"]
    folds = subject_folds(subjects, n_folds=4, seed=3)
    assert folds == subject_folds(list(reversed(subjects)), 4, seed=3)  # deterministic
    tests = [s for _, test in folds for s in test]
    assert sorted(tests) == sorted(set(subjects)) and len(tests) == 11
    assert sorted(len(test) for _, test in folds) == [2, 3, 3, 3]
    for train, test in folds:
        assert not set(train) & set(test) and set(train) | set(test) == set(subjects)
    assert subject_folds(subjects, 4, seed=4) != folds
    with pytest.raises(ConfigError, match="n_folds"):
        subject_folds(["a", "b"], 3)
