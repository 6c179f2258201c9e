"""Gaussian naive Bayes, learned online from running per-class moments."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cross_domain_auto_learner._learner import Classifier, _labels, _weights, as_matrix

__all__ = ["GaussianNB", "class_moments"]

FloatArray = NDArray[np.float64]


def class_moments(
    X: FloatArray, y: NDArray[np.int64], w: FloatArray, n_classes: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-class weight, mean and sum of squared deviations of a batch, shapes ``(K,)``, ``(K, d)``, ``(K, d)``."""
    Y = np.zeros((X.shape[0], n_classes))
    Y[np.arange(X.shape[0]), y] = w
    cw = Y.sum(axis=0)
    sx = Y.T @ X
    safe = np.where(cw > 0, cw, 1.0)[:, None]
    mean = sx / safe
    m2 = Y.T @ (X * X) - cw[:, None] * mean * mean
    return cw, mean, np.maximum(m2, 0.0)


def merge_moments(  # noqa: PLR0917 - two (count, mean, m2) triples, as in the formula
    n_a: FloatArray,
    mean_a: FloatArray,
    m2_a: FloatArray,
    n_b: FloatArray,
    mean_b: FloatArray,
    m2_b: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Chan et al.'s parallel merge of two sets of running moments (broadcasts over leading axes)."""
    n = n_a + n_b
    safe = np.where(n > 0, n, 1.0)
    na, nb = n_a[..., None], n_b[..., None]
    delta = mean_b - mean_a
    mean = mean_a + delta * (nb / safe[..., None])
    m2 = m2_a + m2_b + delta * delta * (na * nb / safe[..., None])
    return n, mean, m2


def gaussian_log_likelihood(
    X: FloatArray, counts: FloatArray, mean: FloatArray, m2: FloatArray, var_floor: float = 1e-9
) -> FloatArray:
    """Log prior plus per-feature Gaussian log density; ``X`` ``(n, d)``, stats ``(n|1, K, d)``.

    Classes never seen get ``-inf``-like scores so they never win.
    """
    safe = np.where(counts > 0, counts, 1.0)
    var = m2 / safe[..., None]
    # a relative floor keeps single-valued features (zero variance) finite
    var = var + var_floor * var.max(axis=-2, keepdims=True) + 1e-9
    diff = X[:, None, :] - mean
    ll = -0.5 * (np.log(2 * np.pi * var) + diff * diff / var).sum(axis=-1)
    total = counts.sum(axis=-1, keepdims=True)
    prior = np.log(safe / np.where(total > 0, total, 1.0))
    out: FloatArray = np.where(counts > 0, ll + prior, -1e300)
    return out


class GaussianNB(Classifier):
    """Gaussian naive Bayes: per-class running mean and variance of each feature."""

    def __init__(self, var_smoothing: float = 1e-9) -> None:
        self.var_smoothing = var_smoothing
        self.counts: FloatArray = np.zeros(0)
        self.mean: FloatArray = np.zeros((0, 0))
        self.m2: FloatArray = np.zeros((0, 0))

    def params(self) -> dict[str, Any]:
        return {"var_smoothing": self.var_smoothing}

    def learn_many(self, X: ArrayLike, y: ArrayLike, w: ArrayLike | None = None) -> None:
        Xm = as_matrix(X)
        self._check_width(Xm)
        yc = _labels(y, Xm.shape[0])
        wt = _weights(w, Xm.shape[0])
        if Xm.shape[0] == 0:
            return
        self._grow_classes(yc)
        k, d = self.n_classes, self.n_features
        if self.counts.shape[0] < k:
            pad = k - self.counts.shape[0]
            self.counts = np.concatenate([self.counts, np.zeros(pad)])
            self.mean = np.vstack([self.mean.reshape(-1, d), np.zeros((pad, d))])
            self.m2 = np.vstack([self.m2.reshape(-1, d), np.zeros((pad, d))])
        cw, bmean, bm2 = class_moments(Xm, yc, wt, k)
        self.counts, self.mean, self.m2 = merge_moments(
            self.counts, self.mean, self.m2, cw, bmean, bm2
        )

    def predict_proba_many(self, X: ArrayLike) -> FloatArray:
        Xm = as_matrix(X)
        if self.n_classes == 0 or not self.counts.any():
            k = max(self.n_classes, 1)
            return np.full((Xm.shape[0], k), 1.0 / k)
        self._check_width(Xm)
        jll = gaussian_log_likelihood(
            Xm, self.counts[None, :], self.mean[None], self.m2[None], self.var_smoothing
        )
        jll = jll - jll.max(axis=1, keepdims=True)
        p = np.exp(jll)
        out: FloatArray = p / p.sum(axis=1, keepdims=True)
        return out
