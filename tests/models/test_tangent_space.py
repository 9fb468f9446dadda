"""TangentSpaceLR must reproduce pyriemann's OAS covariances and tangent space exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from neurodeck.common.types import ConfigError
from neurodeck.models.tangent_space import TangentSpaceLR, inverse_sqrtm
from pyriemann.estimation import Covariances
from pyriemann.geometry.tangentspace import upper
from pyriemann.tangentspace import TangentSpace


def _windows(
    rng: np.random.Generator, n: int = 6, n_channels: int = 5, n_samples: int = 60
) -> np.ndarray:
    """Correlated float32 windows with a DC offset, (n, n_channels, n_samples)."""
    mixing = rng.standard_normal((n_channels, n_channels))
    x = mixing @ rng.standard_normal((n, n_channels, n_samples)) * 20.0 + 7.0
    return x.astype(np.float32)


def _fitted_pyriemann(X: np.ndarray) -> tuple[np.ndarray, TangentSpace]:
    covs = Covariances("oas").fit_transform(X.astype(np.float64))
    return covs, TangentSpace().fit(covs)


def test_covariances_match_pyriemann_oas(rng: np.random.Generator) -> None:
    X = _windows(rng)
    model = TangentSpaceLR(n_channels=5, n_classes=2)
    ours = model.covariances(torch.from_numpy(X)).numpy()
    expected, _ = _fitted_pyriemann(X)
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())


def test_oas_actually_shrinks(rng: np.random.Generator) -> None:
    # Few samples -> strong shrinkage: the result must differ from the empirical covariance.
    X = _windows(rng, n=1, n_channels=5, n_samples=8)
    ours = TangentSpaceLR(5, 2).covariances(torch.from_numpy(X)).numpy()[0]
    centered = X[0].astype(np.float64) - X[0].mean(axis=1, keepdims=True)
    empirical = centered @ centered.T / X.shape[2]
    assert not np.allclose(ours, empirical, rtol=1e-3)
    np.testing.assert_allclose(np.trace(ours), np.trace(empirical), rtol=1e-12)


def test_upper_ordering_and_weights_match_pyriemann() -> None:
    n = 4
    sym = np.arange(n * n, dtype=np.float64).reshape(n, n)
    sym = sym + sym.T
    model = TangentSpaceLR(n_channels=n, n_classes=2)
    ours = torch.from_numpy(sym)[model._triu_rows, model._triu_cols] * model._triu_coeffs
    np.testing.assert_array_equal(ours.numpy(), upper(sym))


def test_tangent_vectors_match_pyriemann(rng: np.random.Generator) -> None:
    X = _windows(rng, n=8)
    covs, ts = _fitted_pyriemann(X)
    model = TangentSpaceLR(n_channels=5, n_classes=2)
    model.set_reference(ts.reference_)
    ours = model.tangent_vectors(torch.from_numpy(covs)).numpy()
    np.testing.assert_allclose(ours, ts.transform(covs), rtol=0, atol=1e-12)


def test_forward_is_softmax_of_linear_layer_on_tangent_vectors(rng: np.random.Generator) -> None:
    X = _windows(rng, n=7)
    covs, ts = _fitted_pyriemann(X)
    coef = rng.standard_normal((3, 15))
    intercept = rng.standard_normal(3)
    model = TangentSpaceLR.from_fitted(ts.reference_, coef, intercept, n_classes=3)
    with torch.no_grad():
        logits = model(torch.from_numpy(X))
    expected = ts.transform(covs) @ coef.T + intercept
    assert logits.dtype == torch.float32 and logits.shape == (7, 3)
    np.testing.assert_allclose(logits.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_from_fitted_binary_gives_sklearn_probabilities(rng: np.random.Generator) -> None:
    X = _windows(rng, n=5)
    covs, ts = _fitted_pyriemann(X)
    coef, intercept = rng.standard_normal((1, 15)), np.array([0.3])
    model = TangentSpaceLR.from_fitted(ts.reference_, coef, intercept, n_classes=2)
    assert not model.training
    proba = model.predict_proba(X)
    decision = ts.transform(covs) @ coef[0] + intercept[0]
    p1 = 1.0 / (1.0 + np.exp(-decision))  # sklearn's binary predict_proba[:, 1]
    np.testing.assert_allclose(proba, np.column_stack([1 - p1, p1]), atol=1e-6)
    np.testing.assert_array_equal(model.predict_labels(X), (decision > 0).astype(np.int64))


def test_forward_removes_the_temporal_mean(rng: np.random.Generator) -> None:
    X = _windows(rng, n=3)
    a = rng.standard_normal((5, 5))
    model = TangentSpaceLR.from_fitted(
        a @ a.T + 5 * np.eye(5), rng.standard_normal((2, 15)), np.zeros(2), n_classes=2
    )
    offset = rng.standard_normal((1, 5, 1)).astype(np.float32) * 100
    with torch.no_grad():
        plain = model(torch.from_numpy(X))
        shifted = model(torch.from_numpy(X + offset))
    torch.testing.assert_close(plain, shifted, rtol=1e-4, atol=1e-4)


def test_batch_rows_are_independent(rng: np.random.Generator) -> None:
    X = torch.from_numpy(_windows(rng, n=4))
    a = rng.standard_normal((5, 5))
    model = TangentSpaceLR.from_fitted(
        a @ a.T + 5 * np.eye(5), rng.standard_normal((3, 15)), rng.standard_normal(3), 3
    )
    with torch.no_grad():
        batch = model(X)
        single = torch.cat([model(X[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(batch, single)


def test_untrained_model_gives_uniform_probabilities(rng: np.random.Generator) -> None:
    proba = TangentSpaceLR(n_channels=5, n_classes=4).predict_proba(_windows(rng, n=2))
    np.testing.assert_allclose(proba, 0.25)


def test_flat_window_gives_finite_logits(rng: np.random.Generator) -> None:
    model = TangentSpaceLR.from_fitted(np.eye(3), rng.standard_normal((2, 6)), np.zeros(2), 2)
    with torch.no_grad():
        logits = model(torch.zeros(1, 3, 50))
    assert torch.isfinite(logits).all()


def test_state_dict_holds_exactly_the_fitted_buffers() -> None:
    model = TangentSpaceLR(n_channels=3, n_classes=2)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes == {"reference_isqrt": (3, 3), "weight": (2, 6), "bias": (2,)}
    assert all(v.dtype == torch.float64 for v in model.state_dict().values())
    assert model.config == {"n_channels": 3, "n_classes": 2, "shrinkage": "oas"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_channels": 0, "n_classes": 2}, "'n_channels' must be an integer >= 1"),
        ({"n_channels": 4, "n_classes": 1}, "'n_classes' must be an integer >= 2"),
        ({"n_channels": 4.0, "n_classes": 2}, "'n_channels' must be an integer"),
        ({"n_channels": 4, "n_classes": 2, "shrinkage": "lwf"}, "'shrinkage' must be one of"),
    ],
)
def test_invalid_config_is_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TangentSpaceLR(**kwargs)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((2, 4, 30), r"must have 5 channels and >= 2 samples; got shape \(2, 4, 30\)"),
        ((2, 5, 1), r"must have 5 channels and >= 2 samples; got shape \(2, 5, 1\)"),
        ((5, 30), r"shape \(batch, n_channels, n_samples\); got \(5, 30\)"),
    ],
)
def test_forward_rejects_wrong_input_shapes(shape: tuple[int, ...], message: str) -> None:
    model = TangentSpaceLR(n_channels=5, n_classes=2)
    with pytest.raises(ConfigError, match=message):
        model(torch.zeros(shape))


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (np.eye(3)[:2], "shape"),
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
        (np.diag([1.0, -1.0]), "positive-definite"),
        (np.diag([1.0, np.nan]), "finite"),
    ],
)
def test_bad_reference_is_refused(reference: np.ndarray, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        inverse_sqrtm(reference)


def test_inverse_sqrtm_inverts_the_square_root(rng: np.random.Generator) -> None:
    a = rng.standard_normal((4, 4))
    spd = a @ a.T + np.eye(4)
    isqrt = inverse_sqrtm(spd)
    np.testing.assert_allclose(isqrt @ spd @ isqrt, np.eye(4), atol=1e-12)


@pytest.mark.parametrize(
    ("coef_shape", "intercept_shape", "n_classes"),
    [((1, 6), (1,), 3), ((2, 5), (2,), 2), ((3, 6), (2,), 3)],
)
def test_from_fitted_refuses_mismatched_linear_layer(
    coef_shape: tuple[int, int], intercept_shape: tuple[int], n_classes: int
) -> None:
    with pytest.raises(ConfigError, match="'coef' and 'intercept' must have shapes"):
        TangentSpaceLR.from_fitted(
            np.eye(3), np.ones(coef_shape), np.ones(intercept_shape), n_classes
        )
