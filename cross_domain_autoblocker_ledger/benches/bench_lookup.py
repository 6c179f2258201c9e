"""'Is X blocked?' latency at one million active decisions: our radix index vs a hash-per-prefix-length scan.

The index holds a mix of IPv4 and IPv6 addresses and CIDR ranges (default
1,000,000 decisions: 50% IPv4 /32, 20% IPv6 /128, 20% IPv4 ranges /8-/30,
10% IPv6 ranges /32-/64).  Probes mix banned addresses, addresses inside
ranges and clean ones.  Each lookup is timed on its own (perf_counter_ns),
so p50/p99 are per-lookup latencies in-process.

The comparisons: the usual pure-Python answer, one dict per prefix length
(network integer -> decisions) probed from the longest length down; and the
same index built on py-radix (ISC/BSD-licensed) instead of pytricia
(LGPL-3.0), to weigh the licence against the speed.  Prints a JSON summary,
then one compact JSON row per measurement (scripts/bench_all.sh's contract).

Run:  uv run python cross_domain_autoblocker_ledger/benches/bench_lookup.py [--decisions N] [--probes P]
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import json
import random
import statistics
import sys
import time

from cross_domain_autoblocker_ledger import BlockIndex, Decision


def build(n: int, rng: random.Random) -> tuple[list[Decision], list[str]]:
    decisions: list[Decision] = []
    exact: list[str] = []
    for i in range(n):
        r = i % 10
        if r < 5:
            value, scope = str(ipaddress.IPv4Address(rng.getrandbits(32))), "Ip"
            exact.append(value)
        elif r < 7:
            value, scope = (
                str(ipaddress.IPv6Address((0x2001_0DB8 << 96) | rng.getrandbits(96))),
                "Ip",
            )
            exact.append(value)
        elif r < 9:
            value, scope = (
                str(ipaddress.IPv4Network((rng.getrandbits(32), rng.randint(8, 30)), strict=False)),
                "Range",
            )
        else:
            value, scope = (
                str(
                    ipaddress.IPv6Network(
                        ((0x2001_0DB8 << 96) | rng.getrandbits(96), rng.randint(32, 64)),
                        strict=False,
                    )
                ),
                "Range",
            )
        decisions.append(Decision(i + 1, "", "bench", "ban", scope, value, 0.0, 1e12, "bench"))
    return decisions, exact


class PerLengthHash:
    """The comparison: {prefix length: {network int: decisions}}, longest length first."""

    def __init__(self, decisions: list[Decision]) -> None:
        self.v4: dict[int, dict[int, list[Decision]]] = {}
        self.v6: dict[int, dict[int, list[Decision]]] = {}
        for d in decisions:
            net = ipaddress.ip_network(d.value)
            table = self.v4 if net.version == 4 else self.v6
            table.setdefault(net.prefixlen, {}).setdefault(int(net.network_address), []).append(d)
        self.v4_lengths = sorted(self.v4, reverse=True)
        self.v6_lengths = sorted(self.v6, reverse=True)

    def lookup(self, address: str, now: float) -> list[Decision]:
        addr = ipaddress.ip_address(address)
        value = int(addr)
        if addr.version == 4:
            tables, lengths, bits = self.v4, self.v4_lengths, 32
        else:
            tables, lengths, bits = self.v6, self.v6_lengths, 128
        for length in lengths:
            key = value >> (bits - length) << (bits - length)
            found = tables[length].get(key)
            if found:
                active = [d for d in found if d.until > now]
                if active:
                    return active
        return []


class RadixPeer:
    """The same index on py-radix (ISC/BSD-licensed C radix tree) instead of pytricia (LGPL-3.0).

    Same semantics as ours: one slot of decisions per prefix, longest-prefix
    match, walking up to shorter prefixes when the longest only holds expired ones.
    """

    def __init__(self, decisions: list[Decision]) -> None:
        import radix  # type: ignore[import-not-found, import-untyped, unused-ignore]

        self.tree = radix.Radix()
        for d in decisions:
            key = d.value if d.scope == "Range" else f"{d.value}/{128 if ':' in d.value else 32}"
            node = self.tree.search_exact(key)
            if node is None:
                node = self.tree.add(key)
                node.data["slot"] = {}
            node.data["slot"][d.id] = d

    def lookup(self, address: str, now: float) -> list[Decision]:
        if address[:7].lower() == "::ffff:" and "." in address:
            address = address[7:]
        node = self.tree.search_best(address)
        if node is None:
            return []
        found = [d for d in node.data["slot"].values() if d.until > now]
        if found:
            return found
        for parent in self.tree.search_covering(node.prefix)[1:]:
            found = [d for d in parent.data["slot"].values() if d.until > now]
            if found:
                return found
        return []


def row(bench: str, ours: float, peer: float | None, peer_name: str) -> str:
    """One line of the repository's bench contract (scripts/bench_all.sh); ratio > 1: ours better."""
    return json.dumps(
        {
            "system": "cross_domain_autoblocker_ledger",
            "bench": bench,
            "unit": "µs per lookup",
            "ours": ours,
            "peer": peer,
            "peer_name": peer_name,
            "ratio": None if not peer else round(peer / ours, 2),
        }
    )


