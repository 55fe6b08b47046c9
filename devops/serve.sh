#!/usr/bin/env bash
# Install if needed, then run xWrap on its embedded defaults (SQLite file under data/, paper trading).
# Extra arguments go to `xwrap serve` (e.g. --port 9000, --config settings.json).
set -euo pipefail
cd "$(dirname "$0")/.."
devops/setup.sh
mkdir -p data
exec .venv/bin/xwrap serve "$@"
