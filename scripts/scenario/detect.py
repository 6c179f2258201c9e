"""Step 2: cdabl detects the offenders; cdal, dsle and cec shape the decisions; the ledger records them.

1. cdabl's parsers read each host's log (sshd syslog, combined access log);
   the streams are merged in time order and run through cdabl's detection
   engine with its built-in CrowdSec-style scenarios plus one of ours
   (:data:`EXTRA_SCENARIOS`: requests with an attack tool's user agent,
   CrowdSec's ``http-bad-user-agent``).
2. cdal's half-space trees score every source's day profile
   (:mod:`scenario.anomaly`): the extra signal for attacks too slow for a bucket.
3. dsle derives reputation facts over the offenders (:mod:`scenario.reputation`).
4. cec's ban policy (:mod:`scenario.policy`) turns each offender's evidence into a ban duration.
5. The bans go into cdabl's ledger in one write: one signed checkpoint.  With
   a NATS server given, the write is *proposed* through cdabl's JetStream
   replicator and applied from the stream, as every write of a replicated
   node is, so replicas started later reach the same entries and root.
"""

from __future__ import annotations

import heapq
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from cross_domain_autoblocker_ledger import (
    Alert,
    Decision,
    DetectionEngine,
    Event,
    Ledger,
    TimestampResolver,
    default_scenarios,
    parse_scenarios,
    read_events,
)
from scenario.anomaly import AnomalyVerdicts, score_sources
from scenario.campaigns import DAY
from scenario.generate import GroundTruth
from scenario.policy import POLICY_SOURCE, BanRequest, CompiledPolicy, compile_policy
from scenario.profiles import SourceProfile
from scenario.reputation import Reputation, derive_reputation

__all__ = ["EXTRA_SCENARIOS", "LEDGER_ORIGIN", "DetectResult", "detect_and_decide"]

LEDGER_ORIGIN = "scenario.internal/cdabl"
ANOMALY_SCENARIO = "scenario/anomaly"

EXTRA_SCENARIOS = """
name: scenario/http-bad-user-agent
description: Requests with an attack tool's user agent, like CrowdSec's crowdsecurity/http-bad-user-agent
type: leaky
filter:
  domain: http
  failure: any
  fields:
    user_agent:
      - "sqlmap/1.7.2#stable (https://sqlmap.org)"
      - "python-requests/2.31.0"
      - "Mozilla/5.00 (Nikto/2.5.0)"
      - "curl/8.4.0"
      - "Go-http-client/1.1"
      - "masscan/1.3"
group_by: source
capacity: 5
leakspeed: 60s
blackhole: 5m
remediation: {type: ban, duration: 4h}
"""


@dataclass
class DetectResult:
    """What detection found and what was decided."""

    lines: int
    events: int
    malformed: int
    alerts: int
    alerts_by_scenario: dict[str, int]
    scenario_offenders: set[str]
    anomaly: AnomalyVerdicts
    reputation: Reputation
    policy: CompiledPolicy
    policy_gas: int
    decisions: list[Decision]
    ledger_path: Path
    checkpoint: bytes
    root: str
    size: int
    verifier_key: str
    profiles: dict[str, SourceProfile] = field(default_factory=dict)

    @property
    def decided(self) -> set[str]:
        return {d.value for d in self.decisions}


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _merged(truth: GroundTruth) -> tuple[Iterator[tuple[Event, str]], list[Any]]:
    """All hosts' events in time order, each with its host; and the parsers (for their stats)."""
    # syslog lines carry no year: resolve them relative to the day after the simulated one
    reference = datetime.combine(DAY + timedelta(days=1), time(), tzinfo=UTC).timestamp()
    streams = []
    parsers = []
    for host in truth.hosts:
        events, parser = read_events(
            Path(host.path), times=TimestampResolver(tz=UTC, now=reference)
        )
        parsers.append(parser)
        streams.append((event, host.host) for event in events)
    return heapq.merge(*streams, key=lambda pair: pair[0].time), parsers


def _replicated_add(ledger: Ledger, nats_url: str, batch: list[Decision]) -> list[Decision]:
    """Propose ``batch`` through JetStream and wait until this node applied it."""
    import anyio

    import cross_domain_autoblocker_ledger as cdabl

    async def write() -> None:
        # exported lazily (it pulls in nats-py), so untyped through the package
        replicator: Any = cdabl.JetStreamReplicator(ledger, [nats_url], replicas=1, timeout=60)  # type: ignore[operator]
        await replicator.start()
        try:
            position = await replicator.propose_add(batch)
            await replicator.wait_applied(position)
        finally:
            await replicator.stop()

    anyio.run(write)
    wanted = {d.uuid for d in batch}
    return sorted((d for d in ledger.active() if d.uuid in wanted), key=lambda d: d.id)


