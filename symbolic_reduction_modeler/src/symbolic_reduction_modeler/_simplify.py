"""``simplify``: equality saturation on an e-graph, seeded by the polynomial kernel.

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

import time
from collections.abc import Sequence
from dataclasses import dataclass

from symbolic_reduction_modeler._egraph import AST_SIZE, CostFunction, EGraph
from symbolic_reduction_modeler._expr import Add, Expr, Func, Mul, Number, Pow, Symbol
from symbolic_reduction_modeler._poly import cancel, expand, factor
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


def simplify_report(
    expr: Expr,
    *,
    rules: Sequence[Rule] | None = None,
    extra_rules: Sequence[Rule] = (),
    cost: CostFunction = AST_SIZE,
    limits: Limits | None = None,
) -> Simplified:
    """Simplify ``expr`` and say how: see the module docstring for the method."""
    limits = limits or Limits()
    start = time.monotonic()
    deadline = start + limits.seconds
    rule_set = tuple(DEFAULT_RULES if rules is None else rules) + tuple(extra_rules)
    egraph = EGraph()
    root = egraph.add_expr(expr)
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
    report = saturate(egraph, rule_set, limits, deadline=deadline, root=root, cost=cost)
    extracted, _ = egraph.extract(root, cost)
    candidates = [expr, extracted]
    if time.monotonic() < deadline:
        candidates.extend(_kernel_forms(extracted, deadline))
    best = min(candidates, key=lambda e: (expr_cost(e, cost), e.count_ops()))
    return Simplified(best, expr_cost(best, cost), expr_cost(expr, cost), report)


def simplify(
    expr: Expr,
    *,
    rules: Sequence[Rule] | None = None,
    extra_rules: Sequence[Rule] = (),
    cost: CostFunction = AST_SIZE,
    limits: Limits | None = None,
) -> Expr:
    """A cheapest equivalent form found by equality saturation within ``limits``.

    ``rules`` replaces the default rule set, ``extra_rules`` adds to it;
    ``cost`` prices one e-node (default: tree size); ``limits`` bounds nodes,
    iterations and seconds so it always returns.
    """
    return simplify_report(
        expr, rules=rules, extra_rules=extra_rules, cost=cost, limits=limits
    ).expr
