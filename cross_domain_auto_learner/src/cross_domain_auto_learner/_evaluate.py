"""Prequential (test-then-train) and holdout evaluation.

Prequential evaluation predicts each batch before learning from it, so every
example is a test example first; with ``batch_size=1`` it is the classic
one-example protocol, with larger batches the predictions for a batch use the
model as it was before that batch (the same protocol, coarser grained).
Windowed accuracy (over the last ``window`` examples, reported every
``window`` examples) shows how a learner falls and recovers at a drift; the
result also records the stream's true change points and the changes the
learner itself detected, which is what reports mark on the plot.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cross_domain_auto_learner._learner import Classifier, Regressor
from cross_domain_auto_learner._streams import Stream
from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["EvaluationResult", "classification_metrics", "holdout", "prequential"]


@dataclass
class EvaluationResult:
    """What an evaluation measured; JSON-serialisable through :meth:`to_dict`."""

    model: str
    stream: str
    n_samples: int
    metrics: dict[str, float]
    window: int = 0
    positions: list[int] = field(default_factory=list)
    windowed: list[float] = field(default_factory=list)
    drift_points: list[int] = field(default_factory=list)
    detected_drifts: list[int] = field(default_factory=list)
    seconds: float = 0.0
    samples_per_second: float = 0.0
    mode: str = "prequential"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationResult:
        """Rebuild from :meth:`to_dict` output; refuses anything else with a clear error."""
        try:
            result = cls(
                model=str(data["model"]),
                stream=str(data["stream"]),
                n_samples=int(data["n_samples"]),
                metrics={str(k): float(v) for k, v in dict(data["metrics"]).items()},
                window=int(data.get("window", 0)),
                positions=[int(p) for p in data.get("positions", [])],
                windowed=[float(v) for v in data.get("windowed", [])],
                drift_points=[int(p) for p in data.get("drift_points", [])],
                detected_drifts=[int(p) for p in data.get("detected_drifts", [])],
                seconds=float(data.get("seconds", 0.0)),
                samples_per_second=float(data.get("samples_per_second", 0.0)),
                mode=str(data.get("mode", "prequential")),
                extra=dict(data.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise LearnerInputError(
                f"not an evaluation run: {type(exc).__name__}: {exc}",
                hint="pass a run file written by 'cdal evaluate --out RUN.json'",
            ) from None
        if len(result.positions) != len(result.windowed):
            raise LearnerInputError(
                "not an evaluation run: positions and windowed values differ in length",
                hint="pass a run file written by 'cdal evaluate --out RUN.json'",
            )
        return result

    def accuracy_between(self, start: int, stop: int) -> float:
        """Mean windowed score over windows ending in ``(start, stop]``."""
        vals = [v for p, v in zip(self.positions, self.windowed, strict=True) if start < p <= stop]
        return float(np.mean(vals)) if vals else float("nan")


def classification_metrics(
    y_true: NDArray[np.int64], y_pred: NDArray[np.int64]
) -> dict[str, float]:
    """Accuracy, Cohen's kappa and macro F1 from a confusion matrix."""
    n = len(y_true)
    if n == 0:
        return {"accuracy": float("nan"), "kappa": float("nan"), "macro_f1": float("nan")}
    k = int(max(y_true.max(), y_pred.max())) + 1
    cm = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k).astype(np.float64)
    acc = float(np.trace(cm) / n)
    pe = float((cm.sum(axis=0) * cm.sum(axis=1)).sum() / (n * n))
    kappa = (acc - pe) / (1 - pe) if pe < 1 else 0.0
    tp = np.diag(cm)
    prec = tp / np.where(cm.sum(axis=0) > 0, cm.sum(axis=0), 1.0)
    rec = tp / np.where(cm.sum(axis=1) > 0, cm.sum(axis=1), 1.0)
    f1 = 2 * prec * rec / np.where(prec + rec > 0, prec + rec, 1.0)
    present = cm.sum(axis=1) > 0
    return {"accuracy": acc, "kappa": float(kappa), "macro_f1": float(f1[present].mean())}


def _regression_metrics(y: NDArray[np.float64], p: NDArray[np.float64]) -> dict[str, float]:
    err = p - y
    var = float(np.var(y))
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err * err).mean())),
        "r2": float(1 - (err * err).mean() / var) if var > 0 else 0.0,
    }


def prequential(
    model: Classifier | Regressor,
    stream: Stream,
    *,
    batch_size: int = 1,
    window: int = 1000,
    model_name: str | None = None,
) -> EvaluationResult:
    """Test-then-train ``model`` on ``stream`` and measure it.

    Args:
        model: a :class:`Classifier` (integer labels) or :class:`Regressor`.
        stream: the labelled stream.
        batch_size: examples per predict/learn step (1 = one at a time).
        window: width of the windowed metric (accuracy, or MAE for regression).
    """
    if window < 1:
        raise LearnerInputError("window must be at least 1", hint="e.g. --window 1000")
    n = len(stream)
    is_clf = isinstance(model, Classifier)
    if not is_clf and not isinstance(model, Regressor):
        raise LearnerInputError("model must be a classifier or regressor", hint="see cdal models")
    preds: list[NDArray[Any]] = []
    start = time.perf_counter()
    for X, y in stream.batches(batch_size):
        preds.append(model.predict_many(X))
        model.learn_many(X, y)
    seconds = time.perf_counter() - start
    p = np.concatenate(preds) if preds else np.zeros(0)
    if is_clf:
        y_true = np.asarray(stream.y, dtype=np.int64)
        y_pred = p.astype(np.int64)
        metrics = classification_metrics(y_true, y_pred)
        scores = (y_pred == y_true).astype(np.float64)
    else:
        y_f = np.asarray(stream.y, dtype=np.float64)
        metrics = _regression_metrics(y_f, p.astype(np.float64))
        scores = np.abs(p - y_f)
    ends = list(range(window, n + 1, window))
    if not ends or ends[-1] != n:
        ends.append(n)
    windowed = [float(scores[max(0, e - window) : e].mean()) for e in ends if e > 0]
    detected = list(getattr(model, "drift_points", []))
    return EvaluationResult(
        model=model_name or repr(model),
        stream=stream.name,
        n_samples=n,
        metrics=metrics,
        window=window,
        positions=[e for e in ends if e > 0],
        windowed=windowed,
        drift_points=list(stream.drift_points),
        detected_drifts=[int(d) for d in detected],
        seconds=seconds,
        samples_per_second=n / seconds if seconds > 0 else float("inf"),
        extra={"batch_size": batch_size, "task": "classification" if is_clf else "regression"},
    )


def holdout(
    model: Classifier | Regressor, train: Stream, test: Stream, *, batch_size: int = 256
) -> EvaluationResult:
    """Train on all of ``train`` (in batches), then score once on ``test``."""
    start = time.perf_counter()
    for X, y in train.batches(batch_size):
        model.learn_many(X, y)
    seconds = time.perf_counter() - start
    pred = model.predict_many(test.X)
    if isinstance(model, Classifier):
        metrics = classification_metrics(np.asarray(test.y, dtype=np.int64), pred.astype(np.int64))
    else:
        metrics = _regression_metrics(np.asarray(test.y, dtype=np.float64), pred.astype(np.float64))
    return EvaluationResult(
        model=repr(model),
        stream=f"{train.name} | holdout {test.name}",
        n_samples=len(train),
        metrics=metrics,
        seconds=seconds,
        samples_per_second=len(train) / seconds if seconds > 0 else float("inf"),
        mode="holdout",
    )
