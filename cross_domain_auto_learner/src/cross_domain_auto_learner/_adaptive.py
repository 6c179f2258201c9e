"""Wrappers that make any classifier react to drift.

:class:`DriftAdaptive` watches the wrapped learner's own prequential errors
with a drift detector and reacts in one of three ways:

- ``"reset"``: replace the learner by a fresh clone on a detected change;
- ``"background"``: start a clone when the error rate first rises (DDM's
  warning, or ADWIN cutting its window upwards at a looser confidence) and
  swap it in on the confirmed change, so the replacement is not cold;
- ``"reweight"``: keep the learner but up-weight the examples after the
  change (``boost`` times) for ``boost_window`` examples, so it unlearns the
  old concept faster without forgetting what still holds.

Drift points (stream offsets) are recorded in :attr:`drift_points` for reports.

:class:`DriftAdaptiveRegressor` does the same for regressors (``reset`` or
``background``): it watches absolute errors scaled by the target's running
spread (three standard deviations, clipped to 1), which keeps ADWIN's bound,
made for values in ``[0, 1]``, valid whatever the target's units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cross_domain_auto_learner._drift import ADWIN, DriftDetector, make_detector
from cross_domain_auto_learner._features import OnlineScaler
from cross_domain_auto_learner._learner import Classifier, Regressor, _labels, _weights, as_matrix
from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["DriftAdaptive", "DriftAdaptiveRegressor"]

FloatArray = NDArray[np.float64]


class DriftAdaptive(Classifier):
    """A classifier plus a drift detector on its errors and a reaction strategy.

    Args:
        model: the learner to adapt (its ``clone()`` supplies replacements).
        detector: ``"adwin"``, ``"ddm"``, ``"page-hinkley"`` or ``"kswin"``.
        strategy: ``"reset"``, ``"background"`` or ``"reweight"``.
        boost, boost_window: the re-weighting strategy's factor and duration.
    """

    def __init__(
        self,
        model: Classifier,
        detector: str = "adwin",
        strategy: str = "background",
        boost: float = 4.0,
        boost_window: int = 1000,
    ) -> None:
        if strategy not in ("reset", "background", "reweight"):
            raise LearnerInputError(
                f"unknown drift strategy {strategy!r}", hint="use reset, background or reweight"
            )
        self.model = model
        self.detector = detector
        self.strategy = strategy
        self.boost = boost
        self.boost_window = boost_window
        self._detector: DriftDetector = make_detector(detector)
        self._warn: DriftDetector = (
            ADWIN(delta=0.05) if detector == "adwin" else self._detector.clone()
        )
        self.background: Classifier | None = None
        self.drift_points: list[int] = []
        self.n_seen = 0
        self._boost_left = 0

    def params(self) -> dict[str, Any]:
        return {
            "model": self.model.clone(),
            "detector": self.detector,
            "strategy": self.strategy,
            "boost": self.boost,
            "boost_window": self.boost_window,
        }

    def learn_many(self, X: ArrayLike, y: ArrayLike, w: ArrayLike | None = None) -> None:
        Xm = as_matrix(X)
        self._check_width(Xm)
        yc = _labels(y, Xm.shape[0])
        wt = _weights(w, Xm.shape[0])
        n = Xm.shape[0]
        if n == 0:
            return
        self._grow_classes(yc)
        if self.model.n_classes:
            wrong = (self.model.predict_many(Xm) != yc).astype(np.float64)
        else:
            wrong = np.ones(n)
        if self._boost_left > 0:
            boosted = min(self._boost_left, n)
            wt = wt.copy()
            wt[:boosted] *= self.boost
            self._boost_left -= boosted
        if self.strategy == "background":
            before = getattr(self._warn, "estimation", 0.0)
            warned = self._warn.update_many(wrong).size > 0 or self._warn.warning
            if (
                warned
                and getattr(self._warn, "estimation", 1.0) >= before
                and self.background is None
            ):
                self.background = self.model.clone()
        before = getattr(self._detector, "estimation", 0.0)
        hits = self._detector.update_many(wrong)
        rose = getattr(self._detector, "estimation", 1.0) >= before
        self.model.learn_many(Xm, yc, wt)
        if self.background is not None:
            self.background.learn_many(Xm, yc, wt)
        if hits.size and rose:
            self.drift_points.append(self.n_seen + int(hits[0]))
            self._react()
        self.n_seen += n

    def rebaseline(self) -> None:
        self._detector = self._detector.clone()
        self._warn = self._warn.clone()
        self.background = None
        self.model.rebaseline()

    def _react(self) -> None:
        # a fresh detector: the replacement's falling error must not read as another change
        self._detector = self._detector.clone()
        if self.strategy == "reset":
            self.model = self.model.clone()
        elif self.strategy == "background":
            self.model = self.background if self.background is not None else self.model.clone()
            self.background = None
            self._warn = self._warn.clone()
        else:
            self._boost_left = self.boost_window

    def predict_proba_many(self, X: ArrayLike) -> FloatArray:
        Xm = as_matrix(X)
        proba = self.model.predict_proba_many(Xm)
        k = max(self.n_classes, proba.shape[1], 1)
        if proba.shape[1] < k:
            proba = np.hstack([proba, np.zeros((proba.shape[0], k - proba.shape[1]))])
        return proba


class DriftAdaptiveRegressor(Regressor):
    """A regressor plus ADWIN on its scaled absolute errors, and a reset or background reaction.

    Args:
        model: the regressor to adapt (its ``clone()`` supplies replacements).
        strategy: ``"reset"`` or ``"background"`` (a clone grows from the first
            rise at the looser ``warning_delta`` and replaces the model on the
            confirmed change).
        delta, warning_delta: ADWIN confidences of the change and the warning.
    """

    def __init__(
        self,
        model: Regressor,
        strategy: str = "background",
        delta: float = 0.002,
        warning_delta: float = 0.05,
    ) -> None:
        if strategy not in ("reset", "background"):
            raise LearnerInputError(
                f"unknown drift strategy {strategy!r} for a regressor",
                hint="use reset or background",
            )
        self.model = model
        self.strategy = strategy
        self.delta = delta
        self.warning_delta = warning_delta
        self._detector = ADWIN(delta=delta)
        self._warn = ADWIN(delta=warning_delta)
        self._target = OnlineScaler()
        self.background: Regressor | None = None
        self.drift_points: list[int] = []
        self.n_seen = 0

    def params(self) -> dict[str, Any]:
        return {
            "model": self.model.clone(),
            "strategy": self.strategy,
            "delta": self.delta,
            "warning_delta": self.warning_delta,
        }

    def _scaled_errors(self, X: FloatArray, y: FloatArray) -> FloatArray:
        spread = 3.0 * float(np.sqrt(self._target.m2[0] / self._target.count))
        err = np.abs(self.model.predict_many(X) - y) / (spread if spread > 1e-12 else 1.0)
        out: FloatArray = np.minimum(err, 1.0)
        return out

    def learn_many(self, X: ArrayLike, y: ArrayLike, w: ArrayLike | None = None) -> None:
        Xm = as_matrix(X)
        self._check_width(Xm)
        yv = np.asarray(y, dtype=np.float64).reshape(-1)
        if yv.shape[0] != Xm.shape[0] or not np.all(np.isfinite(yv)):
            raise LearnerInputError(
                "regression targets must be finite floats, one per row",
                hint="check the target column",
            )
        n = Xm.shape[0]
        if n == 0:
            return
        if self._target.count < 2:
            # no spread to scale errors by yet (and feeding zeros would read as a rise later)
            self._target.learn_many(yv[:, None])
            self.model.learn_many(Xm, yv, w)
            self.n_seen += n
            return
        errors = self._scaled_errors(Xm, yv)
        self._target.learn_many(yv[:, None])
        if self.strategy == "background":
            before = self._warn.estimation
            if (
                self._warn.update_many(errors).size
                and self._warn.estimation > before
                and self.background is None
            ):
                self.background = self.model.clone()
        before = self._detector.estimation
        hits = self._detector.update_many(errors)
        self.model.learn_many(Xm, yv, w)
        if self.background is not None:
            self.background.learn_many(Xm, yv, w)
        if hits.size and self._detector.estimation > before:
            self.drift_points.append(self.n_seen + int(hits[0]))
            self._detector = ADWIN(delta=self.delta)
            self._warn = ADWIN(delta=self.warning_delta)
            replacement = self.background if self.strategy == "background" else None
            self.model = replacement if replacement is not None else self.model.clone()
            self.background = None
        self.n_seen += n

    def predict_many(self, X: ArrayLike) -> FloatArray:
        return self.model.predict_many(as_matrix(X))
