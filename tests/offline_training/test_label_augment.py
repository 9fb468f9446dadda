"""Label-aware augmentations: hemisphere mirroring with label swap, gain and noise."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from neurodeck.common.types import ConfigError
from neurodeck.offline_training.finetune import AdaptSettings, adapt, predict_proba
from neurodeck.offline_training.label_augment import SupervisedAugment, mirror_classes, mirror_index
from neurodeck.offline_training.objectives import SupervisedObjective

from tests.offline_training.test_finetune import NAMES, _eegnet, _separable

EEGBCI_NAMES = ["Fc5.", "Fcz.", "Fc6.", "C3..", "Cz..", "C4..", "T9..", "T10.", "Iz..", "O1.."]


def test_mirror_index_pairs_10_10_names_and_is_an_involution() -> None:
    index = mirror_index(EEGBCI_NAMES)
    pairs = {EEGBCI_NAMES[i]: EEGBCI_NAMES[j] for i, j in enumerate(index)}
    assert pairs["C3.."] == "C4.." and pairs["C4.."] == "C3.."
    assert pairs["Fc5."] == "Fc6." and pairs["T9.."] == "T10."
    assert pairs["Cz.."] == "Cz.." and pairs["Iz.."] == "Iz.."
    assert pairs["O1.."] == "O1.."  # O2 is not in this montage: left in place
    np.testing.assert_array_equal(index[index], np.arange(len(index)))


def test_mirror_classes_swaps_left_and_right_only() -> None:
    np.testing.assert_array_equal(mirror_classes(["left", "right"]), [1, 0])
    np.testing.assert_array_equal(mirror_classes(["rest", "right", "feet", "left"]), [0, 3, 2, 1])


def _batch(n: int = 64):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(n, len(NAMES), 50, generator=gen)
    y = torch.arange(n) % 2
    return x, y


def test_mirror_swaps_channels_and_labels_together() -> None:
    x, y = _batch()
    out, y_out = SupervisedAugment(["mirror"], NAMES, ["left", "right"], seed=0)(x, y)
    flipped = y_out != y
    assert 0 < int(flipped.sum()) < len(y)  # about half the windows
    index = torch.from_numpy(mirror_index(NAMES))
    torch.testing.assert_close(out[flipped], x[flipped][:, index])
    torch.testing.assert_close(out[~flipped], x[~flipped])
    assert torch.equal(y, torch.arange(len(y)) % 2)  # inputs are not modified


def test_mirror_acts_in_the_models_aligned_space() -> None:
    x, y = _batch()
    gen = torch.Generator().manual_seed(2)
    m = torch.randn(len(NAMES), len(NAMES), generator=gen)
    alignment = m @ m.T + len(NAMES) * torch.eye(len(NAMES))  # symmetric positive definite
    augment = SupervisedAugment(["mirror"], NAMES, ["left", "right"], seed=0)
    out, y_out = augment(x, y, alignment)
    flipped = y_out != y
    index = torch.from_numpy(mirror_index(NAMES))
    seen = alignment @ out[flipped]  # what the model computes after its alignment
    torch.testing.assert_close(seen, (alignment @ x[flipped])[:, index], atol=1e-4, rtol=1e-4)


def test_gain_keeps_the_spatial_pattern_and_noise_is_small() -> None:
    x, y = _batch()
    out, _ = SupervisedAugment(["scale"], NAMES, ["left", "right"], seed=0)(x, y)
    ratio = out / x  # one gain per window, shared by all channels and samples
    torch.testing.assert_close(ratio, ratio[:, :1, :1].expand_as(ratio))
    assert ratio.min() >= 0.79 and ratio.max() <= 1.26 and ratio.std() > 0.05
    noisy, _ = SupervisedAugment(["noise"], NAMES, ["left", "right"], seed=0)(x, y)
    rel = (noisy - x).std() / x.std()
    assert 0.02 < float(rel) < 0.1


def test_same_seed_same_augmentation() -> None:
    x, y = _batch()
    names = ["mirror", "scale", "noise"]
    a = SupervisedAugment(names, NAMES, ["left", "right"], seed=3)(x, y)
    b = SupervisedAugment(names, NAMES, ["left", "right"], seed=3)(x, y)
    c = SupervisedAugment(names, NAMES, ["left", "right"], seed=4)(x, y)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_bad_requests_are_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError, match="unknown augmentation"):
        SupervisedAugment(["flip"], NAMES, ["left", "right"])
    with pytest.raises(ConfigError, match="swaps 'left' and 'right'"):
        SupervisedAugment(["mirror"], NAMES, ["feet", "rest"])
    with pytest.raises(ConfigError, match="no left/right pair"):
        SupervisedAugment(["mirror"], ["Fz", "Cz", "Pz"], ["left", "right"])
    SupervisedAugment(["scale", "noise"], ["Fz", "Cz", "Pz"], ["feet", "rest"])  # fine


def test_objective_augments_training_batches_only() -> None:
    model = _eegnet()
    calls = []

    def augment(x, y, alignment):
        calls.append(alignment.shape)
        return x, y

    objective = SupervisedObjective(model, augment=augment)
    x = torch.randn(4, len(NAMES), 128)
    y = torch.tensor([0, 1, 0, 1])
    objective.train()
    objective.loss((x, y))
    objective.eval()
    objective.loss((x, y))
    assert calls == [(len(NAMES), len(NAMES))]


def test_adapt_with_augmentation_learns_and_needs_class_names_for_mirror() -> None:
    X, y, trial = _separable(40)  # 24 trials over-fit too easily to judge generalisation
    settings = AdaptSettings(augment=["mirror", "scale", "noise"])
    assert settings.augment == ("mirror", "scale", "noise")
    settings = replace(settings, train=replace(settings.train, lr=3e-3, epochs=30, patience=None))
    with pytest.raises(ConfigError, match="class names"):
        adapt(_eegnet(), X, y, trial, settings)
    # In _separable class 1 is a rhythm on C3 (left hemisphere): call it "right" (contralateral).
    res = adapt(_eegnet(), X, y, trial, settings, class_names=["left", "right"])
    Xt, yt, _ = _separable(seed=1)
    assert (predict_proba(res.model, Xt).argmax(1) == yt).mean() > 0.8


def test_recipes_and_settings_refuse_bad_augmentations_when_read() -> None:
    from neurodeck.offline_training.pipeline import SupervisedStage

    with pytest.raises(ConfigError, match="unknown augmentation"):
        AdaptSettings(augment=["mirorr"])
    with pytest.raises(ConfigError, match="unknown augmentation"):
        SupervisedStage(augment=("noise", "flip"))
    with pytest.raises(ConfigError, match="drop 'mirror'"):
        SupervisedStage(marker_classes={"T1": "hands", "T2": "feet"}, augment=["mirror"])
    assert SupervisedStage(augment=["mirror"]).augment == ("mirror",)
