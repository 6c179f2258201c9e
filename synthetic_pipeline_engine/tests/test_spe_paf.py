"""Stages on parallel_architecture_framework: same bytes, same failures, same cache and lineage.

One paf client per executor kind is shared by the module (worker processes
start once); every test makes its own pipeline directory and state.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from synthetic_pipeline_engine import (
    LocalExecutor,
    PipelineInputError,
    RunStore,
    check_pipeline,
    load_pipeline,
)
from synthetic_pipeline_engine._jobs import StageJob, run_stage_job
from synthetic_pipeline_engine._runner import Executor, make_executor, run, run_partitions
from synthetic_pipeline_engine._spec import stage_state
from synthetic_pipeline_engine.cli import main

pytest.importorskip("parallel_architecture_framework")

DAYS = ("2024-03-01", "2024-03-02", "2024-03-03")


@pytest.fixture(scope="module")
def executors() -> Iterator[dict[str, Executor]]:
    made = {
        "local": LocalExecutor(2),
        "paf:threads": make_executor("paf:threads", 2),
        "paf:processes": make_executor("paf:processes", 2),
    }
    try:
        yield made
    finally:
        for executor in made.values():
            executor.shutdown()


def _pipeline(root: Path, *, fail: str = "") -> Path:
    """A daily-partitioned pipeline with two independent branches and two sinks."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    for i, day in enumerate(DAYS):
        rows = "\n".join(f"{n},{(n * 7 + i) % 5},{(n * 13 % 97) / 4}" for n in range(40))
        (root / "data" / f"{day}.csv").write_text("order_id,shop,amount\n" + rows + "\n")
    (root / "fns.py").write_text(
        "import polars as pl\n"
        "def band(orders, high=10.0, partition=None):\n"
        "    return orders.with_columns(\n"
        "        band=pl.when(pl.col('amount') > high).then(pl.lit('high')).otherwise(pl.lit('low')),\n"
        "        day=pl.lit(partition),\n"
        "    )\n"
        "def broken(orders):\n"
        f"    if {bool(fail)!r}:\n"
        "        raise ValueError('bad shop data')\n"
        "    return orders\n"
    )
    stages = [
        {
            "name": "orders",
            "kind": "source",
            "format": "csv",
            "path": "data/{partition}.csv",
            "schema": {"order_id": "int64", "shop": "int64", "amount": "float64"},
        },
        {
            "name": "banded",
            "kind": "transform",
            "inputs": ["orders"],
            "function": "fns.py:band",
            "params": {"high": 12.0},
        },
        {
            "name": "per_shop",
            "kind": "transform",
            "inputs": ["orders"],
            "sql": "SELECT shop, count(*) AS n, sum(amount) AS total FROM orders GROUP BY shop ORDER BY shop",
        },
        {
            "name": "checked_input",
            "kind": "transform",
            "inputs": ["banded"],
            "function": "fns.py:broken",
            "retries": 1,
            "backoff": 0.0,
        },
        {
            "name": "checked",
            "kind": "validate",
            "inputs": ["checked_input"],
            "expectations": [
                {"column": "order_id", "unique": True},
                {"column": "shop", "foreign_key": "per_shop.shop"},
                {"column": "amount", "range": [0, 1000]},
            ],
        },
        {
            "name": "orders_out",
            "kind": "sink",
            "inputs": ["checked"],
            "format": "parquet",
            "path": "out/orders_{partition}.parquet",
        },
        {
            "name": "shops_out",
            "kind": "sink",
            "inputs": ["per_shop"],
            "format": "csv",
            "path": "out/shops_{partition}.csv",
        },
    ]
    path = root / "p.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "shops",
                "partitions": {"kind": "daily", "start": DAYS[0]},
                # a generous timeout bounds how long a job an executor loses can stall a test
                "defaults": {"timeout": 120},
                "stages": stages,
            }
        )
    )
    return path


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _backfill(path: Path, executor: Executor, parallel: int = 2) -> list[Any]:
    dag = check_pipeline(load_pipeline(path))
    assert dag.spec.partitions is not None
    parts = list(dag.spec.partitions.range(f"{DAYS[0]}..{DAYS[-1]}"))
    return run_partitions(dag, path.parent / ".spe", parts, executor=executor, parallel=parallel)


def _summary(result: Any) -> dict[str, tuple[Any, ...]]:
    return {
        s.stage: (s.status, s.attempts, s.rows, s.output_hash, s.error)
        for s in result.stages.values()
    }


