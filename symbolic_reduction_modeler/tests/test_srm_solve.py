"""Solving linear and polynomial systems, checked by substitution and against SymPy."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared_core.testing import run_cli
from symbolic_reduction_modeler import (
    Eq,
    Expr,
    Number,
    RootOf,
    Solution,
    Symbol,
    SymbolicInputError,
    SymbolicMathError,
    expand,
    parse,
    solve,
    symbols,
)
from symbolic_reduction_modeler.cli import main

x, y, z = symbols("x y z")
KATSURA3 = ["x + 2*y + 2*z - 1", "x^2 + 2*y^2 + 2*z^2 - x", "2*x*y + 2*y*z - y"]


def _exact(solution: Solution) -> dict[Expr, Expr]:
    out: dict[Expr, Expr] = {}
    for var, value in solution.items():
        assert not isinstance(value, RootOf)
        out[var] = value
    return out


def _check(equations: list[Expr], solutions: list[Solution]) -> None:
    """Exact substitution for rational solutions, 1e-9 numerically for RootOf ones."""
    for sol in solutions:
        if all(not isinstance(v, RootOf) for v in sol.values()):
            for eq in equations:
                assert expand(eq.subs(_exact(sol))) == 0, (eq, sol)
        else:
            point: dict[Symbol, float] = {v: val.evalf() for v, val in sol.items()}
            for eq in equations:
                assert abs(eq.evalf(point)) < 1e-9, (eq, sol)


class TestLinear:
    def test_unique_3x3(self) -> None:
        """A regular 3x3 system has one exact rational solution."""
        eqs = [parse("x + y + z - 6"), parse("x - y"), parse("2*x + 3*z - 5")]
        sols = solve(eqs, [x, y, z])
        assert sols == [
            {
                x: Number.of(Fraction(13, 4)),
                y: Number.of(Fraction(13, 4)),
                z: -Number.of(Fraction(1, 2)),
            }
        ]
        _check(eqs, sols)

    def test_inconsistent_has_no_solution(self) -> None:
        """x + y = 1 and x + y = 2 contradict each other: []."""
        assert solve([Eq(x + y, 1), Eq(x + y, 2)], [x, y]) == []

    def test_underdetermined_is_parametric(self) -> None:
        """The free unknown stays a parameter and is left out of the dict."""
        eqs = [parse("x + y + z - 1"), parse("x - y")]
        sols = solve(eqs, [x, y, z])
        half = Number.of(Fraction(1, 2))
        assert sols == [{x: half - half * z, y: half - half * z}]
        _check(eqs, sols)

    def test_rank_deficient_consistent(self) -> None:
        """Repeated equations do not count twice."""
        sols = solve([parse("2*x - 4"), parse("x - 2"), parse("y + x")], [x, y])
        assert sols == [{x: Number.of(2), y: Number.of(-2)}]


class TestPolynomial:
    def test_irrational_roots_are_exact_rootofs(self) -> None:
        """x^2 - 2: two RootOf with isolating intervals, smallest first."""
        sols = solve([parse("x^2 - 2")], [x])
        assert len(sols) == 2
        lo, hi = sols[0][x], sols[1][x]
        assert isinstance(lo, RootOf)
        assert isinstance(hi, RootOf)
        assert (lo.index, hi.index) == (0, 1)
        assert lo.poly == parse("x^2 - 2")
        assert hi.interval[0] < Fraction(14142136, 10**7)
        assert hi.interval[1] > Fraction(14142135, 10**7)
        assert abs(hi.evalf() - math.sqrt(2)) < 1e-15
        assert abs(lo.value(40) + Fraction(math.isqrt(2 * 10**80), 10**40)) < Fraction(1, 10**39)
        assert str(hi) == "RootOf(-2 + x^2, 1) in [1.414213, 1.414214]"
        _check([parse("x^2 - 2")], sols)

    def test_circle_and_line(self) -> None:
        """{x^2 + y^2 - 1, x - y}: (±1/sqrt 2, ±1/sqrt 2)."""
        eqs = [parse("x^2 + y^2 - 1"), parse("x - y")]
        sols = solve(eqs, [x, y])
        r = math.sqrt(0.5)
        flat = [v for s in sols for v in (s[x].evalf(), s[y].evalf())]
        assert flat == pytest.approx([-r, -r, r, r], abs=1e-15)
        _check(eqs, sols)

    def test_katsura3(self) -> None:
        """katsura-3 has four real solutions, two of them rational."""
        eqs = [parse(p) for p in KATSURA3]
        sols = solve(eqs, [x, y, z])
        assert len(sols) == 4
        rational = [s for s in sols if not any(isinstance(v, RootOf) for v in s.values())]
        assert {x: Number.of(1), y: Number.of(0), z: Number.of(0)} in rational
        assert {
            x: Number.of(Fraction(1, 3)),
            y: Number.of(0),
            z: Number.of(Fraction(1, 3)),
        } in rational
        _check(eqs, sols)

    def test_not_in_shape_position_and_not_radical(self) -> None:
        """{x^2-2, y^2-3} needs a separating form; x^2 = 0 is a double root."""
        sols = solve([parse("x^2 - 2"), parse("y^2 - 3")], [x, y])
        assert len(sols) == 4
        _check([parse("x^2 - 2"), parse("y^2 - 3")], sols)
        sols = solve([parse("x^2"), parse("y^2 - 3")], [x, y])
        assert len(sols) == 2
        assert all(s[x] == 0 for s in sols)
        _check([parse("x^2"), parse("y^2 - 3")], sols)

    def test_three_unknowns_tower(self) -> None:
        """{x^2-2, y^2-3, z^2-x*y}: z real only when x*y > 0, so 4 of the 8 solutions."""
        eqs = [parse("x^2 - 2"), parse("y^2 - 3"), parse("z^2 - x*y")]
        sols = solve(eqs, [x, y, z])
        assert len(sols) == 4
        assert all(s[x].evalf() * s[y].evalf() > 0 for s in sols)
        zs = sorted(s[z].evalf() for s in sols)
        assert zs == pytest.approx([-(6**0.25), -(6**0.25), 6**0.25, 6**0.25], abs=1e-14)
        _check(eqs, sols)

    def test_no_real_solution_and_inconsistent(self) -> None:
        """x^2 + 1 has no real root; {x^2, x^2 - 1} generates the unit ideal."""
        assert solve([parse("x^2 + 1")], [x]) == []
        assert solve([parse("x^2"), parse("x^2 - 1")], [x]) == []

    def test_positive_dimensional_raises(self) -> None:
        """Infinitely many solutions are a clear error, not a wrong answer."""
        with pytest.raises(SymbolicMathError, match="positive-dimensional"):
            solve([parse("x*y - 1")], [x, y])
        with pytest.raises(SymbolicMathError, match="infinitely many"):
            solve([parse("x^2*y - y")], [x, y])
        assert solve([parse("x^2 - x^2")], [x]) == [{}]  # 0 = 0: x is free

    def test_input_errors(self) -> None:
        """Bad unknowns and foreign symbols are input errors, caught before FLINT."""
        with pytest.raises(SymbolicInputError):
            solve([parse("x^2 - 1")], [parse("x + 1")])
        with pytest.raises(SymbolicInputError):
            solve([parse("x^2 - 1")], [x, x])
        with pytest.raises(SymbolicInputError, match="not among the unknowns"):
            solve([parse("x^2 - y")], [x])
        with pytest.raises(SymbolicInputError):
            solve(parse("x - 1"), [x])  # type: ignore[arg-type]
        with pytest.raises(SymbolicInputError):
            solve([], [x])


@st.composite
def linear_systems(draw: st.DrawFn) -> list[Expr]:
    eqs = []
    for _ in range(3):
        a, b, c = (draw(st.integers(-3, 3)) for _ in range(3))
        d = draw(st.integers(-5, 5))
        eqs.append(a * x + b * y + c * z + d)
    return eqs


@st.composite
def rational_point_systems(draw: st.DrawFn) -> list[Expr]:
    """Two polynomials whose common zeros are {a, b} x {c, d}, mixed so it is not triangular."""
    q = st.fractions(min_value=-3, max_value=3, max_denominator=3)
    a, b, c, d = (draw(q) for _ in range(4))
    f = expand((x - a) * (x - b))
    g = expand((y - c) * (y - d))
    r = draw(st.integers(-2, 2))
    s = draw(st.integers(-2, 2))
    mixed = expand(f + r * g)  # unimodular row operations keep the ideal <f, g>
    return [mixed, expand(g + (s * x + 1) * mixed)]


def _sympy_env() -> tuple[object, dict[str, object]]:
    sympy = pytest.importorskip("sympy")
    sx, sy, sz = sympy.symbols("x y z")
    return sympy, {"x": sx, "y": sy, "z": sz}


class TestAgainstSympy:
    @given(linear_systems())
    @settings(max_examples=40, deadline=None)
    def test_linear_matches_sympy(self, eqs: list[Expr]) -> None:
        """Same consistency, same number of free parameters, and values that satisfy it."""
        assume(any(e != 0 for e in eqs))  # SymPy answers [] for 0 = 0
        sympy, env = _sympy_env()
        s_eqs = [sympy.sympify(str(e).replace("^", "**"), locals=env) for e in eqs]  # type: ignore[attr-defined]
        theirs = sympy.solve(s_eqs, [env["x"], env["y"], env["z"]], dict=True)  # type: ignore[attr-defined]
        ours = solve(eqs, [x, y, z])
        assert len(ours) == len(theirs)
        if ours:
            assert len(ours[0]) == len(theirs[0])
            _check(eqs, ours)
            if len(ours[0]) == 3:
                for var, value in ours[0].items():
                    assert sympy.Rational(str(value)) == theirs[0][env[var.name]]  # type: ignore[attr-defined]

    @given(rational_point_systems())
    @settings(max_examples=25, deadline=None)
    def test_polynomial_matches_sympy(self, eqs: list[Expr]) -> None:
        """The rational solution sets equal SymPy's solve_poly_system."""
        sympy, env = _sympy_env()
        s_eqs = [sympy.sympify(str(e).replace("^", "**"), locals=env) for e in eqs]  # type: ignore[attr-defined]
        theirs = sympy.solve_poly_system(s_eqs, env["x"], env["y"]) or []  # type: ignore[attr-defined]
        ours = solve(eqs, [x, y])
        mine = {(str(s[x]), str(s[y])) for s in ours}
        expected = {(str(a).replace("**", "^"), str(b)) for a, b in theirs}
        assert {(sympy.Rational(a), sympy.Rational(b)) for a, b in mine} == {  # type: ignore[attr-defined]
            (sympy.Rational(a), sympy.Rational(b))
            for a, b in expected  # type: ignore[attr-defined]
        }
        _check(eqs, ours)

    def test_katsura3_real_solutions_match_sympy(self) -> None:
        """The real solutions of katsura-3 agree with SymPy's to 1e-12."""
        sympy, env = _sympy_env()
        s_eqs = [sympy.sympify(p.replace("^", "**"), locals=env) for p in KATSURA3]  # type: ignore[attr-defined]
        theirs = sympy.solve_poly_system(s_eqs, env["x"], env["y"], env["z"])  # type: ignore[attr-defined]
        expected = sorted(
            tuple(float(sympy.re(sympy.N(c, 30))) for c in sol)  # type: ignore[attr-defined]
            for sol in theirs
            if all(abs(sympy.im(sympy.N(c, 30))) < 1e-20 for c in sol)  # type: ignore[attr-defined]
        )
        ours = sorted(
            (s[x].evalf(), s[y].evalf(), s[z].evalf())
            for s in solve([parse(p) for p in KATSURA3], [x, y, z])
        )
        assert len(ours) == len(expected) == 4
        for mine, other in zip(ours, expected, strict=True):
            assert mine == pytest.approx(other, abs=1e-12)


