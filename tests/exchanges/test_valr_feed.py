"""The VALR adapter end to end: started as ``xwrap serve`` starts it, over real sockets, against the
loopback simulator replaying the VALR capture (made up, in VALR's documented formats:
tests/fixtures/README.md). Each book is compared with one rebuilt here from the same capture with
plain json and a dict per side.

The feed pings every 0.1 s here (20 s live): after the recording VALR sends nothing unasked, so its
pongs are all that keeps the feed from counting as silent."""

import asyncio
import json
import unittest
from decimal import Decimal

from exchange_wrapper.connectors.rest import RestClient
from exchange_wrapper.core.errors import RateLimited
from exchange_wrapper.core.marketdata import Candle, FeedStatus, Problem
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.times import parse_time
from exchange_wrapper.exchanges.http import Request
from exchange_wrapper.exchanges.valr.public import PING, ValrAdapter
from tests.exchanges.feed_case import AppPingFeedCase, SilenceCase, gone_while_away
from tests.simulator.candles import MadeUpCandles
from tests.simulator.server import CAPTURES, ExchangeSimulator
from tests.simulator.valr import valr_protocol

HUB_LOG = "exchange_wrapper.marketdata.hub"
PROTOCOL = valr_protocol()
RECORDING = [json.loads(message) for message in PROTOCOL.recording]
BOOK_MESSAGES = [msg for msg in RECORDING if msg["type"] in ("OB_L1_SNAPSHOT", "OB_L1_DIFF")]
PAIRS = {
    "BTCZAR": Pair("BTC", "ZAR"),
    "ETHZAR": Pair("ETH", "ZAR"),
    "BTCUSDC": Pair("BTC", "USDC"),
    "XRPZAR": Pair("XRP", "ZAR"),
}
SENT = [
    line.partition(": ")[2]
    for line in (CAPTURES / "VALR.ws.0.0").read_text().splitlines()
    if " <- " in line.partition(": ")[0]
]
BTC = Pair("BTC", "ZAR")


def model_after(messages):
    """symbol -> (bids, asks) as {Decimal price: Decimal size}, rebuilt from the parsed messages."""
    books = {}
    for msg in messages:
        if msg["type"] not in ("OB_L1_SNAPSHOT", "OB_L1_DIFF"):
            continue
        symbol, data = msg["ps"], msg["d"]
        if msg["type"] == "OB_L1_SNAPSHOT":
            books[symbol] = ({}, {})
        for levels, rows in zip(books[symbol], (data["b"], data["a"])):
            for price, size in rows:
                levels[Decimal(price)] = Decimal(size)
                if not Decimal(size):
                    del levels[Decimal(price)]
    return books


def changed_prices(messages):
    """symbol -> every price a diff of ``messages`` touches."""
    prices = {}
    for msg in messages:
        if msg["type"] == "OB_L1_DIFF":
            prices.setdefault(msg["ps"], set()).update(Decimal(level[0]) for side in "ba" for level in msg["d"][side])
    return prices


def diffs_of(symbol):
    return [msg["d"] for msg in BOOK_MESSAGES if msg["ps"] == symbol and msg["type"] == "OB_L1_DIFF"]


FINAL = model_after(RECORDING)


class ValrFeedCase(AppPingFeedCase):
    exchange, pairs, final, adapter_class = "valr", PAIRS, FINAL, ValrAdapter

    def make_protocol(self):
        return valr_protocol()


class StreamTest(ValrFeedCase):
    async def test_books_trades_and_summaries_equal_the_capture_and_every_checksum_is_checked(self):
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 1)
        self.assertEqual(self.requests(), SENT)  # what the adapter sends is what the capture's client sent
        counters = self.counters()
        self.assertEqual((counters["checksums_verified"], counters["checksums_failed"]), (len(BOOK_MESSAGES), 0))
        self.assertEqual((counters["resyncs"], counters["reconnects"], counters[Problem.SEQUENCE_GAP.value]), (0, 0, 0))
        trades = [msg["data"] for msg in RECORDING if msg["type"] == "NEW_TRADE"]
        self.assertEqual(counters["trades"], len(trades))
        data = self.hub.exchange("valr")
        self.assertEqual(
            [(t.trade_id, t.price, t.size, t.taker_side.value, t.time) for t in data.trades[BTC]][-5:],
            [
                (t["id"], Decimal(t["price"]), Decimal(t["quantity"]), t["takerSide"], parse_time("t", t["tradedAt"]))
                for t in trades
                if t["currencyPair"] == "BTCZAR"
            ][-5:],
        )
        last_summary = [
            msg["data"]
            for msg in RECORDING
            if msg["type"] == "MARKET_SUMMARY_UPDATE" and msg["currencyPairSymbol"] == "ETHZAR"
        ][-1]
        ticker = data.tickers[Pair("ETH", "ZAR")]
        self.assertEqual(
            (ticker.bid, ticker.ask, ticker.last, ticker.volume_24h),
            tuple(Decimal(last_summary[name]) for name in ("bidPrice", "askPrice", "lastTradedPrice", "baseVolume")),
        )
        # nothing comes after the recording but the pongs: the feed stays up past its silence timeout
        pings = self.sim.received.count(PING)
        await asyncio.sleep(3 * self.silence)
        self.assertGreater(self.sim.received.count(PING), pings + 5)
        self.assertEqual(self.hub.status("valr", 0), (FeedStatus.READY, f"streaming from {self.sim.ws_url}"))

    async def test_candles_over_rest(self):
        start = 1_795_262_400
        self.protocol.candles["BTCZAR"] = MadeUpCandles(start, start + 3600, price=Decimal("1700000"), places=0)
        await self.until(lambda: self.feeds["valr"].adapter is not None)
        candles = await self.feeds["valr"].candles(BTC, 60, start + 600, start + 1200)
        made_up = self.protocol.candles["BTCZAR"].between(start + 600, start + 1199)
        self.assertEqual(candles, [Candle(BTC, m.start, 60, m.open, m.high, m.low, m.close, m.volume) for m in made_up])
        self.assertEqual(
            self.sim.rest_calls[-1],
            f"/v1/public/BTCZAR/buckets?periodSeconds=60&startTime={start + 600}&endTime={start + 1199}",
        )


