"""Incremental maintenance of a materialised closure: the entry points.

:func:`insert` and :func:`retract` take encoded base rows.  A change of up to
:data:`SMALL_CHANGE` rows to a plain relation goes to the tuple-at-a-time
algorithms of :mod:`._incremental` (counting for non-recursive strata, DRed
for recursive ones, over hash indexes), whose cost follows what the change
reaches.  Larger changes, and changes to lattice-valued relations (whose
rows join rather than replace), use the columnar path kept here:

* insertion continues semi-naive evaluation from the inserted rows;
* deletion is DRed with Polars joins: over-delete semi-naively against the
  old state, remove, re-derive each over-deleted row with its head bound,
  and propagate the re-derived rows as an insertion.  Programs with
  negation, aggregation or lattice predicates are recomputed from their
  base facts instead, which is always correct.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from dynamic_semantic_lattice_engine._engine import Engine, EvaluationStats
from dynamic_semantic_lattice_engine._evaluate import UNIT, order_body, vcol
from dynamic_semantic_lattice_engine._incremental import maintain
from dynamic_semantic_lattice_engine._index import Row
from dynamic_semantic_lattice_engine._program import Aggregate, Atom, Const, Rule, Var
from dynamic_semantic_lattice_engine._relation import ROUND

__all__ = [
    "SMALL_CHANGE",
    "insert",
    "insert_rows",
    "is_monotone",
    "recompute",
    "retract",
    "retract_rows",
]

SMALL_CHANGE = 5_000
"""Changes of at most this many rows are maintained tuple at a time."""


def _rows(engine: Engine, name: str, frame: pl.DataFrame) -> list[Row] | None:
    """``frame``'s rows as tuples, or ``None`` when the change goes the columnar way."""
    rel = engine.relation(name)
    if rel.lattice is not None or frame.height > SMALL_CHANGE:
        return None
    cast = frame.select([pl.col(c).cast(rel.schema[c]) for c in rel.columns]).unique()
    return list(cast.iter_rows())


def insert(engine: Engine, name: str, frame: pl.DataFrame) -> EvaluationStats:
    """Add encoded base rows to ``name`` and bring the closure up to date."""
    rows = _rows(engine, name, frame)
    if rows is None:
        return _insert_columnar(engine, name, frame)
    return maintain(engine, {name: rows}, {})


def retract(engine: Engine, name: str, frame: pl.DataFrame) -> EvaluationStats:
    """Delete encoded base rows from ``name`` and bring the closure up to date."""
    rel = engine.relation(name)
    rows = _rows(engine, name, frame.select(rel.key_columns)) if rel.lattice is None else None
    if rows is None:
        return _retract_columnar(engine, name, frame)
    return maintain(engine, {}, {name: rows})


def _direct(engine: Engine, name: str, rows: Sequence[Row]) -> bool:
    """Whether encoded rows can go to :func:`maintain` as they are (plain integer columns)."""
    rel = engine.relation(name)
    return (
        rel.lattice is None
        and len(rows) <= SMALL_CHANGE
        and all(rel.schema[c].is_integer() for c in rel.columns)
    )


def _frame(engine: Engine, name: str, rows: Sequence[Row]) -> pl.DataFrame:
    rel = engine.relation(name)
    return pl.DataFrame(list(rows), schema=dict.fromkeys(rel.key_columns, pl.Int64), orient="row")


def insert_rows(engine: Engine, name: str, rows: Sequence[Row]) -> EvaluationStats:
    """:func:`insert` for rows already encoded as tuples of term ids.

    A batch of ten facts spends a few hundred microseconds building and
    casting small data frames on the frame path; a plain relation takes the
    tuples straight to :func:`maintain`.
    """
    if not _direct(engine, name, rows):
        return insert(engine, name, _frame(engine, name, rows))
    return maintain(engine, {name: list(dict.fromkeys(rows))}, {})


def retract_rows(engine: Engine, name: str, rows: Sequence[Row]) -> EvaluationStats:
    """:func:`retract` for rows already encoded as tuples of term ids (see :func:`insert_rows`)."""
    if not _direct(engine, name, rows):
        return retract(engine, name, _frame(engine, name, rows))
    return maintain(engine, {}, {name: list(dict.fromkeys(rows))})


def is_monotone(engine: Engine) -> bool:
    """Whether the program has no negation, aggregation or lattice predicate (DRed applies)."""
    for rule in engine.program.rules:
        for lit in rule.body:
            if isinstance(lit, Aggregate) or (isinstance(lit, Atom) and lit.negated):
                return False
    return all(rel.lattice is None for rel in engine.relations.values())


def _insert_columnar(engine: Engine, name: str, frame: pl.DataFrame) -> EvaluationStats:
    """Add encoded base rows to ``name`` and bring the closure up to date, column at a time."""
    engine.counts.clear()
    stats = EvaluationStats()
    engine.round += 1
    rel = engine.relation(name)
    if rel.lattice is None and rel.frame.height:
        keys = frame.select([pl.col(c).cast(pl.Int64) for c in rel.key_columns])
        hit = pl.col(ROUND) > 0
        derived = rel.frame.filter(hit).join(keys, on=rel.key_columns, how="semi")
        if derived.height:  # already derived: now also a base fact, so DRed must keep it
            rel.frame = pl.concat(
                [
                    rel.frame.join(derived.select(rel.key_columns), on=rel.key_columns, how="anti"),
                    derived.with_columns(pl.lit(0, dtype=pl.Int64).alias(ROUND)),
                ]
            )
    new = rel.merge(frame, 0)
    if new.height == 0:
        return stats
    if not is_monotone(engine) and _feeds_nonmonotone(engine, name):
        return recompute(engine)
    _propagate(engine, {name: new}, stats)
    return stats


