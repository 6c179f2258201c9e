"""Online learners reach accuracy floors on seeded streams, one example or a batch at a time."""

from __future__ import annotations

import numpy as np
import pytest

from cross_domain_auto_learner import (
    AdaptiveRandomForest,
    DriftAdaptive,
    GaussianNB,
    HoeffdingTree,
    KNNClassifier,
    KNNRegressor,
    LearnerInputError,
    LinearRegression,
    LogisticRegression,
    Stream,
    agrawal,
    concept_drift,
    prequential,
    sea,
)


def _acc(model: object, stream: Stream, batch: int) -> float:
    return prequential(model, stream, batch_size=batch).metrics["accuracy"]  # type: ignore[arg-type]


class TestLogistic:
    @pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "adam"])
    def test_sea_one_at_a_time(self, optimizer: str) -> None:
        """Every optimiser learns SEA online to 95%+."""
        lr = {"sgd": 0.5, "adagrad": 0.5, "adam": 0.05}[optimizer]
        assert _acc(LogisticRegression(optimizer, lr=lr), sea(3000, seed=1), 1) > 0.95

    def test_sea_minibatch_floor(self) -> None:
        """The mini-batch path reaches 99% on SEA 20k."""
        assert _acc(LogisticRegression(), sea(20000, seed=2), 32) > 0.99

    def test_batch_of_one_equals_learn_one(self) -> None:
        """learn_one and a one-row learn_many give identical weights."""
        s = sea(200, seed=3)
        a, b = LogisticRegression(), LogisticRegression()
        for x, y in zip(s.X, s.y, strict=True):
            a.learn_one(x, int(y))
            b.learn_many(x[None, :], np.asarray([y]))
        assert np.allclose(a.W, b.W)

    def test_multiclass_grows(self) -> None:
        """A third class appearing later is learned."""
        rng = np.random.default_rng(0)
        centres = np.asarray([[0, 0], [4, 0], [0, 4]], dtype=float)
        y = rng.integers(0, 3, 3000)
        X = centres[y] + rng.normal(0, 0.5, (3000, 2))
        y[:500] = np.minimum(y[:500], 1)
        assert _acc(LogisticRegression(), Stream(X, y, ("a", "b")), 16) > 0.9

    def test_width_mismatch(self) -> None:
        """Rows of another width are an input error."""
        m = LogisticRegression()
        m.learn_many(np.zeros((2, 3)), np.asarray([0, 1]))
        with pytest.raises(LearnerInputError, match="expected 3 features"):
            m.predict_many(np.zeros((1, 4)))


