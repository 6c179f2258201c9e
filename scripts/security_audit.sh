#!/usr/bin/env bash
# Licence check of every locked dependency against the architecture's lists,
# bandit on every src/, and pip-audit when its advisory data is reachable.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
status=0

echo "== licences (allow: MIT, Apache-2.0, BSD, ISC, PSF, MPL-2.0, Unlicense, CC0, Zlib; deny: GPL-3.0 for libraries)"
uv run --frozen python - <<'PY' || status=1
import json, subprocess, sys
raw = subprocess.run(
    [sys.executable, "-m", "piplicenses", "--format=json", "--with-system", "--from=mixed"],
    capture_output=True, text=True, check=True,
).stdout
ALLOW = ("MIT", "APACHE", "BSD", "ISC", "PSF", "PYTHON SOFTWARE FOUNDATION", "MPL", "MOZILLA PUBLIC LICENSE 2.0",
         "UNLICENSE", "CC0", "ZLIB", "HPND", "3-CLAUSE", "2-CLAUSE", "PUBLIC DOMAIN", "UPL")
DENY = ("GPL-3", "GPLV3", "AGPL", "GNU GENERAL PUBLIC LICENSE V3", "GNU AFFERO")
# Packages whose metadata lacks a licence string but whose licence we checked by hand.
REVIEWED = {
    "cel-python": "Apache-2.0 (LICENSE file in the sdist); comparison peer only",
    "owlrl": "W3C Software Notice and License (permissive); comparison peer only",
}
# Never a dependency of a shipped member: benchmark/comparison peers in the root
# dev group or a member's `compare` extra. Their licences do not reach users.
PEERS_ONLY = {
    "pymerkle": "GPL-3.0+: shared_core's Merkle benchmark peer (root dev group)",
    "copulas": "BUSL-1.1: pulled by sdmetrics in synthetic_pipeline_engine[compare]",
}
ours = {"shared_core", "shared-core"}
bad, unknown = [], []
for pkg in json.loads(raw):
    name, lic = pkg["Name"], pkg["License"]
    if name.replace("-", "_").lower() in {"shared_core", "chaos_engine", "contract_executable_compiler",
        "cross_domain_auto_learner", "dynamic_semantic_lattice_engine", "linux_scalable_cloud_kernel",
        "parallel_architecture_framework", "symbolic_reduction_modeler", "synthetic_pipeline_engine",
        "universal_attestation_authority", "cross_domain_autoblocker_ledger", "internal_tools_workspace"}:
        continue
    upper = lic.upper()
    if name in PEERS_ONLY:
        print(f"PEER    {name} ({lic}): {PEERS_ONLY[name]}")
        continue
    if any(d in upper for d in DENY) and not any(a in upper for a in ("LGPL", "OR MIT", "OR APACHE", "OR BSD")):
        bad.append(f"{name} ({lic})")
    elif not any(a in upper for a in ALLOW) and name not in REVIEWED:
        unknown.append(f"{name} ({lic})")
for line in bad:
    print(f"DENIED  {line}")
for line in unknown:
    print(f"REVIEW  {line}")
print(f"{len(bad)} denied, {len(unknown)} to review by hand")
sys.exit(1 if bad else 0)
PY

echo "== bandit on every src/"
uv run --frozen bandit -q -r */src -ll || status=1

echo "== pip-audit"
audit_out=$(mktemp)
if uv run --frozen pip-audit --progress-spinner off --skip-editable >"$audit_out" 2>&1; then
    audit_ok=1
else
    audit_ok=0
fi
unaudited=$(grep -c "could not be audited" "$audit_out" || true)
if grep -qiE "connection|resolve|network|timed out|HTTPError|Max retries" "$audit_out" || [ "$unaudited" -gt 0 ]; then
    echo "pip-audit: the advisory data is not reachable from this machine ($unaudited packages could not be looked up); not audited. Run it where PyPI's JSON API or OSV is reachable."
elif [ "$audit_ok" = 1 ]; then
    echo "pip-audit: no known vulnerabilities"
else
    cat "$audit_out"
    status=1
fi
exit "$status"
