"""Transfer between domains: meta-features, a registry, warm starts and domain adaptation.

A *domain* is one source of labelled data (one site's login events, one
sensor).  :func:`meta_features` summarises a domain's data in a fixed vector
(size, class balance, moments, correlation, and two landmarkers: how well naive
Bayes and a one-feature threshold do), so domains can be compared without
sharing data.  :class:`DomainRegistry` keeps domains with their meta-features,
their best learner's name and hyperparameters, their column names and
optionally a trained model file; a new domain is matched to the most similar
known one (standardised Euclidean distance over meta-features) and starts from
its trained model instead of from nothing (:func:`warm_start_curve` measures
how much that saves against a cold start).

For a labelled source and an unlabelled or scarcely labelled target,
:func:`coral` (Sun, Feng & Saenko 2016) re-colours the source features with
the target's covariance, and :func:`importance_weights` (a domain classifier's
odds ``p(target|x) / p(source|x)``) re-weights source examples toward the
target's distribution; :func:`adaptation_gain` measures both against no
adaptation.
"""

from __future__ import annotations

import copy
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cross_domain_auto_learner._learner import Classifier
from cross_domain_auto_learner._streams import Stream
from cross_domain_auto_learner.errors import LearnerDomainError, LearnerInputError

__all__ = [
    "META_FEATURES",
    "DomainRegistry",
    "adaptation_gain",
    "coral",
    "importance_weights",
    "map_features",
    "meta_features",
    "warm_start_curve",
]

FloatArray = NDArray[np.float64]

META_FEATURES = (
    "log_n",
    "n_features",
    "n_classes",
    "class_entropy",
    "mean_abs_skew",
    "mean_kurtosis",
    "mean_abs_corr",
    "landmark_nb",
    "landmark_stump",
)


def meta_features(X: ArrayLike, y: ArrayLike, *, max_rows: int = 5000) -> dict[str, float]:
    """Summary statistics of a labelled data set, comparable across domains."""
    Xm = np.asarray(X, dtype=np.float64)[:max_rows]
    yv = np.asarray(y)[:max_rows].astype(np.int64)
    if Xm.ndim != 2 or Xm.shape[0] < 10 or Xm.shape[0] != yv.shape[0]:
        raise LearnerInputError(
            "meta-features need at least 10 labelled rows", hint="give the domain more data"
        )
    n, d = Xm.shape
    counts = np.bincount(yv)
    p = counts[counts > 0] / n
    std = Xm.std(axis=0)
    Z = (Xm - Xm.mean(axis=0)) / np.where(std > 0, std, 1.0)
    skew = np.abs((Z**3).mean(axis=0))
    kurt = (Z**4).mean(axis=0) - 3.0
    varying = Z[:, std > 0]  # constant columns (unused one-hot slots) have no correlation
    if varying.shape[1] > 1:
        corr = np.corrcoef(varying, rowvar=False)
        mean_corr = float(np.abs(corr[np.triu_indices(varying.shape[1], 1)]).mean())
    else:
        mean_corr = 0.0
    return {
        "log_n": math.log10(n),
        "n_features": float(d),
        "n_classes": float(len(p)),
        "class_entropy": float(-(p * np.log2(p)).sum()),
        "mean_abs_skew": float(skew.mean()),
        "mean_kurtosis": float(kurt.mean()),
        "mean_abs_corr": mean_corr,
        "landmark_nb": _landmark_nb(Z, yv),
        "landmark_stump": _landmark_stump(Z, yv),
    }


def _landmark_nb(Z: FloatArray, y: NDArray[np.int64]) -> float:
    from cross_domain_auto_learner._bayes import GaussianNB

    half = Z.shape[0] // 2
    nb = GaussianNB()
    nb.learn_many(Z[:half], y[:half])
    return float((nb.predict_many(Z[half:]) == y[half:]).mean())


def _landmark_stump(Z: FloatArray, y: NDArray[np.int64]) -> float:
    """Best single-feature median-threshold accuracy (a decision stump)."""
    best = 0.0
    majority = np.bincount(y).argmax()
    for j in range(Z.shape[1]):
        side = Z[:, j] > np.median(Z[:, j])
        acc = 0.0
        for s in (side, ~side):
            if s.any():
                acc += float((y[s] == np.bincount(y[s]).argmax()).sum())
            else:
                acc += 0.0
        best = max(best, acc / len(y))
    return max(best, float((y == majority).mean()))


def map_features(source: Sequence[str], target: Sequence[str]) -> list[int]:
    """For each source column, the index of the target column that feeds it.

    Columns are matched by name; when no name matches and the widths agree,
    by position.  Anything else cannot be mapped and raises.
    """
    index = {name: i for i, name in enumerate(target)}
    if all(name in index for name in source):
        return [index[name] for name in source]
    if len(source) == len(target):
        return list(range(len(source)))
    missing = [name for name in source if name not in index]
    raise LearnerDomainError(
        f"target lacks source columns {missing[:5]} and the widths differ",
        hint="rename the target's columns to match the source domain",
    )


