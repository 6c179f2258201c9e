"""CEL's string extension library (cel-go ``ext.Strings``).

Member functions on strings: ``charAt``, ``indexOf``, ``lastIndexOf``,
``lowerAscii``, ``upperAscii``, ``replace``, ``split``, ``substring``,
``trim``, ``reverse``, ``format`` (see :mod:`._string_format`); ``join`` on
lists of strings; and ``strings.quote``.
Indices count code points, as everywhere in CEL; an index outside the
string is an error, never a silent clamp.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from contract_executable_compiler._string_format import format_string
from contract_executable_compiler._values import CelEvalError

__all__ = ["GLOBALS", "MEMBERS"]


def _overload(name: str) -> CelEvalError:
    return CelEvalError(f"no such overload: {name}")


def _s(v: Any, name: str) -> str:
    if type(v) is not str:
        raise _overload(name)
    return v


def _i(v: Any, name: str) -> int:
    if type(v) is not int:
        raise _overload(name)
    return v


def char_at(s: Any, i: Any) -> str:
    """``s.charAt(i)``: the code point at ``i``; ``""`` at the end."""
    text, idx = _s(s, "charAt"), _i(i, "charAt")
    if idx < 0 or idx > len(text):
        raise CelEvalError(f"index out of range: {idx}")
    return text[idx : idx + 1]


def index_of(s: Any, sub: Any, start: Any = 0) -> int:
    """``s.indexOf(sub[, start])``: first code-point index, or -1."""
    text, needle, first = _s(s, "indexOf"), _s(sub, "indexOf"), _i(start, "indexOf")
    if first < 0 or first > len(text):
        raise CelEvalError(f"index out of range: {first}")
    return text.find(needle, first)


def last_index_of(s: Any, sub: Any, last: Any = None) -> int:
    """``s.lastIndexOf(sub[, last])``: last index at or before ``last``, or -1."""
    text, needle = _s(s, "lastIndexOf"), _s(sub, "lastIndexOf")
    end = len(text) if last is None else _i(last, "lastIndexOf")
    if end < 0 or end > len(text):
        raise CelEvalError(f"index out of range: {end}")
    return text.rfind(needle, 0, end + len(needle))


def lower_ascii(s: Any) -> str:
    """``s.lowerAscii()``: only A-Z change."""
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in _s(s, "lowerAscii"))


def upper_ascii(s: Any) -> str:
    """``s.upperAscii()``: only a-z change."""
    return "".join(c.upper() if "a" <= c <= "z" else c for c in _s(s, "upperAscii"))


def replace(s: Any, old: Any, new: Any, n: Any = -1) -> str:
    """``s.replace(old, new[, n])``: at most ``n`` replacements (all when negative)."""
    text, a, b, count = _s(s, "replace"), _s(old, "replace"), _s(new, "replace"), _i(n, "replace")
    return text.replace(a, b, count if count >= 0 else -1)


def split(s: Any, sep: Any, n: Any = -1) -> list[Any]:
    """``s.split(sep[, n])`` with Go's SplitN semantics."""
    text, separator, count = _s(s, "split"), _s(sep, "split"), _i(n, "split")
    if count == 0:
        return []
    if separator == "":
        chars = list(text)
        if 0 < count < len(chars):
            return [*chars[: count - 1], "".join(chars[count - 1 :])]
        return chars
    return text.split(separator, count - 1) if count > 0 else text.split(separator)


def substring(s: Any, start: Any, end: Any = None) -> str:
    """``s.substring(start[, end])`` in code points."""
    text = _s(s, "substring")
    first = _i(start, "substring")
    last = len(text) if end is None else _i(end, "substring")
    if first < 0 or first > len(text):
        raise CelEvalError(f"index out of range: {first}")
    if last < 0 or last > len(text):
        raise CelEvalError(f"index out of range: {last}")
    if first > last:
        raise CelEvalError(f"invalid substring range. start: {first}, end: {last}")
    return text[first:last]


_SPACE: Final = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def trim(s: Any) -> str:
    """``s.trim()``: strip Unicode white space (Go's ``unicode.IsSpace``)."""
    return _s(s, "trim").strip(_SPACE)


def reverse(s: Any) -> str:
    """``s.reverse()``: code points in reverse order."""
    return _s(s, "reverse")[::-1]


def join(items: Any, sep: Any = "") -> str:
    """``list.join([sep])`` for a list of strings."""
    if type(items) is not list or not all(type(x) is str for x in items):
        raise _overload("join")
    return _s(sep, "join").join(items)


_QUOTE: Final = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
    "\v": "\\v", "\\": "\\\\", '"': '\\"',
}  # fmt: skip


def quote(s: Any) -> str:
    """``strings.quote(s)``: a double-quoted CEL string literal of ``s``."""
    text = _s(s, "strings.quote")
    out = ['"']
    for c in text:
        if c in _QUOTE:
            out.append(_QUOTE[c])
        elif c.isprintable() or c == " ":
            out.append(c)
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    out.append('"')
    return "".join(out)


MEMBERS: Final[dict[str, Callable[..., Any]]] = {
    "format": format_string,
    "charAt": char_at,
    "indexOf": index_of,
    "lastIndexOf": last_index_of,
    "lowerAscii": lower_ascii,
    "upperAscii": upper_ascii,
    "replace": replace,
    "split": split,
    "substring": substring,
    "trim": trim,
    "reverse": reverse,
    "join": join,
}
GLOBALS: Final[dict[str, Callable[..., Any]]] = {"strings.quote": quote}
