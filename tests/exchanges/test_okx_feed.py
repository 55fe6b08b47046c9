"""The OKX adapter end to end: started as ``xwrap serve`` starts it, over real sockets, against the
loopback simulator replaying the OKX capture (made up, in OKX's documented v5 formats:
tests/fixtures/README.md). Each book is compared with one rebuilt here from the same capture with
plain json and a dict per side.

The feed pings every 0.1 s here (15 s live): after the recording OKX sends nothing unasked, so its
pongs are all that keeps the feed from counting as silent."""

import asyncio
import json
import unittest
from decimal import Decimal

from exchange_wrapper.connectors.rest import RestClient
from exchange_wrapper.core.errors import RateLimited
from exchange_wrapper.core.marketdata import Candle, FeedStatus, Problem
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.http import Request
from exchange_wrapper.exchanges.okx.public import OkxAdapter
from tests.exchanges.feed_case import AppPingFeedCase, SilenceCase, gone_while_away
from tests.simulator.candles import MadeUpCandles
from tests.simulator.okx import CANDLES_PATH, okx_protocol
from tests.simulator.server import CAPTURES, ExchangeSimulator

HUB_LOG = "exchange_wrapper.marketdata.hub"
PROTOCOL = okx_protocol()
RECORDING = [json.loads(message) for message in PROTOCOL.recording]
BOOK_MESSAGES = [msg for msg in RECORDING if msg.get("arg", {}).get("channel") == "books" and "data" in msg]
INST_IDS = sorted({msg["arg"]["instId"] for msg in BOOK_MESSAGES})
PAIRS = {inst_id: Pair(*inst_id.split("-")) for inst_id in INST_IDS}  # OKX's instIds are the common codes
SENT = [
    line.partition(": ")[2]
    for line in (CAPTURES / "OKX.ws.0.0").read_text().splitlines()
    if " <- " in line.partition(": ")[0]
]
BTC = Pair("BTC", "USDT")


def model_after(messages):
    """instId -> (bids, asks) as {Decimal price: Decimal size}, rebuilt from the parsed messages."""
    books = {}
    for msg in messages:
        if msg.get("arg", {}).get("channel") != "books" or "data" not in msg:
            continue
        inst_id, [data] = msg["arg"]["instId"], msg["data"]
        if msg["action"] == "snapshot":
            books[inst_id] = ({}, {})
        for levels, rows in zip(books[inst_id], (data["bids"], data["asks"])):
            for price, size, *_ in rows:
                levels[Decimal(price)] = Decimal(size)
                if not Decimal(size):
                    del levels[Decimal(price)]
    return books


def changed_prices(messages):
    """instId -> every price a book update of ``messages`` touches."""
    prices = {}
    for msg in messages:
        if msg.get("action") == "update":
            data = msg["data"][0]
            prices.setdefault(msg["arg"]["instId"], set()).update(
                Decimal(level[0]) for side in ("bids", "asks") for level in data[side]
            )
    return prices


def updates_of(inst_id):
    """The book updates of ``inst_id`` that change something (the others repeat the last seqId)."""
    return [
        msg["data"][0]
        for msg in BOOK_MESSAGES
        if msg["arg"]["instId"] == inst_id
        and msg["action"] == "update"
        and msg["data"][0]["seqId"] > msg["data"][0]["prevSeqId"]
    ]


FINAL = model_after(RECORDING)


class OkxFeedCase(AppPingFeedCase):
    exchange, pairs, final, adapter_class = "okx", PAIRS, FINAL, OkxAdapter

    def make_protocol(self):
        return okx_protocol()


class StreamTest(OkxFeedCase):
    async def test_books_trades_and_tickers_equal_the_capture_and_every_checksum_is_checked(self):
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 1)
        self.assertEqual(self.requests(), SENT)  # what the adapter sends is what the capture's client sent
        counters = self.counters()
        # every books message, the snapshots, the "no update" ones and the sequence reset included
        self.assertEqual((counters["checksums_verified"], counters["checksums_failed"]), (len(BOOK_MESSAGES), 0))
        self.assertEqual((counters["resyncs"], counters["reconnects"], counters[Problem.SEQUENCE_GAP.value]), (0, 0, 0))
        trades = [t for msg in RECORDING if msg.get("arg", {}).get("channel") == "trades" for t in msg.get("data", ())]
        self.assertEqual(counters["trades"], len(trades))
        data = self.hub.exchange("okx")
        self.assertEqual(
            [(t.trade_id, t.price, t.size, t.taker_side.value, t.time) for t in data.trades[BTC]][-5:],
            [
                (t["tradeId"], Decimal(t["px"]), Decimal(t["sz"]), t["side"], int(t["ts"]) / 1000)
                for t in trades
                if t["instId"] == "BTC-USDT"
            ][-5:],
        )
        [last_ticker] = [
            msg["data"]
            for msg in RECORDING
            if msg.get("arg") == {"channel": "tickers", "instId": "SOL-USDT"} and "data" in msg
        ][-1]
        ticker = data.tickers[Pair("SOL", "USDT")]
        self.assertEqual(
            (ticker.bid, ticker.bid_size, ticker.ask, ticker.ask_size, ticker.last, ticker.volume_24h, ticker.time),
            tuple(Decimal(last_ticker[name]) for name in ("bidPx", "bidSz", "askPx", "askSz", "last", "vol24h"))
            + (int(last_ticker["ts"]) / 1000,),
        )
        # nothing comes after the recording but the pongs: the feed stays up past its silence timeout
        pings = self.sim.received.count("ping")
        await asyncio.sleep(3 * self.silence)
        self.assertGreater(self.sim.received.count("ping"), pings + 5)
        self.assertEqual(self.hub.status("okx", 0), (FeedStatus.READY, f"streaming from {self.sim.ws_url}"))

    async def test_candles_over_rest(self):
        start = 1_795_262_400
        self.protocol.candles["BTC-USDT"] = MadeUpCandles(start, start + 3600, price=Decimal("97000.0"), places=1)
        await self.until(lambda: self.feeds["okx"].adapter is not None)
        candles = await self.feeds["okx"].candles(BTC, 60, start + 600, start + 1200)
        made_up = self.protocol.candles["BTC-USDT"].between(start + 600, start + 1199)
        self.assertEqual(candles, [Candle(BTC, m.start, 60, m.open, m.high, m.low, m.close, m.volume) for m in made_up])
        self.assertEqual(
            self.sim.rest_calls[-1],
            f"{CANDLES_PATH}?instId=BTC-USDT&bar=1m&before={(start + 600) * 1000 - 1}&after={(start + 1200) * 1000}"
            "&limit=100",
        )