class TestSameResults:
    def test_backfill_outputs_byte_identical(
        self, tmp_path: Path, executors: dict[str, Executor]
    ) -> None:
        """Three partitions, two at once: every sink file and stage hash equal on all executors."""
        sinks: dict[str, dict[str, str]] = {}
        summaries: dict[str, list[dict[str, tuple[Any, ...]]]] = {}
        for name, executor in executors.items():
            path = _pipeline(tmp_path / name.replace(":", "_"))
            results = _backfill(path, executor)
            assert [r.partition for r in results] == list(DAYS)
            assert all(r.ok for r in results), [_summary(r) for r in results]
            sinks[name] = _digests(path.parent / "out")
            summaries[name] = [_summary(r) for r in results]
        assert len(sinks["local"]) == 2 * len(DAYS)
        assert sinks["paf:processes"] == sinks["local"]
        assert sinks["paf:threads"] == sinks["local"]
        assert summaries["paf:processes"] == summaries["local"]
        assert summaries["paf:threads"] == summaries["local"]
        # the partition reached the function inside the worker process
        import pyarrow.parquet as pq

        out = pq.read_table(tmp_path / "paf_processes" / "out" / f"orders_{DAYS[1]}.parquet")
        assert set(out.column("day").to_pylist()) == {DAYS[1]}
        assert set(out.column("band").to_pylist()) == {"high", "low"}

    def test_cache_and_lineage_kept(self, tmp_path: Path, executors: dict[str, Executor]) -> None:
        """A second backfill on worker processes is all cache hits; lineage names inputs and code."""
        path = _pipeline(tmp_path / "p")
        first = _backfill(path, executors["paf:processes"])
        assert all(r.ok for r in first)
        again = _backfill(path, executors["paf:processes"])
        assert {s.status for r in again for s in r.stages.values()} == {"cached"}
        with RunStore(path.parent / ".spe") as store:
            tree = store.lineage(str(path.parent / "out" / f"orders_{DAYS[2]}.parquet"))
            runs = store.runs(limit=10)
        assert tree["stage"] == "orders_out"
        assert tree["partition"] == DAYS[2]
        banded = tree["inputs"][0]["inputs"][0]["inputs"][0]
        assert banded["stage"] == "banded"
        assert banded["params"]["params"] == {"high": 12.0}
        assert len(banded["code_hash"]) == 64
        assert [r["status"] for r in runs] == ["succeeded"] * 6


class TestSameFailures:
    def test_failing_stage_reported_the_same(
        self, tmp_path: Path, executors: dict[str, Executor]
    ) -> None:
        """A stage failing every attempt: same status, attempts, message and skips everywhere."""
        seen = {}
        for name, executor in executors.items():
            path = _pipeline(tmp_path / name.replace(":", "_"), fail="yes")
            results = _backfill(path, executor)
            assert [r.status for r in results] == ["failed"] * len(DAYS)
            seen[name] = [_summary(r) for r in results]
        first = seen["local"][0]
        assert first["checked_input"][:2] == ("failed", 2)
        assert "ValueError: bad shop data" in str(first["checked_input"][4])
        assert first["checked"][0] == "skipped"
        assert first["shops_out"][0] == "ran"
        assert seen["paf:processes"] == seen["local"]
        assert seen["paf:threads"] == seen["local"]

    def test_validation_failure_details_cross_processes(
        self, tmp_path: Path, executors: dict[str, Executor]
    ) -> None:
        """A failed expectation's details come back from a worker process intact."""
        path = _pipeline(tmp_path / "v")
        text = path.read_text().replace("- 1000", "- 5")
        path.write_text(text)
        dag = check_pipeline(load_pipeline(path))
        assert dag.spec.partitions is not None
        part = dag.spec.partitions.range(DAYS[0])[0]
        local = run(dag, tmp_path / "state-local", partition=part, executor=executors["local"])
        remote = run(
            dag, tmp_path / "state-paf", partition=part, executor=executors["paf:processes"]
        )
        for result in (local, remote):
            check = result.stages["checked"]
            assert check.status == "failed"
            assert check.attempts == 1
            failed = [v for v in check.details["validation"] if not v["passed"]]
            assert [v["column"] for v in failed] == ["amount"]
        assert remote.stages["checked"].error == local.stages["checked"].error
        assert remote.stages["checked"].details == local.stages["checked"].details

    def test_resume_after_failure_on_processes(
        self, tmp_path: Path, executors: dict[str, Executor]
    ) -> None:
        """Fix the failing function: the re-run takes completed stages from the cache."""
        path = _pipeline(tmp_path / "r", fail="yes")
        dag = check_pipeline(load_pipeline(path))
        assert dag.spec.partitions is not None
        part = dag.spec.partitions.range(DAYS[0])[0]
        failed = run(dag, path.parent / ".spe", partition=part, executor=executors["paf:processes"])
        assert failed.stages["checked_input"].status == "failed"
        _pipeline(tmp_path / "r")  # the fixed function
        dag = check_pipeline(load_pipeline(path))
        fixed = run(
            dag,
            path.parent / ".spe",
            partition=part,
            executor=executors["paf:processes"],
            resumed_from=failed.run_id,
        )
        statuses = {s.stage: s.status for s in fixed.stages.values()}
        assert fixed.ok
        assert statuses["orders"] == statuses["per_shop"] == statuses["shops_out"] == "cached"
        assert statuses["checked_input"] == statuses["orders_out"] == "ran"

    def test_local_function_cannot_travel(
        self, tmp_path: Path, executors: dict[str, Executor]
    ) -> None:
        """A function defined inside another one fails its stage with a clear message."""
        from synthetic_pipeline_engine import Pipeline

        def build() -> Any:
            pipeline = Pipeline("inner")
            pipeline.source("raw", format="csv", path="raw.csv")

            @pipeline.transform(inputs=["raw"])
            def doubled(raw: Any) -> Any:
                return raw

            return pipeline.build(base_dir=tmp_path)

        (tmp_path / "raw.csv").write_text("x\n1\n")
        result = run(build(), tmp_path / ".spe", executor=executors["paf:processes"])
        assert result.stages["raw"].status == "ran"
        assert result.stages["doubled"].status == "failed"
        assert "local to another function" in str(result.stages["doubled"].error)


