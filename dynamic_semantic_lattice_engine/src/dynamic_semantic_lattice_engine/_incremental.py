"""Incremental maintenance of a materialised closure, tuple at a time: counting and DRed.

A change (base rows added and removed) is pushed through the strata in
evaluation order.  Each stratum sees the net change of everything below it
(rows added, rows removed) and turns it into its own net change:

* a **non-recursive** stratum (one predicate whose rules do not read it)
  keeps, per derived row, the number of its derivations (*counting*, Gupta,
  Mumick and Subrahmanian 1993).  A change adjusts the counts by the
  telescoping delta rules: for body literal ``i``, the literals before it
  read the new state, those after it the old one, and literal ``i`` reads
  the change with a sign (a negated literal counts with the opposite sign,
  for the rows whose presence flipped).  A row is present while it is a base
  fact or its count is positive.  The counts are computed once, on the
  first change that reaches the stratum, from a columnar evaluation.
* a **recursive** stratum uses DRed (delete and re-derive): (1) over-delete
  the rows with a derivation that used a removed row, semi-naively, each
  step a hash-indexed delta rule against the old state; (2) remove them;
  (3) re-derive those of them that still have a derivation in the new state,
  checked one by one with the head bound; (4) insert, semi-naively in the new
  state, from the re-derived rows, the added base rows and the lower
  strata's additions.  Base facts are never over-deleted unless they are
  themselves deleted.
* a stratum with aggregates or lattice-valued heads is recomputed from its
  inputs with the columnar engine and diffed against its old rows, so the
  strata above it still receive an exact change.

Every lookup goes through :class:`._index.TupleIndex`, so the work follows
the rows the change reaches, not the size of the relations.
"""

from __future__ import annotations

import time
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import polars as pl

from dynamic_semantic_lattice_engine._delta import (
    AtomDispatch,
    HeadDispatch,
    RulePlan,
    ViewFor,
    supported,
)
from dynamic_semantic_lattice_engine._engine import Engine, EvaluationStats
from dynamic_semantic_lattice_engine._index import OldView, Row, TupleIndex, View, key_of
from dynamic_semantic_lattice_engine._program import Aggregate, Atom, Rule
from dynamic_semantic_lattice_engine._relation import ROUND, Relation

__all__ = ["maintain"]

_NONE = TupleIndex(())

_SCAN_LIMIT = 32
"""Rows a lookup in :class:`_Surviving` reads past that are not known to survive."""
"""Backward searches one DRed pass may start for rows met inside other proofs."""


_PLANS: weakref.WeakKeyDictionary[Engine, dict[int, RulePlan]] = weakref.WeakKeyDictionary()
"""Each engine's compiled rule plans: an engine's program never changes, so compiling
its rules (and the join orders each plan caches) once saves that work on every batch."""


_DISPATCH: weakref.WeakKeyDictionary[Engine, dict[str, HeadDispatch]] = weakref.WeakKeyDictionary()
"""Each engine's rule dispatch per recursive predicate, kept so its learnt order carries over."""
_PROOFS: weakref.WeakKeyDictionary[Engine, dict[str, dict[Row, tuple[tuple[str, Row], ...]]]] = (
    weakref.WeakKeyDictionary()
)
"""Per engine and predicate, proofs made only of base facts, by the row they derive.

The same schema-level rows (``C rdf:type rdfs:Class``, ``C rdf:type
rdfs:Resource``) come up for a survival check in batch after batch; while
every fact of a remembered proof is still given and not being deleted, the
row survives without a search.  Sound for any state, since the proof is a
rule instance over facts that hold."""
_PROOF_LIMIT = 1 << 18
"""Remembered proofs per predicate before the memo starts over."""
_READING: weakref.WeakKeyDictionary[Engine, dict[tuple[int, ...], AtomDispatch]] = (
    weakref.WeakKeyDictionary()
)
"""Each engine's body-atom dispatch per stratum (its plans live as long as the engine)."""


