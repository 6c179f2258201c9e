"""CEL's standard functions and operators on runtime values, with CEL's error semantics.

Every function takes already-evaluated arguments and either returns a value
or raises :class:`CelEvalError`.  Integer arithmetic is checked (int64 and
uint64 overflow is an error, as CEL requires), and there is no implicit
numeric conversion: ``1 + 1u`` has no overload.  Functions are looked up by
name in :data:`GLOBAL_FUNCTIONS` (``f(x)``) and :data:`MEMBER_FUNCTIONS`
(``x.f()``, the receiver passed first).
"""

# ruff: noqa: PLR1714, PLR0124  - hot paths: identity checks and NaN tests are deliberate

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

from contract_executable_compiler import _optional, _strings_ext
from contract_executable_compiler._money import Money, money_from_text, money_of, same_currency
from contract_executable_compiler._optional import Optional, opt_index, opt_select
from contract_executable_compiler._timefmt import (
    format_duration,
    format_timestamp,
    parse_duration,
    parse_timestamp,
    timestamp_fields,
)
from contract_executable_compiler._values import (
    INT64_MAX,
    INT64_MIN,
    TYPE_VALUES,
    UINT64_MAX,
    CelEvalError,
    Duration,
    Timestamp,
    UInt,
    cel_compare,
    cel_eq,
    lookup_key,
    map_key,
    type_of,
)

__all__ = [
    "BINARY_OPERATORS",
    "GLOBAL_FUNCTIONS",
    "MEMBER_FUNCTIONS",
    "UNARY_OPERATORS",
    "has_field",
    "index",
    "select_field",
]

_NS: Final = 10**9
_ABSENT: Final[Any] = object()
Fn = Callable[..., Any]


def _overload(op: str, *args: Any) -> CelEvalError:
    from contract_executable_compiler._values import type_name

    return CelEvalError(f"no such overload: {op}({', '.join(type_name(a) for a in args)})")


def _int(r: int) -> int:
    if r < INT64_MIN or r > INT64_MAX:
        raise CelEvalError("integer overflow")
    return r


def _uint(r: int) -> UInt:
    if r < 0 or r > UINT64_MAX:
        raise CelEvalError("unsigned integer overflow")
    return UInt(r)


def add(a: Any, b: Any) -> Any:
    """``a + b``."""
    ta = type(a)
    if ta is not type(b):
        if ta is Timestamp and type(b) is Duration:
            return Timestamp(a.ns + b.ns)
        if ta is Duration and type(b) is Timestamp:
            return Timestamp(a.ns + b.ns)
        raise _overload("_+_", a, b)
    if ta is int:
        r = a + b
        if r < INT64_MIN or r > INT64_MAX:
            raise CelEvalError("integer overflow")
        return r
    if ta is float or ta is str or ta is bytes:
        return a + b
    if ta is UInt:
        return _uint(a + b)
    if ta is list:
        return a + b
    if ta is Duration:
        return Duration(a.ns + b.ns)
    if ta is Money:
        same_currency(a, b)
        return Money(a.currency, a.units + b.units)
    raise _overload("_+_", a, b)


def sub(a: Any, b: Any) -> Any:
    """``a - b``."""
    ta = type(a)
    if ta is not type(b):
        if ta is Timestamp and type(b) is Duration:
            return Timestamp(a.ns - b.ns)
        raise _overload("_-_", a, b)
    if ta is int:
        return _int(a - b)
    if ta is float:
        return a - b
    if ta is UInt:
        return _uint(a - b)
    if ta is Duration:
        return Duration(a.ns - b.ns)
    if ta is Timestamp:
        return Duration(a.ns - b.ns)
    if ta is Money:
        same_currency(a, b)
        return Money(a.currency, a.units - b.units)
    raise _overload("_-_", a, b)


