"""Synthetic streams with known change points, deterministic under a seed.

A stream here is a finite, fully materialised :class:`Stream`: a feature
matrix, a label vector and the positions where the concept changes.  Making the
whole stream at once with NumPy is what lets a 50k-sample benchmark start in
milliseconds, and knowing the change points is what lets the drift tests check
detection delay and false alarms against the truth.

Generators follow the definitions used across the stream-learning literature
(and by MOA and river): SEA (Street & Kim 2001), Agrawal (Agrawal, Imielinski &
Swami 1993, functions 0-9 with optional perturbation) and a rotating
hyperplane (Hulten et al. 2001), and for regression Friedman #1 (Friedman 1991).  :func:`concept_drift` joins two concepts with
an abrupt (``width=1``) or gradual (sigmoid mixing over ``width`` samples)
change, exactly as MOA's ``ConceptDriftStream`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from cross_domain_auto_learner.errors import LearnerInputError

__all__ = [
    "AGRAWAL_FEATURES",
    "Stream",
    "agrawal",
    "concept_drift",
    "friedman",
    "hyperplane",
    "sea",
    "synthetic_stream",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

AGRAWAL_FEATURES = (
    "salary",
    "commission",
    "age",
    "elevel",
    "car",
    "zipcode",
    "hvalue",
    "hyears",
    "loan",
)

_SEA_THRESHOLDS = (8.0, 9.0, 7.0, 9.5)


@dataclass(frozen=True)
class Stream:
    """A labelled stream, materialised: rows arrive in order ``0..n-1``.

    Attributes:
        X: features, shape ``(n, d)``.
        y: integer class labels (or float targets for regression), shape ``(n,)``.
        feature_names: one name per column of ``X``.
        drift_points: indices where a new concept starts (the centre of a
            gradual change); empty for a stationary stream.
        name: a short description, used in reports.
    """

    X: FloatArray
    y: NDArray[np.generic]
    feature_names: tuple[str, ...]
    drift_points: tuple[int, ...] = field(default=())
    name: str = "stream"

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of distinct labels (``max + 1`` for integer labels)."""
        if self.y.dtype.kind in "iub":
            return int(self.y.max()) + 1 if len(self.y) else 0
        return 0

    def batches(self, size: int) -> list[tuple[FloatArray, NDArray[np.generic]]]:
        """Split into consecutive mini-batches of ``size`` rows (the last may be shorter)."""
        if size < 1:
            raise LearnerInputError(
                "batch size must be at least 1", hint="pass --batch-size 1 or more"
            )
        return [(self.X[i : i + size], self.y[i : i + size]) for i in range(0, len(self), size)]


