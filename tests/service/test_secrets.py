"""No secret leaves xWrap: an exchange's API key, secret and passphrase, and the signatures made
with them, appear in no log line (at DEBUG, the libraries' own included), no answer and no row.

Each exchange's live flow runs against its loopback simulator as ``xwrap serve`` runs it, with every
logger at DEBUG from before the start (the stream's log-in is sent then): an order placed, one whose
answer is lost, one that fails with a 5xx, a fill, a cancel. Then everything logged, every
answer and the whole database are searched for the key, the secret, the passphrase, every signature
the simulator received (Luno's: its basic-auth ``Authorization`` header) and ``signature=``.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from decimal import Decimal as D
from typing import Any
from unittest import mock

from exchange_wrapper.exchanges.private import private_adapter_class
from tests.service import (
    test_live_bitfinex,
    test_live_bybit,
    test_live_coinbase,
    test_live_kraken,
    test_live_luno,
    test_live_okx,
    test_live_poloniex,
    test_live_trading,
)

#: Loggers of the test's own simulators (their websocket servers log what they receive).
SIMULATOR_LOGGERS = ("websockets.server",)
#: The length of a piece of a secret that counts as a leak.
PIECE = 12


class _Capture(logging.Handler):
    """Every record formatted as a log file would show it, tracebacks included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(SIMULATOR_LOGGERS):
            self.lines.append(self.format(record))


class SecretsCase:
    """Mixed into an exchange's live trading case (its hooks drive the flow)."""

    distinct_signatures = 4  # the REST calls' signatures and the stream's log-in's, at least

    async def asyncSetUp(self) -> None:
        root = logging.getLogger()
        self.logged = _Capture()
        root.addHandler(self.logged)
        self.addCleanup(root.removeHandler, self.logged)
        self.addCleanup(root.setLevel, root.level)
        root.setLevel(logging.DEBUG)
        self.secrets = {value for value in self.settings_overrides.values() if value}
        private = private_adapter_class(self.exchange)
        log_in = private.stream_subscribe

        def stream_subscribe(adapter: Any, now: float) -> list[str]:  # the stream's log-in: signature, token
            messages = log_in(adapter, now)
            for message in messages:
                self.secrets.update(_signed(json.loads(message)))
            return messages

        patched = mock.patch.object(private, "stream_subscribe", stream_subscribe)
        patched.start()
        self.addCleanup(patched.stop)
        await super().asyncSetUp()
        received = self.sim.calls.add

        def add(request: Any) -> None:  # every REST signature the exchange received
            self.secrets.update(_signed({**request.headers, **request.params}))
            received(request)

        self.sim.calls.add = add

    async def test_no_secret_is_logged_answered_or_stored(self) -> None:
        answers: list[Any] = []
        ws = await self.live_set()
        self.lose_next_placement()
        lost = await self.buy(ws, "1000", "lost")
        self.fail_next_placement()
        answers.append(await self.buy(ws, "1000", "failed"))
        await self.fill(lost, D(100))
        answers.append(await self.order_where(lost["id"], lambda o: len(o["fills"]) == 1))
        answers.append(await self.api.cancel_order(order_id=lost["id"]))
        answers.append(await self.api.get_orders(wallet_set_id=ws, status="recent"))
        answers.append(await self.api.get_exchanges())
        answers.append(await self.api.get_status())
        answers.append(self.server.metrics.render().decode())
        signatures = self.secrets - set(self.settings_overrides.values())
        self.assertGreaterEqual(len(signatures), self.distinct_signatures)
        database = self.settings.database_url.removeprefix("sqlite:///")
        places = {
            "the log": "\n".join(self.logged.lines),
            "the answers": json.dumps(answers, default=str),
            "the database": "\n".join(sqlite3.connect(database).iterdump()),
        }
        for place, text in places.items():
            with self.subTest(place=place):
                self.assertEqual(_leaks(self.secrets, text), [])


def _signed(fields: Any) -> set[str]:
    """The values of ``fields`` (a JSON object, nested) named as secrets are: signatures, keys, tokens."""
    found = set()
    if isinstance(fields, dict) and fields.get("op") == "auth":  # Bybit's log-in: [key, expires, signature]
        found |= {value for value in fields.get("args", ()) if isinstance(value, str) and len(value) >= 16}
    if isinstance(fields, dict):
        for name, value in fields.items():
            if (
                isinstance(value, str)
                and re.search("sig|key|token|passphrase|authorization", name, re.I)
                and len(value) >= 16
            ):
                found.add(value)
            else:
                found |= _signed(value)
    elif isinstance(fields, list):
        for value in fields:
            found |= _signed(value)
    return found


def _leaks(secrets: set[str], text: str) -> list[str]:
    """Where ``text`` holds ``signature=`` or a piece of a secret as long as :data:`PIECE` (a
    library's log may cut a message short: ``'{"event":"auth","apiKey":"Lw4vJ9nZKq2eTc7hUy3pR...``
    is a leak), each with the text around it."""
    pieces = {secret[i : i + PIECE] for secret in secrets for i in range(len(secret) - PIECE + 1)}
    found = [match.span() for match in re.finditer("signature=", text)]
    for match in re.finditer(rf"[A-Za-z0-9+/=_-]{{{PIECE},}}", text):
        word = match.group()
        if any(word[i : i + PIECE] in pieces for i in range(len(word) - PIECE + 1)):
            found.append(match.span())
    return [text[max(start - 150, 0) : end + 30] for start, end in sorted(found)]


class BinanceSecretsTest(SecretsCase, test_live_trading.BinanceLiveTradingTest):
    pass


class CoinbaseSecretsTest(SecretsCase, test_live_coinbase.CoinbaseLiveTradingTest):
    pass


class KrakenSecretsTest(SecretsCase, test_live_kraken.KrakenLiveTradingTest):
    pass


class BitfinexSecretsTest(SecretsCase, test_live_bitfinex.BitfinexLiveTradingTest):
    pass


class PoloniexSecretsTest(SecretsCase, test_live_poloniex.PoloniexLiveTradingTest):
    pass


class BybitSecretsTest(SecretsCase, test_live_bybit.BybitLiveTradingTest):
    pass


class OkxSecretsTest(SecretsCase, test_live_okx.OkxLiveTradingTest):
    pass


class LunoSecretsTest(SecretsCase, test_live_luno.LunoLiveTradingTest):
    distinct_signatures = 1  # HTTP basic authentication: one Authorization header, the same on every call


def load_tests(loader: Any, tests: Any, pattern: Any) -> Any:
    """Only this module's test, not the live behaviours the classes inherit (they run in their modules)."""
    import unittest

    suite = unittest.TestSuite()
    for case in (
        BinanceSecretsTest,
        CoinbaseSecretsTest,
        KrakenSecretsTest,
        BitfinexSecretsTest,
        PoloniexSecretsTest,
        BybitSecretsTest,
        OkxSecretsTest,
        LunoSecretsTest,
    ):
        suite.addTest(case("test_no_secret_is_logged_answered_or_stored"))
    return suite
