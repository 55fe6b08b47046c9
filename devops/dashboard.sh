#!/usr/bin/env bash
# Idempotent: the dashboard's browser libraries (dashboard/package.json, pinned by its lockfile) installed
# into dashboard/node_modules with npm, again only when the lockfile changed. Without Node.js and npm it
# says so in one line and goes on: the API serves without the dashboard's libraries.
set -euo pipefail
cd "$(dirname "$0")/../dashboard"
if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: the dashboard's libraries are not installed (install Node.js and npm, then run devops/setup.sh again)"
  exit 0
fi
stamp=node_modules/.xwrap-installed
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --omit=dev --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
