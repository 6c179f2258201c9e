"""Numbers out of expressions: evaluation, and generated Python/NumPy callables.

``lambdify`` writes the source of a function (shown by ``.source``) and
compiles it, so the generated code is inspectable and runs at plain Python
(or NumPy, vectorised over arrays) speed with no tree walking per call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from symbolic_reduction_modeler._expr import Add, Expr, Func, Mul, Number, Pow, Symbol
from symbolic_reduction_modeler.errors import SymbolicInputError, SymbolicMathError

__all__ = ["Lambdified", "evaluate", "lambdify", "to_python_source"]

_FUNCS = {"exp": "exp", "log": "log", "sin": "sin", "cos": "cos", "tan": "tan", "abs": "abs"}


def to_python_source(expr: Expr, module: str = "math") -> str:
    """A Python expression computing ``expr`` (``module`` is ``math`` or ``np``)."""

    def go(node: Expr) -> str:
        if isinstance(node, Number):
            v: Fraction = node.value
            return f"({v.numerator}/{v.denominator})" if v.denominator != 1 else f"({v.numerator})"
        if isinstance(node, Symbol):
            return node.name
        if isinstance(node, Add):
            return "(" + " + ".join(go(a) for a in node.args) + ")"
        if isinstance(node, Mul):
            return "(" + " * ".join(go(a) for a in node.args) + ")"
        if isinstance(node, Pow):
            base, e = node.args
            if isinstance(e, Number) and e.value == Fraction(1, 2):
                return f"{module}.sqrt({go(base)})"
            return f"({go(base)} ** {go(e)})"
        if not isinstance(node, Func):
            raise SymbolicInputError(f"cannot generate code for {type(node).__name__}")
        name = _FUNCS[node.name]
        prefix = "abs" if name == "abs" and module == "math" else f"{module}.{name}"
        return f"{prefix}({go(node.args[1])})"

    return go(expr)


class Lambdified:
    """A compiled function of the given symbols; ``source`` is its Python code."""

    def __init__(self, func: Callable[..., Any], source: str) -> None:
        self._func = func
        self.source = source

    def __call__(self, *args: Any) -> Any:
        try:
            return self._func(*args)
        except ZeroDivisionError:
            raise SymbolicMathError("division by zero while evaluating") from None
        except (ValueError, OverflowError) as exc:
            raise SymbolicMathError(f"cannot evaluate: {exc}") from None


def lambdify(variables: Sequence[Symbol], expr: Expr, backend: str = "python") -> Lambdified:
    """Compile ``expr`` into a function of ``variables`` (``python`` or vectorised ``numpy``)."""
    if backend not in ("python", "numpy"):
        raise SymbolicInputError(f"unknown backend {backend!r}", hint="python or numpy")
    names = [v.name for v in variables]
    if not all(n.isidentifier() for n in names) or len(set(names)) != len(names):
        raise SymbolicInputError("variables need distinct identifier names")
    missing = expr.free_symbols - set(variables)
    if missing:
        raise SymbolicInputError(
            f"expression uses {', '.join(sorted(s.name for s in missing))}, not among the variables"
        )
    module = "np" if backend == "numpy" else "math"
    source = f"def generated({', '.join(names)}):\n    return {to_python_source(expr, module)}\n"
    namespace: dict[str, Any] = {"math": math}
    if backend == "numpy":
        import numpy as np

        namespace["np"] = np
    code = compile(source, "<lambdify>", "exec")
    exec(code, namespace)  # noqa: S102  # our own generated source, from an expression tree
    return Lambdified(namespace["generated"], source)


def evaluate(expr: Expr, values: dict[Symbol, float]) -> float:
    """Evaluate with floats; every free symbol needs a value."""
    variables = sorted(expr.free_symbols, key=lambda s: s._key)
    func = lambdify(variables, expr)
    try:
        return float(func(*(values[v] for v in variables)))
    except KeyError as exc:
        raise SymbolicInputError(f"no value for {exc.args[0]}") from None
