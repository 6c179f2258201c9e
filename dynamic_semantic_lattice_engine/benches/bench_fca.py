"""Formal Concept Analysis: dsle's NextClosure on bitsets against the `concepts` package.

Usage::

    uv run python dynamic_semantic_lattice_engine/benches/bench_fca.py
    uv run python dynamic_semantic_lattice_engine/benches/bench_fca.py --objects 200 --attributes 30 --density 0.3

The default (100 objects) keeps the run under two minutes; the issue's
200 x 30 context takes `concepts` about 90 s here.  Prints one JSON object
with the bench_all keys ("system", "bench", "unit", "ours", "peer",
"peer_name", "ratio"; ratio > 1 means dsle is faster), then a summary line.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from importlib.metadata import version

from dynamic_semantic_lattice_engine import ConceptLattice, FormalContext


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=100)
    parser.add_argument("--attributes", type=int, default=30)
    parser.add_argument("--density", type=float, default=0.3)
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    rng = random.Random(1)
    objects = [f"o{i}" for i in range(args.objects)]
    attributes = [f"a{j}" for j in range(args.attributes)]
    rows = [[j for j in range(args.attributes) if rng.random() < args.density] for _ in objects]
    started = time.perf_counter()
    lattice = ConceptLattice(FormalContext(objects, attributes, rows))
    ours = time.perf_counter() - started
    result: dict[str, object] = {
        "bench": "fca",
        "concepts": len(lattice),
        "dsle_wall_s": round(ours, 3),
    }
    if not args.no_peer:
        import concepts

        started = time.perf_counter()
        ctx = concepts.Context(
            objects, attributes, [tuple(j in set(r) for j in range(args.attributes)) for r in rows]
        )
        peer_count = len(ctx.lattice)
        theirs = time.perf_counter() - started
        result.update(
            concepts_wall_s=round(theirs, 3),
            peer_concepts=peer_count,
            speedup=round(theirs / ours, 1),
        )
        if peer_count != len(lattice):
            raise SystemExit(f"concept counts differ: dsle {len(lattice)}, concepts {peer_count}")
        print(
            json.dumps(
                {
                    "system": "dynamic_semantic_lattice_engine",
                    "bench": f"fca_{args.objects}x{args.attributes}_d{args.density}",
                    "unit": "s",
                    "ours": round(ours, 3),
                    "peer": round(theirs, 3),
                    "peer_name": f"concepts {version('concepts')}",
                    "ratio": round(theirs / ours, 1),
                }
            )
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
