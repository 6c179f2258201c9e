"""The persisted knowledge base: one SQLite file that survives between commands.

Tables: ``meta`` (replica name, rule set of the last ``reason``), ``relations``
(name, columns, lattice), ``facts`` (the base facts, one JSON row each, with
their lattice value) and ``derived`` (the closure of the last ``reason``).
Every save replaces the content inside one transaction, so a failed command
leaves the previous state intact.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from dynamic_semantic_lattice_engine._knowledge import DELTA_VERSION, KnowledgeBase
from dynamic_semantic_lattice_engine.errors import LatticeStoreError, LatticeStoreFormatError

__all__ = ["load_store", "save_store"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS relations (name TEXT PRIMARY KEY, columns TEXT NOT NULL, lattice TEXT);
CREATE TABLE IF NOT EXISTS facts (relation TEXT NOT NULL, row TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS derived (relation TEXT NOT NULL, row TEXT NOT NULL);
"""


def _connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path)
        conn.executescript(_SCHEMA)
    except sqlite3.DatabaseError as exc:
        raise LatticeStoreFormatError(
            f"cannot open store {path}: {exc}",
            hint="pass --store with a dsle SQLite file (or a new path to create one)",
        ) from exc
    return conn


def load_store(path: Path, *, replica: str = "") -> KnowledgeBase:
    """The knowledge base saved at ``path`` (empty if the file does not exist)."""
    if not path.exists():
        return KnowledgeBase(replica=replica) if replica else KnowledgeBase()
    conn = _connect(path)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        kb = KnowledgeBase(replica=replica or meta.get("replica", "") or "local")
        relations: dict[str, Any] = {}
        for name, columns, lattice in conn.execute("SELECT name, columns, lattice FROM relations"):
            relations[name] = {"columns": json.loads(columns), "lattice": lattice, "rows": []}
        for relation, row in conn.execute("SELECT relation, row FROM facts"):
            relations[relation]["rows"].append(json.loads(row))
        kb.import_delta(
            {
                "format": "dsle-delta",
                "version": DELTA_VERSION,
                "replica": kb.replica,
                "relations": relations,
            }
        )
        derived: dict[str, list[list[Any]]] = {}
        for relation, row in conn.execute("SELECT relation, row FROM derived"):
            derived.setdefault(relation, []).append(json.loads(row))
        kb.stored_closure = derived
        kb.rules = meta.get("rules")
        return kb
    except (sqlite3.DatabaseError, KeyError, ValueError) as exc:
        raise LatticeStoreFormatError(
            f"store {path} is damaged or not a dsle store: {exc}", hint="use another --store path"
        ) from exc
    finally:
        conn.close()


def save_store(kb: KnowledgeBase, path: Path) -> None:
    """Write ``kb`` (and its closure, if reasoned) to ``path`` atomically."""
    delta = kb.export_delta()
    conn = _connect(path)
    try:
        with conn:
            conn.execute("DELETE FROM meta")
            conn.execute("DELETE FROM relations")
            conn.execute("DELETE FROM facts")
            conn.execute("DELETE FROM derived")
            conn.execute("INSERT INTO meta VALUES ('replica', ?)", (kb.replica,))
            if kb.rules:
                conn.execute("INSERT INTO meta VALUES ('rules', ?)", (kb.rules,))
            for name, body in delta["relations"].items():
                conn.execute(
                    "INSERT INTO relations VALUES (?, ?, ?)",
                    (name, json.dumps(body["columns"]), body["lattice"]),
                )
                conn.executemany(
                    "INSERT INTO facts VALUES (?, ?)", ((name, json.dumps(r)) for r in body["rows"])
                )
            for name, rows in kb.closure_rows().items():
                conn.executemany(
                    "INSERT INTO derived VALUES (?, ?)", ((name, json.dumps(r)) for r in rows)
                )
    except (sqlite3.DatabaseError, TypeError) as exc:
        raise LatticeStoreError(
            f"cannot write store {path}: {exc}", hint="check the path and free space"
        ) from exc
    finally:
        conn.close()