class DropTest(ValrFeedCase):
    async def test_a_dropped_stream_reconnects_and_no_stale_level_survives(self):
        skip = 300
        self.sim.drop_after(700, skip=skip)
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 2)
        gone = gone_while_away(model_after, changed_prices, RECORDING, self.sim.stopped_at, skip)
        self.assertGreater(sum(map(len, gone.values())), 10)
        for symbol, prices in gone.items():
            for price in prices:
                book = self.book(symbol)
                self.assertEqual((book.bids.size_at(price), book.asks.size_at(price)), (0, 0))
        counters = self.counters()
        self.assertEqual((counters["reconnects"], counters[Problem.DISCONNECTED.value]), (1, len(PAIRS)))
        self.assertEqual((counters["resyncs"], counters["checksums_failed"]), (0, 0))  # a reconnect is no resync
        self.assertEqual(self.requests(), SENT + SENT)  # subscribed again, the same way


class ResyncCase(ValrFeedCase):
    async def repaired(self, symbol, problem):
        """Wait until ``problem`` has made ``symbol``'s book stale once and the stream has ended;
        check that its book alone left the book event's pairs and joined them again on the same
        connection, and every book is final. Returns the warning logged, and the checksum
        failures counted."""
        with self.assertLogs(HUB_LOG, level="WARNING") as logs:
            await self.until(lambda: self.counters()[problem.value] == 1)
            await self.finished_and_live()
        self.assertBooksAre(FINAL)
        others = [other for other in PAIRS if other != symbol]
        self.assertEqual(
            [json.loads(m) for m in self.requests()[len(SENT) :]],
            [
                {"type": "SUBSCRIBE", "subscriptions": [{"event": "OB_L1_DIFF", "pairs": pairs}]}
                for pairs in (others, list(PAIRS))
            ],
        )
        self.assertEqual((self.counters()["resyncs"], self.sim.connections), (1, 1))
        [warning] = logs.output
        return warning, self.counters()["checksums_failed"]


class GapTest(ResyncCase):
    async def test_a_lost_diff_breaks_the_sequence_and_the_book_is_resubscribed(self):
        lost, following = diffs_of("ETHZAR")[150:152]
        self.protocol.lose_update("ETHZAR", lost["sq"])
        self.assertEqual(following["sq"], lost["sq"] + 1)
        self.assertEqual(
            await self.repaired("ETHZAR", Problem.SEQUENCE_GAP),
            (
                f"WARNING:{HUB_LOG}:valr ETH_ZAR book stale, resyncing: sequence_gap: update {following['sq']} "
                f"does not follow {lost['sq'] - 1}",
                0,
            ),
        )


class ChecksumTest(ResyncCase):
    async def test_a_wrong_checksum_is_caught_and_the_book_is_resubscribed(self):
        spoiled = diffs_of("BTCUSDC")[100]
        self.protocol.spoil_checksum("BTCUSDC", spoiled["sq"])
        warning, failed = await self.repaired("BTCUSDC", Problem.CHECKSUM)
        [sent] = self.protocol.spoiled
        wrong = json.loads(sent)["d"]["cs"]
        self.assertNotEqual(wrong, spoiled["cs"])
        self.assertEqual(
            (warning, failed),
            (
                f"WARNING:{HUB_LOG}:valr BTC_USDC book stale, resyncing: checksum_mismatch: exchange checksum "
                f"{wrong}, book's {spoiled['cs']}",
                1,
            ),
        )


class SilenceTest(SilenceCase, ValrFeedCase):
    pass


class RateLimitTest(unittest.IsolatedAsyncioTestCase):
    async def test_a_429_pauses_every_call(self):
        async with ExchangeSimulator(valr_protocol()) as sim:
            now, slept = [1000.0], []

            async def sleep(seconds):
                slept.append(seconds)
                now[0] += seconds

            client = RestClient("valr", sim.http_url, ValrAdapter.rest_limit, clock=lambda: now[0], sleep=sleep)
            self.addCleanup(client.close)
            sim.fail_rest(429, {"x-valr-ratelimited": "true"})
            request = Request("/v1/public/pairs")
            with self.assertRaises(RateLimited) as raised:
                await client.call(request)
            self.assertEqual(raised.exception.retry_after, 10.0)  # no Retry-After: the default pause
            body = await client.call(request)
            self.assertEqual(slept, [10.0])
            self.assertEqual(json.loads(body)[0]["symbol"], "BTCZAR")


if __name__ == "__main__":
    unittest.main()
