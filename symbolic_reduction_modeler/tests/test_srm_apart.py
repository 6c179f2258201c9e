"""apart: partial fractions over Q, with SymPy as the oracle."""

from __future__ import annotations

from typing import Any

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared_core.testing import run_cli
from symbolic_reduction_modeler import (
    Expr,
    Number,
    SymbolicInputError,
    SymbolicMathError,
    apart,
    cancel,
    parse,
    sin,
    symbols,
)
from symbolic_reduction_modeler.cli import main

x, y = symbols("x y")
sx = sympy.Symbol("x")
FACTORS = ["x", "x - 1", "x + 2", "x^2 + 1", "2*x + 3", "x^2 - 2"]


def decomposition(expr: Any) -> dict[tuple[Any, int], Any]:
    """{(monic irreducible f, k): numerator} for every term a/f^k (plus (1, 0) for the polynomial)."""
    out: dict[tuple[Any, int], Any] = {}
    for term in sympy.Add.make_args(sympy.expand(expr, deep=False)):
        numer, denom = sympy.fraction(sympy.together(term))
        if not denom.has(sx):
            key: tuple[Any, int] = (sympy.Integer(1), 0)
            out[key] = sympy.expand(out.get(key, 0) + numer / denom)
            continue
        const, factors = sympy.factor_list(denom, sx)
        assert len(factors) == 1, term
        f, k = factors[0]
        lead = sympy.Poly(f, sx).LC()
        out[(sympy.expand(f / lead), int(k))] = sympy.expand(numer / (const * lead**k))
    return {key: v for key, v in out.items() if v != 0}


def to_sympy(expr: Expr) -> Any:
    return sympy.sympify(str(expr).replace("^", "**"), locals={"x": sx})


class TestApart:
    def test_known(self) -> None:
        assert apart(parse("1/(x^2-1)"), x) == parse("1/2/(x-1) - 1/2/(x+1)")
        assert apart(parse("x^4/(x^2-3*x+2)"), x) == parse("x^2 + 3*x + 7 - 1/(x-1) + 16/(x-2)")
        assert apart(parse("(x+1)/(x+1)"), x) == Number.of(1)

    @given(
        st.lists(st.integers(-6, 6), min_size=1, max_size=6),
        st.lists(st.tuples(st.sampled_from(FACTORS), st.integers(1, 3)), min_size=1, max_size=3),
    )
    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    def test_matches_sympy(self, numer: list[int], denom: list[tuple[str, int]]) -> None:
        """Exactly SymPy's decomposition, term by term; it recombines to the input."""
        top: Expr = Number.of(0)
        for i, c in enumerate(numer):
            top = top + c * x**i
        bottom: Expr = Number.of(1)
        for f, e in denom:
            bottom = bottom * parse(f) ** e
        expr = top / bottom
        ours = apart(expr, x)
        assert cancel(ours - expr) == 0
        assert decomposition(to_sympy(ours)) == decomposition(sympy.apart(to_sympy(expr), sx))

    def test_errors(self) -> None:
        with pytest.raises(SymbolicInputError, match="alone"):
            apart(1 / (x + y), x)
        with pytest.raises(SymbolicInputError, match="polynomial"):
            apart(sin(x) / (x + 1), x)
        with pytest.raises(SymbolicMathError):
            apart(parse("1/x^500"), x)  # above the degree limit of the univariate kernel

    def test_cli(self) -> None:
        result = run_cli(main, ["apart", "1/(x^2-1)", "x"])
        assert result.code == 0
        assert parse(result.out.strip()) == parse("1/2/(x-1) - 1/2/(x+1)")