class _Change:
    """The net change of the predicates processed so far, and the plans of the rules."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.plus: dict[str, TupleIndex] = {}
        self.minus: dict[str, TupleIndex] = {}
        plans = _PLANS.get(engine)
        if plans is None:
            plans = _PLANS[engine] = {}
        self._plans = plans

    def plan(self, rule: Rule) -> RulePlan:
        found = self._plans.get(id(rule))
        if found is None:
            found = RulePlan(rule, self.engine.evaluator)
            self._plans[id(rule)] = found
        return found

    def changed(self, pred: str) -> bool:
        return pred in self.plus or pred in self.minus

    def record(self, pred: str, plus: Iterable[Row], minus: Iterable[Row]) -> None:
        added, removed = TupleIndex(plus), TupleIndex(minus)
        if len(added):
            self.plus[pred] = added
        if len(removed):
            self.minus[pred] = removed

    def new(self, pred: str) -> View:
        return self.engine.relation(pred).tuples()

    def old(self, pred: str) -> View:
        current = self.engine.relation(pred).tuples()
        if not self.changed(pred):
            return current
        return OldView(current, self.plus.get(pred, _NONE), self.minus.get(pred, _NONE))

    def flipped(self, plan: RulePlan, index: int, rows: Iterable[Row], view: View) -> list[Row]:
        """Rows of a negated literal's relation whose pattern instance has no match in ``view``.

        ``!q(X, _)`` changes truth for ``X = a`` only when the last (or first)
        ``q(a, ...)`` row goes (or comes); rows that leave another match keep it.
        """
        lit = plan.literals[index]
        outer = [p for p, name in lit.var_cols if name in lit.vars]
        positions = tuple(sorted([p for p, _ in lit.consts] + outer))
        key = key_of(positions) if positions else None
        first: dict[str, int] = {}
        equal: list[tuple[int, int]] = []  # repeated variables local to the negation
        for pos, name in lit.var_cols:
            if name not in lit.vars:
                if name in first:
                    equal.append((first[name], pos))
                else:
                    first[name] = pos
        out: list[Row] = []
        for row in rows:
            if any(row[p] != row[q] for p, q in equal):
                continue  # the row does not match the negated pattern at all
            candidates = view.lookup(positions, key(row) if key is not None else ())
            if not any(all(c[p] == c[q] for p, q in equal) for c in candidates):
                out.append(row)
        return out


class _Surviving:
    """A recursive relation during over-deletion, restricted to rows known to survive.

    Those are the base rows not being deleted and the rows already shown to
    have a derivation from such rows (``proven``).  A row with a derivation
    from surviving rows survives, so DRed need not over-delete it nor
    anything derived through it: this is what stops one deleted triple from
    over-deleting ``p rdf:type rdf:Property``, then ``p rdfs:subPropertyOf p``,
    then every triple with predicate ``p``.  Proofs only use rows proven
    before, so they are well-founded.

    A lookup gives up after :data:`_SCAN_LIMIT` rows that are not known to
    survive.  The view may under-approximate (DRed then over-deletes a row
    that step 3 re-derives), and without the cap one check of
    ``C0 rdf:type rdfs:Class`` (through ``rdf:type rdfs:range rdfs:Class``)
    walks every derived ``x rdf:type C0``, ten thousand rows, on every batch.
    """

    def __init__(self, index: TupleIndex, dropping: set[Row], proven: set[Row]) -> None:
        self.index = index
        self.dropping = dropping
        self.proven = proven

    def _keeps(self, row: Row) -> bool:
        return (row in self.index.base and row not in self.dropping) or row in self.proven

    def lookup(self, positions: tuple[int, ...], key: object) -> Iterator[Row]:
        base, dropping, proven = self.index.base, self.dropping, self.proven
        misses = 0
        for row in self.index.lookup(positions, key):
            if (row in base and row not in dropping) or row in proven:
                yield row
            else:
                misses += 1
                if misses > _SCAN_LIMIT:
                    return

    def contains(self, row: Row) -> bool:
        return row in self.index.rows and self._keeps(row)

    def estimate(self, positions: tuple[int, ...], key: object) -> int:
        return self.index.estimate(positions, key)

    def exists(self, positions: tuple[int, ...], key: object) -> bool:
        return any(True for _ in self.lookup(positions, key))


@dataclass
class _Work:
    """One stratum's part of a change: its rules, its base rows added and removed."""

    rules: list[Rule]
    base_add: dict[str, set[Row]]
    base_del: dict[str, set[Row]]
    stats: EvaluationStats