def detect_and_decide(
    truth: GroundTruth, out_dir: Path, *, seed: int, nats_url: str | None = None
) -> DetectResult:
    """Run step 2 end to end; the ledger is left closed at ``out_dir/ledger/ledger.db``."""
    engine = DetectionEngine([*default_scenarios(), *parse_scenarios(EXTRA_SCENARIOS, "scenario")])
    profiles: dict[str, SourceProfile] = {}
    alerts: list[Alert] = []
    merged, parsers = _merged(truth)
    events = 0
    for event, host in merged:
        events += 1
        source = event.source
        if source is not None:
            profile = profiles.get(source)
            if profile is None:
                profile = profiles[source] = SourceProfile(source, event.time, event.time)
            profile.add(event, host)
        fired = engine.process(event)
        if fired:
            alerts.extend(fired)
    alerts.extend(engine.flush())
    by_scenario: dict[str, int] = {}
    scenario_offenders: set[str] = set()
    for alert in alerts:
        by_scenario[alert.scenario] = by_scenario.get(alert.scenario, 0) + 1
        if alert.scope.lower() != "ip" or not _is_address(alert.value):
            continue
        scenario_offenders.add(alert.value)
        if alert.value in profiles:
            profiles[alert.value].scenarios.add(alert.scenario)
            profiles[alert.value].alerts += 1

    anomaly = score_sources(list(profiles.values()), seed=seed)
    offenders = sorted(scenario_offenders | anomaly.flagged)
    reputation = derive_reputation(offenders)

    policy = compile_policy()
    at = datetime.combine(DAY + timedelta(days=1), time(), tzinfo=UTC)
    requests = [
        BanRequest(
            ip,
            tuple(sorted(profiles[ip].scenarios)) if ip in profiles else (),
            profiles[ip].alerts if ip in profiles else 0,
            anomaly.scores.get(ip, 0.0),
            ip in reputation.escalated,
        )
        for ip in offenders
    ]
    seconds, gas = policy.decide(requests, at.strftime("%Y-%m-%dT%H:%M:%SZ"))

    ledger_dir = out_dir / "ledger"
    ledger_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger.open(ledger_dir / "ledger.db", origin=LEDGER_ORIGIN)
    try:
        now = ledger.clock()
        batch = []
        for request in requests:
            scenario = request.scenarios[0] if request.scenarios else ANOMALY_SCENARIO
            profile = profiles.get(request.source)
            reason = (
                f"{', '.join(request.scenarios) or 'anomaly'}; "
                f"{profile.failures if profile else 0} failures on "
                f"{', '.join(sorted(profile.hosts)) if profile else '?'}; "
                f"anomaly {request.anomaly:.3f}" + ("; bad /24" if request.bad_net else "")
            )
            batch.append(
                Decision.make(
                    type="ban",
                    scope="Ip",
                    value=request.source,
                    duration=float(seconds[request.source]),
                    now=now,
                    origin="cdabl",
                    scenario=scenario,
                    reason=reason,
                )
            )
        decisions = (
            ledger.add(batch) if nats_url is None else _replicated_add(ledger, nats_url, batch)
        )
        checkpoint = ledger.checkpoint()
        root = ledger.root().hex()
        size = ledger.size
        verifier = ledger.verifier.encode()
    finally:
        ledger.close()

    result = DetectResult(
        lines=sum(p.stats.lines for p in parsers),
        events=events,
        malformed=sum(p.stats.malformed for p in parsers),
        alerts=len(alerts),
        alerts_by_scenario=dict(sorted(by_scenario.items())),
        scenario_offenders=scenario_offenders,
        anomaly=anomaly,
        reputation=reputation,
        policy=policy,
        policy_gas=gas,
        decisions=decisions,
        ledger_path=ledger_dir / "ledger.db",
        checkpoint=checkpoint,
        root=root,
        size=size,
        verifier_key=verifier,
        profiles=profiles,
    )
    (out_dir / "ban_policy.cec").write_text(POLICY_SOURCE, encoding="utf-8")
    (out_dir / "ban_policy.cecb").write_bytes(policy.bytecode)
    (out_dir / "reputation.dl").write_text(reputation.program, encoding="utf-8")
    (out_dir / "decisions.json").write_text(
        json.dumps([d.to_dict() for d in decisions], indent=2), encoding="utf-8"
    )
    return result
