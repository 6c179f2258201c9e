"""Solving: exact linear systems and zero-dimensional polynomial systems.

Linear systems (every equation of total degree at most 1 in the unknowns)
are solved by exact Gaussian elimination over the rationals: an inconsistent
system has no solution (``[]``), an underdetermined one a single parametric
solution in its free unknowns (which are left out of the dict, as SymPy does).

Polynomial systems with finitely many solutions go through Gröbner bases:

1. the lex basis tells whether the system is consistent and zero-dimensional;
2. the ideal is made radical by adding the squarefree part of each
   unknown's eliminant (Seidenberg), so every solution is simple;
3. a separating linear form ``t`` (the last unknown, or a small integer
   combination) puts the lex basis in *shape position*:
   ``x_i - h_i(t)`` and one univariate ``g(t)``;
4. ``g`` is factored over the rationals and its real roots isolated exactly
   (FLINT's certified root enclosures); each coordinate ``h_i(alpha)`` is
   either rational or identified, with a proof by enclosure, as one real
   root of the unknown's own eliminant: a :class:`RootOf`.

Only real solutions are returned.  A positive-dimensional system raises
:class:`SymbolicMathError`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from symbolic_reduction_modeler._expr import Add, Eq, Expr, Mul, Number, Symbol, sympify
from symbolic_reduction_modeler._groebner import groebner
from symbolic_reduction_modeler._poly import (
    expand,
    factor_univariate,
    locate_image,
    poly_terms,
    real_root_intervals,
    real_root_value,
    squarefree_part,
    univariate_coeffs,
)
from symbolic_reduction_modeler.errors import SymbolicInputError, SymbolicMathError

__all__ = ["RootOf", "Solution", "solve"]

MAX_UNKNOWNS = 12
MAX_SEPARATING_TRIES = 12


@dataclass(frozen=True, repr=False)
class RootOf:
    """The ``index``-th real root (0 = smallest) of an irreducible polynomial.

    ``coeffs`` are the monic rational coefficients, constant term first, of
    the minimal polynomial in ``var``; ``interval`` isolates the root among
    the real roots of that polynomial.  Exact: equal roots are equal objects.
    """

    var: Symbol
    coeffs: tuple[Fraction, ...]
    index: int
    interval: tuple[Fraction, Fraction]

    @property
    def poly(self) -> Expr:
        """The minimal polynomial as an expression in :attr:`var`."""
        return Add.of(*(Mul.of(Number.of(c), self.var**k) for k, c in enumerate(self.coeffs)))

    def value(self, digits: int = 17) -> Fraction:
        """A rational within ``10**-digits`` of the root."""
        return real_root_value(self.coeffs, self.index, digits)

    def evalf(self, digits: int = 17) -> float:
        return float(self.value(digits))

    def __float__(self) -> float:
        return self.evalf()

    def __str__(self) -> str:
        lo, hi = self.interval
        return f"RootOf({self.poly}, {self.index}) in [{_decimal(lo)}, {_decimal(hi)}]"

    def __repr__(self) -> str:
        return str(self)

    def latex(self) -> str:
        from symbolic_reduction_modeler._printing import latex

        lo, hi = self.interval
        return (
            rf"\operatorname{{RootOf}}\left({latex(self.poly)}, {self.index}\right)"
            rf" \in \left[{_decimal(lo)}, {_decimal(hi)}\right]"
        )


Value = Expr | RootOf
Solution = dict[Symbol, Value]


def _decimal(value: Fraction) -> str:
    """Exact decimal text of a fraction whose denominator divides a power of ten."""
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
        if digits > 200:
            return f"{value.numerator}/{value.denominator}"
    scaled = int(value * 10**digits)
    if digits == 0:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    text = str(abs(scaled)).rjust(digits + 1, "0")
    return f"{sign}{text[:-digits]}.{text[-digits:]}"


def _as_expr(equation: object) -> Expr:
    if isinstance(equation, Eq):
        return equation.as_expr()
    return sympify(equation)


def _check_unknowns(variables: Sequence[object]) -> list[Symbol]:
    unknowns = list(variables)
    if not unknowns:
        raise SymbolicInputError("solve needs at least one unknown", hint="e.g. --for x,y")
    if len(unknowns) > MAX_UNKNOWNS:
        raise SymbolicInputError(f"at most {MAX_UNKNOWNS} unknowns are supported")
    for v in unknowns:
        if not isinstance(v, Symbol):
            raise SymbolicInputError(f"{v} is not a symbol", hint="unknowns must be symbols")
    if len(set(unknowns)) != len(unknowns):
        raise SymbolicInputError("the unknowns must be distinct")
    return [v for v in unknowns if isinstance(v, Symbol)]


def solve(equations: Sequence[object], variables: Sequence[object]) -> list[Solution]:
    """All real solutions of ``equations`` (expressions meaning ``= 0``, or :class:`Eq`).

    Returns a list of dicts ``unknown -> value``; values are exact
    :class:`Number` s, expressions in the free unknowns (underdetermined
    linear systems) or :class:`RootOf` (irrational algebraic numbers).
    ``[]`` means there is no (real) solution.
    """
    unknowns = _check_unknowns(variables)
    if isinstance(equations, str | Eq | Expr):
        raise SymbolicInputError("solve takes a list of equations", hint="wrap it: [eq]")
    exprs = [_as_expr(e) for e in equations]
    if not exprs:
        raise SymbolicInputError("solve needs at least one equation")
    allowed = set(unknowns)
    for e in exprs:
        extra = e.free_symbols - allowed
        if extra:
            names = ", ".join(sorted(s.name for s in extra))
            raise SymbolicInputError(
                f"{e} involves {names}, not among the unknowns",
                hint="list every symbol after --for (parameters are not supported)",
            )
    terms = [poly_terms(e, unknowns) for e in exprs]
    if all(sum(m) <= 1 for t in terms for m in t):
        return _solve_linear(terms, unknowns)
    return _solve_polynomial(exprs, unknowns)


# -- linear systems ----------------------------------------------------------


def _solve_linear(
    terms: list[dict[tuple[int, ...], Fraction]], unknowns: list[Symbol]
) -> list[Solution]:
    n = len(unknowns)
    rows: list[list[Fraction]] = []
    for t in terms:
        row = [Fraction(0)] * (n + 1)
        for monom, c in t.items():
            if sum(monom) == 0:
                row[n] = -c
            else:
                row[monom.index(1)] = c
        rows.append(row)
    pivots = _rref(rows, n)
    if any(all(c == 0 for c in row[:n]) and row[n] != 0 for row in rows):
        return []
    free = [j for j in range(n) if j not in pivots]
    solution: Solution = {}
    for r, j in enumerate(pivots):
        row = rows[r]
        parts: list[Expr] = [Number.of(row[n])]
        parts.extend(Mul.of(Number.of(-row[k]), unknowns[k]) for k in free if row[k] != 0)
        solution[unknowns[j]] = Add.of(*parts)
    return [solution]


def _rref(rows: list[list[Fraction]], n: int) -> list[int]:
    """Reduced row echelon form in place; returns the pivot columns."""
    pivots: list[int] = []
    r = 0
    for col in range(n):
        found = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if found is None:
            continue
        rows[r], rows[found] = rows[found], rows[r]
        lead = rows[r][col]
        rows[r] = [c / lead for c in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(col)
        r += 1
        if r == len(rows):
            break
    return pivots


# -- polynomial systems ------------------------------------------------------


def _leading_exponents(expr: Expr, gens: Sequence[Symbol]) -> tuple[int, ...]:
    return max(poly_terms(expr, gens))  # lex order: the tuple order


def _eliminant(exprs: list[Expr], unknowns: list[Symbol], var: Symbol) -> list[Fraction]:
    """The monic generator of ``I ∩ Q[var]`` (lex basis with ``var`` last)."""
    order = [v for v in unknowns if v is not var] + [var]
    basis = groebner(exprs, order, "lex").exprs
    for e in reversed(basis):
        if e.free_symbols <= {var}:
            return univariate_coeffs(e, var)
    raise SymbolicMathError(
        "the system has infinitely many solutions (it is positive-dimensional)",
        hint=f"no polynomial in {var} alone follows from it; fix more unknowns",
    )


def _solve_polynomial(exprs: list[Expr], unknowns: list[Symbol]) -> list[Solution]:
    basis = groebner(exprs, unknowns, "lex").exprs
    if not basis:
        raise SymbolicMathError(
            "the system has infinitely many solutions (every equation is 0 = 0)"
        )
    if basis == [Number.of(1)]:
        return []
    leads = [_leading_exponents(e, unknowns) for e in basis]
    for i, v in enumerate(unknowns):
        if not any(m[i] > 0 and sum(m) == m[i] for m in leads):
            raise SymbolicMathError(
                "the system has infinitely many solutions (it is positive-dimensional)",
                hint=f"{v} is not determined up to finitely many values; fix more unknowns",
            )
    eliminants = {v: squarefree_part(_eliminant(exprs, unknowns, v)) for v in unknowns}
    radical = exprs + [_from_coeffs(c, v) for v, c in eliminants.items()]
    g, shape = _shape_position(radical, unknowns)
    targets: dict[Symbol, list[list[Fraction]]] = {
        v: [f for f, _ in factor_univariate(c) if len(f) > 2] for v, c in eliminants.items()
    }
    solutions: list[Solution] = []
    for f, _ in factor_univariate(g):
        if len(f) == 2:  # linear factor: a rational root
            root = -f[0] / f[1]
            solutions.append({v: Number.of(_horner(shape[v], root)) for v in unknowns})
            continue
        for index in range(len(real_root_intervals(f))):
            solution: Solution = {}
            for v in unknowns:
                h = _poly_rem(shape[v], f)
                if len(h) == 1:
                    solution[v] = Number.of(h[0])
                else:
                    solution[v] = _identify(h, f, index, v, targets[v])
            solutions.append(solution)
    solutions.sort(key=lambda s: tuple(_sort_key(s[v]) for v in unknowns))
    return solutions


def _sort_key(value: Value) -> Fraction:
    if isinstance(value, RootOf):
        return value.value(12)
    if isinstance(value, Number):
        return value.value
    return Fraction(0)


def _identify(
    h: list[Fraction], f: list[Fraction], index: int, var: Symbol, targets: list[list[Fraction]]
) -> RootOf:
    k, j = locate_image(h, f, index, targets)
    coeffs = targets[k]
    return RootOf(var, tuple(coeffs), j, real_root_intervals(coeffs)[j])


def _from_coeffs(coeffs: Sequence[Fraction], var: Symbol) -> Expr:
    return Add.of(*(Mul.of(Number.of(c), var**k) for k, c in enumerate(coeffs)))


def _horner(coeffs: Sequence[Fraction], x: Fraction) -> Fraction:
    total = Fraction(0)
    for c in reversed(coeffs):
        total = total * x + c
    return total


def _poly_rem(a: Sequence[Fraction], b: Sequence[Fraction]) -> list[Fraction]:
    """Remainder of ``a`` by ``b`` (coefficient lists, constant first)."""
    rem = list(a)
    while len(rem) >= len(b):
        q = rem[-1] / b[-1]
        shift = len(rem) - len(b)
        for i, c in enumerate(b):
            rem[shift + i] -= q * c
        rem.pop()
    while len(rem) > 1 and rem[-1] == 0:
        rem.pop()
    return rem or [Fraction(0)]


def _separating_forms(n: int) -> list[tuple[int, ...]]:
    """``(0, ..., 0)`` (the last unknown itself), then small integer combinations."""
    forms: list[tuple[int, ...]] = [(0,) * (n - 1)]
    for bound in itertools.count(1):
        for combo in itertools.product(range(-bound, bound + 1), repeat=n - 1):
            if max((abs(c) for c in combo), default=0) == bound:
                forms.append(combo)
                if len(forms) >= MAX_SEPARATING_TRIES:
                    return forms
        if n == 1:
            return forms
    return forms


def _shape_position(
    radical: list[Expr], unknowns: list[Symbol]
) -> tuple[list[Fraction], dict[Symbol, list[Fraction]]]:
    """``g`` and ``{x_i: h_i}``: ``x_i = h_i(t)`` on every solution, ``t`` the roots of ``g``."""
    last = unknowns[-1]
    taken = {v.name for v in unknowns}
    t_name = "_t"
    while t_name in taken:
        t_name += "_"
    for combo in _separating_forms(len(unknowns)):
        if not any(combo):
            t, gens, system = last, list(unknowns), list(radical)
        else:
            t = Symbol.of(t_name)
            gens = [*unknowns, t]
            form = Add.of(last, *(c * v for c, v in zip(combo, unknowns, strict=False)))
            system = [*radical, t - form]
        basis = groebner(system, gens, "lex").exprs
        shape = _read_shape(basis, gens, t, unknowns)
        if shape is not None:
            return shape
    raise SymbolicMathError(
        "no separating linear form found for this system",
        hint="try the unknowns in another order",
    )


def _read_shape(
    basis: list[Expr], gens: list[Symbol], t: Symbol, unknowns: list[Symbol]
) -> tuple[list[Fraction], dict[Symbol, list[Fraction]]] | None:
    if len(basis) != len(gens):
        return None
    g: list[Fraction] = []
    shape: dict[Symbol, list[Fraction]] = {}
    for e, v in zip(basis, gens, strict=True):
        if v is t:
            if not e.free_symbols <= {t}:
                return None
            g = univariate_coeffs(e, t)
            if t in unknowns:  # t is the last unknown itself
                shape[t] = [Fraction(0), Fraction(1)]
            continue
        lead = _leading_exponents(e, gens)
        if sum(lead) != 1 or lead[gens.index(v)] != 1:
            return None
        rest = expand(v - e)
        if not rest.free_symbols <= {t}:
            return None
        shape[v] = univariate_coeffs(rest, t)
    return g, shape
