"""Keeping a tree's splits and emptying its leaves: the forest's reaction to an ensemble-level change."""

from __future__ import annotations

import numpy as np

from cross_domain_auto_learner import (
    AdaptiveRandomForest,
    HoeffdingTree,
    agrawal,
    concept_drift,
    prequential,
)


def test_forget_leaves_keeps_splits_and_empties_leaves() -> None:
    """Inner nodes survive; every leaf's counts and Gaussians are back to empty."""
    s = agrawal(4000, function=1, seed=1)
    tree = HoeffdingTree(grace_period=50, delta=0.01)
    for i in range(0, 4000, 50):
        tree.learn_many(s.X[i : i + 50], s.y[i : i + 50])
    trained = float((tree.predict_many(s.X) == s.y).mean())
    inner = tree.left[: tree.n_nodes] >= 0
    assert inner.any()
    before = (tree.feature.copy(), tree.threshold.copy(), tree.n_nodes)
    tree.forget_leaves()
    assert np.array_equal(tree.feature, before[0])
    assert np.array_equal(tree.threshold, before[1])
    assert tree.n_nodes == before[2]
    leaves = np.flatnonzero(~inner)
    assert float(np.abs(tree.dist[leaves]).sum()) == 0.0
    assert float(tree.sc[leaves].sum()) == 0.0
    assert np.isinf(tree.vmin[leaves]).all()
    # an emptied tree predicts uniformly, then relearns from the next batch
    assert np.allclose(tree.predict_proba_many(s.X[:5]), 0.5)
    for i in range(0, 1000, 50):
        tree.learn_many(s.X[i : i + 50], s.y[i : i + 50])
    assert trained > 0.7
    assert float((tree.predict_many(s.X) == s.y).mean()) > trained - 0.05


def test_forest_refresh_after_agrawal_change() -> None:
    """Agrawal 1 -> 2 at 4k, batch 32: the change is detected within 300 examples, none
    before it, and the refreshed forest is back above 85% over the next 2k examples
    (the comparison with members left to their own detectors is in docs/BENCHMARKS.md)."""
    s = concept_drift(
        agrawal(8000, function=1, seed=1), agrawal(8000, function=2, seed=2), position=4000
    )
    forest = AdaptiveRandomForest(seed=3)
    res = prequential(forest, s, batch_size=32, window=500)
    assert forest.refresh_on_ensemble_drift
    assert forest.drift_points
    assert all(d >= 4000 for d in forest.drift_points)
    assert forest.drift_points[0] - 4000 <= 300
    assert res.accuracy_between(4000, 6000) > 0.85


def test_old_model_files_keep_the_old_behaviour() -> None:
    """A forest pickled before the option existed has no attribute: the class default is off."""
    forest = AdaptiveRandomForest(seed=1)
    del forest.__dict__["refresh_on_ensemble_drift"]
    assert forest.refresh_on_ensemble_drift is False
