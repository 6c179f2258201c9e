"""The run history, cache index and lineage, in one embedded SQLite file.

Layout of a state directory (``.spe/`` beside the pipeline by default)::

    history.sqlite     runs, stage runs, cache entries, lineage
    cache/<key>.arrow  one Arrow IPC file per cached stage output
    journal/<run>.jsonl  completed stages of a run not yet in history.sqlite

SQLite runs in WAL mode with a busy timeout, so a ``spe history`` reading
while a run writes neither blocks nor fails.

**Completed stages go to a journal first.**  Committing three rows per stage
as its own SQLite transaction cost more than the rest of the engine's
per-stage work together (each commit re-writes the same index pages into
the WAL).  During a run, each finished stage is appended to the run's
journal as one line, a single ``write()``: the bytes are in the operating
system's page cache at once, so killing the process loses nothing, exactly
like a WAL commit with ``synchronous=NORMAL`` (neither is fsynced; a power
cut may lose the last stages of both, which then re-run).  The journal is
folded into SQLite in one transaction about once a second and when the run
ends, then deleted.  A journal left by a process that died is folded in by
the next store opened on the directory (before a resume looks at the
cache), so resuming still starts from the last completed stage.  While a
run is in flight, another process's ``spe history`` sees its stage rows up
to a second late.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthetic_pipeline_engine.errors import PipelineInputError, PipelineStoreError

__all__ = ["CacheEntry", "RunStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    pipeline_path TEXT,
    partition TEXT,
    started REAL NOT NULL,
    finished REAL,
    status TEXT NOT NULL,
    error TEXT,
    pid INTEGER,
    resumed_from TEXT,
    dag TEXT
);
CREATE TABLE IF NOT EXISTS stage_runs (
    run_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    started REAL,
    duration REAL,
    rows INTEGER,
    cache_key TEXT,
    output_hash TEXT,
    error TEXT,
    details TEXT,
    PRIMARY KEY (run_id, stage)
);
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY,
    stage TEXT NOT NULL,
    output_hash TEXT NOT NULL,
    rows INTEGER NOT NULL,
    details TEXT,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lineage (
    output_hash TEXT NOT NULL,
    stage TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    run_id TEXT NOT NULL,
    partition TEXT,
    target TEXT,
    code_hash TEXT,
    params TEXT,
    inputs TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (output_hash, stage, run_id)
);
CREATE INDEX IF NOT EXISTS lineage_stage ON lineage(stage, created);
CREATE INDEX IF NOT EXISTS lineage_target ON lineage(target, created);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started);
CREATE INDEX IF NOT EXISTS stage_runs_stage ON stage_runs(stage, started);
"""


_OPENING = threading.Lock()


