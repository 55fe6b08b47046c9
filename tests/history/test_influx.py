"""The InfluxDB sink on both its paths: the 1.x HTTP API against a real InfluxDB 1.x server (Debian's
influxd, started here on a free loopback port), and the 2.x path (influxdb-client's /api/v2/write, reads
on the 1.x compatibility /query with a token) against a loopback receiver of InfluxData's documented 2.x
contract that keeps the points in that same real server. Real trades and candles of the captures;
idempotent writes (a repeat or a restart neither loses nor duplicates), the exchange's candle winning
over a built one, exact Decimals, and the errors naming the setting without showing a secret."""

import itertools
import socket
import unittest
from dataclasses import replace
from decimal import Decimal

from exchange_wrapper.config import InfluxSettings
from exchange_wrapper.core.errors import ConfigError, DatabaseUnavailable
from exchange_wrapper.core.marketdata import BookTop
from exchange_wrapper.history.influx import TOP_FIELDS, open_influx_sink
from exchange_wrapper.history.sink import Batch, SourcedCandle, WriteResult
from tests.history.captured import binance_klines, captured_trades
from tests.history.influx_server import ADMIN, Influxd, V2Receiver, free_port
from tests.history.sink_contract import SinkContract, built_candles

SERVER = Influxd()
TOKEN = "made-up-token-for-the-receiver-0123456789"  # made: the receiver's one API token
NAMES = (f"history{n}" for n in itertools.count())


def setUpModule():
    SERVER.start()


def tearDownModule():
    SERVER.stop()


def v1_settings(database, **changes):
    settings = {"api": "v1", "url": SERVER.url, "database": database, "username": ADMIN[0], "password": ADMIN[1]}
    return InfluxSettings(**{**settings, "timeout_seconds": Decimal(5), **changes})


class InfluxCases(SinkContract):
    """The sink contract, and what is particular to InfluxDB; a subclass opens the sink on a fresh database
    (``self.database``) of the real server."""

    def open_sink(self):
        raise NotImplementedError

    def setUp(self):
        self.database = next(NAMES)
        self.sink = self.open_sink()
        self.addCleanup(lambda: self.sink.close())

    def reopen(self):
        self.sink.close()
        self.sink = self.open_sink()

    def points(self, measurement):
        return SERVER.points(self.database, measurement)

    def stored_trades(self):
        return len(self.points("trade"))

    def stored_candles(self):
        return len({(row["pair"], row["interval"], row["time"]) for row in self.points("candle")})

    def test_trades_of_one_microsecond_keep_their_own_points(self):
        trades = captured_trades("coinbase")
        tied = [t for t in trades if sum(u.time == t.time and u.pair == t.pair for u in trades) == 5]
        self.assertEqual(5, len(tied), "one taker order met five makers")
        self.assertEqual(WriteResult(5), self.sink.write(Batch("coinbase", tied)))
        self.assertEqual(tied, self.sink.trades("coinbase", tied[0].pair, tied[0].time, tied[0].time + 1e-6, 10))

    def test_amounts_and_times_come_back_exactly(self):
        trade = captured_trades("coinbase")[0]
        # made: amounts with more digits than a float holds, and trailing zeros that must stay
        exact = trade._replace(trade_id="9", price=Decimal("123456789.123456789123"), size=Decimal("0.10000000"))
        # made: a top sampled at a clock's time, finer than a microsecond
        top = BookTop(trade.pair, 1765140000.1234567, Decimal("0.00001305"), Decimal("985.10"), None, None)
        self.sink.write(Batch("coinbase", [exact], tops=[top]))
        [back] = self.sink.trades("coinbase", trade.pair, 0, 2e9, 10)
        self.assertEqual(exact, back)
        self.assertEqual(("123456789.123456789123", "0.10000000"), (str(back.price), str(back.size)))
        self.assertEqual(repr(trade.time), repr(back.time))
        self.assertEqual([top], self.sink.tops("coinbase", trade.pair, 0, 2e9, 10))
        self.assertEqual(["0.00001305", "985.10", "", ""], [self.points("book_top")[0][k] for k in TOP_FIELDS])

    def test_a_limit_of_nothing_reads_nothing(self):
        trades = captured_trades("coinbase")
        candles = [SourcedCandle(c, False) for c in built_candles(trades)]
        self.sink.write(Batch("coinbase", trades, candles))
        pair = trades[0].pair
        self.assertEqual([], self.sink.trades("coinbase", pair, 0, 2e9, 0), "InfluxQL reads LIMIT 0 as no limit")
        self.assertEqual([], self.sink.candles("coinbase", pair, 0, 2**33, 0))
        self.assertEqual([], self.sink.tops("coinbase", pair, 0, 2e9, 0))

    def test_built_and_exchange_candles_are_separate_series(self):
        built = [SourcedCandle(c, False) for c in built_candles(captured_trades("binance"))]
        self.sink.write(Batch("binance", candles=built))
        self.sink.write(Batch("binance", candles=[SourcedCandle(k, True) for k in binance_klines()]))
        sources = sorted(row["source"] for row in self.points("candle"))
        self.assertEqual(["built", "built", "exchange", "exchange"], sources)

    def test_one_batch_of_everything(self):
        trades = captured_trades("binance")
        built = built_candles(trades)
        top = BookTop(trades[0].pair, trades[0].time, trades[0].price, Decimal(1), None, None)  # made, as above
        batch = Batch("binance", trades, [SourcedCandle(c, False) for c in built], [top])
        self.assertEqual(WriteResult(len(trades) + len(built) + 1), self.sink.write(batch))
        self.reopen()
        self.assertEqual(WriteResult(0), self.sink.write(batch))


