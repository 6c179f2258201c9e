"""Polynomials on FLINT: the one module that talks to python-flint.

python-flint is 0.x and some of its errors abort the process, so everything
is validated here before it reaches FLINT (generator names, exponents,
degree bounds).  Expressions convert to ``fmpq_mpoly`` over *generators*:
the symbols, plus any non-polynomial sub-expression (``sin(x)``,
``sqrt(y)``, ``exp(z)``) treated as an opaque variable, so ``expand`` works
on any expression and sends its polynomial-shaped parts to FLINT.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Literal

import flint

from symbolic_reduction_modeler._expr import Add, Expr, Func, Mul, Number, Pow, Symbol
from symbolic_reduction_modeler.errors import SymbolicInputError, SymbolicMathError

__all__ = [
    "ORDERS",
    "Order",
    "PolyRing",
    "apart",
    "cancel",
    "expand",
    "factor",
    "gcd",
    "poly_div",
    "resultant",
]

MAX_ROOT_DEGREE = 400
MAX_ROOT_PRECISION = 8192

Order = Literal["lex", "grlex", "grevlex"]
ORDERS: dict[str, str] = {"lex": "lex", "grlex": "deglex", "grevlex": "degrevlex"}
MAX_EXPONENT = 10_000
MAX_TERMS_ESTIMATE = 20_000_000
_UNREAD: Any = object()


class PolyRing:
    """``Q[gens]`` with a monomial order, and conversions to and from expressions."""

    def __init__(self, gens: Sequence[Expr], order: str = "grevlex") -> None:
        if order not in ORDERS:
            raise SymbolicInputError(
                f"unknown monomial order {order!r}", hint="use lex, grlex or grevlex"
            )
        if not gens:
            gens = (Symbol.of("_const"),)
        if len(set(gens)) != len(gens):
            raise SymbolicInputError("generators must be distinct")
        self.gens = tuple(gens)
        self.order = order
        names = tuple(f"g{i}" for i in range(len(self.gens)))
        self.ctx = flint.fmpq_mpoly_ctx.get(names, ORDERS[order])
        self._index = {g: i for i, g in enumerate(self.gens)}
        self._flint_gens = self.ctx.gens()
        # from_poly's bulk path: symbols and functions other than exp (whose
        # powers fold, exp(x)^2 -> exp(2*x)), visited in key order
        self._fast_ok = all(
            isinstance(g, Symbol) or (isinstance(g, Func) and g.name != "exp") for g in self.gens
        )
        by_key = sorted(range(len(self.gens)), key=lambda i: self.gens[i]._key)
        self._positions = [by_key.index(i) for i in range(len(self.gens))]
        self._is_symbol = [isinstance(g, Symbol) for g in self.gens]

    @classmethod
    def for_exprs(cls, exprs: Sequence[Expr], order: str = "grevlex") -> PolyRing:
        found: dict[Expr, None] = {}
        for expr in exprs:
            for gen in _generators(expr):
                found[gen] = None
        gens = tuple(sorted(found, key=lambda e: e._key))
        if cls is PolyRing:
            return _shared_ring(gens, order)
        return cls(gens, order)

    def to_poly(self, expr: Expr) -> Any:
        """``expr`` as an ``fmpq_mpoly``; raises if it is not polynomial in the generators."""
        if expr in self._index:
            return self._flint_gens[self._index[expr]]
        if isinstance(expr, Number):
            return self.ctx.from_dict({(0,) * len(self.gens): _fmpq(expr.value)})
        if isinstance(expr, Add):
            return self._sum_to_poly(expr)
        if isinstance(expr, Mul):
            product = self.ctx.from_dict({(0,) * len(self.gens): 1})
            for factor in expr.args:
                product *= self.to_poly(factor)
            return product
        if isinstance(expr, Pow) and isinstance(expr.args[1], Number):
            e = expr.args[1].value
            if e.denominator == 1 and 0 <= e <= MAX_EXPONENT:
                base = self.to_poly(expr.args[0])
                _check_size(base, int(e))
                return base ** int(e)
        raise SymbolicInputError(
            f"{expr} is not a polynomial in {', '.join(map(str, self.gens))}",
            hint="rational functions go through cancel(); check the generators",
        )

    def _sum_to_poly(self, expr: Add) -> Any:
        """A sum in one ``from_dict`` call: its monomial terms read as exponent vectors.

        Adding term by term copies the growing polynomial each time
        (quadratic: 4.4 s for the 46,376 terms of the p^10 GCD input); terms
        that are not monomials in the generators (``(x+1)^2*y``) are converted
        on their own and added.
        """
        n = len(self.gens)
        # factor -> (generator index, exponent), or (-1, coefficient); the
        # same x^2 or 3 recurs in thousands of terms, so each is read once
        parts: dict[Expr, tuple[int, Any] | None] = {}
        collected: dict[tuple[int, ...], Any] = {}
        rest: list[Expr] = []
        for term in expr.args:
            exps = [0] * n
            coeff: Any = 1
            for factor in term.args if isinstance(term, Mul) else (term,):
                part = parts.get(factor, _UNREAD)
                if part is _UNREAD:
                    part = parts[factor] = self._monomial_part(factor)
                if part is None:
                    rest.append(term)
                    break
                i, e = part
                if i < 0:
                    coeff = e
                else:
                    exps[i] += e
            else:
                key = tuple(exps)
                if key in collected:
                    collected[key] += coeff
                else:
                    collected[key] = coeff
        total = self.ctx.from_dict({k: v for k, v in collected.items() if v})
        for term in rest:
            total += self.to_poly(term)
        return total

    def _monomial_part(self, factor: Expr) -> tuple[int, Any] | None:
        """What one factor of a monomial term contributes (None: not a monomial factor)."""
        i = self._index.get(factor)
        if i is not None:
            return i, 1
        if isinstance(factor, Number):
            value = factor.value
            return -1, value.numerator if value.denominator == 1 else _fmpq(value)
        if isinstance(factor, Pow) and isinstance(factor.args[1], Number):
            i = self._index.get(factor.args[0])
            if i is not None and _small_natural(factor.args[1].value):
                return i, factor.args[1].value.numerator
        return None

    def from_poly(self, poly: Any) -> Expr:
        """The canonical expression of ``poly``, built in bulk in canonical form.

        Terms of a polynomial are already collected, so nothing is
        re-canonicalised: each term's factors come out in key order by
        construction (a factor's key ranks symbols before powers before
        functions, and powers by base), the terms are ordered by flat
        integer codes that sort exactly as their nested keys do, and the term
        nodes are interned in one loop with their sort keys left to be made
        on first use (checked against ``Add.of``/``Mul.of`` by the tests).  FLINT's ``monoms``/``coeffs``
        are read as two vectors: ``to_dict`` alone cost more than the rest.
        """
        if not self._fast_ok:
            return self._from_poly_slow(poly)
        monoms = poly.monoms()
        if not monoms:
            return Number.of(0)
        coeffs = poly.coeffs()
        n = len(self.gens)
        m = max(int(d) for d in poly.degrees()) + 1
        # Each factor has an integer code that sorts as its key does: symbol^1
        # -> its position in key order; g^e -> n + position*m + e; function^1
        # -> after every power.  tables[i][e] is the code of gens[i]^e.
        func_base = n + n * m
        tables: list[list[int]] = []
        for index, pos in enumerate(self._positions):
            one = pos if self._is_symbol[index] else func_base + pos
            tables.append([0, one, *range(n + pos * m + 2, n + pos * m + m)])
        nodes = _FactorNodes(self.gens, self._positions, n, m, func_base)
        factor_node = nodes.__getitem__
        numbers: dict[int | Fraction, Number] = {}
        constant: Expr | None = None
        # buckets in the order of the terms' keys: Symbol (rank 1), Pow (2),
        # Mul with a coefficient (3, number key first), Mul without (3), Func (5);
        # monomials are distinct, so tuples never compare as far as the node
        singles: list[tuple[int, Expr]] = []
        with_coeff: list[tuple[int | Fraction, list[int], tuple[Expr, ...]]] = []
        without: list[tuple[list[int], tuple[Expr, ...]]] = []
        values = [int(c.p) if c.q == 1 else Fraction(int(c.p), int(c.q)) for c in coeffs]
        # zip(strict=False) in the loop: the lengths are FLINT's own, and the
        # check costs per term
        for monom, value in zip(monoms, values, strict=False):
            codes = sorted([table[e] for table, e in zip(tables, monom, strict=False) if e])
            if not codes:
                constant = Number.of(value)
                continue
            if value != 1:
                number = numbers.get(value)
                if number is None:
                    number = numbers[value] = Number.of(value)
                args: tuple[Expr, ...] = (number, *map(factor_node, codes))
            elif len(codes) == 1:
                singles.append((codes[0], factor_node(codes[0])))
                continue
            else:
                args = tuple(map(factor_node, codes))
            if value != 1:
                with_coeff.append((value, codes, args))
            else:
                without.append((codes, args))
        singles.sort()
        with_coeff.sort()
        without.sort()
        terms: list[Expr] = [] if constant is None else [constant]
        terms += [t for c, t in singles if c < n]  # symbols
        terms += [t for c, t in singles if n <= c < func_base]  # powers
        terms += Mul._intern_many([a for _, _, a in with_coeff])
        terms += Mul._intern_many([a for _, a in without])
        terms += [t for c, t in singles if c >= func_base]  # functions
        if len(terms) == 1:
            return terms[0]
        return Add._intern_many([tuple(terms)])[0]

    def _from_poly_slow(self, poly: Any) -> Expr:
        terms = []
        for monom, coeff in poly.to_dict().items():
            factors: list[Expr] = [Number.of(Fraction(int(coeff.p), int(coeff.q)))]
            for gen, exponent in zip(self.gens, monom, strict=True):
                if exponent:
                    factors.append(Pow.of(gen, Number.of(int(exponent))))
            terms.append(Mul.of(*factors))
        return Add.of(*terms)

    def leading_monomial(self, poly: Any) -> tuple[int, ...]:
        monoms = poly.monoms()
        return tuple(int(e) for e in monoms[0]) if monoms else ()


class _FactorNodes(dict[int, Expr]):
    """Factor code -> interned factor node (``x``, ``x^3``, ``sin(y)``), made on first use."""

    def __init__(
        self, gens: tuple[Expr, ...], positions: list[int], n: int, m: int, func_base: int
    ) -> None:
        super().__init__()
        self.by_position = {pos: gens[i] for i, pos in enumerate(positions)}
        self.n, self.m, self.func_base = n, m, func_base

    def __missing__(self, code: int) -> Expr:
        if code < self.n:
            node = self.by_position[code]
        elif code >= self.func_base:
            node = self.by_position[code - self.func_base]
        else:
            pos, exponent = divmod(code - self.n, self.m)
            node = Pow._intern((self.by_position[pos], Number.of(exponent)))
        self[code] = node
        return node


@functools.lru_cache(maxsize=256)
def _shared_ring(gens: tuple[Expr, ...], order: str) -> PolyRing:
    """One ring per generator tuple and order: rings are never changed after
    construction, and simplify's kernel seeding converts hundreds of small
    sub-expressions over the same few generators."""
    return PolyRing(gens, order)


def _fmpq(value: Fraction) -> Any:
    return flint.fmpq(value.numerator, value.denominator)


def _check_size(base: Any, exponent: int) -> None:
    """Refuse powers whose expansion cannot fit: FLINT would abort, not raise."""
    terms = len(base.monoms())
    if terms <= 1 or exponent <= 1:
        return
    # A t-term polynomial to the power e has at most C(e + t - 1, t - 1) monomials.
    estimate = 1.0
    for k in range(1, terms):
        estimate *= (exponent + k) / k
        if estimate > MAX_TERMS_ESTIMATE:
            raise SymbolicMathError(
                f"expanding a {terms}-term polynomial to the power {exponent} is too large "
                f"(up to {estimate:.3g} terms)",
                hint="keep it factored",
            )


def _generators(expr: Expr) -> list[Expr]:
    """Symbols and opaque non-polynomial atoms of ``expr``, in first-seen order.

    Each distinct node is visited once (expressions are DAGs: ``x^2`` is
    shared by thousands of terms of an expanded polynomial).
    """
    found: dict[Expr, None] = {}
    seen: set[Expr] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, Symbol):
            found[node] = None
        elif isinstance(node, Number):
            continue
        elif isinstance(node, Add | Mul):
            stack.extend(reversed(node.args))
        elif isinstance(node, Pow):
            e = node.args[1]
            if isinstance(e, Number) and _small_natural(e.args[0]):
                stack.append(node.args[0])
            else:  # x^-1, sqrt(x), x^y: an opaque generator
                found[node] = None
        else:
            found[node] = None
    return list(found)


def _small_natural(value: Fraction) -> bool:
    return value.denominator == 1 and 0 <= value.numerator <= MAX_EXPONENT


def expand(expr: Expr) -> Expr:
    """Multiply out: products and integer powers of sums, via FLINT.

    Negative powers of sums are kept as opaque generators (``1/(x+1)``
    stays), so the result is the expanded numerator over the same denominators.
    """
    return _expand(expr, {})


def _expand(expr: Expr, memo: dict[Expr, Expr]) -> Expr:
    inner = _opaque_inner(expr, memo)
    ring = PolyRing.for_exprs([inner])
    return ring.from_poly(ring.to_poly(inner))


def _opaque_inner(expr: Expr, memo: dict[Expr, Expr]) -> Expr:
    """Expand the insides of function arguments first (``sin((x+1)^2)`` -> ``sin(x^2+2x+1)``).

    ``memo`` is shared by the whole expansion: expressions are DAGs, and a
    sub-expression repeated inside nested function calls is expanded once.
    """

    def go(node: Expr) -> Expr:
        found = memo.get(node)
        if found is not None:
            return found
        if isinstance(node, Func):
            out = Func.of(node.name, _expand(node.args[1], memo))
        else:
            kids = node.children()
            out = node.rebuild(tuple(go(k) for k in kids)) if kids else node
        memo[node] = out
        return out

    return go(expr)


def _one_ring(*exprs: Expr) -> tuple[PolyRing, list[Any]]:
    ring = PolyRing.for_exprs(exprs)
    return ring, [ring.to_poly(e) for e in exprs]


def gcd(a: Expr, b: Expr) -> Expr:
    """Monic GCD over the rationals (FLINT's multivariate GCD), monic in grevlex.

    FLINT's GCD measured 30-40% faster in a lex context on small inputs
    (SymPy's TimeGCD cases) and no slower on large ones, so it runs in lex
    and the result is then scaled to be monic in grevlex, as before.
    """
    ring = PolyRing.for_exprs([a, b], "lex")
    g = ring.to_poly(a).gcd(ring.to_poly(b))
    if g.is_zero():
        return Number.of(0)
    key = _grevlex_key
    monoms = g.monoms()
    lead = max(range(len(monoms)), key=lambda i: key(monoms[i]))
    return ring.from_poly(g / g.coeffs()[lead])


def _grevlex_key(monom: Sequence[Any]) -> tuple[int, tuple[int, ...]]:
    exps = [int(e) for e in monom]
    return sum(exps), tuple(-e for e in reversed(exps))


def factor(expr: Expr) -> Expr:
    """Factor over the rationals: ``content * prod(f_i ** e_i)``."""
    ring, (p,) = _one_ring(expr)
    if p.is_zero():
        return Number.of(0)
    content, factors = p.factor()
    parts: list[Expr] = [Number.of(Fraction(int(content.p), int(content.q)))]
    for f, e in factors:
        parts.append(Pow.of(ring.from_poly(f), Number.of(int(e))))
    return Mul.of(*parts)


def poly_div(a: Expr, b: Expr) -> tuple[Expr, Expr]:
    """Quotient and remainder of ``a`` by ``b`` (multivariate division, grevlex)."""
    ring, (p, q) = _one_ring(a, b)
    if q.is_zero():
        raise SymbolicMathError("division by the zero polynomial")
    quotient, remainder = divmod(p, q)
    return ring.from_poly(quotient), ring.from_poly(remainder)


def resultant(a: Expr, b: Expr, var: Symbol) -> Expr:
    """The resultant of ``a`` and ``b`` with respect to ``var``."""
    ring = PolyRing.for_exprs([a, b, var])
    p, q = ring.to_poly(a), ring.to_poly(b)
    return ring.from_poly(p.resultant(q, f"g{ring.gens.index(var)}"))


def cancel(expr: Expr) -> Expr:
    """``p/q`` in lowest terms: numerator and denominator with their GCD divided out."""
    numer, denom = _as_fraction(expr)
    ring, (p, q) = _one_ring(numer, denom)
    if q.is_zero():
        raise SymbolicMathError("division by zero", hint="the denominator cancels to 0")
    g = p.gcd(q)
    p, q = p / g, q / g
    lead = q.leading_coefficient()
    p, q = p / lead, q / lead
    top, bottom = ring.from_poly(p), ring.from_poly(q)
    return top if bottom == Number.of(1) else top * Pow.of(bottom, Number.of(-1))


def _as_fraction(expr: Expr) -> tuple[Expr, Expr]:
    """``(numerator, denominator)`` of a rational expression, combining over a common denominator."""
    if isinstance(expr, Pow) and isinstance(expr.args[1], Number) and expr.args[1].value < 0:
        e = expr.args[1].value
        if e.denominator == 1:
            n, d = _as_fraction(expr.args[0])
            return Pow.of(d, Number.of(-e)), Pow.of(n, Number.of(-e))
    if isinstance(expr, Mul):
        numer: Expr = Number.of(1)
        denom: Expr = Number.of(1)
        for factor_ in expr.args:
            n, d = _as_fraction(factor_)
            numer, denom = numer * n, denom * d
        return numer, denom
    if isinstance(expr, Add):
        numer = Number.of(0)
        denom = Number.of(1)
        for term in expr.args:
            n, d = _as_fraction(term)
            numer, denom = numer * d + n * denom, denom * d
        return numer, denom
    if isinstance(expr, Number):
        return Number.of(expr.value.numerator), Number.of(expr.value.denominator)
    return expr, Number.of(1)


def apart(expr: Expr, var: Symbol) -> Expr:
    """Partial fractions over Q of a rational function of ``var`` alone.

    ``p/q`` in lowest terms becomes the polynomial part plus, for every
    irreducible factor ``f`` of ``q`` with multiplicity ``e``, the terms
    ``a_k / f^k`` (``k = 1..e``, ``deg a_k < deg f``): the numerator of the
    ``f^e`` part is ``r * (q / f^e)^(-1) mod f^e`` (extended Euclid in
    ``Q[x]``), then written in base ``f``.  All arithmetic is FLINT's
    ``fmpq_poly``.
    """
    if not isinstance(var, Symbol):
        raise SymbolicInputError(f"apart needs a symbol, not {var}")
    numer, denom = _as_fraction(cancel(expr))
    others = (numer.free_symbols | denom.free_symbols) - {var}
    if others:
        raise SymbolicInputError(
            f"apart works on rational functions of {var} alone; found "
            f"{', '.join(sorted(s.name for s in others))}",
            hint="substitute values for the other symbols first",
        )
    n = _checked_qpoly(univariate_coeffs(numer, var))
    d = _checked_qpoly(univariate_coeffs(denom, var))
    quotient, remainder = divmod(n, d)
    parts: list[Expr] = [_qpoly_expr(quotient, var)]
    if d.degree() > 0 and not remainder.is_zero():
        _, factors = d.factor()
        remainder = remainder / d.leading_coefficient()  # d = lc(d) * prod(monic f)^e
        monic = [(f / f.leading_coefficient(), int(e)) for f, e in factors]
        for i, (f, e) in enumerate(monic):
            power = f**e
            cofactor = flint.fmpq_poly([1])
            for j, (g, k) in enumerate(monic):
                if j != i:
                    cofactor *= g**k
            _, inverse, _ = cofactor.xgcd(power)  # inverse * cofactor = 1 mod f^e
            a = (remainder * inverse) % power
            f_expr = _qpoly_expr(f, var)
            for k in range(e, 0, -1):  # a = a_0 + a_1 f + ...: a_j / f^(e-j)
                a, digit = divmod(a, f)
                if not digit.is_zero():
                    parts.append(_qpoly_expr(digit, var) * Pow.of(f_expr, Number.of(-k)))
    return Add.of(*parts)


def _qpoly_expr(poly: Any, var: Symbol) -> Expr:
    terms = [
        Number.of(c) * Pow.of(var, Number.of(i)) for i, c in enumerate(_fractions(poly)) if c != 0
    ]
    return Add.of(*terms) if terms else Number.of(0)


# -- univariate adapters for solving (plain Fractions in and out) ------------


def poly_terms(expr: Expr, gens: Sequence[Symbol]) -> dict[tuple[int, ...], Fraction]:
    """``expr`` as ``{exponents: coefficient}`` over ``gens`` (raises if not polynomial)."""
    ring = PolyRing(tuple(gens), "lex")
    return {
        tuple(int(e) for e in monom): Fraction(int(c.p), int(c.q))
        for monom, c in ring.to_poly(expr).to_dict().items()
    }


def univariate_coeffs(expr: Expr, var: Symbol) -> list[Fraction]:
    """Coefficients of ``expr`` in ``var``, constant term first (trailing zeros trimmed)."""
    terms = poly_terms(expr, [var])
    degree = max((m[0] for m in terms), default=0)
    coeffs = [Fraction(0)] * (degree + 1)
    for (e,), c in terms.items():
        coeffs[e] = c
    while len(coeffs) > 1 and coeffs[-1] == 0:
        coeffs.pop()
    return coeffs


def _checked_qpoly(coeffs: Sequence[Fraction]) -> Any:
    if not coeffs or any(not isinstance(c, Fraction | int) for c in coeffs):
        raise SymbolicInputError("a univariate polynomial needs rational coefficients")
    if len(coeffs) - 1 > MAX_ROOT_DEGREE:
        raise SymbolicMathError(
            f"degree {len(coeffs) - 1} is above the root-isolation limit {MAX_ROOT_DEGREE}"
        )
    return flint.fmpq_poly([_fmpq(Fraction(c)) for c in coeffs])


def _fractions(qpoly: Any) -> list[Fraction]:
    return [Fraction(int(c.p), int(c.q)) for c in qpoly.coeffs()]


def factor_univariate(coeffs: Sequence[Fraction]) -> list[tuple[list[Fraction], int]]:
    """Irreducible factors over the rationals (monic), with multiplicities."""
    q = _checked_qpoly(coeffs)
    if q.degree() < 1:
        return []
    _, factors = q.factor()
    out = []
    for f, e in factors:
        monic = f / f.coeffs()[-1]
        out.append((_fractions(monic), int(e)))
    out.sort(key=lambda fe: (len(fe[0]), fe[0]))
    return out


def squarefree_part(coeffs: Sequence[Fraction]) -> list[Fraction]:
    """``p / gcd(p, p')``, monic."""
    q = _checked_qpoly(coeffs)
    if q.degree() < 1:
        return [Fraction(1)]
    part = q / q.gcd(q.derivative())
    return _fractions(part / part.coeffs()[-1])


def _exact(value: Any) -> Fraction:
    man, exp = value.man_exp()
    man, exp = int(man), int(exp)
    return Fraction(man * 2**exp) if exp >= 0 else Fraction(man, 2**-exp)


def _real_root_balls(qpoly: Any) -> list[tuple[Fraction, Fraction, Any]]:
    """Exact enclosures ``(lo, hi, arb)`` of the real roots of a squarefree polynomial."""
    balls = []
    for root, _ in qpoly.numer().complex_roots():
        if root.imag.is_zero():
            mid, rad = _exact(root.real.mid()), _exact(root.real.rad())
            balls.append((mid - rad, mid + rad, root.real))
    balls.sort(key=lambda b: b[0])
    return balls


def real_root_intervals(coeffs: Sequence[Fraction]) -> list[tuple[Fraction, Fraction]]:
    """Isolating intervals (decimal end points) of the real roots, increasing.

    ``coeffs`` must be squarefree (a factor from :func:`factor_univariate`).
    Each interval contains exactly one real root and the intervals are disjoint.
    """
    q = _checked_qpoly(coeffs)
    if q.degree() < 1:
        return []
    if q.gcd(q.derivative()).degree() > 0:
        raise SymbolicInputError("real_root_intervals needs a squarefree polynomial")
    balls = _real_root_balls(q)
    out = []
    for i, (lo, hi, _) in enumerate(balls):
        below = balls[i - 1][1] if i > 0 else None
        above = balls[i + 1][0] if i + 1 < len(balls) else None
        digits = 6
        while True:
            scale = 10**digits
            a = Fraction(math.floor(lo * scale), scale)
            b = Fraction(math.ceil(hi * scale), scale)
            if (below is None or a > below) and (above is None or b < above):
                break
            digits += 2
        out.append((a, b))
    return out


def real_root_value(coeffs: Sequence[Fraction], index: int, digits: int = 17) -> Fraction:
    """The ``index``-th real root of a squarefree polynomial to within ``10**-digits``."""
    q = _checked_qpoly(coeffs)
    if not 1 <= digits <= 1000:
        raise SymbolicInputError("digits must be between 1 and 1000")
    prec = max(64, int(digits * 3.33) + 32)
    while prec <= MAX_ROOT_PRECISION * 4:
        with flint.ctx.workprec(prec):
            balls = _real_root_balls(q)
        if not 0 <= index < len(balls):
            raise SymbolicInputError(f"no real root number {index}")
        lo, hi, _ = balls[index]
        if hi - lo < Fraction(1, 10**digits):
            return (lo + hi) / 2
        prec *= 2
    raise SymbolicMathError("could not reach the requested precision")


def locate_image(
    h: Sequence[Fraction],
    f: Sequence[Fraction],
    index: int,
    candidates: Sequence[Sequence[Fraction]],
) -> tuple[int, int]:
    """Which real root of which candidate polynomial is ``h(alpha)``?

    ``alpha`` is the ``index``-th real root of the squarefree ``f``, and
    ``h(alpha)`` must be a root of one of the squarefree ``candidates``.
    Balls are refined until ``h(alpha)``'s enclosure meets exactly one
    candidate root enclosure, which proves the match.  Returns
    ``(candidate number, real root index within it)``.
    """
    fq = _checked_qpoly(f)
    hq = [_fmpq(Fraction(c)) for c in h]
    cands = [_checked_qpoly(c) for c in candidates]
    prec = 64
    while prec <= MAX_ROOT_PRECISION:
        with flint.ctx.workprec(prec):
            alpha = _real_root_balls(fq)[index][2]
            value = flint.arb(0)
            for c in reversed(hq):
                value = value * alpha + flint.arb(c)
            hits = [
                (k, j)
                for k, cq in enumerate(cands)
                for j, (_, _, ball) in enumerate(_real_root_balls(cq))
                if ball.overlaps(value)
            ]
        if len(hits) == 1:
            return hits[0]
        prec *= 2
    raise SymbolicMathError("could not separate the roots (precision limit reached)")
