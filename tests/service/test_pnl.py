"""get_pnl and get_wallet_history on the recorded Coinbase books, checked by hand: a paper wallet set
buys 1000 SKL at a recorded moment, sells 400 at a later one, and its P&L is read at both, marked to
the recorded mids, in USD and in BTC (through SKL-USD and SKL-BTC); its equity sampled at the minute
the recording crosses (16:44:00 UTC) is read back. The same answers on JSON-RPC, REST and Socket.IO,
on SQLite and PostgreSQL; bad input names the parameter."""

import asyncio
import unittest
from decimal import Context, Decimal, localcontext

from exchange_wrapper.client import AsyncClient
from exchange_wrapper.core.errors import InvalidParameter, NotFound, UnknownExchange
from exchange_wrapper.replay.playback import MAX_SPEED, PlaybackOptions
from exchange_wrapper.service.server import Server
from tests.storage.dbs import empty_postgres_url

from ..replay.test_playback import FIRST
from .recorded import REPLAY, fresh_settings, http
from .test_socketio import Browser

BUY_AT, SELL_AT = FIRST + 5, FIRST + 20  # 16:43:41.8 and 16:43:56.8 UTC
MINUTE = 1618677840  # 16:44:00 UTC, the one minute the recording crosses: an equity sample


def by_hand(*steps):
    """A chain of rates as the valuation computes it: 28 significant digits, step by step."""
    with localcontext(Context(prec=28)):
        rate = Decimal(1)
        for operation, price in steps:
            rate = rate * Decimal(price) if operation == "*" else rate / Decimal(price)
        return rate


