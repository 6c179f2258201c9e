"""Relational composition in numpy: the join behind transitive closure and reachability.

Rules shaped ``h(A, C) :- r(A, B), s(B, C)`` (two binary atoms sharing one
variable, no constants, a binary head over the other two) are most of what
recursive graph programs do, and their semi-naive iterations are many and
small: a chain of 10,000 edges takes 10,000 of them.  Planning a Polars
query per iteration costs milliseconds each, so these rules skip the general
pipeline.  The non-delta relation is held sorted by its join column (a CSR
layout, cached until the relation changes); a delta is joined by two
``searchsorted`` calls and a ``repeat``/gather, all vectorised, whatever the
delta's size.  When the other relation changed since it was sorted and is
much larger than the delta, a hash join by :mod:`._evaluate` is cheaper than
sorting it again, and so is any other shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from dynamic_semantic_lattice_engine._program import Atom, Rule, Var
from dynamic_semantic_lattice_engine._relation import Relation

__all__ = ["Composition"]

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Shape:
    """Which column of each atom is joined, which is carried, and where the head takes them."""

    preds: tuple[str, str]
    join: tuple[int, int]
    carry: tuple[int, int]
    head: tuple[int, int]  # for each head column: the atom whose carried column it takes


@dataclass
class _Sorted:
    version: int
    keys: Ints
    values: Ints


class Composition:
    """Evaluates composition-shaped rules with vectorised numpy joins.

    Args:
        relations: every relation by name (the engine's).
    """

    def __init__(self, relations: dict[str, Relation]) -> None:
        self.relations = relations
        self._shapes: dict[int, _Shape | None] = {}
        self._sorted: dict[tuple[str, int], _Sorted] = {}

    def shape(self, rule: Rule) -> _Shape | None:
        """The rule's composition shape, or ``None`` when it has another form."""
        key = id(rule)
        if key not in self._shapes:
            self._shapes[key] = self._analyse(rule)
        return self._shapes[key]

    def _analyse(self, rule: Rule) -> _Shape | None:
        body = rule.body
        if len(body) != 2 or not all(isinstance(a, Atom) and not a.negated for a in body):
            return None
        atoms = [a for a in body if isinstance(a, Atom)]
        rels = [self.relations.get(a.pred) for a in (*atoms, rule.head)]
        if any(r is None or r.lattice is not None or r.decl.arity != 2 for r in rels):
            return None
        names: list[list[str]] = []
        for atom in (*atoms, rule.head):
            if not all(isinstance(arg, Var) for arg in atom.args):
                return None
            names.append([arg.name for arg in atom.args if isinstance(arg, Var)])
        first, second, head = names
        if len(set(first)) != 2 or len(set(second)) != 2:
            return None
        shared = set(first) & set(second)
        if len(shared) != 1:
            return None
        (var,) = shared
        carried = (first[1 - first.index(var)], second[1 - second.index(var)])
        if carried[0] == carried[1] or not set(head) <= set(carried):
            return None
        return _Shape(
            preds=(atoms[0].pred, atoms[1].pred),
            join=(first.index(var), second.index(var)),
            carry=(1 - first.index(var), 1 - second.index(var)),
            head=(carried.index(head[0]), carried.index(head[1])),
        )

    def _by_join(self, pred: str, column: int) -> _Sorted:
        rel = self.relations[pred]
        cached = self._sorted.get((pred, column))
        if cached is not None and cached.version == rel.version:
            return cached
        frame = rel.frame
        keys = frame.get_column(rel.column_name(column)).to_numpy().astype(np.int64)
        values = frame.get_column(rel.column_name(1 - column)).to_numpy().astype(np.int64)
        order = np.argsort(keys, kind="stable")
        found = _Sorted(rel.version, keys[order], values[order])
        self._sorted[(pred, column)] = found
        return found

    def evaluate(
        self, rule: Rule, delta_index: int | None, delta: pl.DataFrame | None
    ) -> pl.DataFrame | None:
        """The head rows (with repeats), or ``None`` when the rule is not a composition."""
        shape = self.shape(rule)
        if shape is None:
            return None
        lead = 0 if delta_index is None else delta_index
        other = 1 - lead
        lead_rel = self.relations[shape.preds[lead]]
        frame = delta if delta is not None and delta_index is not None else lead_rel.frame
        join = frame.get_column(lead_rel.column_name(shape.join[lead])).to_numpy()
        carry = frame.get_column(lead_rel.column_name(shape.carry[lead])).to_numpy()
        other_rel = self.relations[shape.preds[other]]
        cached = self._sorted.get((shape.preds[other], shape.join[other]))
        stale = cached is None or cached.version != other_rel.version
        if stale and len(other_rel) > 4 * frame.height:
            return (
                None  # re-sorting a large, changing relation for a small delta: hash join instead
            )
        index = self._by_join(shape.preds[other], shape.join[other])
        lo = np.searchsorted(index.keys, join, side="left")
        hi = np.searchsorted(index.keys, join, side="right")
        counts = hi - lo
        total = int(counts.sum())
        starts = np.repeat(lo, counts)
        offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        carried: list[Ints] = [np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)]
        carried[lead] = np.repeat(carry.astype(np.int64), counts)
        carried[other] = index.values[starts + offsets]
        head_rel = self.relations[rule.head.pred]
        return pl.DataFrame(
            [pl.Series(head_rel.column_name(i), carried[shape.head[i]]) for i in range(2)]
        )
