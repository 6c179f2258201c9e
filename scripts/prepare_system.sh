#!/usr/bin/env bash
# Install the operating-system packages the tests use (Debian), when root and
# when they are missing.  Each system adds its packages to the list below.
# Nothing here downloads at test time: tests only use what this installed.
set -euo pipefail
packages=()
need() { dpkg -s "$1" >/dev/null 2>&1 || packages+=("$1"); }
# (system packages are added here as systems need them)
if [ "${#packages[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "prepare_system: installing ${packages[*]}"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    else
        echo "prepare_system: missing ${packages[*]}; tests that need them will skip" >&2
    fi
fi
