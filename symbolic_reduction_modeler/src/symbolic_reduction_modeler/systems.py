"""The standard polynomial systems Gröbner engines are compared on.

Katsura-n and cyclic-n are the benchmarks Singular, Magma and the F4/F5 papers
report; the bench times them against Singular and the tests check our reduced
bases on them, so both build them here rather than each keeping a copy.
"""

from __future__ import annotations

from symbolic_reduction_modeler._expr import Expr, Number, Symbol, symbols

__all__ = ["cyclic", "katsura"]


def katsura(n: int) -> tuple[list[Expr], list[Symbol]]:
    """Katsura-n: ``n + 1`` equations in ``u0..un`` (a magnetism model), and its generators."""
    us = symbols(" ".join(f"u{i}" for i in range(n + 1)))

    def u(i: int) -> Expr:
        i = abs(i)
        return us[i] if i <= n else Number.of(0)

    polys: list[Expr] = []
    for m in range(n):
        total: Expr = Number.of(0)
        for k in range(-n, n + 1):
            total = total + u(k) * u(m - k)
        polys.append(total - u(m))
    total = Number.of(0)
    for k in range(-n, n + 1):
        total = total + u(k)
    polys.append(total - 1)
    return polys, list(us)


def cyclic(n: int) -> tuple[list[Expr], list[Symbol]]:
    """Cyclic-n roots: the elementary symmetric sums of ``x0..x(n-1)`` cyclically, and ``prod = 1``."""
    xs = symbols(" ".join(f"x{i}" for i in range(n)))
    polys: list[Expr] = []
    for d in range(1, n):
        total: Expr = Number.of(0)
        for i in range(n):
            term: Expr = Number.of(1)
            for k in range(d):
                term = term * xs[(i + k) % n]
            total = total + term
        polys.append(total)
    prod: Expr = Number.of(1)
    for v in xs:
        prod = prod * v
    polys.append(prod - 1)
    return polys, list(xs)
