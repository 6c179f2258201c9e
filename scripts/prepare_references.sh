#!/usr/bin/env bash
# Make the reference tools that some comparison tests run against and that must
# not share the workspace's lock (e.g. Chaos Toolkit's own runner, in its own
# venv): every member may ship tools/reference_venv.sh, which installs them by
# name from PyPI and is a no-op when they are already there.  A failure is
# reported, not fatal: the tests that need the tool then skip with a reason.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in */tools/reference_venv.sh; do
    [ -f "$script" ] || continue
    if ! bash "$script" >/dev/null; then
        echo "prepare_references: $script failed; the tests that compare against it will skip" >&2
    fi
done
