"""Datalog: Soufflé's LUBM(1), and transitive closure against networkx and plain Python.

Usage::

    uv run python dynamic_semantic_lattice_engine/benches/bench_datalog.py
    uv run python dynamic_semantic_lattice_engine/benches/bench_datalog.py --edges 10000 --chain 10000 --no-peer

For the transitive closure of a random graph and of a chain, runs dsle, a
plain-Python semi-naive loop and networkx's ``transitive_closure`` (the peer;
Soufflé is not packaged for this Debian) on the same edges, checks that all
three find the same number of pairs, and prints one JSON object per
measurement with the bench_all keys ("system", "bench", "unit", "ours",
"peer", "peer_name", "ratio"; ratio > 1 means dsle is faster).  LUBM(1) has
no peer here; its row carries the issue's 5 s budget as the comparison.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import time
from importlib.metadata import version
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


def networkx_tc(edges: list[tuple[int, int]]) -> int:
    import networkx as nx

    closure = nx.transitive_closure(nx.DiGraph(edges), reflexive=False)
    return int(closure.number_of_edges())


def dsle_tc(edges: list[tuple[int, int]]) -> int:
    engine = Engine(parse_program(TC))
    engine.add_facts("e", edges)
    engine.run()
    return len(engine.relation("t"))


def timed(fn, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - started, out


def row(bench: str, ours: float, peer: float | None, peer_name: str) -> str:
    return json.dumps(
        {
            "system": "dynamic_semantic_lattice_engine",
            "bench": bench,
            "unit": "s",
            "ours": round(ours, 3),
            "peer": None if peer is None else round(peer, 3),
            "peer_name": peer_name,
            "ratio": None if peer is None else round(peer / ours, 2),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edges", type=int, default=10000)
    parser.add_argument("--chain", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true", help="skip networkx (slow on big inputs)")
    parser.add_argument(
        "--no-python", action="store_true", help="skip the plain-Python loop (3 GB on a 10k chain)"
    )
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
        print(row("lubm1_wall", statistics.median(times), 5.0, "issue budget (5 s)"))
    rng = random.Random(5)
    nodes = args.edges
    graphs = {
        "random": list({(rng.randrange(nodes), rng.randrange(nodes)) for _ in range(args.edges)}),
        "chain": [(i, i + 1) for i in range(args.chain)],
    }
    for name, edges in graphs.items():
        cpu = time.process_time()
        ours = [timed(dsle_tc, edges) for _ in range(args.repeat)]
        cpu = (time.process_time() - cpu) / args.repeat
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        pairs = ours[0][1]
        a = statistics.median(t for t, _ in ours)
        label = f"tc_{name}_{len(edges)}_edges"
        if not args.no_peer:
            peer_time, peer_pairs = timed(networkx_tc, edges)
            if peer_pairs != pairs:
                raise SystemExit(f"tc_{name}: dsle {pairs} pairs, networkx {peer_pairs}")
            print(row(label, a, peer_time, f"networkx {version('networkx')} transitive_closure"))
        if not args.no_python:
            plain = [timed(python_semi_naive, edges) for _ in range(args.repeat)]
            if plain[0][1] != pairs:
                raise SystemExit(f"tc_{name}: dsle {pairs} pairs, plain Python {plain[0][1]}")
            b = statistics.median(t for t, _ in plain)
            print(row(f"{label}_vs_python", a, b, "plain-Python semi-naive loop"))
        summary = {"bench": label, "pairs": pairs, "dsle_wall_median_s": round(a, 3)}
        summary.update(dsle_cpu_mean_s=round(cpu, 3), peak_rss_mb_so_far=rss)
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
