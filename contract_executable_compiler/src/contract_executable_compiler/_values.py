"""CEL runtime values: how each CEL type is represented in Python, and CEL equality and ordering.

Representation (chosen so the common cases are plain Python objects and fast):

========================  =============================================
CEL type                  Python value
========================  =============================================
``bool``                  ``bool``
``int`` (int64)           ``int`` (never ``bool``)
``uint`` (uint64)         :class:`UInt` (an ``int`` subclass)
``double``                ``float``
``string`` / ``bytes``    ``str`` / ``bytes``
``null_type``             ``None``
``list``                  ``list`` (never mutated once built)
``map``                   ``dict``; ``bool`` keys are stored as :class:`BoolKey`
``google.protobuf.Timestamp``  :class:`Timestamp` (nanoseconds since the epoch)
``google.protobuf.Duration``   :class:`Duration` (nanoseconds)
``type``                  :class:`CelType`
protobuf message          the ``google.protobuf.message.Message`` itself
========================  =============================================

Errors are Python exceptions (:class:`CelEvalError`) while evaluating; the VM turns
them into values exactly where CEL absorbs them (``&&``, ``||``, macros).
"""

# ruff: noqa: PLR0124  - hot paths: identity checks and NaN tests are deliberate

from __future__ import annotations

import math
from typing import Any, Final

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "UINT64_MAX",
    "BoolKey",
    "CelEvalError",
    "CelType",
    "Duration",
    "Timestamp",
    "UInt",
    "cel_compare",
    "cel_eq",
    "map_key",
    "type_name",
    "type_of",
    "unmap_key",
]

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
UINT64_MAX: Final = 2**64 - 1
MAX_DURATION_NS: Final = 2**63 - 1  # cel-go: durations are int64 nanoseconds
MIN_TIMESTAMP_NS: Final = -62_135_596_800 * 10**9  # 0001-01-01T00:00:00Z
MAX_TIMESTAMP_NS: Final = 253_402_300_799 * 10**9 + 999_999_999  # 9999-12-31T23:59:59.999999999Z


class CelEvalError(Exception):
    """A CEL evaluation error: a value in CEL's semantics, an exception while running.

    The message follows cel-go's wording where the conformance suite names one
    (``no such overload``, ``division by zero``, ``no such key``...).
    """

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UInt(int):
    """A CEL ``uint``: an int tagged so CEL can tell ``1u`` from ``1``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{int(self)}u"


class BoolKey:
    """A ``bool`` map key, kept apart from ``1`` and ``0`` (Python hashes them alike)."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BoolKey) and other.value is self.value

    def __hash__(self) -> int:
        return hash(("cel-bool", self.value))

    def __repr__(self) -> str:
        return "true" if self.value else "false"


TRUE_KEY: Final = BoolKey(True)
FALSE_KEY: Final = BoolKey(False)


def map_key(key: Any) -> Any:
    """The dict key storing CEL map key ``key``; raises for a type CEL forbids as a key."""
    tk = type(key)
    if tk is str or tk is int or tk is UInt:
        return key
    if tk is bool:
        return TRUE_KEY if key else FALSE_KEY
    raise CelEvalError(f"unsupported key type: {type_name(key)}")


def lookup_key(key: Any) -> Any:
    """The dict key to look ``key`` up with (doubles with an integral value find ints)."""
    tk = type(key)
    if tk is bool:
        return TRUE_KEY if key else FALSE_KEY
    if tk is float:
        if key != key or math.isinf(key):
            return None
        if key.is_integer():
            return int(key)
        return None
    return key


def unmap_key(key: Any) -> Any:
    """The CEL value of a stored dict key."""
    if type(key) is BoolKey:
        return key.value
    return key


class Timestamp:
    """A CEL timestamp: nanoseconds since 1970-01-01T00:00:00Z, range years 1 to 9999."""

    __slots__ = ("ns",)

    def __init__(self, ns: int) -> None:
        if not MIN_TIMESTAMP_NS <= ns <= MAX_TIMESTAMP_NS:
            raise CelEvalError("timestamp out of range")
        self.ns = ns

    def __eq__(self, other: object) -> bool:
        return type(other) is Timestamp and other.ns == self.ns

    def __hash__(self) -> int:
        return hash(("ts", self.ns))

    def __repr__(self) -> str:
        from contract_executable_compiler._timefmt import format_timestamp

        return f"timestamp({format_timestamp(self.ns)!r})"


