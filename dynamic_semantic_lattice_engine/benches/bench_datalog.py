"""Datalog: Soufflé's LUBM(1) and transitive closure against a plain-Python semi-naive loop.

Usage::

    uv run python dynamic_semantic_lattice_engine/benches/bench_datalog.py --edges 10000 --chain 2000

Prints JSON lines: LUBM(1) wall seconds (median of 3), and for transitive
closure of random and chain graphs the medians of dsle and of the
plain-Python semi-naive loop on the same edges, with the ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from dynamic_semantic_lattice_engine import Engine, parse_program

TC = """
.decl e(a:number, b:number)
.decl t(a:number, b:number)
t(X, Y) :- e(X, Y).
t(X, Z) :- t(X, Y), e(Y, Z).
"""


def python_semi_naive(edges: list[tuple[int, int]]) -> int:
    succ: dict[int, list[int]] = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    closure = set(edges)
    delta = set(edges)
    while delta:
        new = set()
        for x, y in delta:
            for z in succ.get(y, ()):
                if (x, z) not in closure:
                    new.add((x, z))
        closure |= new
        delta = new
    return len(closure)


def dsle_tc(edges: list[tuple[int, int]]) -> int:
    engine = Engine(parse_program(TC))
    engine.add_facts("e", edges)
    engine.run()
    return len(engine.relation("t"))


def timed(fn, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edges", type=int, default=10000)
    parser.add_argument("--chain", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--corpora", default=str(Path(__file__).resolve().parents[2].parent / "shared" / "corpora")
    )
    args = parser.parse_args()
    lubm = Path(args.corpora) / "souffle" / "lubm"
    if lubm.is_dir():
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            engine = Engine(
                parse_program((lubm / "lubm.dl").read_text(), source=str(lubm / "lubm.dl"))
            )
            engine.load_inputs(lubm / "facts")
            engine.run()
            times.append(time.perf_counter() - started)
        print(
            json.dumps({"bench": "lubm1", "dsle_wall_median_s": round(statistics.median(times), 3)})
        )
    rng = random.Random(5)
    nodes = args.edges
    graphs = {
        "random": list({(rng.randrange(nodes), rng.randrange(nodes)) for _ in range(args.edges)}),
        "chain": [(i, i + 1) for i in range(args.chain)],
    }
    for name, edges in graphs.items():
        ours = [timed(dsle_tc, edges) for _ in range(args.repeat)]
        theirs = [timed(python_semi_naive, edges) for _ in range(args.repeat)]
        assert ours[0][1] == theirs[0][1]
        a = statistics.median(t for t, _ in ours)
        b = statistics.median(t for t, _ in theirs)
        print(
            json.dumps(
                {
                    "bench": f"tc_{name}",
                    "edges": len(edges),
                    "pairs": ours[0][1],
                    "dsle_wall_median_s": round(a, 3),
                    "python_wall_median_s": round(b, 3),
                    "speedup": round(b / a, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
