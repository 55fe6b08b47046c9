"""The operations over the REST door of a real service: which error kind each outage or mistake gets
(retry later, or do not retry), on the Coinbase simulator and on the recorded Coinbase traffic."""

import asyncio
import tempfile
import unittest

from exchange_wrapper.config import load_settings
from exchange_wrapper.core.pacing import Backoff
from exchange_wrapper.exchanges import EXCHANGE_NAMES
from exchange_wrapper.service.server import Server
from tests.simulator.coinbase import coinbase_protocol
from tests.simulator.server import ExchangeSimulator

from .recorded import RecordedServiceTest, http

V1 = "/xwrap/v1"
ORDER = {"exchange": "coinbase", "side": "buy", "price": "0.05", "size": "100"}


class ErrorAnswers:
    """assertError for the tests below: one error answer, its status, kind and some details."""

    def assertError(self, answer, status, kind, message=None, **details):
        code, _, body = answer
        error = body.get("error") if isinstance(body, dict) else None
        self.assertEqual((code, error and error["kind"]), (status, kind), body)
        self.assertEqual({key: body["error"]["details"].get(key) for key in details}, details, body)
        if message is not None:
            self.assertIn(message, body["error"]["message"])


class MarketsNotLoadedTest(ErrorAnswers, unittest.IsolatedAsyncioTestCase):
    """Coinbase's product list cannot be loaded at first (the simulator answers 503): until it is,
    every operation naming a pair answers exchange_unavailable (retry later), never unknown_pair."""

    async def asyncSetUp(self):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.sim = await ExchangeSimulator(coinbase_protocol()).__aenter__()
        self.addAsyncCleanup(self.sim.__aexit__, None, None, None)
        self.sim.fail_rest(503, times=1000)
        self.settings = load_settings(
            None,
            env={},
            overrides={
                "database_url": f"sqlite:///{directory.name}/xwrap.sqlite",
                "server.port": 0,
                "exchanges.coinbase.rest_url": self.sim.http_url,
                "exchanges.coinbase.ws_url": self.sim.ws_url,
                "exchanges.coinbase.pairs": ["SKL_USD"],
                **{f"exchanges.{name}.enabled": False for name in EXCHANGE_NAMES if name != "coinbase"},
            },
        )
        self.server = Server(self.settings, feed_options={"backoff": Backoff(0.01, 0.05)})
        await self.server.start()
        self.addAsyncCleanup(self.server.stop)
        self.base = f"http://127.0.0.1:{self.server.port}"

    async def call(self, method, path, body=None):
        return await asyncio.to_thread(http, self.base + path, method, body)

    async def until(self, condition):
        async with asyncio.timeout(5):
            while not condition():
                await asyncio.sleep(0.01)

    async def test_unknown_pair_only_once_the_markets_are_loaded(self):
        await self.until(lambda: len(self.sim.rest_calls) >= 2)  # refused twice: the feed retries
        ws = (await self.call("POST", f"{V1}/wallet_sets", {"name": "paper"}))[2]["id"]
        naming_a_pair = [
            ("GET", f"{V1}/book?exchange=coinbase&pair={{pair}}", None),
            ("GET", f"{V1}/trades?exchange=coinbase&pair={{pair}}", None),
            ("GET", f"{V1}/markets?exchange=coinbase&pair={{pair}}", None),
            ("POST", f"{V1}/orders", {**ORDER, "wallet_set_id": ws, "pair": "{pair}"}),
        ]
        for pair in ("SKL_USD", "SKL_JPY"):  # listed, and not listed: nobody can tell yet
            for method, path, body in naming_a_pair:
                with self.subTest(path=path, pair=pair, loaded=False):
                    answer = await self.call(method, path.format(pair=pair), body and {**body, "pair": pair})
                    self.assertError(
                        answer, 503, "exchange_unavailable", "its markets are not loaded yet", exchange="coinbase"
                    )
        for path in (f"{V1}/markets?exchange=coinbase", f"{V1}/pricing?exchange=coinbase"):
            self.assertError(
                await self.call("GET", path), 503, "exchange_unavailable", "its markets are not loaded yet"
            )
        self.assertError(
            await self.call(
                "POST", f"{V1}/wallet_sets/{ws}/fund", {"exchange": "coinbase", "currency": "USD", "amount": "10"}
            ),
            503,
            "exchange_unavailable",
            "its markets are not loaded yet",
        )
        self.assertEqual((await self.call("GET", f"{V1}/markets"))[::2], (200, []))  # none loaded yet

        self.sim.hooks.rest_failures.clear()
        await self.until(lambda: self.server.hub.markets_loaded("coinbase"))
        for method, path, body in naming_a_pair:
            with self.subTest(path=path, loaded=True):
                answer = await self.call(method, path.format(pair="SKL_JPY"), body and {**body, "pair": "SKL_JPY"})
                self.assertError(answer, 404, "unknown_pair", exchange="coinbase", pair="SKL_JPY")
        status, _, markets = await self.call("GET", f"{V1}/markets?exchange=coinbase&pair=SKL_USD")
        self.assertEqual((status, [m["symbol"] for m in markets]), (200, ["SKL-USD"]))
        status, _, pricing = await self.call("GET", f"{V1}/pricing?exchange=coinbase")
        self.assertEqual((status, [p["pair"] for p in pricing]), (200, ["SKL_USD"]))
        self.assertError(
            await self.call("GET", f"{V1}/book?exchange=coinbase&pair=BTC_USD"),
            503,
            "exchange_unavailable",
            "BTC_USD is not followed (add it to exchanges.coinbase.pairs)",
        )