class Duration:
    """A CEL duration: signed nanoseconds that fit an int64 (about +-292 years)."""

    __slots__ = ("ns",)

    def __init__(self, ns: int) -> None:
        if not -MAX_DURATION_NS - 1 <= ns <= MAX_DURATION_NS:
            raise CelEvalError("duration out of range")
        self.ns = ns

    def __eq__(self, other: object) -> bool:
        return type(other) is Duration and other.ns == self.ns

    def __hash__(self) -> int:
        return hash(("dur", self.ns))

    def __repr__(self) -> str:
        from contract_executable_compiler._timefmt import format_duration

        return f"duration({format_duration(self.ns)!r})"


class CelType:
    """A CEL type value, as returned by ``type(x)``; compared by name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return type(other) is CelType and other.name == self.name

    def __hash__(self) -> int:
        return hash(("type", self.name))

    def __repr__(self) -> str:
        return self.name


_TYPE_NAMES: Final[dict[type, str]] = {
    bool: "bool",
    int: "int",
    UInt: "uint",
    float: "double",
    str: "string",
    bytes: "bytes",
    type(None): "null_type",
    list: "list",
    dict: "map",
    Timestamp: "google.protobuf.Timestamp",
    Duration: "google.protobuf.Duration",
    CelType: "type",
}


def register_type(cls: type, name: str) -> None:
    """Add a runtime value class (such as money) to the type tables."""
    _TYPE_NAMES[cls] = name
    TYPE_VALUES[name] = CelType(name)


TYPE_VALUES: Final[dict[str, CelType]] = {n: CelType(n) for n in _TYPE_NAMES.values()}


def type_name(value: Any) -> str:
    """The CEL type name of a runtime value (a message's is its full protobuf name)."""
    name = _TYPE_NAMES.get(type(value))
    if name is not None:
        return name
    desc = getattr(value, "DESCRIPTOR", None)
    if desc is not None:
        return str(desc.full_name)
    return type(value).__name__


def type_of(value: Any) -> CelType:
    """``type(value)`` in CEL."""
    name = _TYPE_NAMES.get(type(value))
    if name is None:
        return CelType(type_name(value))
    return TYPE_VALUES[name]


_NUMERIC: Final = (int, UInt, float)


def cel_eq(a: Any, b: Any) -> bool:
    """CEL ``==``: heterogeneous numeric equality, deep list/map equality, else same type and value."""
    ta = type(a)
    tb = type(b)
    if ta is tb:
        if ta is list:
            if len(a) != len(b):
                return False
            return all(cel_eq(x, y) for x, y in zip(a, b, strict=True))
        if ta is dict:
            if len(a) != len(b):
                return False
            for k, v in a.items():
                if k not in b:
                    return False
                if not cel_eq(v, b[k]):
                    return False
            return True
        if ta in _TYPE_NAMES or not hasattr(ta, "DESCRIPTOR"):
            return bool(a == b)
        from contract_executable_compiler._messages import message_eq

        return message_eq(a, b)
    if ta in _NUMERIC and tb in _NUMERIC:
        if ta is float or tb is float:
            return bool(float(a) == float(b))
        return bool(a == b)
    if hasattr(ta, "DESCRIPTOR") and hasattr(tb, "DESCRIPTOR"):
        # the same message type from two descriptor pools (generated code and a registry)
        from contract_executable_compiler._messages import message_eq

        return message_eq(a, b)
    return False


def cel_compare(a: Any, b: Any) -> int:
    """Three-way CEL ordering (-1, 0, 1); raises ``no such overload`` for unordered types.

    NaN compares as unordered: callers treat the special result 2 as "every
    relation is false".
    """
    ta = type(a)
    tb = type(b)
    if ta in _NUMERIC and tb in _NUMERIC and ta is not bool and tb is not bool:
        if a != a or b != b:
            return 2
        if (ta is float) != (tb is float):
            a, b = float(a), float(b)
        return -1 if a < b else (1 if a > b else 0)
    if ta is tb:
        if ta is str or ta is bytes or ta is bool:
            return -1 if a < b else (1 if a > b else 0)
        if ta is Timestamp or ta is Duration:
            return -1 if a.ns < b.ns else (1 if a.ns > b.ns else 0)
        if type_name(a) == "money":
            if a.currency != b.currency:
                raise CelEvalError(f"currency mismatch: {a.currency} and {b.currency}")
            return -1 if a.units < b.units else (1 if a.units > b.units else 0)
    raise CelEvalError("no such overload")
