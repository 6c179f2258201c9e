#!/usr/bin/env bash
# The end-to-end scenario: one synthetic day through the ten systems
# (generate on paf, detect and decide, attest, enforce, chaos, report).
#   scripts/scenario.sh                      # size day, output in ./scenario-out
#   scripts/scenario.sh --size small --out /tmp/s --seed 7
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
scripts/bootstrap.sh >/dev/null
exec uv run --frozen python scripts/scenario/run.py "$@"