def _reads(rule: Rule) -> set[str]:
    preds: set[str] = set()
    for lit in rule.body:
        if isinstance(lit, Atom):
            preds.add(lit.pred)
        elif isinstance(lit, Aggregate):
            preds.update(a.pred for a in lit.body if isinstance(a, Atom))
    return preds


def maintain(
    engine: Engine,
    added: Mapping[str, Iterable[Row]],
    removed: Mapping[str, Iterable[Row]],
) -> EvaluationStats:
    """Add and remove base rows (plain relations) and bring every stratum up to date."""
    started = time.perf_counter()
    stats = EvaluationStats()
    change = _Change(engine)
    adds = {p: set(rows) for p, rows in added.items()}
    dels = {p: set(rows) for p, rows in removed.items()}
    for component in engine.strata:
        preds = set(component)
        rules = [r for r in engine.program.rules if r.head.pred in preds]
        base_add = {p: adds[p] for p in preds if adds.get(p)}
        base_del = {p: dels[p] for p in preds if dels.get(p)}
        touched = bool(base_add or base_del) or any(
            change.changed(p) for r in rules for p in _reads(r)
        )
        if not touched:
            continue
        stats.strata += 1
        recursive = any(p in preds for r in rules for p in _reads(r))
        columnar = any(engine.relation(p).lattice is not None for p in preds) or not all(
            supported(r) for r in rules
        )
        if not rules:
            _base_only(engine, change, preds, base_add, base_del)
            continue
        args = (rules, base_add, base_del, stats)
        if columnar:
            _recompute(engine, change, preds, _Work(*args), counting=False)
        elif recursive:
            _dred(engine, change, preds, _Work(*args))
        elif (pred := next(iter(preds))) not in engine.counts:
            _recompute(engine, change, preds, _Work(*args), counting=True)
        else:
            _count(engine, change, pred, _Work(*args))
    stats.seconds = time.perf_counter() - started
    return stats


def _base_only(
    engine: Engine,
    change: _Change,
    preds: set[str],
    base_add: dict[str, set[Row]],
    base_del: dict[str, set[Row]],
) -> None:
    for pred in preds:
        rel = engine.relation(pred)
        index = rel.tuples()
        gone = [row for row in base_del.get(pred, ()) if row in index.rows]
        fresh = {row: 0 for row in base_add.get(pred, ()) if row not in index.rows}
        rel.apply(gone, fresh)
        change.record(pred, fresh, gone)