def mul(a: Any, b: Any) -> Any:
    """``a * b``."""
    ta = type(a)
    if ta is not type(b):
        if ta is Money and type(b) is int:
            return Money(a.currency, a.units * b)
        if ta is int and type(b) is Money:
            return Money(b.currency, a * b.units)
        raise _overload("_*_", a, b)
    if ta is int:
        return _int(a * b)
    if ta is float:
        return a * b
    if ta is UInt:
        return _uint(a * b)
    raise _overload("_*_", a, b)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def div(a: Any, b: Any) -> Any:
    """``a / b``: integer division truncates toward zero; by zero is an error."""
    ta = type(a)
    if ta is not type(b):
        raise _overload("_/_", a, b)
    if ta is int:
        if b == 0:
            raise CelEvalError("division by zero")
        return _int(_trunc_div(a, b))
    if ta is float:
        if b == 0.0:
            if a != a or a == 0.0:
                return math.nan
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
        return a / b
    if ta is UInt:
        if b == 0:
            raise CelEvalError("division by zero")
        return UInt(a // b)
    raise _overload("_/_", a, b)


def mod(a: Any, b: Any) -> Any:
    """``a % b``: the sign follows the dividend, as in C and Go; by zero is an error."""
    ta = type(a)
    if ta is not type(b) or ta not in (int, UInt):
        raise _overload("_%_", a, b)
    if b == 0:
        raise CelEvalError("modulus by zero")
    if ta is UInt:
        return UInt(a % b)
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def neg(a: Any) -> Any:
    """``-a``."""
    ta = type(a)
    if ta is int:
        return _int(-a)
    if ta is float:
        return -a
    if ta is Duration:
        return Duration(-a.ns)
    if ta is Money:
        return Money(a.currency, -a.units)
    raise _overload("-_", a)


def logical_not(a: Any) -> Any:
    """``!a``."""
    if type(a) is bool:
        return not a
    raise _overload("!_", a)


def eq(a: Any, b: Any) -> bool:
    """``a == b``."""
    ta = type(a)
    if ta is type(b) and ta in _FAST_ORDER:
        return a == b  # type: ignore[no-any-return]  # bool for these types
    return cel_eq(a, b)


def ne(a: Any, b: Any) -> bool:
    """``a != b``."""
    ta = type(a)
    if ta is type(b) and ta in _FAST_ORDER:
        return a != b  # type: ignore[no-any-return]  # bool for these types
    return not cel_eq(a, b)


_FAST_ORDER: Final = frozenset({int, float, str, UInt, bytes})


def lt(a: Any, b: Any) -> bool:
    """``a < b``."""
    ta = type(a)
    if ta is type(b) and ta in _FAST_ORDER:
        return a < b  # type: ignore[no-any-return]  # bool for these types
    return cel_compare(a, b) == -1


def le(a: Any, b: Any) -> bool:
    """``a <= b``."""
    ta = type(a)
    if ta is type(b) and ta in _FAST_ORDER:
        return a <= b  # type: ignore[no-any-return]  # bool for these types
    c = cel_compare(a, b)
    return c == -1 or c == 0


def gt(a: Any, b: Any) -> bool:
    """``a > b``."""
    ta = type(a)
    if ta is type(b) and ta in _FAST_ORDER:
        return a > b  # type: ignore[no-any-return]  # bool for these types
    return cel_compare(a, b) == 1


def ge(a: Any, b: Any) -> bool:
    """``a >= b``."""
    ta = type(a)
    if ta is type(b) and ta in _FAST_ORDER:
        return a >= b  # type: ignore[no-any-return]  # bool for these types
    c = cel_compare(a, b)
    return c == 1 or c == 0


def contains_in(a: Any, b: Any) -> bool:
    """``a in b``: list membership by CEL equality, map membership by key."""
    tb = type(b)
    if tb is list:
        return any(cel_eq(a, x) for x in b)
    if tb is dict:
        k = lookup_key(a)
        if k is None:
            return False
        if k in b:
            return True
        return _numeric_key(b, a) is not None
    raise _overload("@in", a, b)


def _numeric_key(m: dict[Any, Any], key: Any) -> Any:
    """The stored key equal to numeric ``key`` across int/uint (``{1u: x}[1]``)."""
    tk = type(key)
    if tk is int and key >= 0:
        probe: Any = UInt(key)
    elif tk is UInt and key <= INT64_MAX:
        probe = int(key)
    elif tk is float and key.is_integer():
        probe = UInt(int(key)) if key >= 0 else None
    else:
        return None
    if probe is None:
        return None
    for k in m:
        if type(k) is type(probe) and k == probe:
            return k
    return None


def index(container: Any, key: Any) -> Any:
    """``container[key]`` for lists (int, uint or integral double index) and maps."""
    tc = type(container)
    if tc is Optional:
        return opt_index(container, key)
    if tc is list:
        tk = type(key)
        if tk is int or tk is UInt:
            i = int(key)
        elif tk is float:
            if not key.is_integer():
                raise CelEvalError("invalid_argument: index is not an integer")
            i = int(key)
        else:
            raise _overload("_[_]", container, key)
        if i < 0 or i >= len(container):
            raise CelEvalError(f"index out of bounds: {i}")
        return container[i]
    if tc is dict:
        tk = type(key)
        if tk is str or tk is int:
            try:
                return container[key]
            except KeyError:
                pass
        elif tk not in (bool, UInt, float):
            raise _overload("_[_]", container, key)
        k = lookup_key(key)
        if k is not None and k in container:
            return container[k]
        found = _numeric_key(container, key)
        if found is not None:
            return container[found]
        raise CelEvalError(f"no such key: {key!r}")
    raise _overload("_[_]", container, key)


def select_field(operand: Any, field: str) -> Any:
    """``operand.field`` on a map (a message field in CEL proper)."""
    if type(operand) is dict:
        v = operand.get(field, _ABSENT)
        if v is _ABSENT:
            raise CelEvalError(f"no such key: {field}")
        return v
    if type(operand) is Optional:
        return opt_select(operand, field)
    if hasattr(operand, "DESCRIPTOR"):
        from contract_executable_compiler._messages import message_select

        return message_select(operand, field)
    raise CelEvalError(f"no such field {field!r} on {type_of_name(operand)}")


def has_field(operand: Any, field: str) -> bool:
    """``has(operand.field)``."""
    if type(operand) is dict:
        return field in operand
    if type(operand) is Optional:
        return operand.present and has_field(operand.value, field)
    if hasattr(operand, "DESCRIPTOR"):
        from contract_executable_compiler._messages import message_has

        return message_has(operand, field)
    raise CelEvalError(f"no such field {field!r} on {type_of_name(operand)}")


def type_of_name(value: Any) -> str:
    """Type name for messages."""
    from contract_executable_compiler._values import type_name

    return type_name(value)


# ---------------------------------------------------------------- size and strings
def size(a: Any) -> int:
    """``size(x)``: code points of a string, bytes, list or map entries."""
    ta = type(a)
    if ta is str or ta is bytes or ta is list or ta is dict:
        return len(a)
    raise _overload("size", a)


def _str2(name: str, a: Any, b: Any) -> None:
    if type(a) is not str or type(b) is not str:
        raise _overload(name, a, b)


def contains(a: Any, b: Any) -> bool:
    """``s.contains(t)``."""
    _str2("contains", a, b)
    return b in a


def starts_with(a: Any, b: Any) -> bool:
    """``s.startsWith(t)``."""
    if type(a) is str and type(b) is str:
        return a.startswith(b)
    raise _overload("startsWith", a, b)


def ends_with(a: Any, b: Any) -> bool:
    """``s.endsWith(t)``."""
    if type(a) is str and type(b) is str:
        return a.endswith(b)
    raise _overload("endsWith", a, b)


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise CelEvalError(f"invalid regular expression {pattern!r}: {exc}") from None


def matches(a: Any, b: Any) -> bool:
    """``s.matches(re)``: an unanchored RE2-style search."""
    _str2("matches", a, b)
    return _regex(b).search(a) is not None


# ---------------------------------------------------------------- conversions
_INT_STR: Final = re.compile(r"[+-]?[0-9]+\Z")


def to_int(a: Any) -> int:
    """``int(x)``."""
    ta = type(a)
    if ta is int:
        return int(a)
    if ta is UInt:
        if a > INT64_MAX:
            raise CelEvalError("range error: uint out of int range")
        return int(a)
    if ta is float:
        if a != a or not (-9.223372036854775808e18 < a < 9.223372036854775807e18):
            raise CelEvalError("range error: double out of int range")
        return int(a)
    if ta is str:
        if not _INT_STR.match(a):
            raise CelEvalError(f"cannot convert {a!r} to int")
        return _int(int(a))
    if ta is Timestamp:
        return int(a.ns // _NS)
    raise _overload("int", a)


def to_uint(a: Any) -> UInt:
    """``uint(x)``."""
    ta = type(a)
    if ta is UInt:
        return UInt(a)
    if ta is int:
        if a < 0:
            raise CelEvalError("range error: negative int to uint")
        return UInt(a)
    if ta is float:
        if a != a or not (-1.0 < a < 1.8446744073709552e19):
            raise CelEvalError("range error: double out of uint range")
        return UInt(int(a))
    if ta is str:
        if not _INT_STR.match(a) or a.startswith("-"):
            raise CelEvalError(f"cannot convert {a!r} to uint")
        return _uint(int(a))
    raise _overload("uint", a)


_FLOAT_STR: Final = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)\Z",
    re.IGNORECASE,
)


