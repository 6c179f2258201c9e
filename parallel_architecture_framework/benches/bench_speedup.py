"""Speed-up on a CPU-bound map: how close the process pool gets to ``workers``x.

Workload: ``--tasks`` calls of a pure-Python loop of ``--work`` iterations
(about 20 ms each here), run serially in this process, then on paf's
process pool and on joblib/loky (the peer) with ``--workers`` workers, pools
warmed up first.  Reports the median of ``--repeat`` runs, the speed-up over
serial, and the share of the ideal ``workers``x speed-up; prints JSON rows
for scripts/bench_all.sh.  On a machine shared with other work the ideal is
out of reach for everyone: compare the two in the same run.

    uv run python parallel_architecture_framework/benches/bench_speedup.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from parallel_architecture_framework import Client


def spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def timed(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--work", type=int, default=400_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    inputs = [args.work] * args.tasks
    expected = [spin(n) for n in inputs]
    serial = timed(lambda: [spin(n) for n in inputs], args.repeat)
    rows: dict[str, float] = {}
    with Client("processes", workers=args.workers, metrics=False, trace=False) as client:
        client.gather(client.map(spin, [1000] * 10))
        assert client.gather(client.map(spin, inputs)) == expected
        rows["paf processes"] = timed(lambda: client.gather(client.map(spin, inputs)), args.repeat)
    try:
        import joblib
    except ImportError:
        print("joblib not installed: the peer is skipped")
    else:
        with joblib.Parallel(n_jobs=args.workers, backend="loky") as parallel:
            parallel(joblib.delayed(spin)(1000) for _ in range(10))
            rows["joblib loky"] = timed(
                lambda: parallel(joblib.delayed(spin)(n) for n in inputs), args.repeat
            )
    print(
        f"{args.tasks} tasks of {serial / args.tasks * 1000:.1f} ms, {args.workers} workers, "
        f"median of {args.repeat}; serial {serial:.3f} s"
    )
    for name, seconds in rows.items():
        speedup = serial / seconds
        print(
            f"  {name:<16} {seconds:7.3f} s   speed-up {speedup:4.2f}x   "
            f"{speedup / args.workers:5.1%} of the ideal {args.workers}x"
        )
    if "joblib loky" in rows:
        ours, peer = rows["paf processes"], rows["joblib loky"]
        print(
            json.dumps(
                {
                    "system": "parallel_architecture_framework",
                    "bench": f"CPU-bound map, {args.tasks} tasks, {args.workers} workers",
                    "unit": "s (median)",
                    "ours": round(ours, 3),
                    "peer": round(peer, 3),
                    "peer_name": "joblib loky",
                    "ratio": round(peer / ours, 3),
                }
            )
        )


if __name__ == "__main__":
    main()
