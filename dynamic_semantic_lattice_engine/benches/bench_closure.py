"""RDFS / OWL 2 RL closure: dsle against owlrl on the same generated ontology.

Usage::

    uv run python dynamic_semantic_lattice_engine/benches/bench_closure.py --size 20000 --rules rdfs
    uv run python dynamic_semantic_lattice_engine/benches/bench_closure.py --size 50000 --rules owl-rl --no-peer

Prints one JSON object with the bench_all keys ("system", "bench", "unit",
"ours", "peer", "peer_name", "ratio"; ratio > 1 means dsle is faster), CPU
seconds, then a summary line with both sides' medians and whether the
closures are equal after :func:`dynamic_semantic_lattice_engine.testing.normalise`
(the run fails if they are not).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from importlib.metadata import version

from rdflib import Graph

from dynamic_semantic_lattice_engine import KnowledgeBase
from dynamic_semantic_lattice_engine.testing import generate_ontology, normalise


def run_dsle(graph: Graph, rules: str) -> tuple[float, float, set[tuple[object, object, object]]]:
    kb = KnowledgeBase()
    kb.add_graph(graph)
    cpu, wall = time.process_time(), time.perf_counter()
    kb.reason(rules)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu, wall, normalise(kb.graph(inferred=True))


def run_owlrl(graph: Graph, rules: str) -> tuple[float, float, set[tuple[object, object, object]]]:
    import owlrl

    copy = Graph()
    for triple in graph:
        copy.add(triple)
    semantics = owlrl.RDFS_Semantics if rules == "rdfs" else owlrl.OWLRL_Semantics
    cpu, wall = time.process_time(), time.perf_counter()
    owlrl.DeductiveClosure(semantics, axiomatic_triples=True, datatype_axioms=False).expand(copy)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu, wall, normalise(copy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=20000, help="instance triples")
    parser.add_argument("--rules", choices=["rdfs", "owl-rl"], default="rdfs")
    parser.add_argument("--repeat", type=int, default=3, help="dsle runs (median)")
    parser.add_argument("--peer-repeat", type=int, default=1, help="owlrl runs (median)")
    parser.add_argument("--no-peer", action="store_true", help="skip owlrl")
    args = parser.parse_args()
    graph = generate_ontology(args.size)
    ours = [run_dsle(graph, args.rules) for _ in range(args.repeat)]
    result: dict[str, object] = {
        "bench": "closure",
        "rules": args.rules,
        "input_triples": len(graph),
        "dsle_cpu_median_s": round(statistics.median(r[0] for r in ours), 3),
        "dsle_wall_median_s": round(statistics.median(r[1] for r in ours), 3),
        "dsle_closure": len(ours[0][2]),
    }
    if not args.no_peer:
        theirs = [run_owlrl(graph, args.rules) for _ in range(args.peer_repeat)]
        peer_cpu = statistics.median(r[0] for r in theirs)
        result.update(
            owlrl_cpu_median_s=round(peer_cpu, 3),
            owlrl_wall_median_s=round(statistics.median(r[1] for r in theirs), 3),
            owlrl_closure=len(theirs[0][2]),
            speedup_cpu=round(peer_cpu / max(float(result["dsle_cpu_median_s"]), 1e-9), 1),  # type: ignore[arg-type]
            equal_after_normalisation=ours[0][2] == theirs[0][2],
        )
        print(
            json.dumps(
                {
                    "system": "dynamic_semantic_lattice_engine",
                    "bench": f"{args.rules}_closure_{len(graph)}_triples_cpu",
                    "unit": "s",
                    "ours": result["dsle_cpu_median_s"],
                    "peer": round(peer_cpu, 3),
                    "peer_name": f"owlrl {version('owlrl')}",
                    "ratio": result["speedup_cpu"],
                }
            )
        )
    print(json.dumps(result))
    if result.get("equal_after_normalisation") is False:
        raise SystemExit("the closures differ after normalisation")


if __name__ == "__main__":
    main()
