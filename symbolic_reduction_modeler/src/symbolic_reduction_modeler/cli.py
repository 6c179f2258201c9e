"""The ``srm`` command line: thin, it parses, calls the library and renders."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

from shared_core.cli import CliApp, Context
from shared_core.errors import ExitCode
from symbolic_reduction_modeler import __version__
from symbolic_reduction_modeler._calculus import diff
from symbolic_reduction_modeler._expr import Eq, Expr, Number, Symbol
from symbolic_reduction_modeler._groebner import groebner
from symbolic_reduction_modeler._model import Model
from symbolic_reduction_modeler._parse import parse
from symbolic_reduction_modeler._poly import ORDERS, apart, expand, factor, gcd
from symbolic_reduction_modeler._printing import latex
from symbolic_reduction_modeler._rewrite import Limits
from symbolic_reduction_modeler._series import series
from symbolic_reduction_modeler._simplify import simplify_report
from symbolic_reduction_modeler._solve import RootOf, Value, solve
from symbolic_reduction_modeler.config import SymbolicSettings
from symbolic_reduction_modeler.errors import SymbolicInputError

__all__ = ["app", "main", "run"]

app = CliApp(
    prog="srm",
    version=__version__,
    settings_cls=SymbolicSettings,
    description="A computer algebra engine for algebraic reduction on a FLINT core.",
)


def _with_latex(p: argparse.ArgumentParser) -> None:
    p.add_argument("--latex", action="store_true", help="print LaTeX instead of plain text")


def _one_expr(p: argparse.ArgumentParser) -> None:
    p.add_argument("expr", help="infix math, e.g. '(x+1)^2*y'")
    _with_latex(p)


def _show(ctx: Context, args: argparse.Namespace, result: Expr, **extra: object) -> int:
    text = latex(result) if args.latex else str(result)
    ctx.emit({"result": str(result), "latex": latex(result), **extra}, human=text)
    return ExitCode.OK


@app.command("expand", help="multiply out products and powers", setup=_one_expr)
def _expand(ctx: Context, args: argparse.Namespace) -> int:
    return _show(ctx, args, expand(parse(args.expr)))


@app.command("factor", help="factor over the rationals", setup=_one_expr)
def _factor(ctx: Context, args: argparse.Namespace) -> int:
    return _show(ctx, args, factor(parse(args.expr)))


def _simplify_setup(p: argparse.ArgumentParser) -> None:
    _one_expr(p)
    p.add_argument(
        "--timeout", type=float, default=1.0, help="seconds of equality saturation (default 1)"
    )
    p.add_argument("--nodes", type=int, default=4000, help="e-graph node limit (default 4000)")
    p.add_argument("--iterations", type=int, default=12, help="saturation rounds (default 12)")


@app.command(
    "simplify",
    help="a cheapest equivalent form, by equality saturation on an e-graph",
    setup=_simplify_setup,
)
def _simplify(ctx: Context, args: argparse.Namespace) -> int:
    limits = Limits(nodes=args.nodes, iterations=args.iterations, seconds=args.timeout)
    done = simplify_report(parse(args.expr), limits=limits)
    report = done.report
    return _show(
        ctx,
        args,
        done.expr,
        cost=done.cost,
        input_cost=done.input_cost,
        stop_reason=report.stop_reason,
        iterations=report.iterations,
        enodes=report.nodes,
    )


def _gcd_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("a")
    p.add_argument("b")
    _with_latex(p)


@app.command("gcd", help="greatest common divisor of two polynomials", setup=_gcd_setup)
def _gcd(ctx: Context, args: argparse.Namespace) -> int:
    return _show(ctx, args, gcd(parse(args.a), parse(args.b)))


def _diff_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("expr")
    p.add_argument("var")
    p.add_argument("--order", type=int, default=1)
    _with_latex(p)


@app.command("diff", help="derivative of EXPR with respect to VAR", setup=_diff_setup)
def _diff(ctx: Context, args: argparse.Namespace) -> int:
    var = parse(args.var)
    if not isinstance(var, Symbol):
        raise SymbolicInputError(f"{args.var!r} is not a symbol", hint="give a variable name")
    return _show(ctx, args, diff(parse(args.expr), var, args.order))


def _apart_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("expr")
    p.add_argument("var")
    _with_latex(p)


@app.command(
    "apart", help="partial fractions of EXPR in VAR over the rationals", setup=_apart_setup
)
def _apart(ctx: Context, args: argparse.Namespace) -> int:
    var = parse(args.var)
    if not isinstance(var, Symbol):
        raise SymbolicInputError(f"{args.var!r} is not a symbol", hint="give a variable name")
    return _show(ctx, args, apart(parse(args.expr), var))


def _series_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("expr")
    p.add_argument("var")
    p.add_argument("--at", default="0", help="expansion point (default 0)")
    p.add_argument("-n", type=int, default=6, help="order: terms below (var-at)^n (default 6)")
    _with_latex(p)


@app.command(
    "series", help="Taylor/Laurent series of EXPR in VAR with an O() term", setup=_series_setup
)
def _series(ctx: Context, args: argparse.Namespace) -> int:
    var = parse(args.var)
    if not isinstance(var, Symbol):
        raise SymbolicInputError(f"{args.var!r} is not a symbol", hint="give a variable name")
    result = series(parse(args.expr), var, parse(args.at), args.n)
    terms = {str(k): str(c) for k, c in sorted(result.coeffs.items())}
    human = (
        latex(result.remove_order()) + f" + O(({var} - {result.point})^{{{args.n}}})"
        if args.latex
        else str(result)
    )
    ctx.emit({"result": str(result), "coefficients": terms, "order": args.n}, human=human)
    return ExitCode.OK


def _groebner_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("polys", nargs="+", metavar="POLY")
    p.add_argument("--order", choices=sorted(ORDERS), default="grevlex")
    p.add_argument(
        "--method",
        choices=["auto", "f4", "buchberger"],
        default="auto",
        help="algorithm (default auto: f4 for grlex/grevlex, buchberger for lex)",
    )
    p.add_argument(
        "--gens", help="comma-separated generators, largest first (default: sorted names)"
    )
    _with_latex(p)


@app.command("groebner", help="the reduced Gröbner basis of the ideal", setup=_groebner_setup)
def _groebner(ctx: Context, args: argparse.Namespace) -> int:
    polys = [parse(p) for p in args.polys]
    gens = None
    if args.gens:
        gens = []
        for name in args.gens.split(","):
            sym = parse(name.strip())
            if not isinstance(sym, Symbol):
                raise SymbolicInputError(f"generator {name!r} is not a symbol")
            gens.append(sym)
    basis = groebner(polys, gens, args.order, method=args.method)
    exprs = basis.exprs
    human = "\n".join(latex(e) if args.latex else str(e) for e in exprs)
    ctx.emit(
        {
            "order": args.order,
            "gens": [str(g) for g in basis.ring.gens],
            "basis": [str(e) for e in exprs],
        },
        human=human,
    )
    return ExitCode.OK


def _solve_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("equations", nargs="+", metavar="EQ", help="'lhs = rhs' or an expression (= 0)")
    p.add_argument("--for", dest="unknowns", required=True, help="comma-separated unknowns")
    p.add_argument(
        "--numeric", action="store_true", help="print irrational roots as floats (15 digits)"
    )
    _with_latex(p)


def _equation(text: str) -> Eq:
    sides = text.split("=")
    if len(sides) > 2:
        raise SymbolicInputError(f"{text!r} has more than one '='", hint="one equation per EQ")
    return Eq(parse(sides[0]), parse(sides[1]) if len(sides) == 2 else Number.of(0))


def _render(value: Value, args: argparse.Namespace) -> str:
    if args.numeric and isinstance(value, RootOf):
        return repr(value.evalf())
    if args.latex:
        return value.latex() if isinstance(value, RootOf) else latex(value)
    return str(value)


@app.command("solve", help="solve polynomial or linear equations exactly", setup=_solve_setup)
def _solve(ctx: Context, args: argparse.Namespace) -> int:
    unknowns: list[Symbol] = []
    for name in args.unknowns.split(","):
        sym = parse(name.strip())
        if not isinstance(sym, Symbol):
            raise SymbolicInputError(f"unknown {name.strip()!r} is not a symbol")
        unknowns.append(sym)
    solutions = solve([_equation(e) for e in args.equations], unknowns)
    lines = []
    rows = []
    for sol in solutions:
        free = [v.name for v in unknowns if v not in sol]
        shown = [f"{v} = {_render(sol[v], args)}" for v in unknowns if v in sol]
        lines.append(", ".join(shown) + (f"  ({', '.join(free)} free)" if free else ""))
        row: dict[str, object] = {v.name: str(sol[v]) for v in unknowns if v in sol}
        if args.numeric:
            row = {
                v.name: sol[v].evalf() if isinstance(sol[v], RootOf) else str(sol[v])
                for v in unknowns
                if v in sol
            }
        rows.append(row)
    ctx.emit(
        {
            "for": [v.name for v in unknowns],
            "solutions": rows,
            "free": [v.name for v in unknowns if solutions and v not in solutions[0]],
        },
        human="\n".join(lines) if lines else "no (real) solution",
    )
    return ExitCode.OK


def _model_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        choices=["show", "reduce", "solve", "codegen"],
        help="show it; reduce (eliminate non-outputs, simplify); solve; codegen (C source)",
    )
    p.add_argument(
        "file", help="a TOML model: variables, parameters, equations, constraints, outputs"
    )
    p.add_argument("--eliminate", help="comma-separated variables to eliminate (reduce)")
    p.add_argument("--bind", action="store_true", help="substitute parameter values first")
    p.add_argument("--numeric", action="store_true", help="irrational roots as floats (solve)")
    p.add_argument("--jacobian", action="store_true", help="also emit the Jacobian (codegen)")
    p.add_argument("--name", default="residuals", help="C function name (codegen)")
    _with_latex(p)


def _read_model(path: str) -> Model:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise SymbolicInputError(
            f"cannot read model file {path}: {exc}", hint="give a readable UTF-8 TOML file"
        ) from None
    return Model.from_toml(text)


def _model_json(model: Model) -> dict[str, object]:
    return {
        "name": model.name,
        "variables": [v.name for v in model.variables],
        "parameters": [p.name for p in model.parameters],
        "equations": [f"{eq.lhs} = {eq.rhs}" for eq in model.equations],
        "constraints": [str(c) for c in model.constraints],
        "outputs": [o.name for o in model.outputs],
        "dropped_constraints": [str(c) for c in model.dropped],
    }


@app.command("model", help="show, reduce, solve or generate C for a model file", setup=_model_setup)
def _model(ctx: Context, args: argparse.Namespace) -> int:
    model = _read_model(args.file)
    if args.bind:
        model = model.bind()
    if args.action == "show":
        ctx.emit(_model_json(model), human=str(model))
    elif args.action == "reduce":
        if args.eliminate:
            model = model.eliminate([n.strip() for n in args.eliminate.split(",")]).simplify()
        else:
            model = model.reduce()
        if args.latex:
            human = "\n".join(f"{latex(eq.lhs)} = {latex(eq.rhs)}" for eq in model.equations)
        else:
            human = str(model)
        ctx.emit(_model_json(model), human=human)
    elif args.action == "solve":
        solutions = model.solve()
        rows = [
            {v.name: _render(sol[v], args) for v in model.variables if v in sol}
            for sol in solutions
        ]
        lines = [", ".join(f"{k} = {v}" for k, v in row.items()) for row in rows]
        ctx.emit({"solutions": rows}, human="\n".join(lines) if lines else "no (real) solution")
    else:
        code = model.bind().to_c(args.name, with_jacobian=args.jacobian)
        ctx.emit(
            {"c": code.source, "arguments": code.variables, "outputs": code.outputs},
            human=code.source.rstrip("\n"),
        )
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()
