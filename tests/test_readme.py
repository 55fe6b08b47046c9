"""The README's first steps as a newcomer takes them: its `serve --replay` command started for real
(on a free port and a fresh database), and its curl tour pasted into bash as written, at once and
again, without waiting for anything in between."""
import json
import os
import shlex
import subprocess
import sys
import tempfile
import unittest
from decimal import Decimal
from pathlib import Path

from .test_cli import ROOT, free_port

README = ROOT / "README.md"
SERVE = "./devops/serve.sh --replay"
ADDRESS = "127.0.0.1:8350"


def code_blocks(text):
    """The README's indented code blocks, each as its text with the indent taken off."""
    blocks, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("    "):
            current.append(line[4:])
        elif current:
            blocks.append("\n".join(current))
            current = []
    return blocks


def first_steps():
    """(the arguments of the README's `serve --replay` command, the tour that follows it)."""
    blocks = code_blocks(README.read_text(encoding="utf-8"))
    serve = next(i for i, block in enumerate(blocks) if block.startswith(SERVE))
    return shlex.split(blocks[serve])[1:], blocks[serve + 1]


class ReadmeTourTest(unittest.TestCase):
    def test_the_tour_works_pasted_as_written_at_once_and_again(self):
        arguments, tour = first_steps()
        self.assertIn(ADDRESS, tour)
        port = free_port()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("XWRAP_")}
        with tempfile.TemporaryDirectory() as directory:
            process = subprocess.Popen(
                [sys.executable, "-m", "exchange_wrapper.cli", "serve", *arguments, "--port", str(port),
                 "--database-url", f"sqlite:///{directory}/xwrap.sqlite"],
                cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                pasted = tour.replace(ADDRESS, f"127.0.0.1:{port}")
                runs = [subprocess.run(["bash", "-c", pasted], capture_output=True, text=True, timeout=120,
                                       cwd=directory, env=environment) for _ in range(2)]
            finally:
                process.terminate()
                log = process.communicate(timeout=30)[0]
        sets = [self.check_run(run, log) for run in runs]
        self.assertNotEqual(sets[0], sets[1], "the second run acted on the first run's wallet set")

    def check_run(self, run, log):
        """The run's answers: the service ready, a wallet set given 1000 USD that bought 100 SKL with
        them; the set's id."""
        self.assertEqual((run.returncode, run.stderr), (0, ""), f"{run.stdout}\nservice log:\n{log}")
        answers = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
        self.assertEqual([answer for answer in answers if "error" in answer], [], f"{run.stdout}\nlog:\n{log}")
        status, funded, order, wallet = (answer for answer in answers if "mode" not in answer)  # a set's creation
        self.assertEqual(status["exchanges"]["coinbase"]["status"], "ready", status)
        wallet_set = funded["wallet"]["wallet_set_id"]
        self.assertEqual(funded["wallet"]["balance"], "1000")
        self.assertEqual((order["wallet_set_id"], order["pair"], order["status"], order["filled_size"]),
                         (wallet_set, "SKL_USD", "filled", "100"), order)
        self.assertEqual((wallet["wallet_set_id"], wallet["currency"], Decimal(wallet["balance"])),
                         (wallet_set, "USD", 1000 - Decimal(order["executed_value"]) - Decimal(order["fees"])))
        return wallet_set


if __name__ == "__main__":
    unittest.main()
