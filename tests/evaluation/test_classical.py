"""The online evaluation protocol: generated recordings and the yardstick's figures."""

from __future__ import annotations

import mne
import numpy as np
import pytest
from neurodeck.calibration.fitting import CalibrationSettings, reference_trials
from neurodeck.calibration.scoring import cued_windows
from neurodeck.calibration.trials import ContinuousEEG, build_trials
from neurodeck.common.types import MarkerEvent
from neurodeck.evaluation.classical import (
    CLASS_NAMES,
    MARKER_CLASSES,
    REFERENCE_PREPROCESSING,
    Protocol,
    evaluate,
    evaluate_subject,
    load_runs,
    online_trials,
    per_trial_windows,
    reference_data,
)
from neurodeck.models.checkpoint import ModelMeta
from neurodeck.streaming.simulator import SimulationConfig, SyntheticEEG


def _simulated_run(path, seed: int, seconds: float = 150.0):
    gen = SyntheticEEG(SimulationConfig(n_channels=16, sfreq=160.0, seed=seed))
    block = gen.generate(int(seconds * 160))
    info = mne.create_info(list(gen.channel_names), 160.0, "eeg")
    raw = mne.io.RawArray(block.data.astype(np.float64) * 1e-6, info, verbose="error")
    codes = {"left": "T1", "right": "T2", "rest": "T0"}
    onsets = [idx / 160.0 for idx, _ in block.markers]
    raw.set_annotations(mne.Annotations(onsets, 0.0, [codes[m] for _, m in block.markers]))
    raw.save(path, verbose="error")
    return path


def test_window_ends_follow_the_protocol() -> None:
    data = np.arange(10 * 160, dtype=np.float32)[None, :].repeat(2, 0)
    eeg = ContinuousEEG(data, np.arange(1600) / 160.0, 160.0, 1 / 160.0, ("C3", "C4"),
                        (MarkerEvent(2.0, "T2"), MarkerEvent(4.5, "T1")), "ramp")  # fmt: skip
    protocol = Protocol()
    span = (protocol.first_end_s - protocol.window_s, protocol.last_end_s)
    trials = build_trials([eeg], MARKER_CLASSES, CLASS_NAMES, span, _no_filter(), 1)
    (windows, label), _ = per_trial_windows(trials, protocol)
    assert label == 1 and windows.shape == (13, 2, 320)  # ends at cue + 1.0, 1.25, ..., 4.0 s
    assert windows[0, 0, -1] == 3.0 * 160 - 1 and windows[-1, 0, -1] == 6.0 * 160 - 1


def _no_filter():
    from neurodeck.streaming.preprocessing import PreprocessingConfig

    return PreprocessingConfig(bandpass=None)


def test_evaluation_and_calibration_cut_the_same_trials(tmp_path) -> None:
    """The classical evaluation, calibration and the scoring of profiles share one cutter."""
    calib = [_simulated_run(tmp_path / f"c{i}_raw.fif", seed=i, seconds=60) for i in (1, 2)]
    test = [_simulated_run(tmp_path / "t_raw.fif", seed=3, seconds=60)]
    X, y, trials = reference_data(calib, test, Protocol())
    runs = load_runs(calib)
    fitted = reference_trials(runs, MARKER_CLASSES, CLASS_NAMES, CalibrationSettings())
    np.testing.assert_array_equal(X, fitted.X)  # what calibrate fits the reference on
    np.testing.assert_array_equal(y, fitted.y)
    names = runs[0].channel_names
    meta = ModelMeta("tangent_space_lr", {}, names, 160.0, 2.0, CLASS_NAMES,
                     REFERENCE_PREPROCESSING.to_dict())  # fmt: skip
    W, y_w, trial_w = cued_windows(meta, load_runs(test), MARKER_CLASSES, CLASS_NAMES)
    assert len(trials) == trial_w.max() + 1
    for i, (windows, label) in enumerate(trials):  # what profiles are scored on
        np.testing.assert_array_equal(windows, W[trial_w == i])
        assert (y_w[trial_w == i] == label).all()
    again = online_trials(load_runs(test), REFERENCE_PREPROCESSING, Protocol())
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(trials, again, strict=True))


def test_protocol_on_generated_recordings(tmp_path) -> None:
    calib = [_simulated_run(tmp_path / f"c{i}_raw.fif", seed=i) for i in (1, 2)]
    test = [_simulated_run(tmp_path / "t_raw.fif", seed=3)]
    res = evaluate_subject(calib, test, ["csp_lda", "ts_lr"])
    assert res["n_test_trials"] >= 15
    assert res["ts_lr"]["window_acc"] > 0.65  # chance is 0.5 over about 200 windows
    assert res["csp_lda"]["window_acc"] > 0.65


def test_reproduces_the_yardstick_on_subject_1(data_root) -> None:
    # ../shared/tools/mi_reference.py prints these figures for subject 1
    res = evaluate(data_root, [1])["per_subject"][1]
    assert res["csp_lda"] == {"window_acc": 0.564, "trial_acc": 0.667}
    assert res["ts_lr"] == {"window_acc": 0.738, "trial_acc": 0.733}


def test_unknown_model_is_named(data_root) -> None:
    from neurodeck.common.types import ConfigError

    with pytest.raises(ConfigError, match="Unknown classifier 'labram'"):
        evaluate(data_root, [1], classifiers=["labram"])


def test_training_windows_are_the_windows_calibration_cuts(data_root, tmp_path) -> None:
    """The cross-subject stage's cue windows equal calibration's (and evaluation's) on a run."""
    from neurodeck.offline_training.corpus import EEGBCISource, build_corpus
    from neurodeck.offline_training.windows import CueWindowDataset
    from neurodeck.streaming.preprocessing import PreprocessingConfig
    from neurodeck.streaming.recording_io import eegbci_run_files

    cfg = PreprocessingConfig(bandpass=(8.0, 30.0), filter_order=4)
    corpus = build_corpus(EEGBCISource(data_root, [1], [4]), cfg, tmp_path / "cache")
    ends = (1.0, 4.0, 0.5)
    training = CueWindowDataset(corpus, MARKER_CLASSES, CLASS_NAMES, 2.0, ends)
    runs = load_runs(eegbci_run_files(data_root, 1, [4]))
    trials = build_trials(runs, MARKER_CLASSES, CLASS_NAMES, (ends[0] - 2.0, ends[1]), cfg)
    X, y, trial = trials.sliding_windows(2.0, ends)
    assert len(training) == len(X)
    for i in (0, 1, len(X) // 2, len(X) - 1):
        x_train, label, trial_id = training[i]
        np.testing.assert_allclose(x_train.numpy(), X[i], rtol=1e-5, atol=1e-4)
        assert label == y[i] and trial_id == trial[i]
