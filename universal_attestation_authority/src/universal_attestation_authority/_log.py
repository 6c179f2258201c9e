"""The transparency log: append-only entries, tiles, checkpoints and proofs.

Entries live in the SQLite store; the Merkle tree is shared_core's RFC 9162
:class:`~shared_core.crypto.MerkleTree`, rebuilt from the stored leaf hashes
on open (about 2 SHA-256 per entry) and kept in memory (64 bytes per entry),
so proofs for any published size cost O(log n) lookups.

Publishing is a separate step from appending, and only ever publishes a size
whose entries are committed.  With witnesses configured, a checkpoint is
stored (and so served) only once at least ``witness_quorum`` of them
cosigned it; until then readers keep seeing the previous checkpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared_core.crypto import Checkpoint, MerkleTree, Note, NoteSigner, hash_leaf
from shared_core.logging import get_logger
from universal_attestation_authority._clock import format_time, utcnow
from universal_attestation_authority._store import (
    AppendConflictError,
    CheckpointRow,
    EntryRows,
    NewEntry,
    SqliteStore,
)
from universal_attestation_authority._tiles import (
    HASH_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    TileRef,
    encode_entry_bundle,
    level_width,
)
from universal_attestation_authority.errors import (
    AttestationLogError,
    AttestationTileError,
    AttestationWitnessError,
)

__all__ = ["Cosigner", "TransparencyLog"]

_log = get_logger("universal_attestation_authority.log")

Cosigner = Callable[[bytes, int, Callable[[int], list[bytes]]], list[str]]
"""Collects witness cosignatures: ``cosigner(note, size, proof_for) -> lines``.

