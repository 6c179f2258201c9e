"""Ingest + detect throughput on one sshd log: ours vs Debian's ``fail2ban-regex``.

Both read the same generated log (default 200,000 lines) with the stock
sshd rules (fail2ban's ``filter.d/sshd.conf``, mode normal); both must
report the same number of matched (failure) lines.  Ours also runs the
built-in detection scenarios over every event.  CPU seconds are the fair
measure on a shared machine (wall seconds are printed too).

Run:  uv run python cross_domain_autoblocker_ledger/benches/bench_ingest.py [--lines N] [--runs R] [--peer-runs P]

Prints a JSON summary, then one compact JSON row per measurement (the
repository's bench contract, see scripts/bench_all.sh).  With no arguments
it runs in well under two minutes.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sshd_log import generate  # the generator sits beside this script

from cross_domain_autoblocker_ledger import DetectionEngine, default_scenarios, read_events

FILTER = Path("/etc/fail2ban/filter.d/sshd.conf")


def ours(log: Path) -> tuple[float, float, int, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    events, _ = read_events(log, "auth")
    engine = DetectionEngine(default_scenarios())
    matched = alerts = 0
    process = engine.process
    for event in events:
        if event.failure:
            matched += 1
        found = process(event)
        if found:
            alerts += len(found)
    alerts += len(engine.flush())
    return time.perf_counter() - wall, time.process_time() - cpu, matched, alerts


def peer(log: Path) -> tuple[float, float, int] | None:
    exe = shutil.which("fail2ban-regex")
    if exe is None:
        print("fail2ban-regex not found (apt-get install fail2ban): peer skipped", file=sys.stderr)
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    proc = subprocess.run([exe, str(log), str(FILTER)], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    m = re.search(r"Lines: (\d+) lines, (\d+) ignored, (\d+) matched", proc.stdout)
    if m is None:
        raise SystemExit("could not read fail2ban-regex's summary:\n" + proc.stdout[-2000:])
    return wall, cpu, int(m.group(3))


def row(bench: str, unit: str, ours: float, peer: float | None) -> str:
    """One line of the repository's bench contract (scripts/bench_all.sh); ratio > 1: ours better."""
    return json.dumps(
        {
            "system": "cross_domain_autoblocker_ledger",
            "bench": bench,
            "unit": unit,
            "ours": round(ours),
            "peer": None if peer is None else round(peer),
            "peer_name": "fail2ban-regex (parse only)",
            "ratio": None if not peer else round(ours / peer, 2),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peer-runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = generate(Path(tmp) / "auth.log", args.lines)
        our_runs = [ours(log) for _ in range(args.runs)]
        peer_runs = [r for _ in range(args.peer_runs) if (r := peer(log)) is not None]
    our_cpu = statistics.median(r[1] for r in our_runs)
    our_wall = statistics.median(r[0] for r in our_runs)
    result: dict[str, object] = {
        "lines": args.lines,
        "ours": {
            "cpu_s": round(our_cpu, 3),
            "wall_s": round(our_wall, 3),
            "lines_per_cpu_s": round(args.lines / our_cpu),
            "lines_per_wall_s": round(args.lines / our_wall),
            "matched": our_runs[0][2],
            "alerts": our_runs[0][3],
            "runs": args.runs,
        },
    }
    peer_cpu = peer_wall = None
    if peer_runs:
        peer_cpu = statistics.median(r[1] for r in peer_runs)
        peer_wall = statistics.median(r[0] for r in peer_runs)
        result["fail2ban_regex"] = {
            "cpu_s": round(peer_cpu, 3),
            "wall_s": round(peer_wall, 3),
            "lines_per_cpu_s": round(args.lines / peer_cpu),
            "lines_per_wall_s": round(args.lines / peer_wall),
            "matched": peer_runs[0][2],
            "runs": args.peer_runs,
        }
        result["speedup_cpu"] = round(peer_cpu / our_cpu, 1)
        result["same_matched_count"] = our_runs[0][2] == peer_runs[0][2]
    # The summary first (indented, for people), then one compact row per
    # measurement for scripts/bench_all.sh.
    print(json.dumps(result, indent=2))
    label = f"sshd log {args.lines // 1000}k lines: parse+detect (peer parse only)"
    print(
        row(
            label,
            "lines per CPU-second",
            args.lines / our_cpu,
            None if peer_cpu is None else args.lines / peer_cpu,
        )
    )
    print(
        row(
            label,
            "lines per wall-second",
            args.lines / our_wall,
            None if peer_wall is None else args.lines / peer_wall,
        )
    )


if __name__ == "__main__":
    main()