def _enable_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL unless already there, retrying while another process holds the file.

    Changing the journal mode needs the database to itself and SQLite
    answers "locked" at once instead of waiting out the busy timeout, so two
    processes opening a brand-new history together would otherwise fail.
    """
    for attempt in range(100):
        try:
            mode = db.execute("PRAGMA journal_mode").fetchone()
            if mode and str(mode[0]).lower() == "wal":
                return
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(min(0.01 * (attempt + 1), 0.2))
    db.execute("PRAGMA journal_mode=WAL")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_ADDED_COLUMNS = (
    ("runs", "pid", "INTEGER"),
    ("runs", "resumed_from", "TEXT"),
    ("runs", "dag", "TEXT"),
)


@dataclass(frozen=True)
class CacheEntry:
    """A cached stage output: its content hash, row count and stored details."""

    key: str
    stage: str
    output_hash: str
    rows: int
    details: dict[str, Any]


class RunStore:
    """History, cache index and lineage of one state directory.

    Thread-safe: one connection guarded by a lock, because stages finish on
    executor threads and each records its result immediately.
    """

    def __init__(self, state_dir: str | Path) -> None:
        self.state_dir = Path(state_dir)
        self.cache_dir = self.state_dir / "cache"
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            # The busy timeout comes first: several runs (partitions of a
            # parallel backfill) may open a new history at the same moment.
            self._db = sqlite3.connect(
                self.state_dir / "history.sqlite",
                check_same_thread=False,
                isolation_level=None,
                timeout=30.0,
            )
            with _OPENING:  # one thread at a time turns a new history into WAL
                _enable_wal(self._db)
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise PipelineStoreError(
                f"cannot open the run history in {str(self.state_dir)!r}: {exc}",
                path=str(self.state_dir),
                hint="check that the state directory is writable and not a corrupt database",
            ) from exc
        self._lock = threading.RLock()
        self._depth = 0
        self.journal_dir = self.state_dir / "journal"
        self._journal: int | None = None  # file descriptor of this run's journal
        self._journal_path: Path | None = None
        self._pending: list[tuple[list[Any], list[Any] | None, list[Any] | None]] = []
        self._pending_cache: dict[str, CacheEntry] = {}
        self._flushed_at = time.monotonic()
        self.flush_interval = 1.0
        self._recover_journals()

    def _migrate(self) -> None:
        """Add columns that newer releases record to a history made by an older one."""
        for table, column, sql_type in _ADDED_COLUMNS:
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._close_journal()
            self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several writes into one commit (one fsync instead of several)."""
        with self._tx():
            yield

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise PipelineStoreError(
                    f"run history write failed: {exc}",
                    path=str(self.state_dir),
                    hint="check the disk and the file's permissions; if another process holds the database, retry",
                ) from exc
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            self._db.row_factory = sqlite3.Row
            try:
                return list(self._db.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise PipelineStoreError(
                    f"run history read failed: {exc}", path=str(self.state_dir), hint="retry"
                ) from exc
            finally:
                self._db.row_factory = None

    # ------------------------------------------------------------- runs
    def start_run(
        self,
        pipeline: str,
        pipeline_path: str | None,
        partition: str | None,
        resumed_from: str | None = None,
        dag: Mapping[str, Any] | None = None,
    ) -> str:
        run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (run_id, pipeline, pipeline_path, partition, started, finished, status,"
                " error, pid, resumed_from, dag) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    pipeline,
                    pipeline_path,
                    partition,
                    time.time(),
                    None,
                    "running",
                    None,
                    os.getpid(),
                    resumed_from,
                    json.dumps(dag) if dag is not None else None,
                ),
            )
        return run_id

    def mark_crashed(self, pipeline: str) -> list[str]:
        """Mark runs of ``pipeline`` left 'running' by a dead process as 'crashed'."""
        rows = self._query(
            "SELECT run_id, pid FROM runs WHERE pipeline=? AND status='running'", (pipeline,)
        )
        crashed = [
            str(row["run_id"]) for row in rows if row["pid"] is None or not _alive(int(row["pid"]))
        ]
        if crashed:
            with self._tx() as db:
                db.executemany(
                    "UPDATE runs SET status='crashed', error='process ended during the run' WHERE run_id=?",
                    [(r,) for r in crashed],
                )
        return crashed

    def finish_run(self, run_id: str, status: str, error: str | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET finished=?, status=?, error=? WHERE run_id=?",
                (time.time(), status, error, run_id),
            )

    def record_stage(self, run_id: str, stage: str, kind: str, **fields: Any) -> None:
        row = _stage_row(run_id, stage, kind, fields)
        with self._tx() as db:
            db.execute(_STAGE_SQL, row)

    # ------------------------------------------------------------- journal
    def open_journal(self, run_id: str) -> None:
        """Journal this run's completed stages (see the module docstring) until :meth:`close`."""
        self._close_journal()
        try:
            self.journal_dir.mkdir(exist_ok=True)
            path = self.journal_dir / f"{run_id}.jsonl"
            self._journal = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise PipelineStoreError(
                f"cannot write the run journal in {str(self.journal_dir)!r}: {exc.strerror}",
                path=str(self.journal_dir),
                hint="check that the state directory is writable",
            ) from exc
        self._journal_path = path

    def record_completion(
        self,
        run_id: str,
        stage: str,
        kind: str,
        *,
        cache: CacheEntry | None = None,
        lineage: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        """Record a finished stage: its stage-run row, cache entry and lineage, together.

        With a journal open this is one appended line (and a SQLite
        transaction about once a second); without, one transaction now.
        """
        details = fields.get("details")
        details_json = json.dumps(details, default=str) if details is not None else None
        fields["details"] = details_json
        row = list(_stage_row(run_id, stage, kind, fields, details_json=True))
        cache_row = list(_cache_row(cache, details_json)) if cache is not None else None
        lineage_row = list(_lineage_row(**lineage)) if lineage is not None else None
        if self._journal is None:
            with self._tx() as db:
                _apply(db, (row, cache_row, lineage_row))
            return
        line = _journal_line(row, cache_row, lineage_row, details_json)
        with self._lock:
            try:
                os.write(self._journal, line)
            except OSError as exc:
                raise PipelineStoreError(
                    f"cannot append to the run journal: {exc.strerror}",
                    path=str(self._journal_path),
                    hint="check the disk",
                ) from exc
            self._pending.append((row, cache_row, lineage_row))
            if cache is not None:
                self._pending_cache[cache.key] = cache
            due = time.monotonic() - self._flushed_at >= self.flush_interval
        if due:
            self.flush()

    def flush(self) -> None:
        """Fold the journal's pending stages into SQLite in one transaction."""
        with self._lock:
            if not self._pending:
                return
            pending, self._pending = self._pending, []
            try:
                with self._tx() as db:
                    for item in pending:
                        _apply(db, item)
            except BaseException:
                self._pending = pending + self._pending
                raise
            self._pending_cache.clear()
            self._flushed_at = time.monotonic()

    def _close_journal(self) -> None:
        """Flushed already: the journal's content is in SQLite, so it goes."""
        if self._journal is None:
            return
        os.close(self._journal)
        self._journal = None
        if self._journal_path is not None and not self._pending:
            self._journal_path.unlink(missing_ok=True)
        self._journal_path = None

    def _recover_journals(self) -> None:
        """Fold in journals whose run's process is gone (it crashed before folding them)."""
        try:
            journals = sorted(self.journal_dir.glob("*.jsonl"))
        except OSError:
            return
        for path in journals:
            rows = self._query("SELECT pid, status FROM runs WHERE run_id=?", (path.stem,))
            if (
                rows
                and rows[0]["status"] == "running"
                and rows[0]["pid"] is not None
                and _alive(int(rows[0]["pid"]))
            ):
                continue  # still being written
            items = []
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                item = _parse_journal_line(line)
                if item is not None:  # None: a line cut short by the crash; that stage re-runs
                    items.append(item)
            with self._tx() as db:
                for row, cache_row, lineage_row in items:
                    _apply(db, (row, cache_row, lineage_row))
            path.unlink(missing_ok=True)

    def runs(self, limit: int = 20, pipeline: str | None = None) -> list[dict[str, Any]]:
        if pipeline is None:
            rows = self._query("SELECT * FROM runs ORDER BY started DESC LIMIT ?", (limit,))
        else:
            rows = self._query(
                "SELECT * FROM runs WHERE pipeline=? ORDER BY started DESC LIMIT ?",
                (pipeline, limit),
            )
        return [dict(r) for r in rows]

    def run(self, run_id: str) -> dict[str, Any]:
        """One run with its stage results; ``latest`` names the newest run."""
        if run_id == "latest":
            rows = self._query("SELECT * FROM runs ORDER BY started DESC LIMIT 1")
        else:
            rows = self._query(
                "SELECT * FROM runs WHERE run_id=? OR run_id LIKE ?", (run_id, run_id + "%")
            )
        if not rows:
            raise PipelineInputError(
                f"no run {run_id!r} in {str(self.state_dir)!r}",
                hint="list runs with 'spe history' (and pass the same --state-dir)",
            )
        if len(rows) > 1:
            raise PipelineInputError(
                f"run id prefix {run_id!r} is ambiguous", hint="give more characters"
            )
        run = dict(rows[0])
        run["dag"] = json.loads(run["dag"]) if run.get("dag") else {}
        stages = self._query(
            "SELECT * FROM stage_runs WHERE run_id=? ORDER BY started, stage", (run["run_id"],)
        )
        run["stages"] = []
        for stage_row in stages:
            item = dict(stage_row)
            item["details"] = json.loads(item["details"]) if item["details"] else {}
            run["stages"].append(item)
        return run

    def last_unfinished_run(self, pipeline: str) -> dict[str, Any] | None:
        rows = self._query(
            "SELECT * FROM runs WHERE pipeline=? AND status IN ('crashed','failed') ORDER BY started DESC LIMIT 1",
            (pipeline,),
        )
        return dict(rows[0]) if rows else None

    # ------------------------------------------------------------- cache
    def cache_path(self, key: str) -> Path:
        return self.cache_dir / f"{key}.arrow"

    def cache_get(self, key: str) -> CacheEntry | None:
        pending = self._pending_cache.get(key)
        if pending is not None:
            return pending
        rows = self._query("SELECT * FROM cache WHERE key=?", (key,))
        if not rows:
            return None
        row = rows[0]
        return CacheEntry(
            row["key"],
            row["stage"],
            row["output_hash"],
            row["rows"],
            json.loads(row["details"] or "{}"),
        )

    def cache_put(self, entry: CacheEntry) -> None:
        with self._tx() as db:
            db.execute(_CACHE_SQL, _cache_row(entry, None))

    def cache_forget(self, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM cache WHERE key=?", (key,))

    # ------------------------------------------------------------- lineage
    def record_lineage(
        self,
        *,
        output_hash: str,
        stage: str,
        pipeline: str,
        run_id: str,
        partition: str | None,
        target: str | None,
        code_hash: str,
        params: Mapping[str, Any],
        inputs: list[dict[str, Any]],
    ) -> None:
        row = _lineage_row(
            output_hash=output_hash,
            stage=stage,
            pipeline=pipeline,
            run_id=run_id,
            partition=partition,
            target=target,
            code_hash=code_hash,
            params=params,
            inputs=inputs,
        )
        with self._tx() as db:
            db.execute(_LINEAGE_SQL, row)

    def lineage(self, output: str) -> dict[str, Any]:
        """The lineage tree of an output: a stage name, a sink path or an output hash."""
        rows = self._query(
            "SELECT * FROM lineage WHERE stage=? OR target=? OR target LIKE ? OR output_hash LIKE ? "
            "ORDER BY created DESC LIMIT 1",
            (output, output, "%/" + output, output + "%"),
        )
        if not rows:
            raise PipelineInputError(
                f"no lineage recorded for {output!r}",
                hint="give a stage name, a sink's output path or an output hash from 'spe history'",
            )
        return self._lineage_node(dict(rows[0]), depth=0)

    def _lineage_node(self, row: dict[str, Any], depth: int) -> dict[str, Any]:
        node = {
            "stage": row["stage"],
            "output_hash": row["output_hash"],
            "run_id": row["run_id"],
            "partition": row["partition"],
            "target": row["target"],
            "code_hash": row["code_hash"],
            "params": json.loads(row["params"] or "{}"),
            "inputs": [],
        }
        if depth > 200:
            return node
        for parent in json.loads(row["inputs"]):
            found = self._query(
                "SELECT * FROM lineage WHERE output_hash=? AND stage=? ORDER BY created DESC LIMIT 1",
                (parent["output_hash"], parent["stage"]),
            )
            if found:
                node["inputs"].append(self._lineage_node(dict(found[0]), depth + 1))
            else:
                node["inputs"].append({**parent, "inputs": []})
        return node


_STAGE_COLUMNS = (
    "run_id",
    "stage",
    "kind",
    "status",
    "reason",
    "attempts",
    "started",
    "duration",
    "rows",
    "cache_key",
    "output_hash",
    "error",
    "details",
)
_STAGE_SQL = (
    f"INSERT OR REPLACE INTO stage_runs ({','.join(_STAGE_COLUMNS)}) "  # noqa: S608  # column names are the literals above
    f"VALUES ({','.join('?' * len(_STAGE_COLUMNS))})"
)
_CACHE_SQL = "INSERT OR REPLACE INTO cache VALUES (?,?,?,?,?,?)"
_LINEAGE_SQL = "INSERT OR REPLACE INTO lineage VALUES (?,?,?,?,?,?,?,?,?,?)"


def _stage_row(
    run_id: str, stage: str, kind: str, fields: Mapping[str, Any], *, details_json: bool = False
) -> tuple[Any, ...]:
    details = fields.get("details")
    if not details_json and details is not None:
        details = json.dumps(details, default=str)
    return (
        run_id,
        stage,
        kind,
        fields.get("status", "pending"),
        fields.get("reason"),
        fields.get("attempts", 0),
        fields.get("started"),
        fields.get("duration"),
        fields.get("rows"),
        fields.get("cache_key"),
        fields.get("output_hash"),
        fields.get("error"),
        details,
    )


def _cache_row(entry: CacheEntry, details_json: str | None) -> tuple[Any, ...]:
    return (
        entry.key,
        entry.stage,
        entry.output_hash,
        entry.rows,
        details_json if details_json is not None else json.dumps(entry.details, default=str),
        time.time(),
    )


def _lineage_row(
    *,
    output_hash: str,
    stage: str,
    pipeline: str,
    run_id: str,
    partition: str | None,
    target: str | None,
    code_hash: str,
    params: Mapping[str, Any],
    inputs: list[dict[str, Any]],
) -> tuple[Any, ...]:
    return (
        output_hash,
        stage,
        pipeline,
        run_id,
        partition,
        target,
        code_hash,
        json.dumps(params, sort_keys=True, default=str),
        json.dumps(inputs),
        time.time(),
    )


def _apply(db: sqlite3.Connection, item: tuple[Any, Any, Any] | list[Any]) -> None:
    """Write one completed stage's rows (a journal line) inside an open transaction."""
    row, cache_row, lineage_row = item
    db.execute(_STAGE_SQL, tuple(row))
    if cache_row is not None:
        db.execute(_CACHE_SQL, tuple(cache_row))
    if lineage_row is not None:
        db.execute(_LINEAGE_SQL, tuple(lineage_row))


def _journal_line(
    row: list[Any], cache_row: list[Any] | None, lineage_row: list[Any] | None, details: str | None
) -> bytes:
    """One completed stage as a journal line; the details JSON is spliced in, not re-escaped."""
    head = [row[:-1], cache_row[:4] + cache_row[5:] if cache_row is not None else None, lineage_row]
    text = json.dumps(head, default=str)
    return f"[{text},{details if details is not None else 'null'}]\n".encode()


def _parse_journal_line(line: str) -> tuple[list[Any], list[Any] | None, list[Any] | None] | None:
    """The rows of a journal line, or None when it is not a whole line."""
    try:
        (row, cache_row, lineage_row), details = json.loads(line)
    except (ValueError, TypeError):
        return None
    details_json = json.dumps(details, default=str) if details is not None else None
    full_cache = (
        [*cache_row[:4], details_json, *cache_row[4:]] if isinstance(cache_row, list) else None
    )
    if not isinstance(row, list) or len(row) != len(_STAGE_COLUMNS) - 1:
        return None
    return [*row, details_json], full_cache, lineage_row if isinstance(lineage_row, list) else None
