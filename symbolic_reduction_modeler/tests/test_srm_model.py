"""Model (declare, reduce, solve, differentiate) and C code generation compiled with cc."""

from __future__ import annotations

import contextlib
import ctypes
import json
import random
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared_core.testing import run_cli
from symbolic_reduction_modeler import (
    Expr,
    Model,
    Number,
    RootOf,
    Symbol,
    SymbolicInputError,
    SymbolicMathError,
    abs_,
    c_function,
    cos,
    exp,
    lambdify,
    log,
    parse,
    sin,
    sqrt,
    symbols,
)
from symbolic_reduction_modeler.cli import main

CIRCLE = """
name = "circle meets line"
variables = ["x", "y"]
parameters = { r = 1 }
equations = ["x^2 + y^2 = r^2", "y = 2*x"]
constraints = ["x >= 0"]
outputs = ["x"]
"""


class TestModel:
    def test_reduce_eliminates_non_outputs(self) -> None:
        """Eliminating y from x^2 + y^2 = r^2, y = 2x leaves x^2 - r^2/5 = 0."""
        model = Model.from_toml(CIRCLE)
        reduced = model.reduce()
        x, r = model.variables[0], model.parameters[0]
        assert [eq.as_expr() for eq in reduced.equations] == [x**2 - r**2 / 5]
        assert reduced.variables == [x]
        assert [str(c) for c in reduced.constraints] == ["x >= 0"]

    def test_solve_applies_the_constraints(self) -> None:
        model = Model.from_toml(CIRCLE)
        solutions = model.solve()
        assert len(solutions) == 1  # x >= 0 keeps one of the two intersections
        x, y = model.variables
        vx, vy = solutions[0][x], solutions[0][y]
        assert isinstance(vx, RootOf)
        assert isinstance(vy, RootOf)
        assert vx.evalf() == pytest.approx(5**-0.5)
        assert vy.evalf() == pytest.approx(2 * 5**-0.5)

    def test_bind_and_free_parameters(self) -> None:
        m = Model("linear")
        x, y = m.variable("x"), m.variable("y")
        a = m.parameter("a")
        m.equation(x + y, a)
        m.equation(x - y, 1)
        with pytest.raises(SymbolicInputError, match="no value"):
            m.solve()
        (sol,) = m.bind(a=5).solve()
        assert sol[x] == 3
        assert sol[y] == 2

    def test_dropped_constraints_are_reported(self) -> None:
        m = Model.from_toml(CIRCLE.replace('["x >= 0"]', '["y > 0"]'))
        reduced = m.eliminate(["y"])
        assert reduced.constraints == []
        assert [str(c) for c in reduced.dropped] == ["y > 0"]

    def test_rational_equations_are_cleared(self) -> None:
        m = Model("rational")
        x, y = m.variable("x"), m.variable("y")
        m.equation(y, (x**2 - 1) / (x - 1))
        m.equation(y, 3)
        (eq,) = m.eliminate(["y"]).equations
        assert eq.as_expr() == x - 2

    def test_jacobian_and_lambdify(self) -> None:
        m = Model.from_toml(CIRCLE)
        x, y = m.variables
        assert [p.name for p in m.parameters] == ["r"]
        assert m.jacobian() == [[2 * x, 2 * y], [Number.of(-2), Number.of(1)]]
        f = m.lambdify()
        assert f(1.0, 2.0, 1.0) == [4.0, 0.0]

    def test_non_polynomial_elimination_is_refused(self) -> None:
        m = Model("trig")
        x, y = m.variable("x"), m.variable("y")
        m.equation(sin(x), y)
        with pytest.raises(SymbolicMathError, match="polynomial"):
            m.eliminate(["x"])

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("variables = [1]", "list of strings"),
            ('variables = ["x"]\nequations = ["x = y"]', "neither a variable"),
            ('variables = ["x", "x"]', "twice"),
            ('variables = ["x"]\nparameters = { a = 0.1 }', "exact"),
            ('variables = ["x"]\nconstraints = ["x"]', "exactly one"),
            ('variables = ["x"]\noutputs = ["z"]', "not a variable"),
            ("colour = 1", "unknown key"),
            ("variables = [", "not valid TOML"),
        ],
    )
    def test_bad_model_files(self, text: str, message: str) -> None:
        with pytest.raises(SymbolicInputError, match=message):
            Model.from_toml(text)

    @given(st.text(max_size=120))
    @settings(max_examples=150, deadline=None)
    def test_arbitrary_text_raises_only_its_own_error(self, text: str) -> None:
        with contextlib.suppress(SymbolicInputError):
            Model.from_toml(text)


