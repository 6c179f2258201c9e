"""Hoeffding Adaptive Tree (Bifet & Gavaldà 2009) on the array-based Hoeffding tree.

Why: a Hoeffding tree never revises a split, so after a change the stale part
of the tree stays.  HAT watches the error of the examples passing through
every inner node with an ADWIN; when a node's error rises it starts an
*alternate* subtree there, trained on the same examples that reach the node.
Once both have been compared on enough examples (``drift_window_threshold``),
the alternate replaces the node's subtree if its error is significantly lower
(``switch_significance``), or is dropped if it is significantly higher.  Only
the part of the tree that went stale is regrown.

The batch is routed once and every (inner node, row) pair collected level by
level, so each node's ADWIN gets its rows' errors in stream order with one
call.  Alternates are themselves adaptive trees.  A swap grafts the
alternate's arrays into the main tree and compacts away the replaced subtree,
so the tree stays plain arrays and prediction costs what the plain tree
costs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cross_domain_auto_learner._drift import ADWIN
from cross_domain_auto_learner._learner import _labels, _weights, as_matrix
from cross_domain_auto_learner._tree import HoeffdingTree

__all__ = ["HoeffdingAdaptiveTree"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# per-node arrays of HoeffdingTree and the value of an unused slot, for graft and compaction
_NODE_ARRAYS: dict[str, float] = {
    "feature": -1,
    "threshold": 0.0,
    "left": -1,
    "right": -1,
    "depth": 0,
    "dist": 0.0,
    "sc": 0.0,
    "mean": 0.0,
    "m2": 0.0,
    "vmin": np.inf,
    "vmax": -np.inf,
    "since": 0.0,
    "mc_ok": 0.0,
    "nb_ok": 0.0,
    "allowed": True,
}


class HoeffdingAdaptiveTree(HoeffdingTree):
    """A Hoeffding tree that regrows the subtrees whose error rises.

    Args:
        grace_period, delta, tie_threshold, n_split_points, max_depth,
            max_nodes, leaf_prediction, max_features: as :class:`HoeffdingTree`.
        adwin_delta: confidence of the ADWIN at each inner node.
        drift_window_threshold: examples both an alternate and its node must
            have been measured on before they are compared.
        switch_significance: confidence of that comparison.
        bootstrap_sampling: weight each example by a Poisson(1) draw, a draw of
            zero counting as one (MOA's and river's rule).
        seed: randomness of bootstrap weights and attribute subsets.
    """

    def __init__(
        self,
        grace_period: int = 200,
        *,
        delta: float = 1e-7,
        tie_threshold: float = 0.05,
        n_split_points: int = 10,
        max_depth: int = 20,
        max_nodes: int = 4096,
        leaf_prediction: str = "nba",
        max_features: int | None = None,
        adwin_delta: float = 0.002,
        drift_window_threshold: int = 300,
        switch_significance: float = 0.05,
        bootstrap_sampling: bool = True,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            grace_period,
            delta=delta,
            tie_threshold=tie_threshold,
            n_split_points=n_split_points,
            max_depth=max_depth,
            max_nodes=max_nodes,
            leaf_prediction=leaf_prediction,
            max_features=max_features,
            seed=seed,
        )
        self.adwin_delta = adwin_delta
        self.drift_window_threshold = drift_window_threshold
        self.switch_significance = switch_significance
        self.bootstrap_sampling = bootstrap_sampling
        self._node_error: dict[int, ADWIN] = {}
        self._alternates: dict[int, HoeffdingAdaptiveTree] = {}
        self._alt_error: dict[int, ADWIN] = {}
        self.n_alternates = 0
        self.n_switches = 0
        self.n_pruned = 0
        self.drift_points: list[int] = []
        self.n_seen = 0

    def params(self) -> dict[str, Any]:
        out = super().params()
        out.update(
            adwin_delta=self.adwin_delta,
            drift_window_threshold=self.drift_window_threshold,
            switch_significance=self.switch_significance,
            bootstrap_sampling=self.bootstrap_sampling,
        )
        return out

    # ------------------------------------------------------------------ learning
    def learn_many(self, X: ArrayLike, y: ArrayLike, w: ArrayLike | None = None) -> None:
        Xm = as_matrix(X)
        self._check_width(Xm)
        yc = _labels(y, Xm.shape[0])
        wt = _weights(w, Xm.shape[0])
        n = Xm.shape[0]
        if n == 0:
            return
        if self.bootstrap_sampling:
            # MOA's rule (river follows it): a Poisson(1) draw of 0 keeps the weight
            # rather than dropping the example, so the mean weight is ~1.37 and leaves
            # reach their grace period and Hoeffding bound sooner
            wt = wt * np.maximum(self._rng.poisson(1.0, n), 1)
        if self._size and self.depth_reached:
            self._monitor(Xm, yc, wt)
        super().learn_many(Xm, yc, wt)
        self.n_seen += n

    def _monitor(self, X: FloatArray, y: IntArray, w: FloatArray) -> None:
        """Feed every inner node's ADWIN, train and judge its alternate, and switch or prune."""
        nodes, rows, leaf = self._paths(X)
        wrong = (np.argmax(self._proba_at(X, leaf), axis=1) != y).astype(np.float64)
        order = np.argsort(nodes, kind="stable")
        nodes, rows = nodes[order], rows[order]
        starts = np.flatnonzero(np.r_[True, nodes[1:] != nodes[:-1]])
        ends = np.r_[starts[1:], nodes.size]
        switched = False
        replaced: set[int] = set()
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            node = int(nodes[start])
            if node in replaced:
                continue  # inside a subtree an alternate just replaced (parents come first)
            at = rows[start:end]
            errors = wrong[at]
            detector = self._node_error.get(node)
            if detector is None:
                detector = self._node_error[node] = ADWIN(delta=self.adwin_delta)
            before = detector.estimation
            hits = detector.update_many(errors)
            alternate = self._alternates.get(node)
            if hits.size and detector.estimation > before and alternate is None:
                alternate = self._alternates[node] = self._new_alternate()
                self._alt_error[node] = ADWIN(delta=self.adwin_delta)
                self.n_alternates += 1
                self.drift_points.append(self.n_seen + int(at[int(hits[0])]))
            if alternate is None:
                continue
            if alternate.n_classes:
                alt_wrong = (alternate.predict_many(X[at]) != y[at]).astype(np.float64)
                self._alt_error[node].update_many(alt_wrong)
            alternate.learn_many(X[at], y[at], w[at])
            if not switched:
                swapped = self._judge(node)
                if swapped is not None:
                    switched, replaced = True, swapped
        if switched:
            self._compact()
            self._updates += 1  # leaves cached by the last prediction no longer exist

    def _paths(self, X: FloatArray) -> tuple[IntArray, IntArray, IntArray]:
        """Every (inner node, row) pair on the rows' paths, and each row's leaf."""
        node = np.zeros(X.shape[0], dtype=np.int64)
        rows = np.arange(X.shape[0])
        path_nodes: list[IntArray] = []
        path_rows: list[IntArray] = []
        for _ in range(self.depth_reached):
            left = self.left[node]
            inner = left >= 0
            if not inner.any():
                break
            path_nodes.append(node[inner])
            path_rows.append(rows[inner])
            go_left = X[rows, self.feature[node]] <= self.threshold[node]
            node = np.where(inner, np.where(go_left, left, self.right[node]), node)
        if not path_nodes:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), node
        return np.concatenate(path_nodes), np.concatenate(path_rows), node

    def _new_alternate(self) -> HoeffdingAdaptiveTree:
        params = self.params()
        params["seed"] = int(self._rng.integers(2**31))
        params["bootstrap_sampling"] = False  # the parent's weights are already bootstrapped
        return HoeffdingAdaptiveTree(**params)

    def _judge(self, node: int) -> set[int] | None:
        """Compare the node's subtree with its alternate; swap or prune when the gap is significant.

        Returns the nodes of the subtree replaced below ``node`` on a swap, else ``None``.
        """
        main, alt = self._node_error[node], self._alt_error[node]
        if alt.width <= self.drift_window_threshold or main.width <= self.drift_window_threshold:
            return None
        old, new = main.estimation, alt.estimation
        bound = math.sqrt(
            2.0
            * old
            * (1.0 - old)
            * math.log(2.0 / self.switch_significance)
            * (1.0 / alt.width + 1.0 / main.width)
        )
        if bound < old - new:
            alternate = self._alternates.pop(node)
            self._alt_error.pop(node)
            replaced = set(self._subtree(node)) - {node}
            self._graft(node, alternate)
            self.n_switches += 1
            return replaced
        if bound < new - old:
            self._alternates.pop(node)
            self._alt_error.pop(node)
            self.n_pruned += 1
        return None

    def _graft(self, node: int, alternate: HoeffdingAdaptiveTree) -> None:
        """Replace the subtree at ``node`` by ``alternate``: its root becomes ``node``."""
        if alternate._size == 0:
            return
        alternate._grow_class_axis(self.n_classes)
        # forget the monitors of the subtree being replaced
        for old in self._subtree(node):
            self._node_error.pop(old, None)
            self._alternates.pop(old, None)
            self._alt_error.pop(old, None)
        m = alternate._size
        self._grow_capacity(self._size + m - 1)
        # alternate node i lands at node (i == 0) or at self._size + i - 1
        where = np.r_[node, self._size + np.arange(m - 1)].astype(np.int64)
        for name in _NODE_ARRAYS:
            getattr(self, name)[where] = getattr(alternate, name)[:m]
        for side in (self.left, self.right):
            kids = side[where]
            side[where] = np.where(kids >= 0, where[np.maximum(kids, 0)], -1)
        self.depth[where] = alternate.depth[:m] + self.depth[node]
        for i, det in alternate._node_error.items():
            self._node_error[int(where[i])] = det
        for i, alt in alternate._alternates.items():
            self._alternates[int(where[i])] = alt
            self._alt_error[int(where[i])] = alternate._alt_error[i]
        self._size += m - 1
        self.depth_reached = max(self.depth_reached, int(self.depth[: self._size].max()))

    def _subtree(self, node: int) -> list[int]:
        out, stack = [], [node]
        while stack:
            cur = stack.pop()
            out.append(cur)
            if self.left[cur] >= 0:
                stack.extend((int(self.left[cur]), int(self.right[cur])))
        return out

    def _compact(self) -> None:
        """Drop nodes no longer reachable from the root (replaced subtrees)."""
        keep = np.asarray(sorted(self._subtree(0)), dtype=np.int64)
        remap = np.full(self._size, -1, dtype=np.int64)
        remap[keep] = np.arange(keep.size)
        for name in _NODE_ARRAYS:
            arr = getattr(self, name)
            arr[: keep.size] = arr[keep]
        for side in (self.left, self.right):
            kids = side[: keep.size]
            side[: keep.size] = np.where(kids >= 0, remap[np.maximum(kids, 0)], -1)
        self._node_error = {int(remap[k]): v for k, v in self._node_error.items() if remap[k] >= 0}
        self._alternates = {int(remap[k]): v for k, v in self._alternates.items() if remap[k] >= 0}
        self._alt_error = {int(remap[k]): v for k, v in self._alt_error.items() if remap[k] >= 0}
        # freed slots must look unused: a later split fills only part of a child's slot
        for name, fill in _NODE_ARRAYS.items():
            getattr(self, name)[keep.size : self._size] = fill
        self._size = int(keep.size)
        self.depth_reached = int(self.depth[: self._size].max())

    def predict_proba_many(self, X: ArrayLike) -> FloatArray:
        """The main tree's leaf, plus every alternate on the row's path, vote with equal weight.

        Why: an alternate is trained on the new concept while it waits to be
        proven; letting it vote (as MOA and river do) recovers accuracy
        before the switch.
        """
        Xm = as_matrix(X)
        if self._size == 0 or not self._alternates:
            return super().predict_proba_many(Xm)
        self._check_width(Xm)
        nodes, rows, leaf = self._paths(Xm)
        votes = self._proba_at(Xm, leaf)
        for node, alternate in self._alternates.items():
            if not alternate.n_classes:
                continue
            at = rows[nodes == node]
            if at.size:
                proba = alternate.predict_proba_many(Xm[at])
                votes[at, : proba.shape[1]] += proba
        out: FloatArray = votes / votes.sum(axis=1, keepdims=True)
        return out

    def rebaseline(self) -> None:
        self._node_error.clear()
        self._alternates.clear()
        self._alt_error.clear()
