#!/usr/bin/env bash
# Set up the workspace on a fresh machine with only Python 3.11 and pip:
# install uv when missing, then every member and the dev tools from uv.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check uv
fi
if ! command -v uv >/dev/null 2>&1; then
    # pip installed uv for a user or a pyenv shim directory not on PATH yet
    PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$HOME/.local/bin:$PATH"
    export PATH
fi
uv sync --all-packages --frozen --python "$(command -v python3)"
