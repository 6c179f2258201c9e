#!/usr/bin/env bash
# Run every member's benchmarks and write one Markdown table of ours vs peers.
# The contract for a bench that wants a row in the table: print one JSON object
# per measurement on its own line, with "system", "bench", "unit", "ours",
# "peer", "peer_name" and "ratio"; it must run with no arguments.  Benches
# that print only prose keep their figures in <system>/docs/BENCHMARKS.md.
# The table goes to BENCHMARKS.md (or $1).  By default it runs each member's
# headline bench (HEADLINE below); BENCH_GLOB picks others, e.g.
# BENCH_GLOB='*/benches/bench_*.py' for every bench or
# BENCH_GLOB='shared_core/benches/bench_*.py' for one member's.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
out="${1:-BENCHMARKS.md}"
results=$(mktemp)
HEADLINE="shared_core/benches/bench_merkle.py
chaos_engine/benches/bench_proxy.py
contract_executable_compiler/benches/bench_cel_eval.py
cross_domain_auto_learner/benches/bench_river.py
cross_domain_autoblocker_ledger/benches/bench_ingest.py
dynamic_semantic_lattice_engine/benches/bench_closure.py
linux_scalable_cloud_kernel/benches/bench_scrape.py
parallel_architecture_framework/benches/bench_throughput.py
symbolic_reduction_modeler/benches/bench_algebra.py
synthetic_pipeline_engine/benches/bench_generate.py
universal_attestation_authority/benches/bench_uaa.py"
for bench in ${BENCH_GLOB:-$HEADLINE}; do
    [ -f "$bench" ] || continue
    echo "running $bench" >&2
    log=$(mktemp)
    if ! uv run --frozen python "$bench" > "$log" 2>&1; then
        echo "  $bench failed: $(tail -1 "$log")" >&2
    elif ! grep '^{' "$log" >> "$results"; then
        echo "  $bench printed no JSON rows (its figures are in its docs/BENCHMARKS.md)" >&2
    fi
    rm -f "$log"
done
uv run --frozen python - "$results" "$out" <<'PY'
import json, sys, datetime
rows = []
for line in open(sys.argv[1]):
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        continue
    if isinstance(row, dict) and "bench" in row and "ours" in row:
        rows.append(row)
def ratio(v):
    return f"{v:.2f}x" if isinstance(v, (int, float)) else (v or "-")
def fmt(v):
    if v is None:
        return "-"
    if not isinstance(v, (int, float)):
        return str(v)
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3g}"
import os, platform
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
machine = (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.platform()}, "
           f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.1f} at the end")
with open(sys.argv[2], "w") as out:
    out.write(f"# Benchmarks: ours vs peers\n\nOne run of `scripts/bench_all.sh` on {datetime.date.today()} "
              f"on {machine}. A shared machine is noisy: the ratios count, not the absolute numbers. "
              "The ratio is how many times better ours is (higher throughput or lower time).\n\n")
    out.write("| system | benchmark | unit | ours | peer | peer median | ours vs peer |\n|---|---|---|---|---|---|---|\n")
    for r in rows:
        out.write(f"| {r.get('system','?')} | {r.get('bench')} | {r.get('unit')} | {fmt(r.get('ours'))} | "
                  f"{r.get('peer_name') or '-'} | {fmt(r.get('peer'))} | {ratio(r.get('ratio'))} |\n")
    out.write("\nCommand: `./scripts/bench_all.sh` (each system's headline bench; "
              "`BENCH_GLOB='*/benches/bench_*.py'` runs them all). Every system's own "
              "`docs/BENCHMARKS.md` has its full figures, each with the command that produced it.\n")
print(f"wrote {sys.argv[2]} with {len(rows)} rows")
PY
