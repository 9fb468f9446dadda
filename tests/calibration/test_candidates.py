"""Calibration's candidates and its chooser, on generated data where the answer is known."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from neurodeck.calibration.calibrate import calibrate_recordings
from neurodeck.calibration.candidates import DEFAULT_CHOOSER, check_chooser, choose
from neurodeck.calibration.fitting import BaseEncoder, CalibrationSettings
from neurodeck.common.types import ConfigError
from neurodeck.evaluation.calibrated import compare_choosers
from neurodeck.models.checkpoint import ModelMeta, load_checkpoint
from neurodeck.models.registry import build_model
from neurodeck.offline_training.finetune import AdaptSettings, predict_proba
from neurodeck.offline_training.trainer import TrainSettings
from neurodeck.streaming.preprocessing import PreprocessingConfig

from tests.calibration.synthetic import EEG_CLASSES, simulated_session

ALL = ("zeroshot", "finetuned", "reference", "zeroshot+reference", "finetuned+reference",
       "zeroshot+finetuned", "zeroshot+finetuned+reference")  # fmt: skip


def test_rules_are_checked_and_default_is_the_measured_one() -> None:
    assert check_chooser("default") == DEFAULT_CHOOSER
    assert check_chooser("cv") == "cv"
    with pytest.raises(ConfigError, match="always:NAME"):
        check_chooser("always:magic")
    with pytest.raises(ConfigError, match="unknown decoder choice"):
        CalibrationSettings(chooser="best")


def test_choose_follows_the_rule() -> None:
    cv = {"zeroshot": 0.6, "finetuned": 0.9, "reference": 0.7, "zeroshot+reference": 0.9}
    assert choose("cv", ALL, cv)[0] == "zeroshot+reference"  # a tie goes to the ensemble
    assert choose("cv", ("zeroshot", "finetuned", "reference"), cv)[0] == "finetuned"
    assert choose("always:reference", ALL, cv)[0] == "reference"
    name, why = choose("always:zeroshot+reference", ("finetuned", "reference"), None)
    assert name == "reference" and "cannot be built" in why
    # the default's candidate missing (no shared window): cross-validation decides
    name, why = choose(DEFAULT_CHOOSER, ("finetuned", "reference"), {"finetuned": 0.8,
                                                                     "reference": 0.6})  # fmt: skip
    assert name == "finetuned" and "cross-validated" in why


def test_the_comparison_of_choosers_scores_what_each_rule_picks() -> None:
    def subject(cv_best: str, test: dict[str, float]) -> dict:
        return {"candidates": {n: {"window_acc": a, "trial_acc": a,
                                   "cv_accuracy": 0.9 if n == cv_best else 0.5}
                               for n, a in test.items()}}  # fmt: skip

    per_subject = {
        1: subject("reference", {"zeroshot": 0.8, "reference": 0.6}),
        2: subject("zeroshot", {"zeroshot": 0.7, "reference": 0.5}),
    }
    result = compare_choosers(per_subject)
    assert result["always:zeroshot"]["window_acc"] == pytest.approx(0.75)
    assert result["always:reference"]["window_acc"] == pytest.approx(0.55)
    assert result["cv"]["window_acc"] == pytest.approx(0.65)  # 0.6 for S1, 0.7 for S2
    assert result["cv"]["picks"] == {"reference": 1, "zeroshot": 1}


def _untrained_network() -> BaseEncoder:
    """An untrained any-montage network on the reference's chain: a useless zero-shot decoder."""
    channels = simulated_session(seconds=10.0).channel_names
    model = build_model(
        "shallow_convnet_any",
        {"channel_names": list(channels), "sfreq": 160.0, "n_times": 320, "n_outputs": 2},
    )
    pre = PreprocessingConfig(bandpass=(8.0, 30.0), filter_order=4, channel_names=channels)
    meta = ModelMeta("shallow_convnet_any", model.config, channels, 160.0, 2.0,
                     ("left", "right"), pre.to_dict(), {"stage": "supervised"})  # fmt: skip
    return BaseEncoder(model, meta, "untrained")


FAST = CalibrationSettings(
    adapt=AdaptSettings(train=TrainSettings(epochs=2, batch_size=32, progress=False)),
    cv_folds=3,
    min_trials_per_class=3,
)


@pytest.mark.slow
def test_cross_validation_finds_the_decoder_that_works(tmp_path) -> None:
    """The simulated imagery is easy for the reference and the network is untrained."""
    eeg = simulated_session(seconds=150.0, n_channels=16)
    base = _untrained_network()
    settings = dataclasses.replace(FAST, chooser="cv")
    profile, report = calibrate_recordings(
        [eeg], base, EEG_CLASSES, ("left", "right"), tmp_path, settings
    )
    assert tuple(report["candidates"]) == ALL  # one chain and one window: ensembles too
    cv = {n: s["cv_accuracy"] for n, s in report["scores"].items()}
    assert cv["reference"] >= 0.8 and cv["zeroshot"] < 0.75
    assert "reference" in profile.decoder and cv[profile.decoder] == max(cv.values())
    assert "cross-validated" in report["decoder_reason"]
    # the ensemble checkpoint computes the mean of its members' probabilities
    settings = dataclasses.replace(FAST, chooser="always:zeroshot+finetuned+reference")
    profile, _ = calibrate_recordings(
        [eeg], base, EEG_CLASSES, ("left", "right"), tmp_path / "b", settings
    )
    assert profile.decoder == "zeroshot+finetuned+reference"
    ensemble, meta = load_checkpoint(profile.checkpoint())
    assert meta.architecture == "ensemble" and meta.preprocessing["bandpass"] == [8.0, 30.0]
    x = np.random.default_rng(0).standard_normal((4, 16, 320)).astype(np.float32)
    members = [load_checkpoint(profile.checkpoint(n))[0] for n in ("zeroshot", "finetuned",
                                                                     "reference")]  # fmt: skip
    expected = np.mean([predict_proba(m, x) for m in members], axis=0)
    np.testing.assert_allclose(predict_proba(ensemble, x), expected, atol=1e-5)
    with torch.no_grad():
        assert ensemble(torch.from_numpy(x)).shape == (4, 2)
