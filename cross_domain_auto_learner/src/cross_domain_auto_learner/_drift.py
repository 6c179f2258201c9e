"""Concept-drift detectors: ADWIN, Page-Hinkley, DDM, EDDM and KSWIN.

Every detector watches a stream of numbers (usually a learner's 0/1 errors, or
a feature) and says, after each value, whether the distribution has changed.
They share one small interface, :class:`DriftDetector`: ``update(x)`` returns
``True`` on the value at which a change is detected, ``update_many(xs)``
returns the offsets within ``xs`` at which changes were detected, and
``warning`` is raised by the detectors that have a warning zone (DDM, EDDM) so a
learner can start growing a background model before the change is confirmed.

References: Bifet & Gavaldà 2007 (ADWIN), Page 1954 / Mouss et al. 2004
(Page-Hinkley), Gama et al. 2004 (DDM), Baena-Garcia et al. 2006 (EDDM),
Raab et al. 2020 (KSWIN).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cross_domain_auto_learner.errors import LearnerInputError

__all__ = [
    "ADWIN",
    "DDM",
    "EDDM",
    "KSWIN",
    "DriftDetector",
    "PageHinkley",
    "detection_report",
    "make_detector",
]


class DriftDetector(ABC):
    """A change detector fed one value at a time."""

    drift_detected: bool = False
    warning: bool = False
    n_detections: int = 0

    @abstractmethod
    def update(self, x: float) -> bool:
        """Add ``x``; return ``True`` when a change is detected at this value."""

    def update_many(self, xs: ArrayLike) -> NDArray[np.int64]:
        """Add every value of ``xs`` in order; return the offsets where a change was detected."""
        hits = [
            i for i, x in enumerate(np.asarray(xs, dtype=np.float64).tolist()) if self.update(x)
        ]
        return np.asarray(hits, dtype=np.int64)

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Constructor arguments, so :meth:`clone` can build a fresh detector."""

    def clone(self) -> DriftDetector:
        """A fresh detector with the same parameters and no memory."""
        return type(self)(**self.params())


