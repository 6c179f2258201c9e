"""``simplify``: equality saturation on an e-graph, seeded by the polynomial kernel.

0. Fast paths (default rules and cost only): the kernel's cancelled,
   expanded and factored forms, exponentials merged, and the trigonometric
   forms reduced modulo ``sin^2 + cos^2 = 1`` or to double angles (FLINT
   division).  If the best of them is a number or symbol, or the input is a
   rational function and one of them is cheaper, that is the answer (what
   SymPy's ``simplify`` would pick among the same forms); otherwise they
   seed the root class and the search runs with patience 2.
1. The expression goes into an :class:`~symbolic_reduction_modeler._egraph.EGraph`.
2. Every polynomial-shaped sub-expression is also given its expanded,
   factored and cancelled forms from FLINT (a *kernel rewrite*: one FLINT
   call finds what hundreds of ring-axiom rewrites would), each merged into
   the class of the sub-expression it equals, unless it is much larger
   (a full expansion would only feed the associativity explosion).
3. The rule set (algebra, trigonometry, exp/log under the assumptions
   system, plus any user rules) is run to saturation or to the node,
   iteration and time limits, whichever comes first; it also stops when
   the cheapest form has not improved for ``limits.patience`` iterations.
4. The cheapest member of the root class is extracted under the cost model
   (tree size by default), and compared with the input and the kernel's
   forms of the extracted result: ``simplify`` never returns something
   costlier than its input.

**Semantics.** The result equals the input as a function *wherever both are
defined* (the convention of SymPy and of every CAS's ``cancel``): removable
singularities are removed, so ``(x^2-1)/(x-1)`` simplifies to ``x + 1``,
which is also defined at ``x = 1``.  The result's domain contains the
input's; rules that would shrink it (``log(a*b) -> log(a) + log(b)``) are
guarded by the assumptions system and fire only when ``a, b > 0`` is proven.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from symbolic_reduction_modeler._egraph import AST_SIZE, CostFunction, EGraph
from symbolic_reduction_modeler._expr import Add, Expr, Func, Mul, Number, Pow, Symbol
from symbolic_reduction_modeler._poly import PolyRing, _as_fraction, cancel, expand, factor
from symbolic_reduction_modeler._rewrite import (
    DEFAULT_RULES,
    Limits,
    Rule,
    SaturationReport,
    saturate,
)
from symbolic_reduction_modeler.errors import SymbolicError

__all__ = ["Simplified", "simplify", "simplify_report"]

KERNEL_SEED_MAX_OPS = 400  # sub-expressions larger than this are not sent to FLINT for seeding
KERNEL_SEED_GROWTH = 2  # kernel forms up to 1.5x + this many nodes of the sub-expression


@dataclass(frozen=True)
class Simplified:
    """The result of :func:`simplify_report`: the expression and how saturation went."""

    expr: Expr
    cost: float
    input_cost: float
    report: SaturationReport


def expr_cost(expr: Expr, cost: CostFunction = AST_SIZE) -> float:
    """The cost of ``expr`` as a tree of the e-graph's binary operators."""
    memo: dict[Expr, float] = {}

    def go(e: Expr) -> float:
        if e in memo:
            return memo[e]
        if isinstance(e, Number):
            out = cost("num", e.value)
        elif isinstance(e, Symbol):
            out = cost("sym", e)
        elif isinstance(e, Add | Mul):
            op = "+" if isinstance(e, Add) else "*"
            out = sum(go(a) for a in e.args) + cost(op, None) * (len(e.args) - 1)
        elif isinstance(e, Pow):
            out = cost("^", None) + go(e.args[0]) + go(e.args[1])
        elif isinstance(e, Func):
            out = cost(e.name, None) + go(e.args[1])
        else:
            raise TypeError(type(e).__name__)
        memo[e] = out
        return out

    return go(expr)


def _kernel_forms(expr: Expr, deadline: float) -> list[Expr]:
    forms = []
    for transform in (cancel, expand, factor):
        if time.monotonic() > deadline:
            break
        try:
            form = transform(expr)
        except SymbolicError:
            continue  # not polynomial/rational in its generators: that form does not apply
        if form is not expr:
            forms.append(form)
    return forms


def _is_rational_function(expr: Expr) -> bool:
    """Symbols and numbers under +, * and integer powers only (FLINT's whole domain)."""
    for node in expr.walk():
        if isinstance(node, Func):
            return False
        if isinstance(node, Pow) and not (
            isinstance(node.args[1], Number) and node.args[1].value.denominator == 1
        ):
            return False
    return True


