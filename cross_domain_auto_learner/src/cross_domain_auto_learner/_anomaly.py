"""Half-space trees (Tan, Ting & Liu 2011): streaming anomaly detection in constant memory.

Each tree splits a randomly perturbed copy of the feature space in half at
every level, on a random feature, down to ``height``.  Trees count how many
examples of the *reference* window (the previous ``window_size`` examples) fell
in each node; an example in a sparsely populated region scores as anomalous.
Masses roll over every window, so the model follows a drifting normal
behaviour without ever storing examples.

Everything is vectorised: all trees are stored as ``(n_trees, n_nodes)``
arrays of a complete binary tree, and a batch is routed through all of them at
once.  Features are min-max scaled with limits fixed from the first window (or
given), since the trees partition the unit cube.  Scores are in ``[0, 1]``,
higher meaning more anomalous.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cross_domain_auto_learner._learner import as_matrix
from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["HalfSpaceTrees"]

FloatArray = NDArray[np.float64]


class HalfSpaceTrees:
    """Streaming anomaly scores from an ensemble of half-space trees.

    Args:
        n_trees: ensemble size.
        height: depth of every tree.
        window_size: examples per mass window (the reference profile is the previous window).
        limits: optional ``(low, high)`` per feature; otherwise taken from the first window.
        seed: reproducibility of the random splits.
    """

    def __init__(
        self,
        n_trees: int = 25,
        height: int = 8,
        window_size: int = 250,
        *,
        limits: tuple[ArrayLike, ArrayLike] | None = None,
        seed: int | None = 42,
    ) -> None:
        if n_trees < 1 or not 1 <= height <= 20 or window_size < 2:
            raise LearnerInputError(
                "half-space trees need n_trees >= 1, 1 <= height <= 20, window_size >= 2",
                hint="the defaults (25, 8, 250) suit most streams",
            )
        self.n_trees, self.height, self.window_size, self.seed = n_trees, height, window_size, seed
        self._rng = np.random.default_rng(seed)
        self._limits = limits
        self._lo: FloatArray | None = None
        self._span: FloatArray | None = None
        self._pending: list[FloatArray] = []
        self._ready = False
        self._counter = 0
        self.size_limit = 0.1 * window_size

    def params(self) -> dict[str, Any]:
        return {
            "n_trees": self.n_trees,
            "height": self.height,
            "window_size": self.window_size,
            "seed": self.seed,
        }

    def _build(self, d: int) -> None:
        n_nodes = 2 ** (self.height + 1) - 1
        self.feature = self._rng.integers(0, d, (self.n_trees, n_nodes))
        self.split = np.zeros((self.n_trees, n_nodes))
        # random work range per tree and feature, then halve it recursively
        s = self._rng.random((self.n_trees, d))
        half = 2.0 * np.maximum(s, 1.0 - s)
        lo, hi = s - half, s + half
        lows = np.repeat(lo[:, None, :], n_nodes, axis=1)
        highs = np.repeat(hi[:, None, :], n_nodes, axis=1)
        trees = np.arange(self.n_trees)
        for node in range(2**self.height - 1):
            f = self.feature[:, node]
            mid = (lows[trees, node, f] + highs[trees, node, f]) / 2.0
            self.split[:, node] = mid
            left, right = 2 * node + 1, 2 * node + 2
            lows[:, left], highs[:, left] = lows[:, node], highs[:, node]
            lows[:, right], highs[:, right] = lows[:, node], highs[:, node]
            highs[trees, left, f] = mid
            lows[trees, right, f] = mid
        self.reference = np.zeros((self.n_trees, n_nodes))
        self.latest = np.zeros((self.n_trees, n_nodes))
        self._depth_of = np.floor(np.log2(np.arange(n_nodes) + 1)).astype(np.int64)

    def _scale(self, X: FloatArray) -> FloatArray:
        if self._lo is None or self._span is None:
            return X
        out: FloatArray = (X - self._lo) / self._span
        return out

    def _paths(self, Z: FloatArray) -> NDArray[np.int64]:
        """Node index per tree, example and depth: ``(n_trees, n, height + 1)``."""
        n = Z.shape[0]
        node = np.zeros((self.n_trees, n), dtype=np.int64)
        out = np.zeros((self.n_trees, n, self.height + 1), dtype=np.int64)
        trees = np.arange(self.n_trees)[:, None]
        for depth in range(1, self.height + 1):
            f = self.feature[trees, node]
            go_right = Z[np.arange(n)[None, :], f] > self.split[trees, node]
            node = 2 * node + 1 + go_right
            out[:, :, depth] = node
        return out

    def learn_many(self, X: ArrayLike) -> None:
        """Update the mass profiles with a batch (rolling the window when it fills)."""
        Xm = as_matrix(X)
        if not np.all(np.isfinite(Xm)):
            raise LearnerInputError("features must be finite", hint="impute NaN/inf first")
        if not self._ready:
            self._pending.append(Xm)
            seen = sum(p.shape[0] for p in self._pending)
            if seen < self.window_size:
                return
            first = np.vstack(self._pending)
            self._pending = []
            if self._limits is not None:
                lo = np.asarray(self._limits[0], dtype=np.float64)
                hi = np.asarray(self._limits[1], dtype=np.float64)
            else:
                lo, hi = first.min(axis=0), first.max(axis=0)
            self._lo = lo
            self._span = np.where(hi - lo > 0, hi - lo, 1.0)
            self._build(first.shape[1])
            self._ready = True
            Xm = first
        for start in range(0, Xm.shape[0], self.window_size):
            chunk = Xm[start : start + self.window_size]
            room = self.window_size - self._counter
            head, tail = chunk[:room], chunk[room:]
            self._count(head)
            if self._counter >= self.window_size:
                self.reference, self.latest = self.latest, np.zeros_like(self.latest)
                self._counter = 0
            if tail.shape[0]:
                self._count(tail)

    def _count(self, X: FloatArray) -> None:
        if X.shape[0] == 0:
            return
        paths = self._paths(self._scale(X))
        n_nodes = self.latest.shape[1]
        flat = (paths + (np.arange(self.n_trees) * n_nodes)[:, None, None]).ravel()
        self.latest += np.bincount(flat, minlength=self.n_trees * n_nodes).reshape(
            self.n_trees, n_nodes
        )
        self._counter += X.shape[0]

    def score_many(self, X: ArrayLike) -> FloatArray:
        """Anomaly scores in ``[0, 1]`` (higher is more anomalous; 0 before the first window)."""
        Xm = as_matrix(X)
        if not self._ready:
            return np.zeros(Xm.shape[0])
        paths = self._paths(self._scale(Xm))
        mass = self.reference[np.arange(self.n_trees)[:, None, None], paths]
        depth = np.arange(self.height + 1)
        stop = (mass < self.size_limit) | (depth == self.height)[None, None, :]
        first = np.argmax(stop, axis=2)
        m = np.take_along_axis(mass, first[..., None], axis=2)[..., 0]
        scores = (m * 2.0**first).sum(axis=0)
        top = self.n_trees * self.window_size * 2.0**self.height
        out: FloatArray = 1.0 - scores / top
        return out

    def score_one(self, x: ArrayLike) -> float:
        """Anomaly score of one example."""
        return float(self.score_many(as_matrix(x))[0])
