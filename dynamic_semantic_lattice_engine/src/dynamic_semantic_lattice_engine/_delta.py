"""Delta rules evaluated tuple at a time over hash indexes.

Incremental maintenance asks the same question many times with a handful
of rows: *which heads does this rule produce when body literal ``i`` reads
only these rows?* (semi-naive delta rules), and *does this rule still derive
this head?* (DRed's re-derivation).  A :class:`RulePlan` compiles a rule's
literals once (constants interned, columns resolved) and orders the body
per question, greedily, so every positive atom after the first is a hash
lookup on the columns already bound (:class:`._index.TupleIndex`), negation
is a membership or existence test, and comparisons run as soon as their
variables are bound.  Each literal reads the relation in a state the caller
picks (before or after the change), which is what the counting and DRed
delta rules need.

Arithmetic follows the columnar evaluator (:mod:`._evaluate`): integer ``/``
is floor division unless a float is involved; symbols compare by identity.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from dynamic_semantic_lattice_engine._evaluate import BodyEvaluator
from dynamic_semantic_lattice_engine._index import Row, TupleIndex, View, key_of
from dynamic_semantic_lattice_engine._program import (
    Aggregate,
    Atom,
    BinOp,
    Const,
    Constraint,
    Rule,
    Term,
    Var,
    Wildcard,
    term_vars,
)
from dynamic_semantic_lattice_engine.errors import LatticeEvaluationError, LatticeProgramError

__all__ = ["AtomDispatch", "HeadDispatch", "RulePlan", "ViewFor", "supported"]

Binding = dict[str, Any]
ViewFor = Callable[[int], View]
"""Gives the view (state) body literal ``i`` reads."""

_ATOM, _NEG, _TEST, _ASSIGN = range(4)

_NO_VIEW = TupleIndex(())
"""Stands at the positions of comparisons, which read no relation."""

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def supported(rule: Rule) -> bool:
    """Whether the tuple-level evaluator handles ``rule`` (aggregates go to the columnar one)."""
    return not any(isinstance(lit, Aggregate) for lit in rule.body)


class _FoundError(Exception):
    """Stops a search at its first solution (control flow, never escapes this module)."""


@dataclass
class _Literal:
    """One body literal, compiled: constants encoded, variables by column."""

    index: int
    kind: int
    pred: str = ""
    consts: list[tuple[int, Any]] = field(default_factory=list)
    var_cols: list[tuple[int, str]] = field(default_factory=list)
    wild: bool = False
    local: bool = False
    vars: frozenset[str] = frozenset()
    test: Callable[[Binding], bool] = field(default=lambda _b: True)
    target: str = ""
    compute: Callable[[Binding], Any] = field(default=lambda _b: None)


@dataclass
class _Step:
    """A literal placed in a join order, with what is bound when it runs."""

    lit: _Literal
    positions: tuple[int, ...] = ()
    key: Callable[[Binding], Any] = field(default=lambda _b: ())
    binds: list[tuple[int, str]] = field(default_factory=list)
    equal: list[tuple[int, int]] = field(default_factory=list)
    full: bool = False  # every column bound (two or more): a membership test, not a lookup


class RulePlan:
    """One rule compiled for tuple-at-a-time evaluation.

    Args:
        rule: the rule (no aggregates: see :func:`supported`).
        evaluator: the columnar evaluator, for relations, constants and types.
    """

    def __init__(self, rule: Rule, evaluator: BodyEvaluator) -> None:
        self.rule = rule
        self.evaluator = evaluator
        self.types = evaluator.var_types(rule.body)
        self.literals: list[_Literal] = [self._compile(i) for i in range(len(rule.body))]
        for lit in self.literals:
            if lit.kind == _NEG:  # variables only this negation uses are existential in it
                outside: set[str] = set(rule.head.vars())
                for other in rule.body:
                    if other is not rule.body[lit.index]:
                        outside |= other.vars()
                lit.vars = frozenset(lit.vars & outside)
                lit.local = any(name not in outside for _, name in lit.var_cols)
        self.atoms = [lit for lit in self.literals if lit.kind in (_ATOM, _NEG)]
        head_rel = evaluator.relation(rule.head.pred)
        self.head_pred = rule.head.pred
        self._head: list[Callable[[Binding], Any]] = []
        self.head_vars: list[tuple[int, str]] = []
        self.head_consts: list[tuple[int, Any]] = []
        for i, arg in enumerate(rule.head.args):
            is_value = head_rel.lattice is not None and i == head_rel.decl.arity - 1
            numeric = head_rel.numeric if is_value else head_rel.decl.is_number(i)
            if isinstance(arg, Wildcard):
                raise LatticeProgramError(
                    f"'_' in the head of a rule for {rule.head.pred}", hint="heads need values"
                )
            if isinstance(arg, Var):
                self.head_vars.append((i, arg.name))
            elif isinstance(arg, Const):
                self.head_consts.append((i, evaluator.encode_const(head_rel, i, arg.value)))
            fn = self._expr(arg, "number" if numeric else "symbol")
            integral = numeric and head_rel.schema[head_rel.column_name(i)].is_integer()
            self._head.append(_as_int(fn) if integral else fn)
        self._orders: dict[tuple[int | None, frozenset[str]], list[_Step]] = {}
        self._fixed_head = all(isinstance(a, (Var, Const)) for a in rule.head.args)
        """Every head argument is bound by the row itself, so any body solution derives it."""
        self._firsts: dict[frozenset[str], list[tuple[_Step, list[_Step]]]] = {}
        self._patterns: set[tuple[str, tuple[int, ...]]] | None = None
        self._head_bound = frozenset(name for _, name in self.head_vars)
        self.traceable = self._fixed_head and all(lit.kind != _NEG for lit in self.literals)
        """No negation and a head of variables and constants: :meth:`proof` applies."""
        simple = all(isinstance(a, (Var, Const)) for a in rule.head.args) and not any(
            head_rel.decl.is_number(i) for i in range(head_rel.decl.arity)
        )
        self._simple_head: Callable[[Binding], Row] | None = (
            _tuple_builder(
                [
                    (True, self._head[i]({})) if isinstance(a, Const) else (False, a.name)
                    for i, a in enumerate(rule.head.args)
                    if isinstance(a, (Var, Const))
                ]
            )
            if simple
            else None
        )
        """Symbols and variables only: the head tuple is built without per-column calls."""

    def views(self, by_pred: Mapping[str, View]) -> ViewFor:
        """The :data:`ViewFor` reading each body atom's relation from ``by_pred``.

        A tuple's ``__getitem__``: the evaluator asks for a view at every
        step, and a closure that looked the predicate up each time cost more
        than the lookup it served.
        """
        return tuple(
            by_pred[lit.pred] if lit.kind in (_ATOM, _NEG) else _NO_VIEW for lit in self.literals
        ).__getitem__

    # -- compilation -------------------------------------------------------
    def _compile(self, index: int) -> _Literal:
        lit = self.rule.body[index]
        if isinstance(lit, Atom):
            rel = self.evaluator.relation(lit.pred)
            if len(lit.args) != rel.decl.arity:
                raise LatticeProgramError(
                    f"{lit.pred} has {rel.decl.arity} columns but is used with {len(lit.args)}",
                    hint=f"check the uses of {lit.pred}",
                )
            out = _Literal(index, _NEG if lit.negated else _ATOM, pred=lit.pred)
            for i, arg in enumerate(lit.args):
                if isinstance(arg, Const):
                    out.consts.append((i, self.evaluator.encode_const(rel, i, arg.value)))
                elif isinstance(arg, Var):
                    out.var_cols.append((i, arg.name))
                elif isinstance(arg, Wildcard):
                    out.wild = True
                else:
                    raise LatticeProgramError(
                        f"expression {arg} in a body atom of {lit.pred}",
                        hint="bind it to a variable: X = expr",
                    )
            out.vars = frozenset(name for _, name in out.var_cols)
            return out
        if isinstance(lit, Constraint):
            for target, other in ((lit.left, lit.right), (lit.right, lit.left)):
                if lit.op == "=" and isinstance(target, Var):
                    # binds ``target`` when it is unbound at run time, tests it otherwise
                    hint = self.evaluator.term_type(other, self.types)
                    out = _Literal(index, _ASSIGN, target=target.name)
                    out.compute = self._expr(other, hint)
                    out.vars = frozenset(term_vars(other))
                    out.test = self._test(lit)
                    return out
            out = _Literal(index, _TEST, test=self._test(lit))
            out.vars = frozenset(lit.vars())
            return out
        raise LatticeProgramError(
            "aggregates are evaluated by the columnar engine", hint="this is an internal routing"
        )

    def _test(self, lit: Constraint) -> Callable[[Binding], bool]:
        kind = self.evaluator.term_type(lit.left, self.types)
        if kind == "symbol":
            kind = self.evaluator.term_type(lit.right, self.types)
        if kind == "symbol" and lit.op not in ("=", "!="):
            raise LatticeProgramError(
                f"ordering comparison {lit} on symbols", hint="order comparisons need numbers"
            )
        left = self._expr(lit.left, kind)
        right = self._expr(lit.right, kind)
        compare = _COMPARE[lit.op]
        return lambda b: bool(compare(left(b), right(b)))

    def _expr(self, term: Term, hint: str) -> Callable[[Binding], Any]:
        if isinstance(term, Var):
            name = term.name
            return lambda b: b[name]
        if isinstance(term, Const):
            if isinstance(term.value, str):
                if hint == "number":
                    raise LatticeProgramError(
                        f"symbol {term.value!r} compared with a number",
                        hint="compare numbers with numbers",
                    )
                ident = self.evaluator.terms.intern(term.value)
                return lambda _b: ident
            if hint == "symbol":
                text = _num_text(term.value)
                ident = self.evaluator.terms.intern(text)
                return lambda _b: ident
            value = term.value
            return lambda _b: value
        if isinstance(term, BinOp):
            left = self._expr(term.left, "number")
            right = self._expr(term.right, "number")
            return _arith(term.op, left, right, floating=_has_float(term))
        raise LatticeProgramError("'_' cannot be used in an expression", hint="name the variable")

    # -- ordering ----------------------------------------------------------
    def _order(self, first: int | None, bound0: frozenset[str]) -> list[_Step]:
        cached = self._orders.get((first, bound0))
        if cached is not None:
            return cached
        bound = set(bound0)
        pending = [lit for lit in self.literals if lit.index != first]
        if first is not None:
            bound |= self.literals[first].vars
        steps: list[_Step] = []
        while pending:
            ready = next((lit for lit in pending if self._ready(lit, bound)), None)
            if ready is None:
                atoms = [lit for lit in pending if lit.kind == _ATOM]
                if not atoms:
                    names = sorted(set().union(*(lit.vars for lit in pending)) - bound)
                    raise LatticeProgramError(
                        f"variable {names[0] if names else '?'} in '{self.rule}' is not bound",
                        hint="bind it with a positive atom first",
                    )
                ready = max(atoms, key=lambda lit: self._bound_columns(lit, bound))
            pending.remove(ready)
            steps.append(self._step(ready, bound))
        self._orders[(first, bound0)] = steps
        return steps

    @staticmethod
    def _ready(lit: _Literal, bound: set[str]) -> bool:
        return lit.kind in {_NEG, _TEST, _ASSIGN} and lit.vars <= bound

    @staticmethod
    def _bound_columns(lit: _Literal, bound: set[str]) -> tuple[int, int]:
        hits = len(lit.consts) + sum(1 for _, name in lit.var_cols if name in bound)
        return hits, -len(lit.var_cols)

    def _step(self, lit: _Literal, bound: set[str]) -> _Step:
        if lit.kind in (_TEST, _ASSIGN):
            if lit.kind == _ASSIGN:
                bound.add(lit.target)
            return _Step(lit)
        parts: list[tuple[int, bool, Any]] = [(pos, True, value) for pos, value in lit.consts]
        binds: list[tuple[int, str]] = []
        equal: list[tuple[int, int]] = []
        first_col: dict[str, int] = {}
        for pos, name in lit.var_cols:
            if name in bound:
                parts.append((pos, False, name))
            elif name in first_col:
                equal.append((first_col[name], pos))
            else:
                first_col[name] = pos
                binds.append((pos, name))
        parts.sort()
        positions = tuple(p for p, _, _ in parts)
        key = _key_builder([(is_const, v) for _, is_const, v in parts])
        arity = self.evaluator.relation(lit.pred).decl.arity
        full = lit.kind == _ATOM and arity >= 2 and positions == tuple(range(arity))
        if lit.kind == _ATOM:
            bound |= lit.vars
        return _Step(lit, positions, key, binds, equal, full)

    # -- evaluation --------------------------------------------------------
    def _run(
        self, steps: list[_Step], k: int, b: Binding, view: ViewFor, emit: Callable[[Binding], None]
    ) -> None:
        if k == len(steps):
            emit(b)
            return
        step = steps[k]
        lit = step.lit
        if lit.kind == _ATOM:
            if step.full:
                if view(lit.index).contains(step.key(b)):
                    self._run(steps, k + 1, b, view, emit)
                return
            rows = view(lit.index).lookup(step.positions, step.key(b))
            for row in rows:
                if step.equal and any(row[p] != row[q] for p, q in step.equal):
                    continue
                for pos, name in step.binds:
                    b[name] = row[pos]
                self._run(steps, k + 1, b, view, emit)
            for _, name in step.binds:
                b.pop(name, None)
        elif lit.kind == _NEG:
            source = view(lit.index)
            if lit.wild or lit.local or step.equal or step.binds:
                found = any(
                    not any(row[p] != row[q] for p, q in step.equal)
                    for row in source.lookup(step.positions, step.key(b))
                )
            else:
                found = source.exists(step.positions, step.key(b))
            if not found:
                self._run(steps, k + 1, b, view, emit)
        elif lit.kind == _TEST:
            if lit.test(b):
                self._run(steps, k + 1, b, view, emit)
        else:
            if lit.target in b:
                if lit.test(b):
                    self._run(steps, k + 1, b, view, emit)
                return
            b[lit.target] = _checked(lit.compute, b)
            self._run(steps, k + 1, b, view, emit)
            del b[lit.target]

    def proof(self, row: Row, view: ViewFor) -> list[tuple[str, Row]] | None:
        """The body rows of one derivation of ``row`` in the given state, or ``None``.

        Only for :attr:`traceable` plans (no negation, a head of variables and
        constants), whose derivations are fully described by the rows they
        read: maintenance remembers proofs made of base facts and, while
        those facts stand, skips the search next time.
        """
        b: Binding = {}
        for pos, value in self.head_consts:
            if row[pos] != value:
                return None
        for pos, name in self.head_vars:
            if name in b and b[name] != row[pos]:
                return None
            b[name] = row[pos]
        steps = self._cheapest(b, view)
        if steps is None:
            return None
        trail: list[tuple[str, Row]] = []
        return trail if self._trace(steps, 0, b, view, trail) else None

    def _trace(
        self,
        steps: list[_Step],
        k: int,
        b: Binding,
        view: ViewFor,
        trail: list[tuple[str, Row]],
    ) -> bool:
        """:meth:`_run` for a traceable plan: stops at the first solution, keeping its rows."""
        if k == len(steps):
            return True
        step = steps[k]
        lit = step.lit
        if lit.kind == _ATOM:
            if step.full:
                key = step.key(b)
                if view(lit.index).contains(key):
                    trail.append((lit.pred, key))
                    if self._trace(steps, k + 1, b, view, trail):
                        return True
                    trail.pop()
                return False
            for row in view(lit.index).lookup(step.positions, step.key(b)):
                if step.equal and any(row[p] != row[q] for p, q in step.equal):
                    continue
                for pos, name in step.binds:
                    b[name] = row[pos]
                trail.append((lit.pred, row))
                if self._trace(steps, k + 1, b, view, trail):
                    return True
                trail.pop()
            for _, name in step.binds:
                b.pop(name, None)
            return False
        if lit.kind == _TEST:
            return lit.test(b) and self._trace(steps, k + 1, b, view, trail)
        if lit.target in b:
            return lit.test(b) and self._trace(steps, k + 1, b, view, trail)
        b[lit.target] = _checked(lit.compute, b)
        found = self._trace(steps, k + 1, b, view, trail)
        if not found:
            del b[lit.target]
        return found

    def head(self, b: Binding) -> Row:
        simple = self._simple_head
        if simple is not None:
            return simple(b)
        return tuple(_checked(fn, b) for fn in self._head)

    def _seed(self, lit: _Literal, row: Row) -> Binding | None:
        """The binding of ``lit``'s variables by ``row``, or ``None`` if the row does not match."""
        for pos, value in lit.consts:
            if row[pos] != value:
                return None
        b: Binding = {}
        for pos, name in lit.var_cols:
            if name in b:
                if b[name] != row[pos]:
                    return None
            else:
                b[name] = row[pos]
        return b

    def fire(self, index: int, rows: Iterable[Row], view: ViewFor) -> Iterator[Row]:
        """Heads produced with body literal ``index`` bound to each of ``rows`` (with repeats).

        For a negated literal, ``rows`` are rows of its relation whose
        presence changed; the rest of the body is evaluated as if the
        negation held for them.  Each head is yielded once per derivation.
        """
        lit = self.literals[index]
        heads: list[Row] = []
        seen_seeds: set[tuple[tuple[str, Any], ...]] = set()
        steps = self._order(index, frozenset())
        head = self.head
        emit: Callable[[Binding], None] = lambda bb: heads.append(head(bb))  # noqa: E731
        for row in rows:
            b = self._seed(lit, row)
            if b is None:
                continue
            if lit.kind == _NEG:  # a projection: one seed per distinct binding
                b = {name: value for name, value in b.items() if name in lit.vars}
                marker = tuple(sorted(b.items()))
                if marker in seen_seeds:
                    continue
                seen_seeds.add(marker)
            self._run(steps, 0, b, view, emit)
        return iter(heads)

    def derives(self, row: Row, view: ViewFor) -> bool:
        """Whether the rule derives ``row`` (a head of its predicate) in the given state."""
        b: Binding = {}
        for pos, value in self.head_consts:
            if row[pos] != value:
                return False
        for pos, name in self.head_vars:
            if name in b and b[name] != row[pos]:
                return False
            b[name] = row[pos]
        steps = self._cheapest(b, view)
        if steps is None:
            return False

        def check(bb: Binding) -> None:
            if self.head(bb) == row:
                raise _FoundError

        try:
            self._run(steps, 0, b, view, _found if self._fixed_head else check)
        except _FoundError:
            return True
        return False

    def _cheapest(self, b: Binding, view: ViewFor) -> list[_Step] | None:
        """A join order for a bound head that starts at the atom with the fewest matches now.

        The static order only counts bound columns, so for ``x rdf:type D``
        under ``rdfs9`` it would enumerate every subclass of ``D`` (hundreds
        for a top class) where ``x``'s few types would do.  Asking each
        candidate's index for the size of its span costs two bisections;
        an atom with no match at all ends the search (``None``), and one
        with a single match is taken without asking the others.
        """
        bound0 = self._head_bound if len(b) == len(self._head_bound) else frozenset(b)
        firsts = self._first_steps(bound0)
        if not firsts:
            return self._order(None, bound0)
        best: list[_Step] | None = None
        smallest = -1
        for step, steps in firsts:
            size = view(step.lit.index).estimate(step.positions, step.key(b))
            if size <= 1:
                return steps if size else None
            if best is None or size < smallest:
                best, smallest = steps, size
        return best

    def _first_steps(self, bound0: frozenset[str]) -> list[tuple[_Step, list[_Step]]]:
        """Each positive atom with a bound column, as a first step with the order after it."""
        firsts = self._firsts.get(bound0)
        if firsts is None:
            firsts = []
            for lit in self.literals:
                if lit.kind == _ATOM:
                    step = self._step(lit, set(bound0))
                    if step.positions:
                        firsts.append((step, [step, *self._order(lit.index, bound0)]))
            self._firsts[bound0] = firsts
        return firsts

    def patterns(self) -> set[tuple[str, tuple[int, ...]]]:
        """Every (relation, bound columns) lookup this plan's delta rules and checks can make.

        Maintenance builds these indexes before its first batch is timed, so
        that no later batch pays for sorting a relation it happens to probe
        in a new way.
        """
        if self._patterns is None:
            orders = [self._order(lit.index, frozenset()) for lit in self.atoms]
            bound = frozenset(name for _, name in self.head_vars)
            orders.append(self._order(None, bound))
            orders.extend(steps for _, steps in self._first_steps(bound))
            self._patterns = {
                (step.lit.pred, step.positions)
                for steps in orders
                for step in steps
                if step.lit.kind in (_ATOM, _NEG) and step.positions
            }
        return self._patterns

    def count(self, row: Row, view: ViewFor) -> int:
        """How many derivations of ``row`` the rule has in the given state."""
        b: Binding = {}
        for pos, value in self.head_consts:
            if row[pos] != value:
                return 0
        for pos, name in self.head_vars:
            if name in b and b[name] != row[pos]:
                return 0
            b[name] = row[pos]
        steps = self._order(None, frozenset(b))
        found = [0]

        def tally(bb: Binding) -> None:
            if self.head(bb) == row:
                found[0] += 1

        self._run(steps, 0, b, view, tally)
        return found[0]


