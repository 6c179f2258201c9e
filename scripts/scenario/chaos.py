"""Step 5: a Chaos Toolkit experiment against the running ledger service.

The ledger is served by ``cdabl serve`` processes behind chaos_engine's
Toxiproxy-compatible proxy; bouncers reach the primary only through the
proxy.  With ``nats-server`` installed the ledger is replicated through NATS
JetStream, as cdabl replicates in production: a primary and a replica node,
the same entries and root on both.  The experiment (written to
``chaos/experiment.json`` in Chaos Toolkit's format; the tests check it with
chaos_engine's validator; its python probes are :mod:`scenario.probes`) says:

* steady state: *decisions stay queryable and the ledger root stays
  consistent* — sampled offenders are answered as banned, and the signed
  checkpoint each node serves is the attested root (or an RFC 9162-consistent
  extension of it);
* method: add 300 ms of latency through the proxy and query under it; SIGKILL
  the replica (chaos_engine's own ``kill_process`` action); check decisions
  are still answered while it is down; restart it (it replays and re-verifies
  its ledger, and catches up from the stream);
* rollback: remove the latency toxic.

Without ``nats-server`` there is one standalone node: it is the one killed
and restarted, and the hypothesis is checked before the kill and after the
restart, not while it is down.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from scenario.ledger_node import NODES, LedgerNode

__all__ = ["ChaosResult", "NodeView", "build_experiment", "run_chaos"]

NODE = "ledger-1"
REPLICA = "ledger-2"
REPLICA_ORIGIN = "scenario.internal/cdabl-replica"
LATENCY_MS = 300


@dataclass(frozen=True)
class ChaosResult:
    """The experiment's verdict and where its journal is."""

    status: str
    deviated: bool
    steady_before: bool
    steady_after: bool
    rolled_back: bool
    killed_and_restarted: bool
    latency_query_ms: float | None
    replicated: bool
    queryable_while_down: bool | None
    activities: tuple[tuple[str, str, str], ...]
    journal_path: Path
    report_path: Path
    experiment_path: Path

    @property
    def held(self) -> bool:
        return (
            self.status == "completed"
            and not self.deviated
            and self.steady_before
            and self.steady_after
            and self.queryable_while_down is not False
        )


@dataclass(frozen=True)
class NodeView:
    """How the experiment reaches one ledger node and checks its root."""

    name: str
    url: str
    verifier_key: str
    origin: str


