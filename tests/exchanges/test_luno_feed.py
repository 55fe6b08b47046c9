"""The Luno adapter end to end: started as ``xwrap serve`` starts it, over real sockets, against the
loopback simulator replaying the Luno capture (made up, in Luno's documented streaming formats:
tests/fixtures/README.md), one connection per market. Each book is compared with one rebuilt here
from the same capture with plain json: every order by id, summed per price."""

import json
import unittest
from dataclasses import replace
from decimal import Decimal

from exchange_wrapper.connectors.rest import RestClient
from exchange_wrapper.core.errors import RateLimited
from exchange_wrapper.core.marketdata import Candle, FeedStatus, Problem
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.http import Request
from exchange_wrapper.exchanges.luno.public import LunoAdapter
from exchange_wrapper.replay.capture import WsOpened, WsReceived, read_capture
from tests.exchanges.feed_case import FeedCase, gone_while_away
from tests.simulator.candles import MadeUpCandles
from tests.simulator.luno import API_KEY, API_SECRET, CANDLES_PATH, CAPTURE_FILES, luno_protocol
from tests.simulator.server import CAPTURES, ExchangeSimulator

HUB_LOG = "exchange_wrapper.marketdata.hub"
PAIRS = {"XBTZAR": Pair("BTC", "ZAR"), "ETHZAR": Pair("ETH", "ZAR")}  # Luno spells bitcoin XBT
BTC = PAIRS["XBTZAR"]
KEY = json.dumps({"api_key_id": API_KEY, "api_key_secret": API_SECRET}, separators=(",", ":"))


def read_recording():
    """(time, market_id, message parsed) of every message the capture's streams received, in time order."""
    received = []
    for name in CAPTURE_FILES[1:]:
        market = ""
        for record in read_capture(CAPTURES / name):
            if isinstance(record, WsOpened):
                market = record.url.rpartition("/")[2]
            elif isinstance(record, WsReceived):
                received.append((record.ts, market, json.loads(record.message)))
    return sorted(received, key=lambda item: item[0])


RECORDING = read_recording()
MESSAGES = [(market, msg) for _, market, msg in RECORDING]


def orders_after(messages):
    """market -> {order id: (side, Decimal price, Decimal volume)} after ``messages``."""
    orders = {}
    for market, msg in messages:
        if not isinstance(msg, dict):
            continue  # a keep-alive
        if "asks" in msg:
            orders[market] = {o["id"]: (side, Decimal(o["price"]), Decimal(o["volume"])) for side in ("bids", "asks")
                              for o in msg[side]}  # fmt: skip
            continue
        book = orders[market]
        for trade in msg["trade_updates"] or ():
            side, price, volume = book[trade["maker_order_id"]]
            book[trade["maker_order_id"]] = (side, price, volume - Decimal(trade["base"]))
            if not book[trade["maker_order_id"]][2]:
                del book[trade["maker_order_id"]]
        if msg["create_update"]:
            create = msg["create_update"]
            side = "bids" if create["type"] == "BID" else "asks"
            book[create["order_id"]] = (side, Decimal(create["price"]), Decimal(create["volume"]))
        if msg["delete_update"]:
            book.pop(msg["delete_update"]["order_id"], None)
    return orders


def model_after(messages):
    """market -> (bids, asks) as {Decimal price: Decimal total volume}."""
    books = {}
    for market, orders in orders_after(messages).items():
        books[market] = ({}, {})
        for side, price, volume in orders.values():
            levels = books[market][0 if side == "bids" else 1]
            levels[price] = levels.get(price, Decimal(0)) + volume
    return books


def changed_prices(messages):
    """market -> every price an update of ``messages`` touches: orders created, deleted or traded."""
    prices, orders = {}, {}
    for market, msg in messages:
        if not isinstance(msg, dict):
            continue
        if "asks" in msg:
            orders[market] = {o["id"]: Decimal(o["price"]) for side in ("bids", "asks") for o in msg[side]}
            continue
        book, touched = orders.setdefault(market, {}), prices.setdefault(market, set())
        gone = [trade["maker_order_id"] for trade in msg["trade_updates"] or ()]
        gone += [msg["delete_update"]["order_id"]] if msg["delete_update"] else []
        touched.update(book[order_id] for order_id in gone if order_id in book)
        if msg["create_update"]:
            book[msg["create_update"]["order_id"]] = Decimal(msg["create_update"]["price"])
            touched.add(Decimal(msg["create_update"]["price"]))
    return prices


def updates_of(market):
    return [msg for m, msg in MESSAGES if m == market and isinstance(msg, dict) and "asks" not in msg]


FINAL = model_after(MESSAGES)


class LunoFeedCase(FeedCase):
    exchange, pairs, final = "luno", PAIRS, FINAL
    silence = 0.5

    def make_protocol(self):
        return luno_protocol()

    def start(self):
        luno = self.settings.exchanges.luno
        self.settings = replace(
            self.settings,
            exchanges=replace(self.settings.exchanges, luno=replace(luno, api_key=API_KEY, api_secret=API_SECRET)),
        )
        return super().start()


