"""Throughput of parallel_architecture_framework against its peers, in one run.

Two workloads, each repeated ``--repeat`` times (the median is reported):

* ``noop``: 10k no-op tasks submitted at once, results gathered.
* ``dag``: a 1k-node layered DAG (50 wide, each node depending on two of the
  layer before), including graph building.

Peers, where installed: concurrent.futures ThreadPoolExecutor and
ProcessPoolExecutor (one submit per task), joblib/loky (auto-batching), Dask
threaded through ``delayed`` and through a raw graph dict, Dask distributed on a
LocalCluster of worker processes.  Every timing excludes pool or cluster start
(each is warmed up first).  Prints a table and, with ``--json``, one JSON
object per line.

    uv run --with joblib --with 'dask[distributed]' python parallel_architecture_framework/benches/bench_throughput.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from typing import Any

from parallel_architecture_framework import Client, DaskExecutor
from parallel_architecture_framework._bench import layered_dag, noop, pair


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median seconds of ``repeat`` runs of ``fn``."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def dag_edges(nodes: int, width: int = 50) -> list[list[int]]:
    """Dependencies of each node of the layered DAG, by index (same shape as layered_dag)."""
    deps: list[list[int]] = [[] for _ in range(min(width, nodes))]
    previous = list(range(len(deps)))
    while len(deps) < nodes:
        layer = []
        for i in range(min(width, nodes - len(deps))):
            deps.append([previous[i % len(previous)], previous[(i + 1) % len(previous)]])
            layer.append(len(deps) - 1)
        previous = layer
    return deps


def futures_dag(pool: Any, deps: list[list[int]]) -> None:
    """A small driver for concurrent.futures: submit each node once its inputs are done."""
    waiting = {i: len(d) for i, d in enumerate(deps)}
    dependants: dict[int, list[int]] = {}
    for i, d in enumerate(deps):
        for j in d:
            dependants.setdefault(j, []).append(i)
    results: dict[int, Any] = {}
    running = {pool.submit(pair): i for i, d in enumerate(deps) if not d}
    while running:
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            i = running.pop(future)
            results[i] = future.result()
            for k in dependants.get(i, ()):
                waiting[k] -= 1
                if waiting[k] == 0:
                    running[pool.submit(pair, *(results[j] for j in deps[k]))] = k


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    n, nodes, workers, repeat = args.tasks, args.nodes, args.workers, args.repeat
    deps = dag_edges(nodes)
    rows: list[dict[str, Any]] = []

    def record(workload: str, system: str, seconds: float, count: int) -> None:
        rows.append(
            {"workload": workload, "system": system, "seconds": seconds, "per_s": count / seconds}
        )
        print(
            f"{workload:<5} {system:<34} {count / seconds:>10,.0f}/s  {seconds * 1e6 / count:>8.1f} µs each",
            flush=True,
        )

    # --- ours
    for name in ("threads", "processes"):
        with Client(name, workers=workers, metrics=False, trace=False) as client:
            client.gather(client.map(noop_arg, range(500)))
            record(
                "noop",
                f"paf {name}",
                timed(lambda c=client: c.gather(c.map(noop_arg, range(n))), repeat),
                n,
            )
            client.run(layered_dag(100))
            record(
                "dag",
                f"paf {name}",
                timed(lambda c=client: c.run(layered_dag(nodes)), repeat),
                nodes,
            )

    # --- concurrent.futures
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(noop_arg, range(100)))
        record(
            "noop",
            "ThreadPoolExecutor",
            timed(lambda: [f.result() for f in [pool.submit(noop) for _ in range(n)]], repeat),
            n,
        )
        record(
            "dag",
            "ThreadPoolExecutor + driver",
            timed(lambda: futures_dag(pool, deps), repeat),
            nodes,
        )
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(noop_arg, range(100)))
        record(
            "noop",
            "ProcessPoolExecutor (unbatched)",
            timed(lambda: [f.result() for f in [pool.submit(noop) for _ in range(n)]], repeat),
            n,
        )
        record(
            "dag",
            "ProcessPoolExecutor + driver",
            timed(lambda: futures_dag(pool, deps), repeat),
            nodes,
        )

    # --- joblib / loky
    try:
        import joblib
    except ImportError:
        print("joblib not installed: skipped")
    else:
        with joblib.Parallel(n_jobs=workers, backend="loky") as parallel:
            parallel(joblib.delayed(noop)() for _ in range(100))
            record(
                "noop",
                "joblib loky (auto-batched)",
                timed(lambda: parallel(joblib.delayed(noop)() for _ in range(n)), repeat),
                n,
            )

    ray_rows(args, deps, record)

    # --- Dask
    try:
        import dask
        import distributed
    except ImportError:
        print("dask[distributed] not installed: skipped")
        return rows
    delayed_noop = dask.delayed(noop, pure=False)
    record(
        "noop",
        "dask threaded (delayed)",
        timed(
            lambda: dask.compute(
                *[delayed_noop() for _ in range(n)], scheduler="threads", num_workers=workers
            ),
            repeat,
        ),
        n,
    )
    raw = {("t", i): (noop,) for i in range(n)}
    record(
        "noop",
        "dask threaded (raw graph)",
        timed(
            lambda: (
                dask.get(raw, list(raw))
                if False
                else dask.threaded.get(raw, list(raw), num_workers=workers)
            ),
            repeat,
        ),
        n,
    )
    dag_graph = {("d", i): (pair, *[("d", j) for j in d]) for i, d in enumerate(deps)}
    record(
        "dag",
        "dask threaded (raw graph)",
        timed(lambda: dask.threaded.get(dag_graph, list(dag_graph), num_workers=workers), repeat),
        nodes,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        dclient = distributed.Client(cluster, set_as_default=False)
        try:
            dclient.gather(dclient.map(noop_arg, range(100), pure=False))
            small = min(n, args.dask_tasks)
            record(
                "noop",
                "dask distributed LocalCluster",
                timed(
                    lambda: dclient.gather(dclient.map(noop_arg, range(small), pure=False)), repeat
                ),
                small,
            )
            dnodes = min(nodes, args.dask_tasks)
            ddeps = dag_edges(dnodes)

            def dask_dag() -> None:
                graph = {f"d-{i}": (pair, *[f"d-{j}" for j in d]) for i, d in enumerate(ddeps)}
                dclient.get(graph, list(graph))

            record("dag", "dask distributed LocalCluster", timed(dask_dag, repeat), dnodes)
            with Client(DaskExecutor(client=dclient), metrics=False, trace=False) as client:
                record(
                    "noop",
                    "paf on the same dask cluster",
                    timed(lambda: client.gather(client.map(noop_arg, range(small))), repeat),
                    small,
                )
                record(
                    "dag",
                    "paf on the same dask cluster",
                    timed(lambda: client.run(layered_dag(dnodes)), repeat),
                    dnodes,
                )
        finally:
            dclient.close()
            cluster.close()
    return rows


def ray_rows(
    args: argparse.Namespace,
    deps: list[list[int]],
    record: Callable[[str, str, float, int], None],
) -> None:
    """Ray's own task API against paf on the same local Ray runtime."""
    # Ray would otherwise rebuild this uv project's environment for its workers
    # from a copy of the working tree; the workers should run this interpreter.
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    try:
        import ray
    except ImportError:
        print("ray not installed: skipped")
        return
    from parallel_architecture_framework import RayExecutor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    try:
        remote_noop = ray.remote(max_retries=0)(noop_arg)
        remote_pair = ray.remote(max_retries=0)(pair)
        small = min(args.tasks, args.ray_tasks)
        ray.get([remote_noop.remote(i) for i in range(200)])  # start the workers
        record(
            "noop",
            "ray tasks",
            timed(lambda: ray.get([remote_noop.remote(i) for i in range(small)]), args.repeat),
            small,
        )
        nodes = min(len(deps), args.ray_tasks)

        def ray_dag() -> None:
            refs: list[Any] = []
            for d in deps[:nodes]:
                refs.append(remote_pair.remote(*[refs[j] for j in d]))
            ray.get(refs)

        record("dag", "ray tasks", timed(ray_dag, args.repeat), nodes)
        with Client(RayExecutor(), metrics=False, trace=False) as client:
            client.gather(client.map(noop_arg, range(200)))
            record(
                "noop",
                "paf on the same ray runtime",
                timed(lambda: client.gather(client.map(noop_arg, range(small))), args.repeat),
                small,
            )
            record(
                "dag",
                "paf on the same ray runtime",
                timed(lambda: client.run(layered_dag(nodes)), args.repeat),
                nodes,
            )
    finally:
        ray.shutdown()


