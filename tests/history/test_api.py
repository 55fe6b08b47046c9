"""Market history through the API: the service on the real Coinbase capture in recorded time, stepped to
the end by advance_replay, then get_ohlc, get_trades with a range and get_book_tops read back what was
collected, over JSON-RPC (the client) and REST; compared with the capture's own trades."""

import asyncio
import json
import math
import unittest
import urllib.request
from decimal import Decimal

from exchange_wrapper.client import AsyncClient
from exchange_wrapper.core.candles import CandleBuilder, aggregate
from exchange_wrapper.core.errors import Conflict, InvalidParameter
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.replay.playback import MAX_SPEED, PlaybackOptions
from exchange_wrapper.service.server import Server

from ..replay.test_playback import FIRST, LAST
from ..service.recorded import REPLAY, fresh_settings
from .captured import captured_trades

SKL = {"exchange": "coinbase", "pair": "SKL_USD"}
MINUTE = 1618677780  # the capture's one whole minute: 16:43 UTC (it runs from 16:43:36 to 16:44:07)


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/xwrap/v1{path}", timeout=10) as response:
        return json.loads(response.read())


class HistoryOperationsTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        settings = fresh_settings(self)
        options = PlaybackOptions(recorded_clock=True, steps=True)
        self.server = Server(settings, replay=REPLAY, speed=MAX_SPEED, playback=options)
        await self.server.start()
        self.addAsyncCleanup(self.server.stop)
        self.client = await AsyncClient(f"ws://127.0.0.1:{self.server.port}").connect()
        self.addAsyncCleanup(self.client.close)

    async def played(self):
        """Step to the end of the recording, and wait until the writer has stored what it was given."""
        replay = await self.client.advance_replay(until=LAST + 60)
        self.assertEqual((replay["state"], replay["time"], replay["clock"]), ("finished", LAST, "recorded"))
        writer = self.server.history_writer
        async with asyncio.timeout(10):
            while writer.outstanding():  # queued, or in the batch being written
                await asyncio.sleep(0.01)

    async def test_a_stepped_replay_moves_on_only_when_asked_and_says_where_it_is(self):
        status = (await self.client.get_status())["replay"]
        self.assertEqual((status["state"], status["time"], status["speed"]), ("holding", FIRST, "step"))
        middle = FIRST + 10
        replay = await self.client.advance_replay(until=middle)
        self.assertEqual((replay["state"], replay["time"]), ("holding", middle))
        self.assertEqual((await self.client.get_status())["replay"]["time"], middle)
        # an earlier moment changes nothing
        self.assertEqual((await self.client.advance_replay(until=FIRST))["time"], middle)

    async def test_the_collected_minute_is_the_one_the_captured_trades_make(self):
        await self.played()
        trades = [t for t in captured_trades("coinbase") if t.pair == Pair("SKL", "USD")]
        builder = CandleBuilder()
        built = [c for t in trades for c in builder.add(t)] + builder.close(LAST + 3600)
        (expected,) = [c for c in built if c.start == MINUTE]
        page = await self.client.get_ohlc(**SKL, start=MINUTE, end=MINUTE + 60)
        self.assertEqual((page["interval"], page["next"], len(page["candles"])), ("1m", None, 1))
        candle = page["candles"][0]
        self.assertEqual(
            (candle["start"], candle["interval"], *(Decimal(candle[k]) for k in ("open", "high", "low", "close"))),
            (MINUTE, 60, expected.open, expected.high, expected.low, expected.close),
        )
        self.assertEqual(Decimal(candle["volume"]), expected.volume)
        # the same over REST, and at 1h: the hour holding the minute (the last minute, still open, is not stored)
        self.assertEqual(
            await asyncio.to_thread(
                get, self.server.port, f"/ohlc?exchange=coinbase&pair=SKL_USD&start={MINUTE}&end={MINUTE + 60}"
            ),
            page,
        )
        hour = await self.client.get_ohlc(**SKL, interval="1h", start=MINUTE - 2580, end=MINUTE + 1020)
        (aggregated,) = aggregate([expected], 3600)
        self.assertEqual(
            [(c["start"], Decimal(c["open"]), Decimal(c["volume"])) for c in hour["candles"]],
            [(aggregated.start, aggregated.open, aggregated.volume)],
        )
        # without start: the last `limit` intervals before end
        self.assertEqual((await self.client.get_ohlc(**SKL, end=MINUTE + 60, limit=1))["candles"], page["candles"])

    async def test_stored_trades_page_without_splitting_one_time_and_tops_follow_recorded_time(self):
        await self.played()
        captured = [t for t in captured_trades("coinbase") if t.pair == Pair("SKL", "USD")]
        seen, start = [], FIRST
        while True:  # pages of 6 (5 trades share one microsecond), each next one asked just after the last's time
            page = await self.client.get_trades(**SKL, start=start, end=LAST + 1, limit=6)
            if not page:
                break
            self.assertLessEqual(len(page), 6)
            seen += page
            start = page[-1]["time"] + 0.000001
        self.assertEqual([t["trade_id"] for t in seen], sorted((t.trade_id for t in captured), key=int))
        self.assertEqual(len({t["trade_id"] for t in seen}), len(seen))
        # without start: the latest from memory, newest first
        latest = await self.client.get_trades(**SKL, limit=2)
        self.assertEqual([t["trade_id"] for t in latest], [t["trade_id"] for t in seen[::-1][:2]])
        # book tops: sampled every recorded second although the replay played in a moment of the wall's
        tops = await self.client.get_book_tops(**SKL, start=FIRST, end=LAST + 1, limit=1000)
        times = [top["time"] for top in tops["tops"]]
        self.assertGreaterEqual(len(times), math.floor(LAST - FIRST) - 2)
        self.assertTrue(all(1 <= b - a < 2 for a, b in zip(times, times[1:])), times)
        self.assertTrue(all(Decimal(top["bid"]) < Decimal(top["ask"]) for top in tops["tops"]))
        first_two = await self.client.get_book_tops(**SKL, start=FIRST, end=LAST + 1, limit=2)
        self.assertEqual((first_two["tops"], first_two["next"]), (tops["tops"][:2], times[2]))

    async def test_bad_input_names_the_parameter(self):
        cases = [
            ({**SKL, "interval": "2m"}, "get_ohlc", "interval"),
            ({**SKL, "start": LAST, "end": FIRST}, "get_ohlc", "start"),
            ({**SKL, "end": LAST}, "get_trades", "start"),
            ({**SKL}, "get_book_tops", "start"),
        ]
        for params, method, field in cases:
            with self.subTest(method=method, params=params):
                with self.assertRaises(InvalidParameter) as caught:
                    await self.client.call(method, **params)
                self.assertEqual(caught.exception.field, field)


class NoReplayTest(unittest.IsolatedAsyncioTestCase):
    async def test_advance_replay_needs_a_stepped_replay_and_no_store_is_named(self):
        settings = fresh_settings(self, **{"timeseries.backend": "none"})
        server = Server(settings, replay=REPLAY, speed=MAX_SPEED)
        await server.start()
        self.addAsyncCleanup(server.stop)
        client = await AsyncClient(f"ws://127.0.0.1:{server.port}").connect()
        self.addAsyncCleanup(client.close)
        with self.assertRaises(Conflict):
            await client.advance_replay(until=LAST)
        with self.assertRaises(InvalidParameter) as caught:
            await client.get_ohlc(**SKL, start=MINUTE)
        self.assertEqual(caught.exception.field, "timeseries.backend")