class StreamTest(LunoFeedCase):
    async def test_books_and_trades_equal_the_capture_one_connection_a_market(self):
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 2)
        self.assertEqual(self.sim.received, [KEY, KEY])  # the key, once a connection: nothing else
        counters = self.counters()
        self.assertEqual((counters["resyncs"], counters["reconnects"], counters[Problem.SEQUENCE_GAP.value]), (0, 0, 0))
        trades = [
            (market, msg, trade)
            for market, msg in MESSAGES
            if isinstance(msg, dict)
            for trade in msg.get("trade_updates") or ()
        ]
        self.assertEqual(counters["trades"], len(trades))
        recorded = [(market, msg, trade) for market, msg, trade in trades if market == "XBTZAR"][-5:]
        self.assertEqual(
            [(t.trade_id, t.size, t.time) for t in self.hub.exchange("luno").trades[BTC]][-5:],
            [(str(trade["sequence"]), Decimal(trade["base"]), msg["timestamp"] / 1000) for _, msg, trade in recorded],
        )
        self.assertEqual(self.hub.status("luno", 0)[0], FeedStatus.READY)

    async def test_candles_over_rest_carry_the_key(self):
        start = 1_795_262_400
        self.protocol.candles["XBTZAR"] = MadeUpCandles(start, start + 3600, price=Decimal("1750000"), places=0)
        await self.until(lambda: self.feeds["luno"].adapter is not None)
        candles = await self.feeds["luno"].candles(BTC, 60, start + 600, start + 1200)
        made_up = self.protocol.candles["XBTZAR"].between(start + 600, start + 3600)
        self.assertEqual(candles, [Candle(BTC, m.start, 60, m.open, m.high, m.low, m.close, m.volume) for m in made_up])
        self.assertEqual(
            self.sim.rest_calls[-1], f"{CANDLES_PATH}?pair=XBTZAR&since={(start + 600) * 1000}&duration=60"
        )


class NoKeyTest(LunoFeedCase):
    def start(self):
        return FeedCase.start(self)

    async def test_without_a_key_no_stream_is_opened_and_the_status_says_why(self):
        await self.until(lambda: self.counters()["reconnects"] >= 2)
        self.assertEqual(self.sim.connections, 0)
        self.assertEqual(
            self.hub.status("luno", 0),
            (FeedStatus.DOWN, "Luno's market stream needs an API key: set exchanges.luno.api_key and api_secret"),
        )


class DropTest(LunoFeedCase):
    async def test_a_dropped_stream_reconnects_and_no_stale_level_survives(self):
        skip = 200
        self.sim.drop_after(600, skip=skip)
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 4)  # both markets' connections, twice
        recording = [(market, msg) for market, msg in MESSAGES]
        gone = gone_while_away(model_after, changed_prices, recording, self.sim.stopped_at, skip)
        self.assertGreater(sum(map(len, gone.values())), 5)
        for market, prices in gone.items():
            for price in prices:
                book = self.book(market)
                self.assertEqual((book.bids.size_at(price), book.asks.size_at(price)), (0, 0))
        counters = self.counters()
        self.assertEqual((counters["reconnects"], counters[Problem.DISCONNECTED.value]), (2, len(PAIRS)))
        self.assertEqual(counters["resyncs"], 0)  # a reconnect is no resync
        self.assertEqual(self.sim.received, [KEY] * 4)


class GapTest(LunoFeedCase):
    async def test_a_lost_update_is_a_gap_and_that_market_alone_reconnects_for_a_new_state(self):
        lost, following = updates_of("ETHZAR")[300:302]
        self.protocol.lose_update("ETHZAR", int(lost["sequence"]))
        with self.assertLogs(HUB_LOG, level="WARNING") as logs:
            await self.until(lambda: self.counters()[Problem.SEQUENCE_GAP.value] == 1)
            await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 3)  # ETHZAR's again, XBTZAR's kept
        counters = self.counters()
        self.assertEqual((counters["reconnects"], counters[Problem.DISCONNECTED.value]), (1, 0))
        self.assertEqual(
            logs.output[0],
            f"WARNING:{HUB_LOG}:luno ETH_ZAR book stale, resyncing: sequence_gap: update {following['sequence']} "
            f"does not follow {int(lost['sequence']) - 1}",
        )


class SilenceTest(LunoFeedCase):
    async def test_a_server_that_stops_sending_is_silent(self):
        self.sim.silence_after(500, skip=100)
        await self.until(lambda: self.counters()[Problem.SILENT.value] > 0, timeout=3)
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.counters()[Problem.SILENT.value], len(PAIRS))
        self.assertEqual(self.sim.connections, 4)


class RateLimitTest(unittest.IsolatedAsyncioTestCase):
    async def test_a_429_pauses_every_call(self):
        async with ExchangeSimulator(luno_protocol()) as sim:
            now, slept = [1000.0], []

            async def sleep(seconds):
                slept.append(seconds)
                now[0] += seconds

            client = RestClient("luno", sim.http_url, LunoAdapter.rest_limit, clock=lambda: now[0], sleep=sleep)
            self.addCleanup(client.close)
            sim.fail_rest(429, {"Retry-After": "2"})
            request = Request(LunoAdapter.markets_path)
            with self.assertRaises(RateLimited) as raised:
                await client.call(request)
            self.assertEqual(raised.exception.retry_after, 2.0)
            body = await client.call(request)
            self.assertEqual(slept, [2.0])
            self.assertIn("XBTZAR", [m["market_id"] for m in json.loads(body)["markets"]])


if __name__ == "__main__":
    unittest.main()
