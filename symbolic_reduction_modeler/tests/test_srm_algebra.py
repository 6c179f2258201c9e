"""Polynomial algebra and Gröbner bases, with SymPy as the oracle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_core.testing import run_cli
from symbolic_reduction_modeler import (
    Expr,
    Number,
    SymbolicInputError,
    SymbolicMathError,
    abs_,
    cancel,
    exp,
    expand,
    factor,
    gcd,
    groebner,
    parse,
    poly_div,
    reduce,
    resultant,
    simplify,
    sin,
    symbols,
)
from symbolic_reduction_modeler.cli import main

x, y, z = symbols("x y z")


@st.composite
def polys(draw: st.DrawFn, max_terms: int = 5) -> Expr:
    terms = []
    for _ in range(draw(st.integers(1, max_terms))):
        c = draw(st.integers(-9, 9))
        e = [draw(st.integers(0, 3)) for _ in range(3)]
        terms.append(c * x ** e[0] * y ** e[1] * z ** e[2])
    total: Expr = Number.of(0)
    for t in terms:
        total = total + t
    return total


class TestPolynomials:
    def test_expand_and_factor(self) -> None:
        """Expansion multiplies out; factorisation recovers the factors."""
        assert expand((x + 1) ** 2 * (y - 1)) == parse("x^2*y - x^2 + 2*x*y - 2*x + y - 1")
        assert factor(parse("x^2 - y^2")) == (x - y) * (x + y)
        assert factor(parse("2*x^2 + 4*x + 2")) == 2 * (x + 1) ** 2

    @given(polys(), polys())
    @settings(max_examples=80)
    def test_fast_conversion_is_canonical(self, p: Expr, q: Expr) -> None:
        """The direct polynomial-to-expression path builds the same nodes as Add.of/Mul.of."""
        from symbolic_reduction_modeler._poly import PolyRing

        ring = PolyRing.for_exprs([p * q])
        poly = ring.to_poly(p * q)
        assert ring.from_poly(poly) is ring._from_poly_slow(poly)

    @given(polys(), polys(), st.integers(1, 6), st.booleans())
    @settings(max_examples=80, derandomize=True)
    def test_fast_conversion_with_functions_and_fractions(
        self, p: Expr, q: Expr, den: int, reverse: bool
    ) -> None:
        """Function generators, rational coefficients and unsorted generators stay canonical."""
        from symbolic_reduction_modeler._poly import PolyRing

        expr = (p + sin(x) ** 2 / den) * (q - abs_(y) * sin(x) + Number.of(1) / 3)
        gens = PolyRing.for_exprs([expr]).gens
        ring = PolyRing(tuple(reversed(gens)) if reverse else gens)
        poly = ring.to_poly(expr)
        fast = ring.from_poly(poly)
        assert fast is ring._from_poly_slow(poly)
        assert ring.to_poly(fast) == poly

    @given(polys(), polys(), st.integers(1, 5))
    @settings(max_examples=30, derandomize=True)
    def test_sum_conversion_mixes_monomials_and_products(self, p: Expr, q: Expr, den: int) -> None:
        """A sum of monomials and unexpanded products converts to the polynomial of its expansion."""
        from symbolic_reduction_modeler._poly import PolyRing

        mixed = p + (q + 1) ** 2 * y + x * Number.of(1) / den + (x + y) * z
        ring = PolyRing.for_exprs([mixed])
        assert ring.to_poly(mixed) == ring.to_poly(expand(mixed))
        assert ring.from_poly(ring.to_poly(mixed)) is expand(mixed)

    def test_exp_generators_fold_their_powers(self) -> None:
        """exp(x)^2 is exp(2*x) in canonical form, whichever conversion path runs."""
        e = exp(x)
        assert expand((e + 1) ** 2) == exp(2 * x) + 2 * e + 1

    def test_interning_table_forgets_dropped_nodes(self) -> None:
        """Expansions that are dropped do not keep their terms in the interning table."""
        import gc

        from symbolic_reduction_modeler._expr import interned_count

        gc.collect()
        before = interned_count()
        for k in range(2):
            big = expand((x + y + z + k + 2) ** 12)
            assert len(big.args) == 455
            del big
        gc.collect()
        assert interned_count() < before + 400

    def test_expand_through_functions(self) -> None:
        """Function arguments are expanded; function calls are opaque generators."""
        assert expand(sin((x + 1) ** 2) * (x + 1)) == sin(x**2 + 2 * x + 1) * x + sin(
            x**2 + 2 * x + 1
        )

    def test_gcd_cancel_div_resultant(self) -> None:
        """GCD, cancellation, division with remainder and resultants."""
        assert gcd(parse("x^2 - 1"), parse("x^2 + 2*x + 1")) == x + 1
        assert cancel(parse("(x^2 - 1)/(x + 1)")) == x - 1
        assert cancel(parse("1/x + 1/y")) == (x + y) / (x * y)
        q, r = poly_div(parse("x^3 + 2"), x + 1)
        assert (q, r) == (x**2 - x + 1, Number.of(1))
        assert resultant(x**2 - y, x - 2, x) == 4 - y

    def test_errors(self) -> None:
        """Huge expansions, zero divisors and non-polynomials are clear errors."""
        with pytest.raises(SymbolicMathError):
            expand((x + y + z + 1) ** 5000)
        with pytest.raises(SymbolicMathError):
            poly_div(x, Number.of(0))
        with pytest.raises(SymbolicInputError):
            groebner([x], order="weird")

    def test_simplify_never_grows(self) -> None:
        """simplify picks the smallest form and never returns something larger."""
        e = parse("(x^2 - 1)/(x - 1)")
        assert simplify(e) == x + 1
        f = parse("(x+1)^10")
        assert simplify(f) is f

    @given(polys(), polys())
    @settings(max_examples=40)
    def test_expand_factor_gcd_against_sympy(self, p: Expr, q: Expr) -> None:
        """expand, factor and gcd agree with SymPy; expand(factor(p)) == p."""
        sympy = pytest.importorskip("sympy")
        sx, sy, sz = sympy.symbols("x y z")
        env = {"x": sx, "y": sy, "z": sz}
        sp = sympy.sympify(str(p).replace("^", "**"), locals=env)
        sq = sympy.sympify(str(q).replace("^", "**"), locals=env)
        product = expand(p * q)
        assert (
            sympy.expand(sympy.sympify(str(product).replace("^", "**"), locals=env) - sp * sq) == 0
        )
        assert expand(factor(p)) == expand(p)
        ours = gcd(p, q)
        theirs = (
            sympy.Poly(sympy.gcd(sp, sq), sx, sy, sz).monic() if sympy.gcd(sp, sq) != 0 else None
        )
        if theirs is not None:
            mine = sympy.Poly(
                sympy.sympify(str(ours).replace("^", "**"), locals=env), sx, sy, sz
            ).monic()
            assert mine == theirs


KATSURA3 = ["x + 2*y + 2*z - 1", "x^2 + 2*y^2 + 2*z^2 - x", "2*x*y + 2*y*z - y"]
CYCLIC3 = ["x + y + z", "x*y + y*z + z*x", "x*y*z - 1"]


class TestGroebner:
    @pytest.mark.parametrize("system", [KATSURA3, CYCLIC3], ids=["katsura3", "cyclic3"])
    @pytest.mark.parametrize("order", ["lex", "grlex", "grevlex"])
    def test_reduced_basis_equals_sympy(self, system: list[str], order: str) -> None:
        """The reduced basis is identical to SymPy's for every order."""
        sympy = pytest.importorskip("sympy")
        sx, sy, sz = sympy.symbols("x y z")
        env = {"x": sx, "y": sy, "z": sz}
        ours = groebner([parse(p) for p in system], [x, y, z], order)
        theirs = sympy.groebner(
            [sympy.sympify(p.replace("^", "**"), locals=env) for p in system],
            sx,
            sy,
            sz,
            order=order,
        )
        mine = {
            sympy.expand(sympy.sympify(str(e).replace("^", "**"), locals=env)) for e in ours.exprs
        }
        # SymPy returns primitive integer polynomials; make them monic in the basis' order.
        monic = {sympy.expand(g.as_expr() / g.LC(order=order)) for g in theirs.polys}
        assert mine == monic

    def test_membership_and_normal_forms(self) -> None:
        """Ideal members reduce to 0; others to their unique normal form."""
        basis = groebner([x**2 + y**2 - 1, x - y], [x, y], "lex")
        assert basis.exprs == [x - y, y**2 - Number.of(1) / 2]
        assert basis.contains(2 * y**2 - 1)
        assert not basis.contains(y - 1)
        assert reduce(x**3, basis) == y / 2


