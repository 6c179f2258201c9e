"""Running pipelines: caching, early cut-off, retries, timeouts, partitions, resume, lineage."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from synthetic_pipeline_engine import (
    PipelineInputError,
    RunStore,
    check_pipeline,
    load_pipeline,
    plan,
    run,
)


def _write(tmp_path: Path, stages: list[dict[str, Any]], **top: Any) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"name": "demo", "stages": stages, **top}))
    return path


def _run(path: Path, **kw: Any) -> Any:
    return run(load_pipeline(path), path.parent / ".spe", **kw)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "users.csv").write_text("id,name,age\n1,ann,34\n2,bob,17\n3,cy,51\n")
    (tmp_path / "orders.csv").write_text(
        "order_id,user_id,amount\n10,1,9.5\n11,3,12.0\n12,3,3.25\n"
    )
    (tmp_path / "fns.py").write_text(
        "import polars as pl\n"
        "def enrich(users, orders, factor=1.0):\n"
        "    return orders.join(users, left_on='user_id', right_on='id').with_columns(total=pl.col('amount') * factor)\n"
    )
    return _write(
        tmp_path,
        [
            {
                "name": "users",
                "kind": "source",
                "format": "csv",
                "path": "users.csv",
                "schema": {"id": "int64", "name": "string", "age": "int64"},
            },
            {"name": "orders", "kind": "source", "format": "csv", "path": "orders.csv"},
            {
                "name": "adults",
                "kind": "transform",
                "inputs": ["users"],
                "sql": "SELECT * FROM users WHERE age >= 18",
            },
            {
                "name": "enriched",
                "kind": "transform",
                "inputs": ["adults", "orders"],
                "function": "fns.py:enrich",
                "params": {"factor": 2},
            },
            {
                "name": "check",
                "kind": "validate",
                "inputs": ["enriched"],
                "expectations": [
                    {"column": "order_id", "unique": True},
                    {"column": "user_id", "foreign_key": "users.id"},
                    {"column": "amount", "range": [0, 100]},
                ],
            },
            {
                "name": "out",
                "kind": "sink",
                "inputs": ["check"],
                "format": "parquet",
                "path": "out/enriched.parquet",
            },
        ],
    )


class TestCaching:
    def test_first_run_then_everything_cached(self, shop: Path) -> None:
        """A second run with nothing changed skips every stage, and the output is right."""
        first = _run(shop)
        assert first.ok
        assert {s.status for s in first.stages.values()} == {"ran"}
        rows = pq.read_table(shop.parent / "out/enriched.parquet").to_pylist()
        assert [(r["order_id"], r["total"]) for r in rows] == [(10, 19.0), (11, 24.0), (12, 6.5)]
        second = _run(shop)
        assert {s.status for s in second.stages.values()} == {"cached"}

    def test_input_file_change_reruns_dependants_only(self, shop: Path) -> None:
        """Changing orders.csv re-runs orders and what reads it, not users/adults."""
        _run(shop)
        (shop.parent / "orders.csv").write_text("order_id,user_id,amount\n10,1,9.5\n")
        result = _run(shop)
        status = {k: v.status for k, v in result.stages.items()}
        assert status == {
            "users": "cached",
            "adults": "cached",
            "orders": "ran",
            "enriched": "ran",
            "check": "ran",
            "out": "ran",
        }
        assert pq.read_table(shop.parent / "out/enriched.parquet").num_rows == 1

    def test_plan_says_why(self, shop: Path) -> None:
        """plan names the changed input file and the stages that follow."""
        _run(shop)
        (shop.parent / "users.csv").write_text("id,name,age\n1,ann,34\n")
        items = {i.stage: i for i in plan(load_pipeline(shop), shop.parent / ".spe")}
        assert items["users"].action == "run"
        assert items["users"].reason == "input file changed"
        assert items["orders"].action == "cached"
        assert items["adults"].reason == "input 'users' will run"

    def test_code_change_reruns_and_early_cutoff(self, shop: Path) -> None:
        """Editing the function re-runs it; identical output leaves downstream cached."""
        _run(shop)
        fns = shop.parent / "fns.py"
        fns.write_text(fns.read_text() + "# a comment changes the code hash, not the output\n")
        result = _run(shop)
        assert result.stages["enriched"].status == "ran"
        assert result.stages["enriched"].reason == "code or config changed"
        assert result.stages["check"].status == "cached"
        assert result.stages["out"].status == "cached"

    def test_deleted_sink_output_is_rewritten(self, shop: Path) -> None:
        """A sink whose file vanished re-runs even though nothing else changed."""
        _run(shop)
        (shop.parent / "out/enriched.parquet").unlink()
        result = _run(shop)
        assert result.stages["out"].status == "ran"
        assert (shop.parent / "out/enriched.parquet").exists()

    def test_from_stage_forces_downstream(self, shop: Path) -> None:
        """--from re-runs the stage and its dependants only."""
        _run(shop)
        result = run(check_pipeline(load_pipeline(shop)), shop.parent / ".spe", from_stage="adults")
        status = {k: v.status for k, v in result.stages.items()}
        assert status["users"] == "cached"
        assert status["orders"] == "cached"
        assert status["adults"] == "ran"
        assert status["out"] == "ran"
        with pytest.raises(PipelineInputError, match="unknown stage"):
            run(load_pipeline(shop), shop.parent / ".spe", from_stage="nope")


class TestFailures:
    def test_validation_failure_fails_stage_and_skips_sink(self, shop: Path) -> None:
        """A broken expectation fails the validator and the sink is skipped."""
        (shop.parent / "orders.csv").write_text("order_id,user_id,amount\n10,1,9.5\n10,3,500\n")
        result = _run(shop)
        assert not result.ok
        check = result.stages["check"]
        assert check.status == "failed"
        assert "2 of 3 expectation(s) failed" in (check.error or "")
        failing = {r["expectation"]: r for r in check.details["validation"]}
        assert failing["order_id: unique True"]["failing_rows"] == 2
        assert failing["amount: range [0, 100]"]["examples"] == [500.0]
        assert result.stages["out"].status == "skipped"
        assert not (shop.parent / "out/enriched.parquet").exists()

    def test_warn_lets_data_through(self, tmp_path: Path) -> None:
        """on_failure: warn records the failure and still runs downstream."""
        (tmp_path / "a.csv").write_text("x\n1\n1\n")
        path = _write(
            tmp_path,
            [
                {"name": "a", "kind": "source", "format": "csv", "path": "a.csv"},
                {
                    "name": "v",
                    "kind": "validate",
                    "inputs": ["a"],
                    "on_failure": "warn",
                    "expectations": [{"column": "x", "unique": True}],
                },
                {"name": "s", "kind": "sink", "inputs": ["v"], "format": "csv", "path": "s.csv"},
            ],
        )
        result = _run(path)
        assert result.ok
        assert result.stages["v"].status == "warned"
        assert (tmp_path / "s.csv").read_text().splitlines() == ['"x"', "1", "1"]

    def test_retries_with_backoff(self, tmp_path: Path) -> None:
        """A flaky stage succeeds on its third attempt; backoff doubles."""
        (tmp_path / "flaky.py").write_text(
            "import polars as pl\n"
            "CALLS = []\n"
            "def f():\n"
            "    CALLS.append(1)\n"
            "    if len(CALLS) < 3:\n"
            "        raise ConnectionError('transient')\n"
            "    return pl.DataFrame({'x': [len(CALLS)]})\n"
        )
        path = _write(
            tmp_path,
            [
                {
                    "name": "f",
                    "kind": "transform",
                    "function": "flaky.py:f",
                    "retries": 3,
                    "backoff": 1.0,
                }
            ],
        )
        delays: list[float] = []
        result = _run(path, sleep=delays.append, seed=1)
        assert result.ok
        assert result.stages["f"].attempts == 3
        assert len(delays) == 2
        assert 0.5 <= delays[0] <= 1.0
        assert 1.0 <= delays[1] <= 2.0

    def test_retries_exhausted(self, tmp_path: Path) -> None:
        """A stage failing every attempt is failed with the cause in its error."""
        (tmp_path / "bad.py").write_text("def f():\n    raise ValueError('broken input')\n")
        path = _write(
            tmp_path, [{"name": "f", "kind": "transform", "function": "bad.py:f", "retries": 1}]
        )
        result = _run(path, sleep=lambda _s: None)
        assert result.stages["f"].status == "failed"
        assert result.stages["f"].attempts == 2
        assert "ValueError: broken input" in (result.stages["f"].error or "")

    def test_timeout(self, tmp_path: Path) -> None:
        """A stage blocked past its timeout fails with a timeout error."""
        (tmp_path / "slow.py").write_text(
            "import threading\nGATE = threading.Event()\n"
            "def f():\n    GATE.wait(30)\n    raise RuntimeError('released')\n"
        )
        path = _write(
            tmp_path, [{"name": "f", "kind": "transform", "function": "slow.py:f", "timeout": 0.2}]
        )
        spec = load_pipeline(path)
        try:
            result = run(spec, tmp_path / ".spe")
        finally:
            fn = spec.stages["f"].function
            assert fn is not None
            fn.__globals__["GATE"].set()
        assert result.stages["f"].status == "failed"
        assert "longer than its timeout of 0.2 s" in (result.stages["f"].error or "")

    def test_independent_branch_still_runs(self, tmp_path: Path) -> None:
        """One failing branch does not stop an unrelated one."""
        (tmp_path / "a.csv").write_text("x\n1\n")
        path = _write(
            tmp_path,
            [
                {"name": "a", "kind": "source", "format": "csv", "path": "a.csv"},
                {
                    "name": "bad",
                    "kind": "transform",
                    "inputs": ["a"],
                    "sql": "SELECT CAST('x' AS INTEGER) AS y FROM a",
                },
                {
                    "name": "good",
                    "kind": "sink",
                    "inputs": ["a"],
                    "format": "jsonl",
                    "path": "good.jsonl",
                },
            ],
        )
        result = _run(path)
        assert result.status == "failed"
        assert result.stages["bad"].status == "failed"
        assert result.stages["good"].status == "ran"
        assert json.loads((tmp_path / "good.jsonl").read_text()) == {"x": 1}


class TestFormats:
    def test_sqlite_and_duckdb_sources_and_sinks(self, tmp_path: Path) -> None:
        """Rows go from SQLite through SQL into DuckDB and SQLite sinks."""
        con = sqlite3.connect(tmp_path / "src.db")
        con.execute("CREATE TABLE t (id INTEGER, v REAL)")
        con.executemany("INSERT INTO t VALUES (?, ?)", [(1, 1.5), (2, 2.5), (3, 3.5)])
        con.commit()
        con.close()
        path = _write(
            tmp_path,
            [
                {
                    "name": "src",
                    "kind": "source",
                    "format": "sqlite",
                    "path": "src.db",
                    "query": "SELECT * FROM t WHERE id > 1",
                },
                {
                    "name": "dbl",
                    "kind": "transform",
                    "inputs": ["src"],
                    "sql": "SELECT id, v * 2 AS v2 FROM src ORDER BY id",
                },
                {
                    "name": "to_duck",
                    "kind": "sink",
                    "inputs": ["dbl"],
                    "format": "duckdb",
                    "path": "out.duckdb",
                    "table": "doubled",
                },
                {
                    "name": "to_lite",
                    "kind": "sink",
                    "inputs": ["dbl"],
                    "format": "sqlite",
                    "path": "out.db",
                    "table": "doubled",
                },
            ],
        )
        assert _run(path).ok
        duck = duckdb.connect(str(tmp_path / "out.duckdb"))
        assert duck.execute("SELECT * FROM doubled ORDER BY id").fetchall() == [(2, 5.0), (3, 7.0)]
        duck.close()
        lite = sqlite3.connect(tmp_path / "out.db")
        assert lite.execute("SELECT * FROM doubled ORDER BY id").fetchall() == [(2, 5.0), (3, 7.0)]
        lite.close()
        path2 = _write(
            tmp_path,
            [
                {
                    "name": "back",
                    "kind": "source",
                    "format": "duckdb",
                    "path": "out.duckdb",
                    "query": "SELECT sum(v2) AS s FROM doubled",
                },
                {
                    "name": "j",
                    "kind": "sink",
                    "inputs": ["back"],
                    "format": "jsonl",
                    "path": "s.jsonl",
                },
            ],
        )
        assert _run(path2).ok
        assert json.loads((tmp_path / "s.jsonl").read_text()) == {"s": 12.0}

    def test_generate_and_synthesize_stages(self, tmp_path: Path) -> None:
        """A generate stage feeds a synthesizer; both produce the asked row counts."""
        gen = {
            "tables": {
                "t": {
                    "rows": 200,
                    "columns": {
                        "a": {"type": "float", "distribution": "normal", "mean": 5, "std": 1},
                        "c": {"values": ["x", "y"]},
                    },
                }
            }
        }
        path = _write(
            tmp_path,
            [
                {"name": "g", "kind": "generate", "generator": gen, "seed": 3},
                {"name": "syn", "kind": "synthesize", "inputs": ["g"], "rows": 50},
            ],
        )
        result = _run(path)
        assert result.ok
        assert result.stages["g"].rows == 200
        assert result.stages["syn"].rows == 50


class TestPartitions:
    def test_partition_substitution_and_backfill(self, tmp_path: Path) -> None:
        """Each daily partition reads its own file and caches on its own."""
        for day, n in (("2024-01-01", 1), ("2024-01-02", 2), ("2024-01-03", 3)):
            (tmp_path / f"events_{day}.csv").write_text(
                "v\n" + "\n".join(str(i) for i in range(n)) + "\n"
            )
        path = _write(
            tmp_path,
            [
                {"name": "ev", "kind": "source", "format": "csv", "path": "events_{partition}.csv"},
                {
                    "name": "agg",
                    "kind": "transform",
                    "inputs": ["ev"],
                    "sql": "SELECT count(*) AS n, '{partition}' AS day FROM ev",
                },
                {
                    "name": "out",
                    "kind": "sink",
                    "inputs": ["agg"],
                    "format": "jsonl",
                    "path": "agg/{partition}.jsonl",
                },
            ],
            partitions={"kind": "daily", "start": "2024-01-01"},
        )
        spec = load_pipeline(path)
        assert spec.partitions is not None
        days = spec.partitions.range("2024-01-01..2024-01-03")
        results = [run(spec, tmp_path / ".spe", partition=p) for p in days]
        assert all(r.ok for r in results)
        assert json.loads((tmp_path / "agg/2024-01-02.jsonl").read_text()) == {
            "n": 2,
            "day": "2024-01-02",
        }
        (tmp_path / "events_2024-01-02.csv").write_text("v\n1\n1\n1\n1\n")
        again = [run(spec, tmp_path / ".spe", partition=p) for p in days]
        assert [r.stages["ev"].status for r in again] == ["cached", "ran", "cached"]
        assert json.loads((tmp_path / "agg/2024-01-02.jsonl").read_text())["n"] == 4

    def test_bad_partition_keys(self, tmp_path: Path) -> None:
        """Malformed keys, early keys and reversed ranges are input errors."""
        path = _write(
            tmp_path,
            [{"name": "a", "kind": "source", "format": "csv", "path": "a_{partition}.csv"}],
            partitions={"kind": "hourly", "start": "2024-01-01"},
        )
        spec = load_pipeline(path)
        assert spec.partitions is not None
        assert [p.key for p in spec.partitions.range("2024-01-01T22..2024-01-02T01")] == [
            "2024-01-01T22",
            "2024-01-01T23",
            "2024-01-02T00",
            "2024-01-02T01",
        ]
        for bad in ("2024-01-01", "2023-12-31T23", "2024-01-02T00..2024-01-01T00"):
            with pytest.raises(PipelineInputError):
                spec.partitions.range(bad)


class TestHistoryAndLineage:
    def test_history_lineage_and_report_data(self, shop: Path) -> None:
        """Runs, stage results and the lineage tree are recorded in SQLite."""
        first = _run(shop)
        with RunStore(shop.parent / ".spe") as store:
            runs = store.runs()
            assert [r["run_id"] for r in runs] == [first.run_id]
            record = store.run(first.run_id[:10])
            assert record["status"] == "succeeded"
            assert {s["stage"] for s in record["stages"]} == set(first.stages)
            assert record["dag"]["deps"]["enriched"] == ["adults", "orders"]
            tree = store.lineage("out/enriched.parquet")
        assert tree["stage"] == "out"
        check = tree["inputs"][0]
        assert check["stage"] == "check"
        enriched = check["inputs"][0]
        assert enriched["stage"] == "enriched"
        assert enriched["params"]["params"] == {"factor": 2}
        assert {i["stage"] for i in enriched["inputs"]} == {"adults", "orders"}
        assert enriched["code_hash"]

    def test_unknown_run_and_lineage(self, tmp_path: Path) -> None:
        """Asking for a run or output that does not exist is an input error."""
        with RunStore(tmp_path) as store:
            with pytest.raises(PipelineInputError, match="no run"):
                store.run("nope")
            with pytest.raises(PipelineInputError, match="no lineage"):
                store.lineage("nope")


class TestResume:
    @pytest.mark.slow
    def test_crash_then_resume_from_last_completed_stage(self, tmp_path: Path) -> None:
        """A process killed mid-run leaves completed stages cached; the next run resumes."""
        (tmp_path / "a.csv").write_text("x\n1\n2\n")
        (tmp_path / "crash.py").write_text(
            "import os\n"
            "def f(a):\n"
            "    if os.environ.get('SPE_TEST_CRASH'):\n"
            "        os._exit(17)\n"
            "    return a\n"
        )
        path = _write(
            tmp_path,
            [
                {"name": "a", "kind": "source", "format": "csv", "path": "a.csv"},
                {
                    "name": "b",
                    "kind": "transform",
                    "inputs": ["a"],
                    "sql": "SELECT x * 10 AS x FROM a",
                },
                {"name": "c", "kind": "transform", "inputs": ["b"], "function": "crash.py:f"},
            ],
        )
        proc = subprocess.run(
            [sys.executable, "-m", "synthetic_pipeline_engine", "run", str(path)],
            env={**__import__("os").environ, "SPE_TEST_CRASH": "1"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 17
        result = _run(path)
        assert {k: v.status for k, v in result.stages.items()} == {
            "a": "cached",
            "b": "cached",
            "c": "ran",
        }
        with RunStore(tmp_path / ".spe") as store:
            statuses = [r["status"] for r in store.runs()]
        assert statuses == ["succeeded", "crashed"]


class TestScale:
    def test_long_chain_cached_rerun(self, tmp_path: Path) -> None:
        """A 300-stage chain computes the right value, then re-runs entirely from cache."""
        (tmp_path / "a.csv").write_text("x\n1\n")
        (tmp_path / "inc.py").write_text(
            "import polars as pl\ndef inc(t):\n    return t.with_columns(pl.col('x') + 1)\n"
        )
        stages: list[dict[str, Any]] = [
            {"name": "s0", "kind": "source", "format": "csv", "path": "a.csv"}
        ]
        stages += [
            {
                "name": f"s{i}",
                "kind": "transform",
                "inputs": [f"s{i - 1}"],
                "function": "inc.py:inc",
            }
            for i in range(1, 300)
        ]
        stages.append(
            {
                "name": "out",
                "kind": "sink",
                "inputs": ["s299"],
                "format": "jsonl",
                "path": "out.jsonl",
            }
        )
        path = _write(tmp_path, stages)
        dag = check_pipeline(load_pipeline(path))
        assert run(dag, tmp_path / ".spe").ok
        assert json.loads((tmp_path / "out.jsonl").read_text()) == {"x": 300}
        again = run(dag, tmp_path / ".spe")
        assert {s.status for s in again.stages.values()} == {"cached"}
        assert len(again.stages) == 301

    def test_concurrent_readers_while_running(self, shop: Path) -> None:
        """history can be read from another thread while a run writes it."""
        errors: list[BaseException] = []
        done = threading.Event()

        def reader() -> None:
            try:
                with RunStore(shop.parent / ".spe") as store:
                    while not done.is_set():
                        store.runs()
            except BaseException as exc:  # collected for the assertion below
                errors.append(exc)

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            assert _run(shop).ok
        finally:
            done.set()
            thread.join()
        assert errors == []


class TestLostJobs:
    def test_job_lost_by_executor_fails_its_stage(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An executor that never answers: a stage with a timeout fails instead of hanging the run."""
        from concurrent.futures import Future

        import synthetic_pipeline_engine._runner as runner

        class Forgetful:
            shares_memory = True

            def __init__(self) -> None:
                self.lost: list[Any] = []

            def submit(self, job: Any) -> Future[Any]:
                self.lost.append(job)
                return Future()  # never completed

            def shutdown(self) -> None:
                pass

        monkeypatch.setattr(runner, "_LOST_GRACE", 0.2)
        (tmp_path / "a.csv").write_text("x\n1\n")
        path = _write(
            tmp_path,
            [
                {"name": "a", "kind": "source", "format": "csv", "path": "a.csv", "timeout": 0.1},
                {"name": "b", "kind": "transform", "inputs": ["a"], "sql": "SELECT * FROM a"},
            ],
        )
        executor = Forgetful()
        result = _run(path, executor=executor)
        assert len(executor.lost) == 1
        assert result.stages["a"].status == "failed"
        assert "the job was lost" in (result.stages["a"].error or "")
        assert result.stages["b"].status == "skipped"


class TestPafIsOptional:
    def test_missing_paf_is_a_clear_input_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without the paf extra, asking for its executor is one input error with the install hint."""
        from synthetic_pipeline_engine import make_executor

        monkeypatch.setitem(sys.modules, "parallel_architecture_framework", None)
        with pytest.raises(PipelineInputError, match="not installed") as caught:
            make_executor("paf:processes")
        assert "synthetic_pipeline_engine[paf]" in str(caught.value.hint)
        local = make_executor("local", 1)  # the default needs nothing extra
        local.shutdown()
