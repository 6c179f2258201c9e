"""Rewrite rules, e-matching and equality saturation with limits.

A :class:`Rule` is ``lhs -> rhs`` over patterns with variables (``?a``),
optionally guarded by a condition on what the e-graph's analysis proves
(``log(exp(?a)) -> ?a`` only when ``?a`` is real).  Rules are written as
s-expressions over the e-graph's binary operators::

    Rule.sexpr("pythagoras", "(+ (^ (sin ?a) 2) (^ (cos ?a) 2))", "1")

or in infix, where every symbol is a pattern variable::

    Rule.infix("pythagoras", "sin(a)^2 + cos(a)^2", "1")

:func:`saturate` runs the rules to a fixpoint or until a limit is hit
(nodes, iterations, seconds), searching every rule before applying any, as
egg does, so the result does not depend on rule order.  A backoff scheduler
bans a rule for a while when it matches too often (associativity and
distribution otherwise crowd out everything else), and un-bans all rules
before declaring saturation.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, cast

from symbolic_reduction_modeler._egraph import (
    AST_SIZE,
    COMMUTATIVE,
    FUNCTIONS,
    CostFunction,
    EGraph,
    ENode,
)
from symbolic_reduction_modeler._expr import Add, Expr, Func, Mul, Number, Pow, Symbol
from symbolic_reduction_modeler.errors import SymbolicInputError, SymbolicSyntaxError

__all__ = [
    "DEFAULT_RULES",
    "Condition",
    "Limits",
    "PNode",
    "PNum",
    "PVar",
    "Pattern",
    "Rule",
    "SaturationReport",
    "saturate",
]

Subst = dict[str, int]
Condition = Callable[[EGraph, Mapping[str, int]], bool]
"""A guard: given the e-graph and the match, may this rewrite fire?"""

OPERATORS = frozenset({"+", "*", "^"}) | FUNCTIONS


@dataclass(frozen=True)
class PVar:
    name: str


@dataclass(frozen=True)
class PNum:
    value: Fraction


@dataclass(frozen=True)
class PNode:
    op: str
    children: tuple[Pattern, ...]


Pattern = PVar | PNum | PNode


# -- reading patterns --------------------------------------------------------

_SEXPR_TOKEN = re.compile(r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<atom>[^\s()]+))")
_NUMBER = re.compile(r"^-?\d+(?:/\d+)?$")
_VAR = re.compile(r"^\?[A-Za-z_][A-Za-z_0-9]*$")


def parse_pattern(text: str) -> Pattern:
    """Read an s-expression pattern: ``(+ (^ (sin ?a) 2) 1)``."""
    if not isinstance(text, str):
        raise SymbolicInputError("a pattern is a string")
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        match = _SEXPR_TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].isspace():
                break
            raise _pattern_error(text, pos, f"unexpected character {text[pos]!r}")
        kind = match.lastgroup or "atom"
        tokens.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    if len(tokens) > 10_000:
        raise SymbolicInputError("pattern too long")
    index = 0

    def read(depth: int) -> Pattern:
        nonlocal index
        if index >= len(tokens):
            raise _pattern_error(text, len(text), "unexpected end of pattern")
        if depth > 100:
            raise _pattern_error(text, tokens[index][2], "pattern nested too deeply")
        kind, value, at = tokens[index]
        index += 1
        if kind == "atom":
            if _VAR.match(value):
                return PVar(value[1:])
            if _NUMBER.match(value):
                if "/" in value and int(value.split("/")[1]) == 0:
                    raise _pattern_error(text, at, f"{value!r} divides by zero")
                return PNum(Fraction(value))
            raise _pattern_error(text, at, f"{value!r} is neither ?var nor a number")
        if kind == "close":
            raise _pattern_error(text, at, "unexpected ')'")
        if index >= len(tokens) or tokens[index][0] != "atom":
            raise _pattern_error(text, at, "'(' must be followed by an operator")
        op, op_at = tokens[index][1], tokens[index][2]
        index += 1
        if op not in OPERATORS:
            raise _pattern_error(text, op_at, f"unknown operator {op!r}")
        kids: list[Pattern] = []
        while index < len(tokens) and tokens[index][0] != "close":
            kids.append(read(depth + 1))
        if index >= len(tokens):
            raise _pattern_error(text, len(text), "missing ')'")
        index += 1
        arity = 1 if op in FUNCTIONS else 2
        if len(kids) != arity:
            raise _pattern_error(text, op_at, f"{op!r} takes {arity} argument(s), got {len(kids)}")
        return PNode(op, tuple(kids))

    result = read(0)
    if index != len(tokens):
        raise _pattern_error(text, tokens[index][2], "trailing input after the pattern")
    return result


def _pattern_error(text: str, pos: int, what: str) -> SymbolicSyntaxError:
    return SymbolicSyntaxError(
        f"{what} at column {pos + 1} of pattern {text[:60]!r}",
        column=pos + 1,
        hint="write patterns like (+ (^ (sin ?a) 2) (^ (cos ?a) 2))",
    )


def pattern_from_expr(expr: Expr) -> Pattern:
    """An infix expression as a pattern: its symbols become variables."""
    if isinstance(expr, Number):
        return PNum(expr.value)
    if isinstance(expr, Symbol):
        return PVar(expr.name)
    if isinstance(expr, Add | Mul):
        op = "+" if isinstance(expr, Add) else "*"
        out = pattern_from_expr(expr.args[0])
        for arg in expr.args[1:]:
            out = PNode(op, (out, pattern_from_expr(arg)))
        return out
    if isinstance(expr, Pow):
        return PNode("^", (pattern_from_expr(expr.args[0]), pattern_from_expr(expr.args[1])))
    if isinstance(expr, Func):
        return PNode(expr.name, (pattern_from_expr(expr.args[1]),))
    raise SymbolicInputError(f"cannot use {type(expr).__name__} in a pattern")


def _variables(pattern: Pattern) -> set[str]:
    if isinstance(pattern, PVar):
        return {pattern.name}
    if isinstance(pattern, PNum):
        return set()
    out: set[str] = set()
    for kid in pattern.children:
        out |= _variables(kid)
    return out


# -- e-matching --------------------------------------------------------------


class MatchIndex:
    """A snapshot of a rebuilt e-graph for matching: per class, its nodes by operator.

    Taken right after :meth:`EGraph.rebuild`, when every id is canonical, so
    matching needs no ``find`` and touches only nodes of the wanted operator.
    """

    def __init__(self, egraph: EGraph) -> None:
        self.nodes: dict[int, dict[str, list[tuple[int, ...]]]] = {}
        self.const_class: dict[tuple[int, int], int] = {}  # (num, den): Fraction hashes slowly
        self.by_op: dict[str, list[int]] = {}
        for cid, eclass in egraph.classes.items():
            table: dict[str, list[tuple[int, ...]]] = {}
            for op, _, kids in eclass.nodes:
                table.setdefault(op, []).append(kids)
            self.nodes[cid] = table
            const = eclass.facts.const
            if const is not None:
                self.const_class[const.numerator, const.denominator] = cid
            for op in table:
                self.by_op.setdefault(op, []).append(cid)


Matcher = Callable[[MatchIndex, int, Subst], list[Subst]]


def compile_pattern(pattern: Pattern) -> Matcher:
    """A function listing every extension of a substitution matching ``pattern`` at a class."""
    if isinstance(pattern, PVar):
        name = pattern.name

        def match_var(index: MatchIndex, cid: int, subst: Subst) -> list[Subst]:
            bound = subst.get(name)
            if bound is None:
                return [{**subst, name: cid}]
            return [subst] if bound == cid else []

        return match_var
    if isinstance(pattern, PNum):
        key = (pattern.value.numerator, pattern.value.denominator)

        def match_num(index: MatchIndex, cid: int, subst: Subst) -> list[Subst]:
            return [subst] if index.const_class.get(key) == cid else []

        return match_num
    op = pattern.op
    kids = [compile_pattern(k) for k in pattern.children]
    if len(kids) == 1:
        (only,) = kids

        def match_unary(index: MatchIndex, cid: int, subst: Subst) -> list[Subst]:
            out: list[Subst] = []
            for (child,) in index.nodes[cid].get(op, ()):
                out.extend(only(index, child, subst))
            return out

        return match_unary
    first, second = kids
    commutative = op in COMMUTATIVE
    # Match the more selective child first: a number or an operator prunes at
    # once, a variable binds anything.  The set of matches is the same.
    swap = isinstance(pattern.children[0], PVar) and not isinstance(pattern.children[1], PVar)

    def match_binary(index: MatchIndex, cid: int, subst: Subst) -> list[Subst]:
        out: list[Subst] = []
        for a, b in index.nodes[cid].get(op, ()):
            orders = [(a, b), (b, a)] if commutative and a != b else [(a, b)]
            for left, right in orders:
                if swap:
                    for s1 in second(index, right, subst):
                        out.extend(first(index, left, s1))
                else:
                    for s1 in first(index, left, subst):
                        out.extend(second(index, right, s1))
        return out

    return match_binary


def ematch(egraph: EGraph, pattern: Pattern, cid: int) -> list[Subst]:
    """Every substitution under which ``pattern`` denotes a member of ``cid`` (rebuilt graph)."""
    return compile_pattern(pattern)(MatchIndex(egraph), egraph.find(cid), {})


def instantiate(egraph: EGraph, pattern: Pattern, subst: Mapping[str, int]) -> int:
    if isinstance(pattern, PVar):
        return subst[pattern.name]
    if isinstance(pattern, PNum):
        return egraph.number(pattern.value)
    kids = tuple(instantiate(egraph, k, subst) for k in pattern.children)
    node: ENode = (pattern.op, None, kids)
    return egraph.add(node)


# -- rules -------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """``lhs -> rhs`` when ``condition`` holds; ``rhs`` may only use ``lhs``'s variables."""

    name: str
    lhs: Pattern
    rhs: Pattern
    condition: Condition | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.lhs, PNode):
            raise SymbolicInputError(
                f"rule {self.name!r}: the left side cannot be a bare variable or number",
                hint="match an operator application, e.g. (sin ?a)",
            )
        extra = _variables(self.rhs) - _variables(self.lhs)
        if extra:
            raise SymbolicInputError(
                f"rule {self.name!r}: right side uses unbound variable(s) {', '.join(sorted(extra))}",
                hint="every variable on the right must appear on the left",
            )
        object.__setattr__(self, "_matcher", compile_pattern(self.lhs))

    @classmethod
    def sexpr(cls, name: str, lhs: str, rhs: str, condition: Condition | None = None) -> Rule:
        return cls(name, parse_pattern(lhs), parse_pattern(rhs), condition)

    @classmethod
    def infix(cls, name: str, lhs: str, rhs: str, condition: Condition | None = None) -> Rule:
        from symbolic_reduction_modeler._parse import parse

        return cls(name, pattern_from_expr(parse(lhs)), pattern_from_expr(parse(rhs)), condition)

    def search(self, index: MatchIndex, limit: int) -> list[tuple[int, Subst]]:
        """Matches of the left side, stopping once there are more than ``limit``."""
        lhs = cast(PNode, self.lhs)  # checked in __post_init__
        matcher: Matcher = getattr(self, "_matcher")  # noqa: B009  # set in __post_init__
        out: list[tuple[int, Subst]] = []
        for cid in index.by_op.get(lhs.op, ()):
            out.extend((cid, s) for s in matcher(index, cid, {}))
            if len(out) > limit:
                break
        return out


