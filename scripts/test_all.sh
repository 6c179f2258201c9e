#!/usr/bin/env bash
# Set everything up and run every test of every member.  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
scripts/bootstrap.sh
scripts/prepare_system.sh
scripts/prepare_references.sh
uv run --frozen pytest -q --durations=15 "$@"
