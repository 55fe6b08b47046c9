"""The Coinbase adapter end to end: started as ``xwrap serve`` starts it, over real sockets, against
the loopback simulator replaying the real capture. Each book is compared with one rebuilt here from
the same capture with plain json and a dict per side."""

import asyncio
import json
import unittest
from decimal import Decimal

from exchange_wrapper.config import ExchangeSettings, ExchangesSettings, Settings
from exchange_wrapper.connectors.feed import start_feeds
from exchange_wrapper.connectors.rest import RestClient
from exchange_wrapper.core.book import BookState
from exchange_wrapper.core.errors import RateLimited
from exchange_wrapper.core.marketdata import FeedStatus, Problem
from exchange_wrapper.core.pacing import Backoff
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.coinbase.public import CoinbaseAdapter
from exchange_wrapper.exchanges.http import Request
from exchange_wrapper.marketdata.hub import MarketDataHub
from tests.simulator.coinbase import coinbase_protocol
from tests.simulator.server import ExchangeSimulator

PROTOCOL = coinbase_protocol()
PRODUCTS = sorted({json.loads(m)["product_id"] for m in PROTOCOL.recording if '"product_id"' in m})
PAIRS = [p.replace("-", "_") for p in PRODUCTS]


def model_after(messages):
    """product -> (bids, asks) as {Decimal price: Decimal size}, rebuilt from the raw messages."""
    books = {}
    for text in messages:
        msg = json.loads(text)
        if msg["type"] == "snapshot":
            books[msg["product_id"]] = tuple(
                {Decimal(p): Decimal(s) for p, s in msg[side]} for side in ("bids", "asks")
            )
        elif msg["type"] == "l2update":
            for side, price, size in msg["changes"]:
                levels = books[msg["product_id"]][0 if side == "buy" else 1]
                if Decimal(size):
                    levels[Decimal(price)] = Decimal(size)
                else:
                    levels.pop(Decimal(price), None)
    return books


FINAL = model_after(PROTOCOL.recording)


def book_levels(book):
    return dict(book.bids), dict(book.asks)


class CoinbaseFeedCase(unittest.IsolatedAsyncioTestCase):
    silence = 2.0

    async def asyncSetUp(self):
        asyncio.get_running_loop().set_debug(False)  # unittest turns it on; it slows the stream tenfold
        self.protocol = coinbase_protocol()
        self.sim = await ExchangeSimulator(self.protocol).__aenter__()
        self.hub = MarketDataHub()
        settings = Settings(
            exchanges=ExchangesSettings(
                coinbase=ExchangeSettings(pairs=PAIRS, rest_url=self.sim.http_url, ws_url=self.sim.ws_url),
                **{
                    name: ExchangeSettings(enabled=False)
                    for name in ("binance", "kraken", "bitfinex", "poloniex", "okx", "bybit", "luno", "valr")
                },
            )
        )
        self.feeds = start_feeds(settings, self.hub, backoff=Backoff(0.01, 0.05), silence_timeout=self.silence)

    async def asyncTearDown(self):
        for feed in self.feeds.values():
            await feed.stop()
        await self.sim.__aexit__(None, None, None)

    async def until(self, condition, timeout=8.0):
        async def wait():
            while not condition():
                await asyncio.sleep(0.05)

        await asyncio.wait_for(wait(), timeout)

    def book(self, product):
        return self.hub.book("coinbase", Pair.parse(product.replace("-", "_")))

    def all_live(self):
        return all(self.book(p).live for p in PRODUCTS)

    async def finished_and_live(self):
        """Wait until the recording has been streamed and the feed has read it all (its books are
        then the final ones; if they never get there, the assertion that follows shows how not)."""
        try:
            await self.until(
                lambda: (
                    self.sim.finished.is_set()
                    and self.all_live()
                    and self.hub.exchange("coinbase").counts["messages"] >= self.sim.sent
                    and all(book_levels(self.book(p)) == FINAL[p] for p in PRODUCTS)
                )
            )
        except TimeoutError:
            pass

    def assertBooksAre(self, expected):
        for product in PRODUCTS:
            with self.subTest(product=product):
                book = self.book(product)
                self.assertIs(book.state, BookState.LIVE)
                self.assertEqual(book_levels(book), expected[product])


class StreamTest(CoinbaseFeedCase):
    async def test_books_trades_and_tickers_from_the_stream_equal_the_capture_read_independently(self):
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 1)
        counters = self.hub.counters("coinbase")
        self.assertEqual((counters["resyncs"], counters["reconnects"], counters[Problem.CROSSED.value]), (0, 0, 0))
        self.assertEqual(counters["trades"], sum('"type":"match"' in m for m in PROTOCOL.recording))
        self.assertEqual(self.hub.status("coinbase", 0), (FeedStatus.READY, f"streaming from {self.sim.ws_url}"))
        subscribe = json.loads(self.sim.received[0])
        self.assertEqual(
            subscribe,
            {
                "type": "subscribe",
                "product_ids": PRODUCTS,
                "channels": ["level2_batch", "matches", "ticker", "heartbeat"],
            },
        )
        # the last trade and ticker of a product, as the raw messages say
        data = self.hub.exchange("coinbase")
        matches = [json.loads(m) for m in PROTOCOL.recording if '"type":"match"' in m and '"SKL-USD"' in m]
        last_match = matches[-1]
        self.assertEqual([t.trade_id for t in data.trades[Pair("SKL", "USD")]], [str(m["trade_id"]) for m in matches])
        trade = data.trades[Pair("SKL", "USD")][-1]
        self.assertEqual(
            (trade.trade_id, trade.price, trade.size, trade.taker_side.value),
            (
                str(last_match["trade_id"]),
                Decimal(last_match["price"]),
                Decimal(last_match["size"]),
                "buy" if last_match["side"] == "sell" else "sell",
            ),
        )
        last_ticker = [json.loads(m) for m in PROTOCOL.recording if '"type":"ticker"' in m and '"NU-GBP"' in m][-1]
        ticker = data.tickers[Pair("NU", "GBP")]
        self.assertEqual(
            (ticker.bid, ticker.ask, ticker.last),
            (Decimal(last_ticker["best_bid"]), Decimal(last_ticker["best_ask"]), Decimal(last_ticker["price"])),
        )


