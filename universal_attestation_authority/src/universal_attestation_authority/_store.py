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

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
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
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    idx INTEGER PRIMARY KEY,
    leaf_hash BLOB NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS attestations (
    id TEXT PRIMARY KEY,
    log_index INTEGER NOT NULL UNIQUE REFERENCES entries(idx),
    envelope TEXT NOT NULL,
    predicate_type TEXT NOT NULL,
    integrated_time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subjects (
    attestation_id TEXT NOT NULL REFERENCES attestations(id),
    name TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    digest TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS subjects_digest ON subjects(algorithm, digest);
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


@dataclass
class EntryRows:
    """Rows of one append, as ``executemany`` takes them.

    Attributes:
        entries: ``(index, leaf hash, entry bytes)``, consecutive indexes.
        attestations: ``(id, log index, envelope JSON, predicate type, integrated time)``.
        subjects: ``(attestation id, subject name, digest algorithm, digest)``.
    """

    entries: list[tuple[int, bytes, bytes]] = field(default_factory=list)
    attestations: list[tuple[str, int, str, str, str]] = field(default_factory=list)
    subjects: list[tuple[str, str, str, str]] = field(default_factory=list)


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
        except (sqlite3.Error, OSError) as exc:
            raise AttestationStoreError(
                f"cannot open the store {str(self.path)!r}: {exc}",
                hint="check the data directory exists, is writable, and holds a uaa database",
                path=str(self.path),
            ) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

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
            rows.entries.append((start + i, item.leaf_hash, item.data))
            if item.attestation is not None:
                r = item.attestation
                rows.attestations.append(
                    (r.id, r.log_index, r.envelope, r.predicate_type, r.integrated_time)
                )
                rows.subjects.extend((r.id, *subject) for subject in item.subjects)
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
                    "INSERT INTO entries(idx, leaf_hash, data) VALUES (?, ?, ?)", rows.entries
                )
                db.executemany(
                    "INSERT INTO attestations(id, log_index, envelope, predicate_type, integrated_time) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows.attestations,
                )
                db.executemany(
                    "INSERT INTO subjects(attestation_id, name, algorithm, digest) VALUES (?, ?, ?, ?)",
                    rows.subjects,
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
        rows = self._query(
            "SELECT id, log_index, envelope, predicate_type, integrated_time "
            "FROM attestations WHERE id = ?",
            (attestation_id,),
        )
        return AttestationRow(*rows[0]) if rows else None

    def attestations(self, ids: Sequence[str]) -> list[AttestationRow]:
        """The stored attestations among ``ids`` (one query per 500 ids)."""
        rows: list[AttestationRow] = []
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            # Only '?' placeholders are interpolated; the ids travel as parameters.
            sql = f"SELECT id, log_index, envelope, predicate_type, integrated_time FROM attestations WHERE id IN ({marks})"  # noqa: S608
            rows.extend(AttestationRow(*r) for r in self._query(sql, chunk))
        return rows

    def attestation_at(self, log_index: int) -> AttestationRow | None:
        rows = self._query(
            "SELECT id, log_index, envelope, predicate_type, integrated_time "
            "FROM attestations WHERE log_index = ?",
            (log_index,),
        )
        return AttestationRow(*rows[0]) if rows else None

    def attestations_for_digest(self, algorithm: str, digest: str, limit: int = 100) -> list[str]:
        rows = self._query(
            "SELECT DISTINCT attestation_id FROM subjects WHERE algorithm = ? AND digest = ? LIMIT ?",
            (algorithm, digest, limit),
        )
        return [str(r[0]) for r in rows]

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
