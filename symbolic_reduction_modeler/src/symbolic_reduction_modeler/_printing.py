"""Printing: plain text (parseable back) and LaTeX."""

from __future__ import annotations

from fractions import Fraction

from symbolic_reduction_modeler._expr import Add, Expr, Func, Mul, Number, Pow, Symbol

__all__ = ["latex", "to_str"]

_PREC = {Add: 10, Mul: 20, Pow: 30}


def _prec(expr: Expr) -> int:
    if isinstance(expr, Number):
        value = expr.value
        if value < 0:
            return 15
        return 40 if value.denominator == 1 else 20
    if isinstance(expr, Mul) and isinstance(expr.args[0], Number) and expr.args[0].value < 0:
        return 15
    return _PREC.get(type(expr), 40)


def _wrap(expr: Expr, above: int, render: str) -> str:
    return f"({render})" if _prec(expr) < above else render


def _num(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def to_str(expr: Expr) -> str:
    """Infix text that :func:`parse` reads back to the same expression."""
    if isinstance(expr, Number):
        return _num(expr.value)
    if isinstance(expr, Symbol):
        return expr.name
    if isinstance(expr, Func):
        return f"{expr.name}({to_str(expr.args[1])})"
    if isinstance(expr, Add):
        out = to_str(expr.args[0])
        for term in expr.args[1:]:
            text = to_str(term)
            out += f" - {text[1:]}" if text.startswith("-") else f" + {text}"
        return out
    if isinstance(expr, Pow):
        base, exponent = expr.args
        if isinstance(exponent, Number) and exponent.value == Fraction(1, 2):
            return f"sqrt({to_str(base)})"
        if isinstance(exponent, Number) and exponent.value < 0:
            inverse = Pow.of(base, Number.of(-exponent.value))
            return f"1/{_wrap(inverse, 31, to_str(inverse))}"
        return f"{_wrap(base, 31, to_str(base))}^{_wrap(exponent, 31, to_str(exponent))}"
    if not isinstance(expr, Mul):
        raise TypeError(f"cannot print {type(expr).__name__}")
    args = list(expr.args)
    sign = ""
    if isinstance(args[0], Number):
        coeff = args[0].value
        if coeff == -1:
            sign = "-"
            args = args[1:]
        elif coeff < 0:
            sign = "-"
            args[0] = Number.of(-coeff)
    numer = [
        a
        for a in args
        if not (isinstance(a, Pow) and isinstance(a.args[1], Number) and a.args[1].value < 0)
    ]
    denom = [Pow.of(a.args[0], Number.of(-a.args[1].value)) for a in args if a not in numer]
    top = "*".join(_wrap(a, 20, to_str(a)) for a in numer) or "1"
    if not denom:
        return sign + top
    bottom = "*".join(_wrap(a, 21, to_str(a)) for a in denom)
    if len(denom) > 1:
        bottom = f"({bottom})"
    return f"{sign}{top}/{bottom}"


def latex(expr: Expr) -> str:
    """LaTeX source for ``expr``."""
    if isinstance(expr, Number):
        v = expr.value
        if v.denominator == 1:
            return str(v.numerator)
        sign = "-" if v < 0 else ""
        return f"{sign}\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"
    if isinstance(expr, Symbol):
        return expr.name if len(expr.name) == 1 else f"\\mathrm{{{expr.name}}}"
    if isinstance(expr, Func):
        inner = latex(expr.args[1])
        if expr.name == "abs":
            return f"\\left|{inner}\\right|"
        name = {"exp": "\\exp", "log": "\\log", "sin": "\\sin", "cos": "\\cos", "tan": "\\tan"}[
            expr.name
        ]
        return f"{name}\\left({inner}\\right)"
    if isinstance(expr, Add):
        out = latex(expr.args[0])
        for term in expr.args[1:]:
            text = latex(term)
            out += f" - {text[1:]}" if text.startswith("-") else f" + {text}"
        return out
    if isinstance(expr, Pow):
        base, exponent = expr.args
        if isinstance(exponent, Number) and exponent.value == Fraction(1, 2):
            return f"\\sqrt{{{latex(base)}}}"
        if isinstance(exponent, Number) and exponent.value < 0:
            return f"\\frac{{1}}{{{latex(Pow.of(base, Number.of(-exponent.value)))}}}"
        b = latex(base)
        if _prec(base) < 31:
            b = f"\\left({b}\\right)"
        return f"{b}^{{{latex(exponent)}}}"
    if not isinstance(expr, Mul):
        raise TypeError(f"cannot print {type(expr).__name__}")
    parts = []
    for factor in expr.args:
        text = latex(factor)
        if isinstance(factor, Add):
            text = f"\\left({text}\\right)"
        parts.append(text)
    if isinstance(expr.args[0], Number) and expr.args[0].value == -1:
        return "-" + " ".join(parts[1:])
    return " ".join(parts)