class HeadDispatch:
    """The rules that may derive a row of one predicate, picked by the row's values.

    Rules are grouped by the positions of the constants in their heads
    (``triple(X, rdf:type, rdfs:Resource)`` has two, ``triple(X, Q, Y)``
    none); a row selects, per group, only the rules whose constants it
    carries, in their program order.  DRed asks which rules derive a row
    hundreds of times per batch, and most of a rule set cannot derive a
    given row at all.
    """

    def __init__(self, plans: Iterable[RulePlan]) -> None:
        groups: dict[tuple[int, ...], dict[Any, list[tuple[int, RulePlan]]]] = {}
        for order, plan in enumerate(plans):
            positions = tuple(pos for pos, _ in plan.head_consts)
            values = tuple(value for _, value in plan.head_consts)
            value: Any = values[0] if len(values) == 1 else values
            groups.setdefault(positions, {}).setdefault(value, []).append((order, plan))
        self._groups = [
            (key_of(positions) if positions else None, table) for positions, table in groups.items()
        ]
        self._merged: dict[tuple[int, ...], list[RulePlan]] = {}

    def __call__(self, row: Row) -> list[RulePlan]:
        """The candidate rules for ``row``: a list shared by every row that selects the same ones.

        The list starts in program order; :meth:`promote` reorders it.
        """
        hits: list[list[tuple[int, RulePlan]]] = []
        for key, table in self._groups:
            found = table.get(key(row) if key is not None else ())
            if found:
                hits.append(found)
        signature = tuple(id(found) for found in hits)
        merged = self._merged.get(signature)
        if merged is None:
            ordered = sorted((hit for found in hits for hit in found), key=lambda hit: hit[0])
            merged = self._merged[signature] = [plan for _, plan in ordered]
        return merged

    @staticmethod
    def promote(candidates: list[RulePlan], plan: RulePlan) -> None:
        """Move ``plan`` to the front of ``candidates``: the rule that just derived a row.

        Rows selecting the same rules tend to be derived the same way (an
        instance's types through ``rdfs9``, its resources through ``rdfs4a``),
        so a successful check is asked of that rule first next time.  Only
        the order changes, never the set.
        """
        if candidates[0] is not plan:
            candidates.remove(plan)
            candidates.insert(0, plan)


