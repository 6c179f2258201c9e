"""k-nearest neighbours over a sliding window of recent examples.

The window is a ring buffer of the last ``window_size`` rows; prediction
computes all distances of a batch to the window with one matrix product
(``|a-b|^2 = |a|^2 + |b|^2 - 2ab``), so forgetting is built in: old concepts
leave the window on their own.  Inputs are standardised online.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cross_domain_auto_learner._features import OnlineScaler
from cross_domain_auto_learner._learner import (
    Classifier,
    Regressor,
    _labels,
    _weights,
    as_matrix,
)
from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["KNNClassifier", "KNNRegressor"]

FloatArray = NDArray[np.float64]


class _Window:
    def __init__(self, size: int) -> None:
        self.size = size
        self.X: FloatArray = np.zeros((0, 0))
        self.y: FloatArray = np.zeros(0)
        self.count = 0
        self.pos = 0

    def add(self, X: FloatArray, y: FloatArray) -> None:
        if self.X.shape[1] != X.shape[1]:
            self.X = np.zeros((self.size, X.shape[1]))
            self.y = np.zeros(self.size)
        if X.shape[0] >= self.size:
            X, y = X[-self.size :], y[-self.size :]
        idx = (self.pos + np.arange(X.shape[0])) % self.size
        self.X[idx], self.y[idx] = X, y
        self.pos = int((self.pos + X.shape[0]) % self.size)
        self.count = min(self.size, self.count + X.shape[0])

    def neighbours(self, Q: FloatArray, k: int) -> tuple[NDArray[np.int64], FloatArray]:
        W = self.X[: self.count]
        d2 = (Q * Q).sum(axis=1)[:, None] + (W * W).sum(axis=1)[None, :] - 2.0 * Q @ W.T
        kk = min(k, self.count)
        idx = np.argpartition(d2, kk - 1, axis=1)[:, :kk]
        dist = np.sqrt(np.maximum(np.take_along_axis(d2, idx, axis=1), 0.0))
        return idx, dist


class _KNNBase:
    def __init__(self, n_neighbors: int, window_size: int, weighted: bool) -> None:
        if n_neighbors < 1 or window_size < n_neighbors:
            raise LearnerInputError(
                "k-NN needs n_neighbors >= 1 and window_size >= n_neighbors",
                hint="e.g. n_neighbors=5, window_size=1000",
            )
        self.n_neighbors, self.window_size, self.weighted = n_neighbors, window_size, weighted
        self._scaler = OnlineScaler()
        self._window = _Window(window_size)

    def params(self) -> dict[str, Any]:
        return {
            "n_neighbors": self.n_neighbors,
            "window_size": self.window_size,
            "weighted": self.weighted,
        }

    def _vote_weights(self, dist: FloatArray) -> FloatArray:
        if not self.weighted:
            return np.ones_like(dist)
        out: FloatArray = 1.0 / (dist + 1e-9)
        return out


class KNNClassifier(_KNNBase, Classifier):
    """Distance-weighted k-NN classifier over the last ``window_size`` examples."""

    def __init__(
        self, n_neighbors: int = 5, window_size: int = 1000, weighted: bool = True
    ) -> None:
        _KNNBase.__init__(self, n_neighbors, window_size, weighted)

    def learn_many(self, X: ArrayLike, y: ArrayLike, w: ArrayLike | None = None) -> None:
        Xm = as_matrix(X)
        self._check_width(Xm)
        yc = _labels(y, Xm.shape[0])
        keep = _weights(w, Xm.shape[0]) > 0
        Xm, yc = Xm[keep], yc[keep]
        if Xm.shape[0] == 0:
            return
        self._grow_classes(yc)
        self._scaler.learn_many(Xm)
        self._window.add(self._scaler.transform_many(Xm), yc.astype(np.float64))

    def predict_proba_many(self, X: ArrayLike) -> FloatArray:
        Xm = as_matrix(X)
        k = max(self.n_classes, 1)
        if self._window.count == 0:
            return np.full((Xm.shape[0], k), 1.0 / k)
        self._check_width(Xm)
        idx, dist = self._window.neighbours(self._scaler.transform_many(Xm), self.n_neighbors)
        labels = self._window.y[idx].astype(np.int64)
        votes = np.zeros((Xm.shape[0], k))
        rows = np.repeat(np.arange(Xm.shape[0]), labels.shape[1])
        np.add.at(votes, (rows, labels.ravel()), self._vote_weights(dist).ravel())
        out: FloatArray = votes / votes.sum(axis=1, keepdims=True)
        return out


class KNNRegressor(_KNNBase, Regressor):
    """Distance-weighted k-NN regressor over the last ``window_size`` examples."""

    def __init__(
        self, n_neighbors: int = 5, window_size: int = 1000, weighted: bool = True
    ) -> None:
        _KNNBase.__init__(self, n_neighbors, window_size, weighted)

    def learn_many(self, X: ArrayLike, y: ArrayLike, w: ArrayLike | None = None) -> None:
        Xm = as_matrix(X)
        self._check_width(Xm)
        yv = np.asarray(y, dtype=np.float64).reshape(-1)
        keep = _weights(w, Xm.shape[0]) > 0
        Xm, yv = Xm[keep], yv[keep]
        if Xm.shape[0] == 0:
            return
        self._scaler.learn_many(Xm)
        self._window.add(self._scaler.transform_many(Xm), yv)

    def predict_many(self, X: ArrayLike) -> FloatArray:
        Xm = as_matrix(X)
        if self._window.count == 0:
            return np.zeros(Xm.shape[0])
        self._check_width(Xm)
        idx, dist = self._window.neighbours(self._scaler.transform_many(Xm), self.n_neighbors)
        wv = self._vote_weights(dist)
        out: FloatArray = (self._window.y[idx] * wv).sum(axis=1) / wv.sum(axis=1)
        return out
