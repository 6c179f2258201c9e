"""Evaluation of one rule body as a pipeline of vectorised joins.

A body is evaluated left to right over a *bindings frame*: one column per
bound variable (named ``?X``) plus a constant ``__u`` column that every frame
shares, so a join with no shared variable is still a hash join on ``__u`` (a
cross product) and the pipeline needs no special cases.  Atoms become
filter-and-project scans joined on their shared variables, negations become
anti-joins, comparisons become filters, ``X = expr`` adds a column, and
aggregates group the scan of their own body.  No step walks tuples in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from dynamic_semantic_lattice_engine._program import (
    Aggregate,
    Atom,
    BinOp,
    Const,
    Constraint,
    Literal_,
    Term,
    Var,
    Wildcard,
    term_vars,
)
from dynamic_semantic_lattice_engine._relation import Relation
from dynamic_semantic_lattice_engine._terms import TermDictionary
from dynamic_semantic_lattice_engine.errors import LatticeProgramError

__all__ = ["BodyEvaluator", "order_body", "unit_frame"]

UNIT = "__u"


def unit_frame() -> pl.DataFrame:
    """The bindings frame of the empty conjunction: one row, no variables."""
    return pl.DataFrame({UNIT: [0]}, schema={UNIT: pl.Int8()})


def vcol(name: str) -> str:
    return "?" + name


def order_body(body: Sequence[Literal_], first: int | None = None) -> list[int]:
    """A join order: ``first`` (the delta atom) leads, then atoms that share bound variables.

    Filters (comparisons, negations, aggregates) run as soon as the variables
    they need are bound, so intermediate frames stay small.
    """
    positives = [i for i, lit in enumerate(body) if isinstance(lit, Atom) and not lit.negated]
    others = [i for i in range(len(body)) if i not in positives]
    order: list[int] = []
    bound: set[str] = set()
    remaining = list(positives)
    pending = list(others)

    def place_filters() -> None:
        progress = True
        while progress:
            progress = False
            for i in list(pending):
                lit = body[i]
                if _ready(lit, bound):
                    order.append(i)
                    pending.remove(i)
                    bound.update(_binds(lit))
                    progress = True

    if first is not None and first in remaining:
        remaining.remove(first)
        order.append(first)
        bound |= body[first].vars()
    place_filters()
    while remaining:
        pick = next((i for i in remaining if body[i].vars() & bound), remaining[0])
        remaining.remove(pick)
        order.append(pick)
        bound |= body[pick].vars()
        place_filters()
    order.extend(pending)
    return order


def _ready(lit: Literal_, bound: set[str]) -> bool:
    if isinstance(lit, Atom):
        return lit.vars() <= bound
    if isinstance(lit, Constraint):
        if lit.op == "=" and isinstance(lit.left, Var) and lit.left.name not in bound:
            return term_vars(lit.right) <= bound
        if lit.op == "=" and isinstance(lit.right, Var) and lit.right.name not in bound:
            return term_vars(lit.left) <= bound
        return lit.vars() <= bound
    return False  # aggregates run after every positive atom, correlated on what those bind


def _binds(lit: Literal_) -> set[str]:
    if isinstance(lit, Constraint) and lit.op == "=":
        return lit.vars()
    if isinstance(lit, Aggregate):
        return {lit.result.name}
    return set()


@dataclass
class BodyEvaluator:
    """Evaluates bodies against relations; shared by rules, queries and explanations.

    Args:
        relations: every relation by name.
        terms: the term dictionary constants are interned in.
    """

    relations: dict[str, Relation]
    terms: TermDictionary

    def relation(self, name: str) -> Relation:
        rel = self.relations.get(name)
        if rel is None:
            raise LatticeProgramError(
                f"relation {name} is not declared", hint=f"add '.decl {name}(...)' to the program"
            )
        return rel

    # -- constants and types ------------------------------------------
    def encode_const(self, rel: Relation, index: int, value: str | int | float) -> Any:
        if rel.lattice is not None and index == rel.decl.arity - 1:
            return rel.encode_value(value)
        if rel.decl.is_number(index):
            if isinstance(value, str):
                raise LatticeProgramError(
                    f"relation {rel.name} column {index + 1} is a number, got symbol {value!r}",
                    hint="write the constant without quotes",
                )
            return value
        return self.terms.intern(value if isinstance(value, str) else _num_text(value))

    def var_types(self, body: Sequence[Literal_]) -> dict[str, str]:
        """Which variables hold numbers (``"number"``) or symbol ids (``"symbol"``)."""
        types: dict[str, str] = {}
        for lit in body:
            atoms = lit.body if isinstance(lit, Aggregate) else (lit,)
            for atom in atoms:
                if not isinstance(atom, Atom):
                    continue
                rel = self.relation(atom.pred)
                for i, arg in enumerate(atom.args):
                    if isinstance(arg, Var) and arg.name not in types:
                        is_value = rel.lattice is not None and i == rel.decl.arity - 1
                        numeric = rel.numeric if is_value else rel.decl.is_number(i)
                        types[arg.name] = (
                            "number" if numeric else ("value" if is_value else "symbol")
                        )
            if isinstance(lit, Aggregate):
                types[lit.result.name] = "number"
        for lit in body:
            if isinstance(lit, Constraint) and lit.op == "=":
                for a, b in ((lit.left, lit.right), (lit.right, lit.left)):
                    if isinstance(a, Var) and a.name not in types:
                        types[a.name] = (
                            "number"
                            if isinstance(b, BinOp)
                            or (isinstance(b, Const) and not isinstance(b.value, str))
                            else types.get(b.name, "symbol")
                            if isinstance(b, Var)
                            else "symbol"
                        )
        return types

    def expr(self, term: Term, types: dict[str, str], hint_type: str = "symbol") -> pl.Expr:
        if isinstance(term, Var):
            return pl.col(vcol(term.name))
        if isinstance(term, Const):
            if isinstance(term.value, str):
                if hint_type == "number":
                    raise LatticeProgramError(
                        f"symbol {term.value!r} compared with a number",
                        hint="compare numbers with numbers",
                    )
                return pl.lit(self.terms.intern(term.value), dtype=pl.Int64)
            if hint_type == "symbol":
                return pl.lit(self.terms.intern(_num_text(term.value)), dtype=pl.Int64)
            return pl.lit(term.value)
        if isinstance(term, BinOp):
            left = self.expr(term.left, types, "number")
            right = self.expr(term.right, types, "number")
            if term.op == "+":
                return left + right
            if term.op == "-":
                return left - right
            if term.op == "*":
                return left * right
            if term.op == "/":
                return left // right if not _has_float(term) else left / right
            if term.op == "%":
                return left % right
            if term.op == "min":
                return pl.min_horizontal(left, right)
            return pl.max_horizontal(left, right)
        raise LatticeProgramError("'_' cannot be used in an expression", hint="name the variable")

    def term_type(self, term: Term, types: dict[str, str]) -> str:
        if isinstance(term, Var):
            return types.get(term.name, "symbol")
        if isinstance(term, Const):
            return "symbol" if isinstance(term.value, str) else "number"
        return "number"

    # -- scans ---------------------------------------------------------
    def scan(self, atom: Atom, frame: pl.DataFrame) -> pl.DataFrame:
        """Filter ``frame`` (a relation's rows) by ``atom``'s constants and project its variables."""
        lazy, _ = self._scan(atom, frame)
        return lazy.collect()

    def _scan(self, atom: Atom, frame: pl.DataFrame) -> tuple[pl.LazyFrame, list[str]]:
        rel = self.relation(atom.pred)
        if len(atom.args) != rel.decl.arity:
            raise LatticeProgramError(
                f"{atom.pred} has {rel.decl.arity} columns but is used with {len(atom.args)}",
                hint=f"check the uses of {atom.pred}",
            )
        filters: list[pl.Expr] = []
        select: dict[str, str] = {}
        for i, arg in enumerate(atom.args):
            col = rel.column_name(i)
            if isinstance(arg, Const):
                filters.append(pl.col(col) == self.encode_const(rel, i, arg.value))
            elif isinstance(arg, Var):
                if arg.name in select:
                    filters.append(pl.col(col) == pl.col(select[arg.name]))
                else:
                    select[arg.name] = col
            elif isinstance(arg, BinOp):
                raise LatticeProgramError(
                    f"expression {arg} in a body atom of {atom.pred}",
                    hint="bind it to a variable: X = expr",
                )
        lazy = frame.lazy()
        if filters:
            lazy = lazy.filter(filters)
        lazy = lazy.with_columns(pl.lit(0, dtype=pl.Int8).alias(UNIT))  # broadcast to the height
        columns = [UNIT, *(vcol(v) for v in select)]
        return (
            lazy.select([pl.col(UNIT), *(pl.col(c).alias(vcol(v)) for v, c in select.items())]),
            columns,
        )

    # -- bodies --------------------------------------------------------
    def evaluate(
        self,
        body: Sequence[Literal_],
        source: Callable[[int, Atom], pl.DataFrame],
        *,
        order: Sequence[int] | None = None,
        start: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        """All bindings satisfying ``body``.

        The body is built as one lazy Polars query and collected once, so
        the optimiser sees every join and filter together.

        Args:
            body: the literals.
            source: gives the frame to scan for the positive atom at an index
                (the full relation, or its delta in a semi-naive variant).
            order: the join order (default :func:`order_body`).
            start: initial bindings (e.g. a head bound for an explanation).
        """
        lazy, _columns = self._evaluate(body, source, order=order, start=start)
        return lazy.collect()

    def _evaluate(
        self,
        body: Sequence[Literal_],
        source: Callable[[int, Atom], pl.DataFrame],
        *,
        order: Sequence[int] | None = None,
        start: pl.DataFrame | None = None,
    ) -> tuple[pl.LazyFrame, list[str]]:
        types = self.var_types(body)
        first = start if start is not None else unit_frame()
        bindings = first.lazy()
        columns = list(first.columns)
        for index in order if order is not None else order_body(body):
            lit = body[index]
            if isinstance(lit, Atom) and not lit.negated:
                scanned, scanned_cols = self._scan(lit, source(index, lit))
                shared = [c for c in scanned_cols if c in columns]
                bindings = bindings.join(scanned, on=shared, how="inner")
                columns += [c for c in scanned_cols if c not in columns]
            elif isinstance(lit, Atom):
                scanned, scanned_cols = self._scan(lit, self.relation(lit.pred).frame)
                if any(c not in columns for c in scanned_cols):  # local to the negation: exists
                    scanned_cols = [c for c in scanned_cols if c in columns]
                    scanned = scanned.select(scanned_cols)
                bindings = bindings.join(scanned.unique(), on=scanned_cols, how="anti")
            elif isinstance(lit, Constraint):
                bindings, columns = self.constrain(lit, bindings, columns, types)
            else:
                bindings, columns = self.aggregate(lit, bindings, columns)
        return bindings, columns

    def constrain(
        self,
        lit: Constraint,
        bindings: pl.LazyFrame,
        columns: list[str],
        types: dict[str, str],
    ) -> tuple[pl.LazyFrame, list[str]]:
        for target, other in ((lit.left, lit.right), (lit.right, lit.left)):
            if lit.op == "=" and isinstance(target, Var) and vcol(target.name) not in columns:
                _require_bound(other, columns, lit)
                hint = self.term_type(other, types)
                name = vcol(target.name)
                return bindings.with_columns(self.expr(other, types, hint).alias(name)), [
                    *columns,
                    name,
                ]
        _require_bound(lit.left, columns, lit)
        _require_bound(lit.right, columns, lit)
        kind = self.term_type(lit.left, types)
        if kind == "symbol":
            kind = self.term_type(lit.right, types)
        if kind == "symbol" and lit.op not in ("=", "!="):
            raise LatticeProgramError(
                f"ordering comparison {lit} on symbols", hint="order comparisons need numbers"
            )
        left = self.expr(lit.left, types, kind)
        right = self.expr(lit.right, types, kind)
        ops = {
            "=": left == right,
            "!=": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }
        return bindings.filter(ops[lit.op]), columns

    def aggregate(
        self, agg: Aggregate, bindings: pl.LazyFrame, columns: list[str]
    ) -> tuple[pl.LazyFrame, list[str]]:
        inner_types = self.var_types(agg.body)
        inner, inner_cols = self._evaluate(agg.body, lambda _i, a: self.relation(a.pred).frame)
        group = [c for c in inner_cols if c != UNIT and c in columns]
        if agg.func == "count":
            value = pl.len().cast(pl.Int64)
        else:
            target = self.expr(agg.target or Const(1), inner_types, "number")
            value = {
                "sum": target.sum(),
                "min": target.min(),
                "max": target.max(),
                "mean": target.mean(),
            }[agg.func]
        out = vcol(agg.result.name)
        fill = agg.func in ("count", "sum")
        if group:
            grouped = inner.group_by(group).agg(value.alias(out))
            joined = bindings.join(grouped, on=group, how="left" if fill else "inner")
            if fill:
                joined = joined.with_columns(pl.col(out).fill_null(0))
            return joined, [*columns, out]
        scalar = inner.select(value.alias(out))
        joined = bindings.join(scalar, how="cross")
        if fill:
            joined = joined.with_columns(pl.col(out).fill_null(0))
        else:
            joined = joined.filter(pl.col(out).is_not_null())
        return joined, [*columns, out]

    def project(self, head: Atom, bindings: pl.DataFrame, body: Sequence[Literal_]) -> pl.DataFrame:
        """The head rows the bindings produce, in the head relation's column names."""
        rel = self.relation(head.pred)
        if len(head.args) != rel.decl.arity:
            raise LatticeProgramError(
                f"{head.pred} has {rel.decl.arity} columns but the rule head gives {len(head.args)}",
                hint=f"check the rule for {head.pred}",
            )
        if bindings.height == 0:
            return rel.empty_frame().select(rel.columns)
        types = self.var_types(body)
        exprs: list[pl.Expr] = []
        for i, arg in enumerate(head.args):
            col = rel.column_name(i)
            is_value = rel.lattice is not None and i == rel.decl.arity - 1
            if isinstance(arg, Const):
                exprs.append(pl.lit(self.encode_const(rel, i, arg.value)).alias(col))
            elif isinstance(arg, Wildcard):
                raise LatticeProgramError(
                    f"'_' in the head of a rule for {head.pred}", hint="heads need values"
                )
            else:
                numeric = rel.numeric if is_value else rel.decl.is_number(i)
                exprs.append(self.expr(arg, types, "number" if numeric else "symbol").alias(col))
        return bindings.select(exprs)


def _require_bound(term: Term, columns: list[str], lit: Constraint) -> None:
    for name in term_vars(term):
        if vcol(name) not in columns:
            raise LatticeProgramError(
                f"variable {name} in '{lit}' is not bound",
                hint="bind it with a positive atom first",
            )


def _has_float(term: Term) -> bool:
    if isinstance(term, Const):
        return isinstance(term.value, float)
    if isinstance(term, BinOp):
        return _has_float(term.left) or _has_float(term.right)
    return False


def _num_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