class TestCli:
    def test_commands(self) -> None:
        """expand, factor, gcd, diff and groebner answer on the command line."""
        assert run_cli(main, ["expand", "(x+1)^2"]).out.strip() == str(expand((x + 1) ** 2))
        assert run_cli(main, ["factor", "x^2-1"]).out.strip() == str((x - 1) * (x + 1))
        assert run_cli(main, ["gcd", "x^2-1", "x+1"]).out.strip() == "1 + x"
        assert run_cli(main, ["diff", "x^3", "x"]).out.strip() == "3*x^2"
        result = run_cli(
            main, ["--json", "groebner", "x^2+y^2-1", "x-y", "--order", "lex", "--gens", "x,y"]
        )
        assert '"basis": ["x - y", "-1/2 + y^2"]' in result.out
        assert run_cli(main, ["expand", "(x+1)^2", "--latex"]).out.strip() == "1 + x^{2} + 2 x"

    def test_syntax_error_is_one_line_exit_2(self) -> None:
        """A syntax error: one line with the column, exit 2."""
        result = run_cli(main, ["expand", "x +* 2"])
        assert result.code == 2
        assert result.err.count("\n") == 1
        assert "column 4" in result.err


def test_example_runs() -> None:
    """The shipped example reduces x^3 - y/2 to 0: it is in the ideal."""
    import runpy
    from pathlib import Path

    example = Path(__file__).parent.parent / "examples" / "ideal_membership.py"
    assert runpy.run_path(str(example))["main"]() == "0"