class V1Test(InfluxCases, unittest.TestCase):
    """The 1.x HTTP API against the real server: /write and /query, basic auth, the database created."""

    def open_sink(self):
        return open_influx_sink(v1_settings(self.database))

    def test_the_database_is_created_once(self):
        [result] = SERVER.query("SHOW DATABASES")
        self.assertIn([self.database], result["series"][0]["values"])
        self.reopen()  # finds it


class V2Test(InfluxCases, unittest.TestCase):
    """The 2.x path against the loopback receiver of the documented contract."""

    def open_sink(self):
        return open_influx_sink(self.settings())

    def settings(self, **changes):
        if not hasattr(self, "receiver"):
            self.receiver = V2Receiver(SERVER, "xwrap", [self.database], TOKEN).__enter__()
            self.addCleanup(self.receiver.__exit__)
        settings = {"url": self.receiver.url, "org": "xwrap", "bucket": self.database, "token": TOKEN}
        return InfluxSettings(**{"api": "v2", "timeout_seconds": Decimal(5), **settings, **changes})

    def test_writes_are_gzipped_line_protocol_in_nanoseconds_with_the_token(self):
        self.sink.write(Batch("coinbase", captured_trades("coinbase")[:3]))
        [(method, path, params, headers)] = [r for r in self.receiver.requests if r[1] == "/api/v2/write"]
        self.assertEqual(("POST", {"org": "xwrap", "bucket": self.database, "precision": "ns"}), (method, params))
        self.assertEqual(("gzip", f"Token {TOKEN}"), (headers["Content-Encoding"], headers["Authorization"]))
        reads = [r for r in self.receiver.requests if r[1] == "/query"]
        self.assertEqual({("GET", self.database, "ns")}, {(m, p["db"], p["epoch"]) for m, _, p, _ in reads})

    def test_a_bucket_named_db_slash_rp_is_read_as_that_database_and_retention_policy(self):
        trades = captured_trades("coinbase")
        bucket = f"{next(NAMES)}/autogen"  # 1.x names a new database's default retention policy autogen
        with V2Receiver(SERVER, "xwrap", [bucket], TOKEN) as receiver:
            sink = open_influx_sink(self.settings(url=receiver.url, bucket=bucket))
            self.assertEqual(WriteResult(97), sink.write(Batch("coinbase", trades)))
            self.assertEqual(WriteResult(0), sink.write(Batch("coinbase", trades)))
            sink.close()
        self.assertEqual(97, len(SERVER.points(bucket.split("/")[0], "trade")))
        reads = {(p["db"], p["rp"]) for _, path, p, _ in receiver.requests if path == "/query"}
        self.assertEqual({tuple(bucket.split("/"))}, reads)