def _count(
    engine: Engine,
    change: _Change,
    pred: str,
    work: _Work,
) -> None:
    """Counting: adjust derivation counts by signed delta rules, then the rows they decide."""
    rules, base_add, base_del, stats = work.rules, work.base_add, work.base_del, work.stats
    counts = engine.counts[pred]
    delta: Counter[Row] = Counter()
    plans = [change.plan(rule) for rule in rules]
    _prepare(engine, plans)

    def telescoped(plan: RulePlan, i: int) -> ViewFor:
        """Literals before ``i`` read the new state, those after it the old one."""
        return tuple(
            (change.new(lit.pred) if j < i else change.old(lit.pred))
            if lit.kind in (0, 1)
            else _NONE
            for j, lit in enumerate(plan.literals)
        ).__getitem__

    reading = _atom_dispatch(engine, plans)
    positive = sorted({lit.pred for plan in plans for lit in plan.atoms if lit.kind == 0})
    for q in positive:  # positive atoms: added rows count up, removed rows down
        if not change.changed(q):
            continue
        for plan, at, matching in reading.route(q, change.plus.get(q, _NONE).rows):
            delta.update(plan.fire(at, matching, telescoped(plan, at)))
        for plan, at, matching in reading.route(q, change.minus.get(q, _NONE).rows):
            delta.subtract(plan.fire(at, matching, telescoped(plan, at)))
    for plan in plans:  # negated atoms: the negation now holds (+) or no longer holds (-)
        for lit in plan.atoms:
            q = lit.pred
            if lit.kind == 0 or not change.changed(q):
                continue
            i = lit.index
            view = telescoped(plan, i)
            plus = change.plus.get(q, _NONE).rows
            minus = change.minus.get(q, _NONE).rows
            now_true = change.flipped(plan, i, minus, change.new(q))
            now_false = change.flipped(plan, i, plus, change.old(q))
            delta.update(plan.fire(i, now_true, view))
            delta.subtract(plan.fire(i, now_false, view))
    rel = engine.relation(pred)
    index = rel.tuples()
    touched = set(delta) | base_add.get(pred, set()) | base_del.get(pred, set())
    for row, d in delta.items():
        if d:
            total = counts.get(row, 0) + d
            if total:
                counts[row] = total
            else:
                counts.pop(row, None)
    engine.round += 1
    gone: list[Row] = []
    fresh: dict[Row, int] = {}
    plus_rows: list[Row] = []
    minus_rows: list[Row] = []
    for row in touched:
        was = row in index.rows
        was_base = row in index.base
        base = (was_base and row not in base_del.get(pred, ())) or row in base_add.get(pred, ())
        now = base or counts.get(row, 0) > 0
        if was and not now:
            gone.append(row)
            minus_rows.append(row)
        elif now and not was:
            fresh[row] = 0 if base else engine.round
            plus_rows.append(row)
        elif now and base != was_base:  # a base fact became derived only, or the reverse
            gone.append(row)
            fresh[row] = 0 if base else engine.round
    rel.apply(gone, fresh)
    stats.derived += len(plus_rows)
    change.record(pred, plus_rows, minus_rows)


