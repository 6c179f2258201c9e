"""Where a node's writes go: straight into its ledger, or through the replication stream.

Everything that changes the ledger (the detection pipeline, the CLI's manual
decisions, the HTTP API) writes through a :class:`LedgerWriter`, so one
setting (``nats_servers``) switches a node between standalone and
replicated without any of them knowing:

* :class:`LocalWriter` appends to the local ledger;
* :class:`EtcdWriter` does the same through an operation log in etcd
  (``etcd_endpoints``), for sites that run etcd rather than NATS;
* :class:`ReplicatedWriter` proposes to the JetStream stream and returns
  once *this* node has applied the operation (so a caller reads its own
  write), running the asyncio client in a background event loop thread.
  It also announces each write on the event bus subject ``ledger.decisions``
  (``decision.added`` / ``decision.deleted``, :mod:`shared_core.events`),
  over the same NATS connection; a failed announcement is logged, never
  turned into a failed write.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from typing import Protocol

from anyio.from_thread import BlockingPortal, start_blocking_portal

from cross_domain_autoblocker_ledger._decision import Decision
from cross_domain_autoblocker_ledger._ledger import Ledger
from cross_domain_autoblocker_ledger.errors import LedgerDecisionError
from shared_core.events import Event, EventBus
from shared_core.logging import get_logger

__all__ = ["DECISIONS_SUBJECT", "EtcdWriter", "LedgerWriter", "LocalWriter", "ReplicatedWriter"]

DECISIONS_SUBJECT = "ledger.decisions"

log = get_logger("cross_domain_autoblocker_ledger.writer")


class LedgerWriter(Protocol):
    """Adds and revokes decisions; returns them as recorded (with ids)."""

    ledger: Ledger

    def add(self, decisions: Sequence[Decision]) -> list[Decision]: ...

    def delete(self, ids: Sequence[int], reason: str = "") -> list[Decision]: ...

    def close(self) -> None: ...


class LocalWriter:
    """Writes go to the local ledger (a standalone node)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def add(self, decisions: Sequence[Decision]) -> list[Decision]:
        return self.ledger.add(decisions)

    def delete(self, ids: Sequence[int], reason: str = "") -> list[Decision]:
        return self.ledger.delete(ids, reason)

    def close(self) -> None:
        """Nothing to release: the caller owns the ledger."""


class ReplicatedWriter:
    """Writes go through NATS JetStream; every node (this one included) applies them.

    Args:
        ledger: this node's ledger.
        servers: NATS URLs of the cluster.
        replicas: stream replicas (3 on a 3-server cluster, 1 for a single server).
        timeout: seconds allowed for reaching the cluster and for each write.
    """

    def __init__(
        self, ledger: Ledger, servers: Sequence[str], *, replicas: int = 3, timeout: float = 30.0
    ) -> None:
        from cross_domain_autoblocker_ledger._replication import JetStreamReplicator

        self.ledger = ledger
        self._stack = ExitStack()
        self._portal: BlockingPortal = self._stack.enter_context(start_blocking_portal())
        self.replicator = JetStreamReplicator(ledger, servers, replicas=replicas, timeout=timeout)
        self.events = EventBus(source="cross_domain_autoblocker_ledger")
        try:
            self._portal.call(self.replicator.start)
            self._portal.call(self.events.attach, self.replicator.connection)
        except BaseException:
            self._stack.close()
            raise

    def _announce(self, event_type: str, decisions: Sequence[Decision], **extra: str) -> None:
        if not decisions:
            return
        event = Event(
            subject=DECISIONS_SUBJECT,
            event_type=event_type,
            source="cross_domain_autoblocker_ledger",
            payload={
                "origin": self.ledger.origin,
                "decisions": [d.to_dict() for d in decisions],
                **extra,
            },
        )
        try:
            self._portal.call(self.events.publish, event)
        except Exception as exc:  # the write is recorded; only its announcement is lost
            log.warning(
                "could not publish the decision event", event_type=event_type, error=str(exc)
            )

    def add(self, decisions: Sequence[Decision]) -> list[Decision]:
        if not decisions:
            return []
        position = self._portal.call(self.replicator.propose_add, list(decisions))
        self._portal.call(self.replicator.wait_applied, position)
        wanted = {d.uuid for d in decisions}
        added = sorted(
            (d for d in self.ledger.decisions.values() if d.uuid in wanted), key=lambda d: d.id
        )
        self._announce("decision.added", added)
        return added

    def delete(self, ids: Sequence[int], reason: str = "") -> list[Decision]:
        _check_deletable(self.ledger, ids)
        if not ids:
            return []
        position = self._portal.call(self.replicator.propose_delete, list(ids), reason)
        self._portal.call(self.replicator.wait_applied, position)
        deleted = [self.ledger.decisions[i] for i in ids if i in self.ledger.deleted]
        self._announce("decision.deleted", deleted, reason=reason)
        return deleted

    def sync(self) -> int:
        """Apply everything the stream holds so far; returns the position reached."""
        last = self._portal.call(self.replicator.stream_last_position)
        self._portal.call(self.replicator.wait_applied, last)
        return last

    def close(self) -> None:
        try:
            self._portal.call(self.events.close)
            self._portal.call(self.replicator.stop)
        finally:
            self._stack.close()


