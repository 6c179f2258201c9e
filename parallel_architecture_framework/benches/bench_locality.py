"""Locality: what the process pool saves by keeping large results where they were made.

Workload: ``--chains`` independent chains; each starts with a task that makes
a NumPy array of ``--megabytes`` MB, then ``--links`` tasks each derive a new
array of the same size from the previous one, and a last task sums it.  The
same graph runs on

* ``paf processes`` (locality on, the default): each link runs on the worker
  holding its input, which travels as a reference;
* ``paf processes, locality off``: every input is sent to a worker again;
* ``ProcessPoolExecutor + driver`` (the peer): the driver submits each link
  when its input is back, so every array crosses the pipe twice.

Reports the median wall time of ``--repeat`` runs and the bytes the driver
sent to workers, and prints one JSON row per comparison (scripts/bench_all.sh).

    uv run python parallel_architecture_framework/benches/bench_locality.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from parallel_architecture_framework import Client, ProcessExecutor


def make(seed: int, megabytes: int) -> np.ndarray[Any, Any]:
    return np.full(megabytes * 131_072, float(seed))


def link(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return values * 1.0001 + 1.0


def total(values: np.ndarray[Any, Any]) -> float:
    return float(values.sum())


def timed(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def paf_chains(client: Client, chains: int, links: int, megabytes: int) -> list[float]:
    ends = []
    for seed in range(chains):
        current = client.submit(make, seed, megabytes)
        for _ in range(links):
            current = client.submit(link, current)
        ends.append(client.submit(total, current))
    return client.gather(ends, timeout=600)


def pool_chains(pool: ProcessPoolExecutor, chains: int, links: int, megabytes: int) -> list[float]:
    futures = [pool.submit(make, seed, megabytes) for seed in range(chains)]
    for _ in range(links):
        futures = [pool.submit(link, f.result()) for f in futures]
    return [pool.submit(total, f.result()).result() for f in futures]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--links", type=int, default=6)
    parser.add_argument("--megabytes", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    shape = (args.chains, args.links, args.megabytes)
    expected = None
    results: dict[str, tuple[float, int]] = {}
    for name, locality in (("paf processes", True), ("paf processes, locality off", False)):
        executor = ProcessExecutor(args.workers, locality=locality)
        with Client(executor, metrics=False, trace=False) as client:
            paf_chains(client, 1, 1, 1)  # warm up
            before = executor.bytes_sent
            seconds = timed(lambda c=client: paf_chains(c, *shape), args.repeat)
            sent = (executor.bytes_sent - before) // args.repeat
            got = paf_chains(client, *shape)
        expected = expected or got
        assert got == expected, (name, got, expected)
        results[name] = (seconds, sent)
    with ProcessPoolExecutor(args.workers) as pool:
        pool_chains(pool, 1, 1, 1)
        seconds = timed(lambda: pool_chains(pool, *shape), args.repeat)
        assert pool_chains(pool, *shape) == expected
    arrays = args.chains * (args.links + 1)
    results["ProcessPoolExecutor + driver"] = (seconds, arrays * args.megabytes * 2**20)
    print(
        f"{args.chains} chains x {args.links} links over {args.megabytes} MB arrays, "
        f"{args.workers} workers, median of {args.repeat}"
    )
    for name, (seconds, sent) in results.items():
        print(f"  {name:<32} {seconds * 1000:9.1f} ms   {sent / 2**20:9.1f} MB sent to workers")
    ours = results["paf processes"][0]
    for peer in ("paf processes, locality off", "ProcessPoolExecutor + driver"):
        print(
            json.dumps(
                {
                    "system": "parallel_architecture_framework",
                    "bench": f"{args.chains}x{args.links} chains over {args.megabytes} MB arrays",
                    "unit": "ms (median)",
                    "ours": round(ours * 1000, 1),
                    "peer": round(results[peer][0] * 1000, 1),
                    "peer_name": peer,
                    "ratio": round(results[peer][0] / ours, 3),
                }
            )
        )


if __name__ == "__main__":
    main()
