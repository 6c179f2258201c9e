"""Text forms of CEL timestamps and durations, and calendar fields in a time zone.

Timestamps are RFC 3339 (``2009-02-13T23:31:30.123456789Z``, any UTC offset on
input, ``Z`` with 0, 3, 6 or 9 fractional digits on output, as protobuf's JSON
mapping does).  Durations use Go's ``time.ParseDuration`` grammar on input
(``1h30m``, ``-1.5s``, ``300ms``, ``1us``, ``2ns``) and protobuf's ``"1.5s"`` on
output.  All arithmetic is on integers of nanoseconds, so results are exact and
identical on every platform.
"""

from __future__ import annotations

import datetime as _dt
import re
from functools import lru_cache
from typing import Final

from contract_executable_compiler._values import CelEvalError

__all__ = [
    "format_duration",
    "format_timestamp",
    "parse_duration",
    "parse_timestamp",
    "timestamp_fields",
]

_NS: Final = 10**9
_EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)

_TS_RE: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z"
)


def parse_timestamp(text: str) -> int:
    """Nanoseconds since the epoch for an RFC 3339 timestamp; raises CelEvalError otherwise."""
    m = _TS_RE.match(text)
    if m is None:
        raise CelEvalError(f"invalid timestamp {text!r}")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    try:
        moment = _dt.datetime(year, month, day, hour, minute, second, tzinfo=_dt.UTC)
    except ValueError as exc:
        raise CelEvalError(f"invalid timestamp {text!r}: {exc}") from None
    frac = m.group(7) or ""
    nanos = int(frac.ljust(9, "0")) if frac else 0
    offset = 0
    if m.group(9):
        sign = 1 if m.group(9) == "+" else -1
        offset = sign * (int(m.group(10)) * 3600 + int(m.group(11)) * 60)
    delta = moment - _EPOCH
    seconds = delta.days * 86400 + delta.seconds - offset
    return seconds * _NS + nanos


def format_timestamp(ns: int) -> str:
    """RFC 3339 text in UTC for ``ns`` nanoseconds since the epoch."""
    seconds, nanos = divmod(ns, _NS)
    moment = _EPOCH + _dt.timedelta(seconds=seconds)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    base = f"{moment.year:04d}" + base[base.index("-") :]
    return base + _fraction(nanos) + "Z"


def _fraction(nanos: int) -> str:
    if nanos == 0:
        return ""
    if nanos % 1_000_000 == 0:
        return f".{nanos // 1_000_000:03d}"
    if nanos % 1_000 == 0:
        return f".{nanos // 1_000:06d}"
    return f".{nanos:09d}"


_UNIT_NS: Final = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": _NS,
    "m": 60 * _NS,
    "h": 3600 * _NS,
}
_DUR_PART: Final = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> int:
    """Nanoseconds for a Go-style duration string; raises CelEvalError when malformed."""
    body = text
    sign = 1
    if body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0
    if not body:
        raise CelEvalError(f"invalid duration {text!r}")
    total = 0
    pos = 0
    while pos < len(body):
        m = _DUR_PART.match(body, pos)
        if m is None:
            raise CelEvalError(f"invalid duration {text!r}")
        number, unit = m.group(1), m.group(2)
        scale = _UNIT_NS[unit]
        if "." in number:
            whole, _, frac = number.partition(".")
            total += int(whole or "0") * scale
            if frac:
                total += int(frac) * scale // 10 ** len(frac)
        else:
            total += int(number) * scale
        pos = m.end()
    return sign * total


def format_duration(ns: int) -> str:
    """Protobuf JSON text of a duration: seconds with up to nine fractional digits and ``s``."""
    sign = "-" if ns < 0 else ""
    seconds, nanos = divmod(abs(ns), _NS)
    return f"{sign}{seconds}{_fraction(nanos)}s"


_OFFSET_RE: Final = re.compile(r"([+-]?)(\d{1,2}):(\d{2})\Z")


@lru_cache(maxsize=256)
def _zone(name: str) -> _dt.tzinfo:
    m = _OFFSET_RE.match(name)
    if m is not None:
        sign = -1 if m.group(1) == "-" else 1
        return _dt.timezone(sign * _dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
    if name.upper() == "UTC" or name == "Z":
        return _dt.UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CelEvalError(f"unknown time zone {name!r}") from None


def timestamp_fields(ns: int, zone: str | None) -> _dt.datetime:
    """The calendar date and time of ``ns`` in ``zone`` (UTC when None)."""
    seconds = ns // _NS
    moment = _EPOCH + _dt.timedelta(seconds=seconds)
    if zone is not None:
        moment = moment.astimezone(_zone(zone))
    return moment
