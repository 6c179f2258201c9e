"""First-class lattices: the values facts carry and how they combine.

A lattice here is a join-semilattice with a bottom: ``join`` must be
commutative, associative and idempotent, ``bottom`` its identity, and
``leq(a, b)`` must hold exactly when ``join(a, b) == b``.  Facts that meet in a
merge or in a recursive rule are combined with ``join``; a fact whose value does
not grow is not new, which is what makes evaluation terminate and replica merge
converge.  Built-in lattices are trusted; a user lattice is checked with
hypothesis (:func:`check_lattice_laws`) before the engine relies on it.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from dynamic_semantic_lattice_engine.errors import LatticeInputError, LatticeLawError

__all__ = [
    "FiniteLattice",
    "Interval",
    "IntervalLattice",
    "LastWriterWins",
    "Lattice",
    "MaxLattice",
    "MinLattice",
    "SetUnionLattice",
    "Stamp",
    "UserLattice",
    "builtin_lattice",
    "check_lattice_laws",
    "check_monotone",
]

T = TypeVar("T")


class Lattice(ABC, Generic[T]):
    """A join-semilattice with bottom.

    Subclasses give ``name``, ``bottom``, ``join``, ``encode``/``decode`` (a
    JSON form, so values survive the store and replica deltas) and
    ``values()`` (a hypothesis strategy used to check the laws).
    ``vector_join`` names a columnar aggregate (``"max"``/``"min"``) when the
    join is one, so the engine can combine numeric values without Python loops.
    """

    name: str = "lattice"
    vector_join: ClassVar[Literal["max", "min"] | None] = None

    @abstractmethod
    def bottom(self) -> T:
        """The least element: ``join(bottom(), x) == x`` for every ``x``."""

    @abstractmethod
    def join(self, a: T, b: T) -> T:
        """The least upper bound of ``a`` and ``b``."""

    def leq(self, a: T, b: T) -> bool:
        """The partial order; by default derived from ``join``."""
        return bool(self.join(a, b) == b)

    def join_all(self, values: Iterable[T]) -> T:
        """The join of many values (``bottom`` for none)."""
        acc = self.bottom()
        for value in values:
            acc = self.join(acc, value)
        return acc

    def encode(self, value: T) -> Any:
        """A JSON-compatible form of ``value``."""
        return value

    def decode(self, data: Any) -> T:
        """Inverse of :meth:`encode`; raises :class:`LatticeInputError` on bad data."""
        return data  # type: ignore[no-any-return]

    def coerce(self, value: Any) -> T:
        """Turn a user-given value (from a CLI or a program) into a lattice value."""
        return self.decode(value)

    @abstractmethod
    def values(self) -> st.SearchStrategy[T]:
        """A hypothesis strategy over this lattice's values, for the law checks."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class MaxLattice(Lattice[float]):
    """Numbers under ``max`` (a confidence, a version): bottom is ``floor``."""

    vector_join = "max"

    def __init__(self, name: str = "max", floor: float = -math.inf) -> None:
        self.name = name
        self.floor = floor

    def bottom(self) -> float:
        return self.floor

    def join(self, a: float, b: float) -> float:
        return a if a >= b else b

    def leq(self, a: float, b: float) -> bool:
        return a <= b

    def decode(self, data: Any) -> float:
        try:
            return float(data)
        except (TypeError, ValueError) as exc:
            raise LatticeInputError(
                f"{self.name}: {data!r} is not a number", hint="give a decimal number"
            ) from exc

    def values(self) -> st.SearchStrategy[float]:
        low = None if math.isinf(self.floor) else self.floor
        return st.floats(min_value=low, allow_nan=False, allow_infinity=low is None)


class MinLattice(Lattice[float]):
    """Numbers under ``min`` (a cost, a distance): bottom is ``+inf``."""

    vector_join = "min"

    def __init__(self, name: str = "min_cost") -> None:
        self.name = name

    def bottom(self) -> float:
        return math.inf

    def join(self, a: float, b: float) -> float:
        return a if a <= b else b

    def leq(self, a: float, b: float) -> bool:
        return a >= b

    def decode(self, data: Any) -> float:
        try:
            return float(data)
        except (TypeError, ValueError) as exc:
            raise LatticeInputError(
                f"{self.name}: {data!r} is not a number", hint="give a decimal number"
            ) from exc

    def values(self) -> st.SearchStrategy[float]:
        return st.floats(allow_nan=False)


