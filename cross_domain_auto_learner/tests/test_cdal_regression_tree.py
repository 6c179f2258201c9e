"""The Hoeffding regression tree: MAE against river's HoeffdingTreeRegressor on the same seeded stream."""

from __future__ import annotations

import numpy as np
import pytest

from cross_domain_auto_learner import (
    DriftAdaptiveRegressor,
    HoeffdingTreeRegressor,
    LearnerInputError,
    LinearRegression,
    Stream,
    dumps_model,
    friedman,
    loads_model,
    make_model,
    prequential,
    synthetic_stream,
)


def _river_mae(stream: Stream, leaf_prediction: str) -> float:
    river_tree = pytest.importorskip("river.tree")
    model = river_tree.HoeffdingTreeRegressor(leaf_prediction=leaf_prediction)
    err = 0.0
    for row, y in zip(stream.X.tolist(), stream.y.tolist(), strict=True):
        x = dict(zip(stream.feature_names, row, strict=True))
        err += abs(model.predict_one(x) - y)
        model.learn_one(x, y)
    return err / len(stream)


def _mae(model: HoeffdingTreeRegressor, stream: Stream, batch: int) -> float:
    return prequential(model, stream, batch_size=batch).metrics["mae"]


class TestAgainstRiver:
    @pytest.mark.parametrize("mode", ["mean", "adaptive"])
    def test_friedman_mae_within_river_band(self, mode: str) -> None:
        """Friedman #1, 6k: our MAE is at most 3% above river's in batches of 32, 1% one at a time."""
        stream = friedman(6000, seed=1)
        peer = _river_mae(stream, mode)
        assert _mae(HoeffdingTreeRegressor(leaf_prediction=mode), stream, 32) <= 1.03 * peer
        assert _mae(HoeffdingTreeRegressor(leaf_prediction=mode), stream, 1) <= 1.01 * peer

    def test_linear_leaves_beat_mean_leaves_and_a_linear_model(self) -> None:
        """Linear leaves model the linear terms a mean leaf cannot; the tree models the rest."""
        stream = friedman(6000, seed=3)
        mean = _mae(HoeffdingTreeRegressor(leaf_prediction="mean"), stream, 32)
        model = _mae(HoeffdingTreeRegressor(leaf_prediction="model"), stream, 32)
        linear = prequential(LinearRegression(), stream, batch_size=32).metrics["mae"]
        assert model < 0.8 * mean
        assert model < 0.95 * linear


class TestTree:
    def test_grows_and_splits_on_relevant_features(self) -> None:
        """Splits happen, and on the five features Friedman's function uses."""
        tree = HoeffdingTreeRegressor()
        prequential(tree, friedman(8000, seed=4), batch_size=64)
        assert tree.n_leaves >= 8
        inner = tree.feature[: tree.n_nodes][tree.left[: tree.n_nodes] >= 0]
        assert set(inner.tolist()) <= {0, 1, 2, 3, 4}

    def test_before_training_and_warm_up(self) -> None:
        """Untrained: zeros; during the root's warm-up: the running target mean."""
        tree = HoeffdingTreeRegressor(grace_period=100)
        assert tree.predict_many(np.zeros((2, 3))).tolist() == [0.0, 0.0]
        tree.learn_many(np.zeros((10, 3)), np.full(10, 4.0))
        assert tree.predict_one(np.zeros(3)) == pytest.approx(4.0)
        assert tree.n_nodes == 0

    def test_weights_and_bad_input(self) -> None:
        """Zero weights are ignored; wrong shapes and non-finite values are input errors."""
        tree = HoeffdingTreeRegressor(grace_period=10)
        tree.learn_many(np.ones((20, 2)), np.ones(20), w=np.zeros(20))
        assert tree.n_nodes == 0
        with pytest.raises(LearnerInputError):
            tree.learn_many(np.ones((3, 2)), np.ones(2))
        with pytest.raises(LearnerInputError):
            tree.learn_many(np.ones((3, 2)), np.array([1.0, np.nan, 2.0]))
        with pytest.raises(LearnerInputError):
            HoeffdingTreeRegressor(leaf_prediction="median")

    def test_persists_and_clones(self) -> None:
        """A model file round trip predicts the same; a clone is untrained."""
        stream = friedman(3000, seed=5)
        tree = make_model("hoeffding-tree", "regression")
        assert isinstance(tree, HoeffdingTreeRegressor)
        prequential(tree, stream, batch_size=32)
        again, _ = loads_model(dumps_model(tree))
        assert isinstance(again, HoeffdingTreeRegressor)
        np.testing.assert_array_equal(again.predict_many(stream.X), tree.predict_many(stream.X))
        assert tree.clone().n_nodes == 0


class TestDrift:
    @pytest.mark.parametrize(("strategy", "batch"), [("background", 32), ("reset", 64)])
    def test_regrows_after_the_friedman_change(self, strategy: str, batch: int) -> None:
        """Friedman's relevant features move at 10k: detected within 300, no alarm before, and
        once the new tree has had 1k examples (11k..13k) its MAE is well below the tree that
        keeps its old splits."""
        stream = synthetic_stream("friedman-drift", 20000, seed=1)
        adaptive = DriftAdaptiveRegressor(HoeffdingTreeRegressor(), strategy=strategy)
        fixed = HoeffdingTreeRegressor()
        ours = prequential(adaptive, stream, batch_size=batch, window=1000)
        stale = prequential(fixed, stream, batch_size=batch, window=1000)
        assert adaptive.drift_points
        assert 10000 <= adaptive.drift_points[0] <= 10300
        after = slice(11, 13)  # windows covering 11000..13000
        assert np.mean(ours.windowed[after]) < 0.85 * np.mean(stale.windowed[after])

    def test_no_alarm_from_the_first_batch(self) -> None:
        """The first batch has no target spread to scale errors by: it is learned, not monitored."""
        stream = synthetic_stream("friedman-drift", 6000, seed=42)
        adaptive = DriftAdaptiveRegressor(HoeffdingTreeRegressor())
        prequential(adaptive, stream, batch_size=64)
        assert adaptive.drift_points
        assert min(adaptive.drift_points) >= 3000

    def test_bad_strategy(self) -> None:
        """Re-weighting is a classifier strategy; a regressor refuses it."""
        with pytest.raises(LearnerInputError):
            DriftAdaptiveRegressor(HoeffdingTreeRegressor(), strategy="reweight")
