"""A Hoeffding tree (VFDT) stored as arrays, so mini-batches route and learn in NumPy.

Why arrays: a node-object tree costs a Python call per example per level.  Here
the tree is a handful of parallel arrays (feature, threshold, children) and a
batch is routed level by level with fancy indexing; leaf statistics (per class
and feature: weight, mean, sum of squared deviations, min, max) are updated for
all touched leaves at once by sorting the batch on ``(leaf, class)`` and
reducing.  Numeric attributes are modelled by a Gaussian per class, as in
MOA/river's ``GaussianSplitter``: ``n_split_points`` thresholds between the
observed min and max are scored by information gain from the Gaussian CDFs, and
a leaf splits when the best attribute beats the second by more than the
Hoeffding bound (or the bound falls below ``tie_threshold``).

Leaves predict with the adaptive naive Bayes rule (``nba``): each leaf tracks
whether majority class or naive Bayes would have been right more often on the
examples it saw and uses the better one.  ``max_features`` picks a random subset
of attributes per leaf, which is what the random forest needs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cross_domain_auto_learner._bayes import gaussian_log_likelihood, merge_moments
from cross_domain_auto_learner._learner import Classifier, _labels, _weights, as_matrix
from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["HoeffdingTree"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _phi(z: FloatArray) -> FloatArray:
    """Standard normal CDF via the Abramowitz-Stegun erf approximation (|error| < 1.5e-7)."""
    x = np.abs(z) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = 1.0 - poly * np.exp(-x * x)
    out: FloatArray = 0.5 * (1.0 + np.sign(z) * erf)
    return out


def route(
    X: FloatArray,
    *,
    feature: IntArray,
    threshold: FloatArray,
    left: IntArray,
    right: IntArray,
    depth: int,
) -> IntArray:
    """The leaf each row of ``X`` reaches in an array tree, one level per step for the whole batch."""
    node = np.zeros(X.shape[0], dtype=np.int64)
    rows = np.arange(X.shape[0])
    for _ in range(depth):
        lnode = left[node]
        inner = lnode >= 0
        if not inner.any():
            break
        go_left = X[rows, feature[node]] <= threshold[node]
        node = np.where(inner, np.where(go_left, lnode, right[node]), node)
    return node


def _entropy(counts: FloatArray, axis: int) -> FloatArray:
    total = counts.sum(axis=axis, keepdims=True)
    p = counts / np.where(total > 0, total, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    out: FloatArray = h.sum(axis=axis)
    return out


class HoeffdingTree(Classifier):
    """Very Fast Decision Tree for numeric features, vectorised over mini-batches.

    Args:
        grace_period: weight a leaf must see between split attempts.
        delta: confidence of the Hoeffding bound (1 - probability of a wrong split).
        tie_threshold: split anyway when the bound shrinks below this.
        n_split_points: thresholds tried per attribute.
        max_depth: no split below this depth.
        max_nodes: no split once the tree has this many nodes (memory bound).
        leaf_prediction: ``"mc"`` (majority class), ``"nb"`` or ``"nba"`` (adaptive).
        max_features: attributes considered per leaf (``None``: all).
        seed: randomness of the per-leaf attribute subsets.
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
        seed: int | None = None,
    ) -> None:
        if leaf_prediction not in ("mc", "nb", "nba") or grace_period < 1 or not 0 < delta < 1:
            raise LearnerInputError(
                "Hoeffding tree needs leaf_prediction mc/nb/nba, grace_period >= 1, 0 < delta < 1",
                hint="the defaults (nba, 200, 1e-7) are a sound start",
            )
        self.grace_period = grace_period
        self.delta = delta
        self.tie_threshold = tie_threshold
        self.n_split_points = n_split_points
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.leaf_prediction = leaf_prediction
        self.max_features = max_features
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._size = 0
        self.depth_reached = 0
        self._updates = 0
        # (X, updates, n_classes, leaf, mc votes, nb votes) of the last prediction:
        # prequential use predicts a batch and then learns the very same array
        self._routed: (
            tuple[FloatArray, int, int, IntArray, IntArray | None, IntArray | None] | None
        ) = None

    def params(self) -> dict[str, Any]:
        return {
            "grace_period": self.grace_period,
            "delta": self.delta,
            "tie_threshold": self.tie_threshold,
            "n_split_points": self.n_split_points,
            "max_depth": self.max_depth,
            "max_nodes": self.max_nodes,
            "leaf_prediction": self.leaf_prediction,
            "max_features": self.max_features,
            "seed": self.seed,
        }

    # ------------------------------------------------------------------ storage
    def _allocate(self, d: int, k: int, cap: int = 64) -> None:
        self.feature = np.full(cap, -1, dtype=np.int64)
        self.threshold = np.zeros(cap)
        self.left = np.full(cap, -1, dtype=np.int64)
        self.right = np.full(cap, -1, dtype=np.int64)
        self.depth = np.zeros(cap, dtype=np.int64)
        self.dist = np.zeros((cap, k))
        self.sc = np.zeros((cap, k))
        self.mean = np.zeros((cap, k, d))
        self.m2 = np.zeros((cap, k, d))
        self.vmin = np.full((cap, k, d), np.inf)
        self.vmax = np.full((cap, k, d), -np.inf)
        self.since = np.zeros(cap)
        self.mc_ok = np.zeros(cap)
        self.nb_ok = np.zeros(cap)
        self.allowed = np.ones((cap, d), dtype=bool)
        self._size = 1
        self.allowed[0] = self._subset(d)

    def _subset(self, d: int) -> NDArray[np.bool_]:
        mask = np.ones(d, dtype=bool)
        if self.max_features is not None and self.max_features < d:
            mask[:] = False
            mask[self._rng.choice(d, self.max_features, replace=False)] = True
        return mask

    def _grow_capacity(self, need: int) -> None:
        cap = self.feature.shape[0]
        if need <= cap:
            return
        new = max(need, cap * 2)

        def grow(a: NDArray[Any], fill: float) -> NDArray[Any]:
            out = np.full((new, *a.shape[1:]), fill, dtype=a.dtype)
            out[:cap] = a
            return out

        self.feature, self.threshold = grow(self.feature, -1), grow(self.threshold, 0)
        self.left, self.right = grow(self.left, -1), grow(self.right, -1)
        self.depth, self.dist, self.sc = grow(self.depth, 0), grow(self.dist, 0), grow(self.sc, 0)
        self.mean, self.m2 = grow(self.mean, 0), grow(self.m2, 0)
        self.vmin, self.vmax = grow(self.vmin, np.inf), grow(self.vmax, -np.inf)
        self.since, self.mc_ok, self.nb_ok = (
            grow(self.since, 0),
            grow(self.mc_ok, 0),
            grow(self.nb_ok, 0),
        )
        self.allowed = grow(self.allowed, True)

    def _grow_class_axis(self, k: int) -> None:
        old = self.dist.shape[1]
        if k <= old:
            return
        pad = k - old

        def widen(a: FloatArray, fill: float) -> FloatArray:
            shape = list(a.shape)
            shape[1] = pad
            return np.concatenate([a, np.full(shape, fill)], axis=1)

        self.dist, self.sc = widen(self.dist, 0), widen(self.sc, 0)
        self.mean, self.m2 = widen(self.mean, 0), widen(self.m2, 0)
        self.vmin, self.vmax = widen(self.vmin, np.inf), widen(self.vmax, -np.inf)

    @property
    def n_nodes(self) -> int:
        return self._size

    @property
    def n_leaves(self) -> int:
        return int((self.left[: self._size] < 0).sum()) if self._size else 0

    # ------------------------------------------------------------------ routing
    def leaves_of(self, X: FloatArray) -> IntArray:
        """The leaf each row falls into."""
        return route(
            X,
            feature=self.feature,
            threshold=self.threshold,
            left=self.left,
            right=self.right,
            depth=self.depth_reached,
        )

    def forget_leaves(self) -> None:
        """Clear every leaf's statistics and keep the splits.

        Why: after an abrupt change the partition a tree has learned is often
        still the right one to refine (Agrawal's function 1 splits on age at
        40 and 60; function 2 splits on salary *within* those age bands), while
        the class counts and per-class Gaussians in the leaves describe the old
        concept.  Emptied leaves relearn within a grace period and split
        further where the new concept needs it, faster than a tree grown from
        the root.
        """
        if self._size == 0:
            return
        leaves = np.flatnonzero(self.left[: self._size] < 0)
        for arr in (self.dist, self.sc, self.mean, self.m2, self.since, self.mc_ok, self.nb_ok):
            arr[leaves] = 0.0
        self.vmin[leaves] = np.inf
        self.vmax[leaves] = -np.inf
        self._routed = None

    # ------------------------------------------------------------------ learning
    def learn_many(self, X: ArrayLike, y: ArrayLike, w: ArrayLike | None = None) -> None:
        Xm = as_matrix(X)
        self._check_width(Xm)
        yc = _labels(y, Xm.shape[0])
        wt = _weights(w, Xm.shape[0])
        keep = wt > 0
        if not keep.all():
            Xm, yc, wt = Xm[keep], yc[keep], wt[keep]
        if Xm.shape[0] == 0:
            return
        if not np.all(np.isfinite(Xm)):
            raise LearnerInputError("features must be finite numbers", hint="impute NaN/inf first")
        self._grow_classes(yc)
        if self._size == 0:
            self._allocate(self.n_features, self.n_classes)
        self._grow_class_axis(self.n_classes)
        k = self.n_classes
        routed = self._routed
        self._routed = None
        if routed is not None and (
            routed[0] is not Xm or routed[1] != self._updates or routed[2] != k
        ):
            routed = None
        self._updates += 1
        leaf = routed[3] if routed is not None else self.leaves_of(Xm)
        if self.leaf_prediction == "nba":
            if routed is not None and routed[4] is not None and routed[5] is not None:
                mc, nb = routed[4], routed[5]
            else:
                mc, nb = self._leaf_votes(Xm, leaf)
            self.mc_ok += np.bincount(leaf, wt * (mc == yc), minlength=self.mc_ok.shape[0])
            self.nb_ok += np.bincount(leaf, wt * (nb == yc), minlength=self.nb_ok.shape[0])
        key = leaf * k + yc
        order = np.argsort(key, kind="stable")
        ks = key[order]
        starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
        Xs, ws = Xm[order], wt[order]
        gw = np.add.reduceat(ws, starts)
        gsx = np.add.reduceat(Xs * ws[:, None], starts, axis=0)
        gmean = gsx / gw[:, None]
        gsx2 = np.add.reduceat(Xs * Xs * ws[:, None], starts, axis=0)
        gm2 = np.maximum(gsx2 - gw[:, None] * gmean * gmean, 0.0)
        gmin = np.minimum.reduceat(Xs, starts, axis=0)
        gmax = np.maximum.reduceat(Xs, starts, axis=0)
        gl, gc = ks[starts] // k, ks[starts] % k
        n, mean, m2 = merge_moments(
            self.sc[gl, gc], self.mean[gl, gc], self.m2[gl, gc], gw, gmean, gm2
        )
        self.sc[gl, gc], self.mean[gl, gc], self.m2[gl, gc] = n, mean, m2
        self.vmin[gl, gc] = np.minimum(self.vmin[gl, gc], gmin)
        self.vmax[gl, gc] = np.maximum(self.vmax[gl, gc], gmax)
        self.dist[gl, gc] += gw
        touched = np.unique(gl)
        self.since[touched] += np.bincount(gl, gw, minlength=self._size)[touched]
        due = touched[self.since[touched] >= self.grace_period]
        if due.size:
            self.since[due] = 0.0
            self._attempt_splits(due)

    def _attempt_splits(self, nodes: IntArray) -> None:
        """Score every attribute and threshold of all due leaves in one pass, then split the winners."""
        nodes = nodes[self.depth[nodes] < self.max_depth]
        if nodes.size == 0 or self._size + 2 > self.max_nodes:
            return
        c = self.sc[nodes]  # (L, K)
        present = c > 0
        n_present = present.sum(axis=1)
        keep = n_present >= 2
        if not keep.any():
            return
        nodes, c, present, n_present = nodes[keep], c[keep], present[keep], n_present[keep]
        mu = self.mean[nodes]  # (L, K, d)
        sd = np.sqrt(self.m2[nodes] / np.maximum(c - 1.0, 1.0)[:, :, None])
        lo = np.where(present[:, :, None], self.vmin[nodes], np.inf).min(axis=1)  # (L, d)
        hi = np.where(present[:, :, None], self.vmax[nodes], -np.inf).max(axis=1)
        s = self.n_split_points
        frac = np.arange(1, s + 1) / (s + 1.0)
        points = lo[:, :, None] + (hi - lo)[:, :, None] * frac  # (L, d, S)
        safe_sd = np.where(sd > 0, sd, 1.0)[..., None]
        z = (points[:, None, :, :] - mu[..., None]) / safe_sd  # (L, K, d, S)
        cdf = np.where(sd[..., None] > 0, _phi(z), (points[:, None] >= mu[..., None]) * 1.0)
        left = c[:, :, None, None] * cdf
        right = c[:, :, None, None] - left
        total = c.sum(axis=1)  # (L,)
        nl, nr = left.sum(axis=1), right.sum(axis=1)  # (L, d, S)
        after = (nl * _entropy(left, 1) + nr * _entropy(right, 1)) / total[:, None, None]
        merit = _entropy(c, 1)[:, None, None] - after
        merit[~self.allowed[nodes]] = -np.inf
        merit[(hi - lo) <= 0] = -np.inf
        per_feature = merit.max(axis=2)  # (L, d)
        ranked = np.sort(per_feature, axis=1)
        best = ranked[:, -1]
        second = ranked[:, -2] if ranked.shape[1] > 1 else np.zeros_like(best)
        second = np.where(np.isfinite(second), np.maximum(second, 0.0), 0.0)
        r = np.log2(np.maximum(n_present, 2))
        eps = np.sqrt(r * r * math.log(1.0 / self.delta) / (2.0 * total))
        ok = np.isfinite(best) & (best > 0) & ((best - second > eps) | (eps < self.tie_threshold))
        for i in np.flatnonzero(ok).tolist():
            if self._size + 2 > self.max_nodes:
                return
            f = int(np.argmax(per_feature[i]))
            j = int(np.argmax(merit[i, f]))
            self._split(
                int(nodes[i]),
                feature=f,
                threshold=float(points[i, f, j]),
                left_counts=left[i, :, f, j][present[i]],
                right_counts=right[i, :, f, j][present[i]],
                present=present[i],
            )

    def _split(
        self,
        node: int,
        *,
        feature: int,
        threshold: float,
        left_counts: FloatArray,
        right_counts: FloatArray,
        present: NDArray[np.bool_],
    ) -> None:
        self._grow_capacity(self._size + 2)
        d = self.n_features
        for child, counts in ((self._size, left_counts), (self._size + 1, right_counts)):
            self.depth[child] = self.depth[node] + 1
            self.dist[child] = 0.0
            self.dist[child][present] = counts
            self.allowed[child] = self._subset(d)
        self.feature[node], self.threshold[node] = feature, threshold
        self.left[node], self.right[node] = self._size, self._size + 1
        self._size += 2
        self.depth_reached = max(self.depth_reached, int(self.depth[node]) + 1)
        # the parent's statistics are no longer needed
        self.sc[node] = 0.0
        self.mean[node] = 0.0
        self.m2[node] = 0.0

    # ------------------------------------------------------------------ prediction
    def _leaf_votes(self, X: FloatArray, leaf: IntArray) -> tuple[IntArray, IntArray]:
        mc = np.argmax(self.dist[leaf], axis=1)
        ll = gaussian_log_likelihood(X, self.sc[leaf], self.mean[leaf], self.m2[leaf])
        nb = np.where(self.sc[leaf].sum(axis=1) > 0, np.argmax(ll, axis=1), mc)
        return mc, nb

    def predict_proba_many(self, X: ArrayLike) -> FloatArray:
        Xm = as_matrix(X)
        k = max(self.n_classes, 1)
        if self._size == 0:
            return np.full((Xm.shape[0], k), 1.0 / k)
        self._check_width(Xm)
        leaf = self.leaves_of(Xm)
        out, mc, nb = self._proba_and_votes(Xm, leaf)
        self._routed = (Xm, self._updates, self.n_classes, leaf, mc, nb)
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_routed"] = None  # never write the last batch into a model file
        return state

    def _proba_at(self, Xm: FloatArray, leaf: IntArray) -> FloatArray:
        """Class probabilities of rows already routed to ``leaf``."""
        return self._proba_and_votes(Xm, leaf)[0]

    def _proba_and_votes(
        self, Xm: FloatArray, leaf: IntArray
    ) -> tuple[FloatArray, IntArray | None, IntArray | None]:
        """Probabilities, plus the majority-class and naive-Bayes votes when ``nba`` needs them."""
        k = max(self.n_classes, 1)
        dist = self.dist[leaf]
        total = dist.sum(axis=1, keepdims=True)
        mc = np.where(total > 0, dist / np.where(total > 0, total, 1.0), 1.0 / k)
        if self.leaf_prediction == "mc":
            return mc, None, None
        sc = self.sc[leaf]
        raw = gaussian_log_likelihood(Xm, sc, self.mean[leaf], self.m2[leaf])
        has_stats = sc.sum(axis=1) > 0
        use_nb = has_stats.copy()
        mc_vote: IntArray | None = None
        nb_vote: IntArray | None = None
        if self.leaf_prediction == "nba":
            use_nb &= self.nb_ok[leaf] > self.mc_ok[leaf]
            mc_vote = np.argmax(dist, axis=1).astype(np.int64)
            nb_vote = np.where(has_stats, np.argmax(raw, axis=1), mc_vote).astype(np.int64)
        ll = raw - raw.max(axis=1, keepdims=True)
        nb = np.exp(ll)
        nb = nb / nb.sum(axis=1, keepdims=True)
        out: FloatArray = np.where(use_nb[:, None], nb, mc)
        return out, mc_vote, nb_vote
