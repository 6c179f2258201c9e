"""Step 5: a Chaos Toolkit experiment against the running ledger service.

The ledger is served by ``cdabl serve`` (a process of its own) behind
chaos_engine's Toxiproxy-compatible proxy; bouncers and auditors reach it only
through the proxy.  The experiment (written to ``chaos/experiment.json`` in
Chaos Toolkit's format, runnable with ``chaos_engine run`` while the service
is up) says:

* steady state: *decisions stay queryable and the ledger root stays
  consistent* — sampled offenders are answered as banned, and the signed
  checkpoint served is the attested root (or a consistent extension);
* method: add 300 ms of latency through the proxy, query under it, SIGKILL
  the ledger node (chaos_engine's own ``kill_process`` action), restart it
  (it replays and re-verifies its whole ledger on start);
* rollback: remove the latency toxic.

cdabl replicates through NATS JetStream, but a ledger that is replicated must
be *written* through the stream from its first entry; the detection step
writes a standalone ledger, so the node killed here is the only node and the
hypothesis is checked before the kill and after the restart (not during).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from scenario.ledger_node import NODES, LedgerNode

__all__ = ["ChaosResult", "build_experiment", "run_chaos"]

NODE = "ledger-1"
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
        )


def build_experiment(
    *,
    ledger_url: str,
    proxy_api: str,
    proxy: str,
    pid: int,
    sample: list[str],
    verifier_key: str,
    origin: str,
    size: int,
    root: str,
) -> dict[str, Any]:
    """The Chaos Toolkit experiment (plain JSON data)."""

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

    queryable = {"url": "${ledger_url}", "api_key": "${api_key}", "addresses": sample}
    consistent = {
        "url": "${ledger_url}",
        "verifier_key": verifier_key,
        "origin": origin,
        "size": size,
        "root": root,
    }
    return {
        "version": "1.0.0",
        "title": "decisions stay queryable and the ledger root stays consistent",
        "description": (
            "The ledger service, reached through the fault proxy, keeps answering bouncers "
            "and serving the attested root while its link is slowed and its process is "
            "killed and restarted."
        ),
        "tags": ["scenario", "cross_domain_autoblocker_ledger"],
        "configuration": {
            "ledger_url": ledger_url,
            "proxy_api": proxy_api,
            "proxy": proxy,
            "api_key": {"type": "env", "key": "SCENARIO_LEDGER_API_KEY"},
        },
        "steady-state-hypothesis": {
            "title": "decisions stay queryable and the ledger root stays consistent",
            "probes": [
                probe("decisions-queryable", "decisions_queryable", True, **queryable),
                probe("ledger-root-consistent", "ledger_root_consistent", True, **consistent),
            ],
        },
        "method": [
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
                "name": "kill-ledger-node",
                "provider": {
                    "type": "python",
                    "module": "chaos_engine.actions",
                    "func": "kill_process",
                    "arguments": {"pid": pid},
                },
            },
            {
                "type": "action",
                "name": "restart-ledger-node",
                "provider": {
                    "type": "python",
                    "module": "scenario.probes",
                    "func": "restart_node",
                    "arguments": {"name": NODE},
                },
            },
            probe(
                "decisions-queryable-after-restart",
                "decisions_queryable",
                None,
                **queryable,
            ),
        ],
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


def _register_bouncer(ledger_path: Path) -> str:
    """A bouncer API key for the probes (stored hashed in the ledger's store, like ``cdabl bouncers add``)."""
    import time

    import cross_domain_autoblocker_ledger as cdabl

    # exported lazily (it lives beside the HTTP API), so typed here
    hash_api_key = cast("Callable[[str], str]", cdabl.hash_api_key)
    key = secrets.token_urlsafe(32)
    ledger = cdabl.Ledger.open(ledger_path, read_only=True)
    try:
        ledger.store.add_bouncer("scenario-chaos", hash_api_key(key), time.time())
    finally:
        ledger.close()
    return key


def _activity(journal: dict[str, Any], name: str) -> dict[str, Any] | None:
    for run in journal.get("run", []):
        if run.get("activity", {}).get("name") == name:
            found: dict[str, Any] = run
            return found
    return None


def run_chaos(
    ledger_path: Path,
    out_dir: Path,
    *,
    port: int,
    sample: list[str],
    verifier_key: str,
    origin: str,
    size: int,
    root: str,
) -> ChaosResult:
    """Serve the ledger, put the proxy in front, run the experiment, write its journal."""
    from chaos_engine.experiment import RunOptions, render_html, run_experiment
    from chaos_engine.proxy import ProxyServer

    out_dir.mkdir(parents=True, exist_ok=True)
    api_key = _register_bouncer(ledger_path)
    node = LedgerNode(NODE, ledger_path.parent, port, out_dir / "ledger-node.log")
    NODES[NODE] = node
    try:
        node.start()
        with ProxyServer(host="127.0.0.1", port=0) as server:
            proxied = server.collection.create(
                {"name": "ledger", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{port}"}
            )
            experiment = build_experiment(
                ledger_url=f"http://{proxied.listen}",
                proxy_api=server.url,
                proxy="ledger",
                pid=node.pid,
                sample=sample,
                verifier_key=verifier_key,
                origin=origin,
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
        node.stop()
        NODES.pop(NODE, None)
    journal_path = out_dir / "journal.json"
    journal_path.write_text(json.dumps(journal, indent=2, default=str), encoding="utf-8")
    report_path = out_dir / "journal.html"
    report_path.write_text(render_html(journal), encoding="utf-8")
    steady = journal.get("steady_states") or {}
    latency = _activity(journal, "query-under-latency")
    killed = _activity(journal, "kill-ledger-node")
    restarted = _activity(journal, "restart-ledger-node")
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
        journal_path=journal_path,
        report_path=report_path,
        experiment_path=experiment_path,
    )
