"""The Poloniex adapter end to end: started as ``xwrap serve`` starts it, over real sockets, against
the loopback simulator replaying the real capture in Poloniex's protocol. Each book is compared with
one rebuilt here from the same capture with plain json and a dict per side.

The feed pings every 0.1 s here (15 s live): Poloniex sends nothing unasked, so between and after
the recorded messages its pongs are all that keeps the feed from counting as silent."""

import asyncio
import json
import unittest
from decimal import Decimal
from unittest import mock

from exchange_wrapper.config import ExchangeSettings, ExchangesSettings, Settings
from exchange_wrapper.connectors.feed import start_feeds
from exchange_wrapper.connectors.rest import RestClient
from exchange_wrapper.core.book import BookState
from exchange_wrapper.core.errors import RateLimited
from exchange_wrapper.core.marketdata import Candle, FeedStatus, Problem, Ticker
from exchange_wrapper.core.pacing import Backoff
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.http import Request
from exchange_wrapper.exchanges.poloniex.public import PoloniexAdapter
from exchange_wrapper.marketdata.hub import MarketDataHub
from tests.simulator.poloniex import CANDLES_PATH, poloniex_protocol
from tests.simulator.server import ExchangeSimulator

HUB_LOG = "exchange_wrapper.marketdata.hub"
PING = '{"event":"ping"}'
RECORDING = [json.loads(message) for message in poloniex_protocol().recording]
SYMBOLS = sorted({msg["data"][0]["symbol"] for msg in RECORDING if msg.get("channel") == "book_lv2" and "data" in msg})
BTC = Pair("BTC", "USDT")


def books_after(messages):
    """symbol -> (bids, asks) as {Decimal price: Decimal size}, from the parsed book_lv2 messages."""
    books = {}
    for msg in messages:
        if msg.get("channel") != "book_lv2" or "data" not in msg:
            continue
        data = msg["data"][0]
        if msg["action"] == "snapshot":
            books[data["symbol"]] = ({}, {})
        for levels, rows in zip(books[data["symbol"]], (data["bids"], data["asks"])):
            for price, size in rows:
                levels[Decimal(price)] = Decimal(size)
                if not Decimal(size):
                    del levels[Decimal(price)]
    return books


FINAL = books_after(RECORDING)


class PoloniexFeedCase(unittest.IsolatedAsyncioTestCase):
    silence = 0.5

    async def asyncSetUp(self):
        asyncio.get_running_loop().set_debug(False)  # unittest turns it on; it slows the stream tenfold
        pings = mock.patch.object(PoloniexAdapter, "app_ping_interval", 0.1)
        pings.start()
        self.addCleanup(pings.stop)
        self.protocol = poloniex_protocol()
        self.sim = await ExchangeSimulator(self.protocol).__aenter__()
        self.hub = MarketDataHub()
        disabled = {
            name: ExchangeSettings(enabled=False)
            for name in ("coinbase", "binance", "kraken", "bitfinex", "okx", "bybit", "luno", "valr")
        }
        settings = Settings(
            exchanges=ExchangesSettings(
                poloniex=ExchangeSettings(pairs=SYMBOLS, rest_url=self.sim.http_url, ws_url=self.sim.ws_url), **disabled
            )
        )
        self.feeds = start_feeds(settings, self.hub, backoff=Backoff(0.01, 0.05), silence_timeout=self.silence)

    async def asyncTearDown(self):
        await self.feeds["poloniex"].stop()
        await self.sim.__aexit__(None, None, None)

    async def until(self, condition, timeout=8.0):
        async def wait():
            while not condition():
                await asyncio.sleep(0.02)

        await asyncio.wait_for(wait(), timeout)

    def book(self, symbol):
        return self.hub.book("poloniex", Pair.parse(symbol))

    def counter(self, name):
        return self.hub.counters("poloniex")[name]

    def requests(self):
        """What the feed sent, pings left out, parsed."""
        return [json.loads(message) for message in self.sim.received if message != PING]

    async def streamed(self):
        """Wait until the recording is out, read, and every book is live and final (if that never
        comes, the assertions that follow show how not)."""

        def done():
            return (
                self.sim.finished.is_set()
                and self.counter("messages") >= self.sim.sent
                and all(
                    self.book(s).live and (dict(self.book(s).bids), dict(self.book(s).asks)) == FINAL[s]
                    for s in SYMBOLS
                )
            )

        try:
            await self.until(done)
        except TimeoutError:
            pass

    def assertFinalBooks(self):
        for symbol in SYMBOLS:
            with self.subTest(symbol=symbol):
                book = self.book(symbol)
                self.assertIs(book.state, BookState.LIVE)
                self.assertEqual((dict(book.bids), dict(book.asks)), FINAL[symbol])


