"""Replication of the ledger through etcd: one ordered log of operations, every node applies it.

The second replicated backend beside NATS JetStream (:mod:`._replication`),
for sites that already run etcd.  etcd's Raft log gives the total order: each
operation (add these decisions, revoke these ids) is written once, under
``PREFIX/ops/OP-ID``, and etcd gives the write a cluster-wide *revision*.
That revision is the operation's position: every node reads the operations
in create-revision order and calls :meth:`Ledger.apply_replicated`, which
appends the same entries everywhere, so every node reaches the same root.

Exactly once: an operation is written in a transaction that only creates its
key if it does not exist (``create_revision == 0``), so a proposal retried
after a lost answer is not added twice (the retry learns the first write's
revision instead); a node stores the position with the entries, so a restart
resumes right after it.

Reading is by range requests (``min_create_revision`` = last applied + 1,
ascending), from the caller's thread when it waits for its own write and
from a background thread every ``poll`` seconds otherwise.  A range read is
linearizable, so once it answers at revision R nothing below R can appear
later: no operation is skipped.  (The gateway's streaming watch is not used:
it does not report a lost connection, and polling an empty range is cheap.)

The client is etcd3gw (etcd's v3 API over its gRPC gateway, JSON over HTTP);
several endpoints are tried in turn, so a dead member is skipped.
"""

from __future__ import annotations

import base64
import functools
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson
from etcd3gw.client import Etcd3Client
from etcd3gw.exceptions import Etcd3Exception

from cross_domain_autoblocker_ledger._decision import Decision
from cross_domain_autoblocker_ledger._ledger import Ledger
from cross_domain_autoblocker_ledger.errors import LedgerInputError, LedgerReplicationError

__all__ = ["EtcdReplicator", "parse_endpoints"]

T = TypeVar("T")

_PAGE = 500  # operations per range request while catching up


def _encode(data: str | bytes) -> str:
    """The gateway's JSON carries keys and values in base64."""
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode("ascii")


def parse_endpoints(text: str) -> list[tuple[str, str, int]]:
    """``http://10.0.0.1:2379,http://10.0.0.2:2379`` → ``[(protocol, host, port), ...]``."""
    endpoints: list[tuple[str, str, int]] = []
    for raw in text.split(","):
        url = raw.strip()
        if not url:
            continue
        parts = urlsplit(url if "://" in url else "http://" + url)
        try:
            port = parts.port or 2379
        except ValueError:
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port <= 0:
            raise LedgerInputError(
                f"not an etcd endpoint: {url!r}",
                field="etcd_endpoints",
                hint="write http://HOST:PORT (comma-separated for several members)",
            )
        endpoints.append((parts.scheme, parts.hostname, port))
    if not endpoints:
        raise LedgerInputError(
            "etcd_endpoints holds no URL",
            field="etcd_endpoints",
            hint="e.g. http://10.0.0.1:2379,http://10.0.0.2:2379",
        )
    return endpoints


