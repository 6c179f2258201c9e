"""The contract every online learner follows.

A learner is fed either one example (``learn_one``) or a mini-batch
(``learn_many``); both end in the same NumPy-vectorised code, so the one-example
path is simply a batch of one.  Classifiers work on integer class codes
``0..K-1`` and grow ``K`` as new labels appear; :class:`LabelIndex` maps
arbitrary labels (strings, booleans) to those codes at the boundary.
Regressors predict floats.  ``clone()`` gives a fresh, untrained learner with
the same hyperparameters, which is what drift adaptation, ensembles and model
selection need.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["Classifier", "LabelIndex", "Learner", "Regressor", "as_matrix"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def as_matrix(X: ArrayLike) -> FloatArray:
    """``X`` as a 2-D float64 array; one row is accepted as a 1-D vector."""
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise LearnerInputError(
            f"features must be a matrix (rows x columns), got {arr.ndim} dimensions",
            hint="pass one row per example",
        )
    return arr


class Learner(ABC):
    """Common base: hyperparameters, cloning, and the width of the input."""

    n_features: int = 0

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Constructor arguments (JSON-friendly), used by :meth:`clone` and reports."""

    def clone(self) -> Self:
        """A fresh, untrained learner with the same hyperparameters."""
        return type(self)(**copy.deepcopy(self.params()))

    def _check_width(self, X: FloatArray) -> None:
        if self.n_features == 0:
            self.n_features = int(X.shape[1])
        elif X.shape[1] != self.n_features:
            raise LearnerInputError(
                f"expected {self.n_features} features, got {X.shape[1]}",
                hint="feed rows with the same columns the model was trained on",
            )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


class Classifier(Learner):
    """An online classifier over integer class codes."""

    n_classes: int = 0

    @abstractmethod
    def learn_many(self, X: ArrayLike, y: ArrayLike, w: ArrayLike | None = None) -> None:
        """Update on a mini-batch; ``w`` are optional per-example weights."""

    @abstractmethod
    def predict_proba_many(self, X: ArrayLike) -> FloatArray:
        """Class probabilities, shape ``(n, n_classes)``; uniform before any training."""

    def learn_one(self, x: ArrayLike, y: int, w: float = 1.0) -> None:
        """Update on one example."""
        self.learn_many(as_matrix(x), np.asarray([y], dtype=np.int64), np.asarray([w]))

    def rebaseline(self) -> None:
        """Forget what "normal" error looks like, keeping what was learned.

        Called when a trained model is moved to a new domain (warm start):
        its drift detectors must not read the new domain's different error
        rate as a change and throw the transferred knowledge away.  Learners
        without drift monitoring have nothing to forget.
        """
        return

    def predict_many(self, X: ArrayLike) -> IntArray:
        """Most probable class per row (0 before any training)."""
        proba = self.predict_proba_many(X)
        if proba.shape[1] == 0:
            return np.zeros(proba.shape[0], dtype=np.int64)
        out: IntArray = np.argmax(proba, axis=1).astype(np.int64)
        return out

    def predict_one(self, x: ArrayLike) -> int:
        """Most probable class for one example."""
        return int(self.predict_many(as_matrix(x))[0])

    def _grow_classes(self, y: IntArray) -> None:
        if y.size and int(y.min()) < 0:
            raise LearnerInputError(
                "class codes must be non-negative integers",
                hint="map labels through LabelIndex first",
            )
        top = int(y.max()) + 1 if y.size else 0
        self.n_classes = max(self.n_classes, top, 2 if top else 0)


class Regressor(Learner):
    """An online regressor."""

    @abstractmethod
    def learn_many(self, X: ArrayLike, y: ArrayLike, w: ArrayLike | None = None) -> None:
        """Update on a mini-batch of float targets."""

    @abstractmethod
    def predict_many(self, X: ArrayLike) -> FloatArray:
        """One prediction per row."""

    def learn_one(self, x: ArrayLike, y: float, w: float = 1.0) -> None:
        """Update on one example."""
        self.learn_many(as_matrix(x), np.asarray([y], dtype=np.float64), np.asarray([w]))

    def predict_one(self, x: ArrayLike) -> float:
        """Prediction for one example."""
        return float(self.predict_many(as_matrix(x))[0])


class LabelIndex:
    """Maps arbitrary hashable labels to class codes ``0..K-1`` in order of first sight."""

    def __init__(self, labels: Sequence[Hashable] = ()) -> None:
        self.labels: list[Hashable] = []
        self._index: dict[Hashable, int] = {}
        for label in labels:
            self.code(label)

    def code(self, label: Hashable) -> int:
        """The code of ``label``, assigning the next one if it is new."""
        found = self._index.get(label)
        if found is None:
            found = len(self.labels)
            self._index[label] = found
            self.labels.append(label)
        return found

    def encode(self, labels: Sequence[Hashable] | NDArray[Any]) -> IntArray:
        """Codes of many labels, assigning new ones as they appear."""
        values = labels.tolist() if isinstance(labels, np.ndarray) else labels
        return np.fromiter((self.code(v) for v in values), dtype=np.int64, count=len(values))

    def decode(self, codes: ArrayLike) -> list[Hashable]:
        """Labels of codes; a code never seen decodes to ``None``."""
        n = len(self.labels)
        return [self.labels[c] if 0 <= c < n else None for c in np.asarray(codes).tolist()]

    def __len__(self) -> int:
        return len(self.labels)


def _weights(w: ArrayLike | None, n: int) -> FloatArray:
    if w is None:
        return np.ones(n, dtype=np.float64)
    arr = np.asarray(w, dtype=np.float64).reshape(-1)
    if arr.shape[0] != n:
        raise LearnerInputError(
            f"got {arr.shape[0]} weights for {n} examples", hint="pass one weight per row"
        )
    return arr


def _labels(y: ArrayLike, n: int) -> IntArray:
    arr = np.asarray(y).reshape(-1)
    if arr.shape[0] != n:
        raise LearnerInputError(
            f"got {arr.shape[0]} labels for {n} examples", hint="pass one label per row"
        )
    if arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            return arr.astype(np.int64)
        raise LearnerInputError(
            "classifier labels must be integer class codes",
            hint="map labels through LabelIndex first",
        )
    return arr.astype(np.int64)
