"""3-node replication latency over a real NATS JetStream cluster (R3) on loopback.

Starts three nats-server processes (Debian ``nats-server``, ``-js``) routed
into one cluster and three ledger nodes.  Each operation (one ban) is
proposed by the nodes in turn; its latency runs from the publish until
*every* node has applied it to its ledger (SQLite commit and signed
checkpoint included).  Prints p50/p99 and that all roots agree.

Run:  uv run python cross_domain_autoblocker_ledger/benches/bench_replication.py [--ops N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import anyio

from cross_domain_autoblocker_ledger import Decision, JetStreamReplicator, Ledger


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=300)
    args = parser.parse_args()
    exe = shutil.which("nats-server") or "/usr/sbin/nats-server"
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
            result = anyio.run(_run, Path(tmp), [f"nats://127.0.0.1:{p}" for p in ports], args.ops)
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
    print(json.dumps(result, indent=2))


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
        decision = Decision.make(
            type="ban",
            scope="Ip",
            value=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
            duration=3600,
            now=now,
        )
        start = time.perf_counter()
        position = await reps[i % 3].propose_add([decision])
        for rep in reps:
            await rep.wait_applied(position)
        samples.append(time.perf_counter() - start)
    roots = {ledger.root().hex() for ledger in ledgers}
    for rep in reps:
        await rep.stop()
    sizes = [ledger.size for ledger in ledgers]
    for ledger in ledgers:
        ledger.close()
    samples.sort()
    return {
        "ops": ops,
        "p50_ms": round(samples[len(samples) // 2] * 1000, 2),
        "p99_ms": round(samples[int(len(samples) * 0.99)] * 1000, 2),
        "max_ms": round(samples[-1] * 1000, 2),
        "sizes": sizes,
        "same_root": len(roots) == 1,
    }


if __name__ == "__main__":
    main()