# -- conditions ----------------------------------------------------------------


def is_real(*names: str) -> Condition:
    return lambda eg, s: all(eg.facts(s[n]).real for n in names)


def is_positive(*names: str) -> Condition:
    return lambda eg, s: all(eg.facts(s[n]).positive for n in names)


def is_nonnegative(*names: str) -> Condition:
    return lambda eg, s: all(eg.facts(s[n]).nonnegative for n in names)


def is_integer(*names: str) -> Condition:
    return lambda eg, s: all(eg.facts(s[n]).integer for n in names)


def not_zero(*names: str) -> Condition:
    """Not proven to be 0 (the generic case: a symbolic class may still vanish somewhere)."""
    return lambda eg, s: all(eg.facts(s[n]).const != 0 for n in names)


def any_of(*conditions: Condition) -> Condition:
    return lambda eg, s: any(c(eg, s) for c in conditions)


def both(*conditions: Condition) -> Condition:
    return lambda eg, s: all(c(eg, s) for c in conditions)


_R = Rule.sexpr
ALGEBRA_RULES: tuple[Rule, ...] = (
    _R("add-assoc", "(+ (+ ?a ?b) ?c)", "(+ ?a (+ ?b ?c))"),
    _R("mul-assoc", "(* (* ?a ?b) ?c)", "(* ?a (* ?b ?c))"),
    _R("add-zero", "(+ ?a 0)", "?a"),
    _R("mul-one", "(* ?a 1)", "?a"),
    _R("mul-zero", "(* ?a 0)", "0"),
    _R("add-inverse", "(+ ?a (* -1 ?a))", "0"),
    _R("mul-inverse", "(* ?a (^ ?a -1))", "1", not_zero("a")),  # generic: where a != 0
    _R("add-same", "(+ ?a ?a)", "(* 2 ?a)"),
    _R("collect", "(+ ?a (* ?n ?a))", "(* (+ ?n 1) ?a)"),
    _R("mul-same", "(* ?a ?a)", "(^ ?a 2)"),
    _R("distribute", "(* ?a (+ ?b ?c))", "(+ (* ?a ?b) (* ?a ?c))"),
    _R("factor-out", "(+ (* ?a ?b) (* ?a ?c))", "(* ?a (+ ?b ?c))"),
    _R("neg-neg", "(* -1 (* -1 ?a))", "?a"),
    _R("pow-one", "(^ ?a 1)", "?a"),
    _R("pow-zero", "(^ ?a 0)", "1"),  # generic: 0^0 is taken as 1
    _R("pow-mul", "(* (^ ?a ?m) (^ ?a ?n))", "(^ ?a (+ ?m ?n))"),
    _R("pow-mul-base", "(* ?a (^ ?a ?n))", "(^ ?a (+ ?n 1))"),
    _R(
        "pow-pow",
        "(^ (^ ?a ?m) ?n)",
        "(^ ?a (* ?m ?n))",
        any_of(is_integer("n"), is_nonnegative("a")),
    ),
    _R(
        "pow-of-product",
        "(^ (* ?a ?b) ?n)",
        "(* (^ ?a ?n) (^ ?b ?n))",
        any_of(is_integer("n"), is_nonnegative("a", "b")),
    ),
    _R(
        "product-of-pow",
        "(* (^ ?a ?n) (^ ?b ?n))",
        "(^ (* ?a ?b) ?n)",
        any_of(is_integer("n"), is_nonnegative("a", "b")),
    ),
    _R("diff-squares", "(+ (^ ?a 2) (* -1 (^ ?b 2)))", "(* (+ ?a ?b) (+ ?a (* -1 ?b)))"),
    _R("diff-square-one", "(+ (^ ?a 2) -1)", "(* (+ ?a 1) (+ ?a -1))"),
)