class DropTest(OkxFeedCase):
    async def test_a_dropped_stream_reconnects_and_no_stale_level_survives(self):
        skip = 300
        self.sim.drop_after(700, skip=skip)
        await self.finished_and_live()
        self.assertBooksAre(FINAL)
        self.assertEqual(self.sim.connections, 2)
        gone = gone_while_away(model_after, changed_prices, RECORDING, self.sim.stopped_at, skip)
        self.assertGreater(sum(map(len, gone.values())), 10)
        for inst_id, prices in gone.items():
            for price in prices:
                book = self.book(inst_id)
                self.assertEqual((book.bids.size_at(price), book.asks.size_at(price)), (0, 0))
        counters = self.counters()
        self.assertEqual((counters["reconnects"], counters[Problem.DISCONNECTED.value]), (1, len(PAIRS)))
        self.assertEqual((counters["resyncs"], counters["checksums_failed"]), (0, 0))  # a reconnect is no resync
        self.assertEqual(self.requests(), SENT + SENT)  # subscribed again, the same way


class ResyncCase(OkxFeedCase):
    async def repaired(self, inst_id, problem):
        """Wait until ``problem`` has made ``inst_id``'s book stale once and the stream has ended;
        check that the book alone was resubscribed on the same connection and every book is final.
        Returns the warning logged, and the checksum failures counted."""
        with self.assertLogs(HUB_LOG, level="WARNING") as logs:
            await self.until(lambda: self.counters()[problem.value] == 1)
            await self.finished_and_live()
        self.assertBooksAre(FINAL)
        book_args = [{"channel": "books", "instId": inst_id}]
        self.assertEqual(
            [json.loads(m) for m in self.requests()[len(SENT) :]],
            [{"op": "unsubscribe", "args": book_args}, {"op": "subscribe", "args": book_args}],
        )
        self.assertEqual((self.counters()["resyncs"], self.sim.connections), (1, 1))
        [warning] = logs.output
        return warning, self.counters()["checksums_failed"]


class GapTest(ResyncCase):
    async def test_a_lost_update_breaks_the_chain_and_the_book_is_resubscribed(self):
        lost, following = updates_of("ETH-USDT")[150:152]
        self.protocol.lose_update("ETH-USDT", lost["seqId"])
        self.assertEqual(
            await self.repaired("ETH-USDT", Problem.SEQUENCE_GAP),
            (
                f"WARNING:{HUB_LOG}:okx ETH_USDT book stale, resyncing: sequence_gap: update {following['seqId']} "
                f"follows {lost['seqId']}, not {lost['prevSeqId']}",
                0,
            ),
        )


class ChecksumTest(ResyncCase):
    async def test_a_wrong_checksum_is_caught_and_the_book_is_resubscribed(self):
        spoiled = updates_of("SOL-USDT")[100]
        self.protocol.spoil_checksum("SOL-USDT", spoiled["seqId"])
        warning, failed = await self.repaired("SOL-USDT", Problem.CHECKSUM)
        [sent] = self.protocol.spoiled
        wrong = json.loads(sent)["data"][0]["checksum"]
        self.assertNotEqual(wrong, spoiled["checksum"])
        self.assertEqual(
            (warning, failed),
            (
                f"WARNING:{HUB_LOG}:okx SOL_USDT book stale, resyncing: checksum_mismatch: exchange checksum "
                f"{wrong}, book's {spoiled['checksum']}",
                1,
            ),
        )


class SilenceTest(SilenceCase, OkxFeedCase):
    pass


class RateLimitTest(unittest.IsolatedAsyncioTestCase):
    async def test_a_429_pauses_every_call(self):
        async with ExchangeSimulator(okx_protocol()) as sim:
            now, slept = [1000.0], []

            async def sleep(seconds):
                slept.append(seconds)
                now[0] += seconds

            client = RestClient("okx", sim.http_url, OkxAdapter.rest_limit, clock=lambda: now[0], sleep=sleep)
            self.addCleanup(client.close)
            sim.fail_rest(429, {"Retry-After": "2"})
            request = Request(CANDLES_PATH, {"instId": "BTC-USDT", "bar": "1m"})
            with self.assertRaises(RateLimited) as raised:
                await client.call(request)
            self.assertEqual(raised.exception.retry_after, 2.0)
            body = await client.call(request)
            self.assertEqual(slept, [2.0])
            self.assertEqual(json.loads(body)["code"], "0")


if __name__ == "__main__":
    unittest.main()
