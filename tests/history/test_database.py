"""The database sink on SQLite and PostgreSQL: the sink contract (idempotent writes, the exchange's
candle winning over a built one, the reads by range), and a batch written in one transaction."""

import unittest
from decimal import Decimal

from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.history.database import DatabaseSink
from exchange_wrapper.history.sink import Batch, SourcedCandle
from exchange_wrapper.storage.database import close_database, open_database
from exchange_wrapper.storage.models import MarketCandle, MarketTrade
from tests.history.captured import binance_klines, captured_trades
from tests.history.sink_contract import SinkContract, built_candles
from tests.storage.dbs import DatabaseCase, on_both_databases


class SinkCases(SinkContract, DatabaseCase):
    def setUp(self):
        super().setUp()
        self.sink = DatabaseSink(self.db)

    def reopen(self):
        """A restart: the connection closed, the database opened again."""
        close_database(self.db)
        self.db = open_database(self.url)
        self.sink = DatabaseSink(self.db)

    def stored_trades(self):
        return MarketTrade.select().count()

    def stored_candles(self):
        return MarketCandle.select().count()

    def test_the_exchanges_candle_wins_over_a_row_another_writer_inserted_meanwhile(self):
        built = built_candles(captured_trades("binance"))
        klines = binance_klines()

        class Raced(DatabaseSink):
            """A sink whose read of the stored candles came before another writer (a backfill's thread,
            on PostgreSQL where nothing serialises them) inserted the same minutes."""

            def _stored(self, exchange, latest):
                return {}

        raced = Raced(self.db)
        self.sink.write(Batch("binance", candles=[SourcedCandle(c, False) for c in built]))
        raced.write(Batch("binance", candles=[SourcedCandle(c, True) for c in klines]))
        raced.write(Batch("binance", candles=[SourcedCandle(c, False) for c in built]))
        for kline in klines:
            self.assertEqual([kline], self.sink.candles("binance", kline.pair, 0, 2**40, 10))
        self.assertEqual(2, MarketCandle.select().count())

    def test_a_batch_is_one_transaction(self):
        trades = list(captured_trades("coinbase"))
        bad = trades[0]._replace(
            trade_id="bad", price=Decimal("1e-30")
        )  # made: more decimals than a MONEY column holds
        with self.assertRaises(InvalidParameter) as caught:
            self.sink.write(Batch("coinbase", trades[1:] + [bad]))
        self.assertEqual("price", caught.exception.field)
        self.assertEqual(0, MarketTrade.select().count())


SinkSqlite, SinkPostgres = on_both_databases(SinkCases)
del SinkCases

if __name__ == "__main__":
    unittest.main()