class TestJobs:
    def test_job_pickles_function_as_file_reference(self, tmp_path: Path) -> None:
        """A job from file.py:function resolves in a process that never loaded the file."""
        path = _pipeline(tmp_path / "j")
        spec = load_pipeline(path)
        stage = spec.stages["banded"]
        assert stage.function is not None
        module_name = stage.function.__module__
        state = stage_state(stage)
        assert state[1] is not None
        assert state[1][0] == module_name
        assert state[1][2] is not None
        assert state[1][2].endswith("fns.py")
        payload = pickle.dumps(
            StageJob(spec, stage, None, {"orders": ""}, str(tmp_path), load=lambda _n: 1 / 0)
        )
        saved = sys.modules.pop(module_name)
        try:
            job = pickle.loads(payload)  # our own bytes
            assert job.load is None
            outcome = run_stage_job(job)  # no input file: a clear failure, not a crash
        finally:
            sys.modules[module_name] = saved
        assert outcome.output is None
        assert outcome.error is not None
        assert "output of 'orders' is not available" in outcome.error

    def test_changed_source_is_refused_in_worker(self, tmp_path: Path) -> None:
        """A worker loading a function file edited since planning fails the stage, not silently."""
        path = _pipeline(tmp_path / "c")
        spec = load_pipeline(path)
        stage = spec.stages["banded"]
        assert stage.function is not None
        payload = pickle.dumps(StageJob(spec, stage, None, {}, str(tmp_path)))
        (path.parent / "fns.py").write_text(
            "def band(orders, high=0.0, partition=None):\n    return orders\n"
        )
        module_name = stage.function.__module__
        saved = sys.modules.pop(module_name)
        try:
            outcome = run_stage_job(pickle.loads(payload))  # our own bytes
        finally:
            sys.modules[module_name] = saved
        assert outcome.error is not None
        assert "changed during the run" in outcome.error


class TestCli:
    def test_run_with_paf_executor(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--executor picks paf; threads here, since the module's process pool covers processes."""
        path = _pipeline(tmp_path / "cli")
        code = main(
            [
                "run",
                str(path),
                "--backfill",
                f"{DAYS[0]}..{DAYS[1]}",
                "--executor",
                "paf:threads",
                "--workers",
                "2",
                "--parallel",
                "2",
            ]
        )
        out = capsys.readouterr().out
        assert code == 0, out
        assert out.count("succeeded") == 2
        assert len(list((path.parent / "out").iterdir())) == 4

    def test_bad_parallel_is_exit_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = _pipeline(tmp_path / "bad")
        code = main(["run", str(path), "--partition", DAYS[0], "--parallel", "0"])
        err = capsys.readouterr().err
        assert code == 2
        assert "--parallel must be at least 1" in err
        assert len(err.strip().splitlines()) == 1

    def test_unknown_executor_names(self) -> None:
        with pytest.raises(PipelineInputError, match="unknown executor"):
            make_executor("ray")
        with pytest.raises(PipelineInputError, match="unknown paf executor"):
            make_executor("paf:gpu")
