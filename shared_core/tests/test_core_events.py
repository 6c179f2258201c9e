"""The event bus against a real nats-server on loopback (and offline, with none)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime

import anyio
import pytest

from shared_core._app import main
from shared_core.errors import ConfigError, ValidationError
from shared_core.events import (
    BlockingEventBus,
    Event,
    EventBus,
    EventHandler,
    parse_servers,
    stream_name_for,
)
from shared_core.logging import configure_logging
from shared_core.testing import NatsServer, run_cli


async def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.02)


class TestEventModel:
    def test_round_trip_is_json_on_the_wire(self) -> None:
        event = Event(
            subject="chaos.events",
            event_type="experiment.started",
            source="chaos_engine",
            payload={"title": "t", "n": 1},
        )
        wire = json.loads(event.to_bytes())
        assert wire["subject"] == "chaos.events"
        assert wire["event_type"] == "experiment.started"
        assert wire["payload"] == {"title": "t", "n": 1}
        assert datetime.fromisoformat(wire["time"]).tzinfo is not None
        assert Event.from_bytes(event.to_bytes()) == event

    def test_bad_messages_and_subjects_are_rejected(self) -> None:
        with pytest.raises(ValidationError):
            Event.from_bytes(b'{"subject": "a"}')
        with pytest.raises(ValueError, match="wildcards"):
            Event(subject="chaos.*", event_type="x", source="s")
        with pytest.raises(ValueError, match="wildcards"):
            Event(subject="a..b", event_type="x", source="s")

    def test_helpers(self) -> None:
        assert parse_servers(" nats://a:1, ,nats://b:2 ") == ["nats://a:1", "nats://b:2"]
        assert parse_servers(None) == []
        assert stream_name_for("chaos.events") == "EVENTS_CHAOS_EVENTS"
        assert stream_name_for("ledger.>") == "EVENTS_LEDGER_ALL"


class TestOffline:
    def test_publish_is_a_no_op_logged_once_and_subscribe_is_a_config_error(self) -> None:
        stream = io.StringIO()
        configure_logging("info", "json", stream=stream)

        async def scenario() -> None:
            bus = EventBus(source="test")
            await bus.connect(None)
            assert bus.offline
            for i in range(3):
                await bus.publish(bus.event("demo.events", "tick", i=i))

            async def handler(_event: Event) -> None:
                raise AssertionError("nothing can arrive offline")

            with pytest.raises(ConfigError, match="no NATS servers"):
                await bus.subscribe("demo.events", handler)
            await bus.close()

        anyio.run(scenario)
        configure_logging("warning", "pretty")
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        offline = [line for line in lines if "no NATS servers configured" in line["event"]]
        assert len(offline) == 1
        assert offline[0]["logger"] == "shared_core.events"

    def test_unreachable_server_is_an_io_error_soon(self) -> None:
        """A first connection is retried a bounded number of times, then fails clearly."""
        from shared_core.errors import IoError
        from shared_core.testing import free_port

        async def scenario() -> None:
            bus = EventBus(source="test", connect_attempts=2)
            with anyio.fail_after(10), pytest.raises(IoError, match="cannot connect to NATS"):
                await bus.connect(f"nats://127.0.0.1:{free_port()}")

        anyio.run(scenario)

    @pytest.mark.parametrize("command", [["events-tail"], ["events", "tail"]])
    def test_events_tail_without_servers_is_a_usage_error(self, command: list[str]) -> None:
        result = run_cli(main, [*command, "demo.events", "--count", "1"])
        assert result.code == 2
        assert "no NATS servers" in result.err

    def test_events_needs_a_known_action(self) -> None:
        result = run_cli(main, ["events", "follow", "demo.events"])
        assert result.code == 2
        assert "follow" in result.err


def test_events_arrive_in_order(nats_server: NatsServer) -> None:
    """Two hundred events from one publisher reach a subscriber in publication order."""

    async def scenario() -> list[int]:
        got: list[int] = []

        async def collect(event: Event) -> None:
            got.append(int(str(event.payload["n"])))

        async with EventBus(source="pub") as pub, EventBus(source="sub") as sub:
            await sub.connect(nats_server.url)
            await pub.connect(nats_server.url)
            await sub.subscribe("demo.>", collect)
            await sub.flush()
            for n in range(200):
                await pub.publish(pub.event("demo.order", "tick", n=n))
            await pub.flush()
            await _wait_for(lambda: len(got) >= 200)
        return got

    assert anyio.run(scenario) == list(range(200))


def test_durable_consumer_resumes_after_server_restart(nats_server: NatsServer) -> None:
    """A durable consumer away during a restart gets exactly the events it missed; a live one misses none."""

    async def scenario() -> tuple[list[int], list[int], list[int]]:
        live: list[int] = []
        first: list[int] = []
        resumed: list[int] = []

        def into(target: list[int]) -> EventHandler:
            async def handler(event: Event) -> None:
                target.append(int(str(event.payload["n"])))

            return handler

        pub = EventBus(source="pub", backoff_base=0.05, backoff_max=0.5)
        await pub.connect(nats_server.url)
        await pub.ensure_stream("jobs.events")
        watcher = EventBus(source="live", backoff_base=0.05, backoff_max=0.5)
        await watcher.connect(nats_server.url)
        await watcher.subscribe("jobs.events", into(live), durable="live")
        away = EventBus(source="away")
        await away.connect(nats_server.url)
        await away.subscribe("jobs.events", into(first), durable="away")

        for n in range(5):
            await pub.publish(pub.event("jobs.events", "job", n=n))
        await _wait_for(lambda: len(first) == 5 and len(live) == 5)
        await away.close()  # the "away" consumer leaves; its position stays on the server
        for n in range(5, 10):
            await pub.publish(pub.event("jobs.events", "job", n=n))

        await anyio.to_thread.run_sync(nats_server.restart)
        await _wait_for(lambda: pub.connected and watcher.connected, timeout=15)
        for n in range(10, 15):
            await pub.publish(pub.event("jobs.events", "job", n=n))

        back = EventBus(source="away")
        await back.connect(nats_server.url)
        await back.subscribe("jobs.events", into(resumed), durable="away")
        await _wait_for(lambda: len(resumed) >= 10 and len(live) >= 15, timeout=15)
        await anyio.sleep(0.3)  # nothing more (no redelivery of acknowledged events)
        for bus in (back, watcher, pub):
            await bus.close()
        return first, resumed, live

    first, resumed, live = anyio.run(scenario)
    assert first == list(range(5))
    assert resumed == list(range(5, 15))
    assert live == list(range(15))


def test_events_tail_prints_json_lines(nats_server: NatsServer) -> None:
    """`events-tail --durable` prints the stored events as JSON lines and stops at --count."""
    with BlockingEventBus(EventBus(source="tail-test")) as bus:
        bus.connect(nats_server.url)
        bus.ensure_stream("tail.events")
        for n in range(4):
            bus.publish(bus.bus.event("tail.events", "tick", n=n))
    argv = ["--nats-servers", nats_server.url, "events-tail", "tail.events"]
    spelled = ["--nats-servers", nats_server.url, "events", "tail", "tail.events"]
    result = run_cli(main, [*spelled, "--durable", "t1", "--count", "3", "--timeout", "10"])
    assert result.code == 0, result.err
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert [line["payload"]["n"] for line in lines] == [0, 1, 2]
    assert {line["source"] for line in lines} == {"tail-test"}
    again = run_cli(main, [*argv, "--durable", "t1", "--count", "1", "--timeout", "10"])
    assert again.code == 0, again.err
    assert [json.loads(line)["payload"]["n"] for line in again.out.splitlines()] == [3]
    nothing = run_cli(main, [*argv, "--count", "1", "--timeout", "0.5"])
    assert nothing.code == 1
    assert nothing.out == ""