class ADWIN(DriftDetector):
    """ADaptive WINdowing: keeps the longest recent window whose mean is homogeneous.

    The window is stored as an exponential histogram (at most ``max_buckets``
    buckets of each power-of-two size), so memory is ``O(log W)``.  Every
    ``clock`` values the window is tested at each bucket boundary; when the
    means of the two parts differ by more than the Hoeffding-style bound
    ``eps_cut`` (which holds with confidence ``delta``), the oldest part is
    dropped and a change is reported.

    Args:
        delta: confidence; smaller means fewer false alarms and later detection.
        clock: test once every ``clock`` values (1 tests after every value).
        max_buckets: buckets kept per size (MOA's ``M``).
        min_window_length: smallest part either side of a cut.
        grace_period: values seen before the first test.
    """

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        if not 0 < delta < 1 or clock < 1 or max_buckets < 2 or min_window_length < 1:
            raise LearnerInputError(
                "ADWIN needs 0 < delta < 1, clock >= 1, max_buckets >= 2, min_window_length >= 1",
                hint="the defaults (0.002, 32, 5, 5) suit error streams",
            )
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.grace_period = grace_period
        self._levels: list[deque[tuple[float, float]]] = [deque()]
        self.width = 0
        self.total = 0.0
        self.variance = 0.0
        self._tick = 0
        self.n_detections = 0
        self.drift_detected = False

    def params(self) -> dict[str, Any]:
        return {
            "delta": self.delta,
            "clock": self.clock,
            "max_buckets": self.max_buckets,
            "min_window_length": self.min_window_length,
            "grace_period": self.grace_period,
        }

    @property
    def estimation(self) -> float:
        """Mean of the current window (0 when empty)."""
        return self.total / self.width if self.width else 0.0

    def update(self, x: float) -> bool:
        self._insert(float(x))
        self._tick += 1
        self.drift_detected = False
        if self._tick % self.clock == 0 and self.width > self.grace_period:
            self.drift_detected = self._detect()
            if self.drift_detected:
                self.n_detections += 1
        return self.drift_detected

    def update_many(self, xs: ArrayLike) -> NDArray[np.int64]:
        """Add values in order; the same result as repeated :meth:`update`, much cheaper.

        Why it can batch: the window is only tested every ``clock`` values, and
        between two tests the exponential histogram's final shape depends only
        on the order of the values inserted (each level merges its two oldest
        buckets whenever it overflows).  So the values up to the next test are
        inserted as one chunk, level by level (:meth:`_insert_chunk`), and the
        running total and variance are merged with Chan's formula.
        """
        values = np.asarray(xs, dtype=np.float64).reshape(-1)
        hits: list[int] = []
        self.drift_detected = False
        pos, n = 0, values.shape[0]
        while pos < n:
            take = min(n - pos, self.clock - self._tick % self.clock)
            chunk = values[pos : pos + take]
            self._add_moments(chunk)
            self._insert_chunk(chunk.tolist())
            self._tick += take
            pos += take
            if self._tick % self.clock == 0 and self.width > self.grace_period:
                if self._detect():
                    self.n_detections += 1
                    self.drift_detected = True
                    hits.append(pos - 1)
                else:
                    self.drift_detected = False
        return np.asarray(hits, dtype=np.int64)

    def _add_moments(self, chunk: NDArray[np.float64]) -> None:
        m = chunk.shape[0]
        width = self.width
        total = float(chunk.sum())
        mean = total / m
        m2 = float(((chunk - mean) ** 2).sum()) if m > 1 else 0.0
        if width:
            d = mean - self.total / width
            self.variance += m2 + d * d * width * m / (width + m)
        else:
            self.variance = m2
        self.width = width + m
        self.total += total

    def _insert_chunk(self, values: list[float]) -> None:
        """Insert ``values`` (oldest first) exactly as one-at-a-time insertion would."""
        cap = self.max_buckets
        incoming: list[tuple[float, float]] = [(x, 0.0) for x in values]
        level = 0
        while incoming:
            if level == len(self._levels):
                self._levels.append(deque())
            buckets = self._levels[level]
            t = len(buckets) + len(incoming)
            if t <= cap:
                buckets.extendleft(incoming)
                return
            merges = (t - cap + 1) // 2
            seq = list(reversed(buckets))
            seq.extend(incoming)
            buckets.clear()
            buckets.extendleft(seq[2 * merges :])
            size = float(1 << level)
            half = size / 2.0
            incoming = [
                (t1 + t2, v1 + v2 + half * (t1 / size - t2 / size) ** 2)
                for (t1, v1), (t2, v2) in zip(
                    seq[0 : 2 * merges : 2], seq[1 : 2 * merges : 2], strict=True
                )
            ]
            level += 1

    def _compress(self) -> None:
        level = 0
        while len(self._levels[level]) > self.max_buckets:
            t1, v1 = self._levels[level].pop()
            t2, v2 = self._levels[level].pop()
            size = float(1 << level)
            diff = t1 / size - t2 / size
            merged = (t1 + t2, v1 + v2 + size * size * diff * diff / (2 * size))
            if level + 1 == len(self._levels):
                self._levels.append(deque())
            self._levels[level + 1].appendleft(merged)
            level += 1

    def _insert(self, x: float) -> None:
        if self.width:
            mean = self.total / self.width
            self.variance += self.width * (x - mean) ** 2 / (self.width + 1)
        self.width += 1
        self.total += x
        self._levels[0].appendleft((x, 0.0))
        if len(self._levels[0]) > self.max_buckets:
            self._compress()

    def _buckets_oldest_first(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        totals: list[float] = []
        counts: list[int] = []
        for level in range(len(self._levels) - 1, -1, -1):
            buckets = self._levels[level]
            totals.extend([total for total, _ in reversed(buckets)])
            counts.append(len(buckets))
        sizes = np.repeat(np.exp2(np.arange(len(self._levels) - 1, -1, -1.0)), counts)
        return sizes, np.asarray(totals)

    def _detect(self) -> bool:
        changed = False
        while self.width > 2 * self.min_window_length:
            sizes, totals = self._buckets_oldest_first()
            n0 = np.cumsum(sizes)[:-1]
            s0 = np.cumsum(totals)[:-1]
            n1 = self.width - n0
            ok = (n0 >= self.min_window_length) & (n1 >= self.min_window_length)
            if not ok.any():
                break
            n0, s0, n1 = n0[ok], s0[ok], n1[ok]
            diff = np.abs(s0 / n0 - (self.total - s0) / n1)
            v = self.variance / self.width
            dd = math.log(2.0 * math.log(self.width) / self.delta)
            m = 1.0 / (n0 - self.min_window_length + 1) + 1.0 / (n1 - self.min_window_length + 1)
            eps = np.sqrt(2.0 * m * v * dd) + 2.0 / 3.0 * dd * m
            if not bool((diff > eps).any()):
                break
            changed = True
            self._drop_oldest()
        return changed

    def _drop_oldest(self) -> None:
        top = len(self._levels) - 1
        while top > 0 and not self._levels[top]:
            top -= 1
        total, var = self._levels[top].pop()
        size = 1 << top
        rest = self.width - size
        if rest > 0:
            u1, u2 = total / size, (self.total - total) / rest
            self.variance -= var + size * rest * (u1 - u2) ** 2 / (size + rest)
            self.variance = max(self.variance, 0.0)
        else:
            self.variance = 0.0
        self.width = rest
        self.total -= total
        while len(self._levels) > 1 and not self._levels[-1]:
            self._levels.pop()


class PageHinkley(DriftDetector):
    """Page-Hinkley test for a change in the mean (both directions by default).

    Args:
        min_instances: values seen before a change can be reported.
        delta: tolerated magnitude of change.
        threshold: the cumulative deviation that signals a change (lambda).
        alpha: forgetting factor of the cumulative sum.
        mode: ``"up"``, ``"down"`` or ``"both"``.
    """

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: str = "both",
    ) -> None:
        if mode not in ("up", "down", "both") or threshold <= 0:
            raise LearnerInputError(
                f"Page-Hinkley needs mode up/down/both and threshold > 0, got {mode!r}, {threshold}",
                hint="the defaults suit error streams",
            )
        self.min_instances = min_instances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.mode = mode
        self.n_detections = 0
        self._reset()

    def params(self) -> dict[str, Any]:
        return {
            "min_instances": self.min_instances,
            "delta": self.delta,
            "threshold": self.threshold,
            "alpha": self.alpha,
            "mode": self.mode,
        }

    def _reset(self) -> None:
        self._n = 0
        self._mean = 0.0
        self._up = 0.0
        self._down = 0.0
        self._min_up = 0.0
        self._max_down = 0.0

    def update(self, x: float) -> bool:
        self._n += 1
        self._mean += (x - self._mean) / self._n
        dev = x - self._mean
        self._up = self.alpha * self._up + dev - self.delta
        self._down = self.alpha * self._down + dev + self.delta
        self._min_up = min(self._min_up, self._up)
        self._max_down = max(self._max_down, self._down)
        up = self._up - self._min_up > self.threshold
        down = self._max_down - self._down > self.threshold
        hit = self._n >= self.min_instances and (
            (up and self.mode != "down") or (down and self.mode != "up")
        )
        self.drift_detected = hit
        if hit:
            self.n_detections += 1
            self._reset()
        return hit


