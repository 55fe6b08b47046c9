"""The Bitfinex adapter end to end: started as ``xwrap serve`` starts it, over real sockets, against
the loopback simulator replaying the real capture in Bitfinex's protocol (conf flags, channel ids,
a sequence number on every message, checksums after every book update). Each book is compared
with one rebuilt here from the same capture with plain json and a dict per side."""

import json
import unittest
from decimal import Decimal

from exchange_wrapper.connectors.rest import RestClient
from exchange_wrapper.core.errors import RateLimited
from exchange_wrapper.core.marketdata import Candle, FeedStatus, Problem
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.bitfinex.public import BitfinexAdapter
from exchange_wrapper.exchanges.http import Request
from tests.exchanges.feed_case import FeedCase, gone_while_away
from tests.simulator.bitfinex import bitfinex_protocol

RECORDING = bitfinex_protocol().recording
CHANNELS = {
    e["chanId"]: (e["channel"], e["symbol"])
    for e in map(json.loads, RECORDING)
    if isinstance(e, dict) and e.get("event") == "subscribed"
}
#: symbol -> unified pair of the followed books (tTESTBTC:TESTUSD is a test pair, not listed)
PAIRS = {
    "tBFTUSD": "BFT_USD",
    "tIOTETH": "IOTA_ETH",
    "tDOGUSD": "MDOGE_USD",
    "tMNABTC": "MANA_BTC",
    "tODEUSD": "ODE_USD",
    "tSNGUSD": "SNGLS_USD",
}
# Made up in the documented form (the capture has no trade after its snapshots): a taker sell at
# BFT/USD's recorded best bid, as "te" then the same trade again as "tu".
TRADE = [670158211, 1618677551234, -1250.5, 0.068965]
MADE_UP_AT = 900


def with_trades(messages):
    trades_channel = next(c for c, key in CHANNELS.items() if key == ("trades", "tBFTUSD"))
    made_up = [json.dumps([trades_channel, kind, TRADE, 0], separators=(",", ":")) for kind in ("te", "tu")]
    return messages[:MADE_UP_AT] + made_up + messages[MADE_UP_AT:]


def model_after(messages):
    """symbol -> (bids, asks) as {Decimal price: Decimal size} of the followed books, rebuilt from
    the raw messages."""
    books = {}
    for text in messages:
        msg = json.loads(text, parse_float=Decimal, parse_int=Decimal)
        if isinstance(msg, dict) or CHANNELS.get(msg[0], ("",))[0] != "book" or msg[1] == "hb":
            continue
        symbol = CHANNELS[msg[0]][1]
        if symbol not in PAIRS:
            continue
        if isinstance(msg[1][0], list):  # a snapshot
            books[symbol] = ({}, {})
            rows = msg[1]
        else:
            rows = [msg[1]]
        for price, count, amount in rows:
            levels = books[symbol][0 if amount > 0 else 1]
            if count:
                levels[price] = abs(amount)
            else:
                levels.pop(price, None)
    return books


FINAL = model_after(RECORDING)
#: The failure tests stream the first 850 recorded messages: every book's snapshot (the last at
#: 648) and 200 messages after it.
SHORT = 850
SHORT_FINAL = model_after(RECORDING[:SHORT])


class BitfinexFeedCase(FeedCase):
    exchange, final, length = "bitfinex", SHORT_FINAL, SHORT
    pairs = {symbol: Pair.parse(pair) for symbol, pair in PAIRS.items()}

    def make_protocol(self):
        protocol = bitfinex_protocol()
        del protocol.recording[self.length :]
        return protocol

    def sent(self):
        """What the feed sent, parsed."""
        return [json.loads(m) for m in self.sim.received]


def book_updates(messages):
    """How many recorded book updates of the followed books ``messages`` hold."""
    return sum(
        1
        for m in messages
        if not m.startswith("{")
        and CHANNELS.get(json.loads(m)[0]) in {("book", s) for s in PAIRS}
        and not m.partition(",")[2].startswith(("[[", '"hb"'))
    )


