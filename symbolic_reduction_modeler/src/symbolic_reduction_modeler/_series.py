"""Truncated Taylor and Laurent series about a point, with an ``O()`` term.

``series(f, x, x0, n)`` writes ``x = x0 + t`` and evaluates ``f`` bottom-up
in the ring of truncated Laurent series in ``t`` with exact coefficients
(expressions: rationals, parameters, ``exp(x0)``, ``sin(x0)`` ...).  Every
intermediate series carries its *absolute precision*: the exponent below
which its coefficients are exact.  Products, quotients and functions track
it (a quotient by a series starting at ``t^s`` loses ``s`` orders), and if
the final precision falls short of ``n`` the computation is redone with more
working precision, so the answer is exact to ``O(t^n)`` whatever the
cancellations.

Functions compose through their Taylor coefficients at the constant term
``a0``: ``exp``, ``sin``, ``cos``, ``log`` (``a0 != 0``), powers with
rational or symbolic exponents (``(a0 + u)^e = a0^e * sum C(e, k) (u/a0)^k``),
``tan = sin/cos`` and ``abs`` where the sign at ``x0`` is known.  Branch
points (``sqrt(x)`` or ``log(x)`` at 0) and essential singularities
(``exp(1/x)`` at 0) have no Laurent series and raise ``SymbolicMathError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from symbolic_reduction_modeler._expr import (
    Add,
    Expr,
    Func,
    Mul,
    Number,
    Pow,
    Symbol,
    cos,
    exp,
    log,
    sin,
    sympify,
)
from symbolic_reduction_modeler._poly import cancel, expand
from symbolic_reduction_modeler.errors import SymbolicError, SymbolicInputError, SymbolicMathError

__all__ = ["Series", "series"]

ZERO, ONE = Number.of(0), Number.of(1)
MAX_ORDER = 200


def _norm(c: Expr) -> Expr:
    """A canonical form good enough to recognise zero coefficients."""
    if isinstance(c, Number | Symbol):
        return c
    try:
        return cancel(c)
    except SymbolicError:
        try:
            return expand(c)
        except SymbolicError:
            return c


@dataclass(frozen=True)
class _Laurent:
    """``sum coeffs[i] * t^(start + i)``, exact for exponents below ``prec``."""

    start: int
    coeffs: tuple[Expr, ...]
    prec: int

    @classmethod
    def make(cls, start: int, coeffs: list[Expr], prec: int) -> _Laurent:
        coeffs = [_norm(c) for c in coeffs[: max(prec - start, 0)]]
        while coeffs and coeffs[0] is ZERO:  # strip leading zeros
            coeffs.pop(0)
            start += 1
        if not coeffs:
            return cls(prec, (), prec)
        return cls(start, tuple(coeffs), prec)

    @classmethod
    def const(cls, c: Expr, prec: int) -> _Laurent:
        return cls.make(0, [c], prec)

    def at(self, k: int) -> Expr:
        i = k - self.start
        return self.coeffs[i] if 0 <= i < len(self.coeffs) else ZERO

    @property
    def is_zero(self) -> bool:
        return not self.coeffs

    def __add__(self, other: _Laurent) -> _Laurent:
        prec = min(self.prec, other.prec)
        start = min(self.start, other.start)
        return _Laurent.make(start, [self.at(k) + other.at(k) for k in range(start, prec)], prec)

    def scale(self, c: Expr) -> _Laurent:
        return _Laurent.make(self.start, [c * a for a in self.coeffs], self.prec)

    def __mul__(self, other: _Laurent) -> _Laurent:
        if self.is_zero or other.is_zero:
            prec = min(self.prec + max(other.start, 0), other.prec + max(self.start, 0))
            return _Laurent.make(prec, [], prec)
        start = self.start + other.start
        prec = min(self.start + other.prec, other.start + self.prec)
        out = []
        for k in range(start, prec):
            terms = [
                a * other.at(k - i)
                for i, a in zip(range(self.start, prec), self.coeffs, strict=False)
                if k - i >= other.start
            ]
            out.append(Add.of(*terms) if terms else ZERO)
        return _Laurent.make(start, out, prec)

    def split(self) -> tuple[Expr, _Laurent]:
        """``(a0, u)`` with ``self = a0 + u`` and ``u = O(t)``; needs no negative powers."""
        if self.start < 0:
            raise SymbolicMathError(
                "essential singularity: a function of a series with a pole has no Laurent series",
                hint="expand about another point",
            )
        a0 = self.at(0)
        return a0, _Laurent.make(1, list(self.coeffs[1 - self.start :]), self.prec)

    def compose(self, taylor: Callable[[int], Expr]) -> _Laurent:
        """``f(self)`` where ``taylor(k)`` is ``f^(k)(a0)/k!`` at the constant term ``a0``."""
        _, u = self.split()
        result = _Laurent.const(taylor(0), self.prec)
        power = _Laurent.const(ONE, self.prec)
        for k in range(1, self.prec):
            power = power * u
            if power.is_zero and power.prec >= self.prec:
                break
            result = result + power.scale(taylor(k))
        return result

    def inverse(self) -> _Laurent:
        if self.is_zero:
            raise SymbolicMathError(
                "division by a series that vanishes to the working precision",
                hint="the expression may be identically zero there",
            )
        lead = self.coeffs[0]
        s = self.start
        rel = self.prec - s
        # self = lead * t^s * (1 + w), w = O(t)
        w = _Laurent.make(
            1, [c / lead for c in self.coeffs[1:]] if len(self.coeffs) > 1 else [], rel
        )
        inv = _Laurent.const(ONE, rel)
        power = _Laurent.const(ONE, rel)
        for k in range(1, rel):
            power = power * w
            inv = inv + power.scale(Number.of((-1) ** k))
        return _Laurent.make(inv.start - s, [c / lead for c in inv.coeffs], inv.prec - s)

    def power(self, e: Fraction) -> _Laurent:
        if e.denominator == 1:
            n = int(e)
            acc = self if n >= 0 else self.inverse()
            result: _Laurent | None = None
            m = abs(n)
            while m:  # binary powering
                if m & 1:
                    result = acc if result is None else result * acc
                m >>= 1
                if m:
                    acc = acc * acc
            return result if result is not None else _Laurent.const(ONE, self.prec)
        if self.start != 0:
            raise SymbolicMathError(
                f"branch point: a power with exponent {e} of a series starting at "
                f"t^{self.start} is not a Laurent series",
                hint="series of sqrt(x) or x^(1/3) at 0 need Puiseux series, not supported",
            )
        a0, _ = self.split()
        ee = Number.of(e)
        return self.compose(lambda k: _binomial(e, k) * Pow.of(a0, ee - k))


def _binomial(e: Fraction, k: int) -> Expr:
    out = Fraction(1)
    for i in range(k):
        out = out * (e - i) / (i + 1)
    return Number.of(out)


def _factorial(k: int) -> int:
    out = 1
    for i in range(2, k + 1):
        out *= i
    return out


class _Expander:
    def __init__(self, var: Symbol, point: Expr, prec: int) -> None:
        self.var = var
        self.point = point
        self.prec = prec
        self.memo: dict[Expr, _Laurent] = {}

    def go(self, e: Expr) -> _Laurent:
        found = self.memo.get(e)
        if found is None:
            found = self._series(e)
            self.memo[e] = found
        return found

    def _series(self, e: Expr) -> _Laurent:
        prec = self.prec
        if self.var not in e.free_symbols:
            return _Laurent.const(e, prec)
        if e is self.var:
            return _Laurent.make(0, [self.point, ONE], prec)
        if isinstance(e, Add):
            total = self.go(e.args[0])
            for arg in e.args[1:]:
                total = total + self.go(arg)
            return total
        if isinstance(e, Mul):
            product = self.go(e.args[0])
            for arg in e.args[1:]:
                product = product * self.go(arg)
            return product
        if isinstance(e, Pow):
            base, ex = e.args
            if isinstance(ex, Number):
                return self.go(base).power(ex.value)
            # b^e = exp(e * log(b))
            return self.go(exp(ex * log(base)))
        if isinstance(e, Func):
            return self._function(e.name, self.go(e.args[1]))
        raise SymbolicInputError(f"no series for {type(e).__name__}")

    def _function(self, name: str, s: _Laurent) -> _Laurent:
        if name == "tan":
            return self._function("sin", s) * self._function("cos", s).inverse()
        if name == "abs":
            a0 = s.at(0) if s.start == 0 else ZERO
            if isinstance(a0, Number) and a0.value != 0:
                return s if a0.value > 0 else s.scale(Number.of(-1))
            raise SymbolicMathError(
                "abs has no series where its argument's sign is unknown or zero",
                hint="expand about a point where the argument is nonzero",
            )
        a0, _ = s.split()
        if name == "exp":
            ea0 = exp(a0)
            return s.compose(lambda k: ea0 / _factorial(k))
        if name in ("sin", "cos"):
            sa, ca = sin(a0), cos(a0)
            cycle = [sa, ca, -sa, -ca] if name == "sin" else [ca, -sa, -ca, sa]
            return s.compose(lambda k: cycle[k % 4] / _factorial(k))
        if name == "log":
            if s.start != 0 or a0 is ZERO:
                raise SymbolicMathError(
                    "branch point: log of a series vanishing at the point has no Laurent series",
                    hint="log(x) at 0 has a log term; expand about another point",
                )
            return s.compose(
                lambda k: log(a0) if k == 0 else Number.of(Fraction((-1) ** (k - 1), k)) / a0**k
            )
        raise SymbolicInputError(f"no series for function {name!r}")


@dataclass(frozen=True)
class Series:
    """``sum coeffs[k] * (var - point)^k + O((var - point)^order)``."""

    var: Symbol
    point: Expr
    order: int
    coeffs: dict[int, Expr]

    def coefficient(self, k: int) -> Expr:
        if k >= self.order:
            raise SymbolicInputError(f"the coefficient of degree {k} is inside O()")
        return self.coeffs.get(k, ZERO)

    @property
    def base(self) -> Expr:
        return self.var - self.point

    def remove_order(self) -> Expr:
        """The truncated sum without the ``O()`` term, as an expression."""
        return Add.of(
            *(c * Pow.of(self.base, Number.of(k)) for k, c in sorted(self.coeffs.items()))
        )

    def _base_text(self) -> str:
        x0 = self.point
        if x0 is ZERO:
            return self.var.name
        if isinstance(x0, Number) and x0.value < 0:
            return f"({self.var.name} + {Number.of(-x0.value)})"
        if isinstance(x0, Number | Symbol):
            return f"({self.var.name} - {x0})"
        return f"({self.var.name} - ({x0}))"

    def order_term(self) -> str:
        base = self._base_text()
        return f"O({base}^{self.order})" if self.order != 1 else f"O({base})"

    def _term(self, k: int, c: Expr) -> str:
        if k == 0:
            return str(c)
        base = self._base_text()
        power = base if abs(k) == 1 else f"{base}^{abs(k)}"
        if k < 0:
            if isinstance(c, Number):
                v = c.value
                sign = "-" if v < 0 else ""
                top = f"{abs(v.numerator)}"
                bottom = power if v.denominator == 1 else f"({v.denominator}*{power})"
                return f"{sign}{top}/{bottom}"
            return f"({c})/{power}"
        if c is ONE:
            return power
        if c == -1:
            return f"-{power}"
        if isinstance(c, Add):
            return f"({c})*{power}"
        return f"{c}*{power}"

    def __str__(self) -> str:
        text = ""
        for k, c in sorted(self.coeffs.items()):
            term = self._term(k, c)
            if not text:
                text = term
            elif term.startswith("-"):
                text += f" - {term[1:]}"
            else:
                text += f" + {term}"
        return f"{text} + {self.order_term()}" if text else self.order_term()

    def __repr__(self) -> str:
        return str(self)

    def latex(self) -> str:
        from symbolic_reduction_modeler._printing import latex

        body = latex(self.remove_order()) if self.coeffs else ""
        base = latex(self.base)
        if not isinstance(self.base, Symbol):
            base = f"\\left({base}\\right)"
        order = f"O\\left({base}^{{{self.order}}}\\right)"
        return f"{body} + {order}" if body else order


def series(expr: Expr, var: Symbol, point: object = 0, n: int = 6) -> Series:
    """The Taylor/Laurent series of ``expr`` in ``var`` about ``point`` up to ``O((var-point)^n)``."""
    if not isinstance(var, Symbol):
        raise SymbolicInputError(f"series needs a symbol to expand in, not {var}")
    if isinstance(n, bool) or not isinstance(n, int) or not -MAX_ORDER <= n <= MAX_ORDER:
        raise SymbolicInputError(f"the order must be an integer in [-{MAX_ORDER}, {MAX_ORDER}]")
    x0 = sympify(point)
    if var in x0.free_symbols:
        raise SymbolicInputError("the expansion point cannot depend on the variable")
    extra = 2
    while True:
        result = _Expander(var, x0, n + extra).go(expr)
        if result.prec >= n:
            break
        extra += n - result.prec + 2
        if extra > 4 * abs(n) + 40:
            raise SymbolicMathError(
                "could not reach the requested order (too much cancellation)",
                hint="ask for a lower order",
            )
    coeffs = {
        k: c for k, c in zip(range(result.start, n), result.coeffs, strict=False) if c is not ZERO
    }
    return Series(var, x0, n, coeffs)