def build_experiment(
    *,
    proxy_api: str,
    proxy: str,
    primary: NodeView,
    victim: NodeView,
    victim_pid: int,
    replicated: bool,
    sample: list[str],
    size: int,
    root: str,
) -> dict[str, Any]:
    """The Chaos Toolkit experiment (plain JSON data).

    ``primary`` is reached through the proxy (its ``url`` is the proxy's
    listener); ``victim`` is the node killed and restarted (the replica when
    ``replicated``, else the primary itself).
    """

    def probe(name: str, func: str, tolerance: Any, **arguments: Any) -> dict[str, Any]:
        item: dict[str, Any] = {
            "type": "probe",
            "name": name,
            "provider": {
                "type": "python",
                "module": "scenario.probes",
                "func": func,
                "arguments": arguments,
            },
        }
        if tolerance is not None:
            item["tolerance"] = tolerance
        return item

    def queryable(url: str) -> dict[str, Any]:
        return {"url": url, "api_key": "${api_key}", "addresses": sample}

    def consistent(node: NodeView, url: str) -> dict[str, Any]:
        return {
            "url": url,
            "verifier_key": node.verifier_key,
            "origin": node.origin,
            "size": size,
            "root": root,
        }

    steady = [
        probe("decisions-queryable", "decisions_queryable", True, **queryable("${ledger_url}")),
        probe(
            "ledger-root-consistent",
            "ledger_root_consistent",
            True,
            **consistent(primary, "${ledger_url}"),
        ),
    ]
    if replicated:
        steady += [
            probe(
                "replica-decisions-queryable",
                "decisions_queryable",
                True,
                **queryable("${replica_url}"),
            ),
            probe(
                "replica-root-consistent",
                "ledger_root_consistent",
                True,
                **consistent(victim, "${replica_url}"),
            ),
        ]
    method: list[dict[str, Any]] = [
        {
            "type": "action",
            "name": "add-latency",
            "provider": {
                "type": "http",
                "method": "POST",
                "url": "${proxy_api}/proxies/${proxy}/toxics",
                "headers": {"Content-Type": "application/json"},
                "arguments": {
                    "name": "lag",
                    "type": "latency",
                    "attributes": {"latency": LATENCY_MS, "jitter": 30},
                },
                "timeout": 5,
            },
        },
        probe(
            "query-under-latency",
            "query_time_ms",
            None,
            url="${ledger_url}",
            api_key="${api_key}",
            address=sample[0],
        ),
        {
            "type": "action",
            "name": "kill-replica" if replicated else "kill-ledger-node",
            "provider": {
                "type": "python",
                "module": "chaos_engine.actions",
                "func": "kill_process",
                "arguments": {"pid": victim_pid},
            },
        },
    ]
    if replicated:
        method.append(
            probe(
                "decisions-queryable-while-replica-down",
                "decisions_queryable",
                None,
                **queryable("${ledger_url}"),
            )
        )
    method += [
        {
            "type": "action",
            "name": "restart-replica" if replicated else "restart-ledger-node",
            "provider": {
                "type": "python",
                "module": "scenario.probes",
                "func": "restart_node",
                "arguments": {"name": victim.name},
            },
        },
        probe(
            "decisions-queryable-after-restart",
            "decisions_queryable",
            None,
            **queryable("${replica_url}" if replicated else "${ledger_url}"),
        ),
    ]
    configuration: dict[str, Any] = {
        "ledger_url": primary.url,
        "proxy_api": proxy_api,
        "proxy": proxy,
        "api_key": {"type": "env", "key": "SCENARIO_LEDGER_API_KEY"},
    }
    if replicated:
        configuration["replica_url"] = victim.url
    return {
        "version": "1.0.0",
        "title": "decisions stay queryable and the ledger root stays consistent",
        "description": (
            "The ledger service, reached through the fault proxy, keeps answering bouncers "
            "and serving the attested root while its link is slowed and "
            + (
                "its replica is killed and restarted."
                if replicated
                else "it is killed and restarted."
            )
        ),
        "tags": ["scenario", "cross_domain_autoblocker_ledger"],
        "configuration": configuration,
        "steady-state-hypothesis": {
            "title": "decisions stay queryable and the ledger root stays consistent",
            "probes": steady,
        },
        "method": method,
        "rollbacks": [
            {
                "type": "action",
                "name": "remove-latency",
                "provider": {
                    "type": "http",
                    "method": "DELETE",
                    "url": "${proxy_api}/proxies/${proxy}/toxics/lag",
                    "timeout": 5,
                },
            }
        ],
    }


def _register_bouncer(ledger_path: Path, key: str | None = None) -> str:
    """A bouncer API key for the probes (stored hashed in the ledger's store, like ``cdabl bouncers add``)."""
    import time

    import cross_domain_autoblocker_ledger as cdabl

    # exported lazily (it lives beside the HTTP API), so typed here
    hash_api_key = cast("Callable[[str], str]", cdabl.hash_api_key)
    key = key if key is not None else secrets.token_urlsafe(32)
    ledger = cdabl.Ledger.open(ledger_path, read_only=True)
    try:
        ledger.store.add_bouncer("scenario-chaos", hash_api_key(key), time.time())
    finally:
        ledger.close()
    return key


