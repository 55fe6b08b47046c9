"""The xwrap command as a user runs it: a real process, a real port, a real database file."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from decimal import Decimal as D
from pathlib import Path

from exchange_wrapper.core.orders import Order, OrderType, Side
from exchange_wrapper.exchanges import EXCHANGE_NAMES
from exchange_wrapper.storage.database import close_database, open_database
from exchange_wrapper.storage.orders import OrderStore
from exchange_wrapper.storage.wallets import WalletStore

ROOT = Path(__file__).resolve().parent.parent


def xwrap(*args, env=None, timeout=60):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("XWRAP_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "exchange_wrapper.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        cwd=ROOT,
    )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HelpTest(unittest.TestCase):
    def test_every_command_answers_help(self):
        for command in ([], ["serve"], ["ledger"], ["ledger", "verify"], ["config"], ["config", "show"]):
            result = xwrap(*command, "--help")
            self.assertEqual(result.returncode, 0, command)
            self.assertIn("usage: xwrap", result.stdout)
        serve = xwrap("serve", "--help").stdout
        for option in ("--config", "--host", "--port", "--database-url"):
            self.assertIn(option, serve)


class ConfigErrorTest(unittest.TestCase):
    def test_a_bad_setting_stops_with_one_line_naming_the_key(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            handle.write('{"server": {"port": "eighty"}}')
        try:
            result = xwrap("serve", "--config", handle.name)
        finally:
            os.unlink(handle.name)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr, "xwrap: setting server.port: expected an integer, got 'eighty'\n")

    def test_missing_live_secret_from_the_environment(self):
        result = xwrap("serve", env={"XWRAP_KRAKEN_MODE": "live", "XWRAP_KRAKEN_API_KEY": "key"})
        self.assertEqual(result.returncode, 2)
        self.assertIn("exchanges.kraken.api_secret", result.stderr)
        self.assertEqual(result.stderr.count("\n"), 1)

    def test_config_show_hides_secrets(self):
        result = xwrap("config", "show", env={"XWRAP_BINANCE_API_SECRET": "very-secret-value"})
        self.assertEqual(result.returncode, 0)
        shown = json.loads(result.stdout)
        self.assertEqual(shown["exchanges"]["binance"]["api_secret"], "***")
        self.assertNotIn("very-secret-value", result.stdout)

    def test_config_show_hides_the_database_password(self):
        result = xwrap("config", "show", "--database-url", "postgresql://xw:pg-s3cret@127.0.0.1:5432/xwrap")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout)["database_url"], "postgresql://xw:***@127.0.0.1:5432/xwrap")
        self.assertNotIn("pg-s3cret", result.stdout + result.stderr)


class BadArgumentsTest(unittest.TestCase):
    """A mistake on the command line ends in one line naming it and exit status 2, no traceback."""

    def assertRefused(self, result, *expected):
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
        self.assertTrue(result.stderr.startswith("xwrap: "), result.stderr)
        for text in expected:
            self.assertIn(text, result.stderr)

    def test_ledger_verify_of_a_missing_database_creates_none(self):
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{directory}/typo/x.sqlite"
            self.assertRefused(
                xwrap("ledger", "verify", "--database-url", url), "database_url", "an existing database file", url
            )
            self.assertEqual(os.listdir(directory), [])

    def test_a_capture_file_that_cannot_be_read_or_holds_no_metadata(self):
        with tempfile.TemporaryDirectory() as directory:
            binary = Path(directory, "COINBASE.ws.1.0")
            binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00")
            database = ("--database-url", f"sqlite:///{directory}/xwrap.sqlite")
            for command, expected in (
                (
                    ("serve", "--replay", "nope.0", *database),
                    "capture file nope.0: expected a file that can be read, got 'No such file or directory'",
                ),
                (("serve", "--replay", directory, *database), "Is a directory"),
                (("replay", "--exchange", "coinbase", "nope.0"), "capture file nope.0"),
                (("replay", "--exchange", "coinbase", str(binary)), "expected UTF-8 text"),
                (
                    ("replay", "--exchange", "binance", "tests/captures/COINBASE.0"),
                    "binance market metadata (GET /api/v3/exchangeInfo) in 'tests/captures/COINBASE.0' not found",
                ),
            ):
                with self.subTest(command=command):
                    self.assertRefused(xwrap(*command, timeout=30), expected)

    def test_speed_without_replay(self):
        with tempfile.TemporaryDirectory() as directory:
            database = ("--database-url", f"sqlite:///{directory}/xwrap.sqlite")
            offline = {f"XWRAP_{name.upper()}_ENABLED": "false" for name in EXCHANGE_NAMES}  # should it start
            self.assertRefused(
                xwrap("serve", "--speed", "2", "--port", "0", *database, env=offline, timeout=10), "--speed", "--replay"
            )
            self.assertRefused(
                xwrap("serve", "--replay", "tests/captures/COINBASE.0", "--speed", "nan", *database, timeout=30),
                "--speed",
                "above 0",
            )


class ServeTest(unittest.TestCase):
    def test_serve_on_the_defaults_answers_status_and_ledger_verifies(self):
        with tempfile.TemporaryDirectory() as directory:
            database = f"sqlite:///{directory}/xwrap.sqlite"
            port = free_port()
            nowhere = {
                f"XWRAP_{name.upper()}_{key.upper()}": f"{scheme}://127.0.0.1:9"
                for name in EXCHANGE_NAMES
                for key, scheme in (("rest_url", "http"), ("ws_url", "ws"))
            }  # nothing leaves the machine
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "exchange_wrapper.cli",
                    "serve",
                    "--port",
                    str(port),
                    "--database-url",
                    database,
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, **nowhere},
            )
            try:
                body = None
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and body is None:
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}/xwrap/v1/status", timeout=2) as r:
                            body = json.loads(r.read())
                    except OSError:
                        time.sleep(0.2)
                self.assertIsNotNone(body, "xwrap serve did not answer")
                self.assertEqual(body["database"]["kind"], "sqlite")
            finally:
                process.terminate()
                output = process.communicate(timeout=30)[0]
            self.assertEqual(process.returncode, 0, output)
            self.assertTrue(Path(directory, "xwrap.sqlite").exists())
            verify = xwrap("ledger", "verify", "--database-url", database)
            self.assertEqual(verify.returncode, 0, verify.stderr)
            self.assertTrue(json.loads(verify.stdout)["ok"])


class LedgerVerifyTest(unittest.TestCase):
    """``xwrap ledger verify`` on a database whose limit buys hold 1.5 % above their price (the
    order store lets any hold be placed; a fee of 1.5 % is more than the default bound of 1 %)."""

    def test_over_held_orders_fail_unless_the_settings_have_such_a_fee(self):
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{directory}/xwrap.sqlite"
            database = open_database(url)
            try:
                wallets = WalletStore(database)
                ws = wallets.create_wallet_set("paper", "paper").id
                wallets.move_funds("fund", ws, "coinbase", "USD", D("10000"))
                for number in range(60):
                    order = Order(
                        id="",
                        client_order_id=f"c{number}",
                        wallet_set_id=ws,
                        exchange="coinbase",
                        pair="SKL_USD",
                        side=Side.BUY,
                        type=OrderType.LIMIT,
                        size=D("100"),
                        price=D("0.5"),
                    )
                    OrderStore(database, wallets).create(order, ("USD", D("50.75")), "paper")
            finally:
                close_database(database)
            verify = xwrap("ledger", "verify", "--database-url", url)
            self.assertEqual(verify.returncode, 1, verify.stderr)
            self.assertIn("order_hold", verify.stderr)
            report = json.loads(verify.stdout)
            self.assertEqual(
                (False, 50, 10), (report["ok"], len(report["differences"]), report["differences_left_off"])
            )
            self.assertEqual(
                {
                    "check": "order_hold",
                    "expected": "50.5",
                    "found": "50.75",
                    "subject": {"order": "1", "wallet_set": ws, "currency": "USD", "bound": "maximum"},
                },
                report["differences"][0],
            )
            settings = Path(directory, "settings.json")
            settings.write_text(json.dumps({"exchanges": {"kraken": {"fees": {"taker": "0.015"}}}}))
            verify = xwrap("ledger", "verify", "--database-url", url, "--config", str(settings))
            self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
            self.assertTrue(json.loads(verify.stdout)["ok"])
