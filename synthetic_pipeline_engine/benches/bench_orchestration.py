"""Engine overhead per stage and the unchanged re-run of a 1,000-stage pipeline.

A chain of N Python stages whose function returns its input unchanged: the
time per stage is all engine (Arrow/Polars hand-over, hashing, Arrow IPC
cache write, profile, journal line; SQLite history and lineage folded in
about once a second).  Then the same pipeline re-run with nothing
changed (every stage a cache hit), and forced re-runs with --from.  Also
``import synthetic_pipeline_engine`` time in a fresh interpreter.

    uv run python synthetic_pipeline_engine/benches/bench_orchestration.py [--stages 1000] [--repeat 3] [--executor local]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from synthetic_pipeline_engine import check_pipeline, load_pipeline, make_executor, run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--executor", default="local", help="local, paf:threads or paf:processes (paf extra)"
    )
    args = parser.parse_args()
    executor = make_executor(args.executor, 2)
    work = Path(tempfile.mkdtemp(prefix="spe-bench-"))
    (work / "fns.py").write_text(
        "import polars as pl\n"
        "def source():\n    return pl.DataFrame({'x': [1, 2, 3]})\n"
        "def same(t):\n    return t\n"
    )
    stages = [{"name": "s0", "kind": "transform", "function": "fns.py:source"}]
    stages += [
        {"name": f"s{i}", "kind": "transform", "inputs": [f"s{i - 1}"], "function": "fns.py:same"}
        for i in range(1, args.stages)
    ]
    (work / "p.yaml").write_text(yaml.safe_dump({"name": "bench", "stages": stages}))
    start = time.perf_counter()
    dag = check_pipeline(load_pipeline(work / "p.yaml"))
    load_s = time.perf_counter() - start
    first = run(dag, work / ".spe", executor=executor)
    assert first.ok
    cached, forced = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        again = run(dag, work / ".spe", executor=executor)
        cached.append(time.perf_counter() - start)
        assert {s.status for s in again.stages.values()} == {"cached"}
        start = time.perf_counter()
        run(dag, work / ".spe", from_stage="s1", executor=executor)
        forced.append(time.perf_counter() - start)
    executor.shutdown()
    print(
        json.dumps(
            {"stages": args.stages, "executor": args.executor, "load_and_check_s": round(load_s, 3)}
        )
    )
    print(
        json.dumps(
            {
                "metric": "unchanged re-run (all cached)",
                "seconds_median": round(statistics.median(cached), 3),
            }
        )
    )
    print(
        json.dumps(
            {
                "metric": "forced re-run, engine time per stage",
                "ms_median": round(1000 * statistics.median(forced) / (args.stages - 1), 3),
            }
        )
    )
    imports = []
    for _ in range(5):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "import time; t=time.perf_counter(); import synthetic_pipeline_engine; print(time.perf_counter()-t)",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        imports.append(float(out.stdout))
    print(
        json.dumps(
            {
                "metric": "import synthetic_pipeline_engine",
                "seconds_median": round(statistics.median(imports), 4),
            }
        )
    )


if __name__ == "__main__":
    main()
