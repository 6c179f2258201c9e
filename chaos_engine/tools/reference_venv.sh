#!/usr/bin/env bash
# Make the virtual environment that holds the reference tools the tests compare against:
# Chaos Toolkit (the reference experiment runner) and the unmodified toxiproxy-python client.
# They live apart from the workspace venv so their pins never touch uv.lock.
# Usage: chaos_engine/tools/reference_venv.sh [VENV]   (default: ~/.cache/chaos_engine/reference-venv)
set -euo pipefail
venv="${1:-${CHAOS_ENGINE_REFERENCE_VENV:-$HOME/.cache/chaos_engine/reference-venv}}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import chaostoolkit, chaoslib, jsonpath2, toxiproxy" 2>/dev/null; then
    echo "reference venv ready: $venv"
    exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "chaostoolkit==1.19.0" "chaostoolkit-lib[jsonpath]==1.44.0" "toxiproxy-python==0.1.1"
echo "reference venv ready: $venv"
