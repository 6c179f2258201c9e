"""Semi-naive, stratified evaluation of Datalog programs with lattice predicates.

:class:`Engine` owns the relations of one program.  ``run()`` evaluates each
stratum to its fixpoint: a first pass with every rule, then passes where each
recursive rule is re-run once per recursive body atom with that atom reading
only the previous pass's delta (the rows that were new, or whose lattice value
grew).  Joins, anti-joins and lattice joins are Polars operations over integer
columns.  The engine can also be updated incrementally (:mod:`._maintenance`),
queried, and asked to explain a derived fact.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from dynamic_semantic_lattice_engine._compose import Composition
from dynamic_semantic_lattice_engine._evaluate import UNIT, BodyEvaluator, order_body, vcol
from dynamic_semantic_lattice_engine._lattice import Lattice, builtin_lattice
from dynamic_semantic_lattice_engine._linear import LinearClosure, linear_closure
from dynamic_semantic_lattice_engine._program import (
    Aggregate,
    Atom,
    BinOp,
    Const,
    Constraint,
    Decl,
    Literal_,
    Program,
    Rule,
    Var,
    Wildcard,
)
from dynamic_semantic_lattice_engine._relation import ROUND, Relation
from dynamic_semantic_lattice_engine._stratify import stratify
from dynamic_semantic_lattice_engine._terms import TermDictionary
from dynamic_semantic_lattice_engine.errors import LatticeInputError, LatticeProgramError

__all__ = ["Derivation", "Engine", "EvaluationStats"]


@dataclass
class EvaluationStats:
    """What one ``run()`` did."""

    strata: int = 0
    iterations: int = 0
    derived: int = 0
    seconds: float = 0.0


@dataclass
class Derivation:
    """Why a fact holds: the rule that derived it and the derivations of its body facts."""

    fact: str
    rule: str | None = None
    children: list[Derivation] = field(default_factory=list)
    negated: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fact": self.fact}
        if self.rule is not None:
            out["rule"] = self.rule
            out["because"] = [c.to_dict() for c in self.children]
        else:
            out["rule"] = None
        if self.negated:
            out["absent"] = list(self.negated)
        return out

    def render(self, indent: int = 0) -> str:
        pad = "  " * indent
        if self.rule is None:
            lines = [f"{pad}{self.fact}    [given]"]
        else:
            lines = [f"{pad}{self.fact}    [by {self.rule}]"]
            lines.extend(child.render(indent + 1) for child in self.children)
            lines.extend(f"{pad}  not {n}    [absent]" for n in self.negated)
        return "\n".join(lines)


class Engine:
    """The relations of one program and its evaluation.

    Args:
        program: the parsed program.
        terms: the term dictionary to intern symbols in (shared with a knowledge base).
        lattices: lattices by name, beyond the built-ins (user lattices, already checked).
    """

    def __init__(
        self,
        program: Program,
        *,
        terms: TermDictionary | None = None,
        lattices: Mapping[str, Lattice[Any]] | None = None,
    ) -> None:
        self.program = replace(program, rules=[_anonymise(r) for r in program.rules])
        self.terms = terms if terms is not None else TermDictionary()
        self.lattices = dict(lattices or {})
        self.relations: dict[str, Relation] = {}
        for decl in program.decls.values():
            self.relations[decl.name] = Relation(decl, self._lattice(decl))
        self.evaluator = BodyEvaluator(self.relations, self.terms)
        self.composition = Composition(self.relations)
        self.round = 0
        self.counts: dict[str, dict[tuple[Any, ...], int]] = {}
        """Derivation counts of non-recursive derived relations, kept by incremental maintenance."""
        self._validate()
        self.strata = stratify(self.relations, program.rules)
        grouped: dict[str, list[tuple[Any, ...]]] = {}
        for fact in program.facts:
            grouped.setdefault(fact.pred, []).append(tuple(_const(a) for a in fact.args))
        for pred, rows in grouped.items():
            self.add_facts(pred, rows)

    def _lattice(self, decl: Decl) -> Lattice[Any] | None:
        if decl.lattice is None:
            return None
        if decl.lattice in self.lattices:
            return self.lattices[decl.lattice]
        return builtin_lattice(decl.lattice)

    def _validate(self) -> None:
        for atom in [*self.program.facts, *(r.head for r in self.program.rules)]:
            rel = self.relations.get(atom.pred)
            if rel is None:
                raise LatticeProgramError(
                    f"relation {atom.pred} is not declared",
                    hint=f"add '.decl {atom.pred}(...)' to the program",
                )
            if len(atom.args) != rel.decl.arity:
                raise LatticeProgramError(
                    f"{atom.pred} has {rel.decl.arity} columns but is given {len(atom.args)}",
                    hint=f"check the facts and rule heads for {atom.pred}",
                    code="arity_mismatch",
                )
        for rule in self.program.rules:
            bound: set[str] = set()
            for lit in rule.body:
                if isinstance(lit, Atom):
                    rel = self.evaluator.relation(lit.pred)
                    if len(lit.args) != rel.decl.arity:
                        raise LatticeProgramError(
                            f"{lit.pred} has {rel.decl.arity} columns but is used with {len(lit.args)}",
                            hint=f"check the uses of {lit.pred}",
                            code="arity_mismatch",
                        )
                    if not lit.negated:
                        bound |= {a.name for a in lit.args if isinstance(a, Var)}
            changed = True
            while changed:
                changed = False
                for lit in rule.body:
                    if isinstance(lit, Atom):
                        continue
                    if isinstance(lit, Constraint) and lit.op == "=":
                        for a, b in ((lit.left, lit.right), (lit.right, lit.left)):
                            if isinstance(a, Var) and a.name not in bound and _vars(b) <= bound:
                                bound.add(a.name)
                                changed = True
                    elif isinstance(lit, Aggregate) and lit.result.name not in bound:
                        bound.add(lit.result.name)
                        changed = True
            unbound = rule.head.vars() - bound
            if unbound:
                raise LatticeProgramError(
                    f"variable {sorted(unbound)[0]} in the head of '{rule}' is not bound by the body",
                    hint="every head variable must appear in a positive body atom (range restriction)",
                    code="unbound_variable",
                )
            if any(isinstance(arg, Wildcard) for arg in rule.head.args):
                raise LatticeProgramError(
                    f"'_' in the head of '{rule}'",
                    hint="a head needs a value in every column",
                    code="wildcard_in_head",
                )
            for lit in rule.body:
                if isinstance(lit, Atom) and any(isinstance(a, BinOp) for a in lit.args):
                    loose = lit.vars() - bound
                    raise LatticeProgramError(
                        f"variable {sorted(loose)[0]} in '{rule}' is not bound"
                        if loose
                        else f"expression in the body atom {lit} of '{rule}'",
                        hint="bind expressions to a variable first: X = expr",
                        code="unbound_variable" if loose else "expression_in_atom",
                    )
                outside = _vars_outside(rule, lit)
                if isinstance(lit, Atom) and lit.negated and not lit.vars() & outside <= bound:
                    loose = (lit.vars() & outside) - bound
                    raise LatticeProgramError(
                        f"variable {sorted(loose)[0]} in the negated {lit.pred} of '{rule}' is not bound",
                        hint="negated atoms may only use variables bound by positive atoms (use _ for any value)",
                        code="unsafe_negation",
                    )

    # -- facts -----------------------------------------------------------
    def relation(self, name: str) -> Relation:
        return self.evaluator.relation(name)

    def encode_rows(self, name: str, rows: Iterable[Sequence[Any]]) -> pl.DataFrame:
        """Rows of Python values (symbols as ``str``) as an encoded frame for ``name``."""
        rel = self.relation(name)
        data: list[list[Any]] = [[] for _ in rel.columns]
        for row in rows:
            if len(row) != rel.decl.arity:
                raise LatticeInputError(
                    f"{name} has {rel.decl.arity} columns, a row has {len(row)}: {tuple(row)!r}",
                    hint="check the fact's arity",
                )
            for i, value in enumerate(row):
                data[i].append(self.evaluator.encode_const(rel, i, value))
        return pl.DataFrame(
            {
                c: pl.Series(c, col, dtype=rel.schema[c])
                for c, col in zip(rel.columns, data, strict=True)
            }
        )

    def add_facts(self, name: str, rows: Iterable[Sequence[Any]]) -> int:
        """Add base facts (before or between runs); returns how many were new."""
        frame = self.encode_rows(name, rows)
        return self.relation(name).merge(frame, 0).height

    def add_frame(self, name: str, frame: pl.DataFrame) -> int:
        """Add already-encoded base rows (columns ``c0..`` and ``v``)."""
        return self.relation(name).merge(frame, 0).height

    def load_inputs(self, fact_dir: Path) -> None:
        """Read every ``.input`` relation from ``fact_dir`` (Soufflé's tab-separated ``.facts``)."""
        for name, params in self.program.inputs.items():
            rel = self.relation(name)
            path = fact_dir / params.get("filename", f"{name}.facts")
            if not path.is_file():
                raise LatticeInputError(
                    f"input file {path} for relation {name} does not exist",
                    hint="pass the directory holding the .facts files with --facts",
                )
            self.add_frame(name, self.read_delimited(rel, path, params.get("delimiter", "\t")))

    def read_delimited(self, rel: Relation, path: Path, delimiter: str) -> pl.DataFrame:
        """Read and intern one delimited fact file for ``rel``."""
        text = path.read_text(encoding="utf-8")
        lines = [line for line in text.split("\n") if line != ""]
        columns: list[list[str]] = [[] for _ in rel.columns]
        for number, line in enumerate(lines, 1):
            fields = line.rstrip("\r").split(delimiter)
            if len(fields) != rel.decl.arity:
                raise LatticeInputError(
                    f"{path}:{number}: {len(fields)} fields, relation {rel.name} has {rel.decl.arity}",
                    hint="fact files are tab-separated, one fact per line",
                )
            for i, f in enumerate(fields):
                columns[i].append(f)
        series: dict[str, pl.Series] = {}
        for i, (col, values) in enumerate(zip(rel.columns, columns, strict=True)):
            if rel.lattice is not None and i == rel.decl.arity - 1:
                series[col] = pl.Series(
                    col, [rel.encode_value(v) for v in values], dtype=rel.schema[col]
                )
            elif rel.decl.is_number(i):
                try:
                    nums = [
                        int(v) if rel.decl.columns[i][1] != "float" else float(v) for v in values
                    ]
                except ValueError as exc:
                    raise LatticeInputError(
                        f"{path}: column {i + 1} of {rel.name} must be numbers", hint=str(exc)
                    ) from exc
                series[col] = pl.Series(
                    col, nums, dtype=pl.Int64 if rel.decl.columns[i][1] != "float" else pl.Float64
                )
            else:
                series[col] = pl.Series(col, self.terms.intern_many(values), dtype=pl.Int64)
        return pl.DataFrame(series)

    def write_outputs(self, out_dir: Path) -> list[Path]:
        """Write every ``.output`` relation as ``NAME.csv`` (tab-separated) into ``out_dir``."""
        out_dir.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for name, params in self.program.outputs.items():
            path = out_dir / params.get("filename", f"{name}.csv")
            rows = sorted(self.rows(name))
            path.write_text(
                "".join("\t".join(str(v) for v in row) + "\n" for row in rows), encoding="utf-8"
            )
            written.append(path)
        return written

    def rows(self, name: str) -> list[tuple[Any, ...]]:
        """The rows of ``name`` decoded to Python values (symbols as ``str``)."""
        rel = self.relation(name)
        return self.decode_frame(rel, rel.frame)

    def decode_frame(self, rel: Relation, frame: pl.DataFrame) -> list[tuple[Any, ...]]:
        cols: list[list[Any]] = []
        for i, col in enumerate(rel.columns):
            values = frame.get_column(col).to_list()
            if rel.lattice is not None and i == rel.decl.arity - 1:
                cols.append([rel.decode_value(v) for v in values])
            elif rel.decl.is_number(i):
                cols.append(values)
            else:
                cols.append(self.terms.decode(values))
        return list(zip(*cols, strict=True)) if cols else [() for _ in range(frame.height)]

    # -- evaluation ------------------------------------------------------
    def run(self) -> EvaluationStats:
        """Evaluate every stratum to its fixpoint."""
        started = time.perf_counter()
        stats = EvaluationStats()
        self.counts.clear()
        for component in self.strata:
            rules = [r for r in self.program.rules if r.head.pred in component]
            if not rules:
                continue
            stats.strata += 1
            self._fixpoint(set(component), rules, stats, seed=None)
        stats.seconds = time.perf_counter() - started
        return stats

    def _fixpoint(
        self,
        component: set[str],
        rules: list[Rule],
        stats: EvaluationStats,
        seed: dict[str, pl.DataFrame] | None,
    ) -> dict[str, pl.DataFrame]:
        """Run ``rules`` to a fixpoint; with ``seed``, start semi-naively from those deltas."""
        produced: dict[str, list[pl.DataFrame]] = {}
        if seed is None:
            self.round += 1
            full: dict[tuple[str, tuple[int, ...]], set[Any]] = {}
            candidates = [
                (r.head, self._eval_rule(r, None, None))
                for r in rules
                if all(
                    self._may_match(lit, None, full)
                    for lit in r.body
                    if isinstance(lit, Atom) and not lit.negated
                )
            ]
            delta = self._merge(candidates, stats, produced)
            if delta:
                closure = linear_closure(rules, component, self.relations)
                if closure is not None:
                    self._close_linear(closure, delta, stats, produced)
                    delta = {}
        else:
            delta = {k: v for k, v in seed.items() if v.height}
        while delta:
            stats.iterations += 1
            self.round += 1
            candidates = []
            present: dict[tuple[str, tuple[int, ...]], set[Any]] = {}
            whole: dict[tuple[str, tuple[int, ...]], set[Any]] = {}
            for rule in rules:
                for i, lit in enumerate(rule.body):
                    if isinstance(lit, Atom) and not lit.negated and lit.pred in delta:
                        if not self._may_match(lit, delta[lit.pred], present):
                            continue
                        if not all(
                            self._may_match(other, None, whole)
                            for j, other in enumerate(rule.body)
                            if j != i and isinstance(other, Atom) and not other.negated
                        ):
                            continue
                        candidates.append((rule.head, self._eval_rule(rule, i, delta[lit.pred])))
            delta = self._merge(candidates, stats, produced)
            delta = {k: v for k, v in delta.items() if k in component or seed is not None}
        return {pred: pl.concat(chunks, rechunk=False) for pred, chunks in produced.items()}

    def _close_linear(
        self,
        closure: LinearClosure,
        delta: dict[str, pl.DataFrame],
        stats: EvaluationStats,
        produced: dict[str, list[pl.DataFrame]],
    ) -> None:
        """The semi-naive loop for a linear stratum (:mod:`._linear`), same rows, same rounds."""
        rel = closure.target
        for first, second in closure.iterations(delta[rel.name]):
            stats.iterations += 1
            self.round += 1
            fresh = pl.DataFrame(
                [
                    pl.Series(rel.column_name(0), first),
                    pl.Series(rel.column_name(1), second),
                    pl.Series(ROUND, np.full(first.shape[0], self.round, dtype=np.int64)),
                ]
            )
            rel.extend_new(fresh, self.round)
            stats.derived += fresh.height
            produced.setdefault(rel.name, []).append(fresh)
        stats.iterations += 1  # the last iteration, which found nothing new
        self.round += 1

    def _may_match(
        self,
        atom: Atom,
        frame: pl.DataFrame | None,
        present: dict[tuple[str, tuple[int, ...]], set[Any]],
    ) -> bool:
        """Cheap pre-check: ``atom``'s constants occur together in some row of ``frame``.

        Most rules over ``triple`` name a constant predicate (and often a
        constant class); a frame with no row holding them cannot fire the
        rule, and a set lookup is far cheaper than a vectorised scan.
        """
        rel = self.relation(atom.pred)
        positions = tuple(
            i
            for i, arg in enumerate(atom.args)
            if isinstance(arg, Const) and not (rel.lattice is not None and i == rel.decl.arity - 1)
        )
        if not positions:
            return (frame.height if frame is not None else len(rel)) > 0
        key = (atom.pred, positions)
        values = present.get(key)
        if values is None:
            cols = [rel.column_name(i) for i in positions]
            source = frame if frame is not None else rel.frame
            values = set(source.select(cols).unique().iter_rows())
            present[key] = values
        wanted = tuple(self.evaluator.encode_const(rel, i, atom.args[i].value) for i in positions)  # type: ignore[union-attr]
        return wanted in values

    def _merge(
        self,
        candidates: list[tuple[Atom, pl.DataFrame]],
        stats: EvaluationStats,
        produced: dict[str, list[pl.DataFrame]],
    ) -> dict[str, pl.DataFrame]:
        by_pred: dict[str, list[pl.DataFrame]] = {}
        for head, frame in candidates:
            if frame.height:
                by_pred.setdefault(head.pred, []).append(frame)
        delta: dict[str, pl.DataFrame] = {}
        for pred, frames in by_pred.items():
            rel = self.relation(pred)
            rows = frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")
            new = rel.merge(rows, self.round)
            if new.height:
                delta[pred] = new
                stats.derived += new.height
                produced.setdefault(pred, []).append(new)
        return delta

    def _eval_rule(
        self, rule: Rule, delta_index: int | None, delta: pl.DataFrame | None
    ) -> pl.DataFrame:
        composed = self.composition.evaluate(rule, delta_index, delta)
        if composed is not None:
            return composed
        body = rule.body

        def source(i: int, atom: Atom) -> pl.DataFrame:
            if i == delta_index and delta is not None:
                return delta
            return self.relation(atom.pred).frame

        bindings = self.evaluator.evaluate(body, source, order=order_body(body, delta_index))
        return self.evaluator.project(rule.head, bindings, body)

    # -- queries -----------------------------------------------------------
    def query(self, body: Sequence[Literal_]) -> list[dict[str, Any]]:
        """Answer a conjunctive query: one dict of variable bindings per distinct answer."""
        for lit in body:
            if isinstance(lit, Atom):
                self.evaluator.relation(lit.pred)
        bindings = self.evaluator.evaluate(body, lambda _i, a: self.relation(a.pred).frame)
        types = self.evaluator.var_types(body)
        names = [c for c in bindings.columns if c != UNIT]
        if not names:  # a ground query: true (one empty answer) or false (none)
            return [{}] if bindings.height else []
        value_rel = _value_relations(self, body)
        frame = bindings.select(names).unique(maintain_order=True)
        out_cols: dict[str, list[Any]] = {}
        for col in names:
            var = col[1:]
            values = frame.get_column(col).to_list()
            if types.get(var) == "symbol":
                out_cols[var] = self.terms.decode(values)
            elif types.get(var) == "value" and var in value_rel:
                out_cols[var] = [value_rel[var].decode_value(v) for v in values]
            else:
                out_cols[var] = values
        return [
            dict(zip(out_cols, vals, strict=True)) for vals in zip(*out_cols.values(), strict=True)
        ]

    def explain(self, atom: Atom, *, max_depth: int = 64) -> Derivation:
        """The derivation tree of a fact that holds (rules and the facts they used).

        Raises:
            LatticeInputError: the fact does not hold.
        """
        rel = self.relation(atom.pred)
        key = self.encode_rows(atom.pred, [tuple(_const(a) for a in atom.args)])
        row = rel.frame.join(key.select(rel.key_columns), on=rel.key_columns, how="semi")
        if row.height == 0:
            raise LatticeInputError(
                f"{atom} does not hold", hint="query the relation to see what holds"
            )
        return self._explain_row(rel, row.row(0, named=True), max_depth, set())

    def _fact_text(self, rel: Relation, row: Mapping[str, Any]) -> str:
        frame = pl.DataFrame(
            {c: [row[c]] for c in rel.columns}, schema={c: rel.schema[c] for c in rel.columns}
        )
        values = self.decode_frame(rel, frame)[0]
        parts = [repr(v) if isinstance(v, str) else str(v) for v in values]
        return f"{rel.name}({', '.join(p.replace(chr(39), chr(34)) if p.startswith(chr(39)) else p for p in parts)})"

    def _explain_row(
        self,
        rel: Relation,
        row: Mapping[str, Any],
        depth: int,
        seen: set[tuple[str, tuple[Any, ...]]],
    ) -> Derivation:
        text = self._fact_text(rel, row)
        round_ = int(row[ROUND])
        ident = (rel.name, tuple(row[c] for c in rel.key_columns))
        if round_ == 0 or depth <= 0 or ident in seen:
            return Derivation(text)
        seen = seen | {ident}
        for strict in (True, False):
            for rule in self.program.rules:
                if rule.head.pred != rel.name:
                    continue
                found = self._instantiate(rule, rel, row, round_, strict)
                if found is None:
                    continue
                children: list[Derivation] = []
                negated: list[str] = []
                for lit, child_rel, child_row in found:
                    if child_rel is None:
                        negated.append(str(lit))
                    else:
                        children.append(self._explain_row(child_rel, child_row, depth - 1, seen))
                return Derivation(text, str(rule), children, negated)
        return Derivation(text)

    def _instantiate(
        self, rule: Rule, rel: Relation, row: Mapping[str, Any], round_: int, strict: bool
    ) -> list[tuple[Literal_, Relation | None, dict[str, Any]]] | None:
        start = pl.DataFrame({UNIT: [0]}, schema={UNIT: pl.Int8()})
        extra: list[Literal_] = []
        for i, arg in enumerate(rule.head.args):
            col = rel.column_name(i)
            if (
                isinstance(arg, Var)
                and vcol(arg.name) not in start.columns
                and not (rel.lattice is not None and col == "v")
            ):
                start = start.with_columns(
                    pl.lit(row[col], dtype=rel.schema[col]).alias(vcol(arg.name))
                )
            elif not isinstance(arg, Var) and not isinstance(arg, Const):
                continue
            elif (
                isinstance(arg, Const)
                and self.evaluator.encode_const(rel, i, arg.value) != row[col]
            ):
                return None
        limit = round_ if strict else round_ + 1

        def source(_i: int, atom: Atom) -> pl.DataFrame:
            frame = self.relation(atom.pred).frame
            return frame.filter(pl.col(ROUND) < limit)

        bindings = self.evaluator.evaluate(rule.body, source, start=start)
        if extra or bindings.height == 0:
            return None
        binding = bindings.row(0, named=True)
        out: list[tuple[Literal_, Relation | None, dict[str, Any]]] = []
        for lit in rule.body:
            if not isinstance(lit, Atom):
                continue
            child = self.relation(lit.pred)
            probe: dict[str, Any] = {}
            for i, arg in enumerate(lit.args):
                col = child.column_name(i)
                if isinstance(arg, Var):
                    probe[col] = binding[vcol(arg.name)]
                elif isinstance(arg, Const):
                    probe[col] = self.evaluator.encode_const(child, i, arg.value)
            if lit.negated:
                out.append((lit, None, probe))
                continue
            frame = child.frame
            for col, value in probe.items():
                frame = frame.filter(pl.col(col) == value)
            frame = frame.filter(pl.col(ROUND) < limit)
            if frame.height == 0:
                return None
            out.append((lit, child, frame.row(0, named=True)))
        return out


def _vars_outside(rule: Rule, inside: Literal_) -> set[str]:
    """Variables of ``rule`` that occur in some literal other than ``inside`` (or in the head)."""
    out = rule.head.vars()
    for lit in rule.body:
        if lit is not inside:
            out |= lit.vars()
    return out


def _anonymise(rule: Rule) -> Rule:
    """``rule`` with variables that occur once, inside a negated atom, written as ``_``.

    ``!s(X, P)`` with ``P`` nowhere else means no ``s(X, _)`` row exists
    (Nemo and Soufflé read it so); it is not an unsafe variable.
    """
    counts: dict[str, int] = {}

    def count(term: Any) -> None:
        if isinstance(term, Var):
            counts[term.name] = counts.get(term.name, 0) + 1
        elif isinstance(term, BinOp):
            count(term.left)
            count(term.right)

    for lit in (rule.head, *rule.body):
        if isinstance(lit, Atom):
            for arg in lit.args:
                count(arg)
        elif isinstance(lit, Constraint):
            count(lit.left)
            count(lit.right)
        elif isinstance(lit, Aggregate):
            return rule  # variables inside aggregates are scoped there: leave such rules alone
    lone = {name for name, n in counts.items() if n == 1}
    if not lone:
        return rule
    body = tuple(
        Atom(
            lit.pred,
            tuple(Wildcard() if isinstance(a, Var) and a.name in lone else a for a in lit.args),
            negated=True,
        )
        if isinstance(lit, Atom) and lit.negated
        else lit
        for lit in rule.body
    )
    return rule if body == rule.body else Rule(rule.head, body)


def _vars(term: Any) -> set[str]:
    from dynamic_semantic_lattice_engine._program import term_vars

    return term_vars(term)


def _const(term: Any) -> Any:
    if not isinstance(term, Const):
        raise LatticeInputError(f"{term} is not a constant", hint="facts take constants only")
    return term.value


def _value_relations(engine: Engine, body: Sequence[Literal_]) -> dict[str, Relation]:
    out: dict[str, Relation] = {}
    for lit in body:
        if isinstance(lit, Atom) and not lit.negated:
            rel = engine.relation(lit.pred)
            if rel.lattice is not None:
                last = lit.args[-1]
                if isinstance(last, Var):
                    out[last.name] = rel
    return out