TRIG_RULES: tuple[Rule, ...] = (
    _R("pythagoras", "(+ (^ (sin ?a) 2) (^ (cos ?a) 2))", "1"),
    _R("sin-square", "(+ 1 (* -1 (^ (cos ?a) 2)))", "(^ (sin ?a) 2)"),
    _R("cos-square", "(+ 1 (* -1 (^ (sin ?a) 2)))", "(^ (cos ?a) 2)"),
    _R("double-sin", "(* 2 (* (sin ?a) (cos ?a)))", "(sin (* 2 ?a))"),
    _R("double-sin-expand", "(sin (* 2 ?a))", "(* 2 (* (sin ?a) (cos ?a)))"),
    _R("double-cos", "(+ (^ (cos ?a) 2) (* -1 (^ (sin ?a) 2)))", "(cos (* 2 ?a))"),
    _R("double-cos-expand", "(cos (* 2 ?a))", "(+ (^ (cos ?a) 2) (* -1 (^ (sin ?a) 2)))"),
    _R("tan-def", "(tan ?a)", "(* (sin ?a) (^ (cos ?a) -1))"),
    _R("tan-fold", "(* (sin ?a) (^ (cos ?a) -1))", "(tan ?a)"),
    _R("sin-neg", "(sin (* -1 ?a))", "(* -1 (sin ?a))"),
    _R("cos-neg", "(cos (* -1 ?a))", "(cos ?a)"),
    _R("sin-sum", "(sin (+ ?a ?b))", "(+ (* (sin ?a) (cos ?b)) (* (cos ?a) (sin ?b)))"),
    _R("sin-sum-fold", "(+ (* (sin ?a) (cos ?b)) (* (cos ?a) (sin ?b)))", "(sin (+ ?a ?b))"),
    _R("cos-sum", "(cos (+ ?a ?b))", "(+ (* (cos ?a) (cos ?b)) (* -1 (* (sin ?a) (sin ?b))))"),
    _R(
        "cos-sum-fold",
        "(+ (* (cos ?a) (cos ?b)) (* -1 (* (sin ?a) (sin ?b))))",
        "(cos (+ ?a ?b))",
    ),
)

