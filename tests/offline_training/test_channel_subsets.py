"""Channel-subset training: subsets drawn, aligned on themselves, mirrored; one network for 8, 19
and 64 named channels."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from neurodeck.common.montages import montage
from neurodeck.common.types import ConfigError
from neurodeck.models.shallow_any import channel_key
from neurodeck.offline_training.channel_subsets import (
    ChannelSubsetSampler,
    SubsetSettings,
    SubsetSupervisedObjective,
    trial_groups,
)
from neurodeck.offline_training.corpus import Corpus, CorpusAnnotation, CorpusRecording
from neurodeck.offline_training.label_augment import mirror_index
from neurodeck.offline_training.windows import CueWindowDataset
from neurodeck.streaming.simulator import STANDARD_MONTAGES, SimulationConfig, SyntheticEEG

NAMES = STANDARD_MONTAGES[64]
SFREQ = 160.0
CLASSES = {"left": "left", "right": "right"}


def simulated_corpus(tmp_path: Path, subjects=("a", "b"), seconds: float = 60.0) -> Corpus:
    """One simulated 64-channel motor-imagery recording per subject, cues as annotations."""
    recordings = []
    for i, subject in enumerate(subjects):
        gen = SyntheticEEG(SimulationConfig(n_channels=64, sfreq=SFREQ, seed=i, erd_depth=0.7))
        block = gen.generate(int(seconds * SFREQ))
        path = tmp_path / f"{subject}.npy"
        np.save(path, block.data.astype(np.float32) * (i + 1))  # subjects differ in scale
        cues = tuple(CorpusAnnotation(idx / SFREQ, 4.0, lab) for idx, lab in block.markers)
        recordings.append(
            CorpusRecording(
                tmp_path / f"{subject}.edf",
                subject,
                "R04",
                NAMES,
                SFREQ,
                block.data.shape[1],
                cues,
                0.0,
                path,
            )
        )
    return Corpus(recordings)


def _objective(dataset, settings: SubsetSettings, augment=(), model=None):
    covariances, groups = dataset.subject_covariances()
    model = model or _network()
    return SubsetSupervisedObjective(
        model, covariances, trial_groups(dataset, groups),
        ChannelSubsetSampler(NAMES, settings, seed=0), ("left", "right"), augment=augment,
    )  # fmt: skip


def _network():
    from neurodeck.models.registry import build_model

    return build_model(
        "shallow_convnet_any",
        {"channel_names": list(NAMES), "sfreq": SFREQ, "n_times": 320, "n_outputs": 2},
    )


def _dataset(tmp_path: Path) -> CueWindowDataset:
    corpus = simulated_corpus(tmp_path)
    return CueWindowDataset(corpus, CLASSES, ("left", "right"), 2.0, (1.0, 4.0, 0.5), NAMES)


def _all(dataset, subject: str):
    rows = [i for i in range(len(dataset)) if dataset.subject_of(i) == subject]
    items = [dataset[i] for i in rows]
    x = torch.stack([it[0] for it in items])
    return x, torch.tensor([it[1] for it in items]), torch.tensor([it[2] for it in items])


def test_the_sampler_draws_full_named_and_random_subsets() -> None:
    sampler = ChannelSubsetSampler(NAMES, SubsetSettings(0.3, 0.3, min_channels=6), seed=1)
    draws = [sampler.draw() for _ in range(400)]
    sizes = [len(d) for d in draws]
    named = {tuple(sorted(channel_key(NAMES[i]) for i in d)) for d in draws}
    eight = tuple(sorted(channel_key(c) for c in montage("8")))
    assert min(sizes) >= 6 and max(sizes) == 64
    assert eight in named and 0.2 < sizes.count(64) / 400 < 0.45
    assert all(np.all(np.diff(d) > 0) for d in draws)  # sorted, no repeats
    again = ChannelSubsetSampler(NAMES, SubsetSettings(0.3, 0.3, min_channels=6), seed=1)
    assert all(np.array_equal(a, again.draw()) for a in draws[:20])  # seeded
    with pytest.raises(ConfigError, match="p_full"):
        SubsetSettings(0.8, 0.5)


def test_each_subset_is_aligned_on_itself(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path)
    objective = _objective(dataset, SubsetSettings(p_full=0.0, p_named=1.0)).train()
    x, y, trial = _all(dataset, "b")
    xs, _, index = objective.subset_batch(x, y, trial)
    k = len(index)
    assert xs.shape == (len(x), k, 320) and k < 64
    cov = torch.einsum("nct,ndt->cd", xs.double(), xs.double()) / (len(x) * 320)
    torch.testing.assert_close(cov, torch.eye(k, dtype=torch.float64), atol=2e-3, rtol=0)


def test_mirrored_windows_read_the_mirror_electrodes_with_swapped_labels(tmp_path) -> None:
    dataset = _dataset(tmp_path)
    plain = _objective(dataset, SubsetSettings(p_full=1.0, p_named=0.0)).train()
    mirrored = _objective(dataset, SubsetSettings(p_full=1.0, p_named=0.0), ("mirror",)).train()
    x, y, trial = _all(dataset, "a")
    xs, _, _ = plain.subset_batch(x, y, trial)
    xm, ym, _ = mirrored.subset_batch(x, y, trial)
    flipped = ym != y
    assert 0.3 < flipped.float().mean() < 0.7
    assert torch.equal(ym[flipped], 1 - y[flipped])
    rows = torch.from_numpy(mirror_index(NAMES))
    torch.testing.assert_close(xm[flipped], xs[flipped][:, rows], atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(xm[~flipped], xs[~flipped])


@pytest.mark.slow
def test_a_network_trained_on_subsets_reads_8_19_and_64_channels(tmp_path: Path) -> None:
    from neurodeck.app.train_commands import RECIPE_DIR
    from neurodeck.offline_training.pipeline import Recipe, build_encoder, train_supervised

    recipe = Recipe.from_toml(RECIPE_DIR / "mi_shallow_any.toml")
    tiny = {"epochs": 2, "steps_per_epoch": 3, "batch_size": 16, "progress": False}
    sup = replace(recipe.supervised, runs=(4,), marker_classes=CLASSES,
                  train=replace(recipe.supervised.train, **tiny))  # fmt: skip
    recipe = replace(recipe, supervised=sup, preprocessing=replace(recipe.preprocessing))
    model = build_encoder(recipe, NAMES, 2)
    before = model.spatial.weight.detach().clone()
    history = train_supervised(recipe, model, simulated_corpus(tmp_path), tmp_path / "run")
    assert len(history) == 2 and 6 <= history[-1]["channels"] <= 64
    assert not torch.equal(before, model.spatial.weight)
    model.eval()
    for channels in (montage("8"), montage("19"), NAMES):
        reader = model.with_channels(channels)
        reader.fit_input_statistics(torch.randn(40, len(channels), 320))
        with torch.no_grad():
            p = torch.softmax(reader(torch.randn(3, len(channels), 320)), 1)
        assert p.shape == (3, 2) and torch.isfinite(p).all()