class DDM(DriftDetector):
    """Drift Detection Method for 0/1 error streams, with a warning zone.

    Tracks the error rate ``p`` and its deviation ``s``; warns when
    ``p + s >= p_min + warning_threshold * s_min`` and reports a change at
    ``drift_threshold``.  Resets itself after a change.
    """

    def __init__(
        self,
        warm_start: int = 30,
        warning_threshold: float = 2.0,
        drift_threshold: float = 3.0,
    ) -> None:
        if warning_threshold >= drift_threshold:
            raise LearnerInputError(
                "DDM's warning threshold must be below its drift threshold",
                hint="the defaults are 2 and 3",
            )
        self.warm_start = warm_start
        self.warning_threshold = warning_threshold
        self.drift_threshold = drift_threshold
        self.n_detections = 0
        self._reset()

    def params(self) -> dict[str, Any]:
        return {
            "warm_start": self.warm_start,
            "warning_threshold": self.warning_threshold,
            "drift_threshold": self.drift_threshold,
        }

    def _reset(self) -> None:
        self._n = 0
        self._p = 0.0
        self._p_min = math.inf
        self._s_min = math.inf
        self._ps_min = math.inf
        self.warning = False

    def update(self, x: float) -> bool:
        self._n += 1
        self._p += (x - self._p) / self._n
        s = math.sqrt(self._p * (1 - self._p) / self._n)
        self.drift_detected = False
        self.warning = False
        if self._n < self.warm_start:
            return False
        if self._p + s <= self._ps_min:
            self._p_min, self._s_min, self._ps_min = self._p, s, self._p + s
        level = self._p + s
        if level > self._p_min + self.drift_threshold * self._s_min:
            self.drift_detected = True
            self.n_detections += 1
            self._reset()
        elif level > self._p_min + self.warning_threshold * self._s_min:
            self.warning = True
        return self.drift_detected


