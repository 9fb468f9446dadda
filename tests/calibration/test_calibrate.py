"""Fitting both decoders, cross-validation, the report and the subject profile."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from neurodeck.calibration.calibrate import calibrate_recordings, load_base_encoder
from neurodeck.calibration.fitting import (
    CalibrationSettings,
    confusion,
    eeg_channels,
    encoder_channels,
)
from neurodeck.calibration.profile import is_profile, load_profile
from neurodeck.common.types import ChannelMappingError, CheckpointError, ConfigError
from neurodeck.models.checkpoint import load_checkpoint
from neurodeck.offline_training.finetune import AdaptSettings
from neurodeck.offline_training.trainer import TrainSettings

from tests.calibration.synthetic import (
    EEG_CLASSES,
    save_tiny_encoder,
    simulated_session,
    tiny_encoder,
    tiny_fixed_encoder,
)

FAST = CalibrationSettings(
    adapt=AdaptSettings(
        train=TrainSettings(epochs=2, batch_size=32, lr=1e-3, progress=False), val_fraction=0.2
    ),
    cv_folds=2,
    min_trials_per_class=3,
)


def test_channels_are_picked_by_name() -> None:
    names = ["Fp1", "C3", "Cz", "C4", "AUX1", "TRIG"]
    assert eeg_channels(names) == ("Fp1", "C3", "Cz", "C4")
    assert encoder_channels(tiny_encoder().model, names) == ("Fp1", "C3", "Cz", "C4")
    fixed = tiny_fixed_encoder(("C3", "Cz", "C4", "Pz")).model
    assert encoder_channels(fixed, ["C4", "Cz", "C3", "Pz", "O1"]) == ("C3", "Cz", "C4", "Pz")
    with pytest.raises(ChannelMappingError, match=r"lacks 1 of the model's 4 channels: \['Pz'\]"):
        encoder_channels(fixed, names)
    with pytest.raises(ChannelMappingError, match="10-20"):
        eeg_channels(["AUX1", "ACC_X"])


def test_confusion() -> None:
    m = confusion(np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 1, 0]), 2)
    np.testing.assert_array_equal(m, [[1, 1], [1, 2]])


def test_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="cv_folds"):
        CalibrationSettings(cv_folds=1)
    with pytest.raises(ConfigError, match="ends_s"):
        CalibrationSettings(ends_s=(4.0, 1.0, 0.5))


@pytest.mark.slow
def test_calibration_writes_a_profile_that_decode_can_load(tmp_path) -> None:
    eeg = simulated_session(seconds=150.0, n_channels=16)
    base = load_base_encoder(save_tiny_encoder(tmp_path / "base.safetensors"))
    lines: list[str] = []
    profile, report = calibrate_recordings(
        [eeg], base, EEG_CLASSES, ("left", "right"), tmp_path / "profile", FAST,
        paradigm={"name": "test"}, subject="sim", progress=lines.append,
    )  # fmt: skip
    assert is_profile(tmp_path / "profile")
    # this tiny encoder filters 4-38 Hz at 80 Hz, the reference 8-30 Hz at 160 Hz: no ensembles
    assert report["candidates"] == ["zeroshot", "finetuned", "reference"]
    assert profile.decoder == report["decoder"] in report["candidates"]
    assert report["decoder_reason"]
    assert profile.class_names == ("left", "right")
    assert profile.marker_classes == EEG_CLASSES
    # the fine-tuned encoder reads all 16 EEG channels of this montage (input-agnostic)
    model, meta = load_checkpoint(profile.checkpoint("finetuned"))
    assert meta.channel_names == eeg.channel_names and meta.training["stage"] == "calibrated"
    assert meta.preprocessing["channel_names"] == list(eeg.channel_names)
    assert not np.allclose(model.alignment.numpy(), np.eye(16))  # re-centred on this person
    _, ref_meta = load_checkpoint(profile.checkpoint("reference"))
    assert ref_meta.architecture == "tangent_space_lr"
    # the synthetic ERD is strong: the reference separates it in cross-validation
    scores = report["scores"]
    assert scores["reference"]["cv_accuracy"] >= 0.8
    n = sum(report["trials"].values())
    assert np.asarray(scores["reference"]["confusion"]).sum() == n
    assert len(scores["finetuned"]["fold_accuracy"]) == 2
    timings = report["timings"]
    assert timings["ready_s"] <= timings["finetuned_ready_s"] <= timings["total_s"]
    for name in ("report.json", "report.md", "report.png", "paradigm.json", "preprocessing.json"):
        assert (tmp_path / "profile" / name).stat().st_size > 0
    assert (
        json.loads((tmp_path / "profile" / "report.json").read_text())["decoder"] == profile.decoder
    )
    assert any("fine-tuning" in line for line in lines) and any("fold 2/2" in x for x in lines)


@pytest.mark.slow
def test_four_classes_get_a_new_head_and_cv_can_be_skipped(tmp_path) -> None:
    eeg = simulated_session(seconds=150.0, classes=("left", "right", "feet"))
    classes = {"left": "left", "right": "right", "feet": "feet"}
    settings = dataclasses.replace(FAST, cv_folds=0)
    profile, report = calibrate_recordings(
        [eeg], tiny_encoder(), classes, ("left", "right", "feet"), tmp_path, settings
    )
    model, meta = load_checkpoint(profile.checkpoint("finetuned"))
    # new classes: the pretrained head cannot decode them untrained, so no zero-shot candidate
    assert report["candidates"] == ["finetuned", "reference"] and report["scores"] == {}
    assert profile.decoder == "reference"  # without CV: the nearest candidate to the default
    assert meta.class_names == ("left", "right", "feet") and model.n_outputs == 3


def test_fixed_montage_encoder_refuses_a_headset_without_its_channels(tmp_path) -> None:
    eeg = simulated_session(seconds=60.0, n_channels=8)  # no CP channels
    base = tiny_fixed_encoder(("C3", "Cz", "C4", "CP3"))
    with pytest.raises(ChannelMappingError, match="CP3"):
        calibrate_recordings([eeg], base, EEG_CLASSES, ("left", "right"), tmp_path, FAST)


def test_profile_errors_say_what_is_wrong(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="not a subject profile"):
        load_profile(tmp_path)
    (tmp_path / "profile.json").write_text('{"format": "neurodeck-profile", "version": 99}')
    with pytest.raises(CheckpointError, match="version 99"):
        load_profile(tmp_path)
    (tmp_path / "profile.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_profile(tmp_path)
    (tmp_path / "profile.json").write_text(
        json.dumps({"format": "neurodeck-profile", "version": 1, "decoder": "finetuned",
                    "checkpoints": {"finetuned": "gone.safetensors"}, "class_names": ["a", "b"]})
    )  # fmt: skip
    profile = load_profile(tmp_path)
    with pytest.raises(CheckpointError, match="missing"):
        profile.checkpoint()
    with pytest.raises(CheckpointError, match="no decoder 'reference'"):
        profile.checkpoint("reference")


def test_a_reference_checkpoint_is_not_a_base_encoder(tmp_path) -> None:
    from neurodeck.calibration.riemann import fit_tangent_space_lr
    from neurodeck.models.checkpoint import ModelMeta, save_checkpoint

    rng = np.random.default_rng(0)
    model = fit_tangent_space_lr(rng.standard_normal((8, 3, 100)).astype(np.float32),
                                 np.array([0, 1] * 4), 2)  # fmt: skip
    meta = ModelMeta("tangent_space_lr", model.config, ("C3", "Cz", "C4"), 160.0, 2.0,
                     ("left", "right"))  # fmt: skip
    path = save_checkpoint(tmp_path / "ref.safetensors", model, meta)
    with pytest.raises(ConfigError, match="cannot be fine-tuned"):
        load_base_encoder(path)


def test_the_report_lists_the_self_assessments_of_an_affective_recording(tmp_path) -> None:
    """Rating periods and ratings in the markers give the report a ``self_assessment`` entry
    (here on simulated motor-imagery EEG whose cues are renamed ``cue_<class>``)."""
    from neurodeck.calibration.emotion import format_rating
    from neurodeck.common.types import MarkerEvent

    eeg = simulated_session(seconds=90.0, n_channels=16)
    markers = []
    for m in eeg.markers:
        if m.label in EEG_CLASSES:
            markers += [
                MarkerEvent(m.timestamp, f"cue_{m.label}"),
                MarkerEvent(m.timestamp + 4.0, "self_assessment"),
            ]
            if m.label == "left":
                markers.append(MarkerEvent(m.timestamp + 4.5, format_rating(3, 7)))
        else:
            markers.append(m)
    markers.sort(key=lambda m: m.timestamp)
    eeg = dataclasses.replace(eeg, markers=tuple(markers))
    classes = {"cue_left": "left", "cue_right": "right"}
    settings = dataclasses.replace(FAST, cv_folds=0)
    _, report = calibrate_recordings([eeg], tiny_encoder(), classes, ("left", "right"), tmp_path,
                                     settings)  # fmt: skip
    rated = report["self_assessment"]
    n_left = sum(m.label == "cue_left" for m in markers)
    assert rated["n_blocks"] == sum(m.label.startswith("cue_") for m in markers)
    assert rated["n_rated"] == n_left
    assert rated["per_class"]["left"] == {
        "n_blocks": n_left, "n_rated": n_left, "valence": 3.0, "arousal": 7.0
    }  # fmt: skip
    assert rated["per_class"]["right"]["valence"] is None
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["self_assessment"] == rated


def test_fitting_refuses_trials_that_are_all_flat(tmp_path) -> None:
    from neurodeck.calibration.fitting import check_trials_carry_signal, fit_reference
    from neurodeck.calibration.trials import InsufficientTrialsError, TrialSet

    flat = TrialSet(
        X=np.full((8, 3, 320), 2.5, np.float32), y=np.array([0, 1] * 4), class_names=("l", "r"),
        channel_names=("C3", "Cz", "C4"), sfreq=160.0, span_s=(0.0, 2.0), onsets=np.arange(8.0),
    )  # fmt: skip
    with pytest.raises(InsufficientTrialsError, match="All 8 calibration trials are flat") as err:
        fit_reference(flat, FAST)
    assert "C3, Cz, C4" in str(err.value) and "record the calibration again" in err.value.hint
    live = dataclasses.replace(flat, X=flat.X + np.sin(np.arange(320, dtype=np.float32)))
    check_trials_carry_signal(live)  # any signal is enough
    # end to end: a recording flat during every cue never reaches the fitting
    eeg = simulated_session(seconds=60.0)
    eeg = dataclasses.replace(eeg, data=np.zeros_like(eeg.data))
    with pytest.raises(InsufficientTrialsError, match="because the EEG is flat"):
        calibrate_recordings([eeg], tiny_encoder(), EEG_CLASSES, ("left", "right"), tmp_path, FAST)
    assert not (tmp_path / "profile.json").exists()


def test_a_lost_stream_advises_fitting_later_only_with_enough_trials(tmp_path) -> None:
    """The loss message's advice must hold: ``calibrate --recording`` only when a fit can work."""
    from types import SimpleNamespace

    from neurodeck.calibration.live import _lost
    from neurodeck.calibration.paradigm import PARADIGMS

    recorder = SimpleNamespace(
        status=lambda: SimpleNamespace(duration_s=42.0), path=tmp_path / "recording"
    )
    paradigm = PARADIGMS["mi-lr"]
    few = _lost(recorder, "eeg", "during the cues", paradigm, 6)
    assert "--recording" not in few.hint and "at least 5 per class (10 for mi-lr)" in few.hint
    assert "6 trials were recorded" in few.hint and str(tmp_path / "recording") in few.problem
    enough = _lost(recorder, "eeg", "during the cues", paradigm, 12)
    assert f"neurodeck calibrate --recording {tmp_path / 'recording'}" in enough.hint