def _rng(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(seed)


def sea(n: int, *, variant: int = 0, noise: float = 0.0, seed: int | None = None) -> Stream:
    """SEA concepts: three uniform features on ``[0, 10]``, label ``x0 + x1 > theta``.

    Args:
        n: number of samples.
        variant: which threshold (0..3 for 8, 9, 7, 9.5).
        noise: probability of flipping each label.
        seed: makes the stream reproducible.
    """
    _check_n(n)
    if variant not in range(4):
        raise LearnerInputError(f"SEA variant must be 0..3, got {variant}", hint="use 0, 1, 2 or 3")
    _check_prob("noise", noise)
    rng = _rng(seed)
    X = rng.uniform(0.0, 10.0, size=(n, 3))
    y = (X[:, 0] + X[:, 1] > _SEA_THRESHOLDS[variant]).astype(np.int64)
    if noise > 0:
        flip = rng.random(n) < noise
        y[flip] = 1 - y[flip]
    return Stream(X, y, ("x0", "x1", "x2"), name=f"sea(variant={variant})")


def _agrawal_label(function: int, cols: dict[str, FloatArray]) -> IntArray:
    salary, commission, age = cols["salary"], cols["commission"], cols["age"]
    elevel, loan = cols["elevel"], cols["loan"]
    hvalue, hyears = cols["hvalue"], cols["hyears"]
    young, middle = age < 40, (age >= 40) & (age < 60)
    old = age >= 60

    def between(v: FloatArray, lo: float, hi: float) -> NDArray[np.bool_]:
        return (v >= lo) & (v <= hi)

    def by_age(
        a: NDArray[np.bool_], b: NDArray[np.bool_], c: NDArray[np.bool_]
    ) -> NDArray[np.bool_]:
        return np.where(young, a, np.where(middle, b, c))

    e01 = (elevel == 0) | (elevel == 1)
    e123 = (elevel >= 1) & (elevel <= 3)
    e234 = (elevel >= 2) & (elevel <= 4)
    out: NDArray[np.bool_]
    if function == 0:
        out = young | old
    elif function == 1:
        out = by_age(
            between(salary, 50000, 100000),
            between(salary, 75000, 125000),
            between(salary, 25000, 75000),
        )
    elif function == 2:
        out = by_age(e01, e123, e234)
    elif function == 3:
        out = by_age(
            np.where(e01, between(salary, 25000, 75000), between(salary, 50000, 100000)),
            np.where(e123, between(salary, 50000, 100000), between(salary, 75000, 125000)),
            np.where(e234, between(salary, 50000, 100000), between(salary, 25000, 75000)),
        )
    elif function == 4:
        out = by_age(
            np.where(
                between(salary, 50000, 100000),
                between(loan, 100000, 300000),
                between(salary, 200000, 400000),
            ),
            np.where(
                between(salary, 75000, 125000),
                (salary >= 200000) & (loan <= 400000),
                between(salary, 300000, 500000),
            ),
            np.where(
                between(salary, 25000, 75000),
                between(loan, 300000, 500000),
                between(loan, 75000, 300000),
            ),
        )
    elif function == 5:
        total = salary + commission
        out = by_age(
            between(total, 50000, 100000),
            between(total, 75000, 125000),
            between(total, 25000, 75000),
        )
    else:
        income = 2 * (salary + commission) / 3
        if function == 6:
            disposable = income - loan / 5 - 20000
        elif function == 7:
            disposable = income - 5000 * elevel - 20000
        elif function == 8:
            disposable = income - 5000 * elevel - loan / 5 - 10000
        else:
            equity = np.where(hyears >= 20, hvalue * (hyears - 20) / 10, 0.0)
            disposable = income - 5000 * elevel + equity / 5 - 10000
        out = ~(disposable > 1)
    return out.astype(np.int64)


def agrawal(
    n: int,
    *,
    function: int = 0,
    perturbation: float = 0.0,
    balance_classes: bool = False,
    seed: int | None = None,
) -> Stream:
    """Agrawal's loan-applicant generator: nine attributes, ten labelling functions.

    Args:
        n: number of samples.
        function: the labelling function, 0..9.
        perturbation: fraction of each numeric attribute's range added as
            uniform noise (the label is computed before perturbing, as in MOA).
        balance_classes: draw until the classes alternate (rejection sampling).
        seed: makes the stream reproducible.
    """
    _check_n(n)
    if function not in range(10):
        raise LearnerInputError(
            f"Agrawal function must be 0..9, got {function}", hint="use an integer from 0 to 9"
        )
    _check_prob("perturbation", perturbation)
    rng = _rng(seed)
    # oversample when balancing so one draw almost always suffices
    m = n * 4 if balance_classes else n
    while True:
        cols = _agrawal_columns(rng, m)
        y = _agrawal_label(function, cols)
        if not balance_classes:
            break
        pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        half = (n + 1) // 2
        if len(pos) >= half and len(neg) >= half:
            order = np.empty(2 * half, dtype=np.int64)
            order[0::2], order[1::2] = pos[:half], neg[:half]
            order = order[:n]
            cols = {k: v[order] for k, v in cols.items()}
            y = y[order]
            break
        m *= 2
    if perturbation > 0:
        p = perturbation
        cols["salary"] = _perturb(rng, cols["salary"], 20000, 150000, p)
        has = cols["commission"] > 0
        cols["commission"] = np.where(has, _perturb(rng, cols["commission"], 10000, 75000, p), 0.0)
        cols["age"] = np.round(_perturb(rng, cols["age"], 20, 80, p))
        cols["hvalue"] = _perturb(rng, cols["hvalue"], 0, 135000, p, span=900000.0)
        cols["hyears"] = np.round(_perturb(rng, cols["hyears"], 1, 30, p))
        cols["loan"] = _perturb(rng, cols["loan"], 0, 500000, p)
    X = np.column_stack([cols[f] for f in AGRAWAL_FEATURES]).astype(np.float64)
    return Stream(X, y, AGRAWAL_FEATURES, name=f"agrawal(function={function})")


def _agrawal_columns(rng: np.random.Generator, m: int) -> dict[str, FloatArray]:
    salary = 20000 + 130000 * rng.random(m)
    commission = np.where(salary >= 75000, 0.0, 10000 + 75000 * rng.random(m))
    zipcode = rng.integers(0, 9, m).astype(np.float64)
    return {
        "salary": salary,
        "commission": commission,
        "age": rng.integers(20, 81, m).astype(np.float64),
        "elevel": rng.integers(0, 5, m).astype(np.float64),
        "car": rng.integers(1, 21, m).astype(np.float64),
        "zipcode": zipcode,
        "hvalue": (8 - zipcode) * 100000 * (0.5 + rng.random(m)),
        "hyears": rng.integers(1, 31, m).astype(np.float64),
        "loan": 500000 * rng.random(m),
    }


def _perturb(
    rng: np.random.Generator,
    v: FloatArray,
    lo: float,
    hi: float,
    p: float,
    *,
    span: float | None = None,
) -> FloatArray:
    width = (hi - lo) if span is None else span
    return np.clip(v + width * (2 * (rng.random(len(v)) - 0.5)) * p, lo, hi)


def hyperplane(
    n: int,
    *,
    n_features: int = 10,
    n_drift_features: int = 2,
    mag_change: float = 0.0,
    sigma: float = 0.1,
    noise: float = 0.05,
    seed: int | None = None,
) -> Stream:
    """Rotating hyperplane: label ``w . x >= sum(w) / 2``, ``w`` drifting every sample.

    Args:
        n: number of samples.
        n_features: dimension of ``x`` (uniform on ``[0, 1]``).
        n_drift_features: how many weights move.
        mag_change: how far a moving weight steps per sample (0: stationary).
        sigma: probability that a weight's direction of motion reverses.
        noise: probability of flipping each label.
        seed: makes the stream reproducible.
    """
    _check_n(n)
    if n_features < 2 or not 0 <= n_drift_features <= n_features:
        raise LearnerInputError(
            "hyperplane needs n_features >= 2 and 0 <= n_drift_features <= n_features",
            hint="e.g. n_features=10, n_drift_features=2",
        )
    _check_prob("noise", noise)
    _check_prob("sigma", sigma)
    rng = _rng(seed)
    X = rng.random((n, n_features))
    w0 = rng.random(n_features)
    direction = np.ones(n_features)
    # weights over time: a cumulative walk with random reversals per drifting feature
    steps = np.zeros((n, n_features))
    if mag_change > 0 and n_drift_features > 0:
        flips = rng.random((n, n_drift_features)) < sigma
        signs = (
            np.where(np.cumsum(flips, axis=0) % 2 == 1, -1.0, 1.0) * direction[:n_drift_features]
        )
        steps[:, :n_drift_features] = mag_change * signs
    W = w0 + np.cumsum(steps, axis=0) - steps  # weights in force at each sample
    score = np.einsum("ij,ij->i", X, W)
    y = (score >= W.sum(axis=1) / 2).astype(np.int64)
    if noise > 0:
        flip = rng.random(n) < noise
        y[flip] = 1 - y[flip]
    names = tuple(f"x{i}" for i in range(n_features))
    return Stream(X, y, names, name=f"hyperplane(d={n_features}, mag={mag_change})")


def friedman(n: int, *, variant: int = 0, noise: float = 1.0, seed: int | None = None) -> Stream:
    """Friedman #1 regression: ten uniform features, five of them relevant.

    ``y = 10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 + 5 x4 + N(0, noise^2)``.
    ``variant=1`` moves the same function onto other features
    (``x3 x5``, ``x1``, ``x0``, ``x2``), the global change of Ikonomovska et
    al.'s drifting Friedman streams, so a joined stream has a known change
    point for regressors.
    """
    _check_n(n)
    if variant not in (0, 1) or noise < 0:
        raise LearnerInputError(
            f"Friedman variant must be 0 or 1 and noise >= 0, got {variant}, {noise}",
            hint="variant 0 is the classic function",
        )
    rng = _rng(seed)
    X = rng.random((n, 10))
    a, b, c, d, e = (0, 1, 2, 3, 4) if variant == 0 else (3, 5, 1, 0, 2)
    y = (
        10.0 * np.sin(np.pi * X[:, a] * X[:, b])
        + 20.0 * (X[:, c] - 0.5) ** 2
        + 10.0 * X[:, d]
        + 5.0 * X[:, e]
    )
    if noise > 0:
        y = y + rng.normal(0.0, noise, n)
    names = tuple(f"x{i}" for i in range(10))
    return Stream(X, y, names, name=f"friedman(variant={variant})")


def concept_drift(
    before: Stream,
    after: Stream,
    *,
    position: int,
    width: int = 1,
    seed: int | None = None,
) -> Stream:
    """Join two concepts: sample ``t`` comes from ``after`` with probability ``sigmoid(4(t-position)/width)``.

    ``width=1`` is an abrupt change at ``position``.  Both streams must have the
    same length and columns; the result has that length and records
    ``position`` (plus the inner streams' change points) as drift points.
    """
    if len(before) != len(after) or before.X.shape[1] != after.X.shape[1]:
        raise LearnerInputError(
            "concept_drift needs two streams of the same length and width",
            hint="generate both concepts with the same n and generator",
        )
    n = len(before)
    if not 0 < position < n or width < 1:
        raise LearnerInputError(
            f"drift position {position} must lie inside the stream (1..{n - 1}) and width >= 1",
            hint="pick a position between the first and last sample",
        )
    t = np.arange(n, dtype=np.float64)
    if width == 1:
        take_after = t >= position
    else:
        prob = 1.0 / (1.0 + np.exp(-4.0 * (t - position) / width))
        take_after = _rng(seed).random(n) < prob
    X = np.where(take_after[:, None], after.X, before.X)
    y = np.where(take_after, after.y, before.y)
    points = tuple(
        sorted(
            {p for p in before.drift_points if p < position}
            | {position}
            | {p for p in after.drift_points if p > position}
        )
    )
    return Stream(
        X, y, before.feature_names, points, name=f"{before.name}->{after.name}@{position}"
    )


def _check_n(n: int) -> None:
    if n < 1:
        raise LearnerInputError(
            f"a stream needs at least one sample, got n={n}", hint="pass n >= 1"
        )


def _check_prob(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise LearnerInputError(
            f"{name} must lie in [0, 1], got {value}", hint=f"pass {name} between 0 and 1"
        )


def _sea_drift(n: int, seed: int | None, position: int | None = None, width: int = 1) -> Stream:
    pos = n // 2 if position is None else position
    seed0 = 0 if seed is None else seed
    return concept_drift(
        sea(n, variant=0, noise=0.0, seed=seed0),
        sea(n, variant=1, noise=0.0, seed=seed0 + 1),
        position=pos,
        width=width,
        seed=seed0 + 2,
    )


def _agrawal_drift(n: int, seed: int | None, position: int | None = None, width: int = 1) -> Stream:
    pos = n // 2 if position is None else position
    seed0 = 0 if seed is None else seed
    return concept_drift(
        agrawal(n, function=1, seed=seed0),
        agrawal(n, function=2, seed=seed0 + 1),
        position=pos,
        width=width,
        seed=seed0 + 2,
    )


_NAMED: dict[str, Callable[[int, int | None], Stream]] = {
    "sea": lambda n, s: sea(n, seed=s),
    "sea-drift": _sea_drift,
    "sea-gradual": lambda n, s: _sea_drift(n, s, width=max(2, n // 10)),
    "agrawal": lambda n, s: agrawal(n, function=1, seed=s),
    "agrawal-drift": _agrawal_drift,
    "agrawal-gradual": lambda n, s: _agrawal_drift(n, s, width=max(2, n // 10)),
    "agrawal-perturbed": lambda n, s: agrawal(n, function=1, perturbation=0.1, seed=s),
    "sea-shifted": lambda n, s: sea(n, variant=1, noise=0.02, seed=s),
    "hyperplane": lambda n, s: hyperplane(n, seed=s),
    "hyperplane-drift": lambda n, s: hyperplane(n, mag_change=0.001, seed=s),
    "friedman": lambda n, s: friedman(n, seed=s),
    "friedman-drift": lambda n, s: concept_drift(
        friedman(n, seed=s),
        friedman(n, variant=1, seed=None if s is None else s + 1),
        position=n // 2,
    ),
}


def synthetic_stream(name: str, n: int = 10000, seed: int | None = 42) -> Stream:
    """A named built-in stream, as the CLI's ``synthetic:NAME`` spells it.

    Names: ``sea``, ``sea-drift`` (abrupt at n/2), ``sea-gradual``, ``agrawal``,
    ``agrawal-drift`` (function 1 to 2, abrupt at n/2), ``agrawal-gradual``,
    ``agrawal-perturbed`` and ``sea-shifted`` (related domains of ``agrawal`` and ``sea``),
    ``hyperplane`` and ``hyperplane-drift`` (incremental rotation); for
    regression ``friedman`` and ``friedman-drift`` (abrupt at n/2).
    """
    try:
        make = _NAMED[name]
    except KeyError:
        raise LearnerInputError(
            f"unknown synthetic stream {name!r}",
            hint="choose one of " + ", ".join(sorted(_NAMED)),
        ) from None
    return make(n, seed)
