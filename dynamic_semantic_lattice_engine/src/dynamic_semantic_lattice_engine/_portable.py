"""Portable Datalog programs: facts as tables, rules as text, no declarations.

Test suites shared between engines (the ``datalog-conformance`` package)
give a program as ``{predicate: [tuples]}`` plus rule strings in the common
Datalog notation (``not`` for negation, lower-case identifiers as variables
in Soufflé's convention).  :class:`PortableEvaluator` turns one into a
program of ours: rules keep their meaning (``not`` becomes ``!``), and the
declarations Soufflé syntax requires are inferred, each column a number when
the facts or the rules put numbers there and a symbol otherwise.  Errors keep
the engine's own classes and gain the ``code`` the suites match on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dynamic_semantic_lattice_engine._engine import Engine
from dynamic_semantic_lattice_engine._parser import parse_program
from dynamic_semantic_lattice_engine._program import (
    Aggregate,
    Atom,
    BinOp,
    Const,
    Constraint,
    Program,
    Rule,
    Term,
    Var,
)
from dynamic_semantic_lattice_engine.errors import LatticeError, LatticeProgramError

__all__ = ["PortableEvaluator", "SafetyViolationError"]

Scalar = str | int | float | bool

# The suites name one error differently per source; ours -> theirs, where they differ.
_SUITE_CODES = {"wildcard_in_head": "safety_violations"}
_SAFETY = frozenset({"unbound_variable", "unsafe_negation", "wildcard_in_head"})


class SafetyViolationError(LatticeProgramError):
    """A rule is unsafe: a variable that no positive atom binds, or ``_`` in a head."""


def _code(exc: LatticeError) -> str | None:
    code = exc.context.get("code")
    return None if code is None else _SUITE_CODES.get(str(code), str(code))


_NUMERAL = re.compile(r"^-?[0-9]+$")


def _numerals(lit: Any, program: Program) -> Any:
    """``lit`` with numeral strings (``"6"``) in number columns read as numbers.

    The suites write one value both ways: harvested facts became YAML
    integers while the rules kept Soufflé's quoted constants.
    """
    if not isinstance(lit, Atom):
        return lit
    decl = program.decls[lit.pred]
    args = tuple(
        Const(int(arg.value))
        if isinstance(arg, Const)
        and isinstance(arg.value, str)
        and decl.is_number(i)
        and _NUMERAL.match(arg.value)
        else arg
        for i, arg in enumerate(lit.args)
    )
    return Atom(lit.pred, args, lit.negated)


_NOT = re.compile(r'("(?:[^"\\]|\\.)*")|\bnot\s+')


def _rule_text(rule: str) -> str:
    """One portable rule in our notation: ``not`` as ``!``, a final period."""
    text = _NOT.sub(lambda m: m.group(1) or "!", rule.strip())
    return text if text.endswith(".") else text + "."


class _Columns:
    """Union-find over (predicate, column) positions that share values through variables."""

    def __init__(self) -> None:
        self.parent: dict[tuple[str, int], tuple[str, int]] = {}
        self.number: set[tuple[str, int]] = set()
        self.symbol: set[tuple[str, int]] = set()

    def find(self, node: tuple[str, int]) -> tuple[str, int]:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, a: tuple[str, int], b: tuple[str, int]) -> None:
        self.parent[self.find(a)] = self.find(b)

    def kind(self, node: tuple[str, int]) -> str:
        root = self.find(node)
        members = [n for n in self.parent if self.find(n) == root]
        if any(n in self.symbol for n in members):
            return "symbol"
        return "number" if any(n in self.number for n in members) else "symbol"


def _atoms(program: Program) -> Iterable[Atom]:
    for rule in program.rules:
        yield rule.head
        for lit in rule.body:
            if isinstance(lit, Atom):
                yield lit
            elif isinstance(lit, Aggregate):
                yield from (a for a in lit.body if isinstance(a, Atom))


def _numeric_vars(program: Program) -> set[str]:
    """Variables the rules use as numbers (in arithmetic or compared with a number)."""
    out: set[str] = set()

    def visit(term: Term, numeric: bool) -> None:
        if isinstance(term, Var) and numeric:
            out.add(term.name)
        elif isinstance(term, BinOp):
            visit(term.left, True)
            visit(term.right, True)

    for rule in program.rules:
        for lit in [*rule.body, rule.head]:
            if isinstance(lit, Atom):
                for arg in lit.args:
                    visit(arg, False)
            elif isinstance(lit, Constraint):
                numbers = any(
                    isinstance(t, Const) and not isinstance(t.value, str)
                    for t in (lit.left, lit.right)
                ) or lit.op in ("<", "<=", ">", ">=")
                visit(lit.left, numbers)
                visit(lit.right, numbers)
    return out


class PortableEvaluator:
    """Evaluates a portable program: the ``datalog-conformance`` evaluator protocol.

    ``evaluate(program)`` takes any object with ``facts`` (predicate to
    tuples of strings and numbers) and ``rules`` (rule strings) and returns
    every relation's rows, symbols as ``str`` and numbers as numbers.
    """

    def evaluate(self, program: Any) -> dict[str, set[tuple[Scalar, ...]]]:
        facts: Mapping[str, Sequence[Sequence[Scalar]]] = program.facts
        rules: Sequence[str] = program.rules
        try:
            return self._evaluate(facts, rules)
        except LatticeError as exc:
            code = _code(exc)
            if code is None:
                raise
            kind = SafetyViolationError if exc.context.get("code") in _SAFETY else type(exc)
            error = kind(exc.message, hint=exc.hint, **exc.context)
            error.code = code  # type: ignore[attr-defined]
            raise error from exc

    def _evaluate(
        self, facts: Mapping[str, Sequence[Sequence[Scalar]]], rules: Sequence[str]
    ) -> dict[str, set[tuple[Scalar, ...]]]:
        text = "\n".join(_rule_text(r) for r in rules)
        parsed = parse_program(text, source="<rules>", allow_include=False)
        arity: dict[str, int] = {}

        def note(pred: str, n: int) -> None:
            if arity.setdefault(pred, n) != n:
                raise LatticeProgramError(
                    f"{pred} is used with {arity[pred]} and with {n} columns",
                    hint=f"give {pred} one arity",
                    code="arity_mismatch",
                )

        columns = _Columns()
        for pred, rows in facts.items():
            for row in rows:
                note(pred, len(row))
                for i, value in enumerate(row):
                    numeric = isinstance(value, int | float) and not isinstance(value, bool)
                    (columns.number if numeric else columns.symbol).add((pred, i))
        numeric_vars = _numeric_vars(parsed)
        for rule in parsed.rules:
            seen: dict[str, tuple[str, int]] = {}
            body_atoms = [lit for lit in rule.body if isinstance(lit, Atom)]
            for agg in (lit for lit in rule.body if isinstance(lit, Aggregate)):
                body_atoms.extend(a for a in agg.body if isinstance(a, Atom))
            for atom in [rule.head, *body_atoms]:
                note(atom.pred, len(atom.args))
                for i, arg in enumerate(atom.args):
                    node = (atom.pred, i)
                    columns.find(node)
                    if isinstance(arg, Var):
                        if arg.name in numeric_vars:
                            columns.number.add(node)
                        if arg.name in seen:
                            columns.union(node, seen[arg.name])
                        else:
                            seen[arg.name] = node
                    elif isinstance(arg, Const):
                        textual = isinstance(arg.value, str) and not _NUMERAL.match(arg.value)
                        (columns.symbol if textual else columns.number).add(node)
                    elif isinstance(arg, BinOp):
                        columns.number.add(node)
        decls = []
        for pred, n in sorted(arity.items()):
            cols = ", ".join(f"c{i}:{columns.kind((pred, i))}" for i in range(n))
            decls.append(f".decl {pred}({cols})")
        program = parse_program("\n".join(decls), source="<declarations>")
        program.rules = [
            Rule(_numerals(rule.head, program), tuple(_numerals(lit, program) for lit in rule.body))
            for rule in parsed.rules
        ]
        program.facts = parsed.facts
        engine = Engine(program)
        for pred, rows in facts.items():
            rel = engine.relation(pred)
            engine.add_facts(
                pred,
                [
                    tuple(
                        v
                        if rel.decl.is_number(i)
                        else (str(v).lower() if isinstance(v, bool) else str(v))
                        for i, v in enumerate(row)
                    )
                    for row in rows
                ],
            )
        engine.run()
        return {name: set(engine.rows(name)) for name in engine.relations}