def coral(
    Xs: ArrayLike, Xt: ArrayLike, *, eps: float = 1e-3, match_mean: bool = True
) -> FloatArray:
    """CORAL: re-colour source features with the target's covariance.

    ``Xs' = (Xs - mean_s) Cs^{-1/2} Ct^{1/2} (+ mean_t)``, with ``eps`` added to
    both covariances' diagonals (after standardising by the source scale) as in
    the paper.  Needs only unlabelled target rows.
    """
    S = np.asarray(Xs, dtype=np.float64)
    T = np.asarray(Xt, dtype=np.float64)
    if S.ndim != 2 or T.ndim != 2 or S.shape[1] != T.shape[1] or min(len(S), len(T)) < 2:
        raise LearnerInputError(
            "CORAL needs two matrices with the same columns and at least 2 rows each",
            hint="map the target's columns onto the source's first",
        )
    scale = S.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    Ss, Ts = S / scale, T / scale
    cs = np.cov(Ss, rowvar=False) + eps * np.eye(S.shape[1])
    ct = np.cov(Ts, rowvar=False) + eps * np.eye(S.shape[1])
    A = _sym_power(cs, -0.5) @ _sym_power(ct, 0.5)
    out = (Ss - Ss.mean(axis=0)) @ A
    out = out + (Ts.mean(axis=0) if match_mean else Ss.mean(axis=0))
    result: FloatArray = out * scale
    return result


def _sym_power(M: FloatArray, power: float) -> FloatArray:
    vals, vecs = np.linalg.eigh(M)
    vals = np.maximum(vals, 1e-12)
    out: FloatArray = (vecs * vals**power) @ vecs.T
    return out


def importance_weights(
    Xs: ArrayLike, Xt: ArrayLike, *, clip: float = 20.0, seed: int = 0
) -> FloatArray:
    """Weights ``p(target|x) / p(source|x) * n_s / n_t`` from a logistic domain classifier.

    The classifier is scikit-learn's logistic regression on standardised
    features plus their squares (so a shift in spread is visible too); weights
    are clipped at ``clip`` and rescaled to mean 1.
    """
    from sklearn.linear_model import LogisticRegression as SkLogistic  # type: ignore[import-untyped]

    S = np.asarray(Xs, dtype=np.float64)
    T = np.asarray(Xt, dtype=np.float64)
    if S.ndim != 2 or T.ndim != 2 or S.shape[1] != T.shape[1] or min(len(S), len(T)) < 2:
        raise LearnerInputError(
            "importance weighting needs two matrices with the same columns",
            hint="map the target's columns onto the source's first",
        )
    both = np.vstack([S, T])
    mu, sd = both.mean(axis=0), both.std(axis=0)
    Z = (both - mu) / np.where(sd > 0, sd, 1.0)
    F = np.hstack([Z, Z * Z])
    label = np.r_[np.zeros(len(S)), np.ones(len(T))]
    clf = SkLogistic(C=1.0, max_iter=1000, random_state=seed).fit(F, label)
    p = clf.predict_proba(F[: len(S)])[:, 1]
    w = p / np.maximum(1.0 - p, 1e-9) * (len(S) / len(T))
    w = np.minimum(w, clip)
    out: FloatArray = w / w.mean()
    return out


def adaptation_gain(
    source: Stream,
    target_unlabelled: FloatArray,
    target_test: Stream,
    *,
    make_model: Callable[[], Any] | None = None,
) -> dict[str, float]:
    """Target accuracy of a model trained on the source with no adaptation, CORAL and importance weights.

    ``make_model`` builds a fresh scikit-learn-style classifier (``fit`` with
    ``sample_weight``); the default is scikit-learn's logistic regression.
    """
    from sklearn.linear_model import LogisticRegression as SkLogistic
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

    def fresh() -> Any:
        if make_model is not None:
            return make_model()
        return make_pipeline(StandardScaler(), SkLogistic(max_iter=1000))

    def acc(model: Any) -> float:
        return float((model.predict(target_test.X) == target_test.y).mean())

    plain = fresh().fit(source.X, source.y)
    aligned = fresh().fit(coral(source.X, target_unlabelled), source.y)
    weights = importance_weights(source.X, target_unlabelled)
    weighted = fresh()
    last = weighted.steps[-1][0] if hasattr(weighted, "steps") else None
    fit_kw = {f"{last}__sample_weight": weights} if last else {"sample_weight": weights}
    weighted.fit(source.X, source.y, **fit_kw)
    out = {"none": acc(plain), "coral": acc(aligned), "importance": acc(weighted)}
    out["coral_gain"] = out["coral"] - out["none"]
    out["importance_gain"] = out["importance"] - out["none"]
    return out


