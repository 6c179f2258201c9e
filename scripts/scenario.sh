#!/usr/bin/env bash
# The end-to-end scenario: one synthetic day through the ten systems
# (generate on paf, detect and decide, attest, enforce, chaos, report).
#   scripts/scenario.sh                      # size day; output in $TMPDIR/scenario
#   scripts/scenario.sh --size small --out ./s --seed 7
# Relative paths are taken from the directory it is called from.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/_env.sh"
"$root/scripts/bootstrap.sh" >/dev/null
exec uv run --frozen --project "$root" python "$root/scripts/scenario/run.py" "$@"
