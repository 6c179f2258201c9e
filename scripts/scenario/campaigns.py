"""The embedded day: which hosts log what, and the attack campaigns mixed in.

Campaigns are written in *lines per source* rather than spe's ``share`` of all
lines, so an attacker behaves the same at every size: ``small`` only has fewer
benign lines around the same attacks.  Their rates are chosen to exercise every
signal: bursts the leaky buckets catch, low-and-slow attacks only the anomaly
scores catch, and one campaign whose sources share a /24 (the reputation rule's
case).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

__all__ = ["DAY", "SIZES", "Campaign", "HostLog", "Size", "hosts_for"]

Size = Literal["small", "day"]
SIZES: tuple[Size, ...] = ("small", "day")
DAY = date(2024, 3, 1)
"""The simulated day (UTC); fixed, so the same seed gives the same logs."""


@dataclass(frozen=True)
class Campaign:
    """One attack campaign on one host.

    Attributes:
        id: the campaign's name in the ground truth.
        attack: an spe attack kind (``brute_force``, ``sqli``, ...).
        start: ``HH:MM`` on :data:`DAY` (UTC).
        duration: spe duration text (``45m``, ``2h``).
        sources: how many attacking addresses.
        lines_per_source: lines each source writes over the campaign.
        subnet: when set, the sources are placed in this /24 from host
            ``subnet_offset`` on (spe draws addresses anywhere; see generate).
    """

    id: str
    attack: str
    start: str
    duration: str
    sources: int
    lines_per_source: int
    subnet: str | None = None
    subnet_offset: int = 10


@dataclass(frozen=True)
class HostLog:
    """One host's log for the day: its kind, benign volume and campaigns."""

    host: str
    kind: Literal["sshd", "web"]
    rows: int
    attack_rate: float
    campaigns: tuple[Campaign, ...]

    @property
    def attack_lines(self) -> int:
        return sum(c.sources * c.lines_per_source for c in self.campaigns)


_BOTNET = "203.0.113.0/24"  # TEST-NET-3: visibly synthetic


def _hosts(scale: int) -> tuple[HostLog, ...]:
    """The four hosts; ``scale`` multiplies benign volume only."""
    return (
        HostLog(
            "bastion-01",
            "sshd",
            4_000 * scale,
            0.002,
            (
                Campaign("brute-night", "brute_force", "02:00", "45m", 6, 250),
                Campaign("spray-noon", "password_spray", "12:30", "3h", 8, 40),
                Campaign("botnet-evening", "brute_force", "20:00", "1h", 4, 120, _BOTNET, 10),
            ),
        ),
        HostLog(
            "bastion-02",
            "sshd",
            4_000 * scale,
            0.002,
            (
                Campaign("brute-morning", "brute_force", "06:10", "30m", 4, 200),
                Campaign("botnet-late", "brute_force", "22:00", "1h", 3, 120, _BOTNET, 40),
            ),
        ),
        HostLog(
            "shop-web-01",
            "web",
            8_000 * scale,
            0.002,
            (
                Campaign("sqli-wave", "sqli", "09:00", "1h", 4, 200),
                Campaign("scan-evening", "scanner", "17:00", "30m", 3, 250),
                Campaign("stuffing", "credential_stuffing", "21:00", "40m", 25, 60),
            ),
        ),
        HostLog(
            "shop-web-02",
            "web",
            8_000 * scale,
            0.002,
            (
                Campaign("traversal", "path_traversal", "03:00", "1h", 3, 150),
                Campaign("scan-afternoon", "scanner", "14:00", "20m", 2, 200),
            ),
        ),
    )


def hosts_for(size: Size) -> tuple[HostLog, ...]:
    """The hosts of a run: ``small`` (~30k lines) or ``day`` (~250k lines)."""
    return _hosts(1 if size == "small" else 12)