class StreamTest(BitfinexFeedCase):
    final, length = FINAL, len(RECORDING)

    def make_protocol(self):
        protocol = super().make_protocol()
        protocol.recording[:] = with_trades(protocol.recording)
        return protocol

    async def test_books_trades_and_tickers_from_the_stream_equal_the_capture_read_independently(self):
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 1)
        counters = self.counters()
        self.assertEqual(
            (
                counters["resyncs"],
                counters["reconnects"],
                counters[Problem.SEQUENCE_GAP.value],
                counters[Problem.CROSSED.value],
                counters["exchange_error"],
            ),
            (0, 0, 0, 0, 0),
        )
        # every book update came with its checksum, and each one matched the book
        self.assertEqual(counters["checksums_verified"], book_updates(RECORDING))
        self.assertEqual(counters["checksums_failed"], 0)
        self.assertEqual(self.hub.status("bitfinex", 0), (FeedStatus.READY, f"streaming from {self.sim.ws_url}"))
        self.assertEqual(self.sent()[0], {"event": "conf", "flags": 65536 + 131072})
        self.assertEqual(
            sorted((m["channel"], m["symbol"]) for m in self.sent()[1:]),
            sorted((channel, s) for channel in ("book", "trades", "ticker") for s in PAIRS),
        )
        # the trade counted once (te, not tu); the snapshots of past trades not at all
        data = self.hub.exchange("bitfinex")
        self.assertEqual(counters["trades"], 1)
        [trade] = data.trades[Pair("BFT", "USD")]
        self.assertEqual(
            (trade.trade_id, trade.price, trade.size, trade.taker_side.value, trade.time),
            ("670158211", Decimal("0.068965"), Decimal("1250.5"), "sell", 1618677551.234),
        )
        # the last ticker of a pair, as the raw message says
        tickers = [
            (CHANNELS[msg[0]][1], msg[1])
            for msg in (
                json.loads(m, parse_float=Decimal, parse_int=Decimal) for m in RECORDING if not m.startswith("{")
            )
            if CHANNELS.get(msg[0], ("",))[0] == "ticker" and isinstance(msg[1], list)
        ]
        self.assertEqual(counters["tickers"], sum(symbol in PAIRS for symbol, _ in tickers))
        last = [values for symbol, values in tickers if symbol == "tDOGUSD"][-1]
        ticker = data.tickers[Pair("MDOGE", "USD")]
        self.assertEqual(
            (ticker.bid, ticker.bid_size, ticker.ask, ticker.last, ticker.volume_24h),
            (last[0], last[1], last[2], last[6], last[7]),
        )


def changed_prices(messages):
    """symbol -> every price a book update of ``messages`` touches."""
    prices = {}
    for text in messages:
        msg = json.loads(text, parse_float=Decimal, parse_int=Decimal)
        if (
            isinstance(msg, list)
            and CHANNELS.get(msg[0], ("",))[0] == "book"
            and isinstance(msg[1], list)
            and not isinstance(msg[1][0], list)
        ):
            prices.setdefault(CHANNELS[msg[0]][1], set()).add(msg[1][0])
    return prices


class DropTest(BitfinexFeedCase):
    async def test_a_dropped_stream_reconnects_and_no_stale_level_survives(self):
        skip = 250
        self.sim.drop_after(400, skip=skip)
        await self.finished_and_live()
        self.assertBooksAre(self.final)
        self.assertEqual(self.sim.connections, 2)
        # Levels the book held at the drop that were removed while it was away: the removals were
        # missed, only the new snapshot leaves them out.
        gone = gone_while_away(model_after, changed_prices, self.protocol.recording, self.sim.stopped_at, skip)
        self.assertGreater(sum(map(len, gone.values())), 10)
        for symbol, prices in gone.items():
            for price in prices:
                self.assertEqual((self.book(symbol).bids.size_at(price), self.book(symbol).asks.size_at(price)), (0, 0))
        counters = self.counters()
        self.assertEqual(counters["reconnects"], 1)
        self.assertEqual(counters[Problem.DISCONNECTED.value], len(PAIRS))
        self.assertEqual((counters["resyncs"], counters[Problem.SEQUENCE_GAP.value]), (0, 0))  # a new sequence
        self.assertEqual(sum(m == {"event": "conf", "flags": 196608} for m in self.sent()), 2)


class SilenceTest(BitfinexFeedCase):
    silence = 0.3

    async def test_a_silent_feed_is_detected_and_the_books_resync(self):
        self.sim.silence_after(400, skip=150)
        with self.assertLogs("exchange_wrapper.marketdata.hub", level="WARNING") as logs:
            await self.until(lambda: self.counters()[Problem.SILENT.value] > 0, timeout=3)
            await self.finished_and_live()
        self.assertBooksAre(self.final)
        self.assertEqual(self.counters()[Problem.SILENT.value], len(PAIRS))
        self.assertEqual(
            sorted(logs.output),
            sorted(
                [
                    f"WARNING:exchange_wrapper.marketdata.hub:bitfinex {pair} book stale, resyncing: "
                    "silent_feed: no message in 0.3 s"
                    for pair in PAIRS.values()
                ]
                + [
                    "WARNING:exchange_wrapper.marketdata.hub:bitfinex market data down: "
                    "silent feed: no message in 0.3 s"
                ]
            ),
        )
        self.assertEqual(self.sim.connections, 2)
        self.assertEqual(self.counters()["reconnects"], 1)