def _merge_exponentials(expr: Expr) -> Expr:
    """``exp(a)*exp(b)*r -> exp(a+b)*r`` bottom-up (an identity everywhere)."""
    memo: dict[Expr, Expr] = {}

    def go(node: Expr) -> Expr:
        found = memo.get(node)
        if found is not None:
            return found
        kids = node.children()
        out = node.rebuild(tuple(go(k) for k in kids)) if kids else node
        if isinstance(out, Mul):
            exps = [f for f in out.args if isinstance(f, Func) and f.name == "exp"]
            if len(exps) > 1:
                rest = [f for f in out.args if not (isinstance(f, Func) and f.name == "exp")]
                out = Mul.of(Func.of("exp", Add.of(*(f.args[1] for f in exps))), *rest)
        memo[node] = out
        return out

    return go(expr)


def _pythagorean_forms(expr: Expr) -> list[Expr]:
    """``expr`` with ``tan = sin/cos`` and ``sin^2 + cos^2 = 1`` applied by the kernel.

    The expression becomes a fraction of polynomials in the ``sin(u)``,
    ``cos(u)`` atoms; numerator and denominator are reduced modulo
    ``cos(u)^2 + sin(u)^2 - 1`` for every angle ``u`` (those polynomials are
    a Gröbner basis: their leading terms are coprime), once eliminating
    ``cos^2`` and once ``sin^2``, and each quotient is cancelled.  This is
    SymPy's ``trigsimp`` idea done by FLINT's division in one pass.
    """
    angles = {
        node.args[1]
        for node in expr.walk()
        if isinstance(node, Func) and node.name in ("sin", "cos", "tan")
    }
    if not angles:
        return []
    mapping: dict[Expr, Expr] = {
        Func.of("tan", u): Func.of("sin", u) / Func.of("cos", u) for u in angles
    }
    try:
        numer, denom = _as_fraction(expr.subs(mapping))
        forms = []
        for eliminate in ("cos", "sin", "double"):
            parts = []
            for part in (numer, denom):
                if eliminate == "double":
                    parts.append(_power_reduce(part, angles))
                else:
                    parts.append(_reduce_pythagoras(part, angles, eliminate))
            forms.append(cancel(parts[0] / parts[1]))
        return forms
    except SymbolicError:
        return []


def _power_reduce(poly_expr: Expr, angles: set[Expr]) -> Expr:
    """Products and squares of ``sin(u)``, ``cos(u)`` rewritten with double angles.

    Division by ``sin(u)*cos(u) - sin(2u)/2``, then ``cos(u)^2 - (1 + cos(2u))/2``
    and ``sin(u)^2 - (1 - cos(2u))/2`` (lex, ``sin(u)``, ``cos(u)`` first)
    leaves every term at most linear in ``sin(u)`` and ``cos(u)``:
    ``2*sin(x)*cos(x) -> sin(2*x)``, ``cos(x)^4 - sin(x)^4 -> cos(2*x)``.
    """
    ordered = sorted(angles, key=lambda e: e._key)
    relations: list[Expr] = []
    firsts: list[Expr] = []
    for u in ordered:
        s_, c_ = Func.of("sin", u), Func.of("cos", u)
        s2, c2 = Func.of("sin", 2 * u), Func.of("cos", 2 * u)
        half = Number.of(Fraction(1, 2))
        relations += [s_ * c_ - half * s2, c_**2 - half * (1 + c2), s_**2 - half * (1 - c2)]
        firsts += [s_, c_]
    others = PolyRing.for_exprs([poly_expr, *relations]).gens
    ring = PolyRing(firsts + [g for g in others if g not in firsts], "lex")
    remainder = ring.to_poly(poly_expr)
    for relation in relations:
        _, remainder = divmod(remainder, ring.to_poly(relation))
    return ring.from_poly(remainder)


def _reduce_pythagoras(poly_expr: Expr, angles: set[Expr], eliminate: str) -> Expr:
    keep = "sin" if eliminate == "cos" else "cos"
    relations = [
        Func.of(eliminate, u) ** 2 + Func.of(keep, u) ** 2 - 1
        for u in sorted(angles, key=lambda e: e._key)
    ]
    # lex with the eliminated atoms first: each relation leads with eliminate(u)^2
    firsts = [Func.of(eliminate, u) for u in sorted(angles, key=lambda e: e._key)]
    others = PolyRing.for_exprs([poly_expr, *relations]).gens
    ring = PolyRing(firsts + [g for g in others if g not in firsts], "lex")
    remainder = ring.to_poly(poly_expr)
    for relation in relations:
        _, remainder = divmod(remainder, ring.to_poly(relation))
    return ring.from_poly(remainder)


