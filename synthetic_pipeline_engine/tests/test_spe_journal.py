"""The run journal: completed stages reach SQLite at the end, or after a crash, never lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from synthetic_pipeline_engine import RunStore, load_pipeline, run
from synthetic_pipeline_engine._store import CacheEntry


def _chain(tmp_path: Path, n: int, *, crash_at: int | None = None) -> Path:
    (tmp_path / "fns.py").write_text(
        "import os\nimport polars as pl\n"
        "def first():\n    return pl.DataFrame({'x': [1, 2]})\n"
        "def step(t, i=0):\n"
        "    if os.environ.get('SPE_TEST_CRASH_AT') == str(i):\n"
        "        os._exit(17)\n"
        "    return t.with_columns(pl.col('x') + 1)\n"
    )
    stages: list[dict[str, Any]] = [{"name": "s0", "kind": "transform", "function": "fns.py:first"}]
    stages += [
        {
            "name": f"s{i}",
            "kind": "transform",
            "inputs": [f"s{i - 1}"],
            "function": "fns.py:step",
            "params": {"i": i},
        }
        for i in range(1, n)
    ]
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"name": "chain", "stages": stages}))
    return path


class TestJournal:
    def test_run_folds_journal_into_history(self, tmp_path: Path) -> None:
        """After a run every stage row is in SQLite and no journal file is left."""
        path = _chain(tmp_path, 30)
        result = run(load_pipeline(path), tmp_path / ".spe")
        assert result.ok
        assert list((tmp_path / ".spe" / "journal").iterdir()) == []
        with RunStore(tmp_path / ".spe") as store:
            stages = store.run(result.run_id)["stages"]
        assert len(stages) == 30
        assert {s["status"] for s in stages} == {"ran"}
        assert stages[-1]["details"]["profile"]["columns"]["x"]["max"] == 31.0

    def test_killed_run_resumes_from_journal(self, tmp_path: Path) -> None:
        """A process killed in stage 20 of 25: stages 0..19 (all fast, none flushed) are cached next time."""
        path = _chain(tmp_path, 25)
        proc = subprocess.run(
            [sys.executable, "-m", "synthetic_pipeline_engine", "run", str(path)],
            env={**os.environ, "SPE_TEST_CRASH_AT": "20"},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert proc.returncode == 17, proc.stderr
        leftover = list((tmp_path / ".spe" / "journal").glob("*.jsonl"))
        assert len(leftover) == 1
        assert len(leftover[0].read_text().splitlines()) == 20
        result = run(load_pipeline(path), tmp_path / ".spe")
        statuses = [result.stages[f"s{i}"].status for i in range(25)]
        assert statuses == ["cached"] * 20 + ["ran"] * 5
        with RunStore(tmp_path / ".spe") as store:
            runs = store.runs()
            crashed = store.run(runs[1]["run_id"])
        assert [r["status"] for r in runs] == ["succeeded", "crashed"]
        assert len(crashed["stages"]) == 20  # the journal's stages are in the crashed run's history
        assert list((tmp_path / ".spe" / "journal").glob("*.jsonl")) == []

    def test_torn_last_line_is_ignored(self, tmp_path: Path) -> None:
        """A journal whose last line was cut short keeps the whole lines; the cut stage re-runs."""
        state = tmp_path / ".spe"
        with RunStore(state) as store:
            run_id = store.start_run("p", None, None)
            store.open_journal(run_id)
            for i in range(3):
                store.record_completion(
                    run_id,
                    f"s{i}",
                    "transform",
                    status="ran",
                    details={"n": i},
                    cache=CacheEntry(f"key{i}", f"s{i}", f"hash{i}", 1, {"n": i}),
                )
            journal = state / "journal" / f"{run_id}.jsonl"
            whole = journal.read_bytes()
            store._pending.clear()  # as if the process died here: nothing folded
            store._pending_cache.clear()
        journal.write_bytes(whole[: len(whole) - 7])  # cut into the last line
        with RunStore(state) as store:
            store._db.execute("UPDATE runs SET pid=NULL")
        with RunStore(state) as store:  # recovery happens on open
            assert store.cache_get("key0") is not None
            assert store.cache_get("key1") is not None
            assert store.cache_get("key2") is None
            assert store.cache_get("key1").details == {"n": 1}  # type: ignore[union-attr]
            stages = store.run(run_id)["stages"]
        assert [s["stage"] for s in stages] == ["s0", "s1"]
        assert not journal.exists()

    def test_live_journal_of_running_process_is_left_alone(self, tmp_path: Path) -> None:
        """Another store opened while a run writes does not fold (or delete) its journal."""
        state = tmp_path / ".spe"
        with RunStore(state) as writer:
            run_id = writer.start_run("p", None, None)
            writer.open_journal(run_id)
            writer.record_completion(run_id, "a", "transform", status="ran")
            with RunStore(state) as reader:
                assert (state / "journal" / f"{run_id}.jsonl").exists()
                assert reader.run(run_id)["stages"] == []  # not folded yet (under a second)
            writer.flush()
            with RunStore(state) as reader:
                assert [s["stage"] for s in reader.run(run_id)["stages"]] == ["a"]
