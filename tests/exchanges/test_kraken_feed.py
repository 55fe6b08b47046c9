"""The Kraken adapter end to end: started as ``xwrap serve`` starts it, over real sockets, against
the loopback simulator replaying the Kraken capture (synthetic, in Kraken's documented v2 formats:
tests/fixtures/README.md). Each book is compared with one rebuilt here from the same capture with
plain json, a dict per side and the truncation to the subscribed depth that Kraken's guide asks for."""

import asyncio
import json
import unittest
from decimal import Decimal

from exchange_wrapper.connectors.feed import ExchangeFeed
from exchange_wrapper.core.errors import RateLimited
from exchange_wrapper.core.marketdata import Candle, FeedStatus, Problem
from exchange_wrapper.core.pacing import Backoff
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.kraken.public import KrakenAdapter
from tests.exchanges.feed_case import FeedCase, gone_while_away
from tests.simulator.kraken import kraken_protocol
from tests.simulator.server import CAPTURES

PROTOCOL = kraken_protocol()
RECORDING = [json.loads(m, parse_float=Decimal) for m in PROTOCOL.recording]
SYMBOLS = sorted({m["data"][0]["symbol"] for m in RECORDING if m.get("channel") == "book"})
PAIRS = {symbol: Pair(*symbol.split("/")) for symbol in SYMBOLS}  # v2 names are the common codes
DEPTH = next(
    m["result"]["depth"] for m in RECORDING if m.get("method") == "subscribe" and m["result"]["channel"] == "book"
)
SENT = [
    line.partition(": ")[2]
    for line in (CAPTURES / "KRAKEN.ws.0.0").read_text().splitlines()
    if " <- " in line.partition(": ")[0]
]


def model_after(messages):
    """symbol -> (bids, asks) as {Decimal price: Decimal qty}, rebuilt from the parsed messages."""
    books = {}
    for msg in messages:
        if msg.get("channel") != "book":
            continue
        for data in msg["data"]:
            if msg["type"] == "snapshot":
                books[data["symbol"]] = tuple(
                    {level["price"]: level["qty"] for level in data[side]} for side in ("bids", "asks")
                )
                continue
            for index, side in enumerate(("bids", "asks")):
                levels = books[data["symbol"]][index]
                for level in data[side]:
                    if level["qty"]:
                        levels[level["price"]] = level["qty"]
                    else:
                        levels.pop(level["price"], None)
                for price in sorted(levels, reverse=side == "bids")[DEPTH:]:  # out of the depth
                    del levels[price]
    return books


FINAL = model_after(RECORDING)
BOOK_MESSAGES = sum(m.get("channel") == "book" for m in RECORDING)


class KrakenFeedCase(FeedCase):
    exchange, pairs, final = "kraken", PAIRS, FINAL

    def make_protocol(self):
        return kraken_protocol()

    def assertBooksAre(self, expected):
        super().assertBooksAre(expected)
        for symbol in SYMBOLS:  # Kraken sends no removal for levels pushed out: the feed trims them
            self.assertEqual((len(self.book(symbol).bids), len(self.book(symbol).asks)), (DEPTH, DEPTH))


class StreamTest(KrakenFeedCase):
    async def test_books_trades_and_tickers_from_the_stream_equal_the_capture_read_independently(self):
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 1)
        counters = self.counters()
        # every book message carries a checksum, the snapshots' included: each one was checked
        self.assertEqual((counters["checksums_verified"], counters["checksums_failed"]), (BOOK_MESSAGES, 0))
        self.assertEqual((counters["resyncs"], counters["reconnects"], counters[Problem.CHECKSUM.value]), (0, 0, 0))
        self.assertEqual(counters["trades"], sum(len(m["data"]) for m in RECORDING if m.get("channel") == "trade"))
        self.assertEqual(self.hub.status("kraken", 0), (FeedStatus.READY, f"streaming from {self.sim.ws_url}"))
        self.assertEqual(self.sim.received, SENT)  # what the adapter sends is what the capture's client sent
        data = self.hub.exchange("kraken")
        last_trade = [
            t for m in RECORDING if m.get("channel") == "trade" for t in m["data"] if t["symbol"] == "ETH/BTC"
        ][-1]
        trade = data.trades[Pair("ETH", "BTC")][-1]
        self.assertEqual(
            (trade.trade_id, trade.price, trade.size, trade.taker_side.value),
            (str(last_trade["trade_id"]), last_trade["price"], last_trade["qty"], last_trade["side"]),
        )
        last_ticker = [
            m["data"][0] for m in RECORDING if m.get("channel") == "ticker" and m["data"][0]["symbol"] == "DOGE/USD"
        ][-1]
        ticker = data.tickers[Pair("DOGE", "USD")]
        self.assertEqual(
            (ticker.bid, ticker.ask, ticker.bid_size, ticker.last, ticker.volume_24h),
            (
                last_ticker["bid"],
                last_ticker["ask"],
                last_ticker["bid_qty"],
                last_ticker["last"],
                last_ticker["volume"],
            ),
        )