class TestOthers:
    def test_gaussian_nb_matches_sklearn(self) -> None:
        """Online Gaussian NB equals scikit-learn's batch fit on the same data."""
        from sklearn.naive_bayes import GaussianNB as SkNB

        s = sea(3000, noise=0.1, seed=4)
        ours = GaussianNB()
        for X, y in s.batches(100):
            ours.learn_many(X, y)
        theirs = SkNB(var_smoothing=1e-9).fit(s.X, s.y)
        assert np.allclose(ours.mean, theirs.theta_)
        assert (ours.predict_many(s.X) == theirs.predict(s.X)).mean() > 0.99

    def test_hoeffding_tree_agrawal(self) -> None:
        """A Hoeffding tree learns Agrawal function 2 (98%+ once grown) and stays small."""
        tree = HoeffdingTree(grace_period=100, delta=1e-5)
        acc = _acc(tree, agrawal(20000, function=2, seed=1), 64)
        late = prequential(tree, agrawal(5000, function=2, seed=7), batch_size=64)
        assert late.metrics["accuracy"] > 0.98
        assert acc > 0.88
        assert 3 <= tree.n_nodes < 200

    def test_hoeffding_tree_one_at_a_time(self) -> None:
        """The one-example path learns too."""
        assert (
            _acc(HoeffdingTree(grace_period=50, delta=1e-5), agrawal(3000, function=0, seed=2), 1)
            > 0.85
        )

    def test_learning_after_prediction_reuses_routing_exactly(self) -> None:
        """Predict-then-learn (the prequential pattern) ends in the same tree as learning alone."""
        stream = agrawal(4000, function=2, seed=5)
        plain, prequential_tree = HoeffdingTree(grace_period=50), HoeffdingTree(grace_period=50)
        for X, y in stream.batches(64):
            plain.learn_many(X, y)
            prequential_tree.predict_many(X)
            prequential_tree.learn_many(X, y)
        assert plain.n_nodes == prequential_tree.n_nodes > 3
        for name in ("feature", "threshold", "dist", "mean", "m2", "mc_ok", "nb_ok"):
            np.testing.assert_array_equal(getattr(plain, name), getattr(prequential_tree, name))

    def test_forest_beats_single_tree_and_recovers(self) -> None:
        """ARF on Agrawal with a drift: high accuracy overall and after the change."""
        s = concept_drift(
            agrawal(20000, function=1, seed=1), agrawal(20000, function=2, seed=2), position=10000
        )
        forest = AdaptiveRandomForest(n_models=5, seed=1)
        res = prequential(forest, s, batch_size=64, window=1000)
        assert res.metrics["accuracy"] > 0.88
        assert res.accuracy_between(13000, 20000) > 0.95
        assert forest.n_drifts >= 1

    def test_knn_classifier_and_regressor(self) -> None:
        """k-NN learns SEA and a smooth regression target."""
        assert _acc(KNNClassifier(window_size=500), sea(3000, seed=5), 10) > 0.9
        rng = np.random.default_rng(1)
        X = rng.uniform(-2, 2, (3000, 1))
        y = np.sin(X[:, 0])
        res = prequential(KNNRegressor(), Stream(X, y, ("x",)), batch_size=20)
        assert res.metrics["mae"] < 0.05

    def test_linear_regression(self) -> None:
        """Linear regression recovers a noisy linear target (R^2 > 0.95)."""
        rng = np.random.default_rng(2)
        X = rng.normal(size=(5000, 4)) * [1, 10, 100, 0.1]
        y = X @ np.asarray([2.0, -0.3, 0.01, 5.0]) + 7 + rng.normal(0, 0.1, 5000)
        res = prequential(LinearRegression(lr=0.05), Stream(X, y, tuple("abcd")), batch_size=16)
        assert res.metrics["r2"] > 0.95

    @pytest.mark.parametrize("strategy", ["reset", "background", "reweight"])
    def test_drift_adaptive_recovers(self, strategy: str) -> None:
        """Every reaction beats the plain tree after an abrupt concept swap."""
        s = concept_drift(
            agrawal(16000, function=2, seed=1), agrawal(16000, function=0, seed=2), position=8000
        )
        plain = prequential(
            HoeffdingTree(grace_period=100, delta=1e-5), s, batch_size=32, window=500
        )
        adaptive_model = DriftAdaptive(
            HoeffdingTree(grace_period=100, delta=1e-5), strategy=strategy
        )
        adaptive = prequential(adaptive_model, s, batch_size=32, window=500)
        assert adaptive.accuracy_between(10000, 16000) > plain.accuracy_between(10000, 16000)
        assert any(8000 <= d < 9000 for d in adaptive_model.drift_points)

    def test_clone_is_fresh(self) -> None:
        """clone() keeps hyperparameters and drops state."""
        t = HoeffdingTree(grace_period=77)
        t.learn_many(np.zeros((5, 2)), np.asarray([0, 1, 0, 1, 0]))
        c = t.clone()
        assert c.grace_period == 77
        assert c.n_nodes == 0

    def test_non_integer_labels_rejected(self) -> None:
        """String labels must go through LabelIndex."""
        with pytest.raises(LearnerInputError, match="integer class codes"):
            GaussianNB().learn_many(np.zeros((2, 2)), np.asarray(["a", "b"]))