def to_double(a: Any) -> float:
    """``double(x)``."""
    ta = type(a)
    if ta is float:
        return float(a)
    if ta is int or ta is UInt:
        return float(a)
    if ta is str:
        if not _FLOAT_STR.match(a):
            raise CelEvalError(f"cannot convert {a!r} to double")
        return float(a)
    raise _overload("double", a)


def _format_double(a: float) -> str:
    if a != a:
        return "NaN"
    if math.isinf(a):
        return "+Inf" if a > 0 else "-Inf"
    r = repr(a)
    if "e" in r:
        mant, _, exp = r.partition("e")
        if mant.endswith(".0"):
            mant = mant[:-2]
        e = int(exp)
        return f"{mant}e{'+' if e >= 0 else '-'}{abs(e):02d}"
    if r.endswith(".0"):
        return r[:-2]
    return r


def to_string(a: Any) -> str:
    """``string(x)``."""
    ta = type(a)
    if ta is str:
        return str(a)
    if ta is bool:
        return "true" if a else "false"
    if ta is int or ta is UInt:
        return str(int(a))
    if ta is float:
        return _format_double(a)
    if ta is bytes:
        try:
            return str(a.decode("utf-8"))
        except UnicodeDecodeError:
            raise CelEvalError("invalid UTF-8 in bytes") from None
    if ta is Timestamp:
        return format_timestamp(a.ns)
    if ta is Duration:
        return format_duration(a.ns)
    if ta is Money:
        return str(a)
    raise _overload("string", a)


