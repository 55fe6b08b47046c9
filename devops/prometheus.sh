#!/usr/bin/env bash
# Debian's prometheus package for its promtool, if missing: tests/test_deploy.py checks the shipped Prometheus
# configuration and alert rules (devops/prometheus/) with `promtool check`. Nothing runs the package's service
# for the tests (Debian may start it as a system service; the tests never talk to it).
set -uo pipefail
if ! command -v promtool >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } \
      || echo "could not install prometheus: the Prometheus configuration tests will fail" >&2
  else
    echo "promtool is missing (install Debian's prometheus): the Prometheus configuration tests will fail" >&2
  fi
fi
