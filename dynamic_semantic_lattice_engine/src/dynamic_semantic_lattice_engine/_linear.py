"""Linear recursion through a composition, closed over a dense visited matrix.

``t(X, Z) :- t(X, Y), e(Y, Z)`` (or ``t(X, Z) :- e(X, Y), t(Y, Z)``) with
``e`` fixed while ``t``'s stratum runs is a reachability problem: every row
of ``t`` keeps its carried column (``X``) and only walks the other along
``e``.  The general semi-naive loop pays, per iteration, a Polars merge and
a membership test against every row derived so far (a binary search per
sorted run), and a chain of 10,000 edges takes 10,000 iterations over 50
million rows.  Here the carried values and the walked values are numbered
densely once, ``e`` becomes a CSR adjacency over those numbers, and "already
derived" is one byte per (carried, walked) pair: a delta is extended by a
vectorised gather and filtered by a vectorised lookup, so an iteration
costs what its delta holds.

The result is exact and identical to the general loop's, including the
round at which each row first appears (explanations rely on it).  The dense
matrix is used only while it fits :data:`MAX_CELLS` bytes; larger domains
take the general loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from dynamic_semantic_lattice_engine._program import Atom, Rule, Var
from dynamic_semantic_lattice_engine._relation import Relation

__all__ = ["MAX_CELLS", "LinearClosure", "linear_closure"]

Ints = npt.NDArray[np.int64]

MAX_CELLS = 1 << 28
"""Largest visited matrix (one byte per carried x walked value pair), 256 MiB."""


@dataclass
class LinearClosure:
    """The semi-naive iterations of one linear rule, from a first delta to the fixpoint.

    Args:
        walked_col: the head column (of ``t``) that moves along ``e``.
        kept_col: the head column carried unchanged.
    """

    target: Relation
    kept_col: int
    walked_col: int
    kept_values: Ints  # dense number -> original id, sorted
    walked_values: Ints
    indptr: Ints  # CSR of e over walked numbers
    indices: Ints
    seen: npt.NDArray[np.bool_]

    def iterations(self, delta: pl.DataFrame) -> Iterator[tuple[Ints, Ints]]:
        """Each iteration's new rows as ``(column 0, column 1)`` original ids, until none."""
        kept = self._number(delta, self.kept_col, self.kept_values)
        walked = self._number(delta, self.walked_col, self.walked_values)
        width = self.walked_values.shape[0]
        while kept.size:
            counts = self.indptr[walked + 1] - self.indptr[walked]
            total = int(counts.sum())
            if total == 0:
                return
            starts = np.repeat(self.indptr[walked], counts)
            offsets = np.arange(total, dtype=np.int64) - np.repeat(
                np.cumsum(counts) - counts, counts
            )
            codes = np.repeat(kept, counts) * width + self.indices[starts + offsets]
            codes = codes[~self.seen[codes]]
            if codes.size == 0:
                return
            codes = np.unique(codes)
            self.seen[codes] = True
            kept, walked = np.divmod(codes, width)
            out: list[Ints] = [np.empty(0, dtype=np.int64)] * 2
            out[self.kept_col] = self.kept_values[kept]
            out[self.walked_col] = self.walked_values[walked]
            yield out[0], out[1]

    def _number(self, frame: pl.DataFrame, col: int, values: Ints) -> Ints:
        raw = frame.get_column(self.target.column_name(col)).to_numpy().astype(np.int64)
        return np.searchsorted(values, raw).astype(np.int64)


