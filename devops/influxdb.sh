#!/usr/bin/env bash
# Debian's influxdb package (an InfluxDB 1.x server) for the InfluxDB history sink's tests
# (tests/history/test_influx.py), if influxd is missing. The tests start their own influxd on free loopback
# ports with a temporary configuration and data directory, and never use the package's system service.
set -uo pipefail
if ! command -v influxd >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq influxdb >/dev/null; } \
      || echo "could not install influxdb: the InfluxDB history tests will fail" >&2
  else
    echo "influxd is missing (install Debian's influxdb): the InfluxDB history tests will fail" >&2
  fi
fi
