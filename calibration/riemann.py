"""Fit the classical Riemannian decoder (tangent space + logistic regression) on calibration trials.

Covariances and tangent vectors come from :class:`neurodeck.models.tangent_space.TangentSpaceLR`
itself, so training and live inference share one code path. The result reproduces pyriemann's
``make_pipeline(Covariances("oas"), TangentSpace(), LogisticRegression(C=C_reg, max_iter=1000))``.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from neurodeck.common.checks import check_int, check_positive
from neurodeck.common.types import ConfigError
from neurodeck.models.tangent_space import TangentSpaceLR
from numpy.typing import ArrayLike, NDArray
from sklearn.linear_model import LogisticRegression

try:  # pyriemann >= 0.12
    from pyriemann.geometry.mean import mean_riemann
except ImportError:  # pragma: no cover - older pyriemann
    from pyriemann.utils.mean import mean_riemann

logger = logging.getLogger(__name__)


def fit_tangent_space_lr(
    X: ArrayLike, y: ArrayLike, n_classes: int, C_reg: float = 1.0
) -> TangentSpaceLR:
    """Fit a tangent-space logistic regression on epoched trials.

    Parameters
    ----------
    X : array_like, shape (n_trials, n_channels, n_times)
        Preprocessed trials in microvolts (float32, as returned by
        ``calibration.trials.build_trials``).
    y : array_like, shape (n_trials,)
        Class index of each trial, in ``[0, n_classes)``; every class must occur.
    n_classes : int
        Number of classes (>= 2).
    C_reg : float
        Inverse regularisation strength of the logistic regression (sklearn's ``C``).

    Returns
    -------
    model : TangentSpaceLR
        In eval mode. The reference point is the Riemannian mean of the trial covariances;
        ``softmax(model(X))`` equals ``LogisticRegression.predict_proba`` on the tangent vectors.

    Raises
    ------
    ConfigError
        If shapes or labels are invalid, or a class has no trial.
    """
    X, y = _check_trials(X, y, n_classes)
    C_reg = check_positive("C_reg", C_reg)
    model = TangentSpaceLR(n_channels=X.shape[1], n_classes=n_classes)
    with torch.no_grad():
        cov = model.covariances(torch.from_numpy(X))  # (trials, chans, times) -> (trials, C, C)
        model.set_reference(mean_riemann(cov.numpy()))
        features = model.tangent_vectors(cov).numpy()  # (trials, C, C) -> (trials, n_features)
    classifier = LogisticRegression(C=C_reg, max_iter=1000).fit(features, y)
    model.set_linear(classifier.coef_, classifier.intercept_)
    logger.info(
        "fitted tangent_space_lr on %d trials x %d channels; training accuracy %.3f",
        X.shape[0],
        X.shape[1],
        classifier.score(features, y),
    )
    return model.eval()


def _check_trials(
    X: ArrayLike, y: ArrayLike, n_classes: int
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Validate trials and labels; return C-contiguous float32 X and int64 y."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    y = np.asarray(y)
    if X.ndim != 3 or X.shape[0] < 2 or X.shape[2] < 2:
        raise ConfigError(
            f"'X' must have shape (n_trials >= 2, n_channels, n_times >= 2); got {X.shape}."
        )
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ConfigError(
            f"'y' must be {X.shape[0]} integer labels, one per trial; got shape {y.shape} and "
            f"dtype {y.dtype}."
        )
    n_classes = check_int("n_classes", n_classes, 2)
    if y.min() < 0 or y.max() >= n_classes:
        raise ConfigError(f"labels in 'y' must lie in [0, {n_classes}); got {sorted(set(y))}.")
    counts = np.bincount(y, minlength=n_classes)
    if np.any(counts == 0):
        raise ConfigError(
            f"every class needs at least one trial; trial counts per class: {counts.tolist()}."
        )
    if not np.all(np.isfinite(X)):
        raise ConfigError("'X' contains NaN or inf; check the recording and preprocessing.")
    return X, y.astype(np.int64)
