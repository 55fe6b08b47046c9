"""Market history in the running service: the store timeseries.backend chooses, the collection from
the replayed market data, the counters on /metrics, and what history answers when nothing is kept."""

import asyncio
import unittest

from exchange_wrapper.core.errors import DatabaseUnavailable, InvalidParameter
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.history.database import DatabaseSink
from exchange_wrapper.service.server import Server
from exchange_wrapper.storage.models import MarketTrade
from tests.service.recorded import REPLAY, RecordedServiceTest, fresh_settings, http

SKL = Pair("SKL", "USD")


class CollectingServiceTest(RecordedServiceTest):
    settings_overrides = {"timeseries.book_top_seconds": "0"}  # only the trades: the counts hold still

    async def test_the_replayed_trades_are_kept_and_counted_on_metrics(self):
        self.step_until(lambda: self.server.hub.counters("coinbase")["trades"] >= 20)
        trades = self.server.hub.counters("coinbase")["trades"]
        writer = self.server.history_writer
        for _ in range(300):
            if writer.counts["written"] >= trades:
                break
            await asyncio.sleep(0.01)
        self.assertEqual(trades, MarketTrade.select().count())
        self.assertIsInstance(self.server.history.sink, DatabaseSink)
        page = await self.server.history.trades("coinbase", SKL, 0, 2e9, 1000)
        self.assertEqual(
            [t.trade_id for t in self.server.hub.recent_trades("coinbase", SKL)], [t.trade_id for t in page.items]
        )
        status, _, text = await asyncio.to_thread(http, self.base + "/metrics")
        self.assertEqual(200, status)
        self.assertIn(f'xwrap_history_records_total{{outcome="written"}} {float(writer.counts["written"])}', text)
        for line in (
            'xwrap_history_records_total{outcome="queue_full"} 0.0',
            'xwrap_history_records_total{outcome="sink_error"} 0.0',
            "xwrap_history_sink_errors_total 0.0",
            "xwrap_history_candles_corrected_total 0.0",
            "xwrap_history_queued ",
        ):
            self.assertIn(line, text)


class NoHistoryServiceTest(RecordedServiceTest):
    settings_overrides = {"timeseries.backend": "none"}

    async def test_nothing_is_collected_and_reads_name_the_setting(self):
        self.step_until(lambda: self.server.hub.counters("coinbase")["trades"] >= 5)
        self.assertIsNone(self.server.history_writer)
        self.assertIsNone(self.server.collector)
        self.assertEqual(0, MarketTrade.select().count())
        with self.assertRaises(InvalidParameter) as caught:
            await self.server.history.candles("coinbase", SKL, 60, 0, 2e9, 10)
        self.assertEqual(("timeseries.backend", "none"), (caught.exception.field, caught.exception.got))
        status, _, text = await asyncio.to_thread(http, self.base + "/metrics")
        self.assertNotIn("xwrap_history", text)


class InfluxUnreachableTest(unittest.IsolatedAsyncioTestCase):
    async def test_the_service_does_not_start_without_its_chosen_store(self):
        settings = fresh_settings(
            self,
            **{
                "timeseries.backend": "influxdb",
                "timeseries.influxdb.url": "http://127.0.0.1:9",  # nothing listens on the discard port
                "timeseries.influxdb.timeout_seconds": "2",
            },
        )
        server = Server(settings, replay=REPLAY, speed=None)
        self.addAsyncCleanup(server.stop)
        with self.assertRaises(DatabaseUnavailable):
            await server.start()
        self.assertIsNone(server.history_writer)


if __name__ == "__main__":
    unittest.main()
