"""Replication of the ledger over NATS JetStream: one ordered stream, every node applies it.

Writes do not go to the local ledger directly: a node *proposes* an
operation (add these decisions, revoke these ids) by publishing it to a
JetStream stream replicated on several servers (R3 by default, Raft inside
nats-server: no home-made consensus).  The stream's sequence is the one
total order; every node consumes the stream from the position after the
last one it applied and calls :meth:`Ledger.apply_replicated`, which appends
the same entries everywhere (times and decision fields come from the
operation), so every node reaches the same Merkle root.  Each node signs
checkpoints of that root with its own key.

Exactly once: publishes carry a ``Nats-Msg-Id`` (JetStream drops a
duplicate within the stream's duplicate window, so a retried publish after a
server failure does not add twice), and a node stores the stream position
in the same SQLite transaction as the entries, so redelivery after a crash
or restart is skipped.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Sequence
from typing import Any

import anyio
import nats
import orjson
from nats.errors import ConnectionReconnectingError, NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import (
    BadRequestError,
    NoStreamResponseError,
    NotFoundError,
    ServerError,
    ServiceUnavailableError,
)

from cross_domain_autoblocker_ledger._decision import Decision
from cross_domain_autoblocker_ledger._ledger import Ledger
from cross_domain_autoblocker_ledger.errors import LedgerReplicationError

__all__ = ["JetStreamReplicator"]

# What a cluster answers while a leader is being elected or a server has just
# died: all safe to retry (publishes carry a message id, so JetStream dedupes).
_RETRYABLE = (
    ServiceUnavailableError,
    NoRespondersError,
    NoStreamResponseError,
    NatsTimeoutError,
    NotFoundError,
    BadRequestError,
    ServerError,
    ConnectionReconnectingError,
)


class JetStreamReplicator:
    """One node's link between its :class:`Ledger` and the shared stream.

    Args:
        ledger: this node's ledger (opened by the caller).
        servers: NATS URLs (all cluster members, so the client fails over).
        stream: JetStream stream name; ``subject`` the subject it holds.
        replicas: stream replicas (3 for a 3-server cluster).
        timeout: seconds allowed for connecting/creating and for each publish.
    """

    def __init__(
        self,
        ledger: Ledger,
        servers: Sequence[str],
        *,
        stream: str = "CDABL_LEDGER",
        subject: str = "cdabl.ledger.ops",
        replicas: int = 3,
        timeout: float = 30.0,
    ) -> None:
        self.ledger = ledger
        self.servers = list(servers)
        self.stream = stream
        self.subject = subject
        self.replicas = replicas
        self.timeout = timeout
        self._nc: Any = None
        self._js: Any = None
        self._sub: Any = None
        self._applied = anyio.Event()

    async def start(self) -> None:
        """Connect, make sure the stream exists, and start applying it from our position."""
        try:
            self._nc = await nats.connect(
                servers=self.servers,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.2,
                connect_timeout=2,
                allow_reconnect=True,
            )
        except Exception as exc:  # nats-py raises a variety of errors when no server answers
            raise LedgerReplicationError(
                f"cannot connect to NATS at {', '.join(self.servers)}: {exc}",
                hint="start nats-server with -js, or check the URLs",
            ) from exc
        self._js = self._nc.jetstream(timeout=5)
        await self._retry(self._ensure_stream)
        await self._retry(self._subscribe)

    @property
    def connection(self) -> Any:
        """The nats-py connection (after :meth:`start`), shared with the node's event bus."""
        if self._nc is None:
            raise LedgerReplicationError("the replicator is not started", hint="call start() first")
        return self._nc

    async def _retry(self, step: Any) -> None:
        # A JetStream cluster answers "unavailable" until its meta leader is
        # elected (and briefly after a server dies): retry until the deadline.
        try:
            with anyio.fail_after(self.timeout):
                while True:
                    try:
                        await step()
                        return
                    except _RETRYABLE:
                        await anyio.sleep(0.2)
        except TimeoutError as exc:
            raise LedgerReplicationError(
                f"JetStream did not become available within {self.timeout:.0f}s",
                hint="check that a majority of the NATS cluster is up and started with -js",
            ) from exc

    async def _ensure_stream(self) -> None:
        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            await self._js.add_stream(
                StreamConfig(
                    name=self.stream,
                    subjects=[self.subject],
                    storage=StorageType.FILE,
                    num_replicas=self.replicas,
                    duplicate_window=120.0,
                )
            )

    async def _subscribe(self) -> None:
        start = self.ledger.applied_position + 1
        self._sub = await self._js.subscribe(
            self.subject,
            stream=self.stream,
            cb=self._on_message,
            ordered_consumer=True,
            # Heartbeats every second: a consumer lost with its server is noticed
            # (and recreated from the last position) in seconds, not tens of them.
            idle_heartbeat=1.0,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start
            ),
        )

    async def _on_message(self, msg: Any) -> None:
        position = int(msg.metadata.sequence.stream)
        try:
            op = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            op = {}
        self.ledger.apply_replicated(position, op if isinstance(op, dict) else {})
        self._applied.set()
        self._applied = anyio.Event()

    async def _publish(self, op: dict[str, Any], op_id: str) -> int:
        payload = orjson.dumps(op)
        last: Exception | None = None
        with anyio.move_on_after(self.timeout):
            while True:
                try:
                    ack = await self._js.publish(
                        self.subject, payload, stream=self.stream, headers={"Nats-Msg-Id": op_id}
                    )
                    return int(ack.seq)
                except _RETRYABLE as exc:  # a server died under us: retry, dedupe makes it safe
                    last = exc
                    await anyio.sleep(0.2)
        raise LedgerReplicationError(
            f"could not publish to JetStream within {self.timeout:.0f}s: {last}",
            hint="check that a majority of the NATS cluster is up",
        )

    async def propose_add(self, decisions: Sequence[Decision]) -> int:
        """Publish decisions to add; returns the stream position of the operation."""
        op = {
            "op": "add",
            "time": self.ledger.clock(),
            "decisions": [{**d.to_dict(), "id": 0} for d in decisions],
        }
        return await self._publish(
            op, "add-" + (decisions[0].uuid if decisions else uuid.uuid4().hex)
        )

    async def propose_delete(self, ids: Sequence[int], reason: str = "") -> int:
        """Publish revocations; returns the stream position of the operation."""
        op = {
            "op": "delete",
            "time": self.ledger.clock(),
            "ids": [int(i) for i in ids],
            "reason": reason,
        }
        return await self._publish(op, "del-" + uuid.uuid4().hex)

    async def wait_applied(self, position: int, timeout: float | None = None) -> None:
        """Wait until this node has applied the stream up to ``position``."""
        limit = self.timeout if timeout is None else timeout
        try:
            with anyio.fail_after(limit if not math.isinf(limit) else None):
                while self.ledger.applied_position < position:
                    await self._applied.wait()
        except TimeoutError as exc:
            raise LedgerReplicationError(
                f"node applied stream position {self.ledger.applied_position}, not {position}, within {limit:.0f}s",
                hint="check the node's connection to NATS",
            ) from exc

    async def stream_last_position(self) -> int:
        """The stream's last sequence, as the cluster reports it."""
        info = await self._js.stream_info(self.stream)
        return int(info.state.last_seq)

    async def stop(self) -> None:
        """Unsubscribe and close the connection (the ledger stays open)."""
        if self._sub is not None:
            # The connection may already be gone; unsubscribing is best effort.
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        if self._nc is not None:
            await self._nc.close()
