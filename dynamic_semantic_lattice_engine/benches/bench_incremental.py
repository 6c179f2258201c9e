"""Incremental maintenance: batches of 10 inserts or 10 deletes on a closed knowledge base.

Usage::

    uv run python dynamic_semantic_lattice_engine/benches/bench_incremental.py --size 50000 --batches 40

Reports the p50/p95 cost of a batch as a fraction of a full recompute (the
issue's bar: p95 at most 1%), and checks the maintained closure against a
from-scratch run at the end.  owlrl has no delete maintenance: the peer
figure is a full re-run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from dynamic_semantic_lattice_engine import KnowledgeBase
from dynamic_semantic_lattice_engine._rdf import encode_term
from dynamic_semantic_lattice_engine.testing import generate_ontology


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=50000)
    parser.add_argument("--rules", choices=["rdfs", "owl-rl"], default="rdfs")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    graph = generate_ontology(args.size)
    triples = [tuple(encode_term(t) for t in triple) for triple in graph]
    kb = KnowledgeBase()
    kb.add_graph(graph)
    started = time.perf_counter()
    kb.reason(args.rules)
    full = time.perf_counter() - started
    instance = [t for t in triples if "bench#i" in t[0]]
    removed: list[tuple[str, ...]] = []
    costs: dict[str, list[float]] = {"insert": [], "delete": []}
    for batch in range(args.batches):
        if batch % 2 == 0:
            chosen = rng.sample(instance, 10)
            started = time.perf_counter()
            kb.remove_many("triple", chosen)
            costs["delete"].append(time.perf_counter() - started)
            removed.extend(chosen)
            instance = [t for t in instance if t not in set(chosen)]
        else:
            chosen = [
                removed.pop(rng.randrange(len(removed))) for _ in range(min(10, len(removed)))
            ]
            started = time.perf_counter()
            kb.add_many("triple", chosen)
            costs["insert"].append(time.perf_counter() - started)
            instance.extend(chosen)
    maintained = set(kb.inferred())
    fresh = kb.copy()
    fresh.reason(args.rules)
    report: dict[str, object] = {
        "bench": "incremental",
        "rules": args.rules,
        "input_triples": len(graph),
        "full_recompute_s": round(full, 3),
        "equal_to_recompute": maintained == set(fresh.inferred()),
    }
    for kind, values in costs.items():
        values.sort()
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        report[f"{kind}_batch_p50_s"] = round(statistics.median(values), 4)
        report[f"{kind}_batch_p95_s"] = round(p95, 4)
        report[f"{kind}_p95_fraction_of_full"] = round(p95 / full, 4)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