def _check_deletable(ledger: Ledger, ids: Sequence[int]) -> None:
    """A bad id is an error for the caller, not a silent no-op in the replicated log."""
    for decision_id in ids:
        if decision_id not in ledger.decisions:
            raise LedgerDecisionError(
                f"no decision has id {decision_id}",
                id=decision_id,
                hint="list them with 'decisions list'",
            )
        if decision_id in ledger.deleted:
            raise LedgerDecisionError(
                f"decision {decision_id} is already deleted",
                id=decision_id,
                hint="list active ones with 'decisions list'",
            )


class EtcdWriter:
    """Writes go through an operation log in etcd; every node (this one included) applies them.

    Returns once *this* node has applied its own write, so a caller reads it
    back at once; a background thread keeps applying other nodes' writes.

    Args:
        ledger: this node's ledger.
        endpoints: etcd client URLs (``http://HOST:PORT``), comma-separated or a list.
        prefix: the key prefix of this ledger's log.
        timeout: seconds allowed for reaching the cluster and for each write.
    """

    def __init__(
        self,
        ledger: Ledger,
        endpoints: Sequence[str] | str,
        *,
        prefix: str = "/cdabl/ledger",
        timeout: float = 30.0,
        follow: bool = True,
    ) -> None:
        from cross_domain_autoblocker_ledger._etcd import EtcdReplicator

        self.ledger = ledger
        self.replicator = EtcdReplicator(ledger, endpoints, prefix=prefix, timeout=timeout)
        try:
            self.replicator.start(follow=follow)
        except BaseException:
            self.replicator.stop()
            raise

    def add(self, decisions: Sequence[Decision]) -> list[Decision]:
        if not decisions:
            return []
        position = self.replicator.propose_add(list(decisions))
        self.replicator.wait_applied(position)
        wanted = {d.uuid for d in decisions}
        return sorted(
            (d for d in self.ledger.decisions.values() if d.uuid in wanted), key=lambda d: d.id
        )

    def delete(self, ids: Sequence[int], reason: str = "") -> list[Decision]:
        _check_deletable(self.ledger, ids)
        if not ids:
            return []
        position = self.replicator.propose_delete(list(ids), reason)
        self.replicator.wait_applied(position)
        return [self.ledger.decisions[i] for i in ids if i in self.ledger.deleted]

    def sync(self) -> int:
        """Apply everything the log holds so far; returns the position reached."""
        last = self.replicator.last_position()
        self.replicator.wait_applied(last)
        return last

    def close(self) -> None:
        self.replicator.stop()
