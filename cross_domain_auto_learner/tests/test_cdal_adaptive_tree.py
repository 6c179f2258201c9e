"""Hoeffding Adaptive Tree: accuracy against river's HAT on the same seeded drifting streams."""

from __future__ import annotations

import numpy as np
import pytest

from cross_domain_auto_learner import (
    HoeffdingAdaptiveTree,
    Stream,
    agrawal,
    concept_drift,
    dumps_model,
    loads_model,
    make_model,
    prequential,
    sea,
)


def _agrawal(n: int, seed: int = 1) -> Stream:
    return concept_drift(
        agrawal(n, function=1, seed=seed), agrawal(n, function=2, seed=seed + 1), position=n // 2
    )


def _sea(n: int, seed: int = 1) -> Stream:
    return concept_drift(sea(n, seed=seed), sea(n, variant=1, seed=seed + 1), position=n // 2)


def _river_hits(stream: Stream) -> np.ndarray:
    river_tree = pytest.importorskip("river.tree")
    model = river_tree.HoeffdingAdaptiveTreeClassifier(seed=42)
    hits = np.zeros(len(stream))
    for i, (row, y) in enumerate(zip(stream.X.tolist(), stream.y.tolist(), strict=True)):
        x = dict(zip(stream.feature_names, row, strict=True))
        hits[i] = model.predict_one(x) == y
        model.learn_one(x, y)
    return hits


def _check_structure(tree: HoeffdingAdaptiveTree) -> None:
    """Every stored node is reachable from the root and depths are consistent."""
    size = tree.n_nodes
    seen = {0}
    stack = [0]
    while stack:
        node = stack.pop()
        left, right = int(tree.left[node]), int(tree.right[node])
        assert (left < 0) == (right < 0)
        for child in (left, right):
            if child >= 0:
                assert child < size
                assert child not in seen
                assert tree.depth[child] == tree.depth[node] + 1
                seen.add(child)
                stack.append(child)
    assert seen == set(range(size))
    assert tree.depth_reached >= int(tree.depth[:size].max())


class TestAgainstRiver:
    @pytest.mark.parametrize("make", [_agrawal, _sea], ids=["agrawal", "sea"])
    def test_drifting_stream_accuracy_band(self, make: object) -> None:
        """10k with an abrupt change at 5k: at least river HAT's accuracy (0.5-point band),
        and within 3 points of it in the 2k examples after the change."""
        stream = make(10000)  # type: ignore[operator]
        peer = _river_hits(stream)
        res = prequential(HoeffdingAdaptiveTree(seed=1), stream, batch_size=32)
        assert res.metrics["accuracy"] >= float(peer.mean()) - 0.005
        assert res.accuracy_between(5000, 7000) >= float(peer[5000:7000].mean()) - 0.03


class TestAdaptation:
    def test_change_detected_and_subtree_switched(self) -> None:
        """The root's error rises within 300 examples of the change; an alternate takes over."""
        stream = _agrawal(30000)
        tree = HoeffdingAdaptiveTree(seed=1)
        res = prequential(tree, stream, batch_size=64)
        after = [d for d in tree.drift_points if d >= 15000]
        assert after
        assert after[0] - 15000 <= 300
        assert tree.n_switches >= 1
        _check_structure(tree)
        # the regrown tree learned the new concept: the last 5k are far better than just after
        assert res.accuracy_between(25000, 30000) > res.accuracy_between(15000, 17000) + 0.15

    def test_stationary_stream_keeps_one_tree(self) -> None:
        """Without a change no subtree is replaced (bootstrap weights alone do not trigger it)."""
        tree = HoeffdingAdaptiveTree(seed=2)
        prequential(tree, sea(8000, seed=3), batch_size=32)
        assert tree.n_switches == 0
        _check_structure(tree)

    def test_persists_and_clones(self) -> None:
        """A model file round trip predicts the same; a clone is untrained; the catalog builds it."""
        stream = _sea(6000, seed=4)
        tree = make_model("hat", seed=3)
        assert isinstance(tree, HoeffdingAdaptiveTree)
        prequential(tree, stream, batch_size=32)
        again, _ = loads_model(dumps_model(tree))
        np.testing.assert_array_equal(
            again.predict_proba_many(stream.X), tree.predict_proba_many(stream.X)
        )
        assert tree.clone().n_nodes == 0
