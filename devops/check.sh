#!/usr/bin/env bash
# Lint and format (ruff), types (mypy) and the rooms' import contracts (lint-imports),
# all configured in pyproject.toml. Runs them all and fails if any finds anything.
set -uo pipefail
cd "$(dirname "$0")/.."
devops/setup.sh || exit 1
status=0
.venv/bin/ruff check . || status=1
.venv/bin/ruff format --check . || status=1
.venv/bin/mypy || status=1
.venv/bin/lint-imports --no-cache || status=1
exit "$status"
