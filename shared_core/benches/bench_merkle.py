"""Merkle log throughput: shared_core.crypto.MerkleTree against pymerkle.

Both sides build the same RFC 9162 tree (the roots are compared) from the same
leaves in one run, then answer inclusion and consistency proofs at the full
size.  Prints one JSON object per measurement and a Markdown table.

    uv run python shared_core/benches/bench_merkle.py [--leaves 1000000] [--proofs 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from shared_core.crypto import MerkleTree, verify_inclusion


def _median_seconds(func: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(leaves: int, proofs: int, seed: int = 7) -> list[dict[str, Any]]:
    data = [i.to_bytes(8, "big") for i in range(leaves)]
    rng = random.Random(seed)
    indexes = [rng.randrange(leaves) for _ in range(proofs)]
    old_sizes = [rng.randrange(1, leaves) for _ in range(proofs)]
    results: list[dict[str, Any]] = []

    start = time.perf_counter()
    ours = MerkleTree()
    append = ours.append
    for item in data:
        append(item)
    ours_build = time.perf_counter() - start

    peer_build: float | None = None
    peer_root: bytes | None = None
    peer: Any = None
    try:
        from pymerkle import InmemoryTree

        start = time.perf_counter()
        peer = InmemoryTree(algorithm="sha256")
        peer_append = peer.append_entry
        for item in data:
            peer_append(item)
        peer_build = time.perf_counter() - start
        peer_root = peer.get_root()
    except ImportError:
        peer = None

    root = ours.root()
    results.append(
        {
            "bench": f"append {leaves:,} leaves",
            "unit": "leaves/s",
            "ours": leaves / ours_build,
            "peer": None if peer_build is None else leaves / peer_build,
            "peer_name": "pymerkle InmemoryTree",
            "roots_equal": peer_root == root if peer_root is not None else None,
        }
    )

    it = iter(indexes)

    def our_inclusion() -> None:
        ours.inclusion_proof(next(it))

    ours_incl = _median_seconds(our_inclusion, proofs)
    peer_incl = None
    if peer is not None:
        it2 = iter(indexes)

        def peer_inclusion() -> None:
            peer.prove_inclusion(next(it2) + 1)  # pymerkle counts leaves from 1

        peer_incl = _median_seconds(peer_inclusion, proofs)
    results.append(
        {
            "bench": f"inclusion proof at {leaves:,}",
            "unit": "us (median)",
            "ours": ours_incl * 1e6,
            "peer": None if peer_incl is None else peer_incl * 1e6,
            "peer_name": "pymerkle InmemoryTree",
        }
    )

    it3 = iter(old_sizes)

    def our_consistency() -> None:
        ours.consistency_proof(next(it3))

    ours_cons = _median_seconds(our_consistency, proofs)
    peer_cons = None
    if peer is not None:
        it4 = iter(old_sizes)

        def peer_consistency() -> None:
            peer.prove_consistency(next(it4))

        peer_cons = _median_seconds(peer_consistency, proofs)
    results.append(
        {
            "bench": f"consistency proof at {leaves:,}",
            "unit": "us (median)",
            "ours": ours_cons * 1e6,
            "peer": None if peer_cons is None else peer_cons * 1e6,
            "peer_name": "pymerkle InmemoryTree",
        }
    )

    proof = ours.inclusion_proof(indexes[0])
    leaf = ours.leaf_hash(indexes[0])
    verify_us = _median_seconds(
        lambda: verify_inclusion(leaf, indexes[0], leaves, proof, root), proofs
    )
    results.append(
        {
            "bench": f"verify inclusion at {leaves:,}",
            "unit": "us (median)",
            "ours": verify_us * 1e6,
            "peer": None,
            "peer_name": "-",
        }
    )
    return results


def ratio(row: dict[str, Any]) -> str:
    """How many times better ours is (higher rate or lower time)."""
    if row["peer"] is None:
        return "-"
    if row["unit"].endswith("/s"):
        return f"{row['ours'] / row['peer']:.1f}x"
    return f"{row['peer'] / row['ours']:.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=1000)
    args = parser.parse_args()
    rows = run(args.leaves, args.proofs)
    for row in rows:
        print(json.dumps({"system": "shared_core", **row, "ratio": ratio(row)}))
    print()
    print("| benchmark | unit | ours | peer | peer median | ours vs peer |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        peer = "-" if row["peer"] is None else f"{row['peer']:,.1f}"
        print(
            f"| {row['bench']} | {row['unit']} | {row['ours']:,.1f} | {row['peer_name']} | {peer} | {ratio(row)} |"
        )


if __name__ == "__main__":
    main()