class StreamTest(PoloniexFeedCase):
    async def test_books_trades_and_a_ticker_equal_the_capture_and_pongs_keep_the_feed_up(self):
        ticker = {
            "symbol": "BTC_USDT",
            "startTime": 1661037120000,
            "open": "21472.02",
            "high": "21800",
            "low": "21288.5",
            "close": "21614.59",
            "quantity": "3107.437531",
            "amount": "66839512.32741305",
            "tradeCount": 25893,
            "dailyChange": "0.0066",
            "markPrice": "21613.01",
            "closeTime": 1661123520386,
            "ts": 1661123521042,
        }
        self.sim.inject(100, json.dumps({"channel": "ticker", "data": [ticker]}))
        await self.streamed()
        self.assertFinalBooks()
        self.assertEqual(
            self.requests(),
            [
                {"event": "subscribe", "channel": [channel], "symbols": SYMBOLS}
                for channel in ("book_lv2", "trades", "ticker")
            ],
        )
        data = self.hub.exchange("poloniex")
        trades = [msg["data"][0] for msg in RECORDING if msg.get("channel") == "trades" and "data" in msg]
        self.assertEqual(self.counter("trades"), len(trades))
        self.assertEqual(
            [(t.trade_id, t.price, t.size, t.taker_side.value, t.time) for t in data.trades[BTC]],
            [
                (t["id"], Decimal(t["price"]), Decimal(t["quantity"]), t["takerSide"], t["createTime"] / 1000)
                for t in trades
                if t["symbol"] == "BTC_USDT"
            ],
        )
        self.assertEqual(
            data.tickers[BTC],
            Ticker(BTC, None, None, 1661123521.042, last=Decimal("21614.59"), volume_24h=Decimal("3107.437531")),
        )
        # nothing comes after the recording but the pongs: the feed stays up past its silence timeout
        pings = self.sim.received.count(PING)
        await asyncio.sleep(3 * self.silence)
        self.assertGreater(self.sim.received.count(PING), pings + 5)
        self.assertEqual(self.hub.status("poloniex", 0), (FeedStatus.READY, f"streaming from {self.sim.ws_url}"))
        self.assertEqual((self.sim.connections, self.counter("reconnects"), self.counter("resyncs")), (1, 0, 0))

    async def test_candles_over_rest(self):
        await self.until(lambda: self.feeds["poloniex"].adapter is not None)
        candles = await self.feeds["poloniex"].candles(BTC, 300, 1659664800, 1659665700)
        self.assertEqual(
            candles[1],
            Candle(
                BTC,
                1659665100,
                300,
                Decimal("22937.42"),
                Decimal("22958.03"),
                Decimal("22901.1"),
                Decimal("22910.5"),
                Decimal("0.228731"),
            ),
        )
        self.assertEqual(
            self.sim.rest_calls,
            ["/markets", f"{CANDLES_PATH}?interval=MINUTE_5&startTime=1659664800000&endTime=1659665700000&limit=500"],
        )


