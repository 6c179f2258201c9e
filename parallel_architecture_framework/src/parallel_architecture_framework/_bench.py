"""Throughput measurements shared by ``paf bench`` and the scripts in ``benches/``.

Each function builds its own client, warms it up (so pool start-up is not
counted), times one run with ``time.perf_counter`` and returns tasks (or
nodes) per second.  The DAG is layered: ``width`` independent nodes per layer,
each depending on two nodes of the layer before, the shape of a typical
pipeline's fan-out/fan-in.
"""

from __future__ import annotations

import time
from typing import Any

from parallel_architecture_framework._client import Client
from parallel_architecture_framework._graph import Graph

__all__ = ["dag_throughput", "layered_dag", "noop", "noop_throughput", "pair"]


def noop() -> None:
    """The no-op task: measures pure scheduling overhead."""


def pair(a: Any = None, b: Any = None) -> int:
    """A DAG node: depends on up to two inputs, returns a small value."""
    return 1


def layered_dag(nodes: int, width: int = 50) -> Graph:
    """``nodes`` tasks in layers of ``width``; each depends on two of the layer before."""
    graph = Graph()
    previous = [graph.add(pair) for _ in range(min(width, nodes))]
    made = len(previous)
    while made < nodes:
        layer = [
            graph.add(pair, previous[i % len(previous)], previous[(i + 1) % len(previous)])
            for i in range(min(width, nodes - made))
        ]
        made += len(layer)
        previous = layer
    return graph


def noop_throughput(executor: str | Any, tasks: int, workers: int | None = None) -> float:
    """No-op tasks per second through ``Client.map`` (pool start-up excluded)."""
    with Client(executor, workers=workers, metrics=False, trace=False) as client:
        client.gather(client.map(noop_star, [()] * min(tasks, 200)))
        started = time.perf_counter()
        client.gather(client.map(noop_star, [()] * tasks))
        return tasks / (time.perf_counter() - started)


def noop_star(_: tuple[()]) -> None:
    """``noop`` taking one ignored argument, as ``map`` passes one."""


def dag_throughput(
    executor: str | Any, nodes: int, workers: int | None = None
) -> tuple[float, float]:
    """(nodes per second including graph building, graph building seconds per node)."""
    with Client(executor, workers=workers, metrics=False, trace=False) as client:
        client.run(layered_dag(min(nodes, 100)))
        started = time.perf_counter()
        graph = layered_dag(nodes)
        built = time.perf_counter()
        client.run(graph)
        finished = time.perf_counter()
    return nodes / (finished - started), (built - started) / nodes
