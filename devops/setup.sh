#!/usr/bin/env bash
# Idempotent set-up: a virtual environment in .venv with xWrap and its test tools installed, and the
# dashboard's browser libraries (devops/dashboard.sh).
# Re-installs only when pyproject.toml changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.xwrap-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[test,check]"
  echo "$want" > "$stamp"
fi
devops/dashboard.sh
