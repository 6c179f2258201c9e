"""The embedded SQLite store: log entries, attestations, keys and checkpoints.

Durability contract (what the crash tests check):

* A batch of log entries and the attestations they record is one transaction
  (``BEGIN IMMEDIATE`` ... ``COMMIT``, WAL, ``synchronous=FULL``): after a crash
  either the whole batch is there or none of it, and an issuer is told
  "issued" only after the commit returned.
* Checkpoints are written in their own later transaction and only for a size
  whose entries are already committed; on open, :class:`TransparencyLog`
  recomputes the root of the stored entries at the latest checkpoint's size
  and refuses to serve if they disagree.  So a crash between writing entries
  and publishing a checkpoint loses nothing (the next publish covers them) and
  can never leave a published tree that does not match the entries.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Container, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from universal_attestation_authority.errors import AttestationStoreError

__all__ = [
    "AppendConflictError",
    "AttestationRow",
    "CheckpointRow",
    "EntryRows",
    "NewEntry",
    "SqliteStore",
    "attestation_key",
    "subject_key",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    idx INTEGER PRIMARY KEY,
    leaf_hash BLOB NOT NULL,
    data BLOB NOT NULL,
    envelope TEXT
);
CREATE TABLE IF NOT EXISTS attestation_keys (
    key INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (key, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subject_keys (
    key INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (key, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys (
    keyid TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL,
    private_key_file TEXT
);
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    root_hash BLOB NOT NULL,
    note BLOB NOT NULL,
    published_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS witness_state (
    witness TEXT PRIMARY KEY,
    size INTEGER NOT NULL
);
"""
"""Schema 2.  An attestation is its log entry's row (``envelope`` set); the
two index tables map 60-bit keys (:func:`attestation_key`,
:func:`subject_key`) to entry indexes.  The keys are short integers rather
than the 64-character ids and digests because every issued attestation adds
one row to each, at a random place in the B-tree: small keys mean fewer
pages written per commit (schema 1's three text-keyed tables cost about
twice the SQLite time per attestation).  A key can collide, so every lookup
checks its candidates against the entry itself.  Predicate type and
integrated time are read back from the entry rather than stored twice.
"""

_SCHEMA_1_TABLES = frozenset({"attestations", "subjects"})

_ID = re.compile(r"^[0-9a-f]{64}$")


def attestation_key(ident: str) -> int:
    """The index key of attestation id ``ident`` (64 lowercase hex): its first 60 bits."""
    return int(ident[:15], 16)


def subject_key(algorithm: str, digest: str) -> int:
    """The index key of a subject digest: 60 bits of BLAKE2b of ``algorithm:digest``.

    Hashed rather than cut because digest values of algorithms without a
    fixed hex form (``dirHash``, custom names) are arbitrary strings;
    algorithm names cannot hold ``:``, so the text is unambiguous.
    """
    text = f"{algorithm}:{digest}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") >> 4


@dataclass(frozen=True)
class AttestationRow:
    """An issued attestation as stored."""

    id: str
    log_index: int
    envelope: str
    predicate_type: str
    integrated_time: str


@dataclass(frozen=True)
class CheckpointRow:
    """A published checkpoint: the signed note with its cosignatures."""

    size: int
    root_hash: bytes
    note: bytes
    published_at: str


class AppendConflictError(AttestationStoreError):
    """Another process appended since this one last read the log (retry after a reload)."""


@dataclass(frozen=True)
class NewEntry:
    """A log entry to append, with the attestation it records (if any)."""

    data: bytes
    leaf_hash: bytes
    attestation: AttestationRow | None = None
    subjects: tuple[tuple[str, str, str], ...] = ()
    """``(subject name, digest algorithm, digest)`` of the attestation's statement."""


@dataclass
class EntryRows:
    """Rows of one append, as ``executemany`` takes them.

    Attributes:
        entries: ``(index, leaf hash, entry bytes, envelope JSON or None)``,
            consecutive indexes; the envelope is set for an attestation's entry.
        attestation_keys: ``(attestation_key(id), index)`` per attestation.
        subject_keys: ``(subject_key(algorithm, digest), index)`` per subject digest.
    """

    entries: list[tuple[int, bytes, bytes, str | None]] = field(default_factory=list)
    attestation_keys: list[tuple[int, int]] = field(default_factory=list)
    subject_keys: list[tuple[int, int]] = field(default_factory=list)


