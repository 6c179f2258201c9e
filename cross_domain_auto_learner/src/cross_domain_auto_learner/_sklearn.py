"""scikit-learn-compatible wrapper: ``fit``, ``partial_fit``, ``predict``, ``predict_proba``.

Lets an online learner sit in a scikit-learn pipeline, grid search or
cross-validation.  Labels of any type are mapped to class codes through
``classes_`` (fixed by the first ``partial_fit``'s ``classes`` argument or the
labels seen so far), as scikit-learn's own ``partial_fit`` estimators do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin  # type: ignore[import-untyped]

from cross_domain_auto_learner._catalog import make_model
from cross_domain_auto_learner._learner import Classifier, as_matrix
from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["OnlineClassifier"]


class OnlineClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Any of this package's classifiers behind the scikit-learn estimator API.

    Args:
        learner: a name from ``cdal models`` (``"hoeffding-tree"``, ``"arf"``, ``"auto"``...).
        batch_size: rows per internal ``learn_many`` call in ``fit``.
        seed: passed to randomised learners.
    """

    classes_: NDArray[Any]
    model_: Classifier
    n_features_in_: int
    _fixed_classes: bool = False

    def __init__(
        self, learner: str = "hoeffding-tree", batch_size: int = 256, seed: int = 42
    ) -> None:
        self.learner = learner
        self.batch_size = batch_size
        self.seed = seed

    def _new(self) -> Classifier:
        model = make_model(self.learner, "classification", self.seed)
        if not isinstance(model, Classifier):
            raise LearnerInputError(f"{self.learner} is not a classifier", hint="see 'cdal models'")
        return model

    def _codes(self, y: ArrayLike) -> NDArray[np.int64]:
        yv = np.asarray(y)
        known = {c: i for i, c in enumerate(self.classes_.tolist())}
        new = [v for v in dict.fromkeys(yv.tolist()) if v not in known]
        if new:
            if self._fixed_classes:
                raise LearnerInputError(
                    f"labels {new[:5]} are not among the classes given to partial_fit",
                    hint="pass every class in the first partial_fit call",
                )
            self.classes_ = _objects([*self.classes_.tolist(), *new])
            known = {c: i for i, c in enumerate(self.classes_.tolist())}
        return np.fromiter((known[v] for v in yv.tolist()), dtype=np.int64, count=len(yv))

    def fit(self, X: ArrayLike, y: ArrayLike) -> OnlineClassifier:
        """Start over and learn ``X, y`` in batches of ``batch_size``."""
        self.model_ = self._new()
        self.classes_ = _objects(sorted(set(np.asarray(y).tolist()), key=repr))
        self._fixed_classes = False
        return self._learn(X, y)

    def partial_fit(
        self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None
    ) -> OnlineClassifier:
        """Learn one more batch (the first call may fix ``classes``)."""
        if not hasattr(self, "model_"):
            self.model_ = self._new()
            self._fixed_classes = classes is not None
            self.classes_ = _objects(
                list(np.asarray(classes).tolist()) if classes is not None else []
            )
        return self._learn(X, y)

    def _learn(self, X: ArrayLike, y: ArrayLike) -> OnlineClassifier:
        Xm = as_matrix(X)
        codes = self._codes(y)
        for lo in range(0, Xm.shape[0], self.batch_size):
            self.model_.learn_many(Xm[lo : lo + self.batch_size], codes[lo : lo + self.batch_size])
        self.n_features_in_ = Xm.shape[1]
        return self

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Probabilities per class, columns in the order of ``classes_``."""
        if not hasattr(self, "model_"):
            raise LearnerInputError("the model is not fitted", hint="call fit or partial_fit first")
        proba = self.model_.predict_proba_many(as_matrix(X))
        k = len(self.classes_)
        out = np.zeros((proba.shape[0], k))
        width = min(k, proba.shape[1])
        out[:, :width] = proba[:, :width]
        sums = out.sum(axis=1, keepdims=True)
        result: NDArray[np.float64] = np.where(
            sums > 0, out / np.where(sums > 0, sums, 1.0), 1.0 / k
        )
        return result

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The most probable label per row."""
        result: NDArray[Any] = self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return result


def _objects(values: list[Any]) -> NDArray[Any]:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
