"""Expressions: immutable, hash-consed trees in canonical form.

Every node is interned: building the same expression twice returns the same
object, so structural equality is ``is`` and hashing is O(1).  Constructors
canonicalise as they build:

* numbers are exact rationals (:class:`fractions.Fraction`); floats appear
  only through :meth:`Expr.evalf`;
* sums flatten and collect like terms (``2*x + 3*x -> 5*x``), products
  flatten and collect powers of one base (``x*x**2 -> x**3``), with the
  numeric coefficient kept apart;
* arguments are ordered by a total structural key, so ``y + x`` and
  ``x + y`` are one node;
* elementary functions apply their identities on construction
  (``exp(log(x)) -> x``, ``sin(-x) -> -sin(x)``, ``sqrt(9) -> 3``,
  ``abs(x) -> x`` for positive ``x``).

``a == b`` is structural identity (a bool).  Equations are :class:`Eq`.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Iterator, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias, cast

__all__ = [
    "Add",
    "Eq",
    "Expr",
    "Func",
    "Mul",
    "Number",
    "Pow",
    "Symbol",
    "abs_",
    "cos",
    "exp",
    "log",
    "sin",
    "sqrt",
    "symbols",
    "sympify",
    "tan",
]

Num: TypeAlias = "int | Fraction"
ExprLike: TypeAlias = "Expr | int | Fraction"


# The interning table: token -> weak reference to the one node with that
# token.  A plain dict of weak references that carry their token, instead of
# ``weakref.WeakValueDictionary``, whose get and set run Python code per call:
# building the 6,545 terms of an expansion interns ~13,000 nodes, and the
# table's overhead was a third of the time.  A node's death removes its entry
# at once (so its token stops holding the children alive), unless the token
# already names a newer node.
class _Ref(weakref.ref):  # type: ignore[type-arg]
    __slots__ = ("token",)
    token: tuple[Any, ...]


_TABLE: dict[tuple[Any, ...], _Ref] = {}


try:
    from _weakref import _remove_dead_weakref  # type: ignore[attr-defined]
except ImportError:  # not CPython: the same test, without its atomicity

    def _remove_dead_weakref(table: dict[Any, Any], key: Any) -> None:
        ref = table.get(key)
        if ref is not None and ref() is None:
            table.pop(key, None)


def _forget(ref: _Ref) -> None:
    # CPython's atomic "delete if the entry is still a dead reference" (what
    # WeakValueDictionary itself uses): a newer live node under the same
    # token, interned by another thread meanwhile, is never dropped.
    _remove_dead_weakref(_TABLE, ref.token)


def _lookup(token: tuple[Any, ...]) -> Expr | None:
    ref = _TABLE.get(token)
    return None if ref is None else cast("Expr | None", ref())


def _store(token: tuple[Any, ...], node: Expr) -> None:
    ref = _Ref(node, _forget)
    ref.token = token
    _TABLE[token] = ref


def interned_count() -> int:
    """Live interned nodes (for tests of the table's clean-up)."""
    return sum(1 for ref in list(_TABLE.values()) if ref() is not None)


class Expr:
    """Base of every expression node; never instantiate directly."""

    __slots__ = ("__weakref__", "_key", "args")
    rank: ClassVar[int] = 99

    args: tuple[Any, ...]
    _key: tuple[Any, ...]

    @classmethod
    def _intern(cls, args: tuple[Any, ...]) -> Expr:
        token = (cls, args)
        found = _lookup(token)
        if found is not None:
            return found
        return cls._new(token, args, cls._make_key(args))

    @classmethod
    def _new(
        cls, token: tuple[Any, ...], args: tuple[Any, ...], key: tuple[Any, ...] | None
    ) -> Expr:
        """Create and intern a node whose token was just looked up and missed.

        ``key=None`` leaves the sort key to be made on first use (bulk
        conversion builds thousands of terms whose keys nobody may ask for).
        """
        node = object.__new__(cls)
        node.args = args
        if key is not None:
            node._key = key
        _store(token, node)
        return node

    @classmethod
    def _intern_many(cls, many: Iterable[tuple[Any, ...]]) -> list[Expr]:
        """Intern nodes of this kind whose ``args`` are already canonical, in bulk.

        The loop of :meth:`_intern` without its calls, for the thousands of
        terms of a polynomial; sort keys are made on first use.
        """
        out: list[Expr] = []
        append = out.append
        get = _TABLE.get
        new = object.__new__
        for args in many:
            token = (cls, args)
            ref = get(token)
            node = None if ref is None else ref()
            if node is None:
                node = new(cls)
                node.args = args
                ref = _Ref(node, _forget)
                ref.token = token
                _TABLE[token] = ref
            append(node)
        return out

    @classmethod
    def _make_key(cls, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (cls.rank, tuple(a._key if isinstance(a, Expr) else a for a in args))

    if not TYPE_CHECKING:  # hidden from mypy, which would then type every attribute as Any

        def __getattr__(self, name: str) -> Any:
            # Reached only when a slot is unset: a sort key left for later.
            if name == "_key":
                key = type(self)._make_key(self.args)
                self._key = key
                return key
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # Interned nodes are equal exactly when identical, so the identity hash is
    # a valid hash, and object's C-level one keeps hashing tokens (tuples of
    # nodes) out of Python code.
    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, int | Fraction) and not isinstance(other, bool):
            return self is Number.of(other)
        return self is other

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __lt__(self, other: Expr) -> bool:
        return self._key < other._key

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("expressions are interned; serialise them with str() and parse()")

    # -- arithmetic ----------------------------------------------------------
    def __add__(self, other: ExprLike) -> Expr:
        return Add.of(self, sympify(other))

    def __radd__(self, other: ExprLike) -> Expr:
        return Add.of(sympify(other), self)

    def __sub__(self, other: ExprLike) -> Expr:
        return Add.of(self, -sympify(other))

    def __rsub__(self, other: ExprLike) -> Expr:
        return Add.of(sympify(other), -self)

    def __mul__(self, other: ExprLike) -> Expr:
        return Mul.of(self, sympify(other))

    def __rmul__(self, other: ExprLike) -> Expr:
        return Mul.of(sympify(other), self)

    def __truediv__(self, other: ExprLike) -> Expr:
        return Mul.of(self, Pow.of(sympify(other), Number.of(-1)))

    def __rtruediv__(self, other: ExprLike) -> Expr:
        return Mul.of(sympify(other), Pow.of(self, Number.of(-1)))

    def __pow__(self, other: ExprLike) -> Expr:
        return Pow.of(self, sympify(other))

    def __rpow__(self, other: ExprLike) -> Expr:
        return Pow.of(sympify(other), self)

    def __neg__(self) -> Expr:
        return Mul.of(Number.of(-1), self)

    def __pos__(self) -> Expr:
        return self

    def __abs__(self) -> Expr:
        return Func.of("abs", self)

    # -- structure -----------------------------------------------------------
    def children(self) -> tuple[Expr, ...]:
        return tuple(a for a in self.args if isinstance(a, Expr))

    def walk(self) -> Iterator[Expr]:
        """Every node, each once, parents before children."""
        seen: set[int] = set()
        stack: list[Expr] = [self]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            yield node
            stack.extend(reversed(node.children()))

    @property
    def free_symbols(self) -> frozenset[Symbol]:
        return frozenset(n for n in self.walk() if isinstance(n, Symbol))

    def count_ops(self) -> int:
        """Size of the tree (distinct nodes): the default simplification cost."""
        return sum(1 for _ in self.walk())

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        """The same node kind over new children (canonicalised again)."""
        raise TypeError(f"{type(self).__name__} has no children")

    def subs(self, mapping: Mapping[Expr, ExprLike]) -> Expr:
        """Replace sub-expressions (structurally), bottom-up, re-canonicalising."""
        table = {k: sympify(v) for k, v in mapping.items()}
        memo: dict[Expr, Expr] = {}

        def go(node: Expr) -> Expr:
            if node in table:
                return table[node]
            if node in memo:
                return memo[node]
            kids = node.children()
            result = node.rebuild(tuple(go(k) for k in kids)) if kids else node
            memo[node] = result
            return result

        return go(self)

    def evalf(self, values: dict[Symbol, float] | None = None) -> float:
        """A float value (the only place floats appear)."""
        from symbolic_reduction_modeler._codegen import evaluate

        return float(evaluate(self, values or {}))

    def __str__(self) -> str:
        from symbolic_reduction_modeler._printing import to_str

        return to_str(self)

    def __repr__(self) -> str:
        return str(self)


class Number(Expr):
    """An exact rational."""

    __slots__ = ()
    rank = 0

    @classmethod
    def of(cls, value: Num) -> Number:
        # Tokens hold an int where the value is an integer, so the common case
        # (integer coefficients) is looked up without building a Fraction and
        # compares int to int, never through the slow Fraction.__eq__.
        if type(value) is int:
            plain: Num = value
        else:
            value = Fraction(value)
            plain = value.numerator if value.denominator == 1 else value
        token = (cls, (plain,))
        found = _lookup(token)
        if found is not None:
            return cast(Number, found)
        # The key holds the same int: sorting keys of expanded polynomials
        # (every exponent is a Number) then avoids Fraction comparisons.
        return cast(Number, cls._new(token, (Fraction(value),), (cls.rank, (plain,))))

    @classmethod
    def _intern(cls, args: tuple[Any, ...]) -> Expr:
        return cls.of(args[0])

    @property
    def value(self) -> Fraction:
        value: Fraction = self.args[0]
        return value

    @property
    def is_integer(self) -> bool:
        return self.value.denominator == 1


class Symbol(Expr):
    """A named symbol with assumptions (``real``, ``positive``, ``integer``)."""

    __slots__ = ()
    rank = 1
    KNOWN: ClassVar[frozenset[str]] = frozenset({"real", "positive", "integer", "nonnegative"})

    @classmethod
    def of(cls, name: str, **assumptions: bool) -> Symbol:
        unknown = set(assumptions) - cls.KNOWN
        if unknown:
            from symbolic_reduction_modeler.errors import SymbolicInputError

            raise SymbolicInputError(
                f"unknown assumption(s) {', '.join(sorted(unknown))}",
                hint=f"use {', '.join(sorted(cls.KNOWN))}",
            )
        facts = {k for k, v in assumptions.items() if v}
        if "positive" in facts or "integer" in facts or "nonnegative" in facts:
            facts.add("real")
        if "positive" in facts:
            facts.add("nonnegative")
        return cast(Symbol, cls._intern((name, frozenset(facts))))

    @classmethod
    def _make_key(cls, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (cls.rank, (args[0], tuple(sorted(args[1]))))

    @property
    def name(self) -> str:
        name: str = self.args[0]
        return name

    def is_(self, fact: str) -> bool:
        return fact in self.args[1]


def _coeff_and_rest(term: Expr) -> tuple[Fraction, Expr]:
    if isinstance(term, Number):
        return term.value, Number.of(1)
    if isinstance(term, Mul) and isinstance(term.args[0], Number):
        rest = term.args[1:]
        return term.args[0].value, rest[0] if len(rest) == 1 else Mul._intern(rest)
    return Fraction(1), term


class Add(Expr):
    """A canonical sum: optional numeric constant first, then terms in key order."""

    __slots__ = ()
    rank = 4

    @classmethod
    def of(cls, *items: Expr) -> Expr:
        collected: dict[Expr, Fraction] = {}
        constant = Fraction(0)
        stack = list(items)
        while stack:
            item = stack.pop()
            if isinstance(item, Add):
                stack.extend(item.args)
                continue
            coeff, rest = _coeff_and_rest(item)
            if rest is Number.of(1):
                constant += coeff
            else:
                collected[rest] = collected.get(rest, Fraction(0)) + coeff
        terms = sorted(
            (Mul.of(Number.of(c), rest) for rest, c in collected.items() if c != 0),
            key=lambda e: e._key,
        )
        if constant != 0:
            terms.insert(0, Number.of(constant))
        if not terms:
            return Number.of(0)
        if len(terms) == 1:
            return terms[0]
        return cls._intern(tuple(terms))

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Add.of(*children)


class Mul(Expr):
    """A canonical product: optional numeric coefficient first, then factors in key order."""

    __slots__ = ()
    rank = 3

    @classmethod
    def of(cls, *items: Expr) -> Expr:
        powers: dict[Expr, list[Expr]] = {}
        coeff = Fraction(1)
        stack = list(items)
        while stack:
            item = stack.pop()
            if isinstance(item, Mul):
                stack.extend(item.args)
            elif isinstance(item, Number):
                coeff *= item.value
            elif isinstance(item, Pow):
                powers.setdefault(item.args[0], []).append(item.args[1])
            else:
                powers.setdefault(item, []).append(Number.of(1))
        if coeff == 0:
            return Number.of(0)
        factors: list[Expr] = []
        for base, exps in powers.items():
            total = exps[0] if len(exps) == 1 else Add.of(*exps)
            factor = Pow.of(base, total)
            if isinstance(factor, Number):
                coeff *= factor.value
            elif isinstance(factor, Mul):  # e.g. sqrt(12) -> 2*sqrt(3)
                for part in factor.args:
                    if isinstance(part, Number):
                        coeff *= part.value
                    else:
                        factors.append(part)
            else:
                factors.append(factor)
        factors.sort(key=lambda e: e._key)
        if coeff != 1 or not factors:
            if not factors:
                return Number.of(coeff)
            if len(factors) == 1 and isinstance(factors[0], Add) and coeff != 1:
                # keep 2*(x+y) as a product; expansion is expand()'s job
                return cls._intern((Number.of(coeff), factors[0]))
            return cls._intern((Number.of(coeff), *factors))
        if len(factors) == 1:
            return factors[0]
        return cls._intern(tuple(factors))

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Mul.of(*children)


def _integer_root(value: int, n: int) -> int | None:
    if value < 0:
        return None
    root = round(value ** (1.0 / n)) if value < 2**52 else math.isqrt(value) if n == 2 else None
    if root is None:
        return None
    for candidate in (root - 1, root, root + 1):
        if candidate >= 0 and candidate**n == value:
            return candidate
    return None


class Pow(Expr):
    """``base ** exponent`` after numeric and power-of-power folding."""

    __slots__ = ()
    rank = 2

    @classmethod
    def of(cls, base: Expr, exponent: Expr) -> Expr:
        if isinstance(exponent, Number):
            e = exponent.value
            if e == 0:
                return Number.of(1)
            if e == 1:
                return base
            if isinstance(base, Number):
                folded = _fold_number_power(base.value, e)
                if folded is not None:
                    return folded
            if isinstance(base, Pow) and (e.denominator == 1 or _nonnegative(base.args[0])):
                return Pow.of(base.args[0], Mul.of(base.args[1], exponent))
            if isinstance(base, Mul) and e.denominator == 1:
                return Mul.of(*(Pow.of(f, exponent) for f in base.args))
        if isinstance(base, Number) and base.value == 1:
            return Number.of(1)
        if isinstance(base, Func) and base.args[0] == "exp":
            return Func.of("exp", Mul.of(base.args[1], exponent))
        return cls._intern((base, exponent))

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Pow.of(children[0], children[1])


def _fold_number_power(base: Fraction, e: Fraction) -> Expr | None:
    if base == 0:
        if e < 0:
            from symbolic_reduction_modeler.errors import SymbolicMathError

            raise SymbolicMathError("division by zero", hint="0 has no negative power")
        return Number.of(0)
    if e.denominator == 1:
        if abs(e.numerator) > 10_000:
            return None
        return Number.of(base ** int(e))
    if base < 0:
        return None
    num = _integer_root(base.numerator, e.denominator)
    den = _integer_root(base.denominator, e.denominator)
    if num is not None and den is not None:
        return Number.of(Fraction(num, den) ** e.numerator)
    if e.denominator == 2 and base.denominator == 1 and base > 1:
        # pull square factors out: sqrt(12) -> 2*sqrt(3)
        n, outside = base.numerator, 1
        for p in range(2, math.isqrt(min(n, 10**6)) + 1):
            while n % (p * p) == 0:
                n //= p * p
                outside *= p
        if outside > 1:
            return Mul._intern(
                (
                    Number.of(Fraction(outside) ** e.numerator),
                    Pow._intern((Number.of(n), Number.of(e))),
                )
            )
    return None


def _nonnegative(expr: Expr) -> bool:
    if isinstance(expr, Number):
        return expr.value >= 0
    if isinstance(expr, Symbol):
        return expr.is_("nonnegative")
    return False


def _is_negative_term(expr: Expr) -> bool:
    return (
        isinstance(expr, Mul) and isinstance(expr.args[0], Number) and expr.args[0].value < 0
    ) or (isinstance(expr, Number) and expr.value < 0)


class Func(Expr):
    """An elementary function applied to one argument."""

    __slots__ = ()
    rank = 5
    NAMES: ClassVar[tuple[str, ...]] = ("exp", "log", "sin", "cos", "tan", "abs")

    @classmethod
    def of(cls, name: str, arg: Expr) -> Expr:
        if name not in cls.NAMES:
            from symbolic_reduction_modeler.errors import SymbolicInputError

            raise SymbolicInputError(
                f"unknown function {name!r}", hint=f"use {', '.join(cls.NAMES)}, sqrt"
            )
        zero, one = Number.of(0), Number.of(1)
        if name == "exp":
            if arg is zero:
                return one
            if isinstance(arg, Func) and arg.args[0] == "log":
                inner: Expr = arg.args[1]
                return inner
        elif name == "log":
            if arg is one:
                return zero
            if isinstance(arg, Func) and arg.args[0] == "exp" and _is_real(arg.args[1]):
                exponent: Expr = arg.args[1]
                return exponent
            if isinstance(arg, Number) and arg.value <= 0:
                from symbolic_reduction_modeler.errors import SymbolicMathError

                raise SymbolicMathError(
                    f"log of {arg} is not a real number", hint="log needs a positive argument"
                )
        elif name in ("sin", "tan"):
            if arg is zero:
                return zero
            if _is_negative_term(arg):
                return -Func.of(name, -arg)
        elif name == "cos":
            if arg is zero:
                return one
            if _is_negative_term(arg):
                return Func.of(name, -arg)
        elif name == "abs":
            if isinstance(arg, Number):
                return Number.of(abs(arg.value))
            if _nonnegative(arg):
                return arg
            if _is_negative_term(arg):
                return Func.of(name, -arg)
        return cls._intern((name, arg))

    @classmethod
    def _make_key(cls, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (cls.rank, (args[0], args[1]._key))

    @property
    def name(self) -> str:
        name: str = self.args[0]
        return name

    def rebuild(self, children: tuple[Expr, ...]) -> Expr:
        return Func.of(self.name, children[0])


def _is_real(expr: Expr) -> bool:
    if isinstance(expr, Number):
        return True
    if isinstance(expr, Symbol):
        return expr.is_("real")
    return all(_is_real(c) for c in expr.children()) and not isinstance(expr, Func | Pow)


class Eq:
    """An equation ``lhs = rhs`` (``==`` on expressions stays structural identity)."""

    __slots__ = ("lhs", "rhs")

    def __init__(self, lhs: ExprLike, rhs: ExprLike = 0) -> None:
        self.lhs = sympify(lhs)
        self.rhs = sympify(rhs)

    def as_expr(self) -> Expr:
        """``lhs - rhs``: the expression that is zero where the equation holds."""
        return self.lhs - self.rhs

    def __repr__(self) -> str:
        return f"Eq({self.lhs}, {self.rhs})"


def sympify(value: object) -> Expr:
    """Numbers become :class:`Number`; strings are parsed; expressions pass through."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, bool):
        from symbolic_reduction_modeler.errors import SymbolicInputError

        raise SymbolicInputError("booleans are not expressions")
    if isinstance(value, int | Fraction):
        return Number.of(value)
    if isinstance(value, str):
        from symbolic_reduction_modeler._parse import parse

        return parse(value)
    from symbolic_reduction_modeler.errors import SymbolicInputError

    raise SymbolicInputError(
        f"cannot use {type(value).__name__} in an expression",
        hint="use int, fractions.Fraction or an expression (floats only through evalf)",
    )


def symbols(names: str | Iterable[str], **assumptions: bool) -> tuple[Symbol, ...]:
    """``symbols("x y z", real=True)``."""
    parts = names.replace(",", " ").split() if isinstance(names, str) else list(names)
    return tuple(Symbol.of(n, **assumptions) for n in parts)


def exp(x: ExprLike) -> Expr:
    return Func.of("exp", sympify(x))


def log(x: ExprLike) -> Expr:
    return Func.of("log", sympify(x))


def sin(x: ExprLike) -> Expr:
    return Func.of("sin", sympify(x))


def cos(x: ExprLike) -> Expr:
    return Func.of("cos", sympify(x))


def tan(x: ExprLike) -> Expr:
    return Func.of("tan", sympify(x))


def abs_(x: ExprLike) -> Expr:
    return Func.of("abs", sympify(x))


def sqrt(x: ExprLike) -> Expr:
    return Pow.of(sympify(x), Number.of(Fraction(1, 2)))