class EDDM(DriftDetector):
    """Early Drift Detection Method: watches the *distance* between consecutive errors.

    Why besides DDM: a gradual drift raises the error rate slowly, but it
    shortens the gaps between errors early.  EDDM keeps the running mean
    ``p'`` and standard deviation ``s'`` of those gaps (sample variance) and
    the largest ``p' + 2 s'`` seen; once ``warm_start`` errors have been seen,
    ``(p' + 2 s') / max`` under ``alpha`` is a warning and under ``beta`` a
    change.  Statistics are updated only on errors (``x == 1``).  Resets after
    a change.

    Args:
        warm_start: examples and errors seen before a change can be reported.
        alpha: warning level (ratio to the best gap statistic).
        beta: change level; must not exceed ``alpha``.
    """

    def __init__(self, warm_start: int = 30, alpha: float = 0.95, beta: float = 0.9) -> None:
        if not 0 < beta <= alpha < 1 or warm_start < 1:
            raise LearnerInputError(
                f"EDDM needs 0 < beta <= alpha < 1 and warm_start >= 1, got {alpha}, {beta}",
                hint="the defaults are alpha=0.95, beta=0.9, warm_start=30",
            )
        self.warm_start = warm_start
        self.alpha = alpha
        self.beta = beta
        self.n_detections = 0
        self._reset()

    def params(self) -> dict[str, Any]:
        return {"warm_start": self.warm_start, "alpha": self.alpha, "beta": self.beta}

    def _reset(self) -> None:
        self._n = 0
        self._last_error = 0
        self._n_errors = 0
        self._gap_mean = 0.0
        self._gap_m2 = 0.0
        self._best = -1.0
        self.warning = False

    def update(self, x: float) -> bool:
        if self.drift_detected:
            self._reset()
        self.drift_detected = False
        self._n += 1
        if x != 1:
            return False
        self._n_errors += 1
        gap = float(self._n - self._last_error)
        self._last_error = self._n
        delta = gap - self._gap_mean
        self._gap_mean += delta / self._n_errors
        self._gap_m2 += delta * (gap - self._gap_mean)
        if self._n <= self.warm_start:
            return False
        sd = math.sqrt(self._gap_m2 / (self._n_errors - 1)) if self._n_errors > 1 else 0.0
        level = self._gap_mean + 2.0 * sd
        if level > self._best:
            self._best = level
        elif self._n_errors > self.warm_start:
            ratio = level / self._best
            if ratio < self.beta:
                self.drift_detected = True
                self.n_detections += 1
            else:
                self.warning = ratio < self.alpha
        return self.drift_detected


