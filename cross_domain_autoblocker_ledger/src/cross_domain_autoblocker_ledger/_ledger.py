"""The append-only, tamper-evident decision ledger.

Every decision and every revocation is one entry; entries are the leaves of
an RFC 9162 Merkle tree (:class:`shared_core.crypto.MerkleTree`), and every
write is sealed by a C2SP checkpoint (origin, size, root) signed with the
log's Ed25519 note key, stored in the same SQLite transaction.

On open, the ledger replays every entry, rebuilds the tree, and checks each
stored checkpoint's signature and root against it.  Any edited, inserted,
reordered or deleted entry changes a root that was signed before, so
tampering with history is detected on start (:class:`LedgerIntegrityError`)
instead of silently serving a rewritten block list.  Anyone holding the
verifier key can check an entry's inclusion in a checkpoint and the
consistency of two checkpoints without trusting this process.

The active decisions and the "is X blocked?" index are *derived* from the
entries; nothing derived is read from disk.

Entry leaves are canonical JSON (sorted keys, no spaces; written by orjson)::

    {"decision": {...}, "op": "add", "seq": 0, "time": 1700000000.0, "v": 1}
    {"id": 1, "op": "delete", "reason": "false positive", "seq": 1, "time": ..., "v": 1}

A decision's id is its ``add`` entry's ``seq + 1``.
"""

from __future__ import annotations

import base64
import bisect
import fcntl
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cross_domain_autoblocker_ledger._decision import Decision
from cross_domain_autoblocker_ledger._index import BlockIndex
from cross_domain_autoblocker_ledger._store import LedgerStore
from cross_domain_autoblocker_ledger.errors import (
    LedgerDecisionError,
    LedgerInputError,
    LedgerIntegrityError,
    LedgerStoreError,
)
from shared_core.crypto import (
    Checkpoint,
    MerkleTree,
    Note,
    NoteSigner,
    NoteVerifier,
    generate_note_key,
    hash_leaf,
    open_note,
)
from shared_core.errors import CoreError

__all__ = ["DEFAULT_ORIGIN", "Entry", "Ledger", "StreamDelta"]

DEFAULT_ORIGIN = "cdabl.local/ledger"


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger entry: a decision added, or a decision revoked."""

    seq: int
    op: str
    time: float
    decision: Decision | None = None
    target: int | None = None
    reason: str = ""

    def leaf(self) -> bytes:
        """The canonical bytes hashed into the tree."""
        body: dict[str, Any] = {"v": 1, "seq": self.seq, "op": self.op, "time": self.time}
        if self.op == "add" and self.decision is not None:
            body["decision"] = self.decision.to_dict()
        else:
            body["id"] = self.target
            body["reason"] = self.reason
        return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)

    @classmethod
    def parse(cls, leaf: bytes) -> Entry:
        """Read a stored leaf back.

        The bytes themselves are what the tree hashes and the checkpoints
        sign, so a leaf edited into another (even equivalent) form changes a
        signed root; no re-encoding check is needed here.

        Raises:
            LedgerIntegrityError: the bytes are not an entry this tool wrote.
        """
        try:
            entry = _entry_from(orjson.loads(leaf))
        except (ValueError, KeyError, TypeError) as exc:
            raise LedgerIntegrityError(
                f"a stored ledger entry is unreadable: {exc}",
                hint="the database was modified outside this tool; restore it from a replica or backup",
            ) from None
        return entry

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"seq": self.seq, "op": self.op, "time": self.time}
        if self.decision is not None:
            data["decision"] = self.decision.to_dict()
        if self.target is not None:
            data["id"] = self.target
            data["reason"] = self.reason
        return data


def _entry_from(body: Any) -> Entry:
    """An :class:`Entry` from decoded JSON; ``ValueError``/``KeyError``/``TypeError`` if malformed."""
    if not isinstance(body, dict) or body.get("v") != 1:
        raise ValueError("not a version-1 entry")
    op = body["op"]
    seq, when = int(body["seq"]), float(body["time"])
    if op == "add":
        return Entry(seq, op, when, decision=Decision.from_dict(body["decision"]))
    if op == "delete":
        return Entry(seq, op, when, target=int(body["id"]), reason=str(body["reason"]))
    raise ValueError(f"unknown op {op!r}")


@dataclass(frozen=True)
class StreamDelta:
    """What changed for a bouncer: decisions to enforce and to lift."""

    new: list[Decision]
    deleted: list[Decision]
    seq: int


def _write_key(path: Path, signer: NoteSigner) -> None:
    secret = signer.encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secret.reveal() + b"\n")
    except OSError as exc:
        raise LedgerStoreError(
            f"cannot write the ledger key {str(path)!r}: {exc.strerror}",
            path=str(path),
            hint="check the directory's permissions",
        ) from exc
    finally:
        secret.close()


def _writer_lock(path: Path) -> int:
    """Take the exclusive writer lock beside ``path``; returns the descriptor holding it."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise LedgerStoreError(
            f"cannot create the ledger lock {str(lock_path)!r}: {exc.strerror}",
            path=str(lock_path),
            hint="check the directory's permissions",
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise LedgerStoreError(
            f"the ledger {str(path)!r} is being written by another process",
            path=str(path),
            hint="while 'serve' runs, write through its HTTP API; otherwise wait for the other command",
        ) from None
    return fd


