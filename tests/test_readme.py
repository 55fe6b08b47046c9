"""The README and the docs as a newcomer reads them: the README's `serve --replay` command started for
real (on a free port and a fresh database) and its curl tour pasted into bash as written, at once and
again, without waiting for anything in between; the docs' commands, module map and settings true."""

import collections
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest
from dataclasses import fields
from decimal import Decimal

from exchange_wrapper.config import Settings

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
                [
                    sys.executable,
                    "-m",
                    "exchange_wrapper.cli",
                    "serve",
                    *arguments,
                    "--port",
                    str(port),
                    "--database-url",
                    f"sqlite:///{directory}/xwrap.sqlite",
                ],
                cwd=ROOT,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            try:
                pasted = tour.replace(ADDRESS, f"127.0.0.1:{port}")
                runs = [
                    subprocess.run(
                        ["bash", "-c", pasted],
                        capture_output=True,
                        text=True,
                        timeout=120,
                        cwd=directory,
                        env=environment,
                    )
                    for _ in range(2)
                ]
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
        self.assertEqual(
            (order["wallet_set_id"], order["pair"], order["status"], order["filled_size"]),
            (wallet_set, "SKL_USD", "filled", "100"),
            order,
        )
        self.assertEqual(
            (wallet["wallet_set_id"], wallet["currency"], Decimal(wallet["balance"])),
            (wallet_set, "USD", 1000 - Decimal(order["executed_value"]) - Decimal(order["fees"])),
        )
        return wallet_set


#: A command line that runs Python or xwrap from whatever is on PATH (environment assignments first).
BARE_COMMAND = re.compile(r"^\s*(?:[A-Z_]+=\S*\s+)*(python3?|xwrap|pip)\s", re.MULTILINE)


def package_map():
    """The modules docs/architecture.md's package layout lists, as paths under exchange_wrapper/."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("## Package layout", 1)[1].split("```", 2)[1]
    listed, folder = [], ""
    for line in block.splitlines():
        indent, words = len(line) - len(line.lstrip(" ")), line.split()
        if indent == 2 and words and words[0].endswith("/"):
            folder = words[0]
        elif indent in (2, 4):  # the names in the left column, before the description
            for word in words:
                if not word.endswith(".py"):
                    break
                listed.append((folder if indent == 4 else "") + word)
    return listed


class DocsTest(unittest.TestCase):
    def test_the_docs_commands_run_the_projects_programs(self):
        """Python, xwrap and pip are the project's virtual environment's (``.venv/bin/...``): a bare
        ``python`` lacks the project's packages on a fresh machine."""
        for path in sorted((ROOT / "docs").rglob("*.md")) + sorted((ROOT / "docs").rglob("*.py")):
            with self.subTest(path=path.name):
                self.assertEqual(BARE_COMMAND.findall(path.read_text(encoding="utf-8")), [])

    def test_the_architecture_lists_every_module_once(self):
        listed = package_map()
        modules = sorted(
            str(path.relative_to(ROOT / "exchange_wrapper"))
            for path in (ROOT / "exchange_wrapper").rglob("*.py")
            if path.name != "__init__.py"
        )
        self.assertEqual([name for name, count in collections.Counter(listed).items() if count > 1], [])
        self.assertEqual(sorted(listed), modules)

    def test_settings_nothing_reads_are_marked_not_yet_read(self):
        docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
        code = "\n".join(
            path.read_text(encoding="utf-8")
            for path in (ROOT / "exchange_wrapper").rglob("*.py")
            if path.name != "config.py"
        )
        for setting in fields(Settings):
            if f"## `{setting.name}`" in docs:
                read = re.search(rf"\.{setting.name}\b", code) is not None
                with self.subTest(setting=setting.name, read=read):
                    self.assertEqual(f"## `{setting.name}` (not yet read)" in docs, not read)


if __name__ == "__main__":
    unittest.main()
