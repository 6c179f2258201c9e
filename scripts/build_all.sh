#!/usr/bin/env bash
# Build every member's wheel without workspace sources, then install each
# wheel ALONE (plus shared_core for the systems) in a fresh venv with pip and
# check that its CLI answers --version and that it imports.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
dist="${DIST_DIR:-dist}"
rm -rf "$dist"
uv build --all-packages --no-sources --out-dir "$dist" --quiet
members=(shared_core $(sed -n '/^\[tool.uv.workspace\]/,/^\]/p' pyproject.toml | grep -oE '"[a-z_]+"' | tr -d '"' | grep -v '^shared_core$'))
wheels=$(ls "$dist"/*.whl | wc -l)
echo "built $wheels wheels for ${#members[@]} members"
[ "$wheels" -eq "${#members[@]}" ] || { echo "expected ${#members[@]} wheels" >&2; exit 1; }
core_wheel=$(ls "$dist"/shared_core-*.whl)
failed=0
for member in "${members[@]}"; do
    venv=$(mktemp -d)
    python3 -m venv "$venv"
    wheel=$(ls "$dist"/${member}-*.whl)
    if [ "$member" = shared_core ]; then
        to_install=("$wheel")
    else
        to_install=("$core_wheel" "$wheel")
    fi
    if "$venv/bin/pip" install --quiet --disable-pip-version-check "${to_install[@]}" \
        && "$venv/bin/python" -c "import $member" \
        && version=$("$venv/bin/$member" --version); then
        echo "ok   $member: $version (installed alone from its wheel)"
    else
        echo "FAIL $member" >&2
        failed=1
    fi
    rm -rf "$venv"
done
exit "$failed"