EXP_LOG_RULES: tuple[Rule, ...] = (
    _R("exp-sum", "(exp (+ ?a ?b))", "(* (exp ?a) (exp ?b))"),
    _R("exp-product", "(* (exp ?a) (exp ?b))", "(exp (+ ?a ?b))"),
    _R("exp-pow", "(^ (exp ?a) ?b)", "(exp (* ?a ?b))", is_real("a", "b")),
    _R("exp-log", "(exp (log ?a))", "?a"),  # where log(a) is defined
    _R("log-exp", "(log (exp ?a))", "?a", is_real("a")),
    _R("log-product", "(log (* ?a ?b))", "(+ (log ?a) (log ?b))", is_positive("a", "b")),
    _R("log-sum", "(+ (log ?a) (log ?b))", "(log (* ?a ?b))"),  # both defined => a, b > 0
    _R("log-pow", "(log (^ ?a ?n))", "(* ?n (log ?a))", both(is_positive("a"), is_real("n"))),
    _R("log-pow-fold", "(* ?n (log ?a))", "(log (^ ?a ?n))", is_real("n")),  # defined => a > 0
    _R("abs-nonneg", "(abs ?a)", "?a", is_nonnegative("a")),
    _R("abs-mul", "(abs (* ?a ?b))", "(* (abs ?a) (abs ?b))"),
    _R("sqrt-square", "(^ (^ ?a 2) 1/2)", "(abs ?a)", is_real("a")),
    _R("abs-square", "(^ (abs ?a) 2)", "(^ ?a 2)", is_real("a")),
)

