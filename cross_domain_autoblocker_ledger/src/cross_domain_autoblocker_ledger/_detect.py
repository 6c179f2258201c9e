"""The detection engine: buckets per scenario and group, alerts on overflow.

:class:`DetectionEngine` is fed events in (roughly) time order and returns
:class:`Alert` objects as scenarios overflow.  Time is the events' own time,
never the wall clock, so replaying a day of logs detects exactly what live
tailing would have.  Buckets that have fully leaked (or whose window is
empty) are swept periodically, so memory follows the number of *active*
offenders, not the number ever seen.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cross_domain_autoblocker_ledger._event import Event
from cross_domain_autoblocker_ledger._scenario import Remediation, Scenario

__all__ = ["Alert", "DetectionEngine"]

_SAMPLE = 5
_SWEEP_EVERY = 50_000


@dataclass(frozen=True)
class Alert:
    """A scenario overflowed for one group.

    Attributes:
        scenario: the scenario's name.
        scope: the decision scope (``Ip``, ``Username``, ...).
        value: the group key (an address for ``Ip``), ``|``-joined when grouped by several fields.
        count: events counted by the bucket at overflow.
        start, stop: time of the first and the overflowing event.
        domains: domains the counted events came from.
        remediation: what the scenario asks to do about it.
        events: the first few counted events, for the record.
    """

    scenario: str
    scope: str
    value: str
    count: int
    start: float
    stop: float
    domains: tuple[str, ...]
    remediation: Remediation
    events: tuple[dict[str, Any], ...] = ()

    @property
    def message(self) -> str:
        return (
            f"{self.value} performed '{self.scenario}' ({self.count} events over "
            f"{max(self.stop - self.start, 0.0):.0f}s, {'+'.join(self.domains)})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "scope": self.scope,
            "value": self.value,
            "count": self.count,
            "start": self.start,
            "stop": self.stop,
            "domains": list(self.domains),
            "message": self.message,
            "events": list(self.events),
        }


class _Bucket:
    __slots__ = ("count", "distinct", "domains", "first", "last", "level", "sample", "times")

    def __init__(self, now: float) -> None:
        self.level = 0.0
        self.count = 0
        self.first = now
        self.last = now
        self.domains: set[str] = set()
        self.distinct: set[Any] | None = None
        self.sample: list[Event] = []
        self.times: deque[float] | None = None

    def reset(self, now: float) -> None:
        """Empty the bucket, as if it were created at ``now``.

        The containers are emptied in place (alerts copy what they keep), so
        the usual case, a rare source whose bucket has drained since its last
        event, allocates nothing.
        """
        self.level = 0.0
        self.count = 0
        self.first = now
        self.last = now
        self.domains.clear()
        self.distinct = None
        self.sample.clear()
        self.times = None


@dataclass
class _Runner:
    scenario: Scenario
    accept: Callable[[Event], bool]
    key: Callable[[Event], str | None]
    buckets: dict[str, _Bucket] = field(default_factory=dict)
    blackholed: dict[str, float] = field(default_factory=dict)
    # When the filter is only domains (already dispatched on) and a failure
    # flag, the predicate call is replaced by this one comparison.
    simple: bool = False
    failure: bool | None = True
    by_source: bool = False  # group_by is just the source: read the attribute, skip the call
    # The scenario's numbers, copied here: read for every event, one lookup fewer each.
    kind: str = field(init=False)
    capacity: int = field(init=False)
    leakspeed: float = field(init=False)
    distinct: str | None = field(init=False)
    min_domains: int = field(init=False)

    def __post_init__(self) -> None:
        s = self.scenario
        self.kind = s.type
        self.capacity = s.capacity
        self.leakspeed = s.leakspeed
        self.distinct = s.distinct
        self.min_domains = s.min_domains


def _key_func(group_by: Sequence[str]) -> Callable[[Event], str | None]:
    if len(group_by) == 1:
        name = group_by[0]
        if name == "source":
            return lambda e: e.source
        if name == "user":
            return lambda e: e.user

        def single(e: Event) -> str | None:
            value = e.get(name)
            return None if value is None else str(value)

        return single
    names = tuple(group_by)

    def multi(e: Event) -> str | None:
        parts = [e.get(n) for n in names]
        if any(p is None for p in parts):
            return None
        return "|".join(str(p) for p in parts)

    return multi


class DetectionEngine:
    """Runs scenarios over events.

    Args:
        scenarios: what to detect; each keeps its own buckets.
    """

    def __init__(self, scenarios: Iterable[Scenario]) -> None:
        self.runners = [
            _Runner(
                s,
                s.filter.compile(),
                _key_func(s.group_by),
                simple=not s.filter.kinds and not s.filter.fields,
                failure=s.filter.failure,
                by_source=tuple(s.group_by) == ("source",),
            )
            for s in scenarios
        ]
        self._counters: list[tuple[float, int, str]] = []
        self.events = 0
        self.alerts = 0
        # Runners by event domain, so an event only meets the scenarios that
        # could accept it; scenarios without a domain filter see every domain.
        self._any = [(i, r) for i, r in enumerate(self.runners) if not r.scenario.filter.domains]
        self._by_domain: dict[str, list[tuple[int, _Runner]]] = {}
        for i, r in enumerate(self.runners):
            for domain in r.scenario.filter.domains:
                self._by_domain.setdefault(domain, []).append((i, r))
        self._plan: dict[str, list[tuple[int, _Runner]]] = {}

    def _candidates(self, domain: str) -> list[tuple[int, _Runner]]:
        plan = self._plan.get(domain)
        if plan is None:
            plan = sorted(self._by_domain.get(domain, []) + self._any, key=lambda item: item[0])
            self._plan[domain] = plan
        return plan

    @property
    def scenarios(self) -> list[Scenario]:
        return [r.scenario for r in self.runners]

    def active_buckets(self) -> int:
        """Buckets currently holding events, over all scenarios."""
        return sum(len(r.buckets) for r in self.runners)

    def process(self, event: Event) -> list[Alert]:
        """Count one event in every scenario that accepts it; return overflows."""
        self.events += 1
        now = event.time
        alerts: list[Alert] = []
        if self.events % _SWEEP_EVERY == 0:  # housekeeping only: a swept bucket had drained
            for runner in self.runners:
                self._sweep(runner, now)
        if self._counters and self._counters[0][0] <= now:
            alerts.extend(self._close_counters(now))
        failure = event.failure
        source = event.source
        plan = self._plan.get(event.domain)
        if plan is None:
            plan = self._candidates(event.domain)
        for index, runner in plan:
            if runner.simple:
                if runner.failure is not None and failure is not runner.failure:
                    continue
            elif not runner.accept(event):
                continue
            key = source if runner.by_source else runner.key(event)
            if key is None:
                continue
            kind = runner.kind
            if kind == "counter":
                self._count(runner, index, key, event)
                continue
            if runner.blackholed:
                until = runner.blackholed.get(key)
                if until is not None:
                    if now < until:
                        continue
                    del runner.blackholed[key]
            bucket = runner.buckets.get(key)
            if kind == "window":
                if bucket is None:
                    bucket = runner.buckets[key] = _Bucket(now)
                if self._window(runner.scenario, bucket, event):
                    alerts.append(self._overflow(runner, key, bucket, now))
                continue
            # Leaky and trigger buckets, inline (this runs for every event
            # and scenario): leak since the last event, pour one in.
            if bucket is None:
                bucket = runner.buckets[key] = _Bucket(now)
            elif bucket.count:
                elapsed = now - bucket.last
                if elapsed > 0 and runner.capacity:
                    level = bucket.level - elapsed / runner.leakspeed
                    if level <= 0.0:  # drained: a fresh bucket, as CrowdSec does
                        bucket.level = 0.0  # (reset(), inline: the usual case for a rare source)
                        bucket.count = 0
                        bucket.first = now
                        bucket.domains.clear()
                        bucket.distinct = None
                        bucket.sample.clear()
                    else:
                        bucket.level = level
            if now > bucket.last:  # noqa: PLR1730  # a compare, not a builtin call, per event and scenario
                bucket.last = now
            if runner.distinct is not None:
                if not self._admit(runner.scenario, bucket, event):
                    continue
            else:
                bucket.count += 1
                bucket.domains.add(event.domain)
                if len(bucket.sample) < _SAMPLE:
                    bucket.sample.append(event)
            capacity = runner.capacity
            level = bucket.level + 1.0
            bucket.level = level if level <= capacity + 1.0 else capacity + 1.0
            if level > capacity and len(bucket.domains) >= runner.min_domains:
                alerts.append(self._overflow(runner, key, bucket, now))
        self.alerts += len(alerts)
        return alerts

    def process_many(self, events: Iterable[Event]) -> list[Alert]:
        """:meth:`process` for a batch, then nothing else (call :meth:`flush` at the end of input)."""
        alerts: list[Alert] = []
        process = self.process
        for event in events:
            found = process(event)
            if found:
                alerts.extend(found)
        return alerts

    def flush(self, now: float | None = None) -> list[Alert]:
        """Close every counter window that ends by ``now`` (all of them when ``None``)."""
        limit = float("inf") if now is None else now
        alerts = self._close_counters(limit)
        self.alerts += len(alerts)
        return alerts

    # -- bucket kinds ---------------------------------------------------------

    @staticmethod
    def _admit(scenario: Scenario, bucket: _Bucket, event: Event) -> bool:
        if scenario.distinct is not None:
            value = event.get(scenario.distinct)
            if bucket.distinct is None:
                bucket.distinct = set()
            if value in bucket.distinct:
                return False
            bucket.distinct.add(value)
        bucket.count += 1
        bucket.domains.add(event.domain)
        if len(bucket.sample) < _SAMPLE:
            bucket.sample.append(event)
        return True

    def _window(self, scenario: Scenario, bucket: _Bucket, event: Event) -> bool:
        now = event.time
        times = bucket.times
        if times is None:
            times = bucket.times = deque()
        horizon = now - scenario.duration
        while times and times[0] < horizon:
            times.popleft()
        if not times:
            bucket.reset(now)  # window emptied: start afresh
            bucket.times = times
        bucket.last = max(bucket.last, now)
        if not self._admit(scenario, bucket, event):
            return False
        times.append(now)
        return len(times) >= scenario.capacity and len(bucket.domains) >= scenario.min_domains

    def _count(self, runner: _Runner, index: int, key: str, event: Event) -> None:
        bucket = runner.buckets.get(key)
        if bucket is None:
            bucket = runner.buckets[key] = _Bucket(event.time)
            heapq.heappush(self._counters, (event.time + runner.scenario.duration, index, key))
        bucket.last = max(bucket.last, event.time)
        self._admit(runner.scenario, bucket, event)

    def _close_counters(self, now: float) -> list[Alert]:
        alerts: list[Alert] = []
        heap = self._counters
        while heap and heap[0][0] <= now:
            _end, index, key = heapq.heappop(heap)
            runner = self.runners[index]
            bucket = runner.buckets.pop(key, None)
            if bucket is None:
                continue
            scenario = runner.scenario
            if (
                bucket.count >= max(scenario.capacity, 1)
                and len(bucket.domains) >= scenario.min_domains
            ):
                alerts.append(self._alert(scenario, key, bucket, bucket.last))
        return alerts

    # -- overflow and housekeeping -------------------------------------------

    def _overflow(self, runner: _Runner, key: str, bucket: _Bucket, now: float) -> Alert:
        scenario = runner.scenario
        alert = self._alert(scenario, key, bucket, now)
        del runner.buckets[key]
        if scenario.blackhole > 0:
            runner.blackholed[key] = now + scenario.blackhole
        return alert

    @staticmethod
    def _alert(scenario: Scenario, key: str, bucket: _Bucket, now: float) -> Alert:
        return Alert(
            scenario=scenario.name,
            scope=scenario.scope,
            value=key,
            count=bucket.count,
            start=bucket.first,
            stop=now,
            domains=tuple(sorted(bucket.domains)),
            remediation=scenario.remediation,
            events=tuple(e.to_dict() for e in bucket.sample),
        )

    @staticmethod
    def _sweep(runner: _Runner, now: float) -> None:
        scenario = runner.scenario
        if scenario.type == "counter":
            return
        if scenario.type == "window":
            horizon = now - scenario.duration
            dead = [k for k, b in runner.buckets.items() if b.last < horizon]
        else:
            speed = scenario.leakspeed
            dead = [k for k, b in runner.buckets.items() if b.last + b.level * speed < now]
        for key in dead:
            del runner.buckets[key]
        expired = [k for k, until in runner.blackholed.items() if until <= now]
        for key in expired:
            del runner.blackholed[key]