def changed_prices(messages):
    """product -> every price an l2update of ``messages`` touches."""
    prices = {}
    for text in messages:
        msg = json.loads(text)
        if msg["type"] == "l2update":
            prices.setdefault(msg["product_id"], set()).update(Decimal(c[1]) for c in msg["changes"])
    return prices


class DropTest(CoinbaseFeedCase):
    async def test_a_dropped_stream_reconnects_and_no_stale_level_survives(self):
        skip = 1500
        self.sim.drop_after(3000, skip=skip)
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 2)
        # Levels the book held at the drop that were removed while it was away: the exchange sends
        # no removal for them, only the new snapshot leaves them out.
        dropped = self.sim.stopped_at
        at_drop = model_after(PROTOCOL.recording[:dropped])
        at_resync = model_after(PROTOCOL.recording[: dropped + skip])
        touched_later = changed_prices(PROTOCOL.recording[dropped + skip :])
        gone = {
            p: {
                price
                for side in (0, 1)
                for price in at_drop[p][side]
                if price not in at_resync[p][side] and price not in touched_later.get(p, ())
            }
            for p in PRODUCTS
        }
        self.assertGreater(sum(map(len, gone.values())), 10)
        for product, prices in gone.items():
            book = self.book(product)
            for price in prices:
                self.assertEqual((book.bids.size_at(price), book.asks.size_at(price)), (0, 0))
        counters = self.hub.counters("coinbase")
        self.assertEqual(counters["reconnects"], 1)
        self.assertEqual(counters[Problem.DISCONNECTED.value], len(PRODUCTS))
        self.assertEqual(counters["resyncs"], 0)  # a reconnect's snapshots are not resyncs


class SilenceTest(CoinbaseFeedCase):
    silence = 0.3

    async def test_a_silent_feed_is_detected_and_the_books_resync(self):
        self.sim.silence_after(2000, skip=500)
        with self.assertLogs("exchange_wrapper.marketdata.hub", level="WARNING") as logs:
            await self.until(lambda: self.hub.counters("coinbase")[Problem.SILENT.value] > 0, timeout=3)
            await self.finished_and_live()
        self.assertBooksAre(FINAL)
        # every book went stale at once, logged once with the reason; the status said why
        self.assertEqual(self.hub.counters("coinbase")[Problem.SILENT.value], len(PRODUCTS))
        self.assertEqual(
            sorted(logs.output),
            sorted(
                [
                    f"WARNING:exchange_wrapper.marketdata.hub:coinbase {p.replace('-', '_')} book stale, resyncing: "
                    "silent_feed: no message in 0.3 s"
                    for p in PRODUCTS
                ]
                + [
                    "WARNING:exchange_wrapper.marketdata.hub:coinbase market data down: "
                    "silent feed: no message in 0.3 s"
                ]
            ),
        )
        self.assertEqual(self.sim.connections, 2)
        self.assertEqual(self.hub.counters("coinbase")["reconnects"], 1)


class CrossedTest(CoinbaseFeedCase):
    async def test_a_crossed_book_is_caught_and_resubscribed(self):
        # a bid far above any ask of SKL-USD: no real book can show it
        self.sim.inject(
            1000,
            json.dumps(
                {
                    "type": "l2update",
                    "product_id": "SKL-USD",
                    "changes": [["buy", "99.0000", "1"]],
                    "time": "2021-04-17T16:43:40.000000Z",
                }
            ),
        )
        await self.until(lambda: self.hub.counters("coinbase")[Problem.CROSSED.value] == 1)
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.hub.counters("coinbase")["resyncs"], 1)
        self.assertIn(
            {"type": "unsubscribe", "product_ids": ["SKL-USD"], "channels": ["level2_batch"]},
            [json.loads(m) for m in self.sim.received],
        )
        self.assertEqual(self.sim.connections, 1)


class RateLimitTest(unittest.IsolatedAsyncioTestCase):
    async def test_a_429_pauses_every_call_for_its_retry_after(self):
        async with ExchangeSimulator(coinbase_protocol()) as sim:
            now, slept = [1000.0], []

            async def sleep(seconds):
                slept.append(seconds)
                now[0] += seconds

            client = RestClient("coinbase", sim.http_url, CoinbaseAdapter.rest_limit, clock=lambda: now[0], sleep=sleep)
            sim.fail_rest(429, {"Retry-After": "3"})
            with self.assertRaises(RateLimited) as raised:
                await client.call(Request("/products"))
            self.assertEqual(raised.exception.retry_after, 3.0)
            body = await client.call(Request("/products"))
            self.assertEqual(slept, [3.0])
            self.assertEqual(body, PROTOCOL.rest["/products"])
            self.assertEqual(sim.rest_calls, ["/products", "/products"])
            client.close()


if __name__ == "__main__":
    unittest.main()
