"""One full metrics scrape of this machine: `lsck metrics --serve` vs prometheus-node-exporter.

Both servers run as their own processes on loopback with the same core
collector families (cpu, stat, meminfo, loadavg, diskstats, netdev, netstat,
sockstat, conntrack, filefd, pressure, hwmon, thermal_zone).  The client
scrapes each alternately; we report the median scrape latency and the server
CPU time per scrape (utime+stime from /proc/PID/stat, divided by scrapes).

    uv run python linux_scalable_cloud_kernel/benches/bench_scrape.py [--scrapes 200]

Needs Debian's prometheus-node-exporter (listed in system-packages.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

COLLECTORS = [
    "cpu", "stat", "meminfo", "loadavg", "diskstats", "netdev", "netstat",
    "sockstat", "conntrack", "filefd", "pressure", "hwmon", "thermal_zone",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"server exited early: {proc.args}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                resp.read()
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server did not come up: {url}")


def measure(url: str, pid: int, scrapes: int) -> tuple[float, float, int, set[str]]:
    latencies = []
    body = b""
    cpu_before = cpu_seconds(pid)
    for _ in range(scrapes):
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = resp.read()
        latencies.append(time.perf_counter() - start)
    cpu = (cpu_seconds(pid) - cpu_before) / scrapes
    families = {
        line.split()[2] for line in body.decode().splitlines() if line.startswith("# TYPE node_")
    }
    return statistics.median(latencies), cpu, len(body), families


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()
    exporter = shutil.which("prometheus-node-exporter")
    if exporter is None:
        raise SystemExit(
            "prometheus-node-exporter is not installed (apt-get install prometheus-node-exporter)"
        )
    ours_port, peer_port = free_port(), free_port()
    ours = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "linux_scalable_cloud_kernel",
            "metrics",
            "--serve",
            f"127.0.0.1:{ours_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peer = subprocess.Popen(
        [exporter, f"--web.listen-address=127.0.0.1:{peer_port}", "--collector.disable-defaults",
         *[f"--collector.{c}" for c in COLLECTORS]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        ours_url = f"http://127.0.0.1:{ours_port}/metrics"
        peer_url = f"http://127.0.0.1:{peer_port}/metrics"
        wait_ready(ours_url, ours)
        wait_ready(peer_url, peer)
        measure(ours_url, ours.pid, 10)  # warm up both
        measure(peer_url, peer.pid, 10)
        o_lat, o_cpu, o_size, o_fam = measure(ours_url, ours.pid, args.scrapes)
        p_lat, p_cpu, p_size, p_fam = measure(peer_url, peer.pid, args.scrapes)
    finally:
        for proc in (ours, peer):
            proc.terminate()
            proc.wait(timeout=10)
    shared = o_fam & p_fam
    rows = [
        {
            "bench": "full scrape latency",
            "unit": "ms (median)",
            "ours": o_lat * 1e3,
            "peer": p_lat * 1e3,
        },
        {"bench": "server CPU per scrape", "unit": "ms", "ours": o_cpu * 1e3, "peer": p_cpu * 1e3},
    ]
    for row in rows:
        row |= {"system": "linux_scalable_cloud_kernel", "peer_name": "prometheus-node-exporter",
                "ratio": round(row["peer"] / row["ours"], 3) if row["ours"] else None}  # fmt: skip
        print(json.dumps(row))
    print(json.dumps({"families_ours": len(o_fam), "families_peer": len(p_fam), "families_shared": len(shared),
                      "bytes_ours": o_size, "bytes_peer": p_size,
                      "peer_only_sample": sorted(p_fam - o_fam)[:15]}))  # fmt: skip


if __name__ == "__main__":
    main()