class PnlCases:
    """Subclasses give ``database_url()``."""

    def database_url(self):
        raise NotImplementedError

    async def asyncSetUp(self):
        settings = fresh_settings(self, database_url=self.database_url())
        options = PlaybackOptions(recorded_clock=True, steps=True)
        self.server = Server(settings, replay=REPLAY, speed=MAX_SPEED, playback=options)
        await self.server.start()
        self.addAsyncCleanup(self.server.stop)
        self.client = await AsyncClient(f"ws://127.0.0.1:{self.server.port}").connect()
        self.addAsyncCleanup(self.client.close)
        await self.client.advance_replay(until=BUY_AT)
        self.ws = (await self.client.create_wallet_set(name="strategy"))["id"]
        await self.client.fund_wallet_set(wallet_set_id=self.ws, exchange="coinbase", currency="USD", amount="1000")

    async def market(self, side, size, tag="run-1"):
        order = await self.client.make_order(
            wallet_set_id=self.ws, exchange="coinbase", pair="SKL_USD", side=side, type="market", size=size, tag=tag
        )
        return [(f["price"], f["size"], f["fee"], f["fee_currency"]) for f in order["fills"]]

    async def rest(self, path):
        status, _, answer = await asyncio.to_thread(http, f"http://127.0.0.1:{self.server.port}/xwrap/v1{path}")
        self.assertEqual(status, 200, answer)
        return answer

    async def test_a_buy_a_partial_sell_fees_and_a_price_move_by_hand_on_every_door(self):
        # the buy takes the recorded ask, 0.7923; the taker fee is 0.6%: 792.3 x 0.006 = 4.7538
        self.assertEqual(await self.market("buy", "1000"), [("0.7923", "1000", "4.7538", "USD")])
        pnl = await self.client.get_pnl(wallet_set_id=self.ws)
        (pair,) = pnl["pairs"]
        # marked to the recorded mid (0.7908 + 0.7923) / 2 = 0.79155: 1000 x 0.79155 - 792.3 = -0.75
        self.assertEqual(pair["mark"]["price"], "0.79155")
        self.assertEqual((pair["mark"]["source"], pair["mark"]["exchange"]), ("mid", "coinbase"))
        self.assertEqual(
            (pair["position"], pair["average_cost"], pair["realized"], pair["unrealized"], pair["fees_value"]),
            ("1000", "0.7923", "0", "-0.75", "4.7538"),
        )
        self.assertEqual(pnl["totals"], {"realized": "0", "unrealized": "-0.75", "fees": "4.7538", "net": "-5.5038"})
        self.assertEqual((pnl["rates"], pnl["unvalued"], pnl["unmarked"], pnl["time"]), ([], [], [], BUY_AT))

        await self.client.advance_replay(until=SELL_AT)
        # the partial sell takes the recorded bid, 0.7907: realizes (0.7907 - 0.7923) x 400 = -0.64; fee 1.89768
        self.assertEqual(await self.market("sell", "400"), [("0.7907", "400", "1.89768", "USD")])
        pnl = await self.client.get_pnl(wallet_set_id=self.ws)
        (pair,) = pnl["pairs"]
        # 600 left at the average cost 0.7923 (cost 475.38), the mid moved to 0.7912: 474.72 - 475.38 = -0.66
        self.assertEqual(
            (pair["fills"], pair["position"], pair["average_cost"], pair["mark"]["price"]),
            (2, "600", "0.7923", "0.7912"),
        )
        self.assertEqual(pair["fees"], [{"currency": "USD", "amount": "6.65148"}])  # 4.7538 + 1.89768
        self.assertEqual(
            pnl["totals"], {"realized": "-0.64", "unrealized": "-0.66", "fees": "6.65148", "net": "-7.95148"}
        )

        # in BTC: a USD is 1 / 0.7912 SKL (SKL-USD), an SKL 0.00001305 BTC (SKL-BTC's mid)
        in_btc = await self.client.get_pnl(wallet_set_id=self.ws, currency="BTC")
        rate = by_hand(("/", "0.7912"), ("*", "0.00001305"))
        (used,) = in_btc["rates"]
        self.assertEqual((used["currency"], used["into"], Decimal(used["rate"])), ("USD", "BTC", rate))
        self.assertEqual(
            [(q["pair"], q["price"], q["source"]) for q in used["chain"]],
            [("SKL_USD", "0.7912", "mid"), ("SKL_BTC", "0.00001305", "mid")],
        )
        with localcontext(Context(prec=28)):
            expected = {k: Decimal(v) * rate for k, v in pnl["totals"].items() if k != "net"}
        self.assertEqual({k: Decimal(in_btc["totals"][k]) for k in expected}, expected)
        self.assertLess(abs(Decimal(in_btc["totals"]["net"]) - Decimal("-7.95148") * rate), Decimal("1e-30"))

        # the same answers on REST and Socket.IO
        self.assertEqual(await self.rest(f"/wallet_sets/{self.ws}/pnl?currency=BTC"), in_btc)
        browser = Browser()
        await browser.client.connect(f"http://127.0.0.1:{self.server.port}", transports=["websocket"], wait_timeout=5)
        self.addAsyncCleanup(browser.client.disconnect)
        answer = await browser.call("get_pnl", {"wallet_set_id": self.ws, "currency": "BTC"})
        self.assertEqual(answer.get("result", answer), in_btc)
        # filters: another pair has nothing
        other = await self.client.get_pnl(wallet_set_id=self.ws, exchange="coinbase", pair="SKL_BTC")
        self.assertEqual((other["pairs"], other["totals"]["net"]), ([], "0"))
        # and run tags: the run that made the fills has them all, another run none
        self.assertEqual(await self.client.get_pnl(wallet_set_id=self.ws, currency="BTC", tag="run-1"), in_btc)
        other = await self.client.get_pnl(wallet_set_id=self.ws, tag="run-2")
        self.assertEqual((other["pairs"], other["totals"]["net"]), ([], "0"))

    async def test_the_equity_sampled_at_the_recorded_minute_is_read_back(self):
        self.assertEqual(await self.market("buy", "1000"), [("0.7923", "1000", "4.7538", "USD")])
        self.assertEqual(await self.market("sell", "400"), [("0.7908", "400", "1.89792", "USD")])
        await self.client.advance_replay(until=MINUTE)  # the sample of 16:44 is taken at this moment
        wallets = (await self.client.get_wallet_set(wallet_set_id=self.ws))["wallets"]
        # 1000 - 792.3 - 4.7538 + (0.7908 x 400 = 316.32) - 1.89792 = 517.36828 USD; 600 SKL at the mid 0.79145
        self.assertEqual(
            sorted((w["currency"], w["balance"], w["usd_value"]) for w in wallets),
            [("SKL", "600", "474.87"), ("USD", "517.36828", "517.36828")],
        )
        await self.server.equity.settled()
        writer = self.server.history_writer
        async with asyncio.timeout(10):
            while writer.outstanding():  # queued, or in the batch being written
                await asyncio.sleep(0.01)
        history = await self.client.get_wallet_history(wallet_set_id=self.ws, start=FIRST - 60, end=MINUTE + 60)
        self.assertEqual(
            history,
            {
                "wallet_set_id": self.ws,
                "currency": "USD",
                "interval": "1m",
                "samples": [{"time": MINUTE, "value": "992.23828", "unvalued": []}],  # 517.36828 + 474.87
                "next": None,
            },
        )
        self.assertEqual(
            await self.rest(f"/wallet_sets/{self.ws}/history?start={FIRST - 60}&end={MINUTE + 60}&interval=1h"),
            {**history, "interval": "1h"},
        )
        # an interval before any sample has none; without start, the last `limit` intervals before end
        self.assertEqual((await self.client.get_wallet_history(wallet_set_id=self.ws, end=MINUTE))["samples"], [])
        latest = await self.client.get_wallet_history(wallet_set_id=self.ws, end=MINUTE + 60, limit=1)
        self.assertEqual(latest["samples"], history["samples"])

    async def test_bad_input_names_the_parameter_and_changes_nothing(self):
        await self.market("buy", "1000")
        before = await self.client.get_wallet_set(wallet_set_id=self.ws)
        for currency in ("EUR", "XYZ"):  # EUR: only CRV-EUR and NMR-EUR price it, no chain from USD
            with self.subTest(currency=currency):
                with self.assertRaises(InvalidParameter) as caught:
                    await self.client.get_pnl(wallet_set_id=self.ws, currency=currency)
                self.assertEqual(caught.exception.field, "currency")
                self.assertIn(currency, str(caught.exception))
        with self.assertRaises(UnknownExchange):
            await self.client.get_pnl(wallet_set_id=self.ws, exchange="coinbas")
        for operation in ("get_pnl", "get_wallet_history"):
            with self.subTest(operation=operation), self.assertRaises(NotFound):
                await self.client.call(operation, wallet_set_id=self.ws + 1)
        with self.assertRaises(InvalidParameter) as caught:
            await self.client.get_wallet_history(wallet_set_id=self.ws, interval="2m")
        self.assertEqual(caught.exception.field, "interval")
        self.assertEqual(await self.client.get_wallet_set(wallet_set_id=self.ws), before)


class SqliteTest(PnlCases, unittest.IsolatedAsyncioTestCase):
    def database_url(self):
        return fresh_settings(self).database_url


class PostgresTest(PnlCases, unittest.IsolatedAsyncioTestCase):
    def database_url(self):
        return empty_postgres_url(self)