def linear_closure(
    rules: list[Rule], component: set[str], relations: dict[str, Relation]
) -> LinearClosure | None:
    """The dense closure for ``rules`` (one stratum, after its first full iteration), or ``None``.

    Applies when the stratum defines one plain binary relation ``t``, exactly
    one rule reads ``t``, and that rule is ``t(A, C) :- t(A, B), e(B, C)`` up
    to the order of atoms and columns, where ``e`` is a plain binary relation
    of a lower stratum and ``t``'s carried column keeps its position.
    """
    if len(component) != 1:
        return None
    (pred,) = component
    readers = [r for r in rules if any(isinstance(a, Atom) and a.pred == pred for a in r.body)]
    if len(readers) != 1:
        return None
    rule = readers[0]
    shape = _shape(rule, pred, relations)
    if shape is None:
        return None
    kept_col, walked_col, e_pred, e_join, e_carry = shape
    target, edges = relations[pred], relations[e_pred]
    frame = target.frame
    kept_raw = frame.get_column(target.column_name(kept_col)).to_numpy().astype(np.int64)
    walked_raw = frame.get_column(target.column_name(walked_col)).to_numpy().astype(np.int64)
    e_frame = edges.frame
    join_raw = e_frame.get_column(edges.column_name(e_join)).to_numpy().astype(np.int64)
    carry_raw = e_frame.get_column(edges.column_name(e_carry)).to_numpy().astype(np.int64)
    kept_values = np.unique(kept_raw)
    walked_values = np.unique(np.concatenate([walked_raw, join_raw, carry_raw]))
    if kept_values.size * walked_values.size > MAX_CELLS or kept_values.size == 0:
        return None
    width = walked_values.shape[0]
    join = np.searchsorted(walked_values, join_raw).astype(np.int64)
    order = np.argsort(join, kind="stable")
    indices = np.searchsorted(walked_values, carry_raw)[order].astype(np.int64)
    indptr = np.zeros(width + 1, dtype=np.int64)
    np.cumsum(np.bincount(join, minlength=width), out=indptr[1:])
    seen = np.zeros(kept_values.size * width, dtype=np.bool_)
    seen[
        np.searchsorted(kept_values, kept_raw) * width + np.searchsorted(walked_values, walked_raw)
    ] = True
    return LinearClosure(
        target, kept_col, walked_col, kept_values, walked_values, indptr, indices, seen
    )


def _shape(
    rule: Rule, pred: str, relations: dict[str, Relation]
) -> tuple[int, int, str, int, int] | None:
    """``(kept column, walked column, e, e's join column, e's carried column)`` or ``None``."""
    body = rule.body
    if len(body) != 2 or not all(isinstance(a, Atom) and not a.negated for a in body):
        return None
    atoms = [a for a in body if isinstance(a, Atom)]
    recursive = [a for a in atoms if a.pred == pred]
    if len(recursive) != 1:
        return None
    t_atom = recursive[0]
    e_atom = atoms[1 - atoms.index(t_atom)]
    rels = [relations.get(name) for name in (pred, e_atom.pred)]
    if any(r is None or r.lattice is not None or r.decl.arity != 2 for r in rels):
        return None
    terms = [*t_atom.args, *e_atom.args, *rule.head.args]
    if not all(isinstance(arg, Var) for arg in terms):
        return None
    t_vars = [a.name for a in t_atom.args if isinstance(a, Var)]
    e_vars = [a.name for a in e_atom.args if isinstance(a, Var)]
    head = [a.name for a in rule.head.args if isinstance(a, Var)]
    if len(set(t_vars)) != 2 or len(set(e_vars)) != 2 or len(set(head)) != 2:
        return None
    shared = set(t_vars) & set(e_vars)
    if len(shared) != 1:
        return None
    (joined,) = shared
    walked_col = t_vars.index(joined)
    kept_col = 1 - walked_col
    kept_var = t_vars[kept_col]
    e_join = e_vars.index(joined)
    e_carry = 1 - e_join
    reached = e_vars[e_carry]
    # the head keeps t's carried variable in its column and puts e's reached one in the other
    if head[kept_col] != kept_var or head[walked_col] != reached or reached == kept_var:
        return None
    return kept_col, walked_col, e_atom.pred, e_join, e_carry
