#!/usr/bin/env bash
# Formatting, lint and strict typing of every member's src/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_env.sh
uv run --frozen ruff format --check .
uv run --frozen ruff check .
uv run --frozen mypy --strict */src
uv run --frozen mypy --strict scripts/scenario