def latencies(lookup, probes: list[str]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    clock = time.perf_counter_ns
    samples = []
    hits = 0
    for probe in probes:
        start = clock()
        found = lookup(probe, 1.0)
        samples.append(clock() - start)
        hits += bool(found)
    samples.sort()
    return {
        "p50_us": round(samples[len(samples) // 2] / 1000, 2),
        "p99_us": round(samples[int(len(samples) * 0.99)] / 1000, 2),
        "p999_us": round(samples[int(len(samples) * 0.999)] / 1000, 2),
        "mean_us": round(statistics.fmean(samples) / 1000, 2),
        "hits": hits,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--probes", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(11)
    decisions, exact = build(args.decisions, rng)
    probes: list[str] = []
    for i in range(args.probes):
        r = i % 4
        if r == 0:
            probes.append(rng.choice(exact))
        elif r == 1:
            probes.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
        elif r == 2:
            probes.append(str(ipaddress.IPv6Address((0x2001_0DB8 << 96) | rng.getrandbits(96))))
        else:
            probes.append(str(ipaddress.IPv6Address(rng.getrandbits(128))))
    start = time.perf_counter()
    index = BlockIndex()
    index.add_many(decisions)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    peer = PerLengthHash(decisions)
    peer_build_s = time.perf_counter() - start
    radix_peer: RadixPeer | None = None
    try:
        start = time.perf_counter()
        radix_peer = RadixPeer(decisions)
        radix_build_s = time.perf_counter() - start
    except ImportError:
        print("py-radix is not installed (the [compare] extra): peer skipped", file=sys.stderr)
    # A long-lived index of a million objects: move them out of the cyclic GC's
    # reach, as `cdabl serve` does after loading, so no gen-2 pass lands in a lookup.
    gc.collect()
    gc.freeze()
    ours = latencies(index.lookup_ip, probes)
    theirs = latencies(peer.lookup, probes)
    result: dict[str, object] = {
        "decisions": args.decisions,
        "probes": args.probes,
        "ours_pytricia_index": {**ours, "build_s": round(build_s, 2)},
        "per_length_hash": {**theirs, "build_s": round(peer_build_s, 2)},
        "same_hits": ours["hits"] == theirs["hits"],
        "p99_ratio": round(theirs["p99_us"] / ours["p99_us"], 1),
    }
    radix_stats = None
    if radix_peer is not None:
        radix_stats = latencies(radix_peer.lookup, probes)
        result["py_radix_index"] = {**radix_stats, "build_s": round(radix_build_s, 2)}
        result["same_hits_py_radix"] = ours["hits"] == radix_stats["hits"]
    # The summary first (indented, for people), then one compact row per
    # measurement for scripts/bench_all.sh.
    print(json.dumps(result, indent=2))
    size = (
        f"{args.decisions // 1000}k" if args.decisions < 1_000_000 else f"{args.decisions / 1e6:g}M"
    )
    for pct in ("p50", "p99"):
        bench = f"is X blocked? {pct} at {size} decisions"
        print(row(bench, ours[f"{pct}_us"], theirs[f"{pct}_us"], "dict per prefix length"))
        if radix_stats is not None:
            print(row(bench, ours[f"{pct}_us"], radix_stats[f"{pct}_us"], "py-radix index"))


if __name__ == "__main__":
    main()
