"""Derivatives, gradients and Jacobians."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from symbolic_reduction_modeler._expr import (
    Add,
    Expr,
    Func,
    Mul,
    Number,
    Pow,
    Symbol,
    cos,
    exp,
    log,
    sin,
)
from symbolic_reduction_modeler.errors import SymbolicInputError

__all__ = ["diff", "gradient", "jacobian"]


def diff(expr: Expr, var: Symbol, order: int = 1) -> Expr:
    """The ``order``-th derivative of ``expr`` with respect to ``var``."""
    if not isinstance(var, Symbol):
        raise SymbolicInputError(f"can only differentiate with respect to a symbol, not {var}")
    if order < 0:
        raise SymbolicInputError("the order of a derivative is at least 0")
    result = expr
    for _ in range(order):
        result = _d(result, var, {})
    return result


def _d(expr: Expr, x: Symbol, memo: dict[Expr, Expr]) -> Expr:
    if expr in memo:
        return memo[expr]
    if x not in expr.free_symbols:
        out: Expr = Number.of(0)
    elif expr is x:
        out = Number.of(1)
    elif isinstance(expr, Add):
        out = Add.of(*(_d(t, x, memo) for t in expr.args))
    elif isinstance(expr, Mul):
        args = expr.args
        out = Add.of(
            *(Mul.of(*args[:i], _d(a, x, memo), *args[i + 1 :]) for i, a in enumerate(args))
        )
    elif isinstance(expr, Pow):
        base, e = expr.args
        if x not in e.free_symbols:
            out = e * Pow.of(base, e - 1) * _d(base, x, memo)
        else:  # d(b^e) = b^e * (e' log b + e b'/b)
            out = expr * (_d(e, x, memo) * log(base) + e * _d(base, x, memo) / base)
    elif isinstance(expr, Func):
        u = expr.args[1]
        du = _d(u, x, memo)
        rules: dict[str, Callable[[], Expr]] = {
            "exp": lambda: exp(u),
            "log": lambda: Pow.of(u, Number.of(-1)),
            "sin": lambda: cos(u),
            "cos": lambda: -sin(u),
            "tan": lambda: 1 + Pow.of(Func.of("tan", u), Number.of(2)),
            "abs": lambda: u / expr,
        }
        out = rules[expr.name]() * du
    else:
        raise SymbolicInputError(f"cannot differentiate {type(expr).__name__}")
    memo[expr] = out
    return out


def gradient(expr: Expr, variables: Sequence[Symbol]) -> list[Expr]:
    return [diff(expr, v) for v in variables]


def jacobian(exprs: Sequence[Expr], variables: Sequence[Symbol]) -> list[list[Expr]]:
    return [[diff(e, v) for v in variables] for e in exprs]
