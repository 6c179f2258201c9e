"""Is x^3 - y/2 in the ideal <x^2 + y^2 - 1, x - y>? Reduce it by a Gröbner basis.

uv run python symbolic_reduction_modeler/examples/ideal_membership.py
"""

from symbolic_reduction_modeler import groebner, parse, symbols


def main() -> str:
    x, y = symbols("x y")
    basis = groebner([parse("x^2 + y^2 - 1"), parse("x - y")], [x, y], order="lex")
    return str(basis.reduce(parse("x^3 - y/2")))


if __name__ == "__main__":
    print(main())
