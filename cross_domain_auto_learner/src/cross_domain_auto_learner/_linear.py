"""Linear and logistic models trained online with adaptive optimisers.

Both models optimise the mean loss of each mini-batch with one optimiser step,
so the one-example path (a batch of one) is plain online gradient descent and
the mini-batch path costs a couple of matrix products per batch: this is where
the NumPy path earns its speed over per-example Python.  Inputs are
standardised online by default (:class:`OnlineScaler`), which makes a single
learning rate work across streams whose columns differ by orders of magnitude.
"""

from __future__ import annotations

import math
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

__all__ = ["LinearRegression", "LogisticRegression", "Optimizer"]

FloatArray = NDArray[np.float64]


class Optimizer:
    """SGD, AdaGrad or Adam over named parameter arrays (state kept per name).

    Args:
        kind: ``"sgd"``, ``"adagrad"`` or ``"adam"``.
        lr: step size.
        beta1, beta2, eps: Adam's moment decays and numerical floor.
    """

    KINDS = ("sgd", "adagrad", "adam")

    def __init__(
        self,
        kind: str = "adam",
        lr: float = 0.05,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        if kind not in self.KINDS or lr <= 0:
            raise LearnerInputError(
                f"unknown optimiser {kind!r} or non-positive learning rate {lr}",
                hint="use sgd, adagrad or adam with lr > 0",
            )
        self.kind, self.lr, self.beta1, self.beta2, self.eps = kind, lr, beta1, beta2, eps
        self._m: dict[str, FloatArray] = {}
        self._v: dict[str, FloatArray] = {}
        self._t = 0

    def tick(self) -> None:
        """Start a new step (Adam's bias correction counts steps)."""
        self._t += 1

    def step(self, name: str, param: FloatArray, grad: FloatArray) -> FloatArray:
        """Return ``param`` moved against ``grad``."""
        if self.kind == "sgd":
            return param - self.lr * grad
        v = self._v.get(name)
        if v is None or v.shape != grad.shape:
            v = _resize(v, grad.shape)
        if self.kind == "adagrad":
            v = v + grad * grad
            self._v[name] = v
            return param - self.lr * grad / (np.sqrt(v) + self.eps)
        m = _resize(self._m.get(name), grad.shape)
        m = self.beta1 * m + (1 - self.beta1) * grad
        v = self.beta2 * v + (1 - self.beta2) * grad * grad
        self._m[name], self._v[name] = m, v
        t = max(self._t, 1)
        mhat = m / (1 - self.beta1**t)
        vhat = v / (1 - self.beta2**t)
        return param - self.lr * mhat / (np.sqrt(vhat) + self.eps)


def _resize(arr: FloatArray | None, shape: tuple[int, ...]) -> FloatArray:
    out = np.zeros(shape)
    if arr is not None:
        region = tuple(slice(0, min(a, b)) for a, b in zip(arr.shape, shape, strict=True))
        out[region] = arr[region]
    return out


class LogisticRegression(Classifier):
    """Multinomial logistic regression (softmax), binary being the two-class case.

    Args:
        optimizer: ``"adam"`` (default), ``"adagrad"`` or ``"sgd"``.
        lr: learning rate.
        l2: L2 penalty on the weights.
        scale: standardise inputs online first.
    """

    def __init__(
        self, optimizer: str = "adam", lr: float = 0.05, l2: float = 0.0, scale: bool = True
    ) -> None:
        self.optimizer, self.lr, self.l2, self.scale = optimizer, lr, l2, scale
        self._opt = Optimizer(optimizer, lr)
        self._scaler = OnlineScaler()
        self.W: FloatArray = np.zeros((0, 0))
        self.b: FloatArray = np.zeros(0)
        self.n_seen = 0.0

    def params(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer, "lr": self.lr, "l2": self.l2, "scale": self.scale}

    def _prepare(self, X: FloatArray) -> FloatArray:
        return self._scaler.transform_many(X) if self.scale else X

    def _logits(self, Z: FloatArray) -> FloatArray:
        out: FloatArray = Z @ self.W + self.b
        return out

    def learn_many(self, X: ArrayLike, y: ArrayLike, w: ArrayLike | None = None) -> None:
        Xm = as_matrix(X)
        self._check_width(Xm)
        yc = _labels(y, Xm.shape[0])
        wt = _weights(w, Xm.shape[0])
        if Xm.shape[0] == 0:
            return
        self._grow_classes(yc)
        if self.W.shape != (self.n_features, self.n_classes):
            self.W = _resize(self.W if self.W.size else None, (self.n_features, self.n_classes))
            self.b = _resize(self.b if self.b.size else None, (self.n_classes,))
        if self.scale:
            self._scaler.learn_many(Xm)
        Z = self._prepare(Xm)
        P = _softmax(self._logits(Z))
        P[np.arange(len(yc)), yc] -= 1.0
        total = float(wt.sum())
        if total <= 0:
            return
        G = P * (wt / total)[:, None]
        gW = Z.T @ G + self.l2 * self.W
        gb = G.sum(axis=0)
        self._opt.tick()
        self.W = self._opt.step("W", self.W, gW)
        self.b = self._opt.step("b", self.b, gb)
        self.n_seen += total

    def predict_proba_many(self, X: ArrayLike) -> FloatArray:
        Xm = as_matrix(X)
        if self.n_classes == 0 or self.W.size == 0:
            k = max(self.n_classes, 1)
            return np.full((Xm.shape[0], k), 1.0 / k)
        self._check_width(Xm)
        return _softmax(self._logits(self._prepare(Xm)))

    def state(self) -> dict[str, Any]:
        """Fitted state as plain data (weights, scaler, class count)."""
        return {
            "W": self.W.tolist(),
            "b": self.b.tolist(),
            "n_classes": self.n_classes,
            "n_features": self.n_features,
            "scaler": self._scaler.state(),
        }


class LinearRegression(Regressor):
    """Least-squares linear regression with online scaling of inputs and target.

    The target is standardised internally (and predictions mapped back), so the
    learning rate does not depend on the target's units.
    """

    def __init__(
        self, optimizer: str = "adam", lr: float = 0.05, l2: float = 0.0, scale: bool = True
    ) -> None:
        self.optimizer, self.lr, self.l2, self.scale = optimizer, lr, l2, scale
        self._opt = Optimizer(optimizer, lr)
        self._scaler = OnlineScaler()
        self._yscaler = OnlineScaler()
        self.w: FloatArray = np.zeros(0)
        self.b = 0.0

    def params(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer, "lr": self.lr, "l2": self.l2, "scale": self.scale}

    def learn_many(self, X: ArrayLike, y: ArrayLike, w: ArrayLike | None = None) -> None:
        Xm = as_matrix(X)
        self._check_width(Xm)
        yv = np.asarray(y, dtype=np.float64).reshape(-1)
        if yv.shape[0] != Xm.shape[0] or not np.all(np.isfinite(yv)):
            raise LearnerInputError(
                "regression targets must be finite floats, one per row",
                hint="check the target column",
            )
        wt = _weights(w, Xm.shape[0])
        if Xm.shape[0] == 0 or wt.sum() <= 0:
            return
        if self.w.size == 0:
            self.w = np.zeros(self.n_features)
        if self.scale:
            self._scaler.learn_many(Xm)
            self._yscaler.learn_many(yv[:, None])
        Z = self._scaler.transform_many(Xm) if self.scale else Xm
        t = self._yscaler.transform_many(yv[:, None])[:, 0] if self.scale else yv
        err = (Z @ self.w + self.b - t) * (wt / wt.sum())
        self._opt.tick()
        self.w = self._opt.step("w", self.w, Z.T @ err + self.l2 * self.w)
        self.b = float(self._opt.step("b", np.asarray([self.b]), np.asarray([err.sum()]))[0])

    def predict_many(self, X: ArrayLike) -> FloatArray:
        Xm = as_matrix(X)
        if self.w.size == 0:
            return np.zeros(Xm.shape[0])
        self._check_width(Xm)
        Z = self._scaler.transform_many(Xm) if self.scale else Xm
        out: FloatArray = Z @ self.w + self.b
        if self.scale and self._yscaler.count:
            std = math.sqrt(float(self._yscaler.m2[0]) / self._yscaler.count)
            out = out * (std if std > 1e-12 else 1.0) + float(self._yscaler.mean[0])
        return out


def _softmax(Z: FloatArray) -> FloatArray:
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    out: FloatArray = E / E.sum(axis=1, keepdims=True)
    return out