def to_bytes(a: Any) -> bytes:
    """``bytes(x)``."""
    if type(a) is bytes:
        return a
    if type(a) is str:
        return a.encode("utf-8")
    raise _overload("bytes", a)


_BOOL_STR: Final = {
    "1": True, "t": True, "true": True, "TRUE": True, "True": True,
    "0": False, "f": False, "false": False, "FALSE": False, "False": False,
}  # fmt: skip


def to_bool(a: Any) -> bool:
    """``bool(x)``."""
    if type(a) is bool:
        return a
    if type(a) is str:
        try:
            return _BOOL_STR[a]
        except KeyError:
            raise CelEvalError(f"Type conversion error: cannot convert {a!r} to bool") from None
    raise _overload("bool", a)


def to_timestamp(a: Any) -> Timestamp:
    """``timestamp(x)`` from RFC 3339 text or integer seconds."""
    if type(a) is Timestamp:
        return a
    if type(a) is str:
        return Timestamp(parse_timestamp(a))
    if type(a) is int:
        return Timestamp(a * _NS)
    raise _overload("timestamp", a)


def to_duration(a: Any) -> Duration:
    """``duration(x)`` from Go-style text (``"1h30m"``) or integer seconds."""
    if type(a) is Duration:
        return a
    if type(a) is str:
        return Duration(parse_duration(a))
    if type(a) is int:
        return Duration(a * _NS)
    raise _overload("duration", a)


def to_money(a: Any, currency: Any = None) -> Money:
    """``money("12.34 EUR")``, ``money("12.34", "EUR")`` or ``money(12, "EUR")``."""
    if currency is None:
        if type(a) is Money:
            return a
        return money_from_text(a)
    return money_of(a, currency)


def money_currency(a: Any) -> str:
    """``m.currency()``."""
    if type(a) is not Money:
        raise _overload("currency", a)
    return a.currency


def money_amount(a: Any) -> str:
    """``m.amount()``: the exact amount as decimal text."""
    if type(a) is not Money:
        raise _overload("amount", a)
    return a.amount_text()


def dyn(a: Any) -> Any:
    """``dyn(x)``: the identity at run time; it only widens the static type."""
    return a


