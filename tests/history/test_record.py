"""``xwrap record`` against the loopback simulators of the five exchanges (real-format traffic over
real sockets), then the recording replayed through ``xwrap replay``'s machinery: the replayed books
are the books the live run ended with, checksums verified where the exchange has them."""

import asyncio
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest
from decimal import Decimal as D
from pathlib import Path
from urllib.parse import urlsplit

from exchange_wrapper.cli import main
from exchange_wrapper.config import ExchangeSettings, ExchangesSettings, RecordingSettings, Settings, load_settings
from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.core.pacing import Backoff
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.exchanges import EXCHANGE_NAMES
from exchange_wrapper.history.record import record, record_command
from exchange_wrapper.marketdata.hub import MarketDataHub
from exchange_wrapper.replay.capture import RestResponse, WsOpened, WsReceived, WsSent, read_capture
from exchange_wrapper.replay.source import Replay
from exchange_wrapper.service.server import Server, replay_groups
from tests.exchanges.test_binance import SYMBOLS as BINANCE_SYMBOLS
from tests.exchanges.test_bitfinex_feed import PAIRS as BITFINEX_PAIRS
from tests.exchanges.test_bybit_feed import PAIRS as BYBIT_PAIRS
from tests.exchanges.test_coinbase_feed import PAIRS as COINBASE_PAIRS
from tests.exchanges.test_kraken_feed import PAIRS as KRAKEN_PAIRS
from tests.exchanges.test_luno_feed import PAIRS as LUNO_PAIRS
from tests.exchanges.test_okx_feed import PAIRS as OKX_PAIRS
from tests.exchanges.test_poloniex_feed import SYMBOLS as POLONIEX_PAIRS
from tests.exchanges.test_valr_feed import PAIRS as VALR_PAIRS
from tests.simulator.binance import binance_protocol
from tests.simulator.bitfinex import bitfinex_protocol
from tests.simulator.bybit import bybit_protocol
from tests.simulator.coinbase import coinbase_protocol
from tests.simulator.coinbase_private import API_KEY, API_SECRET, PASSPHRASE, CoinbaseExchange
from tests.simulator.kraken import kraken_protocol
from tests.simulator.luno import API_KEY as LUNO_KEY
from tests.simulator.luno import API_SECRET as LUNO_SECRET
from tests.simulator.luno import luno_protocol
from tests.simulator.okx import okx_protocol
from tests.simulator.poloniex import poloniex_protocol
from tests.simulator.server import ExchangeSimulator
from tests.simulator.valr import valr_protocol

ROOT = Path(__file__).resolve().parents[2]
#: exchange -> (its simulator's protocol, the pairs followed, whether its books carry checksums)
EXCHANGES = {
    "coinbase": (coinbase_protocol, COINBASE_PAIRS, False),
    "binance": (binance_protocol, [str(pair) for pair in BINANCE_SYMBOLS.values()], False),
    "kraken": (kraken_protocol, [str(pair) for pair in KRAKEN_PAIRS.values()], True),
    "bitfinex": (bitfinex_protocol, list(BITFINEX_PAIRS.values()), True),
    "poloniex": (poloniex_protocol, POLONIEX_PAIRS, False),
    "okx": (okx_protocol, [str(pair) for pair in OKX_PAIRS.values()], True),
    "bybit": (bybit_protocol, [str(pair) for pair in BYBIT_PAIRS.values()], False),
    "luno": (luno_protocol, [str(pair) for pair in LUNO_PAIRS.values()], False),
    "valr": (valr_protocol, [str(pair) for pair in VALR_PAIRS.values()], True),
}
#: exchange -> the API key its public stream needs (Luno's): it must reach no recorded file
STREAM_KEYS = {"luno": (LUNO_KEY, LUNO_SECRET)}
#: exchange -> its connections, where it keeps one per pair (Luno)
CONNECTIONS = {"luno": 2}


def levels(hub, exchange, pair):
    book = hub.book(exchange, Pair.parse(pair))
    return dict(book.bids), dict(book.asks)


class RecordAndReplayTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        asyncio.get_running_loop().set_debug(False)  # unittest turns it on; it slows the stream tenfold
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.folder = folder.name

    async def record_simulator(self, exchange, compress):
        """Record ``exchange``'s simulator until its recording is streamed and the books are live:
        (the live hub, the summary of what was written)."""
        make_protocol, pairs, _ = EXCHANGES[exchange]
        async with ExchangeSimulator(make_protocol()) as sim:
            settings = Settings(
                recording=RecordingSettings(gzip=compress),
                exchanges=ExchangesSettings(
                    **{
                        name: ExchangeSettings(
                            pairs=pairs,
                            rest_url=sim.http_url,
                            ws_url=sim.ws_url,
                            api_key=STREAM_KEYS.get(name, ("", ""))[0],
                            api_secret=STREAM_KEYS.get(name, ("", ""))[1],
                        )
                        if name == exchange
                        else ExchangeSettings(enabled=False)
                        for name in EXCHANGE_NAMES
                    }
                ),
            )
            hub = MarketDataHub()

            async def streamed():
                while not (
                    sim.finished.is_set()
                    and hub.counters(exchange)["messages"] >= sim.sent
                    and all(hub.book(exchange, Pair.parse(pair)).live for pair in pairs)
                ):
                    await asyncio.sleep(0.05)

            summary = await record(
                settings,
                exchange,
                self.folder,
                until=lambda: asyncio.wait_for(streamed(), 30),
                hub=hub,
                backoff=Backoff(0.01, 0.05),
                silence_timeout=60,
            )
        return hub, summary

    async def test_each_exchange_recorded_replays_to_the_books_the_live_run_ended_with(self):
        for exchange, (_, pairs, checksums) in EXCHANGES.items():
            compress = exchange != "coinbase"
            with self.subTest(exchange=exchange, gzip=compress):
                live, summary = await self.record_simulator(exchange, compress)
                self.assertEqual(live.counters(exchange)["resyncs"], 0)
                suffix = ".gz" if compress else ""
                streams = [f"{exchange.upper()}.ws.{n}.0{suffix}" for n in range(CONNECTIONS.get(exchange, 1))]
                self.assertEqual(summary.files, [f"{exchange.upper()}.0{suffix}", *streams])
                self.assertEqual(summary.dropped, 0)
                files = [os.path.join(summary.directory, name) for name in summary.files]
                self.assertEqual(replay_groups(files), {exchange: files})  # serve --replay takes them as they are
                for secret in STREAM_KEYS.get(exchange, ()):
                    for record in (r for name in files for r in read_capture(name)):
                        self.assertNotIn(secret, str(record))
                replay = Replay(exchange, files)
                report = replay.run()
                self.assertEqual(sorted(map(str, replay.adapter.pairs)), sorted(pairs))
                for pair in pairs:
                    self.assertTrue(replay.hub.book(exchange, Pair.parse(pair)).live, pair)
                    self.assertEqual(levels(replay.hub, exchange, pair), levels(live, exchange, pair), pair)
                self.assertEqual(report["corrupt"], [])
                self.assertEqual((report["sequence_gaps"], report["checksums"]["failed"]), (0, 0))
                if checksums:
                    self.assertEqual(report["checksums"]["verified"], live.counters(exchange)["checksums_verified"])
                    self.assertGreater(report["checksums"]["verified"], 0)
                self.assertEqual(report["trades"], live.counters(exchange)["trades"])
                self.assertEqual(report["messages"], live.counters(exchange)["messages"])
                out = io.StringIO()
                with contextlib.redirect_stdout(out):  # the command itself: exit 0, the same report
                    self.assertEqual(main(["replay", "--exchange", exchange, *files]), 0)
                printed = json.loads(out.getvalue())
                self.assertEqual(printed["books"], report["books"])

    async def test_the_recording_holds_the_traffic_as_the_simulator_served_it(self):
        live, summary = await self.record_simulator("coinbase", compress=True)
        rest, ws = (Path(summary.directory, name) for name in summary.files)
        configuration, *responses = read_capture(rest)
        self.assertEqual(json.loads(configuration.text)["pairs"], COINBASE_PAIRS)
        self.assertEqual([(type(r), r.url.rpartition("/")[2]) for r in responses], [(RestResponse, "products")])
        self.assertEqual(responses[0].body, coinbase_protocol().rest["/products"])
        opened, subscribe, *received = read_capture(ws)
        self.assertIsInstance(opened, WsOpened)
        self.assertIsInstance(subscribe, WsSent)
        self.assertEqual(json.loads(subscribe.message)["type"], "subscribe")
        streamed = [r.message for r in received if isinstance(r, WsReceived)]
        self.assertEqual(len(streamed), len(received))
        recording = coinbase_protocol().recording
        served = [m for m in streamed if m in set(recording)]  # the recorded messages, besides acks and snapshots
        self.assertEqual(served, [m for m in recording if m in set(served)])  # in the recorded order
        self.assertGreater(len(served), 9000)


class RecordCommandTest(unittest.IsolatedAsyncioTestCase):
    async def test_xwrap_record_records_for_its_duration_and_prints_what_it_wrote(self):
        async with ExchangeSimulator(poloniex_protocol()) as sim:
            with tempfile.TemporaryDirectory() as folder:
                env = {
                    **os.environ,
                    "XWRAP_POLONIEX_REST_URL": sim.http_url,
                    "XWRAP_POLONIEX_WS_URL": sim.ws_url,
                    "XWRAP_RECORDING_GZIP": "false",
                    "XWRAP_LOG_LEVEL": "WARNING",
                }
                command = ["-m", "exchange_wrapper.cli", "record", "--exchange", "poloniex", "--pair", "BTC_USDT"]
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    *command,
                    "--out",
                    folder,
                    "--duration",
                    "1.5",
                    cwd=ROOT,
                    env=env,
                    stdout=asyncio.subprocess.PIPE,
                )
                out, _ = await asyncio.wait_for(process.communicate(), 30)
                self.assertEqual(process.returncode, 0)
                summary = json.loads(out)
                self.assertEqual(summary["files"], ["POLONIEX.0", "POLONIEX.ws.0.0"])
                self.assertEqual(os.path.dirname(summary["directory"]), folder)
                self.assertGreater(summary["lines"], 3)
                self.assertEqual(summary["dropped"], 0)
                report = Replay("poloniex", [os.path.join(summary["directory"], n) for n in summary["files"]]).run()
                self.assertEqual(list(report["books"]), ["BTC_USDT"])
                self.assertEqual(report["corrupt"], [])

    def test_bad_input_is_named(self):  # in the main thread: the command sets its signal handlers
        with tempfile.TemporaryDirectory() as folder:
            for pairs, duration, field in ((["BTCUSD"], 1.0, "--pair"), (["BTC_USD"], 0.0, "--duration")):
                with self.subTest(field=field), self.assertRaises(InvalidParameter) as raised:
                    record_command(Settings(), "coinbase", pairs, folder, duration)
                self.assertEqual(raised.exception.field, field)
            self.assertEqual(os.listdir(folder), [])  # nothing was started


