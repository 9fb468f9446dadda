"""Trials cut by marker timestamps: counts, shapes, dropped trials and bad recordings."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
from neurodeck.calibration.trials import (
    FLAT_TRIAL,
    ContinuousEEG,
    InsufficientTrialsError,
    build_trials,
    load_calibration_source,
)
from neurodeck.common.types import ChannelMappingError, ConfigError, MarkerEvent, RecordingError
from neurodeck.streaming.preprocessing import PreprocessingConfig
from neurodeck.streaming.recording_io import Recording

from tests.calibration.synthetic import EEG_CLASSES, simulated_session

CLASSES = ("left", "right")
PRE = PreprocessingConfig(bandpass=(8.0, 30.0), channel_names=("C3", "Cz", "C4"))


def _cues(eeg: ContinuousEEG) -> list[MarkerEvent]:
    return [m for m in eeg.markers if m.label in EEG_CLASSES]


def test_one_epoch_per_cue_at_the_cue_sample() -> None:
    eeg = simulated_session(seconds=60.0)
    trials = build_trials([eeg], EEG_CLASSES, CLASSES, (-1.0, 4.0), PRE, min_trials_per_class=2)
    cues = _cues(eeg)
    assert trials.n_trials == len(cues)
    assert trials.X.shape == (len(cues), 3, 5 * 160) and trials.X.dtype == np.float32
    assert trials.channel_names == ("C3", "Cz", "C4") and trials.sfreq == 160.0
    assert [CLASSES[i] for i in trials.y] == [m.label for m in cues]
    np.testing.assert_array_equal(trials.onsets, [m.timestamp for m in cues])
    # the epoch of trial 0 is the filtered signal from cue - 1 s: compare with the whole chain
    from neurodeck.streaming.preprocessing import Preprocessor

    full = Preprocessor(PRE, eeg.channel_names, eeg.sfreq).process_array(eeg.data)
    at = int(np.searchsorted(eeg.timestamps, cues[0].timestamp))
    np.testing.assert_allclose(trials.X[0], full[:, at - 160 : at + 640], rtol=1e-5, atol=1e-4)


def test_sped_up_replay_gives_the_same_trials() -> None:
    """Timestamps compressed by a x20 replay still map cues to the same samples."""
    normal = simulated_session(seconds=40.0)
    fast = simulated_session(seconds=40.0, speed=20.0)
    a = build_trials([normal], EEG_CLASSES, CLASSES, (0.5, 2.5), PRE, min_trials_per_class=2)
    b = build_trials([fast], EEG_CLASSES, CLASSES, (0.5, 2.5), PRE, min_trials_per_class=2)
    np.testing.assert_array_equal(a.X, b.X)
    assert b.dropped == ()


def test_crop_and_sliding_windows() -> None:
    trials = build_trials(
        [simulated_session(seconds=40.0)], EEG_CLASSES, CLASSES, (-1.0, 4.0), PRE,
        min_trials_per_class=2,
    )  # fmt: skip
    crop = trials.crop(0.5, 2.5)
    np.testing.assert_array_equal(crop, trials.X[:, :, 240:560])
    X, y, trial = trials.sliding_windows(2.0, (1.0, 4.0, 0.5))
    assert X.shape == (trials.n_trials * 7, 3, 320)
    np.testing.assert_array_equal(X[1], trials.X[0, :, 80:400])  # window ending at cue + 1.5 s
    np.testing.assert_array_equal(y, np.repeat(trials.y, 7))
    np.testing.assert_array_equal(trial, np.repeat(np.arange(trials.n_trials), 7))
    with pytest.raises(ConfigError, match="outside the epochs"):
        trials.crop(3.0, 5.0)


def test_a_gap_inside_a_trial_drops_that_trial_with_a_warning(caplog) -> None:
    eeg = simulated_session(seconds=60.0)
    cue = _cues(eeg)[2]
    at = int(np.searchsorted(eeg.timestamps, cue.timestamp)) + 100
    times = eeg.timestamps.copy()
    times[at:] += 0.5  # half a second of samples never arrived, one second after that cue
    gappy = dataclasses.replace(eeg, timestamps=times)
    with caplog.at_level(logging.WARNING):
        trials = build_trials([gappy], EEG_CLASSES, CLASSES, (-1.0, 4.0), PRE, 2)
    assert trials.n_trials == len(_cues(eeg)) - 1
    assert cue.timestamp not in trials.onsets
    assert [d.timestamp for d in trials.dropped] == [cue.timestamp]
    assert "missing inside it" in trials.dropped[0].reason
    assert "dropped" in caplog.text and "gap" in caplog.text


def test_non_finite_samples_drop_the_trial_and_spare_the_others() -> None:
    eeg = simulated_session(seconds=60.0)
    cue = _cues(eeg)[1]
    at = int(np.searchsorted(eeg.timestamps, cue.timestamp))
    data = eeg.data.copy()
    data[4, at + 10 : at + 12] = np.nan
    trials = build_trials([dataclasses.replace(eeg, data=data)], EEG_CLASSES, CLASSES,
                          (-1.0, 4.0), PRE, 2)  # fmt: skip
    assert [d.timestamp for d in trials.dropped] == [cue.timestamp]
    assert "non-finite" in trials.dropped[0].reason
    assert np.isfinite(trials.X).all()


def test_cues_outside_the_eeg_are_dropped() -> None:
    eeg = simulated_session(seconds=60.0)
    late = MarkerEvent(float(eeg.timestamps[-1]) - 1.0, "left")
    early = MarkerEvent(float(eeg.timestamps[0]) - 5.0, "right")
    eeg = dataclasses.replace(eeg, markers=(early, *eeg.markers, late))
    trials = build_trials([eeg], EEG_CLASSES, CLASSES, (-1.0, 4.0), PRE, 2)
    assert {d.timestamp for d in trials.dropped} == {late.timestamp, early.timestamp}
    assert all("does not cover" in d.reason for d in trials.dropped)


def test_markers_without_eeg_are_refused() -> None:
    eeg = simulated_session(seconds=20.0)
    empty = dataclasses.replace(eeg, data=np.zeros((16, 0), np.float32), timestamps=np.zeros(0))
    with pytest.raises(RecordingError, match="no EEG samples"):
        build_trials([empty], EEG_CLASSES, CLASSES, (0.5, 2.5), PRE, 2)


def test_no_cue_markers_lists_what_was_found() -> None:
    eeg = simulated_session(seconds=20.0)
    with pytest.raises(InsufficientTrialsError, match="no cue markers") as err:
        build_trials([eeg], {"cue_left": "left", "cue_right": "right"}, CLASSES, (0.5, 2.5), PRE)
    assert "left x" in str(err.value) and "rest x" in str(err.value)


def test_a_missing_class_and_too_few_trials_say_so() -> None:
    eeg = simulated_session(seconds=60.0)
    with pytest.raises(InsufficientTrialsError, match=r"No usable trial of class \['feet'\]"):
        build_trials([eeg], {**EEG_CLASSES, "feet": "feet"}, ("left", "right", "feet"),
                     (0.5, 2.5), PRE, 2)  # fmt: skip
    with pytest.raises(InsufficientTrialsError, match="Too few trials"):
        build_trials([eeg], EEG_CLASSES, CLASSES, (0.5, 2.5), PRE, min_trials_per_class=50)


def test_recordings_of_other_montages_and_missing_channels_are_refused() -> None:
    a = simulated_session(seconds=20.0)
    b = simulated_session(seconds=20.0, n_channels=8)
    with pytest.raises(RecordingError, match="other channels"):
        build_trials([a, b], EEG_CLASSES, CLASSES, (0.5, 2.5), PRE, 1)
    pre = dataclasses.replace(PRE, channel_names=("C3", "C4", "FC2"))
    with pytest.raises(ChannelMappingError, match="FC2"):
        build_trials([a], EEG_CLASSES, CLASSES, (0.5, 2.5), pre, 1)


def test_files_become_continuous_eeg_with_annotations_as_markers(tmp_path) -> None:
    data = np.zeros((2, 1000), np.float32)
    rec = Recording(data, 100.0, ("C3", "C4"), ((2.0, 0.0, "T1"), (1.0, 0.0, "T0")), tmp_path)
    eeg = ContinuousEEG.from_recording(rec)
    assert eeg.timestamps[100] == pytest.approx(1.0) and eeg.sample_period_s == 0.01
    assert [m.label for m in eeg.markers] == ["T0", "T1"]


def test_an_xdf_file_gives_the_trials_of_the_recording_it_holds(tmp_path) -> None:
    """EEG and cue markers written to XDF come back with their timestamps: the same trials."""
    from neurodeck.calibration.trials import load_calibration_source

    from tests.streaming.xdf_files import continuous_to_xdf

    eeg = simulated_session(seconds=60.0, t0=81234.5678)
    path = continuous_to_xdf(tmp_path / "calib.xdf", eeg)
    loaded = load_calibration_source(path)
    np.testing.assert_array_equal(loaded.data, eeg.data)
    np.testing.assert_array_equal(loaded.timestamps, eeg.timestamps)
    assert loaded.markers == eeg.markers and loaded.channel_names == eeg.channel_names
    assert loaded.sfreq == eeg.sfreq and "stream 'sim-eeg'" in loaded.source
    a = build_trials([eeg], EEG_CLASSES, CLASSES, (-1.0, 4.0), PRE, min_trials_per_class=2)
    b = build_trials([loaded], EEG_CLASSES, CLASSES, (-1.0, 4.0), PRE, min_trials_per_class=2)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.onsets, b.onsets)


def test_trials_flat_in_every_channel_are_dropped_and_refused_together() -> None:
    eeg = simulated_session(seconds=60.0)
    flat = dataclasses.replace(eeg, data=np.full_like(eeg.data, 3.0))  # a headset measuring nothing
    with pytest.raises(InsufficientTrialsError) as err:
        build_trials([flat], EEG_CLASSES, CLASSES, (-1.0, 4.0), PRE, 2)
    n = len(_cues(eeg))
    assert f"({n} trials were dropped: {n} because {FLAT_TRIAL})" in str(err.value)
    assert "electrodes touch the skin" in err.value.hint


def test_a_flat_stretch_drops_only_its_trials() -> None:
    eeg = simulated_session(seconds=60.0)
    cue = _cues(eeg)[3]
    at = int(np.searchsorted(eeg.timestamps, cue.timestamp))
    data = eeg.data.copy()
    data[:, at - 200 : at + 700] = 0.0  # the amplifier dropped out around one cue
    trials = build_trials([dataclasses.replace(eeg, data=data)], EEG_CLASSES, CLASSES,
                          (-1.0, 4.0), PRE, 2)  # fmt: skip
    assert [(d.timestamp, d.reason) for d in trials.dropped] == [(cue.timestamp, FLAT_TRIAL)]
    # only the chain's channels count: a flat channel the chain does not read drops nothing
    data = eeg.data.copy()
    data[0] = 0.0  # Fp1
    kept = build_trials([dataclasses.replace(eeg, data=data)], EEG_CLASSES, CLASSES,
                        (-1.0, 4.0), PRE, 2)  # fmt: skip
    assert kept.dropped == ()


def test_a_dead_channel_does_not_drop_every_trial() -> None:
    """A channel with no finite sample (named when the recording is loaded) is read as 0."""
    eeg = simulated_session(seconds=60.0)
    data = eeg.data.copy()
    data[4] = np.nan  # F4 never delivered a number
    trials = build_trials([dataclasses.replace(eeg, data=data)], EEG_CLASSES, CLASSES,
                          (-1.0, 4.0), PRE, 2)  # fmt: skip
    assert trials.dropped == () and trials.n_trials == len(_cues(eeg))
    np.testing.assert_array_equal(
        trials.X, build_trials([eeg], EEG_CLASSES, CLASSES, (-1.0, 4.0), PRE, 2).X
    )


def test_session_folders_without_signal_are_refused_when_loaded(tmp_path, caplog) -> None:
    from tests.streaming.test_recorded_session import write_session

    rows = np.random.default_rng(0).standard_normal((400, 4)).astype(np.float32) * 20
    rows[:, 1] = np.nan
    rows[:, 2] = 7.0
    folder = write_session(tmp_path / "partial", rows, np.arange(400) / 200.0)
    with caplog.at_level(logging.WARNING):
        eeg = load_calibration_source(folder)
    assert eeg.n_samples == 400
    assert "2 of 4 channels carry no signal" in caplog.text
    assert "only NaN/inf: C3" in caplog.text and "flat, one value throughout: Cz" in caplog.text
    rows[:, [0, 3]] = np.nan
    folder = write_session(tmp_path / "dead", rows, np.arange(400) / 200.0)
    with pytest.raises(RecordingError, match="holds no EEG signal") as err:
        load_calibration_source(folder)
    assert "only NaN/inf: index, C3, C4" in str(err.value) and "Cz" in str(err.value)