def _dred(
    engine: Engine,
    change: _Change,
    preds: set[str],
    work: _Work,
) -> None:
    """DRed over a recursive stratum, with hash-indexed semi-naive delta rules.

    The views each rule reads in each state are fixed for the whole pass
    (every index is updated in place), so they are built once per rule as
    tuples indexed by body position, and the rules that may derive a row are
    picked by the row's constants (:class:`._delta.HeadDispatch`) rather
    than asked one by one.
    """
    rules, base_add, base_del, stats = work.rules, work.base_add, work.base_del, work.stats
    index = {p: engine.relation(p).tuples() for p in preds}
    plans = [change.plan(r) for r in rules]
    _prepare(engine, plans)
    proven: dict[str, set[Row]] = {p: set() for p in preds}
    surviving = {p: _Surviving(index[p], base_del.get(p, set()), proven[p]) for p in preds}
    old_views = {p: (index[p] if p in preds else change.old(p)) for p in _body_preds(plans)}
    new_views = {p: change.new(p) for p in _body_preds(plans)}
    safe_views = {p: (surviving[p] if p in preds else new_views[p]) for p in new_views}
    old_state = {id(plan): plan.views(old_views) for plan in plans}
    new_state = {id(plan): plan.views(new_views) for plan in plans}
    safe_state = {id(plan): plan.views(safe_views) for plan in plans}
    dispatches = _DISPATCH.setdefault(engine, {})
    deriving: dict[str, HeadDispatch] = {}
    for p in preds:
        found = dispatches.get(p)
        if found is None:
            found = dispatches[p] = HeadDispatch([plan for plan in plans if plan.head_pred == p])
        deriving[p] = found

    # 1. over-delete: everything with a derivation through a removed row
    over: dict[str, set[Row]] = {p: set() for p in preds}
    frontier: dict[str, set[Row]] = {p: set() for p in preds}
    for pred, dropped in base_del.items():
        for row in dropped:
            if row in index[pred].base:
                over[pred].add(row)
                frontier[pred].add(row)

    proofs = _PROOFS.setdefault(engine, {})
    bases = {p: engine.relation(p).tuples().base for p in new_views}
    drops = {p: base_del.get(p, set()) for p in new_views}

    def still_given(support: tuple[tuple[str, Row], ...]) -> bool:
        """Whether every row of a remembered proof is a base fact that is not being deleted."""
        return all(r in bases[p] and r not in drops[p] for p, r in support)

    def doomed(pred: str, heads: Iterable[Row], into: dict[str, set[Row]]) -> None:
        idx, gone, dropping, kept = index[pred], over[pred], base_del.get(pred, ()), proven[pred]
        candidates = deriving[pred]
        remembered = proofs.setdefault(pred, {})
        for row in heads:
            if row not in idx.rows or row in gone or row in kept:
                continue
            if row in idx.base and row not in dropping:
                continue
            if row not in dropping:
                support = remembered.get(row)
                if support is not None and still_given(support):
                    kept.add(row)  # its remembered proof from base facts still stands
                    continue
                found, support = _proved(row, candidates, safe_state)
                if found:
                    kept.add(row)  # a derivation from surviving facts: it stays
                    if support is not None and still_given(support):
                        if len(remembered) >= _PROOF_LIMIT:
                            remembered.clear()
                        remembered[row] = support
                    continue
            gone.add(row)
            into[pred].add(row)

    for plan in plans:
        for lit in plan.atoms:
            if lit.pred in preds or not change.changed(lit.pred):
                continue
            seeds: Iterable[Row]
            if lit.kind == 0:
                seeds = change.minus.get(lit.pred, _NONE).rows
            else:
                seeds = change.flipped(
                    plan, lit.index, change.plus.get(lit.pred, _NONE).rows, old_views[lit.pred]
                )
            doomed(plan.head_pred, plan.fire(lit.index, seeds, old_state[id(plan)]), frontier)
    reading = _atom_dispatch(engine, plans)
    while any(frontier.values()):
        stats.iterations += 1
        following: dict[str, set[Row]] = {p: set() for p in preds}
        for pred, rows in frontier.items():
            for plan, at, matching in reading.route(pred, rows):
                heads = plan.fire(at, matching, old_state[id(plan)])
                doomed(plan.head_pred, heads, following)
        frontier = following

    # 2. remove them
    for pred, doomed_rows in over.items():
        if doomed_rows:
            engine.relation(pred).apply(doomed_rows)

    # 3. re-derive those with another derivation in the new state
    engine.round += 1
    fresh: dict[str, dict[Row, int]] = {p: {} for p in preds}
    for pred, given in base_add.items():
        for row in given:
            if row in index[pred].rows:
                if row not in index[pred].base:  # derived before, now also given
                    engine.relation(pred).apply([row], {row: 0})
            else:
                fresh[pred][row] = 0
    for pred, doomed_rows in over.items():
        candidates = deriving[pred]
        for row in doomed_rows:
            if row not in fresh[pred] and _derived(row, candidates, new_state):
                fresh[pred][row] = engine.round

    # 4. insert semi-naively: re-derived rows, added base rows, lower strata's additions
    def admit(pred: str, heads: Iterable[Row], into: dict[str, dict[Row, int]]) -> None:
        idx, target = index[pred], into[pred]
        for row in heads:
            if row not in idx.rows and row not in target:
                target[row] = engine.round

    for plan in plans:
        for lit in plan.atoms:
            if lit.pred in preds or not change.changed(lit.pred):
                continue
            if lit.kind == 0:
                seeds = change.plus.get(lit.pred, _NONE).rows
            else:
                seeds = change.flipped(
                    plan, lit.index, change.minus.get(lit.pred, _NONE).rows, new_views[lit.pred]
                )
            admit(plan.head_pred, plan.fire(lit.index, seeds, new_state[id(plan)]), fresh)
    inserted: dict[str, set[Row]] = {p: set() for p in preds}
    while any(fresh.values()):
        stats.iterations += 1
        for pred, batch in fresh.items():
            if batch:
                engine.relation(pred).apply((), batch)
                inserted[pred].update(batch)
        engine.round += 1
        following_rows: dict[str, dict[Row, int]] = {p: {} for p in preds}
        for pred, batch in fresh.items():
            for plan, at, matching in reading.route(pred, batch):
                heads = plan.fire(at, matching, new_state[id(plan)])
                admit(plan.head_pred, heads, following_rows)
        fresh = following_rows
    for pred in preds:
        plus = inserted[pred] - over[pred]
        minus = [row for row in over[pred] if row not in index[pred].rows]
        stats.derived += len(plus)
        change.record(pred, plus, minus)