class ServeRecordsTest(unittest.IsolatedAsyncioTestCase):
    """``serve`` with ``recording.enabled`` and Coinbase in live mode against its loopback exchange
    (public and private on one port): the feed's traffic is recorded, the account's never."""

    async def until(self, condition, timeout=10.0):
        async with asyncio.timeout(timeout):
            while not await condition():
                await asyncio.sleep(0.02)

    async def test_serve_records_the_feeds_public_traffic_and_never_the_accounts(self):
        asyncio.get_running_loop().set_debug(False)
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        recordings = Path(folder.name, "recordings")
        async with CoinbaseExchange(balances={"USD": D("10000"), "SKL": D("20000")}) as sim:
            overrides = {
                "database_url": f"sqlite:///{folder.name}/xwrap.sqlite",
                "server.port": 0,
                "recording.enabled": True,
                "recording.directory": str(recordings),
                "recording.gzip": False,
                **{f"exchanges.{name}.enabled": name == "coinbase" for name in EXCHANGE_NAMES},
                "exchanges.coinbase.mode": "live",
                "exchanges.coinbase.rest_url": sim.rest_url,
                "exchanges.coinbase.ws_url": sim.ws_url,
                "exchanges.coinbase.pairs": ["SKL_USD"],
                "exchanges.coinbase.api_key": API_KEY,
                "exchanges.coinbase.api_secret": API_SECRET,
                "exchanges.coinbase.passphrase": PASSPHRASE,
            }
            server = Server(
                load_settings(None, env={}, overrides=overrides),
                feed_options={"silence_timeout": 3600},
                account_options={"reconcile_interval": 3600, "quiet": 0.05, "backoff": Backoff(0.1, 0.3)},
            )
            await server.start()
            try:
                account = server.trading.accounts["coinbase"]

                async def ready():
                    return (
                        account.state == "ready"
                        and "subscribed" in account.stream_state
                        and server.hub.book("coinbase", Pair("SKL", "USD")).live
                    )

                await self.until(ready)
                api = server.api
                wallet_set = await api.call("create_wallet_set", {"name": "live", "mode": "live"})
                await api.call(
                    "fund_wallet_set",
                    {"wallet_set_id": wallet_set["id"], "exchange": "coinbase", "currency": "USD", "amount": "500"},
                )
                order = await api.call(
                    "make_order",
                    {
                        "wallet_set_id": wallet_set["id"],
                        "exchange": "coinbase",
                        "pair": "SKL_USD",
                        "side": "buy",
                        "price": "0.79",
                        "size": "100",
                    },
                )

                async def placed():
                    order.update(await api.get_order(order_id=order["id"]))
                    return order["status"] == "open" and order["exchange_order_id"]

                await self.until(placed)
                self.assertGreater(len(sim.calls.calls), 3)  # the account's signed calls went out
            finally:
                await server.stop()
        self.assertIsNone(server.recording)
        [session] = recordings.iterdir()
        self.assertEqual(sorted(path.name for path in session.iterdir()), ["COINBASE.0", "COINBASE.ws.0.0"])
        text = "".join(path.read_text() for path in session.iterdir())
        for private in (API_KEY, API_SECRET, PASSPHRASE, order["exchange_order_id"], '"user"', "signature"):
            self.assertNotIn(private, text)
        ws = list(read_capture(session / "COINBASE.ws.0.0"))
        self.assertEqual([type(r) for r in ws[:2]], [WsOpened, WsReceived])  # the signed subscription is not there
        self.assertFalse(any(isinstance(r, WsSent) for r in ws))
        rest = [r for r in read_capture(session / "COINBASE.0") if isinstance(r, RestResponse)]
        self.assertEqual([urlsplit(r.url).path for r in rest], ["/products"])  # not /accounts, /orders, /fills
        report = Replay("coinbase", sorted(session.iterdir())).run()
        self.assertEqual((list(report["books"]), report["corrupt"]), (["SKL_USD"], []))


if __name__ == "__main__":
    unittest.main()
