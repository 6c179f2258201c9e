#!/usr/bin/env bash
# Run every member's benchmarks and write one Markdown table of ours vs peers.
# The contract for a bench that wants a row in the table: print one JSON object
# per measurement on its own line, with "system", "bench", "unit", "ours",
# "peer", "peer_name" and "ratio"; it must run with no arguments.  Benches
# that print only prose keep their figures in <system>/docs/BENCHMARKS.md.
# The table goes to BENCHMARKS.md (or $1).  BENCH_GLOB narrows the run,
# e.g. BENCH_GLOB='shared_core/benches/bench_*.py'.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
out="${1:-BENCHMARKS.md}"
results=$(mktemp)
for bench in ${BENCH_GLOB:-*/benches/bench_*.py}; do
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
def fmt(v):
    return "-" if v is None else (f"{v:,.1f}" if isinstance(v, (int, float)) else str(v))
with open(sys.argv[2], "w") as out:
    out.write(f"# Benchmarks: ours vs peers\n\nOne run of `scripts/bench_all.sh` on {datetime.date.today()}; "
              "noisy 2-core machine: the ratios count, not the absolute numbers.\n\n")
    out.write("| system | benchmark | unit | ours | peer | peer median | ours vs peer |\n|---|---|---|---|---|---|---|\n")
    for r in rows:
        out.write(f"| {r.get('system','?')} | {r.get('bench')} | {r.get('unit')} | {fmt(r.get('ours'))} | "
                  f"{r.get('peer_name','-')} | {fmt(r.get('peer'))} | {r.get('ratio','-')} |\n")
print(f"wrote {sys.argv[2]} with {len(rows)} rows")
PY
