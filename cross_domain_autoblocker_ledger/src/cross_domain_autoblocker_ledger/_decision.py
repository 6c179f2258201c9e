"""Decisions in CrowdSec's model, and the policy that turns alerts into them.

A :class:`Decision` is what a bouncer enforces: ``type`` (ban, captcha,
throttle) on ``scope``/``value`` (``Ip 192.0.2.1``, ``Range 2001:db8::/32``,
``Username root``, ``Country RU``, ``AS 64496``) until ``until``, issued by
``origin`` (``cdabl`` for our own detections, ``cscli`` for an operator,
``lists`` for imported lists) because of ``scenario``.  Values are
normalised on the way in (addresses to canonical text, ranges to their
network, countries upper-case), so equal decisions compare equal.

:class:`DecisionPolicy` makes decisions from alerts: the scenario's
remediation, with escalation for repeat offenders counted over the
decisions already recorded for the same value.
"""

from __future__ import annotations

import ipaddress
import math
import uuid as _uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from cross_domain_autoblocker_ledger._detect import Alert
from cross_domain_autoblocker_ledger._duration import format_duration
from cross_domain_autoblocker_ledger._scenario import DECISION_TYPES
from cross_domain_autoblocker_ledger.errors import LedgerInputError

__all__ = ["SCOPES", "Decision", "DecisionPolicy", "normalise_scope", "normalise_value"]

#: CrowdSec's scopes; others are accepted as given (CrowdSec allows custom scopes).
SCOPES = ("Ip", "Range", "Username", "Country", "AS")
_SCOPE_CASE = {s.lower(): s for s in SCOPES}


def normalise_scope(scope: str) -> str:
    """``ip`` → ``Ip``, ``range`` → ``Range``...; unknown scopes are kept as given."""
    text = scope.strip()
    if not text:
        raise LedgerInputError(
            "decision scope is empty", field="scope", hint=f"use one of {', '.join(SCOPES)}"
        )
    return _SCOPE_CASE.get(text.lower(), text)


def normalise_value(scope: str, value: str) -> str:
    """The canonical text of ``value`` in ``scope``.

    Raises:
        LedgerInputError: the value is not valid for its scope.
    """
    text = value.strip()
    if scope == "Ip":
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise LedgerInputError(
                f"{value!r} is not an IP address",
                field="value",
                hint="give an IPv4 or IPv6 address, or use scope Range for a CIDR",
            ) from None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(address)
    if scope == "Range":
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise LedgerInputError(
                f"{value!r} is not a CIDR range",
                field="value",
                hint="write e.g. 192.0.2.0/24 or 2001:db8::/32",
            ) from None
        return str(network)
    if scope == "Country":
        if len(text) != 2 or not text.isalpha():
            raise LedgerInputError(
                f"{value!r} is not an ISO 3166 country code",
                field="value",
                hint="write two letters, e.g. FR",
            )
        return text.upper()
    if scope == "AS":
        digits = text.upper().removeprefix("AS")
        if not digits.isdigit():
            raise LedgerInputError(
                f"{value!r} is not an AS number", field="value", hint="write e.g. 64496 or AS64496"
            )
        return str(int(digits))
    if not text:
        raise LedgerInputError(
            "decision value is empty", field="value", hint="give the value to block"
        )
    return text


@dataclass(frozen=True, slots=True)
class Decision:
    """One enforceable decision.  ``until`` is ``math.inf`` for a permanent one."""

    id: int
    uuid: str
    origin: str
    type: str
    scope: str
    value: str
    created: float
    until: float
    scenario: str
    reason: str = ""
    simulated: bool = False

    def active(self, now: float) -> bool:
        return self.until > now

    def to_dict(self) -> dict[str, Any]:
        """Our stored form (exact floats, ``until: null`` for permanent)."""
        return {
            "id": self.id,
            "uuid": self.uuid,
            "origin": self.origin,
            "type": self.type,
            "scope": self.scope,
            "value": self.value,
            "created": self.created,
            "until": None if math.isinf(self.until) else self.until,
            "scenario": self.scenario,
            "reason": self.reason,
            "simulated": self.simulated,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        until = data.get("until")
        return cls(
            id=int(data["id"]),
            uuid=str(data["uuid"]),
            origin=str(data["origin"]),
            type=str(data["type"]),
            scope=str(data["scope"]),
            value=str(data["value"]),
            created=float(data["created"]),
            until=math.inf if until is None else float(until),
            scenario=str(data["scenario"]),
            reason=str(data.get("reason", "")),
            simulated=bool(data.get("simulated", False)),
        )

    def to_crowdsec(self, now: float) -> dict[str, Any]:
        """The bouncer API's form (``models.Decision`` of CrowdSec's LAPI)."""
        return {
            "id": self.id,
            "uuid": self.uuid,
            "origin": self.origin,
            "type": self.type,
            "scope": self.scope,
            "value": self.value,
            "duration": format_duration(self.until - now),
            "scenario": self.scenario,
            "simulated": self.simulated,
        }

    @staticmethod
    def make(
        *,
        type: str,
        scope: str,
        value: str,
        duration: float,
        now: float,
        origin: str = "cscli",
        scenario: str = "manual",
        reason: str = "",
    ) -> Decision:
        """A validated, normalised decision with no id yet (``id=0``; the ledger assigns one)."""
        if type not in DECISION_TYPES:
            raise LedgerInputError(
                f"decision type {type!r} is not one of {', '.join(DECISION_TYPES)}",
                field="type",
                hint="use ban, captcha or throttle",
            )
        if not duration > 0:
            raise LedgerInputError(
                f"decision duration must be positive, got {duration}",
                field="duration",
                hint="write e.g. 4h",
            )
        canonical_scope = normalise_scope(scope)
        return Decision(
            id=0,
            uuid=str(_uuid.uuid4()),
            origin=origin,
            type=type,
            scope=canonical_scope,
            value=normalise_value(canonical_scope, value),
            created=now,
            until=now + duration,
            scenario=scenario,
            reason=reason,
        )

    def with_id(self, new_id: int) -> Decision:
        return replace(self, id=new_id)


@dataclass
class DecisionPolicy:
    """Turns alerts into decisions.

    Args:
        previous: how many decisions ``(scope, value)`` already had (the
            ledger's count, expired ones included), for escalation.
        origin: the origin written on automatic decisions.
    """

    previous: Callable[[str, str], int]
    origin: str = "cdabl"
    skipped: list[Alert] = field(default_factory=list)

    def decide(self, alert: Alert, now: float) -> Decision | None:
        """The decision an alert calls for, or ``None`` (remediation off, or an unusable value)."""
        remediation = alert.remediation
        if not remediation.enabled:
            return None
        scope = normalise_scope(alert.scope)
        try:
            value = normalise_value(scope, alert.value)
        except LedgerInputError:
            # e.g. sshd logged a host name: we do not resolve names (no network).
            self.skipped.append(alert)
            return None
        duration = remediation.duration
        if remediation.escalation is not None:
            duration = remediation.escalation.duration(duration, self.previous(scope, value))
        return Decision(
            id=0,
            uuid=str(_uuid.uuid4()),
            origin=self.origin,
            type=remediation.type,
            scope=scope,
            value=value,
            created=now,
            until=now + duration,
            scenario=alert.scenario,
            reason=alert.message,
        )