def _feeds_nonmonotone(engine: Engine, name: str) -> bool:
    for rule in engine.program.rules:
        for lit in rule.body:
            if isinstance(lit, Aggregate) or (isinstance(lit, Atom) and lit.negated):
                return True
    return False


def _propagate(engine: Engine, changed: dict[str, pl.DataFrame], stats: EvaluationStats) -> None:
    cumulative = dict(changed)
    for component in engine.strata:
        rules = [r for r in engine.program.rules if r.head.pred in component]
        if not rules:
            continue
        if not any(isinstance(b, Atom) and b.pred in cumulative for r in rules for b in r.body):
            continue
        produced = engine._fixpoint(set(component), rules, stats, seed=cumulative)
        for pred, rows in produced.items():
            cumulative[pred] = (
                pl.concat([cumulative[pred], rows], rechunk=False) if pred in cumulative else rows
            )


def recompute(engine: Engine) -> EvaluationStats:
    """Drop every derived row (round > 0) and evaluate again from the base rows."""
    engine.counts.clear()
    for rel in engine.relations.values():
        rel.frame = rel.frame.filter(pl.col(ROUND) == 0)
    return engine.run()


def _retract_columnar(engine: Engine, name: str, frame: pl.DataFrame) -> EvaluationStats:
    """Delete encoded base rows from ``name`` and bring the closure up to date, column at a time (DRed)."""
    engine.counts.clear()
    rel = engine.relation(name)
    probe = frame.select([pl.col(c).cast(pl.Int64) for c in rel.key_columns]).unique()
    base = rel.frame.filter(pl.col(ROUND) == 0).join(probe, on=rel.key_columns, how="semi")
    if base.height == 0:
        return EvaluationStats()
    if not is_monotone(engine):
        rel.frame = rel.frame.join(base.select(rel.key_columns), on=rel.key_columns, how="anti")
        return recompute(engine)
    stats = EvaluationStats()
    # 1. over-delete against the old state
    over: dict[str, pl.DataFrame] = {name: base}
    delta: dict[str, pl.DataFrame] = {name: base}
    while delta:
        stats.iterations += 1
        found: dict[str, list[pl.DataFrame]] = {}
        for rule in engine.program.rules:
            for i, lit in enumerate(rule.body):
                if isinstance(lit, Atom) and not lit.negated and lit.pred in delta:
                    rows = engine._eval_rule(rule, i, delta[lit.pred])
                    if rows.height:
                        found.setdefault(rule.head.pred, []).append(rows)
        delta = {}
        for pred, frames in found.items():
            target = engine.relation(pred)
            cols = target.columns
            cand = pl.concat(frames, how="vertical_relaxed").select(cols).unique()
            present = target.frame.filter(pl.col(ROUND) > 0).join(cand, on=cols, how="semi")
            if pred in over:
                present = present.join(over[pred].select(cols), on=cols, how="anti")
            if present.height:
                delta[pred] = present
                over[pred] = (
                    pl.concat([over[pred], present], rechunk=False) if pred in over else present
                )
    # 2. remove
    for pred, rows in over.items():
        target = engine.relation(pred)
        target.frame = target.frame.join(rows.select(target.columns), on=target.columns, how="anti")
    # 3. re-derive the over-deleted rows that still have a derivation
    engine.round += 1
    rederived: dict[str, pl.DataFrame] = {}
    for pred, rows in over.items():  # a deleted base row may still be derived: check it too
        if rows.height == 0:
            continue
        target = engine.relation(pred)
        frames = [
            _rederive(engine, rule, rows) for rule in engine.program.rules if rule.head.pred == pred
        ]
        frames = [f for f in frames if f.height]
        if frames:
            back = target.merge(pl.concat(frames, how="vertical_relaxed"), engine.round)
            if back.height:
                rederived[pred] = back
    # 4. propagate the re-derived rows
    if rederived:
        _propagate(engine, rederived, stats)
    return stats


def _rederive(engine: Engine, rule: Rule, rows: pl.DataFrame) -> pl.DataFrame:
    """Heads of ``rule`` among ``rows`` that the current state still derives."""
    target = engine.relation(rule.head.pred)
    start = rows.select(target.columns)
    filters: list[pl.Expr] = []
    names: dict[str, str] = {}
    simple = True
    for i, arg in enumerate(rule.head.args):
        col = target.column_name(i)
        if isinstance(arg, Var):
            if arg.name in names:
                filters.append(pl.col(col) == pl.col(names[arg.name]))
            else:
                names[arg.name] = col
        elif isinstance(arg, Const):
            filters.append(pl.col(col) == engine.evaluator.encode_const(target, i, arg.value))
        else:
            simple = False
    if not simple:
        derived = engine._eval_rule(rule, None, None)
        return derived.join(start, on=target.columns, how="semi")
    if filters:
        start = start.filter(filters)
    if start.height == 0:
        return start
    bindings = (
        start.with_columns(pl.lit(0, dtype=pl.Int8).alias(UNIT))
        .select(
            [
                pl.col(UNIT),
                *(pl.col(c).alias(vcol(v)) for v, c in names.items()),
            ]
        )
        .unique()
    )
    result = engine.evaluator.evaluate(
        rule.body,
        lambda _i, a: engine.relation(a.pred).frame,
        order=order_body(rule.body),
        start=bindings,
    )
    return engine.evaluator.project(rule.head, result, rule.body).unique()