def _atom_dispatch(engine: Engine, plans: list[RulePlan]) -> AtomDispatch:
    """The engine's :class:`AtomDispatch` for one stratum's plans, built once."""
    cache = _READING.setdefault(engine, {})
    key = tuple(id(plan) for plan in plans)
    found = cache.get(key)
    if found is None:
        found = cache[key] = AtomDispatch(plans)
    return found


def _proved(
    row: Row, dispatch: HeadDispatch, state: dict[int, ViewFor]
) -> tuple[bool, tuple[tuple[str, Row], ...] | None]:
    """Whether some rule derives ``row`` in ``state``, with the derivation's rows when known."""
    candidates = dispatch(row)
    for plan in candidates:
        view = state[id(plan)]
        if plan.traceable:
            trail = plan.proof(row, view)
            if trail is not None:
                dispatch.promote(candidates, plan)
                return True, tuple(trail)
        elif plan.derives(row, view):
            dispatch.promote(candidates, plan)
            return True, None
    return False, None


def _derived(row: Row, dispatch: HeadDispatch, state: dict[int, ViewFor]) -> bool:
    """Whether some rule derives ``row`` in ``state``; the rule that does is asked first next."""
    candidates = dispatch(row)
    for plan in candidates:
        if plan.derives(row, state[id(plan)]):
            dispatch.promote(candidates, plan)
            return True
    return False


def _prepare(engine: Engine, plans: Iterable[RulePlan]) -> None:
    """Build every index the plans can probe (cheap once built: a dict lookup each)."""
    for plan in plans:
        for pred, positions in plan.patterns():
            engine.relation(pred).tuples().prepare(positions)


def _body_preds(plans: Iterable[RulePlan]) -> set[str]:
    return {lit.pred for plan in plans for lit in plan.atoms}


def _recompute(
    engine: Engine,
    change: _Change,
    preds: set[str],
    work: _Work,
    *,
    counting: bool,
) -> None:
    """Evaluate one stratum again from its base rows with the columnar engine; diff the result.

    With ``counting`` (a non-recursive stratum) the derivations are counted
    too, which later changes then maintain by :func:`_count`.
    """
    rules, base_add, base_del, stats = work.rules, work.base_add, work.base_del, work.stats
    before: dict[str, pl.DataFrame] = {}
    for pred in preds:
        rel = engine.relation(pred)
        cols = rel.columns
        frame = rel.frame
        before[pred] = frame.select(cols)
        base = frame.filter(pl.col(ROUND) == 0)
        if base_del.get(pred):
            gone = _frame_of(rel, base_del[pred])
            base = base.join(gone, on=cols, how="anti")
        rel.frame = base
        if base_add.get(pred):
            rel.merge(_frame_of(rel, base_add[pred]), 0)
    if counting:
        (pred,) = preds
        rel = engine.relation(pred)
        frames = [engine._eval_rule(rule, None, None) for rule in rules]
        frames = [f.select(rel.columns) for f in frames if f.height]
        counts: dict[Row, int] = {}
        if frames:
            grouped = pl.concat(frames, how="vertical_relaxed").group_by(rel.columns).len()
            for *row, n in grouped.iter_rows():
                counts[tuple(row)] = n
            engine.round += 1
            rel.merge(grouped.select(rel.columns), engine.round)
        engine.counts[pred] = counts
    else:
        engine._fixpoint(preds, rules, stats, seed=None)
    for pred in preds:
        rel = engine.relation(pred)
        after = rel.frame.select(rel.columns)
        plus = after.join(before[pred], on=rel.columns, how="anti", nulls_equal=True)
        minus = before[pred].join(after, on=rel.columns, how="anti", nulls_equal=True)
        stats.derived += plus.height
        change.record(pred, plus.iter_rows(), minus.iter_rows())


def _frame_of(rel: Relation, rows: Iterable[Row]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={c: rel.schema[c] for c in rel.columns}, orient="row")
