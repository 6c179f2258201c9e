"""CEL optional values: ``optional.of(x)``, ``optional.none()``, ``x.?f``, ``m[?k]``.

An :class:`Optional` holds a value or nothing.  Selecting or indexing into an
optional propagates it (``optional.of(m).f`` is ``optional.of(m.f)`` when the
key exists, ``optional.none()`` otherwise), which is how optional chains stay
safe without ``has()`` at every step.  ``optional<T>`` in contracts uses the
same values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from contract_executable_compiler._values import (
    CelEvalError,
    Duration,
    Timestamp,
    UInt,
    cel_eq,
    lookup_key,
    register_type,
)

__all__ = ["NONE", "Optional", "opt_index", "opt_select"]


class Optional:
    """A value that may be absent (CEL's ``optional_type``)."""

    __slots__ = ("present", "value")

    def __init__(self, value: Any = None, present: bool = True) -> None:
        self.value = value
        self.present = present

    def __eq__(self, other: object) -> bool:
        if type(other) is not Optional:
            return False
        if not self.present or not other.present:
            return self.present is other.present
        return cel_eq(self.value, other.value)

    def __hash__(self) -> int:
        return hash(("optional", self.present))

    def __repr__(self) -> str:
        return f"optional.of({self.value!r})" if self.present else "optional.none()"


NONE: Final = Optional(None, False)
register_type(Optional, "optional_type")


def of(value: Any) -> Optional:
    """``optional.of(x)``."""
    return Optional(value)


def none() -> Optional:
    """``optional.none()``."""
    return NONE


def _is_zero(v: Any) -> bool:
    t = type(v)
    if v is None or v is False:
        return True
    if t in (int, UInt, float, str, bytes, list, dict):
        return not v
    if t is Timestamp or t is Duration:
        return bool(v.ns == 0)
    if hasattr(v, "ListFields"):
        return not v.ListFields()  # a message with no field set is its type's zero value
    return False


def of_non_zero_value(value: Any) -> Optional:
    """``optional.ofNonZeroValue(x)``: none for null, 0, "", [], {} and friends."""
    return NONE if _is_zero(value) else Optional(value)


def _need(o: Any, name: str) -> Optional:
    if type(o) is not Optional:
        raise CelEvalError(f"no such overload: {name} needs an optional")
    return o


def has_value(o: Any) -> bool:
    """``o.hasValue()``."""
    return _need(o, "hasValue").present


def value(o: Any) -> Any:
    """``o.value()``; an error on ``optional.none()``."""
    if not _need(o, "value").present:
        raise CelEvalError("optional.none() dereference")
    return o.value


def or_value(o: Any, default: Any) -> Any:
    """``o.orValue(default)``."""
    opt = _need(o, "orValue")
    return opt.value if opt.present else default


def or_optional(o: Any, other: Any) -> Any:
    """``o.or(other)``."""
    opt = _need(o, "or")
    return opt if opt.present else _need(other, "or")


def opt_select(operand: Any, field: str) -> Optional:
    """``operand.?field`` (and ``operand.field`` when ``operand`` is an optional)."""
    if type(operand) is Optional:
        if not operand.present:
            return NONE
        operand = operand.value
    if type(operand) is dict:
        return Optional(operand[field]) if field in operand else NONE
    if hasattr(operand, "DESCRIPTOR"):
        from contract_executable_compiler._messages import message_has, message_select

        return Optional(message_select(operand, field)) if message_has(operand, field) else NONE
    raise CelEvalError(f"no such key: {field}")


def opt_index(container: Any, key: Any) -> Optional:
    """``container[?key]`` (and ``container[key]`` on an optional)."""
    if type(container) is Optional:
        if not container.present:
            return NONE
        container = container.value
    if type(container) is list:
        tk = type(key)
        if tk in (int, UInt) or (tk is float and key.is_integer()):
            i = int(key)
            return Optional(container[i]) if 0 <= i < len(container) else NONE
        raise CelEvalError("no such overload: list index must be an integer")
    if type(container) is dict:
        k = lookup_key(key)
        if k is not None and k in container:
            return Optional(container[k])
        return NONE
    raise CelEvalError("no such overload: _[?_] needs a list or map")


FUNCTIONS: Final[dict[str, Callable[..., Any]]] = {
    "optional.of": of,
    "optional.none": none,
    "optional.ofNonZeroValue": of_non_zero_value,
}
MEMBERS: Final[dict[str, Callable[..., Any]]] = {
    "hasValue": has_value,
    "value": value,
    "orValue": or_value,
    "or": or_optional,
}
