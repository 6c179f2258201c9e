"""``"...".format([args])``: the strings extension's printf-style formatting.

Clauses, as cel-go's ``ext.Strings`` defines them (and cel-spec's
``string_ext`` tests check):

=========  ==========================================================
``%s``     any value but a message: strings as is, bytes as UTF-8 text,
           ``null``, ``true``, numbers in CEL's text form, types by name,
           timestamps in RFC 3339, durations as ``"<seconds>s"``, lists
           ``[a, b]`` and maps ``{k: v}`` (keys sorted by their text)
``%d``     ``int`` or ``uint`` (NaN and infinities print as words)
``%f``     ``double``, ``int`` or ``uint``, fixed point; ``%.Nf`` sets the
           digits after the point (default 6), rounding half to even
``%e``     the same in scientific notation (``1.052033e+03``)
``%b``     ``int``, ``uint`` or ``bool`` in binary
``%o``     ``int`` or ``uint`` in octal
``%x``     ``int``/``uint`` in hex, or the bytes of a string or ``bytes``
           value as hex digits; ``%X`` upper case
``%%``     a literal ``%``
=========  ==========================================================

Any other clause, a missing argument or an argument of the wrong type is
an error value naming the problem, never a partly formatted string.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from contract_executable_compiler._values import (
    CelEvalError,
    CelType,
    Duration,
    Timestamp,
    UInt,
    type_name,
    unmap_key,
)

__all__ = ["format_string"]

_DEFAULT_PRECISION: Final = 6


def _fail(message: str) -> CelEvalError:
    return CelEvalError(f"error during formatting: {message}")


def _special_double(v: float) -> str | None:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return None


def _double_text(v: float) -> str:
    special = _special_double(v)
    if special is not None:
        return special
    text = repr(v)
    if "e" in text or "E" in text:
        mant, _, exp = text.partition("e")
        if mant.endswith(".0"):
            mant = mant[:-2]
        e = int(exp)
        return f"{mant}e{'+' if e >= 0 else '-'}{abs(e):02d}"
    return text[:-2] if text.endswith(".0") else text


def _is_int(v: Any) -> bool:
    t = type(v)
    return t is int or t is UInt


def _as_text(v: Any) -> str:
    """``%s`` of one value (recursively for lists and maps)."""
    from contract_executable_compiler._timefmt import format_duration, format_timestamp

    t = type(v)
    if t is str:
        return v  # type: ignore[no-any-return]
    if v is None:
        return "null"
    if t is bool:
        return "true" if v else "false"
    if t is int or t is UInt:
        return str(int(v))
    if t is float:
        return _double_text(v)
    if t is bytes:
        return v.decode("utf-8", errors="replace")  # type: ignore[no-any-return]
    if t is CelType:
        return str(v.name)
    if t is Timestamp:
        return format_timestamp(v.ns)
    if t is Duration:
        return format_duration(v.ns)
    if t is list:
        return "[" + ", ".join(_as_text(x) for x in v) + "]"
    if t is dict:
        entries = sorted((_as_text(unmap_key(k)), _as_text(x)) for k, x in v.items())
        return "{" + ", ".join(f"{k}: {x}" for k, x in entries) + "}"
    raise _fail(
        "string clause can only be used on strings, bools, bytes, ints, doubles, maps, lists, "
        f"types, durations, and timestamps, was given {type_name(v)}"
    )


def _decimal(v: Any, _: int | None) -> str:
    if _is_int(v):
        return str(int(v))
    if type(v) is float:
        special = _special_double(v)
        if special is not None:
            return special
    raise _fail(f"decimal clause can only be used on integers, was given {type_name(v)}")


def _float_arg(v: Any, clause: str) -> float | str:
    if type(v) is float:
        return _special_double(v) or v
    if _is_int(v):
        return float(v)
    raise _fail(f"{clause} clause can only be used on doubles, was given {type_name(v)}")


def _fixed(v: Any, precision: int | None) -> str:
    x = _float_arg(v, "fixed-point")
    if type(x) is str:
        return x
    return f"{x:.{_DEFAULT_PRECISION if precision is None else precision}f}"


def _scientific(v: Any, precision: int | None) -> str:
    x = _float_arg(v, "scientific")
    if type(x) is str:
        return x
    return f"{x:.{_DEFAULT_PRECISION if precision is None else precision}e}"


def _binary(v: Any, _: int | None) -> str:
    if type(v) is bool:
        return "1" if v else "0"
    if _is_int(v):
        return format(int(v), "b")
    raise _fail(f"only integers and bools can be formatted as binary, was given {type_name(v)}")


def _octal(v: Any, _: int | None) -> str:
    if _is_int(v):
        return format(int(v), "o")
    raise _fail(f"octal clause can only be used on integers, was given {type_name(v)}")


def _hex(v: Any, _: int | None) -> str:
    if _is_int(v):
        return format(int(v), "x")
    if type(v) is str:
        return v.encode("utf-8").hex()
    if type(v) is bytes:
        return v.hex()
    raise _fail(
        f"only integers, byte buffers, and strings can be formatted as hex, was given {type_name(v)}"
    )


def _upper_hex(v: Any, precision: int | None) -> str:
    return _hex(v, precision).upper()


_CLAUSES: Final[dict[str, Callable[[Any, int | None], str]]] = {
    "s": lambda v, _: _as_text(v),
    "d": _decimal,
    "f": _fixed,
    "e": _scientific,
    "b": _binary,
    "o": _octal,
    "x": _hex,
    "X": _upper_hex,
}


def format_string(template: Any, args: Any) -> str:
    """``template.format(args)``: every clause replaced by the next argument, formatted."""
    if type(template) is not str or type(args) is not list:
        raise CelEvalError("no such overload: format needs a string and a list")
    out: list[str] = []
    i = 0
    n = len(template)
    next_arg = 0
    while i < n:
        c = template[i]
        if c != "%":
            j = template.find("%", i)
            j = n if j < 0 else j
            out.append(template[i:j])
            i = j
            continue
        i += 1
        if i < n and template[i] == "%":
            out.append("%")
            i += 1
            continue
        precision: int | None = None
        if i < n and template[i] == ".":
            j = i + 1
            while j < n and template[j].isdigit():
                j += 1
            if j == i + 1:
                raise CelEvalError(
                    "could not parse formatting clause: a precision needs digits after '.'"
                )
            precision = int(template[i + 1 : j])
            i = j
        if i >= n:
            raise CelEvalError("could not parse formatting clause: the template ends after '%'")
        verb = template[i]
        clause = _CLAUSES.get(verb)
        if clause is None:
            raise CelEvalError(
                f'could not parse formatting clause: unrecognized formatting clause "{verb}"'
            )
        i += 1
        if next_arg >= len(args):
            raise CelEvalError(f"index {next_arg} out of range")
        out.append(clause(args[next_arg], precision))
        next_arg += 1
    return "".join(out)
