"""``money``: an exact decimal amount with an ISO 4217 currency.

Amounts are held as an integer count of 1/10,000 of the currency unit (four
decimal places cover every ISO 4217 minor unit), so arithmetic is exact and
identical on every platform.  Amounts of different currencies never mix:
adding or comparing them is an error, and they are never equal.  The amount
is bounded like a CEL int (int64 ten-thousandths); overflow is an error.
"""

from __future__ import annotations

import re
from typing import Any, Final

from contract_executable_compiler._values import INT64_MAX, INT64_MIN, CelEvalError, register_type

__all__ = ["SCALE", "Money", "money_from_text", "money_of"]

SCALE: Final = 10_000
_AMOUNT_RE: Final = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]{1,4}))?\Z")
_CURRENCY_RE: Final = re.compile(r"[A-Z]{3}\Z")


class Money:
    """An exact amount of one currency."""

    __slots__ = ("currency", "units")

    def __init__(self, currency: str, units: int) -> None:
        if not INT64_MIN <= units <= INT64_MAX:
            raise CelEvalError("money overflow")
        self.currency = currency
        self.units = units

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is Money and other.currency == self.currency and other.units == self.units
        )

    def __hash__(self) -> int:
        return hash(("money", self.currency, self.units))

    def amount_text(self) -> str:
        """The amount as a decimal string with at least two fractional digits."""
        sign = "-" if self.units < 0 else ""
        whole, frac = divmod(abs(self.units), SCALE)
        digits = f"{frac:04d}".rstrip("0").ljust(2, "0")
        return f"{sign}{whole}.{digits}"

    def __str__(self) -> str:
        return f"{self.amount_text()} {self.currency}"

    def __repr__(self) -> str:
        return f"money({str(self)!r})"


register_type(Money, "money")


def _currency(code: Any) -> str:
    if type(code) is not str or not _CURRENCY_RE.match(code):
        raise CelEvalError(f"invalid currency code {code!r}: use three capital letters (ISO 4217)")
    return code


def money_of(amount: Any, currency: Any) -> Money:
    """``money("12.34", "EUR")`` or ``money(1234, "EUR")`` (whole units from an int)."""
    code = _currency(currency)
    if type(amount) is int:
        return Money(code, amount * SCALE)
    if type(amount) is not str:
        raise CelEvalError("no such overload: money(amount, currency) takes a string or int amount")
    m = _AMOUNT_RE.match(amount)
    if m is None:
        raise CelEvalError(f"invalid money amount {amount!r}: at most four decimal places")
    units = int(m.group(2)) * SCALE + int((m.group(3) or "").ljust(4, "0") or "0")
    return Money(code, -units if m.group(1) == "-" else units)


def money_from_text(text: Any) -> Money:
    """``money("12.34 EUR")``."""
    if type(text) is not str or " " not in text:
        raise CelEvalError(f'invalid money {text!r}: write it as "12.34 EUR"')
    amount, _, code = text.rpartition(" ")
    return money_of(amount.strip(), code)


def same_currency(a: Money, b: Money) -> None:
    """Raise unless ``a`` and ``b`` share a currency."""
    if a.currency != b.currency:
        raise CelEvalError(f"currency mismatch: {a.currency} and {b.currency}")
