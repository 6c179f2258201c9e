# Sourced by the scripts: the environment every one of them shares.
export UV_PYTHON_DOWNLOADS=never
export PYTHONHASHSEED="${PYTHONHASHSEED:-0}"
if ! command -v uv >/dev/null 2>&1; then
    PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$HOME/.local/bin:$PATH"
    export PATH
fi