class TestCli:
    def test_solve_command(self) -> None:
        """Equations with '=', --for, --numeric and --json."""
        result = run_cli(main, ["solve", "x + y = 3", "x - y = 1", "--for", "x,y"])
        assert result.code == 0, result.err
        assert result.out.strip() == "x = 2, y = 1"
        result = run_cli(main, ["solve", "x^2 = 2", "--for", "x", "--numeric"])
        assert result.out.split() == [
            "x",
            "=",
            "-1.4142135623730951",
            "x",
            "=",
            "1.4142135623730951",
        ]
        result = run_cli(main, ["--json", "solve", "x+y+z=1", "x=y", "--for", "x,y,z"])
        shown = json.loads(result.out)
        assert shown["solutions"] == [{"x": "1/2 - 1/2*z", "y": "1/2 - 1/2*z"}]
        assert shown["free"] == ["z"]
        result = run_cli(main, ["solve", "x+y=1", "x+y=2", "--for", "x,y"])
        assert result.out.strip() == "no (real) solution"
        result = run_cli(main, ["solve", "x^2=2", "--for", "x", "--latex"])
        assert r"\operatorname{RootOf}" in result.out

    @pytest.mark.parametrize(
        "argv",
        [
            ["solve", "x +* 1", "--for", "x"],
            ["solve", "x = 1 = 2", "--for", "x"],
            ["solve", "x + y = 1", "--for", "x"],
            ["solve", "x = 1", "--for", "x+1"],
        ],
    )
    def test_bad_input_is_one_line_exit_2(self, argv: list[str]) -> None:
        """Malformed equations or unknowns: one line on stderr, exit 2."""
        result = run_cli(main, argv)
        assert result.code == 2
        assert result.err.count("\n") == 1

    def test_positive_dimensional_exit_1(self) -> None:
        """A mathematically unsolvable request is exit 1 with a clear message."""
        result = run_cli(main, ["solve", "x*y = 1", "--for", "x,y"])
        assert result.code == 1
        assert "positive-dimensional" in result.err
