"""Riemannian tangent-space decoder (OAS covariance -> tangent space -> logistic regression).

The classical reference model of neurodeck, written as a torch module so that it sits behind the
same interface and checkpoint format as the deep encoders. Numerically it reproduces pyriemann's
``make_pipeline(Covariances("oas"), TangentSpace(), LogisticRegression())``; fitting lives in
``calibration.riemann``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import torch
from neurodeck.common.checks import check_int
from neurodeck.common.types import ConfigError
from neurodeck.models.registry import register_model
from numpy.typing import ArrayLike, NDArray
from torch import Tensor, nn

logger = logging.getLogger(__name__)

SHRINKAGE_ESTIMATORS: tuple[str, ...] = ("oas",)

# Eigenvalues of whitened covariances are clamped to this before the log, so that a degenerate
# window (for example all channels flat) gives large but finite logits instead of NaN.
_EIGENVALUE_FLOOR = float(np.finfo(np.float64).tiny)


@register_model("tangent_space_lr")
class TangentSpaceLR(nn.Module):
    """Tangent-space logistic regression on OAS-shrunk covariance matrices.

    For each window: remove the temporal mean of every channel, estimate the covariance with
    Oracle Approximating Shrinkage (OAS, as ``sklearn.covariance.oas``), whiten it by the
    reference ``C_ref^{-1/2}`` (the Riemannian mean of the training covariances), take the matrix
    logarithm, keep the upper triangle with weight 1 on the diagonal and sqrt(2) off it (row-major,
    as ``pyriemann.geometry.tangentspace.upper``), and apply a linear layer. All of it runs in
    float64; the logits are returned as float32.

    Parameters
    ----------
    n_channels : int
        Number of EEG channels ``C``.
    n_classes : int
        Number of classes (>= 2).
    shrinkage : str
        Covariance estimator; only ``"oas"`` is implemented.

    Attributes
    ----------
    reference_isqrt : Tensor, shape (n_channels, n_channels), float64
        Inverse square root of the reference covariance (buffer, in the state dict).
    weight : Tensor, shape (n_classes, n_channels * (n_channels + 1) // 2), float64
        Logistic-regression weights over tangent vectors (buffer).
    bias : Tensor, shape (n_classes,), float64
        Logistic-regression intercepts (buffer).

    Notes
    -----
    A freshly built module is untrained (identity reference, zero weights, uniform
    probabilities); fit it with ``calibration.riemann.fit_tangent_space_lr`` or
    :meth:`from_fitted`. ``forward`` is called from the inference worker thread under
    ``torch.no_grad()``; it holds no state between calls. Move it with ``.to(device)`` only:
    ``.float()`` or ``.half()`` would round the float64 buffers.

    References
    ----------
    .. [1] A. Barachant, S. Bonnet, M. Congedo, C. Jutten. "Multiclass brain-computer interface
       classification by Riemannian geometry." IEEE Transactions on Biomedical Engineering
       59(4), 920-928, 2012.
    .. [2] A. Barachant, S. Bonnet, M. Congedo, C. Jutten. "Classification of covariance matrices
       using a Riemannian-based kernel for BCI applications." Neurocomputing 112, 172-178, 2013.
    .. [3] Y. Chen, A. Wiesel, Y. C. Eldar, A. O. Hero. "Shrinkage algorithms for MMSE covariance
       estimation." IEEE Transactions on Signal Processing 58(10), 5016-5029, 2010.
    """

    def __init__(self, n_channels: int, n_classes: int, shrinkage: str = "oas") -> None:
        super().__init__()
        self.n_channels = check_int("n_channels", n_channels, minimum=1)
        self.n_classes = check_int("n_classes", n_classes, minimum=2)
        if shrinkage not in SHRINKAGE_ESTIMATORS:
            raise ConfigError(
                f"'shrinkage' must be one of {list(SHRINKAGE_ESTIMATORS)}; got {shrinkage!r}."
            )
        self.shrinkage = shrinkage
        n_features = self.n_features
        f64 = torch.float64
        self.register_buffer("reference_isqrt", torch.eye(n_channels, dtype=f64))
        self.register_buffer("weight", torch.zeros(n_classes, n_features, dtype=f64))
        self.register_buffer("bias", torch.zeros(n_classes, dtype=f64))
        rows, cols = torch.triu_indices(n_channels, n_channels)
        coeffs = torch.full(rows.shape, math.sqrt(2.0), dtype=f64)  # sqrt(2) off the diagonal
        coeffs[rows == cols] = 1.0
        self.register_buffer("_triu_rows", rows, persistent=False)
        self.register_buffer("_triu_cols", cols, persistent=False)
        self.register_buffer("_triu_coeffs", coeffs, persistent=False)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-safe (stored in checkpoints)."""
        return {
            "n_channels": self.n_channels,
            "n_classes": self.n_classes,
            "shrinkage": self.shrinkage,
        }

    @property
    def n_features(self) -> int:
        """Length of a tangent vector, ``C * (C + 1) / 2``."""
        return self.n_channels * (self.n_channels + 1) // 2

    def forward(self, x: Tensor) -> Tensor:
        """Class logits for a batch of windows.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_samples)
            Preprocessed EEG in microvolts (float32; any real dtype is accepted).

        Returns
        -------
        logits : Tensor, shape (batch, n_classes), float32
            Softmax of these gives the class probabilities.
        """
        self._check_input(x)
        cov = self.covariances(x)  # (batch, chans, times) -> (batch, chans, chans) float64
        features = self.tangent_vectors(cov)  # (batch, chans, chans) -> (batch, n_features)
        weight = self.weight.to(torch.float64)
        logits = features @ weight.mT + self.bias.to(torch.float64)  # -> (batch, n_classes)
        return logits.to(torch.float32)

    def covariances(self, x: Tensor) -> Tensor:
        """OAS-shrunk covariance of each window, as ``pyriemann.estimation.Covariances("oas")``.

        Parameters
        ----------
        x : Tensor, shape (batch, n_channels, n_samples)
            EEG windows.

        Returns
        -------
        cov : Tensor, shape (batch, n_channels, n_channels), float64
            Symmetric positive-definite covariance matrices (biased estimator, after centering).
        """
        x64 = x.to(torch.float64)
        x64 = x64 - x64.mean(dim=-1, keepdim=True)  # (batch, chans, times), centered in time
        emp_cov = x64 @ x64.mT / x64.shape[-1]  # (batch, chans, times) -> (batch, chans, chans)
        return oas_shrink(emp_cov, n_samples=x64.shape[-1])

    def tangent_vectors(self, cov: Tensor) -> Tensor:
        """Tangent vectors at the reference, as ``pyriemann.tangentspace.TangentSpace``.

        Parameters
        ----------
        cov : Tensor, shape (batch, n_channels, n_channels)
            SPD matrices.

        Returns
        -------
        features : Tensor, shape (batch, n_channels * (n_channels + 1) // 2), float64
            ``upper(logm(C_ref^{-1/2} cov C_ref^{-1/2}))`` with sqrt(2) off-diagonal weights.
        """
        ref_isqrt = self.reference_isqrt.to(torch.float64)
        whitened = ref_isqrt @ cov.to(torch.float64) @ ref_isqrt  # (batch, chans, chans)
        eigvals, eigvecs = torch.linalg.eigh(whitened)  # (batch, chans), (batch, chans, chans)
        log_eigvals = torch.log(eigvals.clamp_min(_EIGENVALUE_FLOOR))
        log_cov = eigvecs @ (log_eigvals[..., None] * eigvecs.mT)  # (batch, chans, chans)
        upper = log_cov[..., self._triu_rows, self._triu_cols]  # -> (batch, n_features)
        return upper * self._triu_coeffs.to(torch.float64)

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Class probabilities of numpy windows (offline evaluation convenience).

        Parameters
        ----------
        X : array_like, shape (n_windows, n_channels, n_samples)
            EEG windows in microvolts.

        Returns
        -------
        proba : ndarray, shape (n_windows, n_classes), float64
            Softmax of the logits, on the module's device, without gradients.
        """
        x = torch.as_tensor(np.asarray(X, dtype=np.float32), device=self.weight.device)
        with torch.no_grad():
            logits = self(x)  # (n_windows, chans, times) -> (n_windows, n_classes)
        return torch.softmax(logits.to(torch.float64), dim=-1).cpu().numpy()

    def predict_labels(self, X: ArrayLike) -> NDArray[np.int64]:
        """Most probable class index of each window.

        Parameters
        ----------
        X : array_like, shape (n_windows, n_channels, n_samples)
            EEG windows in microvolts.

        Returns
        -------
        labels : ndarray, shape (n_windows,), int64
        """
        return self.predict_proba(X).argmax(axis=1).astype(np.int64)

    def set_reference(self, reference: ArrayLike) -> None:
        """Set the tangent-space reference point.

        Parameters
        ----------
        reference : array_like, shape (n_channels, n_channels)
            Symmetric positive-definite reference covariance ``C_ref``; ``C_ref^{-1/2}`` is
            stored in ``reference_isqrt``.

        Raises
        ------
        ConfigError
            If ``reference`` has the wrong shape or is not symmetric positive-definite.
        """
        isqrt = inverse_sqrtm(reference, n_channels=self.n_channels)
        with torch.no_grad():
            self.reference_isqrt.copy_(torch.from_numpy(isqrt))

    def set_linear(self, coef: ArrayLike, intercept: ArrayLike) -> None:
        """Set the logistic-regression layer from scikit-learn's ``coef_`` and ``intercept_``.

        Parameters
        ----------
        coef : array_like, shape (n_classes, n_features) or (1, n_features)
            Weights; one row means a binary model (sklearn's ``LogisticRegression`` with two
            classes), turned into 2-class logits ``[0, w.x + b]``.
        intercept : array_like, shape (n_classes,) or (1,)
            Intercepts, one per row of ``coef``.

        Raises
        ------
        ConfigError
            If the shapes do not fit ``n_classes`` and ``n_features`` or a value is not finite.
        """
        weight, bias = _logit_layer(coef, intercept, self.n_classes, self.n_features)
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(weight))
            self.bias.copy_(torch.from_numpy(bias))

    @classmethod
    def from_fitted(
        cls,
        reference: ArrayLike,
        coef: ArrayLike,
        intercept: ArrayLike,
        n_classes: int,
    ) -> TangentSpaceLR:
        """Build a module from a fitted reference point and logistic regression.

        Parameters
        ----------
        reference : array_like, shape (n_channels, n_channels)
            SPD reference covariance (Riemannian mean of the training covariances).
        coef : array_like, shape (n_classes, n_features) or (1, n_features)
            ``LogisticRegression.coef_``; a single row (binary model) requires ``n_classes == 2``.
        intercept : array_like, shape (n_classes,) or (1,)
            ``LogisticRegression.intercept_``.
        n_classes : int
            Number of classes.

        Returns
        -------
        model : TangentSpaceLR
            In eval mode; ``softmax(model(x))`` equals ``predict_proba`` of the fitted classifier
            on the tangent vectors of ``x``.
        """
        reference = np.asarray(reference, dtype=np.float64)
        if reference.ndim != 2 or reference.shape[0] != reference.shape[1]:
            raise ConfigError(f"'reference' must be a square matrix; got shape {reference.shape}.")
        model = cls(n_channels=reference.shape[0], n_classes=n_classes)
        model.set_reference(reference)
        model.set_linear(coef, intercept)
        return model.eval()

    def _check_input(self, x: Tensor) -> None:
        """Raise ConfigError unless ``x`` is (batch, n_channels, n_samples >= 2)."""
        if not isinstance(x, Tensor) or x.ndim != 3:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ConfigError(
                f"input must be a tensor of shape (batch, n_channels, n_samples); got {shape}."
            )
        if x.shape[1] != self.n_channels or x.shape[2] < 2:
            raise ConfigError(
                f"input must have {self.n_channels} channels and >= 2 samples; "
                f"got shape {tuple(x.shape)}."
            )


def oas_shrink(emp_cov: Tensor, n_samples: int) -> Tensor:
    """Oracle Approximating Shrinkage of empirical covariances, as ``sklearn.covariance.oas``.

    Parameters
    ----------
    emp_cov : Tensor, shape (batch, n_channels, n_channels)
        Biased empirical covariances of centered data (divided by ``n_samples``).
    n_samples : int
        Number of samples each covariance was estimated from.

    Returns
    -------
    shrunk_cov : Tensor, shape (batch, n_channels, n_channels)
        ``(1 - s) * emp_cov + s * mu * I`` with ``mu = trace(emp_cov) / n_channels``.
    """
    n_channels = emp_cov.shape[-1]
    alpha = (emp_cov**2).mean(dim=(-2, -1))  # (batch,)
    mu = torch.diagonal(emp_cov, dim1=-2, dim2=-1).sum(dim=-1) / n_channels  # (batch,)
    num = alpha + mu**2
    den = (n_samples + 1) * (alpha - mu**2 / n_channels)
    shrinkage = torch.where(den == 0, 1.0, torch.clamp(num / den, max=1.0))  # (batch,)
    eye = torch.eye(n_channels, dtype=emp_cov.dtype, device=emp_cov.device)
    return (1.0 - shrinkage)[:, None, None] * emp_cov + (shrinkage * mu)[:, None, None] * eye


def inverse_sqrtm(reference: ArrayLike, n_channels: int | None = None) -> NDArray[np.float64]:
    """Inverse square root of an SPD matrix, as ``pyriemann.geometry.base.invsqrtm``.

    Parameters
    ----------
    reference : array_like, shape (n_channels, n_channels)
        Symmetric positive-definite matrix.
    n_channels : int, optional
        Expected size; checked when given.

    Returns
    -------
    isqrt : ndarray, shape (n_channels, n_channels), float64
        ``reference^{-1/2}``.

    Raises
    ------
    ConfigError
        If the matrix has the wrong shape, is not finite, symmetric or positive-definite.
    """
    ref = np.asarray(reference, dtype=np.float64)
    size = ref.shape[0] if ref.ndim == 2 else -1
    if ref.ndim != 2 or ref.shape[1] != size or (n_channels is not None and size != n_channels):
        expected = f"({n_channels}, {n_channels})" if n_channels is not None else "(C, C)"
        raise ConfigError(f"'reference' must have shape {expected}; got {ref.shape}.")
    if not np.all(np.isfinite(ref)):
        raise ConfigError("'reference' must be finite; it contains NaN or inf.")
    asymmetry = float(np.max(np.abs(ref - ref.T)))
    if asymmetry > 1e-8 * max(float(np.max(np.abs(ref))), np.finfo(np.float64).tiny):
        raise ConfigError(f"'reference' must be symmetric; max |R - R.T| = {asymmetry:.3g}.")
    eigvals, eigvecs = np.linalg.eigh(ref)
    if eigvals[0] <= 0:
        raise ConfigError(
            f"'reference' must be positive-definite; smallest eigenvalue {eigvals[0]:.3g}."
        )
    return eigvecs @ (eigvals[:, None] ** -0.5 * eigvecs.T)


def _logit_layer(
    coef: ArrayLike, intercept: ArrayLike, n_classes: int, n_features: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weights (n_classes, n_features) and bias (n_classes,) from sklearn's coef_/intercept_."""
    coef = np.asarray(coef, dtype=np.float64)
    intercept = np.atleast_1d(np.asarray(intercept, dtype=np.float64))
    n_rows = 1 if n_classes == 2 and coef.ndim == 2 and coef.shape[0] == 1 else n_classes
    if coef.shape != (n_rows, n_features) or intercept.shape != (n_rows,):
        raise ConfigError(
            f"'coef' and 'intercept' must have shapes ({n_classes}, {n_features}) and "
            f"({n_classes},) (or (1, {n_features}) and (1,) for a binary model); "
            f"got {coef.shape} and {intercept.shape}."
        )
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
        raise ConfigError("'coef' and 'intercept' must be finite; they contain NaN or inf.")
    if n_rows == 1:  # binary sklearn model: P(class 1) = sigmoid(w.x + b) = softmax([0, w.x + b])
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([np.zeros(1), intercept])
    return coef, intercept
