#!/usr/bin/env bash
# A short tour that exercises shared_core for real
# (sign, log, prove and verify an entry; a signed, witnessed checkpoint) and
# then asks every system's CLI who it is and what it is configured with.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
scripts/bootstrap.sh >/dev/null
echo "== shared_core tour: keys, DSSE, Merkle log, proofs, signed checkpoint, witness"
uv run --frozen shared_core tour
members=$(sed -n '/^\[tool.uv.workspace\]/,/^\]/p' pyproject.toml | grep -oE '"[a-z_]+"' | tr -d '"' | grep -v '^shared_core$')
echo
echo "== every system's CLI"
for member in $members; do
    printf '%-36s %s\n' "$member" "$(uv run --frozen "$member" --version)"
done
