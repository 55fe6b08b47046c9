#!/usr/bin/env bash
# Install if needed (Python packages; Debian's chromium for the browser test, influxdb for the InfluxDB
# history tests, prometheus for the promtool that checks the deployment's Prometheus files), run the checks
# (ruff, mypy, the import contracts: devops/check.sh), start the local databases if they are down, run the
# whole test suite.
# Extra arguments go to nose2 (e.g. tests.core.test_precision).
set -euo pipefail
cd "$(dirname "$0")/.."
devops/setup.sh
devops/check.sh
devops/services.sh
devops/browser.sh
devops/influxdb.sh
devops/prometheus.sh
exec .venv/bin/python -m nose2 --verbose --start-dir . "$@"