class DropTest(PoloniexFeedCase):
    async def test_a_dropped_stream_reconnects_and_no_stale_level_survives(self):
        skip = 100
        self.sim.drop_after(100, skip=skip)
        await self.streamed()
        self.assertFinalBooks()
        self.assertEqual(self.sim.connections, 2)
        # Levels the book held at the drop that left it while the feed was away: no removal of
        # them ever reaches the feed, only the new snapshot leaves them out.
        dropped = self.sim.stopped_at
        at_drop, at_resync = books_after(RECORDING[:dropped]), books_after(RECORDING[: dropped + skip])
        touched_later = {
            (msg["data"][0]["symbol"], Decimal(price))
            for msg in RECORDING[dropped + skip :]
            if msg.get("action") == "update"
            for rows in (msg["data"][0]["bids"], msg["data"][0]["asks"])
            for price, _ in rows
        }
        gone = [
            (symbol, price)
            for symbol, sides in at_drop.items()
            for side, levels in enumerate(sides)
            for price in levels
            if price not in at_resync[symbol][side] and (symbol, price) not in touched_later
        ]
        self.assertGreaterEqual(len(gone), 10)
        for symbol, price in gone:
            self.assertEqual((self.book(symbol).bids.size_at(price), self.book(symbol).asks.size_at(price)), (0, 0))
        self.assertEqual(
            (self.counter("reconnects"), self.counter(Problem.DISCONNECTED.value), self.counter("resyncs")),
            (1, len(SYMBOLS), 0),
        )  # a reconnect's snapshots are not resyncs


class GapTest(PoloniexFeedCase):
    async def test_a_lost_update_is_a_gap_repaired_by_resubscribing(self):
        self.protocol.lose_update("BTC_USDT", 4485892)  # lastId 4485890 -> id 4485892
        with self.assertLogs(HUB_LOG, level="WARNING") as logs:
            await self.until(lambda: self.counter(Problem.SEQUENCE_GAP.value) == 1)
            await self.streamed()
        self.assertFinalBooks()
        self.assertEqual(
            logs.output,
            [
                f"WARNING:{HUB_LOG}:poloniex BTC_USDT book stale, resyncing: "
                "sequence_gap: update 4485893 does not follow 4485890"
            ],
        )
        self.assertEqual(
            self.requests()[3:],
            [
                {"event": event, "channel": ["book_lv2"], "symbols": ["BTC_USDT"]}
                for event in ("unsubscribe", "subscribe")
            ],
        )
        self.assertEqual((self.counter("resyncs"), self.sim.connections, self.counter("reconnects")), (1, 1, 0))


class SilenceTest(PoloniexFeedCase):
    async def test_a_server_that_stops_sending_and_answering_is_silent(self):
        self.protocol.answer_pings = False
        self.sim.silence_after(100, skip=50)
        with self.assertLogs(HUB_LOG, level="WARNING") as logs:
            await self.until(lambda: self.counter(Problem.SILENT.value) > 0, timeout=3)
            self.protocol.answer_pings = True  # the exchange is back
            await self.streamed()
        self.assertFinalBooks()
        # every book went stale at once, logged once with the reason; the status said why
        self.assertEqual(self.counter(Problem.SILENT.value), len(SYMBOLS))
        self.assertEqual(
            sorted(logs.output),
            sorted(
                [
                    f"WARNING:{HUB_LOG}:poloniex {s} book stale, resyncing: silent_feed: no message in 0.5 s"
                    for s in SYMBOLS
                ]
                + [f"WARNING:{HUB_LOG}:poloniex market data down: silent feed: no message in 0.5 s"]
            ),
        )
        self.assertEqual((self.sim.connections, self.counter("reconnects")), (2, 1))


class RateLimitTest(unittest.IsolatedAsyncioTestCase):
    async def test_a_429_without_retry_after_pauses_every_call(self):
        async with ExchangeSimulator(poloniex_protocol()) as sim:
            now, slept = [1000.0], []

            async def sleep(seconds):
                slept.append(seconds)
                now[0] += seconds

            client = RestClient("poloniex", sim.http_url, PoloniexAdapter.rest_limit, clock=lambda: now[0], sleep=sleep)
            self.addCleanup(client.close)
            sim.fail_rest(429)
            request = Request(CANDLES_PATH, {"interval": "MINUTE_5"})
            with self.assertRaises(RateLimited) as raised:
                await client.call(request)
            self.assertEqual(raised.exception.retry_after, 10.0)  # no Retry-After: the default pause
            body = await client.call(request)
            self.assertEqual(slept, [10.0])
            self.assertEqual(json.loads(body)[0][12], 1659664800000)


if __name__ == "__main__":
    unittest.main()
