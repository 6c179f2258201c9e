"""Per-source profiles: what each address did over the day, across hosts and domains.

Built while the events stream through detection, they are the features the
anomaly scores are computed on and the evidence a decision's reason quotes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cross_domain_autoblocker_ledger import Event

__all__ = ["FEATURES", "SourceProfile"]

FEATURES = ("failure_ratio", "log_failures")
"""The anomaly model's feature names, in vector order."""


@dataclass
class SourceProfile:
    """Counts for one source address."""

    source: str
    first: float
    last: float
    events: int = 0
    failures: int = 0
    targets: set[str] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)
    scenarios: set[str] = field(default_factory=set)
    alerts: int = 0

    def add(self, event: Event, host: str) -> None:
        self.events += 1
        self.last = max(self.last, event.time)
        if event.failure:
            self.failures += 1
        target = event.target if event.target is not None else event.user
        if target is not None and len(self.targets) < 1000:
            self.targets.add(target)
        self.hosts.add(host)
        self.domains.add(event.domain)

    def features(self) -> list[float]:
        """The vector scored by the anomaly model (see :data:`FEATURES`).

        Two features on purpose: with the event count or the distinct targets
        added, ordinary busy clients spread the benign mass and the scores of
        benign and hostile sources overlap (measured on seeds 1, 2, 7 at both
        sizes; see scripts/scenario/README.md).
        """
        return [
            self.failures / self.events if self.events else 0.0,
            math.log1p(self.failures),
        ]