def noop_arg(_: Any) -> None:
    """A no-op taking the one argument ``map`` passes."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument(
        "--dask-tasks",
        type=int,
        default=1_000,
        help="tasks for Dask distributed (slow: ~5 ms each)",
    )
    parser.add_argument(
        "--ray-tasks", type=int, default=1_000, help="tasks for Ray (about 1 ms each)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = run(args)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    for line in contract_rows(rows):
        print(json.dumps(line))


# Ours against the peer the issue names for each workload, for scripts/bench_all.sh.
_PAIRS = [
    ("noop", "paf threads", "ThreadPoolExecutor"),
    ("noop", "paf processes", "joblib loky (auto-batched)"),
    ("noop", "paf processes", "ProcessPoolExecutor (unbatched)"),
    ("dag", "paf threads", "ThreadPoolExecutor + driver"),
    ("dag", "paf processes", "ProcessPoolExecutor + driver"),
    ("noop", "paf on the same dask cluster", "dask distributed LocalCluster"),
    ("dag", "paf on the same dask cluster", "dask distributed LocalCluster"),
    ("noop", "paf on the same ray runtime", "ray tasks"),
    ("dag", "paf on the same ray runtime", "ray tasks"),
]


def contract_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (ours, peer) pair measured in this run: tasks per second, ratio ours/peer."""
    rate = {(r["workload"], r["system"]): r["per_s"] for r in rows}
    out = []
    for workload, ours, peer in _PAIRS:
        if (workload, ours) in rate and (workload, peer) in rate:
            mine, theirs = rate[workload, ours], rate[workload, peer]
            out.append(
                {
                    "system": "parallel_architecture_framework",
                    "bench": f"{workload}: {ours}",
                    "unit": "tasks/s",
                    "ours": round(mine, 1),
                    "peer": round(theirs, 1),
                    "peer_name": peer,
                    "ratio": round(mine / theirs, 3),
                }
            )
    return out


if __name__ == "__main__":
    main()
