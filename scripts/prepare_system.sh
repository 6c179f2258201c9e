#!/usr/bin/env bash
# Install the Debian packages the tests use, as listed by each member in
# <member>/system-packages.txt (one package per line, '#' comments allowed).
# Runs apt-get only when something is missing and we are root; otherwise it
# says what is missing and the tests that need it skip with a reason.
# Nothing here or in the tests downloads anything else.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for list in */system-packages.txt; do
    [ -f "$list" ] || continue
    while read -r pkg _; do
        case "$pkg" in ""|\#*) continue ;; esac
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done < "$list"
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "prepare_system: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || echo "prepare_system: apt-get update failed; trying the cached lists" >&2
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        echo "prepare_system: could not install every package; tests that need them will skip" >&2
    fi
else
    echo "prepare_system: missing ${missing[*]} (not root); tests that need them will skip" >&2
fi