class AtomDispatch:
    """The positive body atoms that a row of a relation can match, picked by its constants.

    Semi-naive maintenance pushes every changed row through every body atom
    of its relation; with OWL 2 RL's eighty-odd rules over one ``triple``
    relation, almost every (row, atom) pair fails on a constant.  Atoms are
    grouped by the positions of their constants, so a row meets only the
    atoms whose constants it carries (one dict lookup per group).
    """

    def __init__(self, plans: Iterable[RulePlan]) -> None:
        by_pred: dict[str, dict[tuple[int, ...], dict[Any, list[tuple[RulePlan, int]]]]] = {}
        for plan in plans:
            for lit in plan.atoms:
                if lit.kind != _ATOM:
                    continue
                positions = tuple(pos for pos, _ in lit.consts)
                values = tuple(value for _, value in lit.consts)
                value: Any = values[0] if len(values) == 1 else values
                table = by_pred.setdefault(lit.pred, {}).setdefault(positions, {})
                table.setdefault(value, []).append((plan, lit.index))
        self._by_pred = {
            pred: [(key_of(pos) if pos else None, table) for pos, table in groups.items()]
            for pred, groups in by_pred.items()
        }

    def route(self, pred: str, rows: Iterable[Row]) -> list[tuple[RulePlan, int, list[Row]]]:
        """``(plan, atom index, rows)`` for every atom of ``pred`` some of ``rows`` may match."""
        groups = self._by_pred.get(pred)
        if not groups:
            return []
        buckets: dict[tuple[int, int], tuple[RulePlan, int, list[Row]]] = {}
        for row in rows:
            for key, table in groups:
                found = table.get(key(row) if key is not None else ())
                if found:
                    for plan, index in found:
                        bucket = buckets.get((id(plan), index))
                        if bucket is None:
                            buckets[(id(plan), index)] = (plan, index, [row])
                        else:
                            bucket[2].append(row)
        return list(buckets.values())