def _attestation_row(index: int, data: bytes, envelope: str | None) -> AttestationRow | None:
    # An attestation as stored in schema 2: its entry's row.  The entry is
    # JSON this package wrote; anything else is not an attestation.
    if envelope is None:
        return None
    try:
        entry = json.loads(bytes(data))
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    ident, predicate_type = entry.get("id"), entry.get("predicateType")
    when = entry.get("integratedTime")
    if not (isinstance(ident, str) and isinstance(predicate_type, str) and isinstance(when, str)):
        return None
    return AttestationRow(ident, index, envelope, predicate_type, when)


def _has_subject(envelope: str, algorithm: str, digest: str) -> bool:
    # Whether the statement in ``envelope`` names a subject with this digest.
    try:
        payload = base64.b64decode(json.loads(envelope)["payload"])
        subjects = json.loads(payload)["subject"]
        return any(
            isinstance(s, dict)
            and isinstance(s.get("digest"), dict)
            and s["digest"].get(algorithm) == digest
            for s in subjects
        )
    except (ValueError, KeyError, TypeError):
        return False


class SqliteStore:
    """One SQLite database, safe to share between threads of one process.

    Writes are serialised by a lock (SQLite allows one writer anyway); reads
    use the same connection, which WAL mode keeps from blocking on writers in
    other processes.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise AttestationStoreError(
                f"cannot open the store {str(self.path)!r}: {exc}",
                hint="check the data directory exists, is writable, and holds a uaa database",
                path=str(self.path),
            ) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _tables(self) -> set[str]:
        rows = self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {str(r[0]) for r in rows}

    def _migrate(self) -> None:
        """Bring a schema-1 database (separate attestation and subject tables) to schema 2.

        One transaction: envelopes move into their entries' rows, ids and
        subject digests become index keys, the old tables are dropped.  Two
        processes opening the same old database serialise on the write lock,
        and the second finds nothing left to do.
        """
        if not self._tables() >= _SCHEMA_1_TABLES:
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if self._tables() >= _SCHEMA_1_TABLES:
                columns = {str(r[1]) for r in db.execute("PRAGMA table_info(entries)")}
                if "envelope" not in columns:
                    db.execute("ALTER TABLE entries ADD COLUMN envelope TEXT")
                db.execute(
                    "UPDATE entries SET envelope = (SELECT a.envelope FROM attestations AS a "
                    "WHERE a.log_index = entries.idx) WHERE idx IN (SELECT log_index FROM attestations)"
                )
                db.executemany(
                    "INSERT OR IGNORE INTO attestation_keys(key, idx) VALUES (?, ?)",
                    [
                        (attestation_key(ident), index)
                        for ident, index in db.execute("SELECT id, log_index FROM attestations")
                        if _ID.match(ident)
                    ],
                )
                db.executemany(
                    "INSERT OR IGNORE INTO subject_keys(key, idx) VALUES (?, ?)",
                    [
                        (subject_key(algorithm, digest), index)
                        for algorithm, digest, index in db.execute(
                            "SELECT s.algorithm, s.digest, a.log_index FROM subjects AS s "
                            "JOIN attestations AS a ON a.id = s.attestation_id"
                        )
                    ],
                )
                db.execute("DROP INDEX IF EXISTS subjects_digest")
                db.execute("DROP TABLE subjects")
                db.execute("DROP TABLE attestations")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locked) transaction, committed on success."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error("begin a transaction", exc) from None
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise self._error("commit", exc) from None

    def _error(self, action: str, exc: sqlite3.Error) -> AttestationStoreError:
        return AttestationStoreError(
            f"cannot {action} in {str(self.path)!r}: {exc}",
            hint="check disk space and that no other process holds the database",
            path=str(self.path),
        )

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._error("read", exc) from None

    # -- meta ---------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- entries --------------------------------------------------------------

    def entry_count(self) -> int:
        rows = self._query("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries")
        return int(rows[0][0])

    def leaf_hashes(self, start: int = 0, batch: int = 65536) -> Iterator[bytes]:
        """Every leaf hash from index ``start`` on, in index order, streamed in batches."""
        while True:
            rows = self._query(
                "SELECT idx, leaf_hash FROM entries WHERE idx >= ? ORDER BY idx LIMIT ?",
                (start, batch),
            )
            if not rows:
                return
            for idx, leaf in rows:
                if idx != start:
                    raise AttestationStoreError(
                        f"log entry {start} is missing from {str(self.path)!r}",
                        hint="the database was modified outside uaa; restore it from a backup",
                    )
                start += 1
                yield bytes(leaf)

    def append_entries(self, start: int, items: Sequence[NewEntry]) -> None:
        """Append ``items`` at indexes ``start, start+1, ...`` in one transaction.

        Raises:
            AttestationStoreError: the log no longer ends at ``start`` (another
                writer appended), or the write failed; nothing is written then.
        """
        rows = EntryRows()
        for i, item in enumerate(items):
            index = start + i
            r = item.attestation
            rows.entries.append((index, item.leaf_hash, item.data, r.envelope if r else None))
            if r is not None:
                rows.attestation_keys.append((attestation_key(r.id), index))
                rows.subject_keys.extend(
                    (subject_key(algorithm, digest), index)
                    for _, algorithm, digest in item.subjects
                )
        self.append_rows(start, rows)

    def append_rows(self, start: int, rows: EntryRows) -> None:
        """Write ``rows`` (entries from index ``start`` on) in one transaction.

        Raises:
            AttestationStoreError: as :meth:`append_entries`.
        """
        with self.transaction() as db:
            (count,) = db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries").fetchone()
            if count != start:
                raise AppendConflictError(
                    f"the log has {count} entries, expected {start}: another process appended",
                    hint="reload the log and retry",
                )
            self.insert_rows(rows)

    def insert_rows(self, rows: EntryRows) -> None:
        """Insert ``rows`` inside the caller's :meth:`transaction`, one ``executemany`` per table.

        Raises:
            AttestationStoreError: a constraint or the write failed (the
                transaction then rolls back).
        """
        with self._lock:
            db = self._db
            if not db.in_transaction:
                raise AttestationStoreError(
                    "insert_rows outside a transaction", hint="this is a bug"
                )
            try:
                db.executemany(
                    "INSERT INTO entries(idx, leaf_hash, data, envelope) VALUES (?, ?, ?, ?)",
                    rows.entries,
                )
                if rows.attestation_keys:
                    db.executemany(
                        "INSERT INTO attestation_keys(key, idx) VALUES (?, ?)",
                        rows.attestation_keys,
                    )
                if rows.subject_keys:
                    # Two subjects of one statement may share a digest: one key row.
                    db.executemany(
                        "INSERT OR IGNORE INTO subject_keys(key, idx) VALUES (?, ?)",
                        rows.subject_keys,
                    )
            except sqlite3.IntegrityError as exc:
                raise AttestationStoreError(
                    f"cannot append to {str(self.path)!r}: {exc}",
                    hint="an attestation with this id is already logged",
                ) from None
            except sqlite3.Error as exc:
                raise self._error("append", exc) from None

    def entries(self, start: int, end: int) -> list[bytes]:
        rows = self._query(
            "SELECT data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
        )
        return [bytes(r[0]) for r in rows]

    def entry(self, index: int) -> bytes | None:
        rows = self._query("SELECT data FROM entries WHERE idx = ?", (index,))
        return bytes(rows[0][0]) if rows else None

    # -- attestations -------------------------------------------------------

    def attestation(self, attestation_id: str) -> AttestationRow | None:
        """The attestation with this id, or None (also for text that is not an id)."""
        rows = self.attestations([attestation_id])
        return rows[0] if rows else None

    def attestations(self, ids: Sequence[str]) -> list[AttestationRow]:
        """The stored attestations among ``ids`` (one query per 500 ids).

        Only ids found are returned, each once; the order is not ``ids``'s.
        """
        wanted = {i for i in ids if _ID.match(i)}
        return self.attestations_by_key({attestation_key(i): i for i in wanted}.keys(), wanted)

    def attestations_by_key(
        self, keys: Iterable[int], wanted: Container[str]
    ) -> list[AttestationRow]:
        """The stored attestations whose id is in ``wanted``, found through their ``keys``.

        The issuing hot path's idempotency check: it computed each id's
        :func:`attestation_key` for the insert anyway.  Candidates whose id is
        not wanted (key collisions) are dropped.
        """
        unique = list(keys)  # repeats are harmless in IN (...)
        found: dict[str, AttestationRow] = {}
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            # Only '?' placeholders are interpolated; the keys travel as parameters.
            sql = (
                "SELECT e.idx, e.data, e.envelope FROM attestation_keys AS k "  # noqa: S608
                f"JOIN entries AS e ON e.idx = k.idx WHERE k.key IN ({marks})"
            )
            for index, data, envelope in self._query(sql, chunk):
                row = _attestation_row(index, data, envelope)
                if row is not None and row.id in wanted:
                    found.setdefault(row.id, row)
        return list(found.values())

    def attestation_at(self, log_index: int) -> AttestationRow | None:
        rows = self._query("SELECT data, envelope FROM entries WHERE idx = ?", (log_index,))
        return _attestation_row(log_index, rows[0][0], rows[0][1]) if rows else None

    def attestations_for_digest(self, algorithm: str, digest: str, limit: int = 100) -> list[str]:
        """Ids of attestations (oldest first, at most ``limit``) with a subject of this digest."""
        rows = self._query(
            "SELECT e.idx, e.data, e.envelope FROM subject_keys AS s "
            "JOIN entries AS e ON e.idx = s.idx WHERE s.key = ? ORDER BY s.idx",
            (subject_key(algorithm, digest),),
        )
        ids: list[str] = []
        for index, data, envelope in rows:
            row = _attestation_row(index, data, envelope)
            if row is not None and _has_subject(row.envelope, algorithm, digest):
                ids.append(row.id)
                if len(ids) >= limit:
                    break
        return ids

    # -- keys -----------------------------------------------------------------

    def key_rows(self) -> list[tuple[dict[str, Any], str | None]]:
        rows = self._query("SELECT record, private_key_file FROM keys ORDER BY rowid")
        return [(json.loads(r[0]), r[1]) for r in rows]

    def put_key(self, record: dict[str, Any], private_key_file: str | None) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO keys(keyid, name, record, private_key_file) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(keyid) DO UPDATE SET record = excluded.record, "
                "private_key_file = COALESCE(excluded.private_key_file, keys.private_key_file)",
                (
                    record["keyid"],
                    record["name"],
                    json.dumps(record, sort_keys=True),
                    private_key_file,
                ),
            )

    # -- checkpoints ----------------------------------------------------------

    def latest_checkpoint(self) -> CheckpointRow | None:
        rows = self._query(
            "SELECT size, root_hash, note, published_at FROM checkpoints ORDER BY size DESC LIMIT 1"
        )
        return (
            CheckpointRow(rows[0][0], bytes(rows[0][1]), bytes(rows[0][2]), rows[0][3])
            if rows
            else None
        )

    def checkpoint(self, size: int) -> CheckpointRow | None:
        rows = self._query(
            "SELECT size, root_hash, note, published_at FROM checkpoints WHERE size = ?", (size,)
        )
        return (
            CheckpointRow(rows[0][0], bytes(rows[0][1]), bytes(rows[0][2]), rows[0][3])
            if rows
            else None
        )

    def put_checkpoint(self, row: CheckpointRow) -> None:
        with self.transaction() as db:
            (count,) = db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries").fetchone()
            if row.size > count:
                raise AttestationStoreError(
                    f"refusing to publish a checkpoint of size {row.size}: only {count} entries are stored",
                    hint="this is a bug: checkpoints must follow committed entries",
                )
            db.execute(
                "INSERT OR REPLACE INTO checkpoints(size, root_hash, note, published_at) VALUES (?, ?, ?, ?)",
                (row.size, row.root_hash, row.note, row.published_at),
            )

    def witness_size(self, witness: str) -> int:
        rows = self._query("SELECT size FROM witness_state WHERE witness = ?", (witness,))
        return int(rows[0][0]) if rows else 0

    def set_witness_size(self, witness: str, size: int) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO witness_state(witness, size) VALUES (?, ?)", (witness, size)
            )
