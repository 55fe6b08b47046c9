#!/usr/bin/env bash
# Debian's prometheus package, if missing: tests/test_deploy.py checks the shipped Prometheus configuration
# with its `promtool check` and runs its `prometheus` on that configuration (on a free loopback port, with a
# temporary data directory) against a service of its own; tests/test_devops_prometheus.py checks and unit-tests
# the alerting rules of devops/prometheus/alerts.yml with `promtool`. The tests never use the package's system
# service.
set -uo pipefail
if ! command -v promtool >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } \
      || echo "could not install prometheus: the Prometheus configuration tests will fail" >&2
  else
    echo "promtool is missing (install Debian's prometheus): the Prometheus configuration tests will fail" >&2
  fi
fi
