"""From log lines to recorded decisions: parse → detect → decide → ledger.

:class:`Autoblocker` wires the pieces for one node: events go through the
:class:`DetectionEngine`; each alert becomes a decision through the
:class:`DecisionPolicy` (escalating for repeat offenders); decisions are
appended to the :class:`Ledger` in batches, one signed checkpoint per batch.
An alert whose value already has a decision of the same type in force adds
nothing: the offender is already blocked (a replayed log does not stack
bans, and escalation counts offences that happened *after* a block ended).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cross_domain_autoblocker_ledger._decision import Decision, DecisionPolicy
from cross_domain_autoblocker_ledger._detect import Alert, DetectionEngine
from cross_domain_autoblocker_ledger._event import Event
from cross_domain_autoblocker_ledger._ledger import Ledger
from cross_domain_autoblocker_ledger._scenario import Scenario
from cross_domain_autoblocker_ledger._writer import LedgerWriter, LocalWriter

__all__ = ["Autoblocker", "IngestReport"]


@dataclass
class IngestReport:
    """What one ingestion did."""

    events: int = 0
    alerts: list[Alert] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    suppressed: int = 0
    unresolvable: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "alerts": len(self.alerts),
            "decisions": [d.to_dict() for d in self.decisions],
            "suppressed": self.suppressed,
            "unresolvable": self.unresolvable,
        }


class Autoblocker:
    """Detection and decisions on top of one ledger.

    Args:
        ledger: where decisions are recorded; ``None`` for a dry run (alerts only).
        scenarios: what to detect.
        batch: decisions per ledger append (one signed checkpoint each).
        writer: where decisions go (default: straight into ``ledger``; a
            :class:`ReplicatedWriter` sends them through JetStream).
    """

    def __init__(
        self,
        ledger: Ledger | None,
        scenarios: Iterable[Scenario],
        batch: int = 1000,
        writer: LedgerWriter | None = None,
    ) -> None:
        self.ledger = ledger
        self.writer: LedgerWriter | None = writer
        if writer is None and ledger is not None:
            self.writer = LocalWriter(ledger)
        self.engine = DetectionEngine(scenarios)
        self._pending: list[Decision] = []
        self._pending_counts: Counter[tuple[str, str]] = Counter()
        self._pending_keys: set[tuple[str, str, str]] = set()
        self.policy = DecisionPolicy(self._previous)
        self.batch = batch

    def _previous(self, scope: str, value: str) -> int:
        done = self.ledger.previous_count(scope, value) if self.ledger is not None else 0
        return done + self._pending_counts[(scope, value)]

    def run(self, events: Iterable[Event], report: IngestReport | None = None) -> IngestReport:
        """Detect over ``events`` and record decisions; flushes at the end."""
        report = report if report is not None else IngestReport()
        process = self.engine.process
        for event in events:
            report.events += 1
            alerts = process(event)
            if alerts:
                self._handle(alerts, report)
        self._handle(self.engine.flush(), report)
        self.commit(report)
        return report

    def feed(self, event: Event, report: IngestReport) -> None:
        """One event (for ``--follow``); decisions are committed at batch size or :meth:`commit`."""
        report.events += 1
        alerts = self.engine.process(event)
        if alerts:
            self._handle(alerts, report)

    def _handle(self, alerts: list[Alert], report: IngestReport) -> None:
        for alert in alerts:
            report.alerts.append(alert)
            if self.ledger is None:
                continue
            now = self.ledger.clock()
            decision = self.policy.decide(alert, now)
            if decision is None:
                if alert.remediation.enabled:
                    report.unresolvable += 1
                continue
            if self._covered(decision, now):
                report.suppressed += 1
                continue
            self._pending.append(decision)
            self._pending_keys.add((decision.type, decision.scope, decision.value))
            self._pending_counts[(decision.scope, decision.value)] += 1
            if len(self._pending) >= self.batch:
                self.commit(report)

    def _covered(self, decision: Decision, now: float) -> bool:
        """Whether ``decision``'s target already has a decision of its type in force (or pending)."""
        if (decision.type, decision.scope, decision.value) in self._pending_keys:
            return True
        if self.ledger is None:
            return False
        return any(
            other.type == decision.type
            and other.scope == decision.scope
            and other.value == decision.value
            for other in self.ledger.check(decision.scope, decision.value, now)
        )

    def commit(self, report: IngestReport) -> None:
        """Append pending decisions to the ledger (one checkpoint)."""
        if self.writer is None or not self._pending:
            return
        report.decisions.extend(self.writer.add(self._pending))
        self._pending = []
        self._pending_counts.clear()
        self._pending_keys.clear()
