"""Seasonal AR forecaster: batch and one-at-a-time agree, and it forecasts as well as river's models."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cross_domain_auto_learner import ARForecaster, LearnerInputError


def _seasonal(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 10 + 0.01 * t + 3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.5, n)


class TestForecaster:
    def test_batches_equal_one_at_a_time(self) -> None:
        """Learning in random chunks gives the same coefficients and forecasts as value by value."""
        y = _seasonal(600)
        one, many = ARForecaster(p=3, seasonality=12), ARForecaster(p=3, seasonality=12)
        for v in y:
            one.learn_one(float(v))
        rng = np.random.default_rng(0)
        pos = 0
        while pos < y.size:
            size = int(rng.integers(1, 50))
            many.learn_many(y[pos : pos + size])
            pos += size
        np.testing.assert_allclose(many.forecast(12), one.forecast(12), rtol=1e-8)

    def test_beats_river_on_a_seasonal_series(self) -> None:
        """Trend + season + noise (sd 0.5): 12-step MAE below river's Holt-Winters and SNARIMAX."""
        ts = pytest.importorskip("river.time_series")
        from river import linear_model, optim, preprocessing

        y = _seasonal(1212)
        train, test = y[:1200], y[1200:]
        ours = ARForecaster(p=3, seasonality=12)
        ours.learn_many(train)
        hw = ts.HoltWinters(alpha=0.3, beta=0.1, gamma=0.6, seasonality=12)
        sn = ts.SNARIMAX(
            p=3,
            d=0,
            q=0,
            m=12,
            sp=1,
            regressor=preprocessing.StandardScaler()
            | linear_model.LinearRegression(optimizer=optim.SGD(0.01)),
        )
        for v in train.tolist():
            hw.learn_one(v)
            sn.learn_one(v)
        mae = float(np.abs(ours.forecast(12) - test).mean())
        assert mae < 0.7  # the noise alone costs ~0.4
        assert mae <= float(np.abs(np.asarray(hw.forecast(12)) - test).mean())
        assert mae <= float(np.abs(np.asarray(sn.forecast(12)) - test).mean())

    def test_follows_a_level_shift(self) -> None:
        """The series jumps by 20: with forgetting, one-step errors settle back near the noise."""
        y = _seasonal(3000, seed=2)
        y[1500:] += 20.0
        model = ARForecaster(p=2, seasonality=12, forgetting=0.99)
        errors = []
        for v in y.tolist():
            errors.append(abs(float(model.forecast(1)[0]) - v))
            model.learn_one(v)
        errors_arr = np.asarray(errors)
        assert errors_arr[1500] > 5.0
        assert errors_arr[2000:2500].mean() < 0.8

    def test_differencing_tracks_a_random_walk(self) -> None:
        """A random walk with drift: the differenced model forecasts the drift."""
        rng = np.random.default_rng(3)
        y = np.cumsum(0.5 + rng.normal(0, 0.1, 2000))
        model = ARForecaster(p=1, differencing=1)
        model.learn_many(y[:1990])
        assert np.abs(model.forecast(10) - y[1990:]).mean() < 1.0

    def test_before_history_and_bad_input(self) -> None:
        """Untrained: zeros; short history: the last value; bad parameters and values: input errors."""
        model = ARForecaster(p=2, seasonality=12)
        assert model.forecast(3).tolist() == [0.0, 0.0, 0.0]
        model.learn_many([1.0, 2.0, 3.0])
        assert model.forecast(2).tolist() == [3.0, 3.0]
        with pytest.raises(LearnerInputError):
            model.learn_one(float("nan"))
        with pytest.raises(LearnerInputError):
            model.forecast(0)
        with pytest.raises(LearnerInputError):
            ARForecaster(differencing=2)
        assert model.clone().n_seen == 0

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=40))
    def test_arbitrary_values_never_crash(self, values: list[float]) -> None:
        """Any list of floats is learned or refused with the package's own error."""
        model = ARForecaster(p=2, seasonality=3)
        try:
            model.learn_many(values)
        except LearnerInputError:
            return
        assert np.all(np.isfinite(model.forecast(4)))
