"""Database sinks splice table and column names into SQL; no name can inject anything.

SQL has no bound parameters for identifiers, so the sinks quote them with
``sql_identifier`` (the B608 finding of bandit).  These properties write
tables under arbitrary names, including ones written as injection attempts,
and check that each lands as exactly one table with exactly that name and
the rows intact, or fails as the system's own error.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthetic_pipeline_engine import PipelineStageError
from synthetic_pipeline_engine._stages import _write_duckdb, _write_sqlite, sql_identifier

ATTACKS = [
    'x"; DROP TABLE victim; --',
    "x'); DELETE FROM victim; --",
    'a"b',
    '""',
    "victim",
    "select",
    "t; ATTACH DATABASE '/tmp/evil.db' AS evil",
]

names = st.one_of(st.sampled_from(ATTACKS), st.text(min_size=1, max_size=24))


def _table() -> pa.Table:
    return pa.table({"id": [1, 2, 3], "note": ["a", "b'c", 'd"e']})


def _sqlite_tables(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return sorted(
            r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
        )
    finally:
        con.close()


class TestIdentifier:
    @given(st.text())
    def test_quoted_form(self, name: str) -> None:
        """Any text becomes one quoted token whose unescaped content is the text, or is refused."""
        if "\0" in name:
            with pytest.raises(PipelineStageError):
                sql_identifier(name)
            return
        quoted = sql_identifier(name)
        assert quoted.startswith('"')
        assert quoted.endswith('"')
        assert quoted[1:-1].replace('""', '"') == name
        assert '"' not in quoted[1:-1].replace('""', "")  # no lone quote ends the token early


class TestSqliteSink:
    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(names)
    def test_any_name_is_one_table(self, tmp_path: Path, name: str) -> None:
        db = tmp_path / "out.sqlite"
        db.unlink(missing_ok=True)
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE victim (v INTEGER)")
        con.execute("INSERT INTO victim VALUES (42)")
        con.commit()
        con.close()
        try:
            _write_sqlite(db, name, _table(), "replace")
        except PipelineStageError:
            assert "\0" in name
            return
        except sqlite3.Error:
            # e.g. names SQLite reserves ("sqlite_*"); the sink wraps these as a stage error
            assert name.lower().startswith("sqlite_") or name == "victim"
            return
        tables = _sqlite_tables(db)
        con = sqlite3.connect(db)
        try:
            if name != "victim":
                assert tables == sorted(["victim", name])
                assert con.execute("SELECT v FROM victim").fetchall() == [(42,)]
            query = f"SELECT id, note FROM {sql_identifier(name)} ORDER BY id"  # noqa: S608  # nosec B608
            rows = con.execute(query).fetchall()
        finally:
            con.close()
        assert rows == [(1, "a"), (2, "b'c"), (3, 'd"e')]


class TestDuckdbSink:
    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(names)
    def test_any_name_is_one_table(self, tmp_path: Path, name: str) -> None:
        db = tmp_path / "out.duckdb"
        db.unlink(missing_ok=True)
        with duckdb.connect(str(db)) as con:
            con.execute("CREATE TABLE victim (v INTEGER)")
            con.execute("INSERT INTO victim VALUES (42)")
        try:
            _write_duckdb(db, name, _table(), "append")
        except PipelineStageError:
            assert "\0" in name
            return
        except duckdb.Error:
            return  # a name DuckDB itself refuses; the sink turns this into a stage error
        with duckdb.connect(str(db)) as con:
            tables = sorted(r[0] for r in con.execute("SHOW TABLES").fetchall())
            victim = con.execute("SELECT v FROM victim").fetchall()
            quoted = sql_identifier(name)
            rows = con.execute(f"SELECT id, note FROM {quoted} ORDER BY id").fetchall()  # noqa: S608  # nosec B608 -- quoted by sql_identifier
        if name.lower() != "victim":
            assert len(tables) == 2
            assert victim == [(42,)]
            assert rows == [(1, "a"), (2, "b'c"), (3, 'd"e')]
        else:
            assert tables == ["victim"]
