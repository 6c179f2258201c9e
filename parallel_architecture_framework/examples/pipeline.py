"""A small ETL-shaped graph: fan out over partitions, tree-reduce, on any executor.

Run it directly (``python examples/pipeline.py threads``) or through the CLI:
``paf run examples/pipeline.py:build --arg partitions=8``.
"""

from __future__ import annotations

import operator
import sys

from parallel_architecture_framework import Client, Graph, task


@task(retries=2, backoff=0.01)
def load(partition: int) -> list[int]:
    """Pretend to read one partition: the numbers of that partition."""
    return list(range(partition * 100, (partition + 1) * 100))


@task(cost=2)
def transform(rows: list[int]) -> int:
    """A CPU step: the sum of squares of the partition."""
    return sum(x * x for x in rows)


def build(partitions: int = 4) -> Graph:
    """load -> transform per partition, then a tree reduction of the partial sums."""
    graph = Graph()
    partials = [graph.add(transform, graph.add(load, p)) for p in range(partitions)]
    graph.reduce(operator.add, partials)
    return graph


def main(executor: str = "processes") -> int:
    with Client(executor, workers=2) as client:
        results = client.run(build(8))
        print(f"total: {results[-1]}")
        print(client.summary().render())
    return results[-1]


if __name__ == "__main__":
    expected = sum(x * x for x in range(800))
    assert main(*sys.argv[1:2]) == expected
