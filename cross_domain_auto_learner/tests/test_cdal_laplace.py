"""The Newton-step (Laplace) logistic regression and how the automatic selector uses it."""

from __future__ import annotations

import numpy as np
import pytest

from cross_domain_auto_learner import (
    AutoSelector,
    LaplaceLogisticRegression,
    LearnerInputError,
    LogisticRegression,
    Stream,
    concept_drift,
    default_portfolio,
    dumps_model,
    loads_model,
    prequential,
    sea,
)


def _acc(model: object, stream: Stream, batch: int) -> float:
    return prequential(model, stream, batch_size=batch).metrics["accuracy"]  # type: ignore[arg-type]


def _coded(n: int, seed: int) -> Stream:
    """Answers coded 0 / 0.5 / 1 where the middle level is the risky one (no single slope fits)."""
    rng = np.random.default_rng(seed)
    X = rng.choice([0.0, 0.5, 1.0], size=(n, 4))
    risky = ((X[:, 0] == 0.5) | (X[:, 1] == 0.5)).astype(int)
    flip = rng.random(n) < 0.03
    return Stream(X, np.where(flip, 1 - risky, risky), ("a", "b", "c", "d"), name="coded")


class TestLaplaceLogistic:
    def test_sea_minibatch_floor(self) -> None:
        """On SEA 20k in batches of 32 it reaches 99%, as the gradient model does."""
        assert _acc(LaplaceLogisticRegression(), sea(20000, seed=2), 32) > 0.99

    def test_level_indicators_fit_what_a_slope_cannot(self) -> None:
        """Coded answers with a non-monotone level: indicators reach ~97%, one slope per column cannot."""
        stream = _coded(4000, seed=1)
        assert _acc(LaplaceLogisticRegression(), stream, 32) > 0.93
        assert _acc(LogisticRegression(), stream, 32) < 0.8
        assert _acc(LaplaceLogisticRegression(max_levels=0), stream, 32) < 0.8

    def test_numeric_column_drops_its_indicators(self) -> None:
        """Indicators appear at the third level; a column with more than max_levels is numeric."""
        rng = np.random.default_rng(3)
        X = np.column_stack([rng.choice([0.0, 0.5, 1.0], 200), rng.normal(size=200)])
        X[:2, 0] = [0.0, 1.0]
        y = (X[:, 0] == 0.5).astype(int)
        model = LaplaceLogisticRegression(max_levels=5)
        model.learn_many(X[:2], y[:2])
        assert model.width == 1 + 2  # two levels each so far: no indicators
        model.learn_many(X[2:], y[2:])
        assert model.width == 1 + 2 + 3  # bias, two inputs, the three levels of column 0
        assert model.W.shape == (1, model.width)
        assert model.H.shape == (1, 6, 6)
        assert float((model.predict_many(X) == y).mean()) > 0.98

    def test_width_and_window_bound_the_expansion(self) -> None:
        """No indicators past max_width, and no new levels after level_window examples."""
        X = np.tile(np.asarray([[0.0, 1.0, 2.0]]).T, (1, 40))
        y = np.asarray([0, 1, 0])
        narrow = LaplaceLogisticRegression(max_width=50)
        narrow.learn_many(X, y)
        assert narrow.width <= 50
        late = LaplaceLogisticRegression(level_window=3)
        late.learn_many(X[:, :2], y)
        assert late.width == 1 + 2 + 6
        late.learn_many(np.asarray([[3.0, 3.0]]), [1])
        assert late.width == 1 + 2 + 6

    def test_wide_input_keeps_a_diagonal_precision(self) -> None:
        """300 columns (wider than max_width): per-weight Newton steps, and it still learns."""
        rng = np.random.default_rng(5)
        X = rng.normal(size=(3000, 300))
        y = (X[:, :5].sum(axis=1) > 0).astype(int)
        model = LaplaceLogisticRegression()
        acc = _acc(model, Stream(X, y, tuple(f"f{i}" for i in range(300))), 32)
        assert model.diagonal
        assert model.H.shape == (1, 301)
        assert acc > 0.75  # 5 informative columns among 300, from scratch

    def test_multiclass_grows(self) -> None:
        """A third class appearing later is learned (binary model mirrored, then one-vs-rest)."""
        rng = np.random.default_rng(0)
        centres = np.asarray([[0, 0], [4, 0], [0, 4]], dtype=float)
        y = rng.integers(0, 3, 3000)
        X = centres[y] + rng.normal(0, 0.5, (3000, 2))
        y[:500] = np.minimum(y[:500], 1)
        model = LaplaceLogisticRegression()
        assert _acc(model, Stream(X, y, ("a", "b")), 16) > 0.9
        assert model.W.shape[0] == 3
        proba = model.predict_proba_many(X[:10])
        assert proba.shape == (10, 3)
        assert np.allclose(proba.sum(axis=1), 1.0)

    def test_forgetting_recovers_after_a_change(self) -> None:
        """SEA threshold 8 -> 9.5: with the default forgetting the last 2k are 97%+ again."""
        stream = concept_drift(sea(10000, seed=1), sea(10000, variant=3, seed=2), position=5000)
        result = prequential(LaplaceLogisticRegression(), stream, batch_size=32, window=1000)
        assert result.accuracy_between(8000, 10000) > 0.97

    def test_bad_parameters_and_inputs(self) -> None:
        """Out-of-range settings and non-finite features are input errors, not tracebacks."""
        for kwargs in ({"prior": 0.0}, {"forget": 0.0}, {"forget": 1.5}, {"max_levels": -1}):
            with pytest.raises(LearnerInputError):
                LaplaceLogisticRegression(**kwargs)  # type: ignore[arg-type]
        with pytest.raises(LearnerInputError):
            LaplaceLogisticRegression().learn_many([[1.0, np.nan]], [1])

    def test_untrained_predicts_uniform(self) -> None:
        proba = LaplaceLogisticRegression().predict_proba_many(np.zeros((3, 2)))
        assert proba.shape == (3, 1)
        assert np.allclose(proba, 1.0)

    def test_model_file_round_trip(self) -> None:
        """Saved and loaded, it predicts exactly as before."""
        stream = _coded(500, seed=2)
        model = LaplaceLogisticRegression()
        model.learn_many(stream.X, stream.y)
        loaded, header = loads_model(dumps_model(model))
        assert header["kind"] == "LaplaceLogisticRegression"
        assert np.array_equal(
            loaded.predict_proba_many(stream.X), model.predict_proba_many(stream.X)
        )


class TestSelectorWithLaplace:
    def test_race_keeps_the_newton_model_on_coded_answers(self) -> None:
        """The default portfolio on coded answers: the Newton-step model survives and serves."""
        selector = AutoSelector(default_portfolio(seed=1))
        result = prequential(selector, _coded(3000, seed=4), batch_size=32)
        assert "logistic-laplace" in selector.history[0]["kept"]
        assert selector.leader.name == "logistic-laplace"
        assert result.metrics["accuracy"] > 0.93

    def test_leader_count_survives_a_halving(self) -> None:
        """The faded correct count is not reset at a halving (unlike the rung scores)."""
        selector = AutoSelector(default_portfolio(seed=1), rung_size=200)
        stream = _coded(260, seed=5)
        prequential(selector, stream, batch_size=20)
        assert len(selector.history) == 1
        assert all(c.seen == 60 for c in selector.live)
        assert all(c.correct_in_race > c.correct for c in selector.live)

    def test_lead_fading_is_validated(self) -> None:
        with pytest.raises(LearnerInputError):
            AutoSelector(lead_fading=0.0)
        assert AutoSelector(lead_fading=0.5).clone().lead_fading == 0.5