DEFAULT_RULES: tuple[Rule, ...] = ALGEBRA_RULES + TRIG_RULES + EXP_LOG_RULES


# -- the saturation loop -----------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """When saturation stops if it has not reached a fixpoint."""

    nodes: int = 4_000
    iterations: int = 12
    seconds: float = 1.0
    match_limit: int = 400  # matches per rule per iteration before the rule is banned
    ban_length: int = 2  # iterations a banned rule sits out (doubles each time)
    patience: int = 6  # stop after this many iterations without a cheaper result (0: never)

    def __post_init__(self) -> None:
        if (
            self.nodes < 1
            or self.iterations < 0
            or self.match_limit < 1
            or self.ban_length < 0
            or self.patience < 0
        ):
            raise SymbolicInputError("limits must be positive")
        if not self.seconds > 0:
            raise SymbolicInputError("the time limit must be a positive number of seconds")


StopReason = Literal[
    "saturated",
    "optimal",
    "stalled",
    "node_limit",
    "iteration_limit",
    "time_limit",
    "fast_path",  # simplify answered before the e-graph (see _simplify)
]


@dataclass
class SaturationReport:
    stop_reason: StopReason
    iterations: int
    nodes: int
    classes: int
    applied: dict[str, int] = field(default_factory=dict)


