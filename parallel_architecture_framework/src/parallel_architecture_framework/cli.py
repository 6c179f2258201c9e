"""The ``parallel_architecture_framework`` (``paf``) command line: thin, it parses, calls the library and renders.

Commands::

    paf run module:function [--executor E] [--workers N] [--arg k=v ...] [--timeout S]
    paf bench [--tasks N] [--nodes M] [--executor E ...]
    paf cluster start|stop|status [--workers N] [--port P]
    paf cache info|clear
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from parallel_architecture_framework.config import ParallelSettings
from parallel_architecture_framework.errors import ParallelInputError, ParallelTaskError
from shared_core.cli import CliApp, Context
from shared_core.errors import CoreError

__all__ = ["app", "main", "run"]


def _version() -> str:
    import parallel_architecture_framework

    return parallel_architecture_framework.__version__


app = CliApp(
    prog="parallel_architecture_framework",
    version=_version(),
    settings_cls=ParallelSettings,
    description="Task graphs that run unchanged on a local pool or on Dask distributed.",
)


def _settings(ctx: Context) -> ParallelSettings:
    settings = ctx.settings
    assert isinstance(settings, ParallelSettings)  # noqa: S101 - the app is built with this class
    return settings


def _parse_kv(items: Sequence[str]) -> dict[str, Any]:
    """``k=v`` pairs; values are JSON when they parse as JSON, else strings."""
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise ParallelInputError(
                f"argument {item!r} is not key=value",
                field="--arg",
                hint="e.g. --arg n=100 --arg name='\"x\"'",
            )
        try:
            parsed[key] = json.loads(raw)
        except ValueError:
            parsed[key] = raw
    return parsed


def _setup_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="module:function or path/to/file.py:function")
    parser.add_argument(
        "--executor", dest="run_executor", help="processes, threads, async, dask, dask://HOST:PORT"
    )
    parser.add_argument("--workers", dest="run_workers", type=int, help="worker count")
    parser.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keyword argument of the function (JSON or text)",
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds to wait for the results"
    )
    parser.add_argument(
        "--tasks", action="store_true", help="include per-task timing in the summary"
    )


@app.command(
    "run",
    help="run a graph-building function on an executor and print results and a summary",
    setup=_setup_run,
)
def _run(ctx: Context, args: argparse.Namespace) -> int:
    from parallel_architecture_framework._client import Client
    from parallel_architecture_framework._target import load_target, run_target

    settings = _settings(ctx)
    kwargs = _parse_kv(args.arg)
    workers = args.run_workers if args.run_workers is not None else settings.workers
    if workers is not None and workers < 1:
        raise ParallelInputError(
            f"--workers {workers} must be at least 1", field="--workers", hint="e.g. --workers 2"
        )
    func = load_target(args.target)
    client = Client(
        args.run_executor or settings.executor,
        workers=workers,
        max_in_flight=settings.max_in_flight,
        max_pending=settings.max_pending,
        cache_dir=settings.cache_dir,
    )
    failed = False
    try:
        with ctx.progress(f"running {args.target}") as bar:
            client._scheduler._on_settle = _progress_hook(client, bar)
            result = run_target(func, client, kwargs, args.timeout)
    except CoreError:
        failed = True
        client.close(cancel=True)
        raise
    except Exception as exc:  # a task's own exception: the run failed (exit 1), not the tool
        failed = True
        client.close(cancel=True)
        raise ParallelTaskError(
            f"{args.target} failed: {type(exc).__name__}: {exc}",
            target=args.target,
            hint="fix the failing task; rerun with --debug for the traceback",
        ) from exc
    finally:
        if not failed:
            client.close()
    summary = client.summary()
    data = {"target": args.target, "result": result, "summary": summary.to_dict(tasks=args.tasks)}
    ctx.emit(data, human=f"result: {result!r}\n{summary.render()}")
    return 0


def _progress_hook(client: Any, bar: Any) -> Any:
    observer = client._observer.on_settle

    def on_settle(nodes: list[Any]) -> None:
        observer(nodes)
        bar.update(total=len(client._scheduler.nodes))
        bar.advance(len(nodes))

    return on_settle


def _setup_bench(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tasks", type=int, default=10_000, help="no-op tasks per executor (default 10000)"
    )
    parser.add_argument(
        "--nodes", type=int, default=1_000, help="nodes of the layered DAG (default 1000)"
    )
    parser.add_argument(
        "--executor",
        dest="bench_executors",
        action="append",
        default=None,
        help="executor to measure (repeatable; default threads and processes)",
    )
    parser.add_argument(
        "--workers", dest="bench_workers", type=int, default=None, help="worker count"
    )


@app.command(
    "bench", help="measure no-op task and DAG throughput of our executors", setup=_setup_bench
)
def _bench(ctx: Context, args: argparse.Namespace) -> int:
    from parallel_architecture_framework._bench import dag_throughput, noop_throughput

    if args.tasks < 1 or args.nodes < 1:
        raise ParallelInputError(
            "--tasks and --nodes must be at least 1", field="--tasks", hint="e.g. --tasks 10000"
        )
    executors = args.bench_executors or ["threads", "processes"]
    rows = []
    with ctx.progress("benchmarking", total=len(executors)) as bar:
        for executor in executors:
            tasks_per_s = noop_throughput(executor, args.tasks, args.bench_workers)
            nodes_per_s, build_s = dag_throughput(executor, args.nodes, args.bench_workers)
            rows.append(
                {
                    "executor": executor,
                    "noop_tasks_per_s": round(tasks_per_s),
                    "us_per_task": round(1e6 / tasks_per_s, 1),
                    "dag_nodes_per_s": round(nodes_per_s),
                    "graph_build_us_per_node": round(build_s * 1e6, 2),
                }
            )
            bar.advance()
    human = "\n".join(
        f"{r['executor']:<12} {r['noop_tasks_per_s']:>9} no-op tasks/s ({r['us_per_task']} µs)  "
        f"{r['dag_nodes_per_s']:>8} DAG nodes/s  build {r['graph_build_us_per_node']} µs/node"
        for r in rows
    )
    ctx.emit({"tasks": args.tasks, "nodes": args.nodes, "results": rows}, human=human)
    return 0


def _setup_cluster(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument(
        "--workers", dest="cluster_workers", type=int, default=None, help="worker processes (start)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=8786, help="scheduler port (default 8786)")


def _state_file(settings: ParallelSettings) -> Path:
    if settings.cluster_state is not None:
        return settings.cluster_state
    from parallel_architecture_framework._client import default_cache_dir

    return default_cache_dir().parent / "parallel_architecture_framework-cluster" / "cluster.json"


@app.command(
    "cluster",
    help="start, stop or inspect a local Dask cluster that outlives the command",
    setup=_setup_cluster,
)
def _cluster(ctx: Context, args: argparse.Namespace) -> int:
    from parallel_architecture_framework._cluster import cluster_status, start_cluster, stop_cluster
    from parallel_architecture_framework._executor import default_workers

    settings = _settings(ctx)
    state_file = _state_file(settings)
    if args.action == "start":
        if not 0 < args.port < 65536:
            raise ParallelInputError(
                f"--port {args.port} is not a TCP port", field="--port", hint="use 1-65535"
            )
        workers = args.cluster_workers or settings.workers or default_workers()
        if workers < 1:
            raise ParallelInputError(
                f"--workers {workers} must be at least 1",
                field="--workers",
                hint="e.g. --workers 2",
            )
        state = start_cluster(state_file, workers=workers, host=args.host, port=args.port)
        ctx.emit(
            {"address": state.address, "workers": state.workers, "state_file": str(state_file)},
            human=f"cluster running at {state.address} with {state.workers} workers\n"
            f"use it with: paf run MODULE:FUNCTION --executor dask://{state.address.removeprefix('tcp://')}",
        )
        return 0
    if args.action == "stop":
        stopped = stop_cluster(state_file)
        if stopped is None:
            raise ParallelInputError(
                f"no cluster was started from here (no {state_file})",
                path=str(state_file),
                hint="start one with 'paf cluster start'",
            )
        ctx.emit({"stopped": stopped.address}, human=f"stopped the cluster at {stopped.address}")
        return 0
    status = cluster_status(state_file)
    ctx.emit(
        status,
        human=("running at " + status["address"]) if status["running"] else "no cluster running",
    )
    return 0


def _setup_cache(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["info", "clear"])


@app.command("cache", help="show or clear the local result store", setup=_setup_cache)
def _cache(ctx: Context, args: argparse.Namespace) -> int:
    from parallel_architecture_framework._cache import ResultStore
    from parallel_architecture_framework._client import default_cache_dir

    settings = _settings(ctx)
    store = ResultStore(settings.cache_dir or default_cache_dir())
    if args.action == "clear":
        removed = store.clear()
        ctx.emit(
            {"path": str(store.root), "removed": removed},
            human=f"removed {removed} cached results from {store.root}",
        )
    else:
        count = len(store)
        ctx.emit(
            {"path": str(store.root), "results": count},
            human=f"{count} cached results in {store.root}",
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code."""
    return app.main(argv)


def run() -> NoReturn:
    """Console-script entry point."""
    app.run()
