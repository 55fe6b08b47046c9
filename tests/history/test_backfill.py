"""Backfill against the five exchanges' simulators over real sockets, into the database sink.

Each exchange serves a made-up day of 1-minute candles (tests/simulator/candles.py: no capture holds
one) in its own rows and paging rules; the backfill must ask it in pages of its size, store every
candle exactly, count the minutes without one, skip what is stored on a rerun, resume after an
error, wait out a 429, and say what the exchange cannot serve (Kraken beyond its 720 intervals).
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import os
import signal
import sys
import unittest
from decimal import Decimal
from operator import itemgetter

from exchange_wrapper.config import ExchangeSettings, load_settings
from exchange_wrapper.connectors.feed import ExchangeFeed
from exchange_wrapper.connectors.rest import RestClient
from exchange_wrapper.core.errors import ConfigError, InvalidParameter
from exchange_wrapper.core.marketdata import Candle
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges.base import adapter_class
from exchange_wrapper.history.backfill import RATE_LIMIT_RETRIES, Backfill, RestCandles, Unavailable, backfill_followed
from exchange_wrapper.history.backfill_command import backfill_command
from exchange_wrapper.history.database import DatabaseSink
from exchange_wrapper.history.sink import Batch, SourcedCandle, WriteResult
from exchange_wrapper.marketdata.hub import MarketDataHub
from exchange_wrapper.storage.worker import DatabaseThread
from tests.simulator.binance import binance_protocol
from tests.simulator.bitfinex import bitfinex_protocol
from tests.simulator.bybit import bybit_protocol
from tests.simulator.candles import MadeUpCandles
from tests.simulator.coinbase import coinbase_protocol
from tests.simulator.kraken import kraken_protocol
from tests.simulator.luno import luno_protocol
from tests.simulator.okx import okx_protocol
from tests.simulator.poloniex import poloniex_protocol
from tests.simulator.server import ExchangeSimulator
from tests.simulator.valr import valr_protocol
from tests.storage.dbs import OnPostgres, OnSqlite
from tests.test_cli import ROOT

DAY = 1_790_294_400  # 2026-09-25T00:00:00Z
END = DAY + 86400
NOW = END + 5.0  # the minute opening at END is running
MINUTE = 60

#: A week of made-up candles up to the minute running at NOW, made once for every test.
WEEK = MadeUpCandles(DAY - 7 * 86400, END + MINUTE, price=Decimal("30000.00"))

#: exchange -> (simulator protocol, the exchange's symbol, the pair, the path of its candles requests)
EXCHANGES = {
    "coinbase": (coinbase_protocol, "BTC-USD", Pair("BTC", "USD"), "/products/BTC-USD/candles"),
    "binance": (binance_protocol, "BTCUSDT", Pair("BTC", "USDT"), "/api/v3/klines"),
    "bitfinex": (bitfinex_protocol, "tBTCUSD", Pair("BTC", "USD"), "/v2/candles/trade:1m:tBTCUSD/hist"),
    "kraken": (kraken_protocol, "XXBTZUSD", Pair("BTC", "USD"), "/0/public/OHLC"),
    "poloniex": (poloniex_protocol, "BTC_USDT", Pair("BTC", "USDT"), "/markets/BTC_USDT/candles"),
    "okx": (okx_protocol, "BTC-USDT", Pair("BTC", "USDT"), "/api/v5/market/history-candles"),
    "bybit": (bybit_protocol, "BTCUSDT", Pair("BTC", "USDT"), "/v5/market/kline"),
    "luno": (luno_protocol, "XBTZAR", Pair("BTC", "ZAR"), "/api/exchange/1/candles"),
    "valr": (valr_protocol, "BTCZAR", Pair("BTC", "ZAR"), "/v1/public/BTCZAR/buckets"),
}


def expected(candles: MadeUpCandles, pair: Pair, start: int, end: int) -> list[Candle]:
    """The made-up candles opening in [start, end) as the store should hold them."""
    return [
        Candle(pair, m.start, MINUTE, m.open, m.high, m.low, m.close, m.volume)
        for m in candles.between(start, end - MINUTE)
    ]


class BackfillCases:
    """One exchange's simulator, with a week of made-up candles up to the running minute at NOW,
    and a RestClient whose clock and sleep are the test's (the exchange's pacing runs instantly)."""

    exchange: str
    db: object

    async def asyncSetUp(self) -> None:
        factory, self.symbol, self.pair, self.candles_path = EXCHANGES[self.exchange]
        self.protocol = factory()
        self.candles = WEEK
        self.protocol.candles[self.symbol] = self.candles
        self.simulator = ExchangeSimulator(self.protocol)
        await self.simulator.__aenter__()
        self.addAsyncCleanup(self.simulator.__aexit__)
        self.cls = adapter_class(self.exchange)
        self.clock, self.slept = [0.0], []
        self.rest = RestClient(
            self.exchange, self.simulator.http_url, self.cls.rest_limit, clock=lambda: self.clock[0], sleep=self.sleep
        )
        self.addCleanup(self.rest.close)
        self.source = await RestCandles.open(self.cls, self.rest, [self.pair])
        self.thread = DatabaseThread()
        self.addAsyncCleanup(self.thread.close)
        self.sink = DatabaseSink(self.db)
        self.page = self.cls.candles_per_request

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock[0] += seconds
        await asyncio.sleep(0)

    def backfill(self, **options: object) -> Backfill:
        return Backfill(self.source, self.cls, self.sink, self.pair, thread=self.thread, sleep=self.sleep, **options)

    def candle_calls(self) -> int:
        return sum(path.partition("?")[0] == self.candles_path for path in self.simulator.rest_calls)

    def stored(self, start: int = DAY - 7 * 86400, end: int = END) -> list[Candle]:
        return self.sink.candles(self.exchange, self.pair, start, end, 100_000)

    def edge_gaps(self, start: int, end: int) -> int:
        """How many of the windows a backfill of [start, end) asks begin or end on a minute without
        a candle: those a rerun asks again (nothing stored says they were asked)."""
        return len(self.edge_gap_windows(start, end))

    def edge_gap_windows(self, start: int, end: int) -> list[tuple[int, int]]:
        """Those windows, as [start, end)."""
        windows = [(w, min(w + self.page * MINUTE, end)) for w in range(start, end, self.page * MINUTE)]
        return [
            (a, b)
            for a, b in windows
            if not (self.candles.between(a, a) and self.candles.between(b - MINUTE, b - MINUTE))
        ]

    def servable(self, start: int) -> int:
        """Where the minutes the exchange serves begin, for a backfill from ``start``."""
        recent = self.cls.candles_recent
        return start if recent is None else max(start, END - (recent - 1) * MINUTE)


class ExchangeCases(BackfillCases):
    """What every exchange must show."""

    async def test_a_day_in_pages_of_the_exchange_then_nothing_asked_again(self) -> None:
        first = self.servable(DAY)
        summary = await self.backfill().run(DAY, END, NOW)
        want = expected(self.candles, self.pair, first, END)
        pages = math.ceil((END - first) / MINUTE / self.page)
        self.assertEqual(want, self.stored(), "every candle, exactly")
        self.assertEqual((pages, pages), (summary.requests, self.candle_calls()))
        self.assertEqual(len(want), summary.candles_written)
        self.assertEqual(self.candles.gaps(first, END), summary.gaps)
        self.assertGreater(summary.gaps, 0, "the made-up day has minutes without a candle")
        self.assertIsNone(summary.error)

        again = await self.backfill().run(DAY, END, NOW)
        # nothing stored is asked again; a window whose own first or last minute has no candle is
        # (OKX's pages of 100 minutes: one of the made-up day's)
        asked_again = self.edge_gap_windows(first, END)
        self.assertEqual(len(asked_again), {"okx": 1}.get(self.exchange, 0))
        self.assertEqual(
            (len(asked_again), pages + len(asked_again)),
            (again.requests, self.candle_calls()),
            "no request for what is stored",
        )
        minutes_stored = len(want) - sum(len(self.candles.between(a, b - MINUTE)) for a, b in asked_again)
        self.assertEqual((0, minutes_stored, summary.gaps), (again.candles_written, again.minutes_stored, again.gaps))
        self.assertEqual(want, self.stored())

    async def test_an_interrupted_run_resumes_where_it_stopped(self) -> None:
        start = max(self.servable(END - (self.page + 90) * MINUTE), END - 7 * 86400)
        pages = math.ceil((END - start) / MINUTE / self.page)
        progress: list[tuple[int, int]] = []

        def fail_after_the_first(done: int, total: int) -> None:
            progress.append((done, total))
            self.simulator.fail_rest(503)  # the exchange is down from the next request on

        if pages == 1:  # Kraken: the run's one request is the one that fails
            self.simulator.fail_rest(503)
            stopped = await self.backfill().run(start, END, NOW)
            self.assertEqual([], self.stored())
        else:
            stopped = await self.backfill(progress=fail_after_the_first).run(start, END, NOW)
            self.assertEqual([(self.page, (END - start) // MINUTE)], progress)
            self.assertEqual(expected(self.candles, self.pair, start, start + self.page * MINUTE), self.stored())
        self.assertIn("HTTP 503", stopped.error or "")
        resumed = await self.backfill().run(start, END, NOW)
        self.assertIsNone(resumed.error)
        stored_page = 0 if pages == 1 else 1 - self.edge_gaps(start, start + self.page * MINUTE)
        self.assertEqual(pages - stored_page, resumed.requests, "the stored page is not asked again")
        self.assertEqual(expected(self.candles, self.pair, start, END), self.stored())

    async def test_a_429_is_waited_out(self) -> None:
        start = self.servable(END - 100 * MINUTE)
        self.simulator.fail_rest(429, {"Retry-After": "7"}, times=2)
        summary = await self.backfill().run(start, END, NOW)
        self.assertIsNone(summary.error)
        self.assertEqual(3, summary.requests, "asked twice more")
        self.assertEqual([7.0, 7.0], [s for s in self.slept if s == 7.0])
        self.assertEqual(expected(self.candles, self.pair, start, END), self.stored())

    async def test_rate_limits_without_end_stop_it(self) -> None:
        self.simulator.fail_rest(429, {"Retry-After": "1"}, times=RATE_LIMIT_RETRIES + 1)
        summary = await self.backfill().run(END - 100 * MINUTE, END, NOW)
        self.assertEqual(RATE_LIMIT_RETRIES + 1, summary.requests)
        self.assertIn("rate limit", summary.error or "")
        self.assertEqual([], self.stored())

    async def test_a_reversed_or_empty_range_is_refused_naming_to(self) -> None:
        for start, end in ((END, DAY), (DAY, DAY), (DAY + 1, DAY + 30)):
            with self.assertRaises(InvalidParameter) as raised:
                await self.backfill().run(start, end, NOW)
            self.assertEqual("to", raised.exception.field)
        self.assertEqual(0, self.candle_calls())


def per_exchange(name: str) -> type:
    return type(
        f"{name.capitalize()}BackfillTest",
        (ExchangeCases, OnSqlite, unittest.IsolatedAsyncioTestCase),
        {"exchange": name, "__module__": __name__},
    )


CoinbaseBackfillTest = per_exchange("coinbase")
BinanceBackfillTest = per_exchange("binance")
BitfinexBackfillTest = per_exchange("bitfinex")
KrakenBackfillTest = per_exchange("kraken")
PoloniexBackfillTest = per_exchange("poloniex")
OkxBackfillTest = per_exchange("okx")
BybitBackfillTest = per_exchange("bybit")
LunoBackfillTest = per_exchange("luno")
ValrBackfillTest = per_exchange("valr")


class BinanceOnPostgresTest(BackfillCases, OnPostgres, unittest.IsolatedAsyncioTestCase):
    exchange = "binance"

    async def test_a_day_then_nothing_asked_again(self) -> None:
        summary = await self.backfill().run(DAY, END, NOW)
        want = expected(self.candles, self.pair, DAY, END)
        self.assertEqual((2, len(want)), (summary.requests, summary.candles_written))
        self.assertEqual(want, self.stored())
        again = await self.backfill().run(DAY - 3600, END, NOW)  # an hour earlier: [DAY - 1 h, DAY + 940 min) asked
        self.assertEqual(1 + self.edge_gaps(DAY + 940 * MINUTE, END), again.requests)
        self.assertEqual(expected(self.candles, self.pair, DAY - 3600, END), self.stored())


class KrakenLimitTest(BackfillCases, OnSqlite, unittest.IsolatedAsyncioTestCase):
    exchange = "kraken"

    async def test_beyond_its_720_intervals_is_said_not_asked(self) -> None:
        summary = await self.backfill().run(DAY, END, NOW)
        earliest = END - 719 * MINUTE
        self.assertEqual(
            [Unavailable(DAY, earliest, "kraken serves only its 720 most recent candles")], summary.unavailable
        )
        self.assertEqual(1440 - 719, summary.unavailable[0].minutes)
        self.assertEqual(1, summary.requests)
        self.assertEqual(expected(self.candles, self.pair, earliest, END), self.stored())

    async def test_the_running_minute_and_the_future_are_not_asked(self) -> None:
        summary = await self.backfill().run(END - 10 * MINUTE, END + 3600, NOW)
        self.assertEqual([Unavailable(END, END + 3600, "not closed yet")], summary.unavailable)
        self.assertEqual(expected(self.candles, self.pair, END - 10 * MINUTE, END), self.stored())

    async def test_its_in_body_rate_limit_is_waited_out(self) -> None:
        self.protocol.rest_errors.append("EAPI:Rate limit exceeded")
        summary = await self.backfill().run(END - 60 * MINUTE, END, NOW)
        self.assertEqual((2, None), (summary.requests, summary.error))
        self.assertEqual(expected(self.candles, self.pair, END - 60 * MINUTE, END), self.stored())


class GapOnAWindowEdgeTest(BackfillCases, OnSqlite, unittest.IsolatedAsyncioTestCase):
    """A window whose first minute has no candle cannot be told from one never asked: a rerun asks
    it again (and writes nothing new); a window with gaps only inside is skipped."""

    exchange = "coinbase"

    async def test_asked_again_only_where_a_gap_is_on_its_edge(self) -> None:
        gap = next(
            m
            for m in range(DAY, END, MINUTE)
            if not self.candles.between(m, m) and self.candles.between(m + 60, m + 60)
        )
        end = gap + 2 * self.page * MINUTE
        first = await self.backfill().run(gap, end, NOW)
        again = await self.backfill().run(gap, end, NOW)
        self.assertEqual((2, 0), (first.requests, again.candles_written))
        self.assertEqual(1 + self.edge_gaps(gap + self.page * MINUTE, end), again.requests, "the first window again")
        self.assertEqual(first.gaps, again.gaps)


class StartUpTest(BackfillCases, OnSqlite, unittest.IsolatedAsyncioTestCase):
    """The service's start-up backfill on its real feeds: each feed's followed pairs once its
    markets are loaded, over the last timeseries.backfill_hours."""

    exchange = "binance"

    async def test_every_followed_pair_over_the_configured_hours_once_the_markets_are_loaded(self) -> None:
        self.protocol.candles["ETHBTC"] = MadeUpCandles(DAY - 3600, END + MINUTE, price=Decimal("0.035000"), places=6)
        settings = ExchangeSettings(
            pairs=["BTC_USDT", "ETH_BTC"], rest_url=self.simulator.http_url, ws_url=self.simulator.ws_url
        )
        built = expected(WEEK, self.pair, END - 3600, END - 3600 + MINUTE)[0]._replace(close=Decimal("1.00"))
        self.sink.write(Batch("binance", candles=[SourcedCandle(built, from_exchange=False)]))  # xWrap's, before
        feed = ExchangeFeed(self.cls, settings, MarketDataHub())
        feed.start()
        self.addAsyncCleanup(feed.stop)
        writes: list[WriteResult] = []
        summaries = await backfill_followed(
            {"binance": feed}, self.sink, 24, lambda: NOW, on_write=writes.append, ready_poll=0.01
        )
        eth = Pair("ETH", "BTC")
        self.assertEqual(
            [(self.pair, 2, 1, None), (eth, 2, 0, None)],
            [(s.pair, s.requests, s.candles_corrected, s.error) for s in summaries],
        )
        self.assertEqual((4, 1), (len(writes), sum(w.candles_corrected for w in writes)), "for /metrics")
        self.assertEqual(expected(WEEK, self.pair, DAY + MINUTE, END), self.stored(), "NOW - 24 h on")
        eth_stored = self.sink.candles("binance", eth, DAY, END, 2000)
        self.assertEqual(expected(self.protocol.candles["ETHBTC"], eth, DAY + MINUTE, END), eth_stored)
        self.assertEqual([], await backfill_followed({"binance": feed}, self.sink, 0, lambda: NOW))


class CommandTest(OnSqlite, unittest.IsolatedAsyncioTestCase):
    """``xwrap backfill`` as a user runs it: a process, the simulator's port, a database file."""

    async def test_a_day_from_the_command_then_resumed_with_nothing_to_do(self) -> None:
        protocol = binance_protocol()
        candles = protocol.candles["BTCUSDT"] = MadeUpCandles(DAY, END, price=Decimal("30000.00"))
        async with ExchangeSimulator(protocol) as simulator:
            env = {"XWRAP_DATABASE_URL": self.url, "XWRAP_BINANCE_REST_URL": simulator.http_url}
            args = ("--exchange", "binance", "--pair", "BTC_USDT", "--from", "2026-09-25T00:00:00Z", "--to", str(END))
            code, out, err = await self.xwrap("backfill", *args, env=env)
            self.assertEqual(0, code, err)
            summary = json.loads(out)
            self.assertEqual((2, 1440 - candles.gaps(DAY, END)), (summary["requests"], summary["candles_written"]))
            self.assertEqual(candles.gaps(DAY, END), summary["gaps"])
            self.assertIn("100%  1440/1440 minutes", err)
            code, out, err = await self.xwrap("backfill", *args, env=env)
            self.assertEqual((0, 0), (code, json.loads(out)["requests"]))
        stored = DatabaseSink(self.db).candles("binance", Pair("BTC", "USDT"), DAY, END, 2000)
        self.assertEqual(expected(candles, Pair("BTC", "USDT"), DAY, END), stored)

    async def test_ctrl_c_prints_what_was_done(self) -> None:
        protocol = binance_protocol()
        protocol.candles["BTCUSDT"] = MadeUpCandles(DAY, END, price=Decimal("30000.00"))
        async with ExchangeSimulator(protocol) as simulator:
            env = {"XWRAP_DATABASE_URL": self.url, "XWRAP_BINANCE_REST_URL": simulator.http_url}
            answer = protocol.rest_answer

            def limited_once(path: str) -> tuple[int, str] | None:  # the first page: a 429, a wait of 10 s
                if path.startswith("/api/v3/klines") and not simulator.rest_calls.count(path) > 1:
                    return 429, '{"code":-1003,"msg":"Too many requests; please use the websocket for live updates"}'
                return answer(path)

            protocol.rest_answer = limited_once  # type: ignore[method-assign]
            process = await self.start(
                "backfill", "--exchange", "binance", "--pair", "BTC_USDT", "--from", str(DAY), "--to", str(END), env=env
            )
            while not any(call.startswith("/api/v3/klines") for call in simulator.rest_calls):
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            process.send_signal(signal.SIGINT)
            out, err = await asyncio.wait_for(process.communicate(), 30)
        self.assertEqual(130, process.returncode, err)
        self.assertNotIn(b"Traceback", err)
        self.assertEqual((1, 0, "interrupted"), itemgetter("requests", "candles_written", "error")(json.loads(out)))

    async def test_bad_input_is_refused_naming_the_parameter(self) -> None:
        env = {"XWRAP_DATABASE_URL": self.url, "XWRAP_BINANCE_REST_URL": "http://127.0.0.1:9"}
        cases = {
            ("--interval", "5m"): "xwrap: --interval: expected 1m (the store keeps 1-minute candles",
            ("--from", "yesterday"): "xwrap: --from: expected Unix seconds",
            ("--to", str(DAY - 60)): "xwrap: --to: expected a time after --from (2026-09-25T00:00:00Z)",
        }
        for change, message in cases.items():
            args = {"--exchange": "binance", "--pair": "BTC_USDT", "--from": str(DAY), "--to": str(END)}
            args[change[0]] = change[1]
            code, out, err = await self.xwrap("backfill", *(x for item in args.items() for x in item), env=env)
            self.assertEqual((2, ""), (code, out), change)
            self.assertTrue(err.startswith(message), err)
        code, _, err = await self.xwrap(
            "backfill", "--exchange", "binance", "--pair", "BTC_USDT", "--from", str(DAY), "--to", str(END),
            env={**env, "XWRAP_TIMESERIES_BACKEND": "none"},
        )  # fmt: skip
        self.assertEqual(2, code)
        self.assertIn("timeseries.backend", err)

    def test_the_checks_come_before_any_request(self) -> None:
        settings = load_settings(None, env={"XWRAP_DATABASE_URL": self.url})
        with self.assertRaises(InvalidParameter) as raised:
            backfill_command(settings, "binance", "BTC_USDT", "1h", DAY, END, out=io.StringIO(), err=io.StringIO())
        self.assertEqual("--interval", raised.exception.field)
        with self.assertRaises(ConfigError) as refused:
            backfill_command(
                load_settings(None, env={"XWRAP_TIMESERIES_BACKEND": "none"}), "binance", "BTC_USDT", "1m", DAY, END
            )
        self.assertEqual("timeseries.backend", refused.exception.key)

    async def start(self, *args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("XWRAP_")} | env
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "exchange_wrapper.cli", *args,
            env=environment, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip

    async def xwrap(self, *args: str, env: dict[str, str]) -> tuple[int, str, str]:
        process = await self.start(*args, env=env)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()