def warm_start_curve(
    source_model: Classifier,
    make_cold: Callable[[], Classifier],
    target_train: Stream,
    target_test: Stream,
    *,
    checkpoints: Sequence[int],
    batch_size: int = 32,
) -> dict[str, Any]:
    """Accuracy on ``target_test`` after each checkpoint of labelled target examples, warm vs cold.

    The warm learner is a deep copy of ``source_model`` (trained on the source
    domain) that keeps learning on the target; the cold one starts from
    nothing.  Reports both curves, the cold start's final accuracy, and the
    fewest target examples with which the warm start reached it.
    """
    warm = copy.deepcopy(source_model)
    warm.rebaseline()
    cold = make_cold()
    warm_curve: list[float] = []
    cold_curve: list[float] = []
    done = 0
    for point in sorted(checkpoints):
        if point > done:
            for lo in range(done, min(point, len(target_train)), batch_size):
                hi = min(lo + batch_size, point)
                warm.learn_many(target_train.X[lo:hi], target_train.y[lo:hi])
                cold.learn_many(target_train.X[lo:hi], target_train.y[lo:hi])
            done = point
        warm_curve.append(float((warm.predict_many(target_test.X) == target_test.y).mean()))
        cold_curve.append(float((cold.predict_many(target_test.X) == target_test.y).mean()))
    target = cold_curve[-1]
    reached = next(
        (p for p, a in zip(sorted(checkpoints), warm_curve, strict=True) if a >= target), None
    )
    return {
        "checkpoints": sorted(checkpoints),
        "warm": warm_curve,
        "cold": cold_curve,
        "cold_final": target,
        "warm_examples_to_cold_final": reached,
        "fraction_of_cold_examples": None if reached is None else reached / max(checkpoints),
    }


class DomainRegistry:
    """Known domains in one JSON file: meta-features, columns, learner and model file.

    Writes are atomic (temporary file + rename), so a failed update never
    leaves a half-written registry.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.domains: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LearnerDomainError(
                f"cannot read domain registry {self.path}: {exc}",
                hint="restore the file or point --registry elsewhere",
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("domains"), dict):
            raise LearnerDomainError(
                f"{self.path} is not a domain registry", hint="point --registry at a registry file"
            )
        for name, entry in data["domains"].items():
            if not _valid_entry(entry):
                raise LearnerDomainError(
                    f"{self.path}: domain {str(name)[:40]!r} is malformed",
                    hint="remove the entry or re-add the domain with 'cdal domains add'",
                )
        self.domains = data["domains"]

    def save(self) -> None:
        """Write the registry atomically."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"version": 1, "domains": self.domains}, handle, indent=2, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError as exc:
            raise LearnerDomainError(
                f"cannot write domain registry {self.path}: {exc.strerror}",
                hint="check the directory is writable",
            ) from None

    def add(
        self,
        name: str,
        stream: Stream,
        *,
        learner: str = "auto",
        hyperparameters: Mapping[str, Any] | None = None,
        model_file: str | None = None,
    ) -> dict[str, Any]:
        """Register (or replace) a domain from its labelled data."""
        if not name or any(c.isspace() for c in name):
            raise LearnerInputError(
                "a domain name must be non-empty without spaces", hint="e.g. site-a"
            )
        entry = {
            "meta": meta_features(stream.X, stream.y),
            "features": list(stream.feature_names),
            "learner": learner,
            "hyperparameters": dict(hyperparameters or {}),
            "model_file": model_file,
            "n_samples": len(stream),
            "added": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.domains[name] = entry
        self.save()
        return entry

    def nearest(
        self, meta: Mapping[str, float], *, exclude: Sequence[str] = ()
    ) -> tuple[str, float]:
        """The known domain closest in meta-feature space, and its distance."""
        names = [n for n in self.domains if n not in exclude]
        if not names:
            raise LearnerDomainError(
                "no known domain to transfer from", hint="add one with 'cdal domains add'"
            )
        rows = np.asarray([[self.domains[n]["meta"][k] for k in META_FEATURES] for n in names])
        query = np.asarray([meta[k] for k in META_FEATURES])
        allrows = np.vstack([rows, query])
        scale = allrows.std(axis=0)
        scale = np.where(scale > 1e-9, scale, 1.0)
        dist = np.sqrt((((rows - query) / scale) ** 2).sum(axis=1))
        best = int(np.argmin(dist))
        return names[best], float(dist[best])


def _valid_entry(entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    meta = entry.get("meta")
    if not isinstance(meta, dict):
        return False
    if not all(
        isinstance(meta.get(k), int | float) and not isinstance(meta.get(k), bool)
        for k in META_FEATURES
    ):
        return False
    model_file = entry.get("model_file")
    return (
        isinstance(entry.get("features"), list)
        and isinstance(entry.get("learner"), str)
        and isinstance(entry.get("n_samples"), int)
        and (model_file is None or isinstance(model_file, str))
    )