def _compile(source: str, tmp: Path, name: str) -> ctypes.CDLL:
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler on this machine")
    src = tmp / f"{name}.c"
    lib = tmp / f"lib{name}.so"
    src.write_text(source)
    subprocess.run(  # our generated file, a fixed compiler
        [
            cc,
            "-O2",
            "-std=c99",
            "-Wall",
            "-Werror",
            "-shared",
            "-fPIC",
            str(src),
            "-o",
            str(lib),
            "-lm",
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    return ctypes.CDLL(str(lib))


def _call(lib: ctypes.CDLL, name: str, args: list[float], outputs: int) -> list[float]:
    func = getattr(lib, name)
    func.restype = None
    func.argtypes = [ctypes.c_double] * len(args) + [ctypes.POINTER(ctypes.c_double)]
    out = (ctypes.c_double * outputs)()
    func(*args, out)
    return list(out)


class TestCCode:
    def test_compiles_and_matches_lambdify(self, tmp_path: Path) -> None:
        x, y = symbols("x y")
        exprs: list[Expr] = [
            sin(x + y) ** 2 + cos(x + y) * (x + y),
            exp(x * y) / (1 + (x + y) ** 2),
            sqrt(x**2 + 1) - log(y**2 + 2) + abs_(x - y) + x ** Fraction(-3),
            (x + y) ** 7 - parse("2/3") * x,
        ]
        code = c_function(exprs, [x, y], "model_f")
        assert code.temporaries >= 1  # x + y is computed once
        assert code.source.count("(x + y)") == 1
        lib = _compile(code.source, tmp_path, "model_f")
        rng = random.Random(7)
        for _ in range(25):
            vx, vy = rng.uniform(0.3, 2.0), rng.uniform(-2.0, 2.0)
            got = _call(lib, "model_f", [vx, vy], len(exprs))
            want = [lambdify([x, y], e)(vx, vy) for e in exprs]
            for g, w in zip(got, want, strict=True):
                assert g == pytest.approx(w, rel=1e-12, abs=1e-12)

    def test_model_residuals_and_jacobian_in_c(self, tmp_path: Path) -> None:
        model = Model.from_toml(CIRCLE)
        code = model.to_c("circle", with_jacobian=True)
        lib = _compile(code.source, tmp_path, "circle")
        got = _call(lib, "circle", [0.5, 1.5, 2.0], code.outputs)
        assert got == pytest.approx([0.25 + 2.25 - 4.0, 1.5 - 1.0, 1.0, 3.0, -2.0, 1.0])

    def test_bad_names(self) -> None:
        (x,) = symbols("x")
        with pytest.raises(SymbolicInputError, match="C identifier"):
            c_function([x], [Symbol.of("int")])
        with pytest.raises(SymbolicInputError, match="not among"):
            c_function([x + Symbol.of("y")], [x])
        with pytest.raises(SymbolicInputError, match="function name"):
            c_function([x], [x], "2f")


class TestCli:
    def test_model_commands(self, tmp_path: Path) -> None:
        path = tmp_path / "circle.toml"
        path.write_text(CIRCLE)
        reduced = json.loads(run_cli(main, ["--json", "model", "reduce", str(path)]).out)
        assert reduced["equations"] == ["x^2 - 1/5*r^2 = 0"]
        solved = run_cli(main, ["model", "solve", str(path), "--numeric"])
        assert solved.code == 0
        assert solved.out.startswith("x = 0.447213595")
        code = run_cli(main, ["model", "codegen", str(path), "--name", "g"])
        assert "void g(double x, double y, double *out)" in code.out

    def test_unreadable_file_is_one_error_line(self, tmp_path: Path) -> None:
        result = run_cli(main, ["model", "show", str(tmp_path / "missing.toml")])
        assert result.code == 2
        assert len(result.err.strip().splitlines()) == 1