def _quick_forms(expr: Expr, deadline: float) -> list[Expr]:
    """Cheap candidates tried before the e-graph: kernel forms, merged exponentials, Pythagoras."""
    forms: list[Expr] = []
    merged = _merge_exponentials(expr)
    bases = [expr] if merged is expr else [expr, merged]
    for base in bases:
        if base is not expr:
            forms.append(base)
        if time.monotonic() > deadline:
            break
        forms.extend(_kernel_forms(base, deadline))
        forms.extend(_pythagorean_forms(base))
    return forms


def simplify_report(
    expr: Expr,
    *,
    rules: Sequence[Rule] | None = None,
    extra_rules: Sequence[Rule] = (),
    cost: CostFunction = AST_SIZE,
    limits: Limits | None = None,
    fast_paths: bool = True,
) -> Simplified:
    """Simplify ``expr`` and say how: see the module docstring for the method.

    ``fast_paths=False`` skips the pre-pass and always runs the e-graph.
    """
    limits = limits or Limits()
    start = time.monotonic()
    deadline = start + limits.seconds
    rule_set = tuple(DEFAULT_RULES if rules is None else rules) + tuple(extra_rules)
    input_cost = expr_cost(expr, cost)
    default_search = fast_paths and rules is None and not extra_rules and cost is AST_SIZE
    quick: list[Expr] = []
    if default_search:
        # Fast paths: most everyday identities are settled by the kernel (a
        # rational function's best form is among its cancelled, expanded and
        # factored forms, which is also SymPy's answer) or by one pass of
        # exp-merging and Pythagoras; the e-graph runs only when neither
        # gives a leaf, and then starts from the best of them.
        quick = _quick_forms(expr, start + limits.seconds / 2)
        best_quick = min([expr, *quick], key=lambda e: (expr_cost(e, cost), e.count_ops()))
        best_cost = expr_cost(best_quick, cost)
        if isinstance(best_quick, Number | Symbol) or (
            best_cost < input_cost and _is_rational_function(expr)
        ):
            nodes = best_quick.count_ops()
            report = SaturationReport("fast_path", 0, nodes, nodes, {"fast-path": 1})
            return Simplified(best_quick, best_cost, input_cost, report)
    egraph = EGraph()
    root = egraph.add_expr(expr)
    size = expr.count_ops()
    for form in quick:
        if form.count_ops() <= size * 3 // 2 + KERNEL_SEED_GROWTH:
            egraph.union(root, egraph.add_expr(form))
    for sub in expr.walk():
        if time.monotonic() > deadline - limits.seconds / 2:
            break  # keep at least half the budget for saturation
        size = sub.count_ops()
        if isinstance(sub, Add | Mul | Pow) and size <= KERNEL_SEED_MAX_OPS:
            cid = egraph.add_expr(sub)
            for form in _kernel_forms(sub, deadline):
                # a much larger form (a full expansion) only feeds the associativity
                # explosion; the root's own kernel forms are compared at the end anyway
                if form.count_ops() <= size * 3 // 2 + KERNEL_SEED_GROWTH:
                    egraph.union(cid, egraph.add_expr(form))
    search_limits = limits
    if quick and min(expr_cost(f, cost) for f in quick) < input_cost and limits.patience:
        # the search only polishes a form the fast paths already improved
        search_limits = dataclasses.replace(limits, patience=min(limits.patience, 2))
    report = saturate(egraph, rule_set, search_limits, deadline=deadline, root=root, cost=cost)
    extracted, _ = egraph.extract(root, cost)
    candidates = [expr, extracted]
    if time.monotonic() < deadline:
        candidates.extend(_kernel_forms(extracted, deadline))
    best = min(candidates, key=lambda e: (expr_cost(e, cost), e.count_ops()))
    return Simplified(best, expr_cost(best, cost), input_cost, report)


def simplify(
    expr: Expr,
    *,
    rules: Sequence[Rule] | None = None,
    extra_rules: Sequence[Rule] = (),
    cost: CostFunction = AST_SIZE,
    limits: Limits | None = None,
    fast_paths: bool = True,
) -> Expr:
    """A cheapest equivalent form found by equality saturation within ``limits``.

    ``rules`` replaces the default rule set, ``extra_rules`` adds to it;
    ``cost`` prices one e-node (default: tree size); ``limits`` bounds nodes,
    iterations and seconds so it always returns; ``fast_paths`` (default on)
    tries the kernel, exp-merging and Pythagoras first (module docstring).
    """
    return simplify_report(
        expr,
        rules=rules,
        extra_rules=extra_rules,
        cost=cost,
        limits=limits,
        fast_paths=fast_paths,
    ).expr
