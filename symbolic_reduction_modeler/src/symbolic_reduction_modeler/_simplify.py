"""``simplify``: the smallest of the forms the polynomial kernel can produce.

This is the candidate-selection strategy (expanded, factored, cancelled,
original; cost = number of distinct nodes), not yet equality saturation:
it never loops and never returns something larger than its input.
"""

from __future__ import annotations

from symbolic_reduction_modeler._expr import Expr
from symbolic_reduction_modeler._poly import cancel, expand, factor
from symbolic_reduction_modeler.errors import SymbolicError

__all__ = ["simplify"]


def simplify(expr: Expr) -> Expr:
    """The smallest equivalent form among ``expr``, its expansion, factorisation and cancellation."""
    candidates = [expr]
    for transform in (expand, cancel, factor):
        try:
            candidates.append(transform(expr))
        except SymbolicError:
            continue  # not polynomial/rational in its generators: that form does not apply
    return min(candidates, key=lambda e: (e.count_ops(), len(str(e))))
