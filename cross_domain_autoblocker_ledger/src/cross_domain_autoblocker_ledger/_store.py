"""The SQLite store under the ledger: entries, signed checkpoints, bouncers.

The store is deliberately dumb: it keeps what the ledger hands it and gives it
back in order.  Every write of entries happens in one transaction *together
with* the checkpoint that signs them, so a crash leaves either both or
neither.  Anything derived (active decisions, counts) is rebuilt from the
entries at start, never trusted from disk.

Schema::

    entries(seq INTEGER PRIMARY KEY, leaf BLOB)         -- canonical JSON, RFC 9162 leaf data
    checkpoints(size INTEGER PRIMARY KEY, note BLOB, created REAL)  -- C2SP signed notes
    meta(key TEXT PRIMARY KEY, value TEXT)              -- origin, verifier key, schema version
    bouncers(name TEXT PRIMARY KEY, key_hash TEXT UNIQUE, created REAL,
             last_seq INTEGER, last_pull REAL)
    cosignatures(size INTEGER, witness TEXT, line TEXT, created REAL)  -- witnesses' note lines
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cross_domain_autoblocker_ledger.errors import LedgerStoreError

__all__ = ["SCHEMA_VERSION", "BouncerRow", "LedgerStore"]

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, leaf BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note BLOB NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bouncers (
    name TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, created REAL NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT -1, last_pull REAL
);
CREATE TABLE IF NOT EXISTS cosignatures (
    size INTEGER NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (size, witness)
);
"""

BouncerRow = tuple[str, str, float, int, float | None]


