"""A replicated node announces its decisions on ledger.decisions (a real nats-server on loopback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio

from cross_domain_autoblocker_ledger.cli import main
from shared_core.events import BlockingEventBus, Event, EventBus
from shared_core.testing import NatsServer, run_cli


def _read(server: NatsServer, count: int) -> list[Event]:
    got: list[Event] = []

    async def read() -> None:
        async def keep(event: Event) -> None:
            got.append(event)

        async with EventBus(source="test") as bus:
            await bus.connect(server.url)
            await bus.subscribe("ledger.decisions", keep, durable="reader")
            with anyio.fail_after(10):
                while len(got) < count:
                    await anyio.sleep(0.02)
            await anyio.sleep(0.2)  # and nothing after the last one

    anyio.run(read)
    return got


def test_decisions_are_published(nats_server: NatsServer, tmp_path: Path) -> None:
    """An add and a delete through a replicated node arrive as decision.added, decision.deleted."""
    with BlockingEventBus() as bus:
        bus.connect(nats_server.url)
        bus.ensure_stream("ledger.decisions")

    def node(*argv: str) -> object:
        result = run_cli(
            main,
            [
                "--data-dir",
                str(tmp_path / "n1"),
                "--nats-servers",
                nats_server.url,
                "--nats-replicas",
                "1",
                "--json",
                *argv,
            ],
        )
        assert result.code == 0, result.err
        return json.loads(result.out)

    node("decisions", "add", "--ip", "192.0.2.1")
    node("decisions", "add", "--ip", "192.0.2.2")
    node("decisions", "delete", "1")
    events = _read(nats_server, 3)
    assert [e.event_type for e in events] == [
        "decision.added",
        "decision.added",
        "decision.deleted",
    ]
    payloads: list[dict[str, Any]] = [json.loads(e.model_dump_json())["payload"] for e in events]
    values = [[d["value"] for d in p["decisions"]] for p in payloads]
    assert values == [["192.0.2.1"], ["192.0.2.2"], ["192.0.2.1"]]
    assert payloads[2]["decisions"][0]["id"] == 1
    assert payloads[2]["reason"] == ""
    assert {e.source for e in events} == {"cross_domain_autoblocker_ledger"}
    assert {e.subject for e in events} == {"ledger.decisions"}
