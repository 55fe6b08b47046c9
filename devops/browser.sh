#!/usr/bin/env bash
# Debian's chromium for the dashboard's browser test (tests/test_dashboard.py), if it is missing.
set -uo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || echo "could not install chromium: the dashboard test will fail" >&2
  else
    echo "chromium is missing (install Debian's chromium): the dashboard test will fail" >&2
  fi
fi
