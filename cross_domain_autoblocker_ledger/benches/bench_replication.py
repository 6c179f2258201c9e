"""3-node replication latency on loopback: NATS JetStream (R3) and etcd (3 members).

NATS: three nats-server processes (Debian ``nats-server``, ``-js``) routed
into one cluster.  etcd: three etcd members (Debian ``etcd-server``) in one
cluster.  Three ledger nodes each.  Each operation (one ban) is proposed by
the nodes in turn; its latency runs from the proposal until *every* node has
applied it to its ledger (SQLite commit and signed checkpoint included).  The
etcd nodes are asked to catch up at once (``wait_applied``: one range read
each) rather than waiting for their 100 ms follower poll, so the figure is
the engine's, not the poll interval's.  Prints p50/p99 and that all roots
agree, then the repository's JSON rows (etcd as the comparison).

Run:  uv run python cross_domain_autoblocker_ledger/benches/bench_replication.py [--ops N] [--backend nats|etcd|both]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

from cross_domain_autoblocker_ledger import Decision, EtcdReplicator, JetStreamReplicator, Ledger


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _nats(ops: int) -> dict[str, object] | None:
    exe = shutil.which("nats-server") or "/usr/sbin/nats-server"
    if not Path(exe).exists():
        print("nats-server not found (apt-get install nats-server): skipped", file=sys.stderr)
        return None
    ports, routes = [_port() for _ in range(3)], [_port() for _ in range(3)]
    route_list = ",".join(f"nats://127.0.0.1:{p}" for p in routes)
    with tempfile.TemporaryDirectory() as tmp:
        procs = [
            subprocess.Popen(
                [
                    exe,
                    "-js",
                    "-sd",
                    f"{tmp}/s{i}",
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(ports[i]),
                    "-n",
                    f"s{i}",
                    "--cluster_name",
                    "bench",
                    "--cluster",
                    f"nats://127.0.0.1:{routes[i]}",
                    "--routes",
                    route_list,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(3)
        ]
        try:
            return anyio.run(_run, Path(tmp), [f"nats://127.0.0.1:{p}" for p in ports], ops)
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()


def _etcd(ops: int) -> dict[str, object] | None:
    exe = shutil.which("etcd") or "/usr/bin/etcd"
    if not Path(exe).exists():
        print("etcd not found (apt-get install etcd-server): skipped", file=sys.stderr)
        return None
    clients, peers = [_port() for _ in range(3)], [_port() for _ in range(3)]
    initial = ",".join(f"m{i}=http://127.0.0.1:{p}" for i, p in enumerate(peers))
    urls = [f"http://127.0.0.1:{p}" for p in clients]
    with tempfile.TemporaryDirectory() as tmp:
        procs = [
            subprocess.Popen(
                [
                    exe,
                    *("--name", f"m{i}", "--data-dir", f"{tmp}/m{i}"),
                    *("--listen-client-urls", urls[i], "--advertise-client-urls", urls[i]),
                    *("--listen-peer-urls", f"http://127.0.0.1:{peers[i]}"),
                    *("--initial-advertise-peer-urls", f"http://127.0.0.1:{peers[i]}"),
                    *("--initial-cluster", initial, "--initial-cluster-state", "new"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(3)
        ]
        try:
            ledgers = [
                Ledger.open(Path(tmp) / f"n{i}" / "ledger.db", origin=f"n{i}.bench/ledger")
                for i in range(3)
            ]
            reps = [EtcdReplicator(ledger, urls, timeout=60) for ledger in ledgers]
            for rep in reps:
                rep.start(follow=False)
            now = ledgers[0].clock()
            samples: list[float] = []
            for i in range(ops):
                start = time.perf_counter()
                position = reps[i % 3].propose_add([_ban(i, now)])
                for rep in reps:
                    rep.wait_applied(position)
                samples.append(time.perf_counter() - start)
            for rep in reps:
                rep.stop()
            result = _summary(ops, samples, ledgers)
            for ledger in ledgers:
                ledger.close()
            return result
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()


def _ban(i: int, now: float) -> Decision:
    return Decision.make(
        type="ban",
        scope="Ip",
        value=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
        duration=3600,
        now=now,
    )


def _summary(ops: int, samples: list[float], ledgers: list[Ledger]) -> dict[str, object]:
    samples.sort()
    return {
        "ops": ops,
        "p50_ms": round(samples[len(samples) // 2] * 1000, 2),
        "p99_ms": round(samples[int(len(samples) * 0.99)] * 1000, 2),
        "max_ms": round(samples[-1] * 1000, 2),
        "sizes": [ledger.size for ledger in ledgers],
        "same_root": len({ledger.root() for ledger in ledgers}) == 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--backend", choices=("nats", "etcd", "both"), default="both")
    args = parser.parse_args()
    results: dict[str, object] = {}
    nats = _nats(args.ops) if args.backend in ("nats", "both") else None
    etcd = _etcd(args.ops) if args.backend in ("etcd", "both") else None
    if nats is not None:
        results["nats_jetstream_r3"] = nats
    if etcd is not None:
        results["etcd_3_members"] = etcd
    print(json.dumps(results, indent=2))
    if nats is not None:
        for pct in ("p50", "p99"):
            theirs = None if etcd is None else etcd[f"{pct}_ms"]
            ours = nats[f"{pct}_ms"]
            print(
                json.dumps(
                    {
                        "system": "cross_domain_autoblocker_ledger",
                        "bench": f"3-node replication {pct}, NATS JetStream R3 (peer: our etcd backend)",
                        "unit": "ms until every node applied",
                        "ours": ours,
                        "peer": theirs,
                        "peer_name": "etcd 3 members",
                        "ratio": None if not theirs else round(float(theirs) / float(ours), 2),  # type: ignore[arg-type]
                    }
                )
            )


async def _run(tmp: Path, urls: list[str], ops: int) -> dict[str, object]:
    ledgers = [
        Ledger.open(tmp / f"n{i}" / "ledger.db", origin=f"n{i}.bench/ledger") for i in range(3)
    ]
    reps = [JetStreamReplicator(ledger, urls, timeout=60) for ledger in ledgers]
    for rep in reps:
        await rep.start()
    now = ledgers[0].clock()
    samples: list[float] = []
    for i in range(ops):
        start = time.perf_counter()
        position = await reps[i % 3].propose_add([_ban(i, now)])
        for rep in reps:
            await rep.wait_applied(position)
        samples.append(time.perf_counter() - start)
    for rep in reps:
        await rep.stop()
    result = _summary(ops, samples, ledgers)
    for ledger in ledgers:
        ledger.close()
    return result


if __name__ == "__main__":
    main()