def _brief(output: Any) -> str:
    """An activity's output in a few words (an HTTP answer by its status)."""
    if isinstance(output, dict) and "status" in output and "headers" in output:
        return f"HTTP {output['status']}"
    text = json.dumps(output, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _activity(journal: dict[str, Any], name: str) -> dict[str, Any] | None:
    for run in journal.get("run", []):
        if run.get("activity", {}).get("name") == name:
            found: dict[str, Any] = run
            return found
    return None


def _verifier(ledger_path: Path, origin: str) -> str:
    """Create the ledger (and its key) if needed; return its verifier key."""
    import cross_domain_autoblocker_ledger as cdabl

    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    ledger = cdabl.Ledger.open(ledger_path, origin=origin)
    try:
        return ledger.verifier.encode()
    finally:
        ledger.close()


def run_chaos(
    ledger_path: Path,
    out_dir: Path,
    *,
    ports: tuple[int, int],
    sample: list[str],
    verifier_key: str,
    origin: str,
    size: int,
    root: str,
    nats_url: str | None = None,
) -> ChaosResult:
    """Serve the ledger (and a replica when ``nats_url``), put the proxy in front, run the experiment."""
    from chaos_engine.experiment import RunOptions, render_html, run_experiment
    from chaos_engine.proxy import ProxyServer

    out_dir.mkdir(parents=True, exist_ok=True)
    replicated = nats_url is not None
    api_key = _register_bouncer(ledger_path)
    primary = LedgerNode(
        NODE, ledger_path.parent, ports[0], out_dir / f"{NODE}.log", nats_url=nats_url
    )
    nodes = [primary]
    victim_view: NodeView | None = None
    if replicated:
        replica_path = ledger_path.parent.parent / "ledger-replica" / "ledger.db"
        replica_key = _verifier(replica_path, REPLICA_ORIGIN)
        _register_bouncer(replica_path, api_key)
        replica = LedgerNode(
            REPLICA,
            replica_path.parent,
            ports[1],
            out_dir / f"{REPLICA}.log",
            nats_url=nats_url,
            expect_size=size,
        )
        nodes.append(replica)
        victim_view = NodeView(REPLICA, replica.url, replica_key, REPLICA_ORIGIN)
    for node in nodes:
        NODES[node.name] = node
    try:
        for node in nodes:  # both import FastAPI at once: start them together
            node.spawn()
        for node in nodes:
            node.wait_ready()
        victim = nodes[-1]
        with ProxyServer(host="127.0.0.1", port=0) as server:
            proxied = server.collection.create(
                {"name": "ledger", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{ports[0]}"}
            )
            primary_view = NodeView(NODE, f"http://{proxied.listen}", verifier_key, origin)
            experiment = build_experiment(
                proxy_api=server.url,
                proxy="ledger",
                primary=primary_view,
                victim=victim_view if victim_view is not None else primary_view,
                victim_pid=victim.pid,
                replicated=replicated,
                sample=sample,
                size=size,
                root=root,
            )
            experiment_path = out_dir / "experiment.json"
            experiment_path.write_text(json.dumps(experiment, indent=2), encoding="utf-8")
            journal = run_experiment(
                experiment,
                RunOptions(
                    rollback_strategy="always",
                    config_vars={"api_key": api_key},
                    handle_signals=False,
                ),
            )
    finally:
        for node in nodes:
            node.stop()
            NODES.pop(node.name, None)
    journal_path = out_dir / "journal.json"
    journal_path.write_text(json.dumps(journal, indent=2, default=str), encoding="utf-8")
    report_path = out_dir / "journal.html"
    report_path.write_text(render_html(journal), encoding="utf-8")
    steady = journal.get("steady_states") or {}
    latency = _activity(journal, "query-under-latency")
    killed = _activity(journal, "kill-replica" if replicated else "kill-ledger-node")
    restarted = _activity(journal, "restart-replica" if replicated else "restart-ledger-node")
    during = _activity(journal, "decisions-queryable-while-replica-down")
    rollbacks = journal.get("rollbacks") or []
    return ChaosResult(
        status=str(journal.get("status")),
        deviated=bool(journal.get("deviated")),
        steady_before=bool((steady.get("before") or {}).get("steady_state_met")),
        steady_after=bool((steady.get("after") or {}).get("steady_state_met")),
        rolled_back=bool(rollbacks) and all(r.get("status") == "succeeded" for r in rollbacks),
        killed_and_restarted=bool(
            killed
            and killed.get("status") == "succeeded"
            and restarted
            and restarted.get("status") == "succeeded"
        ),
        latency_query_ms=(
            float(latency["output"]["ms"])
            if latency and isinstance(latency.get("output"), dict)
            else None
        ),
        replicated=replicated,
        queryable_while_down=(bool(during.get("output")) if during is not None else None),
        activities=tuple(
            (
                str(run.get("activity", {}).get("name")),
                str(run.get("status")),
                _brief(run.get("output")),
            )
            for run in [*journal.get("run", []), *rollbacks]
        ),
        journal_path=journal_path,
        report_path=report_path,
        experiment_path=experiment_path,
    )
