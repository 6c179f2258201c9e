"""A Hoeffding regression tree (FIMT-DD style) stored as arrays, learning in mini-batches.

Why this shape: like :class:`HoeffdingTree`, the tree is parallel arrays, a
batch is routed level by level with fancy indexing, and every leaf's split
statistics are updated for the whole batch at once.  A leaf keeps, for each
attribute, a fixed number of bins over the range the attribute had at its
parent (the root takes its range from its first ``grace_period`` examples);
each bin holds the weight, sum and sum of squares of the target, so every
threshold's variance reduction comes from one cumulative sum over the bins,
for all due leaves and all attributes in one ``(L, d, B)`` array.  Values
outside a leaf's range fall into its end bins.

A leaf splits when the second-best attribute's variance reduction is less
than ``1 - epsilon`` times the best one's (the ratio test of FIMT-DD and
river's ``HoeffdingTreeRegressor``, Hoeffding bound with range 1) or
``epsilon`` falls below ``tie_threshold``.

Leaves predict with the target mean (``"mean"``), a linear model (``"model"``,
trained by normalised least-mean-squares on standardised inputs, inherited by
both children at a split as in FIMT-DD), or ``"adaptive"``: whichever of the
two has the smaller faded absolute error on the examples the leaf saw.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cross_domain_auto_learner._features import OnlineScaler
from cross_domain_auto_learner._learner import Regressor, _weights, as_matrix
from cross_domain_auto_learner._tree import route
from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["HoeffdingTreeRegressor"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_LEAF_MODES = ("mean", "model", "adaptive")


class HoeffdingTreeRegressor(Regressor):
    """Incremental regression tree with variance-reduction splits and linear or mean leaves.

    Args:
        grace_period: weight a leaf must see between split attempts.
        delta: confidence of the Hoeffding bound.
        tie_threshold: split anyway when the bound shrinks below this.
        n_bins: bins per attribute per leaf (candidate thresholds: ``n_bins - 1``).
        min_branch_fraction: smallest share of a leaf's weight either side may get.
        max_depth: no split below this depth.
        max_nodes: no split once the tree has this many nodes (memory bound).
        leaf_prediction: ``"mean"``, ``"model"`` or ``"adaptive"``.
        learning_rate: step of the leaves' normalised LMS updates.
        error_decay: fading factor of the adaptive mode's error estimates.
    """

    def __init__(
        self,
        grace_period: int = 200,
        *,
        delta: float = 1e-7,
        tie_threshold: float = 0.05,
        n_bins: int = 16,
        min_branch_fraction: float = 0.01,
        max_depth: int = 20,
        max_nodes: int = 2048,
        leaf_prediction: str = "adaptive",
        learning_rate: float = 0.05,
        error_decay: float = 0.95,
    ) -> None:
        if (
            leaf_prediction not in _LEAF_MODES
            or grace_period < 1
            or not 0 < delta < 1
            or n_bins < 2
            or not 0 <= min_branch_fraction < 0.5
            or learning_rate <= 0
            or not 0 < error_decay <= 1
        ):
            raise LearnerInputError(
                "regression tree needs leaf_prediction mean/model/adaptive, grace_period >= 1, "
                "0 < delta < 1, n_bins >= 2, 0 <= min_branch_fraction < 0.5, learning_rate > 0, "
                "0 < error_decay <= 1",
                hint="the defaults (adaptive, 200, 1e-7, 16 bins) are a sound start",
            )
        self.grace_period = grace_period
        self.delta = delta
        self.tie_threshold = tie_threshold
        self.n_bins = n_bins
        self.min_branch_fraction = min_branch_fraction
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.leaf_prediction = leaf_prediction
        self.learning_rate = learning_rate
        self.error_decay = error_decay
        self._size = 0
        self.depth_reached = 0
        self._xscale = OnlineScaler()
        self._yscale = OnlineScaler()
        self._warmup: list[tuple[FloatArray, FloatArray, FloatArray]] = []
        self._warm_weight = 0.0

    def params(self) -> dict[str, Any]:
        return {
            "grace_period": self.grace_period,
            "delta": self.delta,
            "tie_threshold": self.tie_threshold,
            "n_bins": self.n_bins,
            "min_branch_fraction": self.min_branch_fraction,
            "max_depth": self.max_depth,
            "max_nodes": self.max_nodes,
            "leaf_prediction": self.leaf_prediction,
            "learning_rate": self.learning_rate,
            "error_decay": self.error_decay,
        }

    # ------------------------------------------------------------------ storage
    def _allocate(self, d: int, lo: FloatArray, hi: FloatArray, cap: int = 64) -> None:
        b = self.n_bins
        self.feature = np.full(cap, -1, dtype=np.int64)
        self.threshold = np.zeros(cap)
        self.left = np.full(cap, -1, dtype=np.int64)
        self.right = np.full(cap, -1, dtype=np.int64)
        self.depth = np.zeros(cap, dtype=np.int64)
        self.lo = np.zeros((cap, d))
        self.hi = np.ones((cap, d))
        self.cnt = np.zeros((cap, d, b))
        self.sy = np.zeros((cap, d, b))
        self.syy = np.zeros((cap, d, b))
        self.n = np.zeros(cap)  # target statistics of the leaf (for the mean prediction)
        self.ysum = np.zeros(cap)
        self.since = np.zeros(cap)
        self.coef = np.zeros((cap, d + 1))  # linear leaf model on standardised inputs, + bias
        self.err_mean = np.zeros(cap)
        self.err_model = np.zeros(cap)
        self.lo[0], self.hi[0] = lo, hi
        self._size = 1

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
        self.depth, self.lo, self.hi = grow(self.depth, 0), grow(self.lo, 0), grow(self.hi, 1)
        self.cnt, self.sy, self.syy = grow(self.cnt, 0), grow(self.sy, 0), grow(self.syy, 0)
        self.n, self.ysum, self.since = grow(self.n, 0), grow(self.ysum, 0), grow(self.since, 0)
        self.coef = grow(self.coef, 0)
        self.err_mean, self.err_model = grow(self.err_mean, 0), grow(self.err_model, 0)

    @property
    def n_nodes(self) -> int:
        return self._size

    @property
    def n_leaves(self) -> int:
        return int((self.left[: self._size] < 0).sum()) if self._size else 0

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

    # ------------------------------------------------------------------ learning
    def learn_many(self, X: ArrayLike, y: ArrayLike, w: ArrayLike | None = None) -> None:
        Xm = as_matrix(X)
        self._check_width(Xm)
        yv = np.asarray(y, dtype=np.float64).reshape(-1)
        if yv.shape[0] != Xm.shape[0]:
            raise LearnerInputError(
                f"got {yv.shape[0]} targets for {Xm.shape[0]} examples",
                hint="pass one target per row",
            )
        wt = _weights(w, Xm.shape[0])
        keep = wt > 0
        if not keep.all():
            Xm, yv, wt = Xm[keep], yv[keep], wt[keep]
        if Xm.shape[0] == 0:
            return
        if not (np.all(np.isfinite(Xm)) and np.all(np.isfinite(yv))):
            raise LearnerInputError(
                "features and targets must be finite numbers", hint="impute NaN/inf first"
            )
        self._xscale.learn_many(Xm)
        self._yscale.learn_many(yv[:, None])
        if self._size == 0:
            # the root's bins need a range: collect the first grace period, then replay it
            self._warmup.append((Xm, yv, wt))
            self._warm_weight += float(wt.sum())
            if self._warm_weight < self.grace_period:
                return
            Xm = np.concatenate([b[0] for b in self._warmup])
            yv = np.concatenate([b[1] for b in self._warmup])
            wt = np.concatenate([b[2] for b in self._warmup])
            self._warmup = []
            lo, hi = Xm.min(axis=0), Xm.max(axis=0)
            self._allocate(self.n_features, lo, hi)
        self._learn(Xm, yv, wt)

    def _standardise(self, X: FloatArray) -> FloatArray:
        return self._xscale.transform_many(X)

    def _learn(self, X: FloatArray, y: FloatArray, w: FloatArray) -> None:
        leaf = self.leaves_of(X)
        size = self._size
        # adaptive mode: how each predictor would have done on these examples
        Z = self._standardise(X)
        t = self._yscale.transform_many(y[:, None])[:, 0]
        mean_pred = self._leaf_means(leaf)
        coef = self.coef[leaf]
        model_z = np.einsum("ij,ij->i", Z, coef[:, :-1]) + coef[:, -1]
        model_pred = self._unscale(model_z)
        decay = self.error_decay
        for errors, store in (
            (np.abs(mean_pred - y), self.err_mean),
            (np.abs(model_pred - y), self.err_model),
        ):
            # per leaf, a batch of m examples fades the old estimate m times
            hits = np.bincount(leaf, minlength=size)[:size].astype(np.float64)
            summed = np.bincount(leaf, errors, minlength=size)[:size]
            touched = hits > 0
            fade = decay ** hits[touched]
            store[:size][touched] = fade * store[:size][touched] + (1 - fade) * (
                summed[touched] / hits[touched]
            )
        # normalised LMS step of every touched leaf's linear model
        err = (model_z - t) * w
        norm = 1.0 + np.einsum("ij,ij->i", Z, Z)
        grad_rows = np.hstack([Z, np.ones((Z.shape[0], 1))]) * (err / norm)[:, None]
        grad = np.zeros((size, Z.shape[1] + 1))
        np.add.at(grad, leaf, grad_rows)
        self.coef[:size] -= self.learning_rate * grad
        # target statistics and the per-attribute bins
        self.n[:size] += np.bincount(leaf, w, minlength=size)[:size]
        self.ysum[:size] += np.bincount(leaf, w * y, minlength=size)[:size]
        self._add_to_bins(X, y, w, leaf)
        touched_leaves = np.unique(leaf)
        self.since[:size] += np.bincount(leaf, w, minlength=size)[:size]
        due = touched_leaves[self.since[touched_leaves] >= self.grace_period]
        if due.size:
            self.since[due] = 0.0
            self._attempt_splits(due)

    def _bin_of(self, X: FloatArray, leaf: IntArray) -> IntArray:
        lo, hi = self.lo[leaf], self.hi[leaf]
        width = np.where(hi > lo, hi - lo, 1.0)
        bins = np.floor((X - lo) / width * self.n_bins).astype(np.int64)
        out: IntArray = np.clip(bins, 0, self.n_bins - 1)
        return out

    def _add_to_bins(self, X: FloatArray, y: FloatArray, w: FloatArray, leaf: IntArray) -> None:
        d, b = X.shape[1], self.n_bins
        flat = (leaf[:, None] * d + np.arange(d)) * b + self._bin_of(X, leaf)
        flat = flat.reshape(-1)
        wy = w * y
        np.add.at(self.cnt.reshape(-1), flat, np.repeat(w, d))
        np.add.at(self.sy.reshape(-1), flat, np.repeat(wy, d))
        np.add.at(self.syy.reshape(-1), flat, np.repeat(wy * y, d))

    def _attempt_splits(self, nodes: IntArray) -> None:
        """Variance reduction of every bin boundary of every attribute of all due leaves at once."""
        nodes = nodes[self.depth[nodes] < self.max_depth]
        if nodes.size == 0 or self._size + 2 > self.max_nodes:
            return
        cnt, sy, syy = self.cnt[nodes], self.sy[nodes], self.syy[nodes]  # (L, d, B)
        n = cnt[:, 0, :].sum(axis=1)  # (L,)
        s = sy[:, 0, :].sum(axis=1)
        ss = syy[:, 0, :].sum(axis=1)
        safe_n = np.where(n > 0, n, 1.0)
        var = np.maximum(ss / safe_n - (s / safe_n) ** 2, 0.0)
        nl = np.cumsum(cnt, axis=2)[:, :, :-1]  # (L, d, B-1): left of each inner boundary
        sl = np.cumsum(sy, axis=2)[:, :, :-1]
        ssl = np.cumsum(syy, axis=2)[:, :, :-1]
        nr = n[:, None, None] - nl
        sr = s[:, None, None] - sl
        ssr = ss[:, None, None] - ssl

        def variance(m: FloatArray, t: FloatArray, tt: FloatArray) -> FloatArray:
            sm = np.where(m > 0, m, 1.0)
            out: FloatArray = np.maximum(tt / sm - (t / sm) ** 2, 0.0)
            return out

        after = (nl * variance(nl, sl, ssl) + nr * variance(nr, sr, ssr)) / safe_n[:, None, None]
        merit = var[:, None, None] - after
        floor = self.min_branch_fraction * n[:, None, None]
        merit[(nl <= floor) | (nr <= floor) | (nl < 1) | (nr < 1)] = -np.inf
        per_feature = merit.max(axis=2)  # (L, d)
        ranked = np.sort(per_feature, axis=1)
        best = ranked[:, -1]
        second = ranked[:, -2] if ranked.shape[1] > 1 else np.zeros_like(best)
        second = np.where(np.isfinite(second), np.maximum(second, 0.0), 0.0)
        # the bound counts the leaf's whole weight, including what it inherited at
        # its parent's split (as river and FIMT-DD do): a child has seen that much
        # evidence for its target statistics, if not for its bins
        seen = np.maximum(self.n[nodes], 1.0)
        eps = np.sqrt(math.log(1.0 / self.delta) / (2.0 * seen))
        ratio = second / np.where(best > 0, best, 1.0)
        ok = np.isfinite(best) & (best > 0) & ((ratio < 1.0 - eps) | (eps < self.tie_threshold))
        for i in np.flatnonzero(ok).tolist():
            if self._size + 2 > self.max_nodes:
                return
            f = int(np.argmax(per_feature[i]))
            j = int(np.argmax(merit[i, f]))
            node = int(nodes[i])
            lo, hi = self.lo[node, f], self.hi[node, f]
            threshold = float(lo + (hi - lo) * (j + 1) / self.n_bins)
            sides = (
                (float(nl[i, f, j]), float(sl[i, f, j])),
                (float(nr[i, f, j]), float(sr[i, f, j])),
            )
            self._split(node, f, threshold, sides)

    def _split(
        self, node: int, feature: int, threshold: float, sides: tuple[tuple[float, float], ...]
    ) -> None:
        self._grow_capacity(self._size + 2)
        for offset, (weight, total) in enumerate(sides):
            child = self._size + offset
            self.depth[child] = self.depth[node] + 1
            self.lo[child], self.hi[child] = self.lo[node], self.hi[node]
            if offset == 0:
                self.hi[child, feature] = threshold
            else:
                self.lo[child, feature] = threshold
            self.cnt[child] = self.sy[child] = self.syy[child] = 0.0
            self.n[child], self.ysum[child] = weight, total
            self.since[child] = 0.0
            self.coef[child] = self.coef[node]
            self.err_mean[child], self.err_model[child] = self.err_mean[node], self.err_model[node]
        self.feature[node], self.threshold[node] = feature, threshold
        self.left[node], self.right[node] = self._size, self._size + 1
        self._size += 2
        self.depth_reached = max(self.depth_reached, int(self.depth[node]) + 1)
        # the parent's bins are no longer needed
        self.cnt[node] = self.sy[node] = self.syy[node] = 0.0

    # ------------------------------------------------------------------ prediction
    def _unscale(self, z: FloatArray) -> FloatArray:
        count = self._yscale.count
        if not count:
            return z
        std = math.sqrt(float(self._yscale.m2[0]) / count)
        out: FloatArray = z * (std if std > 1e-12 else 1.0) + float(self._yscale.mean[0])
        return out

    def _leaf_means(self, leaf: IntArray) -> FloatArray:
        n = self.n[leaf]
        fallback = float(self._yscale.mean[0]) if self._yscale.count else 0.0
        out: FloatArray = np.where(n > 0, self.ysum[leaf] / np.where(n > 0, n, 1.0), fallback)
        return out

    def predict_many(self, X: ArrayLike) -> FloatArray:
        Xm = as_matrix(X)
        if self._size == 0:
            fallback = float(self._yscale.mean[0]) if self._yscale.count else 0.0
            return np.full(Xm.shape[0], fallback)
        self._check_width(Xm)
        leaf = self.leaves_of(Xm)
        mean = self._leaf_means(leaf)
        if self.leaf_prediction == "mean":
            return mean
        coef = self.coef[leaf]
        z = np.einsum("ij,ij->i", self._standardise(Xm), coef[:, :-1]) + coef[:, -1]
        model = self._unscale(z)
        if self.leaf_prediction == "model":
            return model
        out: FloatArray = np.where(self.err_model[leaf] < self.err_mean[leaf], model, mean)
        return out