class ErrorsTest(unittest.TestCase):
    """Each failure names the setting to look at, and never shows a password or a token."""

    def assertHides(self, error, *secrets):
        for secret in secrets:
            self.assertNotIn(secret, str(error))
            self.assertNotIn(secret, repr(error.details()))

    def test_v1_server_down(self):
        with self.assertRaises(DatabaseUnavailable) as raised:
            open_influx_sink(v1_settings("history", url=f"http://127.0.0.1:{free_port()}"))
        self.assertIn("(timeseries.influxdb.url) unavailable: cannot connect", str(raised.exception))
        self.assertHides(raised.exception, ADMIN[1])

    def test_v1_wrong_password(self):
        with self.assertRaises(ConfigError) as raised:
            open_influx_sink(v1_settings("history", password="not-the-password"))
        self.assertEqual("timeseries.influxdb.username and timeseries.influxdb.password", raised.exception.key)
        self.assertIn("HTTP 401: authorization failed", str(raised.exception))
        self.assertHides(raised.exception, "not-the-password")

    def test_v1_server_going_away_after_opening(self):
        with Influxd() as server:
            sink = open_influx_sink(v1_settings("history", url=server.url))
        with self.assertRaises(DatabaseUnavailable) as raised:
            sink.write(Batch("coinbase", captured_trades("coinbase")))
        self.assertIn(f"InfluxDB at {server.url} (timeseries.influxdb.url) unavailable", str(raised.exception))
        sink.close()

    def test_v2_wrong_token_unknown_org_and_bucket(self):
        with V2Receiver(SERVER, "xwrap", [bucket := next(NAMES)], TOKEN) as receiver:
            good = {"api": "v2", "url": receiver.url, "org": "xwrap", "bucket": bucket, "token": TOKEN}
            with self.assertRaises(ConfigError) as raised:
                open_influx_sink(InfluxSettings(**{**good, "token": "wrong-token-0123"}))
            self.assertEqual("timeseries.influxdb.token", raised.exception.key)
            self.assertIn("HTTP 401: unauthorized access", str(raised.exception))
            self.assertHides(raised.exception, "wrong-token-0123", TOKEN)
            with self.assertRaises(ConfigError) as raised:
                open_influx_sink(InfluxSettings(**{**good, "bucket": "elsewhere"}))
            self.assertEqual(("timeseries.influxdb.bucket", "elsewhere"), (raised.exception.key, raised.exception.got))
            sink = open_influx_sink(InfluxSettings(**{**good, "org": "nobody"}))  # reads do not name the org
            with self.assertRaises(ConfigError) as raised:
                sink.write(Batch("coinbase", captured_trades("coinbase")[:1]))
            self.assertEqual(("timeseries.influxdb.org", "nobody"), (raised.exception.key, raised.exception.got))
            self.assertIn('HTTP 404: organization name "nobody" not found', str(raised.exception))
            sink.close()

    def test_v2_server_down(self):
        settings = InfluxSettings(api="v2", url=f"http://127.0.0.1:{free_port()}", token=TOKEN)
        with self.assertRaises(DatabaseUnavailable) as raised:
            open_influx_sink(settings)
        self.assertIn("(timeseries.influxdb.url) unavailable: cannot connect", str(raised.exception))
        self.assertHides(raised.exception, TOKEN)

    def test_v1_no_user_for_a_server_that_asks_for_one(self):
        with self.assertRaises(ConfigError) as raised:
            open_influx_sink(v1_settings("history", username="", password=""))
        self.assertEqual("timeseries.influxdb.username and timeseries.influxdb.password", raised.exception.key)
        self.assertIn("HTTP 401: unable to parse authentication credentials", str(raised.exception))

    def test_v2_server_going_away_after_opening(self):
        with V2Receiver(SERVER, "xwrap", [bucket := next(NAMES)], TOKEN) as receiver:
            sink = open_influx_sink(InfluxSettings(api="v2", url=receiver.url, bucket=bucket, token=TOKEN))
        with self.assertRaises(DatabaseUnavailable) as raised:
            sink.write(Batch("coinbase", captured_trades("coinbase")[:1]))
        self.assertIn(
            f"InfluxDB at {receiver.url} (timeseries.influxdb.url) unavailable: cannot connect", str(raised.exception)
        )
        sink.close()

    def test_a_server_too_slow_names_the_timeout(self):
        expected = "unavailable: no answer within 0.3 s (timeseries.influxdb.timeout_seconds)"
        with socket.create_server(("127.0.0.1", 0)) as silent:  # connections are taken, never answered
            url = f"http://127.0.0.1:{silent.getsockname()[1]}"
            for settings in (v1_settings("history", url=url), InfluxSettings(api="v2", url=url, token=TOKEN)):
                with self.subTest(api=settings.api), self.assertRaises(DatabaseUnavailable) as raised:
                    open_influx_sink(replace(settings, timeout_seconds=Decimal("0.3")))
                self.assertIn(expected, str(raised.exception))
        with V2Receiver(SERVER, "xwrap", [bucket := next(NAMES)], TOKEN) as receiver:
            settings = InfluxSettings(api="v2", url=receiver.url, bucket=bucket, token=TOKEN)
            sink = open_influx_sink(replace(settings, timeout_seconds=Decimal("0.3")))
            receiver.write_delay = 1.0
            with self.assertRaises(DatabaseUnavailable) as raised:
                sink.write(Batch("coinbase", captured_trades("coinbase")[:1]))
            self.assertIn(expected, str(raised.exception))
            sink.close()

    def test_nothing_secret_is_logged(self):
        with (
            self.assertLogs(level="DEBUG") as logs,
            V2Receiver(SERVER, "xwrap", [bucket := next(NAMES)], TOKEN) as receiver,
        ):
            for settings in (
                v1_settings(next(NAMES)),
                InfluxSettings(api="v2", url=receiver.url, bucket=bucket, token=TOKEN),
            ):
                sink = open_influx_sink(settings)
                sink.write(Batch("coinbase", captured_trades("coinbase")))
                sink.trades("coinbase", captured_trades("coinbase")[0].pair, 0, 2e9, 10)
                sink.close()
            with self.assertRaises(ConfigError):
                open_influx_sink(InfluxSettings(api="v2", url=receiver.url, bucket=bucket, token="wrong-0123"))
        self.assertIn("market history goes to InfluxDB (v2 API)", "\n".join(logs.output))
        for secret in (TOKEN, "wrong-0123", ADMIN[1]):
            self.assertNotIn(secret, "\n".join(logs.output))


if __name__ == "__main__":
    unittest.main()