class KSWIN(DriftDetector):
    """Kolmogorov-Smirnov WINdowing: compares the newest values with a sample of older ones.

    When the window of ``window_size`` values is full, ``stat_size`` values are
    drawn from its older part and compared with the ``stat_size`` newest by a
    two-sample KS test; a p-value under ``alpha`` reports a change and keeps
    only the newest values.  Suited to real-valued features, not 0/1 errors.
    """

    def __init__(
        self,
        alpha: float = 0.005,
        window_size: int = 100,
        stat_size: int = 30,
        seed: int | None = None,
    ) -> None:
        if not 0 < alpha < 1 or stat_size < 2 or window_size < 2 * stat_size:
            raise LearnerInputError(
                "KSWIN needs 0 < alpha < 1, stat_size >= 2 and window_size >= 2 * stat_size",
                hint="the defaults are alpha=0.005, window_size=100, stat_size=30",
            )
        self.alpha = alpha
        self.window_size = window_size
        self.stat_size = stat_size
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._window: deque[float] = deque(maxlen=window_size)
        self.n_detections = 0
        self.p_value = 1.0

    def params(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "window_size": self.window_size,
            "stat_size": self.stat_size,
            "seed": self.seed,
        }

    def update(self, x: float) -> bool:
        self._window.append(float(x))
        self.drift_detected = False
        if len(self._window) < self.window_size:
            return False
        values = np.fromiter(self._window, dtype=np.float64, count=self.window_size)
        recent = values[-self.stat_size :]
        older = self._rng.choice(values[: -self.stat_size], self.stat_size, replace=False)
        stat, p = _ks_two_sample(older, recent)
        self.p_value = p
        if p <= self.alpha and stat > 0.1:
            self.drift_detected = True
            self.n_detections += 1
            self._window = deque(recent.tolist(), maxlen=self.window_size)
        return self.drift_detected


def _ks_two_sample(a: NDArray[np.float64], b: NDArray[np.float64]) -> tuple[float, float]:
    """Two-sample KS statistic and its asymptotic (Kolmogorov) p-value."""
    both = np.concatenate([a, b])
    cdf_a = np.searchsorted(np.sort(a), both, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), both, side="right") / len(b)
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    en = math.sqrt(len(a) * len(b) / (len(a) + len(b)))
    lam = (en + 0.12 + 0.11 / en) * d
    if lam < 1e-3:
        return d, 1.0
    terms = [2 * (-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101)]
    return d, min(1.0, max(0.0, sum(terms)))


_DETECTORS: dict[str, type[DriftDetector]] = {
    "adwin": ADWIN,
    "page-hinkley": PageHinkley,
    "ddm": DDM,
    "eddm": EDDM,
    "kswin": KSWIN,
}


def make_detector(name: str, **params: Any) -> DriftDetector:
    """Build a detector by name (``adwin``, ``page-hinkley``, ``ddm``, ``eddm``, ``kswin``)."""
    try:
        cls = _DETECTORS[name.lower()]
    except KeyError:
        raise LearnerInputError(
            f"unknown drift detector {name!r}", hint="choose one of " + ", ".join(_DETECTORS)
        ) from None
    return cls(**params)


def detection_report(
    detector: DriftDetector, values: Iterable[float], change_points: Iterable[int], *, horizon: int
) -> dict[str, Any]:
    """Run ``detector`` over ``values`` and score it against the true change points.

    The first detection within ``horizon`` values after a change point is a
    true detection (its delay is recorded); further ones inside that horizon
    are repeats (the detector re-cutting while it settles on the new
    concept); any detection outside every horizon is a false alarm.
    """
    hits = detector.update_many(np.fromiter(values, dtype=np.float64)).tolist()
    changes = sorted(change_points)
    delays: list[int | None] = []
    for c in changes:
        found = next((h for h in hits if c <= h < c + horizon), None)
        delays.append(None if found is None else found - c)
    inside = [h for h in hits if any(c <= h < c + horizon for c in changes)]
    return {
        "detections": hits,
        "delays": delays,
        "repeats": len(inside) - sum(d is not None for d in delays),
        "false_alarms": len(hits) - len(inside),
    }