@dataclass(frozen=True, order=True)
class Interval:
    """A closed interval ``[start, end]``; ``start > end`` is the empty interval."""

    start: float
    end: float

    @property
    def empty(self) -> bool:
        return self.start > self.end


_EMPTY = Interval(math.inf, -math.inf)


class IntervalLattice(Lattice[Interval]):
    """Validity intervals joined by their hull; bottom is the empty interval."""

    def __init__(self, name: str = "interval") -> None:
        self.name = name

    def bottom(self) -> Interval:
        return _EMPTY

    def join(self, a: Interval, b: Interval) -> Interval:
        if a.empty:
            return b
        if b.empty:
            return a
        return Interval(min(a.start, b.start), max(a.end, b.end))

    def encode(self, value: Interval) -> Any:
        return None if value.empty else [value.start, value.end]

    def decode(self, data: Any) -> Interval:
        if data is None:
            return _EMPTY
        if isinstance(data, str):
            data = data.replace(",", " ").strip("[]() ").split()
        try:
            start, end = (float(x) for x in data)
        except (TypeError, ValueError) as exc:
            raise LatticeInputError(
                f"{self.name}: {data!r} is not an interval", hint="give two numbers: START END"
            ) from exc
        return Interval(start, end) if start <= end else _EMPTY

    def values(self) -> st.SearchStrategy[Interval]:
        bound = st.integers(-1000, 1000).map(float)
        return st.tuples(bound, bound).map(lambda p: Interval(min(p), max(p))) | st.just(_EMPTY)


