#!/usr/bin/env bash
# Debian's prometheus package for promtool, which checks and unit-tests the alerting rules of
# devops/prometheus/alerts.yml (tests/test_devops_prometheus.py), if promtool is missing. The tests use
# promtool alone, never the package's Prometheus server.
set -uo pipefail
if ! command -v promtool >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } \
      || echo "could not install prometheus: the Prometheus rules tests will fail" >&2
  else
    echo "promtool is missing (install Debian's prometheus): the Prometheus rules tests will fail" >&2
  fi
fi
