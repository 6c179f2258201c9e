"""Fault proxy with no toxic vs direct loopback vs an asyncio-streams proxy, in one run.

Measures, for each path: throughput of one bulk stream (MB/s), round-trip time
of 1-byte ping-pongs (p50/p99, and what the proxy adds over direct), and 500
concurrent connections each echoing 1 KiB (errors counted).  Servers and
proxies run in their own processes; the client runs here.

    uv run python chaos_engine/benches/bench_proxy.py [--mb 512] [--pings 3000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import selectors
import socket
import statistics
import sys
import time
from typing import Any

CHUNK = 1 << 20


def _echo_server(port_q: Any) -> None:
    import threading

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(2048)
    port_q.put(srv.getsockname()[1])
    blob = bytes(CHUNK)

    def handle(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn, contextlib.suppress(OSError):
            first = conn.recv(64)
            if first.startswith(b"BULK "):  # send N bytes then close
                remaining = int(first.split()[1])
                view = memoryview(blob)
                while remaining > 0:
                    n = conn.send(view[: min(remaining, CHUNK)])
                    remaining -= n
                return
            conn.sendall(first)
            while data := conn.recv(65536):
                conn.sendall(data)

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def _asyncio_proxy(upstream_port: int, port_q: Any) -> None:
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                writer.close()

    async def handle(creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        ureader, uwriter = await asyncio.open_connection("127.0.0.1", upstream_port)
        for w in (cwriter, uwriter):
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(pipe(creader, uwriter), pipe(ureader, cwriter))

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=2048)
        port_q.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def _chaos_proxy(upstream_port: int, port_q: Any) -> None:
    from chaos_engine.proxy import ProxyServer

    server = ProxyServer(port=0)
    proxy = server.collection.create({"name": "bench", "upstream": f"127.0.0.1:{upstream_port}"})
    port_q.put(int(proxy.listen.rsplit(":", 1)[1]))
    server.serve_forever()


def _start(target: Any, *args: Any) -> tuple[mp.Process, int]:
    q: Any = mp.Queue()
    proc = mp.Process(target=target, args=(*args, q), daemon=True)
    proc.start()
    return proc, int(q.get(timeout=30))


def bulk(port: int, total: int) -> float:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        buf = bytearray(CHUNK)
        start = time.perf_counter()
        sock.sendall(f"BULK {total}".encode())
        got = 0
        while got < total:
            n = sock.recv_into(buf)
            if not n:
                break
            got += n
        elapsed = time.perf_counter() - start
    if got != total:
        raise RuntimeError(f"bulk transfer got {got} of {total} bytes")
    return total / elapsed / 1e6


def pings(port: int, count: int) -> list[float]:
    out = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count + 100):
            start = time.perf_counter_ns()
            sock.sendall(b"x")
            sock.recv(8)
            out.append((time.perf_counter_ns() - start) / 1000)
    return out[100:]


def concurrent(port: int, n: int) -> int:
    """Open n connections at once, echo 1 KiB on each; the number of failures."""
    sel = selectors.DefaultSelector()
    payload = os.urandom(1024)
    errors = 0
    socks = []
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            errors += 1
            continue
        socks.append(s)
    for s in socks:
        s.sendall(payload)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, bytearray())
    deadline = time.monotonic() + 30
    pending = len(socks)
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            key.data.extend(data)
            if not data or len(key.data) >= len(payload):
                if bytes(key.data) != payload:
                    errors += 1
                sel.unregister(s)
                pending -= 1
    errors += pending
    for s in socks:
        s.close()
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=512, help="bytes of the bulk transfer, in MB")
    parser.add_argument("--pings", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument(
        "--rounds", type=int, default=3, help="bulk transfers per path (the median is kept)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    mp.set_start_method("spawn", force=True)
    server, port = _start(_echo_server)
    chaos, chaos_port = _start(_chaos_proxy, port)
    aio, aio_port = _start(_asyncio_proxy, port)
    paths = {"direct": port, "chaos_engine": chaos_port, "asyncio": aio_port}
    results: dict[str, dict[str, float]] = {}
    try:
        for name, p in paths.items():
            rates = [bulk(p, args.mb * 1_000_000) for _ in range(args.rounds)]
            rtt = pings(p, args.pings)
            q = statistics.quantiles(rtt, n=100)
            results[name] = {
                "throughput_mb_s": round(statistics.median(rates), 1),
                "rtt_p50_us": round(statistics.median(rtt), 1),
                "rtt_p99_us": round(q[98], 1),
                "concurrent_errors": concurrent(p, args.connections),
            }
        for name in ("chaos_engine", "asyncio"):
            results[name]["added_p50_us"] = round(
                results[name]["rtt_p50_us"] - results["direct"]["rtt_p50_us"], 1
            )
            results[name]["added_p99_us"] = round(
                results[name]["rtt_p99_us"] - results["direct"]["rtt_p99_us"], 1
            )
            results[name]["throughput_ratio_vs_direct"] = round(
                results[name]["throughput_mb_s"] / results["direct"]["throughput_mb_s"], 3
            )
        results["chaos_engine"]["throughput_ratio_vs_asyncio"] = round(
            results["chaos_engine"]["throughput_mb_s"] / results["asyncio"]["throughput_mb_s"], 2
        )
    finally:
        for proc in (server, chaos, aio):
            proc.terminate()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"{'path':<14}{'MB/s':>9}{'p50 us':>9}{'p99 us':>9}{'+p50 us':>9}{'+p99 us':>9}{'errors':>8}"
        )
        for name, r in results.items():
            print(
                f"{name:<14}{r['throughput_mb_s']:>9.1f}{r['rtt_p50_us']:>9.1f}{r['rtt_p99_us']:>9.1f}"
                f"{r.get('added_p50_us', 0):>9.1f}{r.get('added_p99_us', 0):>9.1f}{int(r['concurrent_errors']):>8}"
            )
        print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        ours, peer = results["chaos_engine"], results["asyncio"]
        for bench, unit, key, higher_is_better in (
            ("proxy throughput, no toxic", "MB/s", "throughput_mb_s", True),
            ("added round-trip p50, no toxic", "us", "added_p50_us", False),
        ):
            mine, theirs = ours[key], peer[key]
            ratio = (
                (mine / theirs if higher_is_better else theirs / mine) if mine and theirs else None
            )
            print(
                json.dumps(
                    {
                        "system": "chaos_engine",
                        "bench": bench,
                        "unit": unit,
                        "ours": mine,
                        "peer": theirs,
                        "peer_name": "asyncio-streams proxy",
                        "ratio": None if ratio is None else round(ratio, 2),
                    }
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