def _read_key(path: Path) -> NoteSigner:
    try:
        if path.stat().st_mode & 0o077:
            raise LedgerStoreError(
                f"ledger key {str(path)!r} is readable by other users",
                path=str(path),
                hint=f"run chmod 600 {path}",
            )
        return NoteSigner.parse(path.read_bytes())
    except OSError as exc:
        raise LedgerStoreError(
            f"cannot read the ledger key {str(path)!r}: {exc.strerror}",
            path=str(path),
            hint="check the path and permissions",
        ) from exc
    except CoreError as exc:
        if isinstance(exc, LedgerStoreError):
            raise
        raise LedgerStoreError(
            f"{str(path)!r} is not a ledger signing key: {exc.message}",
            path=str(path),
            hint="it must hold a PRIVATE+KEY+... note key",
        ) from None


class Ledger:
    """The decision ledger of one node.

    Use :meth:`open`; the constructor expects an opened store and key.
    All public methods are thread-safe.
    """

    def __init__(
        self, store: LedgerStore, signer: NoteSigner, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.signer = signer
        self.verifier: NoteVerifier = signer.verifier
        self.origin = signer.name
        self.clock = clock
        self.tree = MerkleTree()
        self.index = BlockIndex()
        self.decisions: dict[int, Decision] = {}
        self.deleted: dict[int, int] = {}  # decision id -> seq of its delete entry
        self._ops: list[int] = []  # per seq: +id for an add, -id for a delete
        self._counts: Counter[tuple[str, str]] = Counter()
        self._expired: list[tuple[float, int]] = []
        self._lock = threading.RLock()
        self._latest_note: bytes | None = None
        self.read_only = False
        self._lock_fd: int | None = None
        #: Witnesses whose stored cosignatures are checked on open (their verifier keys).
        self.witnesses: tuple[NoteVerifier, ...] = ()

    # -- opening and verification --------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path,
        key_path: Path | None = None,
        *,
        origin: str = DEFAULT_ORIGIN,
        clock: Callable[[], float] = time.time,
        read_only: bool = False,
        witnesses: Sequence[NoteVerifier] = (),
    ) -> Ledger:
        """Open (or create) the ledger at ``path``, verifying all stored history.

        ``witnesses`` are the verifier keys (cosignature/v1) of witnesses
        whose stored cosignatures are checked too.

        The signing key lives at ``key_path`` (default: ``path`` with suffix
        ``.key``); a new ledger gets a fresh key, written with mode 0600.

        One process at a time may write: a writer holds an exclusive lock on
        ``<path>.lock`` until :meth:`close` (two writers would each extend
        their own in-memory tree).  ``read_only=True`` takes no lock, so
        queries, exports and verification run beside a serving node.

        Raises:
            LedgerIntegrityError: stored history does not match its signed checkpoints.
            LedgerStoreError: the database or key cannot be used.
        """
        lock = None if read_only else _writer_lock(path)
        try:
            store = LedgerStore(path)
        except BaseException:
            if lock is not None:
                os.close(lock)
            raise
        key_path = key_path if key_path is not None else path.with_suffix(".key")
        known = store.meta("verifier")
        if key_path.exists():
            signer = _read_key(key_path)
        elif known is None and store.count() == 0:
            try:
                signer = generate_note_key(origin)
            except CoreError as exc:
                raise LedgerInputError(
                    f"ledger origin {origin!r} is not usable: {exc.message}",
                    field="origin",
                    hint="use a name like example.com/ledger",
                ) from None
            _write_key(key_path, signer)
        else:
            raise LedgerStoreError(
                f"the ledger {str(path)!r} exists but its signing key {str(key_path)!r} is missing",
                path=str(key_path),
                hint="restore the key file, or point --key-file at it",
            )
        encoded = signer.verifier.encode()
        if known is None:
            store.set_meta("verifier", encoded)
            store.set_meta("origin", signer.name)
        elif known != encoded:
            raise LedgerIntegrityError(
                f"the key {str(key_path)!r} is not the key this ledger was created with",
                path=str(key_path),
                hint=f"this ledger's verifier key is {known}",
            )
        ledger = cls(store, signer, clock)
        ledger.read_only = read_only
        ledger.witnesses = tuple(witnesses)
        ledger._lock_fd = lock
        try:
            ledger._replay()
        except BaseException:
            ledger.close()
            raise
        return ledger

    def close(self) -> None:
        """Close the store and release the writer lock."""
        self.store.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def _replay(self) -> None:
        with self.store.read_snapshot():
            self._replay_entries()
            self.verify_checkpoints()
            self.verify_cosignatures()
        self.expire()

    def _replay_entries(self) -> None:
        for expected, (seq, leaf) in enumerate(self.store.entries()):
            if seq != expected:
                raise LedgerIntegrityError(
                    f"ledger entry {expected} is missing (next stored entry is {seq})",
                    seq=expected,
                    hint="the database was modified outside this tool; restore it from a replica or backup",
                )
            entry = Entry.parse(leaf)
            if entry.seq != seq:
                raise LedgerIntegrityError(
                    f"ledger entry stored at {seq} claims sequence {entry.seq}",
                    seq=seq,
                    hint="the database was modified outside this tool; restore it from a replica or backup",
                )
            self.tree.append(leaf)
            self._apply(entry)

    def verify_checkpoints(
        self, verifiers: Sequence[NoteVerifier] | None = None, *, live: bool = False
    ) -> dict[str, Any]:
        """Check every stored checkpoint against the tree rebuilt from the entries.

        ``live=True`` is for a ledger opened earlier while another process may
        have appended since: checkpoints beyond the entries this process
        replayed are left for the next open (which checks them inside one
        snapshot) instead of being reported as truncation.

        Returns a summary (entries, checkpoints checked, root).

        Raises:
            LedgerIntegrityError: a signature fails, a checkpoint is larger
                than the log, a root differs, or entries follow the last checkpoint.
        """
        keys = list(verifiers) if verifiers is not None else [self.verifier]
        size = self.tree.size
        checked = 0
        latest = 0
        latest_note: bytes | None = None
        for cp_size, note in self.store.checkpoints():
            if live and cp_size > size:
                break
            try:
                checkpoint, _ = Checkpoint.open(note, keys, origin=self.origin)
            except CoreError as exc:
                raise LedgerIntegrityError(
                    f"stored checkpoint of size {cp_size} does not verify: {exc.message}",
                    size=cp_size,
                    hint="the database was modified outside this tool; restore it from a replica or backup",
                ) from None
            if checkpoint.size != cp_size:
                raise LedgerIntegrityError(
                    f"checkpoint stored as size {cp_size} says size {checkpoint.size}",
                    size=cp_size,
                    hint="the database was modified outside this tool",
                )
            if cp_size > size:
                raise LedgerIntegrityError(
                    f"a signed checkpoint covers {cp_size} entries but only {size} are stored: history was truncated",
                    size=cp_size,
                    hint="restore the database from a replica or backup",
                )
            if self.tree.root(cp_size) != checkpoint.root_hash:
                raise LedgerIntegrityError(
                    f"entries 0..{cp_size - 1} do not hash to the root signed in checkpoint {cp_size}: history was rewritten",
                    size=cp_size,
                    hint="restore the database from a replica or backup",
                )
            checked += 1
            latest = cp_size
            latest_note = note
        if latest != size:
            raise LedgerIntegrityError(
                f"entries {latest}..{size - 1} are not covered by any signed checkpoint",
                size=size,
                hint="the database was modified outside this tool; restore it from a replica or backup",
            )
        self._latest_note = latest_note
        return {
            "entries": size,
            "checkpoints": checked,
            "root": self.tree.root().hex(),
            "origin": self.origin,
        }

    def verify_cosignatures(
        self, witnesses: Sequence[NoteVerifier] | None = None
    ) -> dict[str, int]:
        """Check stored witness cosignatures with the witnesses' keys.

        A cosignature by a witness whose key is not given is kept, not
        counted (the reader does not know that witness).

        Returns:
            Each known witness and the largest checkpoint size it cosigned.

        Raises:
            LedgerIntegrityError: a cosignature does not verify with its
                witness's key, or names a checkpoint that is not stored.
        """
        known = {v.name: v for v in (self.witnesses if witnesses is None else witnesses)}
        notes = dict(self.store.checkpoints())
        latest: dict[str, int] = {}
        for size, name, line in self.store.cosignatures():
            note = notes.get(size)
            if note is None:
                raise LedgerIntegrityError(
                    f"witness {name} cosigned checkpoint {size}, which is not stored",
                    size=size,
                    hint="the database was modified outside this tool; restore it from a replica or backup",
                )
            verifier = known.get(name)
            if verifier is None:
                continue
            try:
                open_note(note + line.encode(), [verifier], require=[name])
            except CoreError as exc:
                raise LedgerIntegrityError(
                    f"the cosignature of checkpoint {size} by witness {name} does not verify: {exc.message}",
                    size=size,
                    hint="check the witness key; otherwise the database was modified outside this tool",
                ) from None
            latest[name] = max(latest.get(name, 0), size)
        return latest

    def record_cosignature(self, size: int, witness: NoteVerifier, line: str) -> None:
        """Keep a witness's cosignature line for the checkpoint of ``size``, once it verifies.

        Raises:
            LedgerIntegrityError: the line is not a valid cosignature by ``witness``.
            LedgerInputError: no checkpoint of that size is stored.
        """
        with self._lock:
            stored = self.store.checkpoint(size)
            if stored is None:
                raise LedgerInputError(
                    f"the ledger has no checkpoint of size {size}",
                    field="size",
                    hint="witnesses cosign a checkpoint the ledger signed",
                )
            text = line if line.endswith("\n") else line + "\n"
            try:
                open_note(stored[1] + text.encode(), [witness], require=[witness.name])
            except CoreError as exc:
                raise LedgerIntegrityError(
                    f"witness {witness.name} returned a cosignature that does not verify: {exc.message}",
                    hint="check the witness's verifier key",
                ) from None
            self.store.add_cosignature(size, witness.name, text, self.clock())
            self.store.set_meta(f"witness_size:{witness.name}", str(size))

    def witnessed_size(self, witness: str) -> int:
        """The checkpoint size ``witness`` last cosigned for this ledger (0: never)."""
        value = self.store.meta(f"witness_size:{witness}")
        return int(value) if value is not None else 0

    def cosigned_checkpoint(self, size: int | None = None) -> bytes:
        """A signed checkpoint (the latest by default) with every stored cosignature of it."""
        with self._lock:
            if size is None:
                note = self.checkpoint()
                size = Checkpoint.from_text(Note.parse(note).text).size
            else:
                stored = self.store.checkpoint(size)
                if stored is None:
                    raise LedgerInputError(
                        f"the ledger has no checkpoint of size {size}",
                        field="size",
                        hint="'ledger verify' lists the checkpoints",
                    )
                note = stored[1]
            lines = "".join(line for _, _, line in self.store.cosignatures(size))
            return note + lines.encode()

    # -- applying entries ----------------------------------------------------

    def _apply(self, entry: Entry) -> None:
        if entry.op == "add" and entry.decision is not None:
            decision = entry.decision
            if decision.id != entry.seq + 1:
                raise LedgerIntegrityError(
                    f"entry {entry.seq} carries decision id {decision.id}, expected {entry.seq + 1}",
                    seq=entry.seq,
                    hint="the database was modified outside this tool",
                )
            self.decisions[decision.id] = decision
            self._counts[(decision.scope, decision.value)] += 1
            self._ops.append(decision.id)
            if decision.until > self.clock():
                self.index.add(decision)
        else:
            target = entry.target if entry.target is not None else 0
            if target not in self.decisions or target in self.deleted:
                raise LedgerIntegrityError(
                    f"entry {entry.seq} deletes decision {target}, which is not an active entry before it",
                    seq=entry.seq,
                    hint="the database was modified outside this tool",
                )
            self.deleted[target] = entry.seq
            self._ops.append(-target)
            self.index.remove(target)

    def _commit(self, entries: list[Entry], meta: dict[str, str] | None = None) -> None:
        """Append entries and sign the new checkpoint (plus ``meta``), in one store transaction."""
        if self.read_only:
            raise LedgerStoreError(
                "this ledger was opened read-only",
                hint="open it for writing (one writer at a time)",
            )
        if not entries:
            if meta:
                self.store.append(
                    self.tree.size, [], size=self.tree.size, note=None, now=self.clock(), meta=meta
                )
            return
        leaves = [e.leaf() for e in entries]
        first = self.tree.size
        for leaf in leaves:
            self.tree.append(leaf)
        size = self.tree.size
        note = Checkpoint(self.origin, size, self.tree.root()).sign([self.signer])
        try:
            self.store.append(first, leaves, size=size, note=note, now=self.clock(), meta=meta)
        except BaseException:
            # The store rolled back: rebuild the in-memory tree to match it.
            rebuilt = MerkleTree()
            for _, leaf in self.store.entries():
                rebuilt.append(leaf)
            self.tree = rebuilt
            raise
        for entry in entries:
            self._apply(entry)
        self._latest_note = note

    # -- writing --------------------------------------------------------------

    def add(self, decisions: Iterable[Decision]) -> list[Decision]:
        """Record decisions (ids are assigned here); returns them with their ids."""
        with self._lock:
            now = self.clock()
            entries: list[Entry] = []
            seq = self.tree.size
            for decision in decisions:
                stored = decision.with_id(seq + 1)
                entries.append(Entry(seq, "add", now, decision=stored))
                seq += 1
            if not entries:
                return []
            self._commit(entries)
            return [e.decision for e in entries if e.decision is not None]

    def delete(self, ids: Iterable[int], reason: str = "") -> list[Decision]:
        """Revoke decisions by id; returns the revoked decisions.

        Raises:
            LedgerDecisionError: an id is unknown or already revoked (nothing is written).
        """
        with self._lock:
            now = self.clock()
            targets: list[int] = []
            for decision_id in ids:
                if decision_id not in self.decisions:
                    raise LedgerDecisionError(
                        f"no decision has id {decision_id}",
                        id=decision_id,
                        hint="list them with 'decisions list'",
                    )
                if decision_id in self.deleted or decision_id in targets:
                    raise LedgerDecisionError(
                        f"decision {decision_id} is already deleted",
                        id=decision_id,
                        hint="list active ones with 'decisions list'",
                    )
                targets.append(decision_id)
            if not targets:
                return []
            seq = self.tree.size
            entries = [
                Entry(seq + i, "delete", now, target=t, reason=reason)
                for i, t in enumerate(targets)
            ]
            self._commit(entries)
            return [self.decisions[t] for t in targets]

    def matching_ids(
        self,
        *,
        scope: str | None = None,
        value: str | None = None,
        scenario: str | None = None,
        origin: str | None = None,
    ) -> list[int]:
        """Ids of the active decisions matching all given criteria (at least one is required)."""
        if scope is None and value is None and scenario is None and origin is None:
            raise LedgerInputError(
                "refusing to delete every decision without a filter",
                hint="give --scope/--value/--scenario/--origin, or ids",
            )
        return [
            d.id
            for d in self.active()
            if (scope is None or d.scope == scope)
            and (value is None or d.value == value)
            and (scenario is None or d.scenario == scenario)
            and (origin is None or d.origin == origin)
        ]

    def delete_matching(
        self,
        *,
        scope: str | None = None,
        value: str | None = None,
        scenario: str | None = None,
        origin: str | None = None,
        reason: str = "",
    ) -> list[Decision]:
        """Revoke every active decision matching all given criteria."""
        with self._lock:
            ids = self.matching_ids(scope=scope, value=value, scenario=scenario, origin=origin)
            return self.delete(ids, reason)

    # -- replication ----------------------------------------------------------

    @property
    def applied_position(self) -> int:
        """The last replication-stream sequence applied (0 when none)."""
        value = self.store.meta("stream_seq")
        return int(value) if value is not None else 0

    def apply_replicated(self, position: int, op: dict[str, Any]) -> list[Entry]:
        """Apply one operation from the replicated stream, exactly once.

        Every node applies the same operations in the same order, so every
        node appends the same entries and reaches the same root: the entry's
        time and the decision's fields come from the operation (the proposing
        node), never from this node's clock.  An operation that is invalid
        here (revoking an unknown or revoked id) is invalid on every node
        and appends nothing.  The stream position is stored in the same
        transaction as the entries, so a restart resumes right after it.

        Returns:
            The entries appended (none for a duplicate or invalid operation).
        """
        with self._lock:
            if position <= self.applied_position:
                return []
            meta = {"stream_seq": str(position)}
            seq = self.tree.size
            entries: list[Entry] = []
            try:
                kind = op["op"]
                when = float(op["time"])
                if kind == "add":
                    for raw in op["decisions"]:
                        decision = Decision.from_dict({**raw, "id": seq + 1})
                        entries.append(Entry(seq, "add", when, decision=decision))
                        seq += 1
                elif kind == "delete":
                    reason = str(op.get("reason", ""))
                    targets: set[int] = set()
                    for target in op["ids"]:
                        ident = int(target)
                        if (
                            ident in self.decisions
                            and ident not in self.deleted
                            and ident not in targets
                        ):
                            targets.add(ident)
                            entries.append(Entry(seq, "delete", when, target=ident, reason=reason))
                            seq += 1
            except (KeyError, TypeError, ValueError, AttributeError):
                entries = []  # a malformed operation is skipped by every node alike
            self._commit(entries, meta)
            return entries

    # -- reading --------------------------------------------------------------

    @property
    def size(self) -> int:
        return self.tree.size

    def root(self, size: int | None = None) -> bytes:
        return self.tree.root(size)

    def expire(self, now: float | None = None) -> list[Decision]:
        """Drop decisions whose time is up from the index (the ledger keeps them)."""
        with self._lock:
            moment = self.clock() if now is None else now
            gone = self.index.expire(moment)
            for decision in gone:
                bisect.insort(self._expired, (decision.until, decision.id))
            return gone

    def active(self, now: float | None = None) -> list[Decision]:
        """Decisions in force at ``now``, oldest first."""
        moment = self.clock() if now is None else now
        self.expire(moment)
        return sorted((d for d in self.index.decisions() if d.until > moment), key=lambda d: d.id)

    def check(self, scope: str, value: str, now: float | None = None) -> list[Decision]:
        """Decisions in force on ``value`` (``Ip``: by longest-prefix match over ranges)."""
        return self.index.lookup(scope, value, self.clock() if now is None else now)

    def previous_count(self, scope: str, value: str) -> int:
        """How many decisions ``scope``/``value`` has had (for escalation)."""
        return self._counts[(scope, value)]

    def entry(self, seq: int) -> Entry:
        leaf = self.store.entry(seq)
        if leaf is None:
            raise LedgerInputError(
                f"the ledger has no entry {seq} (size {self.size})",
                field="seq",
                hint=f"use 0..{self.size - 1}",
            )
        return Entry.parse(leaf)

    def checkpoint(self) -> bytes:
        """The latest signed checkpoint (C2SP note); signs one for the empty log."""
        with self._lock:
            if self._latest_note is None:
                note = Checkpoint(self.origin, self.tree.size, self.tree.root()).sign([self.signer])
                if self.read_only:
                    return note
                self.store.append(
                    self.tree.size, [], size=self.tree.size, note=note, now=self.clock()
                )
                self._latest_note = note
            return self._latest_note

    def inclusion(self, seq: int, size: int | None = None) -> dict[str, Any]:
        """An inclusion proof of entry ``seq`` in the tree of ``size`` (default: current)."""
        with self._lock:
            n = self.size if size is None else size
            if not 0 <= seq < n <= self.size:
                raise LedgerInputError(
                    f"entry {seq} is not in a tree of size {n} (ledger size {self.size})",
                    field="seq",
                    hint="ask for an entry below the tree size",
                )
            leaf = self.store.entry(seq) or b""
            return {
                "seq": seq,
                "tree_size": n,
                "leaf_hash": hash_leaf(leaf).hex(),
                "proof": [p.hex() for p in self.tree.inclusion_proof(seq, n)],
                "root": self.tree.root(n).hex(),
                "leaf": base64.b64encode(leaf).decode(),
            }

    def consistency(self, size1: int, size2: int | None = None) -> dict[str, Any]:
        """A consistency proof between the trees of ``size1`` and ``size2`` leaves."""
        with self._lock:
            n = self.size if size2 is None else size2
            if not 0 < size1 <= n <= self.size:
                raise LedgerInputError(
                    f"need 0 < size1 <= size2 <= {self.size}, got {size1}, {n}",
                    field="size1",
                    hint="sizes come from two checkpoints",
                )
            return {
                "size1": size1,
                "size2": n,
                "root1": self.tree.root(size1).hex(),
                "root2": self.tree.root(n).hex(),
                "proof": [p.hex() for p in self.tree.consistency_proof(size1, n)],
            }

    def changes_since(
        self, last_seq: int, last_time: float | None, now: float | None = None
    ) -> StreamDelta:
        """What a bouncer that last saw entry ``last_seq`` at ``last_time`` must change.

        ``new``: decisions added after ``last_seq`` and still in force.
        ``deleted``: decisions revoked after ``last_seq``, and decisions the
        bouncer had that expired since ``last_time``.
        """
        with self._lock:
            moment = self.clock() if now is None else now
            self.expire(moment)
            new: list[Decision] = []
            deleted: list[Decision] = []
            for op in self._ops[last_seq + 1 :]:
                if op > 0:
                    decision = self.decisions[op]
                    if op not in self.deleted and decision.until > moment:
                        new.append(decision)
                else:
                    decision = self.decisions[-op]
                    if -op - 1 <= last_seq:  # the bouncer had it: its add came before
                        deleted.append(decision)
            if last_time is not None:
                lo = bisect.bisect_right(self._expired, (last_time, math.inf))
                hi = bisect.bisect_right(self._expired, (moment, math.inf))
                for _, decision_id in self._expired[lo:hi]:
                    if decision_id not in self.deleted and decision_id - 1 <= last_seq:
                        deleted.append(self.decisions[decision_id])
            return StreamDelta(new, deleted, self.size - 1)