def _found(_b: Binding) -> None:
    raise _FoundError


def _key_builder(parts: list[tuple[bool, Any]]) -> Callable[[Binding], Any]:
    if not parts:
        return lambda _b: ()
    if len(parts) == 1:
        is_const, value = parts[0]
        if is_const:
            return lambda _b: value
        return lambda b: b[value]
    return _tuple_builder(parts)


def _tuple_builder(parts: list[tuple[bool, Any]]) -> Callable[[Binding], tuple[Any, ...]]:
    """A function building the tuple of ``parts`` (constants, or names looked up in a binding).

    Spelled out for two and three parts, the common arities, because a
    generator expression per probe was the single largest cost of the joins.
    """
    if all(is_const for is_const, _ in parts):
        fixed = tuple(v for _, v in parts)
        return lambda _b: fixed
    if all(not is_const for is_const, _ in parts) and len(parts) > 1:
        return operator.itemgetter(*(v for _, v in parts))
    if len(parts) == 1:
        name = parts[0][1]
        return lambda b: (b[name],)
    if len(parts) == 2:
        (c0, v0), (c1, v1) = parts
        if c0:
            return lambda b: (v0, b[v1])
        return lambda b: (b[v0], v1)
    if len(parts) == 3:
        (c0, v0), (c1, v1), (c2, v2) = parts
        if c0 and c1:
            return lambda b: (v0, v1, b[v2])
        if c0 and c2:
            return lambda b: (v0, b[v1], v2)
        if c1 and c2:
            return lambda b: (b[v0], v1, v2)
        if c0:
            return lambda b: (v0, b[v1], b[v2])
        if c1:
            return lambda b: (b[v0], v1, b[v2])
        return lambda b: (b[v0], b[v1], v2)
    return lambda b: tuple(v if c else b[v] for c, v in parts)


def _arith(
    op: str, left: Callable[[Binding], Any], right: Callable[[Binding], Any], *, floating: bool
) -> Callable[[Binding], Any]:
    if op == "+":
        return lambda b: left(b) + right(b)
    if op == "-":
        return lambda b: left(b) - right(b)
    if op == "*":
        return lambda b: left(b) * right(b)
    if op == "/":
        if floating:
            return lambda b: left(b) / right(b)
        return lambda b: left(b) // right(b)
    if op == "%":
        return lambda b: left(b) % right(b)
    if op == "min":
        return lambda b: min(left(b), right(b))
    return lambda b: max(left(b), right(b))


def _as_int(fn: Callable[[Binding], Any]) -> Callable[[Binding], Any]:
    return lambda b: int(fn(b))


def _checked(fn: Callable[[Binding], Any], b: Binding) -> Any:
    try:
        return fn(b)
    except ZeroDivisionError as exc:
        raise LatticeEvaluationError(
            "division by zero in a rule", hint="guard the divisor with a comparison"
        ) from exc


def _has_float(term: Term) -> bool:
    if isinstance(term, Const):
        return isinstance(term.value, float)
    if isinstance(term, BinOp):
        return _has_float(term.left) or _has_float(term.right)
    return False


def _num_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
