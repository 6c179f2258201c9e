"""A tour of simplify (e-graph), series, F4 and Model.

uv run python symbolic_reduction_modeler/examples/simplify_series_model.py
"""

from __future__ import annotations

from pathlib import Path

from symbolic_reduction_modeler import (
    Limits,
    Model,
    Rule,
    Symbol,
    exp,
    groebner,
    log,
    parse,
    series,
    simplify,
    simplify_report,
    symbols,
)


def main() -> None:
    x = Symbol.of("x", real=True)
    print(simplify(parse("sin(x)^2 + cos(x)^2 + 2*sin(x)*cos(x)")))  # 1 + sin(2*x)
    print(simplify(log(exp(x))))  # x: x is real
    done = simplify_report(parse("cos(x)^4 - sin(x)^4"), limits=Limits(seconds=2))
    print(done.expr, done.report.stop_reason, done.report.iterations)  # cos(2*x) ...
    double = Rule.infix("my-double-angle", "2*sin(a)*cos(a)", "sin(2*a)")
    print(simplify(parse("2*sin(y)*cos(y)"), rules=[double]))  # sin(2*y), only this rule

    (t,) = symbols("t")
    print(series(parse("tan(t)"), t, 0, 8))  # t + 1/3*t^3 + 2/15*t^5 + 17/315*t^7 + O(t^8)
    print(series(parse("1/sin(t)"), t, 0, 4))  # 1/t + 1/6*t + 7/360*t^3 + O(t^4)

    a, b, c = symbols("a b c")
    basis = groebner([a + b + c, a * b + b * c + c * a, a * b * c - 1], [a, b, c], method="f4")
    print(basis.exprs)

    model = Model.from_toml((Path(__file__).parent / "circle.toml").read_text())
    print(model.reduce())
    print(model.solve())
    print(model.to_c("circle").source)


if __name__ == "__main__":
    main()
