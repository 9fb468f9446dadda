"""Affective models offline and in calibration: band-power reference, protocols, EEGMAT replay."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from neurodeck.calibration.calibrate import calibrate_recordings
from neurodeck.calibration.fitting import BaseEncoder, affective_settings
from neurodeck.calibration.trials import ContinuousEEG
from neurodeck.common.types import AFFECTIVE, MarkerEvent
from neurodeck.models.checkpoint import ModelMeta, load_checkpoint
from neurodeck.offline_training.affective import (
    AFFECTIVE_SFREQ,
    EEGMAT_CLASSES,
    StateWindows,
    affective_preprocessing,
    eegmat_corpus,
    eegmat_windows,
    fit_band_power_lr,
    leave_subjects_out,
    new_gmss,
    save_affective,
    within_subject,
)

CHANNELS = ("Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "Fz", "Pz")
SHARED_EEGMAT = Path(__file__).resolve().parents[3] / "shared" / "data" / "physionet-eegmat"


def _alpha_noise(n_windows: int, alpha_uv: float, rng, n_times: int = 512) -> np.ndarray:
    """White noise plus a 10 Hz rhythm of random phase, (n_windows, C, n_times)."""
    t = np.arange(n_times) / AFFECTIVE_SFREQ
    phase = rng.uniform(0, 2 * np.pi, (n_windows, len(CHANNELS), 1))
    x = rng.normal(0, 5, (n_windows, len(CHANNELS), n_times))
    return (x + alpha_uv * np.sin(2 * np.pi * 10 * t + phase)).astype(np.float32)


def _state_windows(rng, subjects=("a", "b", "c")) -> StateWindows:
    xs, ys, subs = [], [], []
    for s in subjects:
        for label, alpha in ((0, 12.0), (1, 3.0)):  # rest: strong alpha; task: alpha blocked
            xs.append(_alpha_noise(20, alpha, rng))
            ys += [label] * 20
            subs += [s] * 20
    block = np.repeat(np.arange(len(subjects) * 2), 20)
    return StateWindows(
        np.concatenate(xs), np.array(ys), np.array(subs), block, CHANNELS, AFFECTIVE_SFREQ,
        EEGMAT_CLASSES,
    )  # fmt: skip


def test_band_power_lr_learns_alpha_blocking_and_runs_as_a_module(rng):
    data = _state_windows(rng)
    model = fit_band_power_lr(data.X, data.y, 2, AFFECTIVE_SFREQ)
    fresh = _state_windows(rng, ("d",))
    p = model.predict_proba(fresh.X)
    assert (p.argmax(1) == fresh.y).mean() > 0.95
    logits = model(torch.from_numpy(fresh.X))
    np.testing.assert_allclose(torch.softmax(logits.double(), 1).numpy(), p, atol=1e-6)


def test_leave_subjects_out_never_trains_on_the_test_subject(rng):
    data = _state_windows(rng)
    seen = []

    def spy(train: StateWindows, test: StateWindows) -> np.ndarray:
        seen.append((set(train.subject), set(test.subject)))
        return test.y.copy()

    result = leave_subjects_out(data, {"oracle": spy})
    assert [test for _, test in seen] == [{"a"}, {"b"}, {"c"}]
    assert all(not (train & test) for train, test in seen)
    assert result["methods"]["oracle"]["mean"] == 1.0
    assert "leave-one-subject-out over 3 subjects" in result["split"]


def test_within_subject_tests_only_on_later_non_overlapping_windows(rng):
    data = _state_windows(rng, ("a",))
    spans = []

    def spy(train: StateWindows, test: StateWindows) -> np.ndarray:
        spans.append((train, test))
        return test.y.copy()

    within_subject(data, {"oracle": spy})
    train, test = spans[0]
    assert len(train.y) == 20 and len(test.y) == 16  # 10 + 10 train; 8 + 8 test after a gap
    # window index within its block: training windows 0..9, test windows 12..19
    assert set(np.unique(test.block)) == {0, 1}


def _affective_recording(rng, blocks_per_class: int = 3, block_s: float = 20.0) -> ContinuousEEG:
    """Blocks of 'negative' (alpha present) and 'positive' (alpha blocked), cue markers."""
    sfreq = AFFECTIVE_SFREQ
    order = ["negative", "positive"] * blocks_per_class
    n_block = int(block_s * sfreq)
    parts, markers = [], []
    for k, label in enumerate(order):
        t = np.arange(n_block) / sfreq
        alpha = 12.0 if label == "negative" else 3.0
        phase = rng.uniform(0, 2 * np.pi, (len(CHANNELS), 1))  # (a common rhythm would be
        x = rng.normal(0, 5, (len(CHANNELS), n_block))  # removed by the average reference)
        x += alpha * np.sin(2 * np.pi * 10 * t + phase)
        parts.append(x)
        markers.append(MarkerEvent(100.0 + k * block_s, f"cue_{label}"))
    data = np.concatenate(parts, axis=1).astype(np.float32)
    stamps = 100.0 + np.arange(data.shape[1]) / sfreq
    return ContinuousEEG(data, stamps, sfreq, 1 / sfreq, CHANNELS, tuple(markers), "synthetic")


def test_affective_calibration_writes_an_affective_profile(tmp_path, rng):
    model = new_gmss(CHANNELS, 2)
    meta = ModelMeta(
        architecture="gmss", config=model.config, channel_names=CHANNELS, sfreq=AFFECTIVE_SFREQ,
        window_s=4.0, class_names=EEGMAT_CLASSES,
        preprocessing=affective_preprocessing(CHANNELS).to_dict(),
        training={"stage": "ssl"}, family=AFFECTIVE,
    )  # fmt: skip
    base = BaseEncoder(model, meta, "test-gmss")
    settings = affective_settings((1.0, 19.0), cv_folds=3, epochs=5)
    profile, report = calibrate_recordings(
        [_affective_recording(rng)],
        base,
        {"cue_negative": "negative", "cue_positive": "positive"},
        ("negative", "positive"),
        tmp_path / "profile",
        settings,
    )
    assert report["trials"] == {"negative": 3, "positive": 3}
    assert report["cv"]["folds"] == 3
    assert report["scores"]["reference"]["cv_accuracy"] > 0.8  # alpha blocking is easy
    _, fine_meta = load_checkpoint(profile.checkpoint("finetuned"))
    _, ref_meta = load_checkpoint(profile.checkpoint("reference"))
    assert fine_meta.family == ref_meta.family == AFFECTIVE
    assert ref_meta.architecture == "band_power_lr" and ref_meta.window_s == 4.0
    assert fine_meta.architecture == "gmss"


@pytest.mark.skipif(not SHARED_EEGMAT.is_dir(), reason=f"EEGMAT not found at {SHARED_EEGMAT}")
@pytest.mark.lsl
def test_eegmat_replay_through_the_state_decoder(tmp_path, unique_id):
    """The live path reproduces the offline decisions of a rest-vs-arithmetic decoder.

    A band-power decoder fitted offline (corpus windows) on subject 1 is run by ``neurodeck
    decode`` on a real-time replay of that subject's arithmetic file: the live windows, cut by
    the ring buffer from the same causal chain, must be decoded as arithmetic as the offline
    windows are.
    """
    from neurodeck.app.cli import main
    from neurodeck.streaming.replay import Replayer

    corpus = eegmat_corpus(SHARED_EEGMAT.parent, tmp_path / "cache").select(["Subject01"])
    data = eegmat_windows(corpus)
    model = fit_band_power_lr(data.X, data.y, 2, data.sfreq)
    offline = model.predict_proba(data.X[data.y == 1]).argmax(1).mean()
    path = save_affective(
        model, tmp_path / "state.safetensors", data.channel_names, EEGMAT_CLASSES,
        {"stage": "calibrated"},
    )  # fmt: skip
    replayer = Replayer(
        [SHARED_EEGMAT / "Subject01_2.edf"], name=unique_id, speed=4.0, source_id=unique_id
    )
    thread = threading.Thread(target=replayer.run_blocking, daemon=True)
    thread.start()
    jsonl = tmp_path / "pred.jsonl"
    try:
        code = main(
            ["decode", "--stream", unique_id, "--model", str(path), "--jsonl", str(jsonl),
             "--duration", "9", "--outlet", f"{unique_id}-emotion"]
        )  # fmt: skip
    finally:
        replayer.stop()
        thread.join(5)
        replayer.close()
    assert code == 0
    preds = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(preds) >= 5
    assert list(preds[0]["probabilities"]) == list(EEGMAT_CLASSES)
    live = np.mean([p["label"] == "arithmetic" for p in preds])
    assert offline > 0.8 and live > 0.8
