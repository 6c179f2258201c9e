"""Typed events on NATS: publish, subscribe, JetStream durable consumers, offline-first.

An :class:`Event` is a pydantic model sent as one JSON object per message::

    {"id": "…", "subject": "chaos.events", "event_type": "experiment.started",
     "time": "2026-11-25T13:00:00Z", "source": "chaos_engine", "payload": {...}}

:class:`EventBus` is the asynchronous client (nats-py, so the asyncio backend
of anyio):

* ``await bus.connect(servers)``: the first connection is retried with
  exponential backoff and full jitter; afterwards nats-py reconnects forever,
  with the same backoff between attempts, replaying subscriptions.
* ``await bus.publish(event)``: core NATS; messages from one connection
  arrive in the order they were published.  When the bus has made sure of a
  JetStream stream for the subject (:meth:`EventBus.ensure_stream`, or a
  durable subscription), the publish is a JetStream publish that waits for the
  server's acknowledgement and carries the event id as ``Nats-Msg-Id`` (so a
  retried publish is stored once).
* ``await bus.subscribe(subject, handler)``: the handler is awaited for each
  event, one at a time, in order.  With ``durable=NAME`` the subscription is
  a JetStream pull consumer of that name on a file-backed stream (created if
  missing): events are acknowledged after the handler returns, so delivery
  survives a server restart and a subscriber that was away resumes where it
  stopped.

Offline-first: a bus with no servers configured (``None``, ``""`` or an
empty list) publishes nothing and says so in one log line, once; subscribing
raises :class:`~shared_core.errors.ConfigError`, since nothing could arrive.

:class:`BlockingEventBus` gives synchronous, threaded code (an experiment
runner, a WSGI handler) the same bus on a background event loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any, Self

import nats
import pydantic
from anyio.from_thread import BlockingPortal, start_blocking_portal
from nats.aio.client import Client as NatsClient
from nats.aio.client import Server as NatsServer
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from shared_core.concurrency import RetryPolicy, retry
from shared_core.errors import ConcurrencyError, ConfigError, IoError, ValidationError
from shared_core.logging import get_logger

__all__ = [
    "BlockingEventBus",
    "Event",
    "EventBus",
    "EventHandler",
    "EventSubscription",
    "parse_servers",
    "stream_name_for",
]

_log = get_logger("shared_core.events")


def _valid_subject(subject: str, *, wildcards: bool) -> bool:
    """Dot-separated non-empty tokens without spaces; ``*`` tokens and a final ``>`` if allowed."""
    tokens = subject.split(".")
    for index, part in enumerate(tokens):
        if not part or any(c.isspace() for c in part):
            return False
        if part in ("*", ">"):
            if not wildcards or (part == ">" and index != len(tokens) - 1):
                return False
        elif "*" in part or ">" in part:
            return False
    return True


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """One event: where it goes, what happened, when, who said so, and its data.

    Subclass it to give ``payload`` a fixed shape or to pin ``subject`` and
    ``event_type`` for a system's own events; the wire form stays the same.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str = Field(description="NATS subject, e.g. chaos.events")
    event_type: str = Field(min_length=1, description="what happened, e.g. experiment.started")
    source: str = Field(min_length=1, description="the system that emitted the event")
    time: datetime = Field(default_factory=_utc_now, description="when, timezone-aware")
    id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1)
    payload: dict[str, JsonValue] = Field(default_factory=dict)

    @pydantic.field_validator("subject")
    @classmethod
    def _plain_subject(cls, value: str) -> str:
        if not _valid_subject(value, wildcards=False):
            raise ValueError(f"{value!r} is not a NATS subject without wildcards")
        return value

    @pydantic.field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a timezone")
        return value

    def to_bytes(self) -> bytes:
        """The wire form: compact JSON, UTF-8."""
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Decode the wire form.

        Raises:
            ValidationError: the message is not JSON of this event's shape.
        """
        try:
            return cls.model_validate_json(data)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            raise ValidationError(
                f"message is not a {cls.__name__}: {first['msg']}",
                field=".".join(str(p) for p in first["loc"]) or None,
            ) from None


EventHandler = Callable[[Event], Awaitable[None]]


def parse_servers(servers: str | Sequence[str] | None) -> list[str]:
    """``"nats://a:4222, nats://b:4222"`` (a setting) or a list, as a clean list of URLs."""
    if servers is None:
        return []
    items = servers.split(",") if isinstance(servers, str) else list(servers)
    return [item.strip() for item in items if item and item.strip()]


def stream_name_for(subject: str) -> str:
    """The JetStream stream the bus creates for ``subject`` (``chaos.events`` → ``EVENTS_CHAOS_EVENTS``)."""
    text = subject.replace("*", "STAR").replace(">", "ALL")
    return "EVENTS_" + re.sub(r"[^A-Za-z0-9_-]", "_", text).upper()


def _check_subject(subject: str, *, wildcards: bool) -> None:
    if not _valid_subject(subject, wildcards=wildcards):
        raise ValidationError(
            f"{subject!r} is not a valid NATS subject",
            field="subject",
            hint="dot-separated tokens without spaces, e.g. chaos.events"
            + ("; * and a final > are wildcards" if wildcards else ""),
        )


class EventSubscription:
    """A live subscription; :meth:`stop` ends it (durable consumers keep their position)."""

    def __init__(
        self,
        subject: str,
        durable: str | None,
        *,
        core: NatsSubscription | None = None,
        task: asyncio.Task[None] | None = None,
        pull: JetStreamContext.PullSubscription | None = None,
    ) -> None:
        self.subject = subject
        self.durable = durable
        self._core = core
        self._task = task
        self._pull = pull
        self.stopped = False
        self.stopping = asyncio.Event()

    async def stop(self) -> None:
        """Stop receiving.  Safe to call twice and after the connection is gone."""
        if self.stopped:
            return
        self.stopped = True
        self.stopping.set()
        if self._task is not None:
            # Let the fetch in flight finish, so fetched events are handed back, not held.
            done, _ = await asyncio.wait({self._task}, timeout=3.0)
            if not done:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for sub in (self._core, self._pull):
            if sub is not None:
                # The connection may already be closed; the server drops the interest then.
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()


class EventBus:
    """Publish and subscribe to typed events on NATS (see the module docstring).

    Args:
        source: default ``source`` of events this bus builds with :meth:`event`.
        name: connection name shown in the server's monitoring.
        connect_timeout: seconds for one TCP/TLS connection attempt.
        connect_attempts: attempts of the first connection before giving up.
        backoff_base: first reconnection delay in seconds (doubled each attempt).
        backoff_max: the largest reconnection delay.
        publish_timeout: seconds a JetStream publish waits for its acknowledgement.
        stream_replicas: replicas of streams the bus creates (1 for a single server).
    """

    def __init__(
        self,
        *,
        source: str = "shared_core",
        name: str | None = None,
        connect_timeout: float = 2.0,
        connect_attempts: int = 5,
        backoff_base: float = 0.1,
        backoff_max: float = 5.0,
        publish_timeout: float = 5.0,
        stream_replicas: int = 1,
    ) -> None:
        if connect_timeout <= 0 or backoff_base < 0 or backoff_max < backoff_base:
            raise ValidationError(
                "timeouts must be positive and backoff_max at least backoff_base", field="backoff"
            )
        self.source = source
        self.name = name or source
        self.connect_timeout = connect_timeout
        self.connect_attempts = connect_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.publish_timeout = publish_timeout
        self.stream_replicas = stream_replicas
        self.servers: list[str] = []
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._streams: dict[str, str] = {}
        self._subs: list[EventSubscription] = []
        self._offline_logged = False
        self._connected_once = False
        self._owns_connection = True

    # -- connection ---------------------------------------------------------------------
    @property
    def offline(self) -> bool:
        """True when no server is configured: publishing is a no-op."""
        return not self.servers

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def _reconnect_delay(self, attempt: int) -> float:
        cap = min(self.backoff_max, self.backoff_base * 2.0 ** max(attempt - 1, 0))
        return random.uniform(cap / 2, cap)  # noqa: S311  # jitter, not cryptography

    def _choose_server(
        self, pool: list[NatsServer], _info: dict[str, Any]
    ) -> tuple[NatsServer | None, float]:
        # Exponential backoff with jitter: the server tried least recently failing first.
        server = min(pool, key=lambda s: s.reconnects)
        return server, self._reconnect_delay(server.reconnects)

    async def _on_error(self, exc: Exception) -> None:
        _log.debug("nats connection error", error=f"{type(exc).__name__}: {exc}")

    async def _on_disconnected(self) -> None:
        if self._connected_once and self._nc is not None and not self._nc.is_closed:
            _log.warning("lost the NATS connection; reconnecting", servers=self.servers)

    async def _on_reconnected(self) -> None:
        url = self._nc.connected_url.netloc if self._nc and self._nc.connected_url else None
        _log.info("reconnected to NATS", server=url)

    async def connect(self, servers: str | Sequence[str] | None) -> None:
        """Connect to the first server of ``servers`` that answers.

        ``None`` or an empty value leaves the bus offline (publishing is a
        no-op).  Reconnection after a lost connection is automatic.

        Raises:
            IoError: no server answered within ``connect_attempts`` attempts.
        """
        self.servers = parse_servers(servers)
        if self.offline:
            return
        if self._nc is not None:
            await self.close()

        async def attempt() -> NatsClient:
            return await nats.connect(
                servers=self.servers,
                name=self.name,
                connect_timeout=max(1, round(self.connect_timeout)),
                # nats-py would retry a first connection forever with an unlimited
                # count; it is bounded here and retried with backoff around this call.
                allow_reconnect=True,
                max_reconnect_attempts=1,
                reconnect_time_wait=self.backoff_base,
                reconnect_to_server_handler=self._choose_server,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
            )

        policy = RetryPolicy(
            attempts=max(1, self.connect_attempts),
            base_delay=self.backoff_base,
            max_delay=self.backoff_max,
        )
        try:
            self._nc = await retry(attempt, policy=policy)
        except ConcurrencyError as exc:
            cause = exc.__cause__
            raise IoError(
                f"cannot connect to NATS at {', '.join(self.servers)}: {cause}",
                servers=",".join(self.servers),
                hint="start nats-server (with -js for durable consumers), or check the URLs",
            ) from cause
        # Connected: from now on a lost connection is re-established forever, with backoff.
        self._nc.options["max_reconnect_attempts"] = -1
        self._js = self._nc.jetstream(timeout=self.publish_timeout)
        self._connected_once = True
        _log.debug("connected to NATS", servers=self.servers)

    async def attach(self, client: NatsClient) -> None:
        """Use a nats-py connection that other code already holds (one connection per process).

        :meth:`close` then stops this bus's subscriptions but leaves the
        connection open for its owner; reconnection is the owner's settings.
        """
        if self._nc is not None:
            await self.close()
        self.servers = [uri.geturl() for uri in client.servers] or ["attached"]
        self._nc = client
        self._js = client.jetstream(timeout=self.publish_timeout)
        self._owns_connection = False
        self._connected_once = True

    async def close(self) -> None:
        """Stop every subscription and close the connection (pending publishes are flushed)."""
        for sub in self._subs:
            await sub.stop()
        self._subs.clear()
        nc, self._nc, self._js = self._nc, None, None
        self._streams.clear()
        if nc is not None and not self._owns_connection:
            with contextlib.suppress(Exception):
                await nc.flush(timeout=1)
        elif nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                await nc.flush(timeout=1)
            await nc.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _require(self) -> tuple[NatsClient, JetStreamContext]:
        if self.offline:
            raise ConfigError(
                "no NATS servers are configured, so nothing can be received",
                key="nats_servers",
                hint="set --nats-servers (or the NATS_SERVERS setting of the system), "
                "e.g. nats://127.0.0.1:4222",
            )
        if self._nc is None or self._js is None:
            raise ValidationError(
                "the event bus is not connected", hint="await bus.connect(servers) first"
            )
        return self._nc, self._js

    # -- publishing -----------------------------------------------------------------------
    def event(self, subject: str, event_type: str, **payload: JsonValue) -> Event:
        """Build an :class:`Event` from this bus's ``source``."""
        return Event(subject=subject, event_type=event_type, source=self.source, payload=payload)

    async def publish(self, event: Event) -> None:
        """Send ``event`` on its subject (a no-op, logged once, when offline).

        Raises:
            IoError: the connection is closed, or JetStream did not acknowledge.
        """
        if self.offline:
            if not self._offline_logged:
                self._offline_logged = True
                _log.info(
                    "no NATS servers configured; events are not published (set nats_servers "
                    "to publish them)",
                    subject=event.subject,
                    event_type=event.event_type,
                )
            return
        nc, js = self._require()
        data = event.to_bytes()
        stream = self._streams.get(event.subject)
        try:
            if stream is None:
                await nc.publish(event.subject, data)
            else:
                await js.publish(
                    event.subject,
                    data,
                    stream=stream,
                    timeout=self.publish_timeout,
                    headers={"Nats-Msg-Id": event.id},
                )
        except Exception as exc:  # nats-py raises several unrelated error types here
            raise IoError(
                f"could not publish {event.event_type} on {event.subject}: "
                f"{type(exc).__name__}: {exc}",
                subject=event.subject,
                hint="check that the NATS server is up",
            ) from exc

    async def flush(self, timeout: float = 5.0) -> None:
        """Wait until the server has received everything published so far."""
        if self.offline:
            return
        nc, _ = self._require()
        try:
            await nc.flush(timeout=max(1, round(timeout)))
        except Exception as exc:
            raise IoError(f"NATS flush failed: {exc}", hint="check the NATS server") from exc

    # -- JetStream --------------------------------------------------------------------------
    async def ensure_stream(self, subject: str, stream: str | None = None) -> str:
        """Make sure a file-backed JetStream stream holds ``subject``; returns its name.

        An existing stream that already covers the subject is reused; otherwise
        ``stream`` (default :func:`stream_name_for`) is created.  Publishes on
        the subject from this bus are then acknowledged by JetStream.
        """
        _check_subject(subject, wildcards=True)
        _, js = self._require()
        name: str | None = None
        try:
            if stream is None:
                name = await js.find_stream_name_by_subject(subject)
            else:
                await js.stream_info(stream)
                name = stream
        except NotFoundError:
            name = stream or stream_name_for(subject)
            try:
                await js.add_stream(
                    StreamConfig(
                        name=name,
                        subjects=[subject],
                        storage=StorageType.FILE,
                        num_replicas=self.stream_replicas,
                        duplicate_window=120.0,
                    )
                )
            except Exception as exc:
                raise IoError(
                    f"cannot create JetStream stream {name} for {subject}: {exc}",
                    hint="start nats-server with -js (JetStream enabled)",
                ) from exc
        except Exception as exc:
            raise IoError(
                f"JetStream is not available for {subject}: {type(exc).__name__}: {exc}",
                hint="start nats-server with -js (JetStream enabled)",
            ) from exc
        self._streams[subject] = name
        return name

    # -- subscribing ----------------------------------------------------------------------
    async def _deliver(self, handler: EventHandler, data: bytes, subject: str) -> bool:
        """Decode and hand one message to the handler; False when it should be redelivered."""
        try:
            event = Event.from_bytes(data)
        except ValidationError as exc:
            _log.warning("dropping a message that is not an event", subject=subject, error=str(exc))
            return True
        try:
            await handler(event)
        except Exception as exc:
            _log.warning(
                "event handler failed",
                subject=subject,
                event_type=event.event_type,
                error=f"{type(exc).__name__}: {exc}",
            )
            return False
        return True

    async def subscribe(
        self,
        subject: str,
        handler: EventHandler,
        *,
        durable: str | None = None,
        stream: str | None = None,
        batch: int = 64,
    ) -> EventSubscription:
        """Call ``handler`` for every event on ``subject`` (wildcards allowed), in order.

        Args:
            durable: a JetStream consumer name: events are kept while the
                subscriber is away and across server restarts, and each is
                acknowledged only after ``handler`` returns (a handler that
                raises gets it again a second later).
            stream: the stream to use or create for a durable consumer.
            batch: how many events a durable consumer fetches at once.

        Raises:
            ConfigError: no servers are configured (offline).
            IoError: JetStream is unavailable for a durable consumer.
        """
        _check_subject(subject, wildcards=True)
        nc, js = self._require()
        if durable is None:

            async def on_message(msg: Msg) -> None:
                await self._deliver(handler, msg.data, msg.subject)

            core = await nc.subscribe(subject, cb=on_message)
            sub = EventSubscription(subject, None, core=core)
            self._subs.append(sub)
            return sub
        if not re.fullmatch(r"[A-Za-z0-9_-]+", durable):
            raise ValidationError(
                f"durable name {durable!r} may hold only letters, digits, - and _",
                field="durable",
            )
        stream_name = await self.ensure_stream(subject, stream)
        try:
            pull = await js.pull_subscribe(
                subject,
                durable=durable,
                stream=stream_name,
                config=ConsumerConfig(
                    durable_name=durable,
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_wait=30.0,
                    max_ack_pending=max(batch, 1),
                ),
            )
        except Exception as exc:
            raise IoError(
                f"cannot create durable consumer {durable} on {stream_name}: {exc}",
                hint="check that nats-server runs with -js",
            ) from exc
        sub = EventSubscription(subject, durable, pull=pull)
        sub._task = asyncio.get_running_loop().create_task(
            self._pull_loop(
                pull, handler, stopping=sub.stopping, subject=subject, durable=durable, batch=batch
            ),
            name=f"events-{durable}",
        )
        self._subs.append(sub)
        return sub

    async def _pull_loop(
        self,
        pull: JetStreamContext.PullSubscription,
        handler: EventHandler,
        *,
        stopping: asyncio.Event,
        subject: str,
        durable: str,
        batch: int,
    ) -> None:
        failures = 0
        while not stopping.is_set():
            try:
                messages = await pull.fetch(batch=max(batch, 1), timeout=0.5)
            except NatsTimeoutError:
                failures = 0
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # server restarting, leader moving: back off, try again
                failures += 1
                pause = self._reconnect_delay(failures)
                _log.debug("durable fetch failed", durable=durable, error=str(exc), retry_in=pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), pause)
                continue
            failures = 0
            for msg in messages:
                if stopping.is_set():
                    await self._settle(msg.nak())  # back to the stream for the next reader
                elif await self._deliver(handler, msg.data, subject):
                    await self._settle(msg.ack())
                else:
                    await self._settle(msg.nak(delay=1.0))

    @staticmethod
    async def _settle(step: Awaitable[None]) -> None:
        # An ack lost to a dropped connection means a redelivery, never a lost event.
        try:
            await step
        except Exception as exc:
            _log.debug("could not acknowledge an event", error=str(exc))


class BlockingEventBus:
    """An :class:`EventBus` for synchronous code, on its own event loop thread.

    Every method may be called from any thread; they block until done.  Use it
    as a context manager, or call :meth:`close`.
    """

    def __init__(self, bus: EventBus | None = None) -> None:
        self.bus = bus or EventBus()
        self._stack = ExitStack()
        self._portal: BlockingPortal = self._stack.enter_context(start_blocking_portal())

    @property
    def offline(self) -> bool:
        return self.bus.offline

    def connect(self, servers: str | Sequence[str] | None) -> None:
        try:
            self._portal.call(self.bus.connect, servers)
        except BaseException:
            self._stack.close()
            raise

    def publish(self, event: Event) -> None:
        self._portal.call(self.bus.publish, event)

    def flush(self, timeout: float = 5.0) -> None:
        self._portal.call(self.bus.flush, timeout)

    def ensure_stream(self, subject: str, stream: str | None = None) -> str:
        return self._portal.call(self.bus.ensure_stream, subject, stream)

    def close(self) -> None:
        try:
            self._portal.call(self.bus.close)
        finally:
            self._stack.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