# ---------------------------------------------------------------- time accessors
def _time_getter(name: str, field: Callable[[Any], int], dur: Callable[[int], int] | None) -> Fn:
    def getter(a: Any, zone: Any = None) -> int:
        if type(a) is Timestamp:
            if zone is not None and type(zone) is not str:
                raise _overload(name, a, zone)
            return (
                field(timestamp_fields(a.ns, zone))
                if name != "getMilliseconds"
                else ((a.ns % _NS) // 1_000_000)
            )
        if type(a) is Duration and dur is not None and zone is None:
            return dur(a.ns)
        raise _overload(name, a)

    getter.__name__ = name
    return getter


def _trunc(ns: int, unit: int) -> int:
    return _trunc_div(ns, unit)


_TIME_GETTERS: Final[dict[str, Fn]] = {
    "getFullYear": _time_getter("getFullYear", lambda d: d.year, None),
    "getMonth": _time_getter("getMonth", lambda d: d.month - 1, None),
    "getDate": _time_getter("getDate", lambda d: d.day, None),
    "getDayOfMonth": _time_getter("getDayOfMonth", lambda d: d.day - 1, None),
    "getDayOfWeek": _time_getter("getDayOfWeek", lambda d: (d.weekday() + 1) % 7, None),
    "getDayOfYear": _time_getter("getDayOfYear", lambda d: d.timetuple().tm_yday - 1, None),
    "getHours": _time_getter("getHours", lambda d: d.hour, lambda ns: _trunc(ns, 3600 * _NS)),
    "getMinutes": _time_getter("getMinutes", lambda d: d.minute, lambda ns: _trunc(ns, 60 * _NS)),
    "getSeconds": _time_getter("getSeconds", lambda d: d.second, lambda ns: _trunc(ns, _NS)),
    "getMilliseconds": _time_getter(
        "getMilliseconds",
        lambda d: 0,
        lambda ns: _trunc(ns % (_NS if ns >= 0 else -_NS), 1_000_000),
    ),
}


def _type_fn(a: Any) -> Any:
    return type_of(a)


def _matches_global(a: Any, b: Any) -> bool:
    return matches(a, b)


GLOBAL_FUNCTIONS: Final[dict[str, Fn]] = {
    "size": size,
    "int": to_int,
    "uint": to_uint,
    "double": to_double,
    "string": to_string,
    "bytes": to_bytes,
    "bool": to_bool,
    "timestamp": to_timestamp,
    "duration": to_duration,
    "dyn": dyn,
    "money": to_money,
    "type": _type_fn,
    "@list_opt": lambda *a: _list_opt(a),
    "@map_opt": lambda *a: _map_opt(a),
    **_optional.FUNCTIONS,
    **_strings_ext.GLOBALS,
    "matches": _matches_global,
    "contains": contains,
    "startsWith": starts_with,
    "endsWith": ends_with,
}

MEMBER_FUNCTIONS: Final[dict[str, Fn]] = {
    "size": size,
    "contains": contains,
    "startsWith": starts_with,
    "endsWith": ends_with,
    "matches": matches,
    **_optional.MEMBERS,
    **_strings_ext.MEMBERS,
    "currency": money_currency,
    "amount": money_amount,
    **_TIME_GETTERS,
}

BINARY_OPERATORS: Final[dict[str, Fn]] = {
    "_+_": add,
    "_-_": sub,
    "_*_": mul,
    "_/_": div,
    "_%_": mod,
    "_==_": eq,
    "_!=_": ne,
    "_<_": lt,
    "_<=_": le,
    "_>_": gt,
    "_>=_": ge,
    "@in": contains_in,
    "_[_]": index,
    "_[?_]": opt_index,
    "@opt_select": opt_select,
}


def _list_opt(args: tuple[Any, ...]) -> list[Any]:
    """A list literal with ``?e`` elements: the last argument is the mask of optional positions."""
    *items, mask = args
    out: list[Any] = []
    for i, v in enumerate(items):
        if i in mask:
            if type(v) is not Optional:
                raise CelEvalError("no such overload: a ?element needs an optional value")
            if v.present:
                out.append(v.value)
        else:
            out.append(v)
    return out


def _map_opt(args: tuple[Any, ...]) -> dict[Any, Any]:
    """A map literal with ``?k: v`` entries (keys and values alternate; mask last)."""
    *items, mask = args
    flat: list[Any] = []
    for i in range(0, len(items), 2):
        k, v = items[i], items[i + 1]
        if i // 2 in mask:
            if type(v) is not Optional:
                raise CelEvalError("no such overload: a ?key entry needs an optional value")
            if not v.present:
                continue
            v = v.value
        flat.extend((k, v))
    return build_map(flat)


UNARY_OPERATORS: Final[dict[str, Fn]] = {"-_": neg, "!_": logical_not}

TYPE_IDENTS: Final = {
    **TYPE_VALUES,
}


def build_map(items: list[Any]) -> dict[Any, Any]:
    """A map from alternating keys and values; duplicate keys are an error."""
    out: dict[Any, Any] = {}
    for i in range(0, len(items), 2):
        k = map_key(items[i])
        if k in out or _numeric_key(out, items[i]) is not None:
            raise CelEvalError(f"Failed with repeated key: {items[i]!r}")
        out[k] = items[i + 1]
    return out
