"""Affective decoding in numbers: classes on valence / arousal / workload axes, slow smoothing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from neurodeck.common.types import ConfigError, Prediction
from neurodeck.control.affect import (
    AffectTracker,
    affect_axes,
    frontal_alpha_asymmetry,
    smooth_probabilities,
)


def test_three_valence_classes_give_expected_valence_and_no_arousal() -> None:
    axes = affect_axes(("negative", "neutral", "positive"))
    assert axes.kind == "valence" and axes.arousal is None and axes.workload is None
    valence, arousal, workload = axes.expected([0.2, 0.3, 0.5])
    assert valence == pytest.approx(-0.2 + 0.5) and arousal is None and workload is None
    assert axes.expected([1.0, 0.0, 0.0])[0] == pytest.approx(-1.0)
    assert axes.expected([1 / 3, 1 / 3, 1 / 3])[0] == pytest.approx(0.0)


def test_seed_iv_classes_lie_on_the_circumplex() -> None:
    axes = affect_axes(("neutral", "sad", "fear", "happy"))
    assert axes.kind == "circumplex"
    assert axes.expected([0, 0, 0, 1])[:2] == pytest.approx((0.8, 0.5))
    assert axes.expected([0, 0, 1, 0])[:2] == pytest.approx((-0.6, 0.7))
    p = np.array([0.1, 0.2, 0.3, 0.4])
    valence, arousal, _ = axes.expected(p)
    assert valence == pytest.approx(p @ [0.0, -0.7, -0.6, 0.8])
    assert arousal == pytest.approx(p @ [0.0, -0.3, 0.7, 0.5])
    np.testing.assert_allclose(axes.coordinates()[3], [0.8, 0.5])


@pytest.mark.parametrize(
    ("classes", "kind"),
    [
        (("low_valence", "high_valence"), "valence"),
        (("Low-Valence", "High Valence"), "valence"),  # spelled differently
        (("low_arousal", "high_arousal"), "arousal"),
        (("lvla", "lvha", "hvla", "hvha"), "circumplex"),
        (("rest", "arithmetic"), "workload"),
        (("left", "right"), "none"),  # motor imagery has no place here
        (("left", "rest"), "none"),  # one class without a workload weight: no axis
        (("neutral", "low_arousal"), "arousal"),
    ],
)
def test_the_gauge_follows_the_classes(classes, kind) -> None:
    assert affect_axes(classes).kind == kind


def test_quadrants_put_each_class_in_its_corner() -> None:
    axes = affect_axes(("lvla", "lvha", "hvla", "hvha"))
    signs = np.sign(axes.coordinates())
    np.testing.assert_array_equal(signs, [[-1, -1], [-1, 1], [1, -1], [1, 1]])


def test_workload_is_the_probability_of_arithmetic() -> None:
    axes = affect_axes(("rest", "arithmetic"))
    valence, arousal, workload = axes.expected([0.3, 0.7])
    assert workload == pytest.approx(0.7) and valence is None and arousal is None
    three = affect_axes(("rest", "medium_workload", "high_workload"))
    assert three.expected([0.2, 0.4, 0.4])[2] == pytest.approx(0.4 * 0.5 + 0.4)


def test_unknown_classes_and_bad_lengths() -> None:
    assert affect_axes(("a", "b")).expected([0.5, 0.5]) == (None, None, None)
    with pytest.raises(ConfigError, match="one value per class"):
        affect_axes(("negative", "positive")).expected([1.0, 0.0, 0.0])


def _reference(times, probs, tau):
    """The normalised causal exponential average, one row at a time."""
    out = np.zeros_like(probs)
    for k in range(len(times)):
        w = np.exp(-(times[k] - times[: k + 1]) / tau)
        out[k] = (w[:, None] * probs[: k + 1]).sum(0) / w.sum()
    return out


def test_smoothing_matches_the_definition_on_irregular_times(rng) -> None:
    times = 1000.0 + np.cumsum(rng.uniform(0.1, 0.6, 80))  # dropped windows: uneven gaps
    probs = rng.dirichlet(np.ones(3), 80)
    smoothed = smooth_probabilities(times, probs, 4.0)
    np.testing.assert_allclose(smoothed, _reference(times, probs, 4.0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(smoothed.sum(1), 1.0)
    assert smoothed[:, 0].std() < probs[:, 0].std() / 2  # it does smooth


def test_affective_smoothing_follows_a_change_over_seconds() -> None:
    dt, step_at = 0.01, 100.0
    times = np.arange(0.0, 104.0 + dt / 2, dt)
    probs = np.where((times >= step_at)[:, None], [0.0, 1.0], [1.0, 0.0])
    slow = smooth_probabilities(times, probs, 4.0)
    fast = smooth_probabilities(times, probs, 1.0)
    assert slow[-1, 1] == pytest.approx(1 - math.exp(-1), abs=0.01)  # one time constant on
    assert fast[-1, 1] > 0.98  # motor imagery's 1 s is long settled


def test_smoothing_is_stable_for_long_histories_and_empty_input() -> None:
    times = np.arange(0.0, 2000.0, 0.25)
    probs = np.tile([0.0, 0.25, 0.75], (len(times), 1))
    smoothed = smooth_probabilities(times, probs, 0.05)  # 40 000 time constants of history
    assert np.isfinite(smoothed).all()
    np.testing.assert_allclose(smoothed, probs, atol=1e-12)
    assert smooth_probabilities(np.zeros(0), np.zeros((0, 3)), 4.0).shape == (0, 3)
    with pytest.raises(ConfigError, match="time_constant_s"):
        smooth_probabilities(times, probs, 0.0)


def _prediction(seq: int, t: float, probs) -> Prediction:
    return Prediction(tuple(probs), ("negative", "neutral", "positive"), t, t, t, seq, seq)


def test_the_tracker_is_the_smoother_one_prediction_at_a_time(rng) -> None:
    times = 50.0 + np.cumsum(rng.uniform(0.2, 0.3, 40))
    probs = rng.dirichlet(np.ones(3), 40)
    tracker = AffectTracker(("negative", "neutral", "positive"), 4.0)
    assert tracker.smoothed is None and tracker.describe() == ""
    for k, (t, p) in enumerate(zip(times, probs, strict=True)):
        tracker.update(_prediction(k, t, p))
        tracker.update(_prediction(k, t, p))  # polled twice: counted once
    expected = smooth_probabilities(times, probs, 4.0)[-1]
    np.testing.assert_allclose(tracker.smoothed, expected, rtol=1e-9)
    text = tracker.describe(4.0)
    state = ("negative", "neutral", "positive")[int(np.argmax(expected))]
    assert text.startswith(f"{state} {expected.max():.2f} (4 s avg)")
    assert f"valence {expected[2] - expected[0]:+.2f}" in text


def test_frontal_alpha_asymmetry() -> None:
    names = ("F3", "F4", "Cz")
    bands = ("theta", "alpha")
    power = np.array([[1.0, 2.0], [1.0, 6.0], [1.0, 1.0]])
    assert frontal_alpha_asymmetry(names, bands, power) == pytest.approx(math.log(3.0))
    assert frontal_alpha_asymmetry(("Cz", "Pz"), bands, power[:2]) is None
    assert frontal_alpha_asymmetry(names, ("theta", "beta"), power) is None
