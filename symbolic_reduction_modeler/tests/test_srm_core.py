"""Expressions, parsing, printing, calculus and code generation."""

from __future__ import annotations

import contextlib
import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import symbolic_reduction_modeler as srm
from symbolic_reduction_modeler import (
    Expr,
    Number,
    Symbol,
    SymbolicError,
    SymbolicMathError,
    SymbolicSyntaxError,
    abs_,
    cos,
    diff,
    exp,
    lambdify,
    latex,
    log,
    parse,
    sin,
    sqrt,
    symbols,
)

x, y, z = symbols("x y z")


def exprs() -> st.SearchStrategy[Expr]:
    leaves = st.one_of(
        st.sampled_from([x, y, z]),
        st.integers(-5, 5).map(Number.of),
        st.fractions(min_value=-3, max_value=3, max_denominator=4).map(Number.of),
    )

    def extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        return st.one_of(
            st.tuples(children, children).map(lambda t: t[0] + t[1]),
            st.tuples(children, children).map(lambda t: t[0] * t[1]),
            st.tuples(children, st.integers(0, 3)).map(lambda t: t[0] ** t[1]),
            children.map(sin),
            children.map(exp),
        )

    return st.recursive(leaves, extend, max_leaves=8)


class TestCanonicalForms:
    def test_interning_makes_equality_identity(self) -> None:
        """Building the same expression twice gives the same object."""
        assert (x + y) is (y + x)
        assert (x * y * 2) is (2 * y * x)
        assert hash(parse("x*y + 1")) == hash(1 + y * x)

    def test_collection_of_terms_and_powers(self) -> None:
        """Like terms and powers of one base are collected."""
        assert 2 * x + 3 * x == 5 * x
        assert x * x**2 == x**3
        assert x - x == 0
        assert (x**2) ** 3 == x**6
        assert x / x == 1

    def test_exact_numbers(self) -> None:
        """Numbers stay exact rationals; square roots fold when exact."""
        assert Number.of(1) / 3 + Number.of(1) / 6 == Number.of(Fraction(1, 2))
        assert sqrt(9) == 3
        assert str(sqrt(12)) == "2*sqrt(3)"
        assert sqrt(Fraction(4, 9)) == Number.of(Fraction(2, 3))

    def test_function_identities(self) -> None:
        """Elementary identities apply on construction, respecting assumptions."""
        r = Symbol.of("r", real=True)
        p = Symbol.of("p", positive=True)
        assert exp(log(x)) == x
        assert log(exp(r)) == r
        assert log(exp(x)) != x  # not for complex x
        assert sin(-x) == -sin(x)
        assert cos(-x) == cos(x)
        assert abs_(p) == p
        assert abs_(Number.of(-4)) == 4
        assert exp(0) == 1
        assert log(1) == 0

    def test_undefined_values_raise(self) -> None:
        """Division by zero and log of a non-positive number are math errors."""
        with pytest.raises(SymbolicMathError):
            Number.of(0) ** -1
        with pytest.raises(SymbolicMathError):
            log(-2)


class TestParsing:
    def test_precedence_and_associativity(self) -> None:
        """^ binds tighter than unary minus and is right-associative."""
        assert parse("-x^2") == -(x**2)
        assert parse("2^3^2") == 512
        assert parse("x**2 + 3*x*y") == x**2 + 3 * x * y
        assert parse("sin(x)/x") == sin(x) / x
        assert parse("0.25*x") == x / 4

    def test_syntax_errors_have_columns(self) -> None:
        """A syntax error names the column."""
        with pytest.raises(SymbolicSyntaxError) as info:
            parse("x + * y")
        assert info.value.context["column"] == 5
        with pytest.raises(SymbolicSyntaxError):
            parse("foo(x)")
        with pytest.raises(SymbolicSyntaxError):
            parse("(" * 500 + "x" + ")" * 500)

    @given(exprs())
    @settings(max_examples=200)
    def test_print_parse_round_trip(self, expr: Expr) -> None:
        """str() output parses back to the identical (interned) expression."""
        assert parse(str(expr)) is expr

    @given(st.text(max_size=60))
    @settings(max_examples=300)
    def test_arbitrary_text_only_raises_our_errors(self, text: str) -> None:
        """Any text parses or raises a SymbolicError."""
        with contextlib.suppress(SymbolicError):
            parse(text)

    def test_latex(self) -> None:
        """LaTeX uses \\frac, \\sqrt and function macros."""
        assert latex(parse("sqrt(x)")) == "\\sqrt{x}"
        assert latex(parse("sin(x)")) == "\\sin\\left(x\\right)"
        assert latex(Number.of(Fraction(-1, 2))) == "-\\frac{1}{2}"


class TestCalculusAndCodegen:
    def test_derivatives(self) -> None:
        """Product, chain and power rules give the textbook results."""
        assert diff(x**3, x) == 3 * x**2
        assert diff(sin(x**2), x) == 2 * x * cos(x**2)
        assert diff(exp(x) * x, x) == exp(x) * x + exp(x)
        assert diff(log(x), x) == 1 / x
        assert diff(x**3, x, 2) == 6 * x
        assert diff(y, x) == 0

    @given(exprs(), st.floats(0.3, 2.0), st.floats(0.3, 2.0))
    @settings(max_examples=60)
    def test_derivative_matches_finite_difference(self, expr: Expr, a: float, b: float) -> None:
        """The symbolic derivative agrees with a central difference, within its error bound."""
        f = lambdify([x, y, z], expr)
        df = lambdify([x, y, z], diff(expr, x))
        d3f = lambdify([x, y, z], diff(expr, x, 3))
        h = 1e-6
        try:
            numeric = (f(a + h, b, 1.1) - f(a - h, b, 1.1)) / (2 * h)
            exact = df(a, b, 1.1)
            value = f(a, b, 1.1)
            third = max(abs(d3f(a + s, b, 1.1)) for s in (-h, 0.0, h))
        except (SymbolicMathError, OverflowError):
            return
        if not all(math.isfinite(v) for v in (numeric, exact, value, third)) or abs(exact) > 1e6:
            return
        # truncation h^2/6 * f''' plus rounding ~ 1e-16 * |f| / h, with a wide margin
        bound = 1e-4 * (1 + abs(exact)) + 10 * (h * h * third + 1e-16 * abs(value) / h)
        assert abs(numeric - exact) <= bound, (expr, a, b, numeric, exact, bound)

    def test_lambdify_source_and_numpy(self) -> None:
        """Generated code is inspectable; the NumPy backend vectorises."""
        np = pytest.importorskip("numpy")
        f = lambdify([x, y], x**2 + sin(y))
        assert "math.sin(y)" in f.source
        assert f(3.0, 0.0) == 9.0
        g = lambdify([x, y], x**2 + sin(y), backend="numpy")
        assert list(g(np.array([1.0, 2.0]), np.zeros(2))) == [1.0, 4.0]

    def test_public_api_is_complete(self) -> None:
        """Every public name of the private modules is exported."""
        import importlib

        for name in srm.__all__:
            assert hasattr(srm, name), name
        for private in (
            "_expr",
            "_parse",
            "_poly",
            "_groebner",
            "_calculus",
            "_codegen",
            "_printing",
            "_simplify",
        ):
            module = importlib.import_module(f"symbolic_reduction_modeler.{private}")
            assert set(module.__all__) <= set(srm.__all__), private