class SequenceGapTest(BitfinexFeedCase):
    async def test_a_lost_message_resyncs_every_book_on_the_same_connection(self):
        self.protocol.lose_message(after=650)
        with self.assertLogs("exchange_wrapper.marketdata.hub", level="WARNING") as logs:
            await self.until(lambda: self.counters()[Problem.SEQUENCE_GAP.value] > 0)
            await self.finished_and_live()
        self.assertBooksAre(self.final)
        counters = self.counters()
        self.assertEqual((counters[Problem.SEQUENCE_GAP.value], counters["resyncs"]), (len(PAIRS), len(PAIRS)))
        self.assertEqual(counters["exchange_error"], 0)  # no subscription refused (no "subscribe: dup")
        gap_logs = [line for line in logs.output if "sequence_gap" in line]
        self.assertEqual(len(gap_logs), len(PAIRS))
        self.assertRegex(gap_logs[0], r"sequence_gap: message (\d+) after \d+$")
        # each book's channel unsubscribed by its id and the book subscribed again
        sent = self.sent()
        unsubscribed = [m["chanId"] for m in sent if m["event"] == "unsubscribe"]
        self.assertEqual(sorted(CHANNELS[c] for c in unsubscribed), sorted(("book", s) for s in PAIRS))
        self.assertEqual(sum(m.get("channel") == "book" for m in sent), 2 * len(PAIRS))
        self.assertEqual(self.sim.connections, 1)


class ChecksumTest(BitfinexFeedCase):
    async def test_a_wrong_checksum_is_caught_and_the_book_resubscribed(self):
        self.protocol.corrupt_checksum(after=700)
        await self.until(lambda: self.counters()[Problem.CHECKSUM.value] == 1)
        await self.finished_and_live()
        self.assertBooksAre(self.final)
        counters = self.counters()
        self.assertEqual((counters["checksums_failed"], counters["resyncs"], counters["exchange_error"]), (1, 1, 0))
        self.assertGreater(counters["checksums_verified"], 600, counters)
        [unsubscribe] = [m for m in self.sent() if m["event"] == "unsubscribe"]
        channel, symbol = CHANNELS[unsubscribe["chanId"]]
        self.assertEqual(channel, "book")
        self.assertEqual(sum(m.get("channel") == "book" and m["symbol"] == symbol for m in self.sent()), 2)
        self.assertEqual(self.sim.connections, 1)


class RestTest(BitfinexFeedCase):
    def make_protocol(self):
        protocol = super().make_protocol()
        # the two candles of the docs' example (docs.bitfinex.com, Candles), newest first as by default
        protocol.rest["/v2/candles/trade:1m:tIOTETH/hist"] = (
            "[[1574698260000,7379.785503,7383.8,7388.3,7379.785503,1.68829482],"
            "[1574698200000,7399.9,7379.7,7399.9,7371.8,41.63633658]]"
        )
        return protocol

    async def test_candles_over_rest(self):
        feed = self.feeds["bitfinex"]
        await self.until(lambda: feed.adapter is not None)
        candles = await feed.candles(Pair("IOTA", "ETH"), 60, 1574698200, 1574698260)
        self.assertEqual(
            candles,
            [
                Candle(
                    Pair("IOTA", "ETH"),
                    1574698200,
                    60,
                    Decimal("7399.9"),
                    Decimal("7399.9"),
                    Decimal("7371.8"),
                    Decimal("7379.7"),
                    Decimal("41.63633658"),
                ),
                Candle(
                    Pair("IOTA", "ETH"),
                    1574698260,
                    60,
                    Decimal("7379.785503"),
                    Decimal("7388.3"),
                    Decimal("7379.785503"),
                    Decimal("7383.8"),
                    Decimal("1.68829482"),
                ),
            ],
        )
        self.assertEqual(
            self.sim.rest_calls,
            [
                "/v2/conf/pub:list:pair:exchange",
                "/v2/candles/trade:1m:tIOTETH/hist?start=1574698200000&end=1574698260000&limit=2&sort=1",
            ],
        )

    async def test_a_429_without_retry_after_pauses_every_call(self):
        # Bitfinex's 429 carries {"error": "ERR_RATE_LIMIT"} and no Retry-After (the block lasts
        # 10-60 s): the shared default pause applies, to every call
        now, slept = [1000.0], []

        async def sleep(seconds):
            slept.append(seconds)
            now[0] += seconds

        await self.until(lambda: self.feeds["bitfinex"].adapter is not None)  # the feed's own call is done
        client = RestClient(
            "bitfinex", self.sim.http_url, BitfinexAdapter.rest_limit, clock=lambda: now[0], sleep=sleep
        )
        self.addCleanup(client.close)
        self.sim.fail_rest(429)
        with self.assertRaises(RateLimited) as raised:
            await client.call(Request("/v2/candles/trade:1m:tIOTETH/hist", weight=3))
        self.assertEqual(raised.exception.retry_after, 10.0)
        body = await client.call(Request("/v2/candles/trade:1m:tIOTETH/hist", weight=3))
        self.assertEqual((slept, body), ([10.0], self.protocol.rest["/v2/candles/trade:1m:tIOTETH/hist"]))


if __name__ == "__main__":
    unittest.main()
