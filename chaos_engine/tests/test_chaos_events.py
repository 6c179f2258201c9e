"""An experiment run publishes its events on chaos.events (a real nats-server on loopback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from chaos_engine.cli import main
from shared_core.events import BlockingEventBus, Event, EventBus
from shared_core.testing import NatsServer, free_port, run_cli

FIXTURES = Path(__file__).parent / "fixtures"


def _python(kind: str, name: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "name": name,
        "provider": {
            "type": "python",
            "module": "chaos_fixture_probes",
            "func": func,
            "arguments": arguments,
        },
    }


def _experiment(path: Path) -> Path:
    probe = _python("probe", "healthy", "value", v=1)
    probe["tolerance"] = 1
    path.write_text(
        json.dumps(
            {
                "title": "events demo",
                "description": "one probe, one action, one rollback",
                "steady-state-hypothesis": {"title": "value is 1", "probes": [probe]},
                "method": [_python("action", "inject", "value", v=2)],
                "rollbacks": [_python("action", "repair", "value", v=3)],
            }
        )
    )
    return path


def _read(server: NatsServer, count: int) -> list[Event]:
    got: list[Event] = []

    async def read() -> None:
        async def keep(event: Event) -> None:
            got.append(event)

        async with EventBus(source="test") as bus:
            await bus.connect(server.url)
            await bus.subscribe("chaos.events", keep, durable="reader")
            with anyio.fail_after(10):
                while len(got) < count:
                    await anyio.sleep(0.02)
            await anyio.sleep(0.2)  # and nothing after the last one

    anyio.run(read)
    return got


@pytest.fixture(autouse=True)
def _fixture_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES))
    monkeypatch.setenv("CHAOS_FIXTURE_STATE", str(tmp_path))


def test_run_publishes_its_events_in_order(nats_server: NatsServer, tmp_path: Path) -> None:
    """started, the hypothesis before, the action, the hypothesis after, the rollback, finished."""
    with BlockingEventBus() as bus:
        bus.connect(nats_server.url)
        bus.ensure_stream("chaos.events")
    experiment = _experiment(tmp_path / "exp.json")
    result = run_cli(
        main,
        [
            "--nats-servers",
            nats_server.url,
            "run",
            "--journal-path",
            str(tmp_path / "journal.json"),
            str(experiment),
        ],
    )
    assert result.code == 0, result.err
    events = _read(nats_server, 9)
    summary = [
        (e.event_type, e.payload.get("phase") or e.payload.get("when"), e.payload.get("name"))
        for e in events
    ]
    assert summary == [
        ("experiment.started", None, None),
        ("activity.run", "hypothesis", "healthy"),
        ("hypothesis.checked", "before", None),
        ("activity.run", "method", "inject"),
        ("activity.run", "hypothesis", "healthy"),
        ("hypothesis.checked", "after", None),
        ("activity.run", "rollback", "repair"),
        ("experiment.rolled_back", None, None),
        ("experiment.finished", None, None),
    ]
    assert {e.source for e in events} == {"chaos_engine"}
    assert {e.subject for e in events} == {"chaos.events"}
    assert len({e.payload["run_id"] for e in events}) == 1
    assert events[0].payload["title"] == "events demo"
    assert events[2].payload["met"] is True
    assert events[7].payload["rollbacks"] == [{"name": "repair", "status": "succeeded"}]
    assert events[-1].payload["status"] == "completed"
    assert events[-1].payload["deviated"] is False


def test_unreachable_bus_never_fails_the_run(tmp_path: Path) -> None:
    """With NATS down, the experiment runs to the same result and says once why no events went out."""
    experiment = _experiment(tmp_path / "exp.json")
    result = run_cli(
        main,
        [
            "--nats-servers",
            f"nats://127.0.0.1:{free_port()}",
            "--json",
            "run",
            "--journal-path",
            str(tmp_path / "journal.json"),
            str(experiment),
        ],
    )
    assert result.code == 0, result.err
    assert json.loads(result.out)["status"] == "completed"
    assert result.err.count("experiment events will not be published") == 1


def test_without_servers_nothing_is_published_or_logged(tmp_path: Path) -> None:
    """No nats_servers: the run publishes nothing and writes no event-bus line at all."""
    experiment = _experiment(tmp_path / "exp.json")
    result = run_cli(
        main,
        ["--log-level", "info", "run", "--journal-path", str(tmp_path / "j.json"), str(experiment)],
    )
    assert result.code == 0, result.err
    assert "experiment ended" in result.err  # info lines were written
    assert "NATS" not in result.err