``note`` is the log-signed checkpoint of ``size`` entries, ``proof_for(old)``
the consistency proof from tree size ``old`` to ``size``; the result is the
verified cosignature lines (``— name base64``) of the witnesses that signed.
"""


@dataclass(frozen=True)
class _Published:
    checkpoint: Checkpoint
    note: bytes


class TransparencyLog:
    """An append-only C2SP log over a :class:`SqliteStore`.

    Args:
        store: where entries and checkpoints are kept.
        signer: the log's note key; its name is the log's origin.
        cosigner: collects witness cosignatures; ``None`` publishes without witnesses.
        witness_quorum: cosignatures required when a cosigner is set.

    Raises:
        AttestationLogError: the stored entries do not match the latest
            published checkpoint (the database was tampered with or damaged).
    """

    def __init__(
        self,
        store: SqliteStore,
        signer: NoteSigner,
        *,
        cosigner: Cosigner | None = None,
        witness_quorum: int = 2,
    ) -> None:
        self.store = store
        self.signer = signer
        self.origin = signer.name
        self.cosigner = cosigner
        self.witness_quorum = witness_quorum
        self._lock = threading.RLock()
        self._publish_lock = threading.Lock()
        self._tree = MerkleTree.from_leaf_hashes(store.leaf_hashes())
        latest = store.latest_checkpoint()
        if latest is not None:
            if latest.size > self._tree.size:
                raise AttestationLogError(
                    f"checkpoint of size {latest.size} is published but only {self._tree.size} entries are stored",
                    hint="the database lost entries; restore it from a backup",
                )
            if self._tree.root(latest.size) != latest.root_hash:
                raise AttestationLogError(
                    f"stored entries do not match the published checkpoint of size {latest.size}",
                    hint="the database was modified; restore it from a backup",
                )

    @property
    def size(self) -> int:
        """Entries committed (published or not)."""
        return self._tree.size

    @property
    def tree(self) -> MerkleTree:
        return self._tree

    # -- appending ------------------------------------------------------------

    def append(self, items: Sequence[NewEntry]) -> int:
        """Commit ``items`` in one transaction; returns the index of the first.

        The entries are durable when this returns; they are covered by the next
        published checkpoint.
        """
        if not items:
            return self.size
        for item in items:
            if len(item.data) > 0xFFFF:
                raise AttestationTileError(
                    f"a log entry is {len(item.data)} bytes; tlog-tiles allows 65535",
                )
            if item.leaf_hash != hash_leaf(item.data):
                raise AttestationLogError(
                    "leaf hash does not match the entry", hint="this is a bug"
                )
        with self._lock:
            start = self._tree.size
            self.store.append_entries(start, items)
            for item in items:
                self._tree.append_hash(item.leaf_hash)
            return start

    def append_built(self, build: Callable[[int], Sequence[NewEntry]]) -> Sequence[NewEntry]:
        """Append the entries ``build(first_index)`` returns, under the append lock.

        For callers whose entries embed their own index (attestation rows):
        the index cannot change between building and committing.
        """
        with self._lock:
            for attempt in range(3):
                self.refresh()
                items = build(self.size)
                try:
                    self.append(items)
                except AppendConflictError:
                    if attempt == 2:
                        raise
                    continue
                return items
        raise AttestationLogError("append did not settle", hint="this is a bug")

    def commit_rows(
        self, build: Callable[[int], EntryRows], *, store: SqliteStore | None = None
    ) -> EntryRows:
        """Append the rows ``build(first_index)`` returns, in one transaction on ``store``.

        The issuing hot path.  ``build`` runs inside the write transaction, so
        the first index it is given cannot change under it (no retry, however
        many processes append), and it may read the store (idempotency checks).
        The caller computed each entry's leaf hash (``hash_leaf`` of its bytes)
        and is trusted to have; only the entry size limit is checked here.

        ``store`` defaults to the log's own; the pipelined issuer passes a
        second connection to the same database so that committing one batch
        does not hold up reading (keys, lookups) for the next.

        Returns:
            The rows as committed; durable when this returns.
        """
        target = self.store if store is None else store
        with target.transaction():
            start = target.entry_count()
            rows = build(start)
            for _, _, data, _ in rows.entries:
                if len(data) > 0xFFFF:
                    raise AttestationTileError(
                        f"a log entry is {len(data)} bytes; tlog-tiles allows 65535",
                    )
            target.insert_rows(rows)
        self._adopt(start, rows)
        return rows

    def _adopt(self, start: int, rows: EntryRows) -> None:
        # Committed rows from index ``start`` enter the in-memory tree.  If
        # anything else got there first (a refresh, another thread's commit),
        # reading back from the store keeps the tree equal to the entries.
        with self._lock:
            if self._tree.size == start:
                append = self._tree.append_hash
                for _, leaf, _, _ in rows.entries:
                    append(leaf)
            else:
                self.refresh()

    def refresh(self) -> int:
        """Catch up with entries another process (e.g. the CLI next to a server) committed.

        Returns:
            How many entries were added to the in-memory tree.
        """
        with self._lock:
            before = self._tree.size
            if self.store.entry_count() > before:
                for leaf in self.store.leaf_hashes(start=before):
                    self._tree.append_hash(leaf)
            return self._tree.size - before

    def append_data(self, entries: Sequence[bytes]) -> int:
        """Append raw entries (no attestation rows); returns the first index."""
        items = [NewEntry(e, hash_leaf(e)) for e in entries]
        appended = self.append_built(lambda _start: items)
        return self.size - len(appended)

    # -- checkpoints ----------------------------------------------------------

    def latest(self) -> CheckpointRow | None:
        return self.store.latest_checkpoint()

    def publish(self) -> CheckpointRow:
        """Sign a checkpoint at the current size, gather cosignatures, store it.

        Concurrent callers coalesce: one publishes, the others return its result
        when it covers what they appended.

        Raises:
            AttestationWitnessError: witnesses are configured and fewer than the
                quorum cosigned; the checkpoint is not published.
        """
        self.refresh()
        target = self.size
        with self._publish_lock:
            latest = self.store.latest_checkpoint()
            if latest is not None and latest.size >= target:
                return latest
            size = self.size
            root = self._tree.root(size)
            checkpoint = Checkpoint(self.origin, size, root)
            note = checkpoint.sign([self.signer])
            if self.cosigner is not None:
                tree = self._tree

                def proof_for(old: int) -> list[bytes]:
                    return tree.consistency_proof(old, size)

                lines = self.cosigner(note, size, proof_for)
                if len(lines) < self.witness_quorum:
                    raise AttestationWitnessError(
                        f"checkpoint of size {size} got {len(lines)} cosignature(s), "
                        f"{self.witness_quorum} required; not published",
                        hint="check that the witnesses are running and reachable",
                        size=size,
                    )
                note = note + "".join(lines).encode("utf-8")
                Note.parse(note)  # the assembled note must still be well-formed
            row = CheckpointRow(size, root, note, format_time(utcnow()))
            self.store.put_checkpoint(row)
            _log.info("checkpoint published", origin=self.origin, size=size)
            return row

    # -- proofs ---------------------------------------------------------------

    def _published_size(self, size: int | None) -> int:
        latest = self.store.latest_checkpoint()
        published = latest.size if latest else 0
        if published > self._tree.size:
            self.refresh()
        if size is None:
            return published
        if not 0 <= size <= published:
            raise AttestationLogError(
                f"tree size {size} is not published (latest checkpoint: {published})",
                hint="ask for a size at or below the latest checkpoint",
            )
        return size

    def inclusion_proof(self, index: int, size: int | None = None) -> tuple[int, list[bytes]]:
        """``(tree size, audit path)`` for entry ``index`` in a published tree.

        Raises:
            AttestationLogError: the entry is not covered by that tree size.
        """
        n = self._published_size(size)
        if not 0 <= index < n:
            raise AttestationLogError(
                f"entry {index} is not covered by the published tree of size {n}",
                hint="wait for the next checkpoint, or check the index",
            )
        return n, self._tree.inclusion_proof(index, n)

    def consistency_proof(self, old: int, new: int | None = None) -> tuple[int, list[bytes]]:
        """``(new size, proof)`` that tree ``old`` is a prefix of published tree ``new``."""
        n = self._published_size(new)
        if not 0 <= old <= n:
            raise AttestationLogError(
                f"old tree size {old} is outside 0..{n}", hint="old must not exceed new"
            )
        return n, self._tree.consistency_proof(old, n)

    # -- tiles ------------------------------------------------------------------

    def _node_hash(self, height: int, index: int) -> bytes:
        # MerkleTree stores every complete subtree; ask for that exact range.
        return self._tree.subtree_hash(
            index << height, (index + 1) << height
        )  # see ARCHITECTURE.md, 'Tiles'

    def tile(self, ref: TileRef, *, size: int | None = None) -> bytes:
        """The bytes of a hash tile or entry bundle available at a published size.

        Raises:
            AttestationLogError: the tile (at that width) is not published yet.
        """
        n = self._published_size(size)
        level = 0 if ref.is_entries else ref.level
        available = level_width(n, level) - ref.index * TILE_WIDTH
        if available < ref.width:
            raise AttestationLogError(
                f"{ref.path()} is not published (the tree has size {n})",
                hint="request the partial tile the latest checkpoint implies",
            )
        first = ref.index * TILE_WIDTH
        if ref.is_entries:
            return encode_entry_bundle(self.store.entries(first, first + ref.width))
        height = TILE_HEIGHT * ref.level
        return b"".join(self._node_hash(height, first + i) for i in range(ref.width))

    def tile_size_bytes(self, ref: TileRef) -> int:
        return ref.width * HASH_SIZE
