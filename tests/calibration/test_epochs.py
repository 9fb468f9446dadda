"""Epoching by cue onsets: exact sample positions, drops, and refusals."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from calibration.epochs import InsufficientTrialsError, cue_epochs
from common.types import ConfigError, NeurodeckError

SFREQ = 100.0
CLASSES = ("left", "right")


def _ramp(n_channels: int = 3, n_samples: int = 1000) -> np.ndarray:
    """Channel 0 holds the sample index; channel c holds index + 10000 * c."""
    index = np.arange(n_samples, dtype=np.float64)
    return np.stack([index + 10000 * c for c in range(n_channels)]).astype(np.float32)


def test_epochs_start_at_onset_plus_tmin_with_fixed_length() -> None:
    data = _ramp()
    events = [(1.0, "left"), (2.5, "right"), (4.0, "left"), (6.0, "right")]
    X, y = cue_epochs(data, SFREQ, events, tmin=0.5, tmax=2.5, class_names=CLASSES)
    assert X.shape == (4, 3, 200)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert X.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(y, [0, 1, 0, 1])
    np.testing.assert_array_equal(X[:, 0, 0], [150, 300, 450, 650])
    np.testing.assert_array_equal(X[1, 0], np.arange(300, 500))
    np.testing.assert_array_equal(X[1, 2], np.arange(300, 500) + 20000)


def test_negative_tmin_and_rounded_length() -> None:
    data = _ramp(n_channels=1)
    events = [(2.0, "left"), (3.0, "right"), (5.0, "left"), (7.0, "right")]
    X, _ = cue_epochs(data, SFREQ, events, tmin=-0.5, tmax=0.754, class_names=CLASSES)
    assert X.shape[2] == round(1.254 * SFREQ) == 125
    np.testing.assert_array_equal(X[:, 0, 0], [150, 250, 450, 650])


def test_epochs_that_leave_the_data_are_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = _ramp(n_samples=800)
    events = [(0.2, "left"), (1.0, "left"), (2.0, "right"), (3.0, "right"), (4.0, "left")]
    events.append((7.5, "left"))
    with caplog.at_level(logging.WARNING, logger="calibration.epochs"):
        X, y = cue_epochs(data, SFREQ, events, tmin=-0.5, tmax=1.0, class_names=CLASSES)
    np.testing.assert_array_equal(y, [0, 1, 1, 0])  # 0.2 starts before, 7.5 ends after the data
    np.testing.assert_array_equal(X[:, 0, 0], [50, 150, 250, 350])
    assert "dropped 2 of 6 epochs" in caplog.text


def test_epoch_ending_exactly_at_the_last_sample_is_kept() -> None:
    data = _ramp(n_samples=500)
    events = [(1.0, "left"), (2.0, "left"), (3.0, "right"), (4.0, "right")]
    X, _ = cue_epochs(data, SFREQ, events, tmin=0.0, tmax=1.0, class_names=CLASSES)
    assert X.shape[0] == 4 and X[-1, 0, -1] == 499


def test_labels_outside_class_names_are_ignored() -> None:
    events = [(1.0, "left"), (2.0, "rest"), (3.0, "right"), (4.0, "left"), (5.0, "right")]
    X, y = cue_epochs(_ramp(), SFREQ, events, 0.0, 1.0, class_names=("right", "left"))
    np.testing.assert_array_equal(y, [1, 0, 1, 0])  # indices follow class_names order
    np.testing.assert_array_equal(X[:, 0, 0], [100, 300, 400, 500])


def test_a_class_with_one_trial_is_refused() -> None:
    events = [(1.0, "left"), (2.0, "left"), (3.0, "right")]
    with pytest.raises(InsufficientTrialsError) as err:
        cue_epochs(_ramp(), SFREQ, events, 0.0, 1.0, class_names=CLASSES)
    message = str(err.value)
    assert "class 'right' has 1 trial; at least 2 per class are needed" in message
    assert "Record more trials" in message
    assert isinstance(err.value, NeurodeckError)


def test_a_class_with_no_trials_is_named_and_drops_are_mentioned() -> None:
    events = [(1.0, "left"), (2.0, "left"), (9.8, "right")]
    with pytest.raises(InsufficientTrialsError, match="class 'right' has 0 trials") as err:
        cue_epochs(_ramp(), SFREQ, events, 0.0, 1.0, class_names=CLASSES)
    assert "epochs dropped for leaving the data: 1" in str(err.value)


def test_no_epochs_at_all_is_refused() -> None:
    with pytest.raises(InsufficientTrialsError, match=r"no epochs of classes \['left', 'right'\]"):
        cue_epochs(_ramp(), SFREQ, [(1.0, "rest")], 0.0, 1.0, class_names=CLASSES)
    with pytest.raises(InsufficientTrialsError, match="no epochs"):
        cue_epochs(_ramp(), SFREQ, [], 0.0, 1.0, class_names=CLASSES)


def test_min_trials_per_class_can_be_lowered() -> None:
    X, y = cue_epochs(
        _ramp(), SFREQ, [(1.0, "left"), (2.0, "right")], 0.0, 1.0, CLASSES, min_trials_per_class=1
    )
    assert X.shape[0] == 2 and list(y) == [0, 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data": np.zeros(100)}, "'data' must be a numeric array of shape"),
        ({"data": np.zeros((2, 0))}, "'data' must be a numeric array of shape"),
        ({"sfreq": 0.0}, "'sfreq' must be a finite number > 0"),
        ({"tmin": 1.0, "tmax": 1.0}, "'tmax' must be > 'tmin'"),
        ({"tmin": 0.0, "tmax": 0.001}, "hold no sample"),
        ({"class_names": ("left", "left")}, "'class_names' must be a non-empty sequence of unique"),
        ({"class_names": ()}, "'class_names' must be a non-empty sequence"),
        ({"events": [(float("nan"), "left")]}, "event onsets must be finite"),
    ],
)
def test_invalid_arguments(kwargs: dict, message: str) -> None:
    args = {
        "data": _ramp(),
        "sfreq": SFREQ,
        "events": [(1.0, "left"), (2.0, "left"), (3.0, "right"), (4.0, "right")],
        "tmin": 0.0,
        "tmax": 1.0,
        "class_names": CLASSES,
    }
    args.update(kwargs)
    with pytest.raises(ConfigError, match=message):
        cue_epochs(**args)
