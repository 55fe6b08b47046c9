"""devops/prometheus/alerts.yml: valid (``promtool check rules``), each rule firing on the series it should
(``promtool test rules`` on alerts_test.yml), and every metric it reads one that a running service serves."""

import asyncio
import re
import shutil
import subprocess
import unittest
from pathlib import Path

from tests.service.recorded import RecordedServiceTest

RULES = Path(__file__).resolve().parent.parent / "devops" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("promtool")
    if tool is None:
        raise AssertionError("promtool is missing: devops/prometheus.sh installs Debian's prometheus package")
    return subprocess.run([tool, *args], cwd=RULES, capture_output=True, text=True, timeout=60)


class PromtoolTest(unittest.TestCase):
    def test_the_rules_are_valid(self):
        done = promtool("check", "rules", "alerts.yml")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("SUCCESS: 10 rules found", done.stdout)

    def test_each_rule_fires_on_its_series(self):
        done = promtool("test", "rules", "alerts_test.yml")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        tested = set(re.findall(r"alertname: (\w+)", (RULES / "alerts_test.yml").read_text()))
        self.assertEqual(tested, set(re.findall(r"- alert: (\w+)", (RULES / "alerts.yml").read_text())))


class MetricsServedTest(RecordedServiceTest):
    settings_overrides = {"alerts": {"rules": [{"name": "ledger", "condition": "ledger_verify_failed"}]}}

    async def test_every_metric_the_rules_read_is_served(self):
        async with asyncio.timeout(10):  # the first scheduled verification runs at start
            while self.server.alerts.conditions.ledger is None:
                await asyncio.sleep(0.01)
        status, _, text = await self.call("GET", "/metrics")
        self.assertEqual(status, 200)
        served = set(re.findall(r"^# TYPE (\w+) ", text, re.MULTILINE))
        served |= {name + "_total" for name in served}  # a counter's samples are NAME_total
        read = set(re.findall(r"\b(xwrap_\w+)", (RULES / "alerts.yml").read_text()))
        self.assertEqual(len(read), 10)
        self.assertLessEqual(read, served)
        self.assertIn("xwrap_ledger_differences 0.0", text)  # the recorded service's empty ledger verifies