@dataclass
class _RuleState:
    banned_until: int = 0
    times_banned: int = 0


def saturate(
    egraph: EGraph,
    rules: Sequence[Rule],
    limits: Limits,
    *,
    deadline: float | None = None,
    root: int | None = None,
    cost: CostFunction = AST_SIZE,
) -> SaturationReport:
    """Apply ``rules`` until nothing changes or a limit is reached.

    With ``root`` given, the cheapest cost of its class is tracked, and
    saturation also stops once it has not improved for ``limits.patience``
    iterations ("stalled"): the graph keeps growing but extraction would
    return the same answer; and once the cheapest form is a single number
    or symbol ("optimal").
    """
    best_cost = egraph.extract(root, cost)[1] if root is not None and limits.patience else None
    stale = 0
    end = deadline if deadline is not None else time.monotonic() + limits.seconds
    states = {rule.name: _RuleState() for rule in rules}
    applied: dict[str, int] = {}
    egraph.rebuild()
    reason: StopReason = "iteration_limit"
    iteration = 0
    for iteration in range(1, limits.iterations + 1):  # reported below
        if time.monotonic() > end:
            reason = "time_limit"
            break
        index = MatchIndex(egraph)
        found: list[tuple[Rule, int, Subst]] = []
        any_banned = False
        timed_out = False
        for rule in rules:
            state = states[rule.name]
            if state.banned_until > iteration:
                any_banned = True
                continue
            threshold = limits.match_limit << state.times_banned
            matches = rule.search(index, threshold)
            if len(matches) > threshold:
                state.banned_until = iteration + (limits.ban_length << state.times_banned)
                state.times_banned += 1
                any_banned = True
                continue
            found.extend((rule, cid, subst) for cid, subst in matches)
            if time.monotonic() > end:
                timed_out = True
                break
        changed = False
        over = False
        for count, (rule, cid, subst) in enumerate(found):
            if count % 64 == 0 and time.monotonic() > end:
                timed_out = True
                break
            if rule.condition is not None and not rule.condition(egraph, subst):
                continue
            new = instantiate(egraph, rule.rhs, subst)
            if egraph.union(cid, new):
                changed = True
                applied[rule.name] = applied.get(rule.name, 0) + 1
            if egraph.node_count > limits.nodes:
                over = True
                break
        egraph.rebuild()
        if over:
            reason = "node_limit"
            break
        if timed_out:
            reason = "time_limit"
            break
        if not changed:
            if any_banned:
                for state in states.values():
                    state.banned_until = 0
                continue
            reason = "saturated"
            break
        if best_cost is not None and root is not None:
            best_expr, now = egraph.extract(root, cost)
            if isinstance(best_expr, Number | Symbol):
                reason = "optimal"  # a single leaf: nothing can be cheaper
                break
            stale = stale + 1 if now >= best_cost else 0
            best_cost = min(best_cost, now)
            if stale >= limits.patience:
                reason = "stalled"
                break
    return SaturationReport(reason, iteration, egraph.node_count, len(egraph.classes), applied)
