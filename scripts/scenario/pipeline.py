"""The six steps in order, each timed; the summary the report is made from.

:func:`run_scenario` is what ``run.py`` (and the integration test) calls.  It
returns the summary as plain JSON data and writes it to ``summary.json``;
every figure in it is measured in this run, nothing is pasted in.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenario.campaigns import Size, hosts_for

__all__ = ["StepClock", "run_scenario", "score_detection"]


@dataclass
class StepClock:
    """Wall time per step, in order."""

    steps: list[tuple[str, float]] = field(default_factory=list)

    @contextmanager
    def step(self, name: str, say: Callable[[str], None]) -> Iterator[None]:
        say(f"[{len(self.steps) + 1}/6] {name}…")
        start = time.perf_counter()
        try:
            yield
        finally:
            self.steps.append((name, time.perf_counter() - start))


def _address_space(
    elements: AbstractSet[str],
) -> tuple[list[ipaddress.IPv4Network], list[ipaddress.IPv6Network]]:
    """The addresses a set of nft elements (addresses, prefixes, ``a-b`` ranges) covers, collapsed.

    Comparing element strings would call ``10.0.0.0/31`` different from ``10.0.0.0`` plus
    ``10.0.0.1``; nftables merges such elements in interval sets, so compare what they cover.
    """
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for element in elements:
        if "-" in element:
            first, last = (ipaddress.ip_address(part.strip()) for part in element.split("-", 1))
            nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = list(
                ipaddress.summarize_address_range(first, last)
            )
        else:
            nets = [ipaddress.ip_network(element.strip(), strict=False)]
        for net in nets:
            if isinstance(net, ipaddress.IPv4Network):
                v4.append(net)
            else:
                v6.append(net)
    return list(ipaddress.collapse_addresses(v4)), list(ipaddress.collapse_addresses(v6))


def same_addresses(elements: AbstractSet[str], decided: AbstractSet[str]) -> bool:
    """Whether the enforced set covers exactly the decided addresses, however each is written."""
    return _address_space(elements) == _address_space(decided)


def score_detection(
    decided: AbstractSet[str], offenders: AbstractSet[str], attackers: AbstractSet[str]
) -> dict[str, Any]:
    """Precision and recall of the bans against the ground truth.

    Recall counts campaign sources banned; precision counts bans on addresses
    that really attacked (a lone background attacker banned is not a false
    positive: it did attack, it just was not part of a campaign).
    """
    true_positive = decided & attackers
    return {
        "precision": len(true_positive) / len(decided) if decided else 0.0,
        "recall": len(decided & offenders) / len(offenders) if offenders else 0.0,
        "banned_campaign_sources": len(decided & offenders),
        "banned_lone_attackers": len((decided & attackers) - offenders),
        "false_positives": sorted(decided - attackers),
        "missed": sorted(offenders - decided),
    }


def run_scenario(
    size: Size,
    out_dir: Path,
    *,
    seed: int,
    executor: str = "threads",
    replicate: bool = True,
    say: Callable[[str], None] = lambda _line: None,
) -> dict[str, Any]:
    """Run all six steps into ``out_dir`` (emptied first); returns the summary.

    ``replicate``: run the ledger replicated through NATS JetStream when
    ``nats-server`` is installed (otherwise, or when false, one standalone node).
    """
    from shared_core.testing import NatsServer, nats_server_binary

    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    stream = (
        NatsServer(out_dir / "nats", log_path=out_dir / "nats-server.log")
        if replicate and nats_server_binary() is not None
        else None
    )
    if stream is not None:
        stream.start(timeout=30)
    try:
        return _run(size, out_dir, seed=seed, executor=executor, stream=stream, say=say)
    finally:
        if stream is not None:
            stream.stop()


def _run(
    size: Size,
    out_dir: Path,
    *,
    seed: int,
    executor: str,
    stream: Any,
    say: Callable[[str], None],
) -> dict[str, Any]:
    from scenario.attest import attest, verify_offline
    from scenario.chaos import run_chaos
    from scenario.detect import LEDGER_ORIGIN, detect_and_decide
    from scenario.enforce import enforce
    from scenario.generate import generate_logs
    from shared_core.testing import free_port

    nats_url: str | None = stream.url if stream is not None else None
    clock = StepClock()
    summary: dict[str, Any] = {"size": size, "seed": seed, "out": str(out_dir)}

    with clock.step("generate (spe on paf)", say):
        truth = generate_logs(hosts_for(size), seed, out_dir / "logs", executor)
    offenders, attackers = truth.offenders, truth.attackers
    truth_campaigns: dict[str, set[str]] = {}
    for host in truth.hosts:
        for campaign in host.campaigns:
            for source in campaign.sources:
                truth_campaigns.setdefault(source, set()).add(campaign.id)
    summary["generate"] = {
        "executor": executor,
        "lines": truth.lines,
        "hosts": [
            {
                "host": h.host,
                "kind": h.kind,
                "lines": h.lines,
                "attack_lines": h.attack_lines,
                "lone_attack_lines": h.lone_attack_lines,
                "campaigns": len(h.campaigns),
            }
            for h in truth.hosts
        ],
        "campaign_sources": len(offenders),
        "lone_attackers": len(attackers - offenders),
    }

    with clock.step("detect and decide (cdabl + cdal + dsle + cec)", say):
        found = detect_and_decide(truth, out_dir, seed=seed, nats_url=nats_url)
    decided = found.decided
    scores = score_detection(decided, offenders, attackers)
    durations = [d.until - d.created for d in found.decisions]
    summary["detect"] = {
        "events": found.events,
        "lines_read": found.lines,
        "malformed": found.malformed,
        "alerts": found.alerts,
        "alerts_by_scenario": found.alerts_by_scenario,
        "scenario_offenders": len(found.scenario_offenders),
        "anomaly_flagged": len(found.anomaly.flagged),
        "anomaly_threshold": found.anomaly.threshold,
        "anomaly_min_failures": found.anomaly.min_failures,
        "sources_scored": len(found.anomaly.scores),
        "recall_scenarios_only": score_detection(found.scenario_offenders, offenders, attackers)[
            "recall"
        ],
        "recall_anomaly_only": score_detection(found.anomaly.flagged, offenders, attackers)[
            "recall"
        ],
        "bad_nets": found.reputation.bad_nets,
        "escalated": len(found.reputation.escalated),
        "decisions": len(found.decisions),
        "ban_seconds": {
            "min": min(durations, default=0.0),
            "max": max(durations, default=0.0),
            "total": sum(durations),
        },
        "policy_sha256": found.policy.digest,
        "policy_gas_used": found.policy_gas,
        "policy_gas_bound_per_step": found.policy.gas_bound,
        **scores,
        "per_campaign": [
            {
                "campaign": c.id,
                "host": c.host,
                "attack": c.attack,
                "window": f"{c.start[11:16]}–{c.end[11:16]} UTC",
                "sources": len(c.sources),
                "by_scenarios": len(set(c.sources) & found.scenario_offenders),
                "by_anomaly": len(set(c.sources) & found.anomaly.flagged),
                "banned": len(set(c.sources) & decided),
                "escalated": len(set(c.sources) & found.reputation.escalated),
            }
            for h in truth.hosts
            for c in h.campaigns
        ],
    }
    summary["decisions"] = [
        {
            "id": d.id,
            "value": d.value,
            "scenario": d.scenario,
            "hours": round((d.until - d.created) / 3600, 2),
            "reason": d.reason,
            "truth": (
                ", ".join(sorted(truth_campaigns.get(d.value, ())))
                or ("lone attacker" if d.value in attackers else "benign")
            ),
        }
        for d in found.decisions
    ]
    summary["ledger"] = {
        "replicated_through": nats_url,
        "origin": LEDGER_ORIGIN,
        "size": found.size,
        "root": found.root,
        "checkpoint": found.checkpoint.decode(),
        "verifier_key": found.verifier_key,
    }

    with clock.step("attest (uaa)", say):
        issued = attest(
            out_dir / "attestation",
            checkpoint=found.checkpoint,
            bytecode=found.policy.bytecode,
            policy_digest=found.policy.digest,
            ledger_origin=LEDGER_ORIGIN,
            ledger_verifier=found.verifier_key,
            root=found.root,
            size=found.size,
            decisions=len(found.decisions),
        )
        verdict = verify_offline(issued.directory)
        tampered = _tampered_verdict(issued.directory)
    summary["attestation"] = {
        "id": issued.attestation_id,
        "log_index": issued.log_index,
        "checkpoint_sha256": issued.checkpoint_sha256,
        "policy_sha256": issued.policy_sha256,
        "verified_offline": verdict.ok,
        "failures": list(verdict.failures),
        "signers": list(verdict.signers),
        "tampered_checkpoint_verified": tampered.ok,
        "tampered_checkpoint_failures": list(tampered.failures),
        "directory": str(issued.directory),
    }

    with clock.step("enforce (lsck)", say):
        enforced = enforce(found.decisions, time.time(), out_dir / "enforce")
    summary["enforce"] = {
        "rules": enforced.rules,
        "nft_elements": sorted(enforced.nft_elements),
        "set_equals_decisions": same_addresses(enforced.nft_elements, decided),
        "applied": enforced.applied,
        "how": enforced.how,
        "nft_check": enforced.nft_check,
        "nft_check_detail": enforced.nft_check_detail,
        "nft_path": str(enforced.nft_path),
        "batch_path": str(enforced.batch_path),
    }

    with clock.step("chaos (chaos_engine vs the ledger service)", say):
        sample = sorted(decided)[:: max(1, len(decided) // 5)][:5]
        chaos = run_chaos(
            found.ledger_path,
            out_dir / "chaos",
            ports=(free_port(), free_port()),
            nats_url=nats_url,
            sample=sample,
            verifier_key=found.verifier_key,
            origin=LEDGER_ORIGIN,
            size=found.size,
            root=found.root,
        )
    summary["chaos"] = {
        "held": chaos.held,
        "replication": (
            "NATS JetStream: a primary and a replica ledger node; the replica is killed"
            if chaos.replicated
            else "none (nats-server not installed): one ledger node, killed and restarted"
        ),
        "replicated": chaos.replicated,
        "queryable_while_down": chaos.queryable_while_down,
        "activities": [
            {"activity": name, "status": status, "output": output}
            for name, status, output in chaos.activities
        ],
        "status": chaos.status,
        "deviated": chaos.deviated,
        "steady_before": chaos.steady_before,
        "steady_after": chaos.steady_after,
        "rolled_back": chaos.rolled_back,
        "killed_and_restarted": chaos.killed_and_restarted,
        "latency_query_ms": chaos.latency_query_ms,
        "sampled_offenders": sample,
        "journal": str(chaos.journal_path),
        "journal_html": str(chaos.report_path),
        "experiment": str(chaos.experiment_path),
    }

    with clock.step("report", say):
        from scenario.report import write_html

        summary["steps"] = [{"step": n, "seconds": round(s, 3)} for n, s in clock.steps]
        summary["report"] = str(out_dir / "report.html")
        write_html(summary, out_dir / "report.html")
    summary["steps"] = [{"step": n, "seconds": round(s, 3)} for n, s in clock.steps]
    summary["total_seconds"] = round(sum(s for _, s in clock.steps), 3)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def _tampered_verdict(directory: Path) -> Any:
    """Verify a copy whose checkpoint claims another root: it must fail."""
    from scenario.attest import CHECKPOINT, verify_offline

    with tempfile.TemporaryDirectory(prefix="scenario-tamper-") as tmp:
        copy = Path(tmp) / "attestation"
        shutil.copytree(directory, copy)
        lines = (copy / CHECKPOINT).read_bytes().split(b"\n")
        lines[2] = bytes(reversed(lines[2]))  # the root line, base64 reversed
        (copy / CHECKPOINT).write_bytes(b"\n".join(lines))
        return verify_offline(copy)