def changed_prices(messages):
    """symbol -> every price a book update of ``messages`` touches."""
    prices = {}
    for msg in messages:
        if msg.get("channel") == "book" and msg["type"] == "update":
            data = msg["data"][0]
            prices.setdefault(data["symbol"], set()).update(
                level["price"] for side in ("bids", "asks") for level in data[side]
            )
    return prices


class DropTest(KrakenFeedCase):
    async def test_a_dropped_stream_reconnects_and_no_stale_level_survives(self):
        skip = 400
        self.sim.drop_after(1000, skip=skip)
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 2)
        # Levels the book held at the drop that were removed while it was away: only the new
        # snapshot leaves them out.
        gone = gone_while_away(model_after, changed_prices, RECORDING, self.sim.stopped_at, skip)
        self.assertGreater(sum(map(len, gone.values())), 10)
        for symbol, prices in gone.items():
            for price in prices:
                self.assertEqual((self.book(symbol).bids.size_at(price), self.book(symbol).asks.size_at(price)), (0, 0))
        counters = self.counters()
        self.assertEqual((counters["reconnects"], counters[Problem.DISCONNECTED.value]), (1, len(SYMBOLS)))
        self.assertEqual((counters["resyncs"], counters["checksums_failed"]), (0, 0))  # a reconnect is no resync
        self.assertEqual(self.sim.received, SENT + SENT)  # subscribed again, the same way


class SilenceTest(KrakenFeedCase):
    silence = 0.3

    async def test_a_silent_feed_is_detected_and_the_books_resync(self):
        self.sim.silence_after(700, skip=200)
        with self.assertLogs("exchange_wrapper.marketdata.hub", level="WARNING") as logs:
            await self.until(lambda: self.counters()[Problem.SILENT.value] > 0, timeout=3)
            await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.counters()[Problem.SILENT.value], len(SYMBOLS))
        self.assertEqual(
            sorted(logs.output),
            sorted(
                [
                    f"WARNING:exchange_wrapper.marketdata.hub:kraken {PAIRS[s]} book stale, resyncing: "
                    "silent_feed: no message in 0.3 s"
                    for s in SYMBOLS
                ]
                + ["WARNING:exchange_wrapper.marketdata.hub:kraken market data down: silent feed: no message in 0.3 s"]
            ),
        )
        self.assertEqual((self.sim.connections, self.counters()["reconnects"]), (2, 1))


class ChecksumCase(KrakenFeedCase):
    """A book spoiled on the wire is caught by its checksum, logged once, and resubscribed on the
    same connection: Kraken's fresh snapshot brings it back."""

    async def caught_and_repaired(self, symbol):
        """(the spoiled message's data, the warning logged)."""
        with self.assertLogs("exchange_wrapper.marketdata.hub", level="WARNING") as logs:
            await self.until(lambda: self.counters()[Problem.CHECKSUM.value] == 1)
            await self.finished_and_live()
        self.assertBooksAre(FINAL)
        counters = self.counters()
        self.assertEqual(
            (counters["checksums_failed"], counters[Problem.CHECKSUM.value], counters["resyncs"]), (1, 1, 1)
        )
        self.assertEqual(self.sim.connections, 1)
        request = {"channel": "book", "symbol": [symbol], "depth": DEPTH}
        self.assertEqual(
            [json.loads(m) for m in self.sim.received[len(SENT) :]],
            [{"method": "unsubscribe", "params": request}, {"method": "subscribe", "params": request}],
        )
        [spoiled] = self.protocol.spoiled
        data = json.loads(spoiled, parse_float=Decimal)["data"][0]
        [warning] = logs.output
        self.assertTrue(
            warning.startswith(
                f"WARNING:exchange_wrapper.marketdata.hub:kraken {PAIRS[symbol]} book "
                f"stale, resyncing: checksum_mismatch: exchange checksum "
                f"{data['checksum']}, book's "
            ),
            warning,
        )
        return data, warning


