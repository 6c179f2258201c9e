"""Durations as operators write them: ``90``, ``10s``, ``1m``, ``4h``, ``1h30m``, ``1w``, ``-1``.

CrowdSec uses Go's ``time.ParseDuration`` (``4h``, ``1h30m0s``) and fail2ban
its own suffixes (``10m``, ``1d``, ``1w``, plain seconds, ``-1`` for
forever).  :func:`parse_duration` reads both; :func:`format_duration` writes
Go's form, which is what CrowdSec bouncers expect in ``duration``.
"""

from __future__ import annotations

import math
import re

from cross_domain_autoblocker_ledger.errors import LedgerInputError

__all__ = ["FOREVER", "format_duration", "parse_duration"]

#: A permanent duration (fail2ban's ``bantime = -1``).
FOREVER = math.inf

_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "mo": 2592000.0,
    "y": 31536000.0,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|sec|min|mo|s|m|h|d|w|y)", re.IGNORECASE)
_WHOLE = re.compile(r"^(?:\s*\d+(?:\.\d+)?\s*(?:ms|sec|min|mo|s|m|h|d|w|y))+\s*$", re.IGNORECASE)


def parse_duration(value: object, *, field: str = "duration") -> float:
    """Seconds from a duration (number, Go/fail2ban text, or ``-1`` for forever).

    Raises:
        LedgerInputError: the value is not a duration, or is negative (other than -1).
    """
    if isinstance(value, bool):
        raise LedgerInputError(
            f"{field}: {value!r} is not a duration",
            field=field,
            hint="write e.g. 90, 10m, 4h or 1h30m",
        )
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            if not _WHOLE.match(text):
                raise LedgerInputError(
                    f"{field}: {value!r} is not a duration",
                    field=field,
                    hint="write e.g. 90, 10m, 4h or 1h30m",
                ) from None
            return sum(float(n) * _UNITS[u.lower()] for n, u in _PART.findall(text))
    else:
        raise LedgerInputError(
            f"{field}: {value!r} is not a duration",
            field=field,
            hint="write e.g. 90, 10m, 4h or 1h30m",
        )
    if number == -1:
        return FOREVER
    if number < 0 or math.isnan(number):
        raise LedgerInputError(
            f"{field}: {value!r} is negative",
            field=field,
            hint="durations are >= 0 (or -1 for forever)",
        )
    return number


def format_duration(seconds: float) -> str:
    """Go's ``time.Duration`` text (``3h59m58s``); ``-1`` never appears, forever is ``876000h``."""
    if math.isinf(seconds):
        return "876000h0m0s"
    negative = seconds < 0
    total = abs(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        text = f"{int(hours)}h{int(minutes)}m{_secs(secs)}s"
    elif minutes:
        text = f"{int(minutes)}m{_secs(secs)}s"
    else:
        text = f"{_secs(secs)}s"
    return "-" + text if negative else text


def _secs(secs: float) -> str:
    whole = int(secs)
    if secs - whole >= 0.0005:
        return f"{secs:.3f}".rstrip("0").rstrip(".")
    return str(whole)