class MistakesTest(ErrorAnswers, RecordedServiceTest):
    """On the recording, Coinbase in paper mode: mistakes no retry can mend are said plainly."""

    async def test_a_live_wallet_set_on_a_paper_exchange_is_a_conflict_not_an_outage(self):
        live = await self.ok("POST", f"{V1}/wallet_sets", {"name": "real", "mode": "live"})
        not_live = "coinbase is not in live mode (exchanges.coinbase.mode is paper)"
        self.assertError(
            await self.call("POST", f"{V1}/orders", {**ORDER, "wallet_set_id": live["id"], "pair": "SKL_USD"}),
            409,
            "conflict",
            not_live,
            exchange="coinbase",
            mode="paper",
        )
        self.assertError(
            await self.call(
                "POST",
                f"{V1}/wallet_sets/{live['id']}/fund",
                {"exchange": "coinbase", "currency": "USD", "amount": "10"},
            ),
            409,
            "conflict",
            not_live,
            exchange="coinbase",
            mode="paper",
        )
        self.assertEqual((await self.ok("GET", f"{V1}/wallet_sets/{live['id']}"))["wallets"], [])

    async def test_an_exchange_name_in_the_wrong_case_is_answered_with_the_valid_names(self):
        valid = ["coinbase", "binance", "kraken", "bitfinex", "poloniex", "okx", "bybit", "luno", "valr"]
        self.assertError(
            await self.call("GET", f"{V1}/book?exchange=Coinbase&pair=SKL_USD"),
            404,
            "unknown_exchange",
            "unknown exchange 'Coinbase': expected one of " + ", ".join(valid),
            exchange="Coinbase",
            valid=valid,
        )

    async def test_funding_a_currency_the_exchange_does_not_list_is_refused(self):
        ws = await self.ok("POST", f"{V1}/wallet_sets", {"name": "paper"})
        self.assertError(
            await self.call(
                "POST", f"{V1}/wallet_sets/{ws['id']}/fund", {"exchange": "coinbase", "currency": "XYZ", "amount": "10"}
            ),
            400,
            "invalid_parameter",
            "currency: expected a currency of a market coinbase lists, got 'XYZ'",
            field="currency",
        )
        self.assertEqual((await self.ok("GET", f"{V1}/wallet_sets/{ws['id']}"))["wallets"], [])
        await self.ok(
            "POST", f"{V1}/wallet_sets/{ws['id']}/fund", {"exchange": "coinbase", "currency": "SKL", "amount": "10"}
        )


if __name__ == "__main__":
    unittest.main()
