"""Logistic regression with a Gaussian (Laplace) posterior, one Newton step per batch.

Why a second logistic model: the gradient-step models of :mod:`._linear` move
a fixed learning rate per batch, which on a short stream leaves them well
short of the fitted optimum (Phishing, 1,250 examples: ~88-90% where a batch
fit of the same model class reaches ~91%).  Here every weight vector carries
a precision matrix ``H`` (the curvature of the log-likelihood seen so far plus
a Gaussian prior), and each batch moves the weights by one Newton step
``w -= (H + X'SX)^-1 X'(p - y)``: the step is large while little is known and
shrinks by itself as evidence accumulates (the online Laplace approximation).
``H`` decays towards the prior by ``forget`` per example, so after a change
the model becomes willing to move again.

Features: the standardised inputs plus a one-hot indicator for every value of
every *discrete* column.  A column counts as discrete while it has shown 3 to
``max_levels`` distinct values (two-valued columns gain nothing from
indicators); when it shows more it is treated as numeric only and its
indicators are dropped.  Streams of coded answers
(Phishing's 0 / 0.5 / 1 columns) thus get per-level weights, which a single
slope per column cannot express, without any per-dataset setting.

Cost: one ``D x D`` solve per batch and class, ``D`` the expanded width (at
most ``max_width``); for binary tasks one model serves both classes.  Inputs
wider than ``max_width`` (hashed text) keep only the diagonal of ``H``: a
per-weight Newton step, O(D) per example.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cross_domain_auto_learner._features import OnlineScaler
from cross_domain_auto_learner._learner import Classifier, _labels, _weights, as_matrix
from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["LaplaceLogisticRegression"]

FloatArray = NDArray[np.float64]


class LaplaceLogisticRegression(Classifier):
    """Online Bayesian logistic regression (one-vs-rest for more than two classes).

    Args:
        prior: precision of the Gaussian prior on every weight (an L2 penalty).
        forget: per-example decay of the accumulated precision towards the
            prior (1.0 never forgets; 0.999 keeps ~1,000 examples' worth).
        max_levels: a column with 3 to ``max_levels`` distinct values also
            gets one indicator per value; below 3 disables the expansion.
        level_window: examples during which new levels are looked for.
        max_width: no indicators are added beyond this expanded width (the
            solve per batch costs ``width**3``); inputs wider than this from
            the start (hashed text) keep only the diagonal of the precision.
    """

    def __init__(
        self,
        prior: float = 1.0,
        forget: float = 0.999,
        max_levels: int = 10,
        level_window: int = 1000,
        max_width: int = 128,
    ) -> None:
        if prior <= 0 or not 0 < forget <= 1 or max_levels < 0 or level_window < 0:
            raise LearnerInputError(
                "LaplaceLogisticRegression needs prior > 0, 0 < forget <= 1, "
                "max_levels >= 0, level_window >= 0",
                hint="defaults: prior=1.0, forget=0.999, max_levels=10, level_window=1000",
            )
        self.prior, self.forget, self.max_levels = prior, forget, max_levels
        self.level_window, self.max_width = level_window, max_width
        self.n_seen = 0
        self.diagonal = False
        self._scaler = OnlineScaler()
        # indicator features: (column, value) pairs in order of first sight
        self._ind_cols: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._ind_vals: FloatArray = np.zeros(0)
        self._levels: list[set[float]] = []
        self._numeric: list[bool] = []
        # one weight vector and precision matrix per modelled class
        self.W: FloatArray = np.zeros((0, 0))
        self.H: FloatArray = np.zeros((0, 0, 0))

    def params(self) -> dict[str, Any]:
        return {
            "prior": self.prior,
            "forget": self.forget,
            "max_levels": self.max_levels,
            "level_window": self.level_window,
            "max_width": self.max_width,
        }

    @property
    def width(self) -> int:
        """Expanded feature count: bias, standardised inputs, level indicators."""
        return 1 + self.n_features + int(self._ind_cols.shape[0])

    def _expand(self, X: FloatArray) -> FloatArray:
        parts = [np.ones((X.shape[0], 1)), self._scaler.transform_many(X)]
        if self._ind_cols.size:
            parts.append((X[:, self._ind_cols] == self._ind_vals[None, :]).astype(np.float64))
        return np.hstack(parts)

    def _learn_levels(self, X: FloatArray) -> None:
        """Add indicators for new values of discrete columns; drop columns that turn numeric.

        A column gets indicators once it has shown three levels (for two, the
        indicators would only repeat the column and the bias).  Levels are
        looked for during the first ``level_window`` examples only, so the
        per-column scan costs nothing on long streams; a level first seen later
        has no indicator and is scored through the column's slope alone.
        """
        if not self._levels:
            self._levels = [set() for _ in range(self.n_features)]
            self._numeric = [self.max_levels < 3] * self.n_features
        drop: list[int] = []
        for j in range(self.n_features):
            if self._numeric[j]:
                continue
            seen = self._levels[j]
            new = [v for v in np.unique(X[:, j]).tolist() if v not in seen]
            if not new:
                continue
            had = len(seen)
            seen.update(new)
            fresh = sorted(seen) if had < 3 <= len(seen) else new if had >= 3 else []
            if len(seen) > self.max_levels or self.width + len(fresh) > self.max_width:
                self._numeric[j] = True
                seen.clear()
                drop.append(j)
                continue
            if fresh:
                self._grow(len(fresh))
                self._ind_cols = np.concatenate([self._ind_cols, np.full(len(fresh), j, np.int64)])
                self._ind_vals = np.concatenate(
                    [self._ind_vals, np.asarray(fresh, dtype=np.float64)]
                )
        if drop:
            gone = np.isin(self._ind_cols, drop)
            keep = np.concatenate([np.ones(1 + self.n_features, dtype=bool), ~gone])
            self.W = self.W[:, keep]
            self.H = self.H[:, keep] if self.diagonal else self.H[:, keep][:, :, keep]
            self._ind_cols, self._ind_vals = self._ind_cols[~gone], self._ind_vals[~gone]

    def _grow(self, extra: int) -> None:
        """Append ``extra`` features: zero weights, prior precision."""
        k, d = self.W.shape
        self.W = np.hstack([self.W, np.zeros((k, extra))])
        if self.diagonal:
            self.H = np.hstack([self.H, np.full((k, extra), self.prior)])
            return
        H = np.zeros((k, d + extra, d + extra))
        H[:, :d, :d] = self.H
        idx = np.arange(d, d + extra)
        H[:, idx, idx] = self.prior
        self.H = H

    def _models(self) -> int:
        """Weight vectors kept: one for a binary task (class 1), else one per class."""
        return 1 if self.n_classes <= 2 else self.n_classes

    def _prior_precision(self, models: int, d: int) -> FloatArray:
        if self.diagonal:
            return np.full((models, d), self.prior)
        return np.broadcast_to(self.prior * np.eye(d), (models, d, d)).copy()

    def _grow_models(self) -> None:
        want, have = self._models(), self.W.shape[0]
        d = self.width
        if have == 0:
            # wide inputs (hashed text) keep only the diagonal of the precision:
            # a full solve per batch would cost width**3
            self.diagonal = d > self.max_width
            self.W = np.zeros((want, d))
            self.H = self._prior_precision(want, d)
        elif want > have:
            # binary -> multi-class: class 0's model is the mirror of class 1's
            W = np.zeros((want, d))
            H = self._prior_precision(want, d)
            W[0], W[1], H[0], H[1] = -self.W[0], self.W[0], self.H[0], self.H[0]
            self.W, self.H = W, H

    def learn_many(self, X: ArrayLike, y: ArrayLike, w: ArrayLike | None = None) -> None:
        Xm = as_matrix(X)
        self._check_width(Xm)
        yc = _labels(y, Xm.shape[0])
        wt = _weights(w, Xm.shape[0])
        if Xm.shape[0] == 0 or float(wt.sum()) <= 0:
            return
        if not np.all(np.isfinite(Xm)):
            raise LearnerInputError(
                "features must be finite numbers", hint="impute or drop NaN/inf values first"
            )
        self._grow_classes(yc)
        self._grow_models()
        if self.n_seen < self.level_window:
            self._learn_levels(Xm)
        self.n_seen += Xm.shape[0]
        self._scaler.learn_many(Xm)
        Z = self._expand(Xm)
        d = Z.shape[1]
        decay = self.forget ** float(Xm.shape[0])
        eye = np.eye(d) if not self.diagonal else np.ones(d)
        for m in range(self.W.shape[0]):
            target = (yc == (1 if self.W.shape[0] == 1 else m)).astype(np.float64)
            p = _sigmoid(Z @ self.W[m])
            s = wt * p * (1.0 - p)
            grad = Z.T @ (wt * (p - target))
            if self.diagonal:
                H = decay * self.H[m] + (1.0 - decay) * self.prior * eye + s @ (Z * Z)
                self.W[m] = self.W[m] - grad / H
            else:
                H = decay * self.H[m] + (1.0 - decay) * self.prior * eye + (Z * s[:, None]).T @ Z
                self.W[m] = self.W[m] - np.linalg.solve(H, grad)
            self.H[m] = H

    def predict_proba_many(self, X: ArrayLike) -> FloatArray:
        Xm = as_matrix(X)
        k = max(self.n_classes, 1)
        if self.W.size == 0:
            return np.full((Xm.shape[0], k), 1.0 / k)
        self._check_width(Xm)
        scores = _sigmoid(self._expand(Xm) @ self.W.T)
        if self.W.shape[0] == 1:
            return np.column_stack([1.0 - scores[:, 0], scores[:, 0]])
        total = scores.sum(axis=1, keepdims=True)
        out: FloatArray = scores / np.where(total > 0, total, 1.0)
        return out


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out