def _blob(value: Any) -> bytes:
    """A stored BLOB as bytes; a value edited into TEXT (tampering) is still compared byte for byte."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if value is None:
        return b""
    return (
        bytes(value) if isinstance(value, bytes | bytearray | memoryview) else str(value).encode()
    )


class LedgerStore:
    """One SQLite database file (WAL mode), safe to share between threads.

    Raises:
        LedgerStoreError: the file cannot be opened or is not a ledger database.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise LedgerStoreError(
                f"cannot open the ledger database {str(path)!r}: {exc}",
                path=str(path),
                hint="check the path and permissions; it must be a SQLite file written by this tool",
            ) from exc
        version = self.meta("schema")
        if version is None:
            self.set_meta("schema", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise LedgerStoreError(
                f"ledger database {str(path)!r} has schema {version}, this version reads {SCHEMA_VERSION}",
                path=str(path),
                hint="use the matching release of cross_domain_autoblocker_ledger",
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Hold one read transaction: every read inside sees the same state.

        Replaying a ledger reads entries in batches and then checkpoints;
        another process appending in between would make a consistent log
        look truncated or unsigned.  In WAL mode a reader's transaction sees
        one snapshot and never blocks the writer.
        """
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield
            finally:
                self._db.execute("COMMIT")

    def _run(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise LedgerStoreError(
                    f"ledger database {str(self.path)!r} failed: {exc}",
                    path=str(self.path),
                    hint="check free disk space and that no other tool holds a write lock",
                ) from exc

    # -- meta -----------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        rows = self._run("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- entries and checkpoints ---------------------------------------------

    def count(self) -> int:
        rows = self._run("SELECT COUNT(*) FROM entries")
        return int(rows[0][0])

    def entries(self, start: int = 0, batch: int = 10_000) -> Iterator[tuple[int, bytes]]:
        """``(seq, leaf)`` in order from ``start``, fetched in batches."""
        seq = start
        while True:
            rows = self._run(
                "SELECT seq, leaf FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?", (seq, batch)
            )
            if not rows:
                return
            for row_seq, leaf in rows:
                yield int(row_seq), _blob(leaf)
            seq = int(rows[-1][0]) + 1

    def entry(self, seq: int) -> bytes | None:
        rows = self._run("SELECT leaf FROM entries WHERE seq = ?", (seq,))
        return _blob(rows[0][0]) if rows else None

    def append(
        self,
        first_seq: int,
        leaves: Sequence[bytes],
        *,
        size: int,
        note: bytes | None,
        now: float,
        meta: dict[str, str] | None = None,
    ) -> None:
        """Write ``leaves`` from ``first_seq``, the checkpoint of ``size`` and ``meta`` values, atomically."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany(
                        "INSERT INTO entries (seq, leaf) VALUES (?, ?)",
                        ((first_seq + i, leaf) for i, leaf in enumerate(leaves)),
                    )
                    if note is not None:
                        self._db.execute(
                            "INSERT OR REPLACE INTO checkpoints (size, note, created) VALUES (?, ?, ?)",
                            (size, note, now),
                        )
                    for key, value in (meta or {}).items():
                        self._db.execute(
                            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
                        )
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise LedgerStoreError(
                    f"cannot append to the ledger database {str(self.path)!r}: {exc}",
                    path=str(self.path),
                    hint="check free disk space; nothing was written",
                ) from exc

    def checkpoints(self) -> list[tuple[int, bytes]]:
        """Every stored signed checkpoint as ``(size, note)``, smallest first."""
        rows = self._run("SELECT size, note FROM checkpoints ORDER BY size")
        return [(int(s), _blob(n)) for s, n in rows]

    def checkpoint(self, size: int | None = None) -> tuple[int, bytes] | None:
        """The checkpoint of ``size`` (the latest when ``None``)."""
        if size is None:
            rows = self._run("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1")
        else:
            rows = self._run("SELECT size, note FROM checkpoints WHERE size = ?", (size,))
        if not rows:
            return None
        return int(rows[0][0]), _blob(rows[0][1])

    # -- witness cosignatures -------------------------------------------------

    def add_cosignature(self, size: int, witness: str, line: str, now: float) -> None:
        """Keep a witness's cosignature line of the checkpoint of ``size``."""
        self._run(
            "INSERT OR REPLACE INTO cosignatures (size, witness, line, created) VALUES (?, ?, ?, ?)",
            (size, witness, line, now),
        )

    def cosignatures(self, size: int | None = None) -> list[tuple[int, str, str]]:
        """Stored cosignatures as ``(size, witness, line)``, by size (one size when given)."""
        if size is None:
            rows = self._run("SELECT size, witness, line FROM cosignatures ORDER BY size, witness")
        else:
            rows = self._run(
                "SELECT size, witness, line FROM cosignatures WHERE size = ? ORDER BY witness",
                (size,),
            )
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    # -- bouncers -------------------------------------------------------------

    def add_bouncer(self, name: str, key_hash: str, now: float) -> None:
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO bouncers (name, key_hash, created) VALUES (?, ?, ?)",
                    (name, key_hash, now),
                )
        except sqlite3.IntegrityError:
            raise LedgerStoreError(
                f"a bouncer named {name!r} already exists",
                hint="pick another name or delete it first",
            ) from None

    def delete_bouncer(self, name: str) -> bool:
        with self._lock:
            cursor = self._db.execute("DELETE FROM bouncers WHERE name = ?", (name,))
            return cursor.rowcount > 0

    def bouncers(self) -> list[BouncerRow]:
        rows = self._run(
            "SELECT name, key_hash, created, last_seq, last_pull FROM bouncers ORDER BY name"
        )
        return [
            (str(a), str(b), float(c), int(d), None if e is None else float(e))
            for a, b, c, d, e in rows
        ]

    def bouncer_by_key(self, key_hash: str) -> BouncerRow | None:
        rows = self._run(
            "SELECT name, key_hash, created, last_seq, last_pull FROM bouncers WHERE key_hash = ?",
            (key_hash,),
        )
        if not rows:
            return None
        a, b, c, d, e = rows[0]
        return (str(a), str(b), float(c), int(d), None if e is None else float(e))

    def mark_pull(self, name: str, seq: int, now: float) -> None:
        self._run(
            "UPDATE bouncers SET last_seq = ?, last_pull = ? WHERE name = ?", (seq, now, name)
        )
