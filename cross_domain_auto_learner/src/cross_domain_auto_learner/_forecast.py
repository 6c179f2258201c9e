"""Online time-series forecasting: seasonal autoregression fitted by exponentially weighted least squares.

Why this model: a stream of measurements (requests per minute, failed logins
per hour) is mostly level, trend and season plus short memory.  A seasonal
AR model ``y_t = c + sum_i a_i y_{t-i} + sum_j b_j y_{t-j m}`` (after optional
first differencing, the "I" of ARIMA) captures that, and its least-squares fit
has sufficient statistics ``A = sum w x x'`` and ``b = sum w x y`` that a
mini-batch updates with two matrix products.  Old rows are down-weighted by
``forgetting`` per value, so the model follows a drifting series (forgetting
1.0 is the ordinary least-squares fit).  Coefficients are solved lazily (ridge
``l2``) only when a forecast is asked for.

Forecasts more than one step ahead feed predictions back as lags (the
recursive strategy of river's SNARIMAX and of statsmodels' AR).
"""

from __future__ import annotations

import copy
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["ARForecaster"]

FloatArray = NDArray[np.float64]

_MAX_ABS = 1e100


class ARForecaster:
    """Seasonal autoregressive forecaster learning one value or a batch of values at a time.

    Args:
        p: ordinary lags ``y_{t-1} .. y_{t-p}``.
        seasonality: season length ``m`` (0: no seasonal lags).
        sp: seasonal lags ``y_{t-m} .. y_{t-sp m}``.
        differencing: 0 models the values, 1 their first differences.
        forgetting: per-value weight decay of old rows (1.0: none).
        l2: ridge penalty on the coefficients (not the intercept).
    """

    def __init__(
        self,
        p: int = 3,
        *,
        seasonality: int = 0,
        sp: int = 1,
        differencing: int = 0,
        forgetting: float = 0.999,
        l2: float = 1e-3,
    ) -> None:
        if p < 0 or seasonality < 0 or sp < 0 or differencing not in (0, 1):
            raise LearnerInputError(
                "forecaster needs p >= 0, seasonality >= 0, sp >= 0 and differencing 0 or 1",
                hint="e.g. p=3, seasonality=12, sp=1",
            )
        if not 0 < forgetting <= 1 or l2 < 0:
            raise LearnerInputError(
                f"forgetting must lie in (0, 1] and l2 >= 0, got {forgetting}, {l2}",
                hint="0.999 forgets with a half-life of ~700 values",
            )
        self.p = p
        self.seasonality = seasonality
        self.sp = sp if seasonality else 0
        self.differencing = differencing
        self.forgetting = forgetting
        self.l2 = l2
        lags = list(range(1, p + 1)) + [j * seasonality for j in range(1, self.sp + 1)]
        self.lags = np.asarray(sorted(set(lags)), dtype=np.int64)
        self._memory = int(self.lags.max()) if self.lags.size else 0
        k = self.lags.size + 1
        self._A = np.zeros((k, k))
        self._b = np.zeros(k)
        self._history: FloatArray = np.zeros(0)  # the modelled series' last values
        self._last_raw = 0.0  # last raw value (to undo differencing)
        self._coef: FloatArray | None = None
        self.n_seen = 0

    def params(self) -> dict[str, Any]:
        """Constructor arguments, for :meth:`clone` and reports."""
        return {
            "p": self.p,
            "seasonality": self.seasonality,
            "sp": self.sp,
            "differencing": self.differencing,
            "forgetting": self.forgetting,
            "l2": self.l2,
        }

    def clone(self) -> Self:
        """A fresh, untrained forecaster with the same parameters."""
        return type(self)(**copy.deepcopy(self.params()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ learning
    def learn_one(self, y: float) -> None:
        """Add the next value of the series."""
        self.learn_many(np.asarray([y], dtype=np.float64))

    def learn_many(self, ys: ArrayLike) -> None:
        """Add the next values of the series, oldest first."""
        raw = np.asarray(ys, dtype=np.float64).reshape(-1)
        if raw.size == 0:
            return
        if not np.all(np.isfinite(raw)):
            raise LearnerInputError("series values must be finite", hint="impute gaps first")
        if float(np.abs(raw).max()) > _MAX_ABS:
            # squares of such values overflow the least-squares statistics
            raise LearnerInputError(
                f"series values must lie within +-{_MAX_ABS:g}", hint="rescale the series first"
            )
        if self.differencing:
            prev = np.r_[self._last_raw, raw[:-1]]
            series = raw - prev
            if self.n_seen == 0:
                series = series[1:]  # the first value has no difference
        else:
            series = raw
        self._last_raw = float(raw[-1])
        self.n_seen += raw.size
        if series.size == 0:
            return
        full = np.r_[self._history, series]
        start = self._history.size  # rows for the new values
        rows = np.arange(start, full.size)
        usable = rows[rows >= self._memory]
        if usable.size:
            X = np.ones((usable.size, self.lags.size + 1))
            if self.lags.size:
                X[:, 1:] = full[usable[:, None] - self.lags[None, :]]
            t = full[usable]
            # row i (of m) is (m - 1 - i) values old at the end of the batch
            m = series.size
            age = (m - 1) - (usable - start)
            w = self.forgetting**age
            decay = self.forgetting**m
            self._A = decay * self._A + (X * w[:, None]).T @ X
            self._b = decay * self._b + X.T @ (w * t)
            self._coef = None
        keep = max(self._memory, 1)
        self._history = full[-keep:]

    def _coefficients(self) -> FloatArray:
        if self._coef is None:
            k = self._A.shape[0]
            ridge = self.l2 * np.eye(k)
            ridge[0, 0] = 0.0
            system = self._A + ridge + 1e-12 * np.eye(k)
            try:
                coef = np.linalg.solve(system, self._b)
            except np.linalg.LinAlgError:
                coef = np.linalg.lstsq(system, self._b, rcond=None)[0]
            self._coef = np.asarray(coef, dtype=np.float64)
        return self._coef

    # ------------------------------------------------------------------ forecasting
    def forecast(self, horizon: int = 1) -> FloatArray:
        """The next ``horizon`` values (the last value seen, repeated, until enough history)."""
        if horizon < 1:
            raise LearnerInputError(f"horizon must be >= 1, got {horizon}", hint="e.g. 12")
        if self.n_seen == 0:
            return np.zeros(horizon)
        if self._history.size < self._memory or not self._A.any():
            return np.full(horizon, self._last_raw)
        coef = self._coefficients()
        hist = list(self._history.tolist())
        out = np.empty(horizon)
        for h in range(horizon):
            x = np.r_[1.0, [hist[-int(lag)] for lag in self.lags]]
            nxt = float(x @ coef)
            hist.append(nxt)
            out[h] = nxt
        if self.differencing:
            out = self._last_raw + np.cumsum(out)
        return out