class CorruptChecksumTest(ChecksumCase):
    async def test_a_wrong_checksum_is_caught_and_repaired_by_resubscribing(self):
        self.protocol.corrupt_checksum("SOL/USD")
        data, warning = await self.caught_and_repaired("SOL/USD")
        original = next(
            m["data"][0]
            for m in RECORDING
            if m.get("channel") == "book" and m["type"] == "update" and m["data"][0]["symbol"] == "SOL/USD"
        )
        self.assertEqual(data, {**original, "checksum": (original["checksum"] + 1) % 2**32})
        self.assertTrue(warning.endswith(f"book's {original['checksum']}"))  # the book itself was right


class DroppedLevelTest(ChecksumCase):
    async def test_an_update_missing_a_top_level_change_is_caught_and_repaired(self):
        self.protocol.drop_level("BTC/USD")
        data, _ = await self.caught_and_repaired("BTC/USD")
        original = next(
            m["data"][0]
            for m in RECORDING
            if m.get("channel") == "book"
            and m["data"][0]["timestamp"] == data["timestamp"]
            and m["data"][0]["symbol"] == "BTC/USD"
        )
        self.assertEqual(len(original["bids"]) + len(original["asks"]), len(data["bids"]) + len(data["asks"]) + 1)
        self.assertEqual(data["checksum"], original["checksum"])


class TruncatedSnapshotTest(ChecksumCase):
    async def test_a_snapshot_missing_a_level_is_caught_by_its_own_checksum(self):
        self.protocol.truncate_snapshot("ETH/BTC")
        data, _ = await self.caught_and_repaired("ETH/BTC")
        snapshot = next(
            m["data"][0] for m in RECORDING if m.get("type") == "snapshot" and m["data"][0]["symbol"] == "ETH/BTC"
        )
        self.assertEqual(data, {**snapshot, "bids": snapshot["bids"][1:]})


def candles_from_trades(symbol):
    """1-minute candles of ``symbol`` worked out from the capture's trade messages."""
    minutes = {}
    for msg in RECORDING:
        if msg.get("channel") == "trade":
            for trade in msg["data"]:
                if trade["symbol"] == symbol:
                    minute = int(Decimal(_unix(trade["timestamp"])) // 60 * 60)
                    minutes.setdefault(minute, []).append(trade)
    return [
        Candle(
            PAIRS[symbol],
            minute,
            60,
            trades[0]["price"],
            max(t["price"] for t in trades),
            min(t["price"] for t in trades),
            trades[-1]["price"],
            sum(t["qty"] for t in trades),
        )
        for minute, trades in sorted(minutes.items())
    ]


def _unix(timestamp):
    from datetime import datetime

    return datetime.fromisoformat(timestamp).timestamp()


class RestTest(KrakenFeedCase):
    """Kraken's REST: its public limit (one call a second per IP) paces the calls, its in-body rate
    limit error is raised as RateLimited, and OHLC candles come back as the trades made them."""

    def start(self):
        self.now, self.slept = [1_790_337_700.0], []

        async def sleep(seconds):
            self.slept.append(seconds)
            self.now[0] += seconds
            await asyncio.sleep(0)

        feed = ExchangeFeed(
            KrakenAdapter,
            self.settings.exchange("kraken"),
            self.hub,
            clock=lambda: self.now[0],
            sleep=sleep,
            backoff=Backoff(0.01, 0.05),
        )
        feed.start()
        return {"kraken": feed}

    async def test_calls_are_paced_and_the_rate_limit_error_is_raised(self):
        feed = self.feeds["kraken"]
        await self.until(lambda: feed.adapter is not None)
        start, end = 1_790_337_600, 1_790_337_720
        self.protocol.rest_errors.append("EGeneral:Too many requests")
        with self.assertRaises(RateLimited) as raised:
            await feed.candles(Pair("ETH", "BTC"), 60, start, end)
        self.assertEqual(raised.exception.retry_after, 10.0)
        candles = await feed.candles(Pair("ETH", "BTC"), 60, start, end)
        expected = candles_from_trades("ETH/BTC")
        self.assertEqual((candles, len(candles)), (expected, 2))  # the capture spans two minutes
        later = await feed.candles(Pair("ETH", "BTC"), 60, start + 60, end)  # from the second minute on
        self.assertEqual(later, expected[1:])
        # AssetPairs at once, then one call a second: Kraken's public limit
        self.assertEqual(self.slept, [1.0, 1.0, 1.0])
        self.assertEqual(
            [call.partition("?")[0] for call in self.sim.rest_calls], ["/0/public/AssetPairs"] + ["/0/public/OHLC"] * 3
        )
        self.assertEqual(self.sim.rest_calls[-1], f"/0/public/OHLC?pair=XETHXXBT&interval=1&since={start + 59}")


if __name__ == "__main__":
    unittest.main()