class SetUnionLattice(Lattice[frozenset[str]]):
    """Sets under union, as provenance (which sources support a fact)."""

    def __init__(self, name: str = "provenance") -> None:
        self.name = name

    def bottom(self) -> frozenset[str]:
        return frozenset()

    def join(self, a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
        return a | b

    def leq(self, a: frozenset[str], b: frozenset[str]) -> bool:
        return a <= b

    def encode(self, value: frozenset[str]) -> Any:
        return sorted(value)

    def decode(self, data: Any) -> frozenset[str]:
        if isinstance(data, str):
            return frozenset(x for x in data.split(",") if x)
        if isinstance(data, list | tuple | set | frozenset):
            return frozenset(str(x) for x in data)
        raise LatticeInputError(
            f"{self.name}: {data!r} is not a set", hint="give a list or comma-separated names"
        )

    def values(self) -> st.SearchStrategy[frozenset[str]]:
        return st.frozensets(st.sampled_from("abcdef"), max_size=4)


class FiniteLattice(Lattice[str]):
    """A user-defined finite lattice given by its elements and order, e.g. security labels.

    Args:
        name: the lattice's name.
        order: pairs ``(low, high)`` meaning ``low <= high``; the reflexive and
            transitive closure is taken.  Every pair of elements must have a
            unique least upper bound and there must be a least element,
            otherwise :class:`LatticeLawError` says which pair fails.
        elements: extra elements not mentioned in ``order``.
    """

    def __init__(
        self, name: str, order: Iterable[tuple[str, str]], elements: Iterable[str] = ()
    ) -> None:
        self.name = name
        pairs = list(order)
        elems = list(dict.fromkeys([*elements, *itertools.chain.from_iterable(pairs)]))
        if not elems:
            raise LatticeLawError(f"lattice {name} has no elements", hint="list its elements")
        up: dict[str, set[str]] = {e: {e} for e in elems}
        for low, high in pairs:
            up[low].add(high)
        changed = True
        while changed:  # transitive closure of a small relation
            changed = False
            for e in elems:
                extra = set().union(*(up[x] for x in up[e])) - up[e]
                if extra:
                    up[e] |= extra
                    changed = True
        for a in elems:
            for b in up[a]:
                if a != b and a in up[b]:
                    raise LatticeLawError(
                        f"lattice {name}: {a} and {b} are below each other (a cycle)",
                        hint="an order must be antisymmetric",
                    )
        self.elements = tuple(elems)
        self._up = {e: frozenset(s) for e, s in up.items()}
        self._join: dict[tuple[str, str], str] = {}
        for a in elems:
            for b in elems:
                common = self._up[a] & self._up[b]
                least = [c for c in common if common <= self._up[c]]
                if len(least) != 1:
                    raise LatticeLawError(
                        f"lattice {name}: {a} and {b} have no unique least upper bound",
                        hint="add the missing join element to the order",
                    )
                self._join[a, b] = least[0]
        bottoms = [e for e in elems if all(x in self._up[e] for x in elems)]
        if len(bottoms) != 1:
            raise LatticeLawError(
                f"lattice {name} has no least element", hint="add a bottom below every element"
            )
        self._bottom = bottoms[0]

    def bottom(self) -> str:
        return self._bottom

    def join(self, a: str, b: str) -> str:
        return self._join[a, b]

    def leq(self, a: str, b: str) -> bool:
        return b in self._up[a]

    def decode(self, data: Any) -> str:
        if data not in self._up:
            raise LatticeInputError(
                f"{self.name}: {data!r} is not an element",
                hint=f"use one of {', '.join(self.elements)}",
            )
        return str(data)

    def values(self) -> st.SearchStrategy[str]:
        return st.sampled_from(self.elements)


@dataclass(frozen=True, order=True)
class Stamp:
    """A hybrid-logical-clock stamp: wall time, a counter, the writing replica."""

    time_ns: int
    replica: str


class _Clock:
    """A process-wide hybrid logical clock: stamps strictly increase, even within one ns."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return self._last

    def observe(self, seen: int) -> None:
        """Move past a stamp seen from another replica (the HLC receive rule)."""
        with self._lock:
            self._last = max(self._last, seen)


CLOCK = _Clock()
DEFAULT_REPLICA = f"{os.uname().nodename if hasattr(os, 'uname') else 'local'}-{os.getpid()}"

LwwValue = tuple[Stamp, Any]


class LastWriterWins(Lattice[LwwValue]):
    """A last-writer-wins register: the value with the greatest stamp wins.

    Ties on the stamp (same nanosecond, same replica) are broken by the
    value's ``repr`` so the join stays commutative.  :meth:`stamp` makes a new
    value stamped now by a process-wide hybrid logical clock.
    """

    def __init__(self, name: str = "lww") -> None:
        self.name = name

    def bottom(self) -> LwwValue:
        return (Stamp(0, ""), None)

    def join(self, a: LwwValue, b: LwwValue) -> LwwValue:
        ka = (a[0], repr(a[1]))
        kb = (b[0], repr(b[1]))
        return a if ka >= kb else b

    def stamp(self, value: Any, replica: str = DEFAULT_REPLICA) -> LwwValue:
        """``value`` stamped now, by ``replica``."""
        return (Stamp(CLOCK.now(), replica), value)

    def encode(self, value: LwwValue) -> Any:
        return [value[0].time_ns, value[0].replica, value[1]]

    def decode(self, data: Any) -> LwwValue:
        try:
            time_ns, replica, payload = data
            stamp = Stamp(int(time_ns), str(replica))
        except (TypeError, ValueError) as exc:
            raise LatticeInputError(
                f"{self.name}: {data!r} is not a stamped value",
                hint="expected [time_ns, replica, value]",
            ) from exc
        CLOCK.observe(stamp.time_ns)
        return (stamp, payload)

    def coerce(self, value: Any) -> LwwValue:
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], Stamp):
            return value
        if isinstance(value, list | tuple) and len(value) == 3:
            return self.decode(value)
        return self.stamp(value)

    def values(self) -> st.SearchStrategy[LwwValue]:
        stamps = st.builds(Stamp, st.integers(0, 50), st.sampled_from(["r1", "r2", "r3"]))
        return st.tuples(stamps, st.sampled_from(["a", "b", "c", None]))


class UserLattice(Lattice[Any]):
    """A lattice from user callables; checked with :func:`check_lattice_laws` on creation.

    Args:
        name: the lattice's name.
        bottom: the least element.
        join: the least upper bound of two values.
        values: a hypothesis strategy over the lattice's values (for the checks).
        leq: the order; derived from ``join`` when omitted.
        check: run the law checks now (default).  Passing ``False`` means the
            caller vouches for the laws.
    """

    def __init__(
        self,
        name: str,
        *,
        bottom: Any,
        join: Callable[[Any, Any], Any],
        values: st.SearchStrategy[Any],
        leq: Callable[[Any, Any], bool] | None = None,
        check: bool = True,
        max_examples: int = 200,
    ) -> None:
        self.name = name
        self._bottom = bottom
        self._join = join
        self._leq = leq
        self._values = values
        if check:
            check_lattice_laws(self, max_examples=max_examples)

    def bottom(self) -> Any:
        return self._bottom

    def join(self, a: Any, b: Any) -> Any:
        return self._join(a, b)

    def leq(self, a: Any, b: Any) -> bool:
        if self._leq is not None:
            return bool(self._leq(a, b))
        return bool(self._join(a, b) == b)

    def values(self) -> st.SearchStrategy[Any]:
        return self._values


def _law_settings(max_examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return settings(
        max_examples=max_examples,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


def check_lattice_laws(lattice: Lattice[Any], *, max_examples: int = 200) -> None:
    """Check with hypothesis that ``lattice`` obeys the join-semilattice laws.

    Checked: join commutative, associative, idempotent; bottom its identity;
    ``leq`` agrees with ``join``.  Raises :class:`LatticeLawError` naming the
    law and a (shrunk) counterexample.
    """
    values = lattice.values()
    failure: dict[str, str] = {}

    def law(name: str, ok: bool, detail: str) -> None:
        if not ok:
            failure["law"] = name
            failure["example"] = detail
            raise AssertionError(name)

    @_law_settings(max_examples)
    @given(a=values, b=values, c=values)
    def laws(a: Any, b: Any, c: Any) -> None:
        j = lattice.join
        law("commutative", j(a, b) == j(b, a), f"a={a!r} b={b!r}")
        law("associative", j(j(a, b), c) == j(a, j(b, c)), f"a={a!r} b={b!r} c={c!r}")
        law("idempotent", j(a, a) == a, f"a={a!r}")
        law("bottom is identity", j(lattice.bottom(), a) == a, f"a={a!r}")
        law("order agrees with join", lattice.leq(a, b) == (j(a, b) == b), f"a={a!r} b={b!r}")
        law("join is an upper bound", lattice.leq(a, j(a, b)), f"a={a!r} b={b!r}")

    try:
        laws()
    except AssertionError as exc:
        raise LatticeLawError(
            f"lattice {lattice.name} breaks the {failure.get('law', exc)} law",
            hint=f"counterexample: {failure.get('example', '?')}; fix its join or order",
            lattice=lattice.name,
        ) from exc
    except (HypothesisException, TypeError, ValueError, KeyError) as exc:
        raise LatticeLawError(
            f"lattice {lattice.name} could not be checked: {type(exc).__name__}: {exc}",
            hint="its join must accept every value its strategy generates",
        ) from exc


def check_monotone(
    lattice: Lattice[Any], function: Callable[[Any], Any], *, max_examples: int = 200
) -> None:
    """Check that ``function`` is monotone on ``lattice`` (``a <= b`` implies ``f(a) <= f(b)``).

    Rules that compute a lattice value must be monotone for recursion through
    lattice joins to reach a fixpoint; raises :class:`LatticeLawError` if not.
    """
    values = lattice.values()
    bad: list[str] = []

    @_law_settings(max_examples)
    @given(a=values, b=values)
    def mono(a: Any, b: Any) -> None:
        low, high = a, lattice.join(a, b)
        if not lattice.leq(function(low), function(high)):
            bad.append(f"a={low!r} b={high!r}")
            raise AssertionError("monotone")

    try:
        mono()
    except AssertionError as exc:
        raise LatticeLawError(
            f"function is not monotone on lattice {lattice.name}",
            hint=f"counterexample: {bad[-1] if bad else '?'}",
        ) from exc


_BUILTINS: Mapping[str, Callable[[], Lattice[Any]]] = {
    "max": lambda: MaxLattice("max"),
    "max_confidence": lambda: MaxLattice("max_confidence", floor=0.0),
    "min": lambda: MinLattice("min"),
    "min_cost": lambda: MinLattice("min_cost"),
    "interval": IntervalLattice,
    "provenance": SetUnionLattice,
    "set_union": lambda: SetUnionLattice("set_union"),
    "lww": LastWriterWins,
}


def builtin_lattice(name: str) -> Lattice[Any]:
    """The built-in lattice called ``name``; raises :class:`LatticeInputError` if unknown."""
    factory = _BUILTINS.get(name)
    if factory is None:
        raise LatticeInputError(
            f"unknown lattice {name!r}", hint=f"built-in lattices: {', '.join(sorted(_BUILTINS))}"
        )
    return factory()


def builtin_names() -> list[str]:
    """Names of the built-in lattices."""
    return sorted(_BUILTINS)
