"""Incremental maintenance: batches of 10 inserts or 10 deletes on a closed knowledge base.

Usage::

    uv run python dynamic_semantic_lattice_engine/benches/bench_incremental.py
    uv run python dynamic_semantic_lattice_engine/benches/bench_incremental.py --size 50000 --batches 1000

Measures each batch's wall time against a full recompute of the same
knowledge base (median of ``--full-runs``), the issue's bar being p95 at most
1%.  The first batch also builds the hash indexes the later ones reuse; it
is reported on its own (``first_batch_s``) and left out of the percentiles,
which describe the steady state.  At the end the maintained closure is
compared with a from-scratch run.  owlrl cannot delete (its peer figure would
be a full re-run), so the comparison is with our own full recompute.

Prints one JSON object per measurement with the bench_all keys ("system",
"bench", "unit", "ours", "peer", "peer_name", "ratio"; ratio > 1 means the
batch is cheaper than the recompute), then a summary line.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time

from dynamic_semantic_lattice_engine import KnowledgeBase
from dynamic_semantic_lattice_engine._rdf import encode_term
from dynamic_semantic_lattice_engine.testing import generate_ontology

SYSTEM = "dynamic_semantic_lattice_engine"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=50000)
    parser.add_argument("--rules", choices=["rdfs", "owl-rl"], default="rdfs")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--full-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    graph = generate_ontology(args.size)
    triples = [tuple(encode_term(t) for t in triple) for triple in graph]
    fulls = []
    kb = KnowledgeBase()
    for _ in range(args.full_runs):
        kb = KnowledgeBase()
        kb.add_graph(graph)
        started = time.perf_counter()
        kb.reason(args.rules)
        fulls.append(time.perf_counter() - started)
    full = statistics.median(fulls)
    instance = [t for t in triples if "bench#i" in t[0]]
    removed: list[tuple[str, ...]] = []
    costs: dict[str, list[float]] = {"insert": [], "delete": []}
    first = 0.0
    for batch in range(args.batches):
        if batch % 2 == 0:
            chosen = rng.sample(instance, args.batch_size)
            started = time.perf_counter()
            kb.remove_many("triple", chosen)
            spent = time.perf_counter() - started
            removed.extend(chosen)
            gone = set(chosen)
            instance = [t for t in instance if t not in gone]
            kind = "delete"
        else:
            count = min(args.batch_size, len(removed))
            chosen = [removed.pop(rng.randrange(len(removed))) for _ in range(count)]
            started = time.perf_counter()
            kb.add_many("triple", chosen)
            spent = time.perf_counter() - started
            instance.extend(chosen)
            kind = "insert"
        if batch == 0:
            first = spent
        else:
            costs[kind].append(spent)
    maintained = set(kb.inferred())
    fresh = kb.copy()
    fresh.reason(args.rules)
    equal = maintained == set(fresh.inferred())
    label = f"{args.rules}_{args.size // 1000}k"
    for kind, values in costs.items():
        p95 = percentile(values, 0.95)
        print(
            json.dumps(
                {
                    "system": SYSTEM,
                    "bench": f"{kind}_{args.batch_size}_p95_{label}",
                    "unit": "s",
                    "ours": round(p95, 4),
                    "peer": round(full, 4),
                    "peer_name": "full recompute (dsle; owlrl cannot delete)",
                    "ratio": round(full / p95, 1),
                }
            )
        )
    report: dict[str, object] = {
        "bench": "incremental",
        "rules": args.rules,
        "input_triples": len(graph),
        "closure_triples": len(maintained),
        "batches": args.batches,
        "full_recompute_median_s": round(full, 3),
        "first_batch_s": round(first, 4),
        "first_batch_fraction_of_full": round(first / full, 4),
        "equal_to_recompute": equal,
    }
    for kind, values in costs.items():
        p95 = percentile(values, 0.95)
        report[f"{kind}_batch_p50_s"] = round(statistics.median(values), 4)
        report[f"{kind}_batch_p95_s"] = round(p95, 4)
        report[f"{kind}_p50_fraction_of_full"] = round(statistics.median(values) / full, 4)
        report[f"{kind}_p95_fraction_of_full"] = round(p95 / full, 4)
    print(json.dumps(report))
    if not equal:
        raise SystemExit("the maintained closure differs from a recompute")


if __name__ == "__main__":
    main()
