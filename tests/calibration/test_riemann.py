"""fit_tangent_space_lr must reproduce the project's pyriemann yardstick pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from neurodeck.calibration.riemann import fit_tangent_space_lr
from neurodeck.common.types import ConfigError
from neurodeck.models.checkpoint import ModelMeta, load_checkpoint, save_checkpoint
from neurodeck.models.tangent_space import TangentSpaceLR
from pyriemann.estimation import Covariances
from pyriemann.tangentspace import TangentSpace
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline


def _trials(
    rng: np.random.Generator, n_classes: int, n_per_class: int = 12, n_channels: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """Float32 trials whose class raises the power of its own channels, plus labels."""
    y = np.repeat(np.arange(n_classes), n_per_class)
    rng.shuffle(y)
    gain = 1.0 + 0.6 * (np.arange(n_channels)[None, :] % n_classes == y[:, None])
    fixed = np.random.default_rng(7)  # same mixing for every call: train and test share it
    mixing = np.eye(n_channels) + 0.3 * fixed.standard_normal((n_channels, n_channels))
    sources = rng.standard_normal((len(y), n_channels, 80)) * gain[:, :, None]
    X = (mixing @ sources) * 15.0 + 4.0  # microvolt-ish, with a DC offset
    return X.astype(np.float32), y


def _yardstick(C: float = 1.0):
    """The pipeline of /work/shared/tools/mi_reference.py."""
    return make_pipeline(Covariances("oas"), TangentSpace(), LogisticRegression(C=C, max_iter=1000))


def _proba(model: TangentSpaceLR, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        logits = model(torch.from_numpy(X))
    return torch.softmax(logits.double(), dim=-1).numpy()


@pytest.mark.parametrize("n_classes", [2, 3])
def test_matches_pyriemann_pipeline(rng: np.random.Generator, n_classes: int) -> None:
    X, y = _trials(rng, n_classes)
    X_test, _ = _trials(rng, n_classes, n_per_class=4)
    model = fit_tangent_space_lr(X, y, n_classes)
    pipeline = _yardstick().fit(X.astype(np.float64), y)
    for data in (X, X_test):
        expected = pipeline.predict_proba(data.astype(np.float64))
        np.testing.assert_allclose(_proba(model, data), expected, rtol=0, atol=1e-6)
    # The probabilities are not trivially uniform: the comparison has teeth.
    assert np.abs(expected - 1.0 / n_classes).max() > 0.2


def test_matches_pipeline_with_other_regularisation(rng: np.random.Generator) -> None:
    X, y = _trials(rng, 3)
    model = fit_tangent_space_lr(X, y, 3, C_reg=0.05)
    expected = _yardstick(C=0.05).fit(X.astype(np.float64), y).predict_proba(X.astype(np.float64))
    np.testing.assert_allclose(_proba(model, X), expected, rtol=0, atol=1e-6)
    default = _proba(fit_tangent_space_lr(X, y, 3), X)
    assert np.abs(default - expected).max() > 1e-3  # C_reg really reaches the classifier


def test_softmax_equals_predict_proba_on_module_tangent_vectors(rng: np.random.Generator) -> None:
    X, y = _trials(rng, 3)
    model = fit_tangent_space_lr(X, y, 3)
    with torch.no_grad():
        features = model.tangent_vectors(model.covariances(torch.from_numpy(X))).numpy()
    classifier = LogisticRegression(C=1.0, max_iter=1000).fit(features, y)
    np.testing.assert_allclose(
        model.predict_proba(X), classifier.predict_proba(features), atol=1e-6
    )


def test_learns_the_classes_and_generalises(rng: np.random.Generator) -> None:
    X, y = _trials(rng, 3, n_per_class=20)
    X_test, y_test = _trials(rng, 3, n_per_class=10)
    model = fit_tangent_space_lr(X, y, 3)
    assert not model.training
    assert (model.predict_labels(X_test) == y_test).mean() > 0.8


def test_fitted_model_survives_a_checkpoint(rng: np.random.Generator, tmp_path: Path) -> None:
    X, y = _trials(rng, 2)
    model = fit_tangent_space_lr(X, y, 2)
    meta = ModelMeta(
        architecture="tangent_space_lr",
        config=model.config,
        channel_names=tuple(f"E{i}" for i in range(6)),
        sfreq=160.0,
        window_s=0.5,
        class_names=("left", "right"),
    )
    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "ts.safetensors", model, meta))
    np.testing.assert_array_equal(_proba(loaded, X), _proba(model, X))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("missing_class", r"every class needs at least one trial; .* \[8, 0, 16\]"),
        ("label_out_of_range", r"labels in 'y' must lie in \[0, 3\)"),
        ("float_labels", "'y' must be 24 integer labels"),
        ("short_y", "'y' must be 24 integer labels"),
        ("2d_X", "'X' must have shape"),
        ("nan", "'X' contains NaN"),
    ],
)
def test_invalid_trials_are_refused(rng: np.random.Generator, change: str, message: str) -> None:
    X, y = _trials(rng, 3, n_per_class=8)
    if change == "missing_class":
        y = np.where(y == 1, 2, y)  # labels 0 and 2 of 3 classes
    elif change == "label_out_of_range":
        y[0] = 3
    elif change == "float_labels":
        y = y.astype(float)
    elif change == "short_y":
        y = y[:-1]
    elif change == "2d_X":
        X = X[:, 0]
    elif change == "nan":
        X[0, 0, 0] = np.nan
    with pytest.raises(ConfigError, match=message):
        fit_tangent_space_lr(X, y, 3)


def test_n_classes_and_c_reg_are_validated(rng: np.random.Generator) -> None:
    X, y = _trials(rng, 2)
    with pytest.raises(ConfigError, match="'n_classes' must be an integer >= 2"):
        fit_tangent_space_lr(X, np.zeros_like(y), 1)
    with pytest.raises(ConfigError, match="'C_reg' must be a finite number > 0"):
        fit_tangent_space_lr(X, y, 2, C_reg=0.0)