class EtcdReplicator:
    """One node's link between its :class:`Ledger` and the operation log in etcd.

    Args:
        ledger: this node's ledger (opened by the caller).
        endpoints: etcd client URLs (all cluster members, so a dead one is skipped).
        prefix: where the operations live (one prefix per replicated ledger).
        timeout: seconds allowed for each write and for reaching the cluster.
        poll: seconds between background reads of new operations.
    """

    def __init__(
        self,
        ledger: Ledger,
        endpoints: Sequence[str] | str,
        *,
        prefix: str = "/cdabl/ledger",
        timeout: float = 30.0,
        poll: float = 0.1,
    ) -> None:
        text = endpoints if isinstance(endpoints, str) else ",".join(endpoints)
        self.ledger = ledger
        self.endpoints = parse_endpoints(text)
        self.prefix = prefix.rstrip("/") + "/ops/"
        self.timeout = timeout
        self.poll = poll
        self._clients = [
            Etcd3Client(host=host, port=port, protocol=scheme, timeout=5, api_path="/v3/")
            for scheme, host, port in self.endpoints
        ]
        self._current = 0
        self._apply_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    # -- lifecycle ------------------------------------------------------------

    def start(self, *, follow: bool = True) -> None:
        """Reach the cluster, apply what the log holds, and (``follow``) keep applying it."""
        self.catch_up()
        if follow and self._thread is None:
            self._thread = threading.Thread(
                target=self._follow, name="cdabl-etcd-follower", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop following (the ledger stays open)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout)
            self._thread = None
        for client in self._clients:
            client.session.close()

    def _follow(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.catch_up()
                self.last_error = None
            except LedgerReplicationError as exc:  # keep following: the cluster may come back
                self.last_error = exc.message

    # -- talking to etcd -------------------------------------------------------

    def _call(self, what: str, request: Callable[[Etcd3Client], T]) -> T:
        """Run ``request`` on a live member, failing over and retrying until the deadline."""
        deadline = time.monotonic() + self.timeout
        last: Exception | None = None
        while True:
            for _ in range(len(self._clients)):
                client = self._clients[self._current]
                try:
                    return request(client)
                except (Etcd3Exception, OSError) as exc:  # member down, no leader yet, timeout
                    last = exc
                    self._current = (self._current + 1) % len(self._clients)
            if time.monotonic() >= deadline:
                raise LedgerReplicationError(
                    f"etcd did not answer {what} within {self.timeout:.0f}s: {last}",
                    hint="check that a majority of the etcd cluster is up and the endpoints are right",
                )
            time.sleep(0.2)

    def _range(
        self, client: Etcd3Client, *, after: int, limit: int = _PAGE
    ) -> list[tuple[bytes, Any]]:
        end = self.prefix[:-1] + chr(ord(self.prefix[-1]) + 1)
        return client.get(
            self.prefix,
            metadata=True,
            range_end=end,
            sort_order="ascend",
            sort_target="create",
            limit=limit,
            min_create_revision=after + 1,
        )

    # -- writing --------------------------------------------------------------

    def propose(self, op: dict[str, Any], op_id: str) -> int:
        """Write one operation once; returns its position (the etcd revision that created it)."""
        key = self.prefix + op_id
        value = orjson.dumps(op)

        def create(client: Etcd3Client) -> int:
            txn = {
                "compare": [
                    {
                        "key": _encode(key),
                        "result": "EQUAL",
                        "target": "CREATE",
                        "create_revision": 0,
                    }
                ],
                "success": [{"request_put": {"key": _encode(key), "value": _encode(value)}}],
                "failure": [{"request_range": {"key": _encode(key)}}],
            }
            result: dict[str, Any] = dict(client.transaction(txn))
            if result.get("succeeded"):
                return int(result["header"]["revision"])
            # Already written (a retry after a lost answer): its first revision is its position.
            kvs = result["responses"][0]["response_range"]["kvs"]
            return int(kvs[0]["create_revision"])

        return self._call("a write", create)

    def propose_add(self, decisions: Sequence[Decision]) -> int:
        """Write decisions to add; returns the operation's position."""
        op = {
            "op": "add",
            "time": self.ledger.clock(),
            "decisions": [{**d.to_dict(), "id": 0} for d in decisions],
        }
        # The first decision's uuid names the operation, so proposing the same
        # decisions again (a retry) is recognised; decisions without one get a fresh name.
        name = decisions[0].uuid if decisions and decisions[0].uuid else uuid.uuid4().hex
        return self.propose(op, "add-" + name)

    def propose_delete(self, ids: Sequence[int], reason: str = "") -> int:
        """Write revocations; returns the operation's position."""
        op = {
            "op": "delete",
            "time": self.ledger.clock(),
            "ids": [int(i) for i in ids],
            "reason": reason,
        }
        return self.propose(op, "del-" + uuid.uuid4().hex)

    # -- reading --------------------------------------------------------------

    def catch_up(self) -> int:
        """Apply every operation the log holds beyond this node's position; returns the position."""
        with self._apply_lock:
            while True:
                after = self.ledger.applied_position
                page = self._call("a read", functools.partial(self._range, after=after))
                for value, kv in page:
                    try:
                        op = orjson.loads(value)
                    except orjson.JSONDecodeError:
                        op = {}
                    # A malformed operation is skipped alike by every node (apply_replicated).
                    self.ledger.apply_replicated(
                        int(kv["create_revision"]), op if isinstance(op, dict) else {}
                    )
                if len(page) < _PAGE:
                    return self.ledger.applied_position

    def wait_applied(self, position: int, timeout: float | None = None) -> None:
        """Make sure this node has applied the log up to ``position``."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while self.catch_up() < position:
            if time.monotonic() >= deadline:
                raise LedgerReplicationError(
                    f"node applied log position {self.ledger.applied_position}, not {position}, within {limit:.0f}s",
                    hint="check the node's connection to etcd",
                )
            time.sleep(0.05)

    def last_position(self) -> int:
        """The position of the newest operation in the log (0 when it is empty)."""

        def newest(client: Etcd3Client) -> int:
            end = self.prefix[:-1] + chr(ord(self.prefix[-1]) + 1)
            found = client.get(
                self.prefix,
                metadata=True,
                range_end=end,
                sort_order="descend",
                sort_target="create",
                limit=1,
            )
            return int(found[0][1]["create_revision"]) if found else 0

        return self._call("a read", newest)
