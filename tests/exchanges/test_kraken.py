"""Kraken's metadata and websocket v2 translations. Kraken has no capture of its own: the metadata
is tests/fixtures/kraken/ (its documented example response and five pairs as the live API returned
them); the websocket messages are Kraken's published examples and live messages recorded in
public code (each named where it is used); the stream is the synthetic capture
(tests/fixtures/README.md), replayed here against the capture read independently."""

import contextlib
import io
import json
import unittest
import zlib
from datetime import UTC, datetime
from decimal import Decimal

from exchange_wrapper.cli import main as xwrap
from exchange_wrapper.core.book import BookSide
from exchange_wrapper.core.errors import (
    ExchangeRejected,
    ExchangeUnavailable,
    InvalidParameter,
    MarketClosed,
    PrecisionError,
    RateLimited,
)
from exchange_wrapper.core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, Ticker, Trade
from exchange_wrapper.core.markets import Market, MarketStatus
from exchange_wrapper.core.orders import Side
from exchange_wrapper.core.pairs import Pair, common_currency
from exchange_wrapper.core.precision import check_order
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.kraken import public as kraken
from exchange_wrapper.marketdata.hub import MarketDataHub
from exchange_wrapper.replay.source import Replay
from tests.exchanges.markets_contract import CAPTURES, FIXTURES, MarketsContract
from tests.exchanges.test_kraken_feed import BOOK_MESSAGES, FINAL
from tests.exchanges.test_kraken_feed import PAIRS as FEED_PAIRS
from tests.fixtures.kraken.make_capture import generate_session

BODY = (FIXTURES / "kraken" / "AssetPairs.json").read_text()
DOCS_BODY = (FIXTURES / "kraken" / "AssetPairs.docs.json").read_text()
RAW = json.loads(BODY)["result"]
DOCS_RAW = json.loads(DOCS_BODY)["result"]


def parse_changed(key: str, **change) -> Market:
    pair = {name: value for name, value in {**RAW[key], **change}.items() if value is not None}
    [market] = kraken.parse_markets(json.dumps({"error": [], "result": {key: pair}}))
    return market


class KrakenMarketsTest(MarketsContract, unittest.TestCase):
    module = kraken
    body = BODY
    response_name = "GET /0/public/AssetPairs on kraken"

    def expected_pairs(self):
        return {
            key: Pair(common_currency("kraken", p["base"]), common_currency("kraken", p["quote"]))
            for key, p in RAW.items()
        }

    def test_all_three_names_of_a_pair(self):
        expected = {
            "XXBTZUSD": ("BTC_USD", "XBT/USD", "XBTUSD"),
            "XDGUSD": ("DOGE_USD", "XDG/USD", "XDGUSD"),
            "XETHXXBT": ("ETH_BTC", "ETH/XBT", "ETHXBT"),
            "SOLUSD": ("SOL_USD", "SOL/USD", "SOLUSD"),
            "ACAEUR": ("ACA_EUR", "ACA/EUR", "ACAEUR"),
        }
        self.assertEqual(sorted(RAW), sorted(expected))
        for key, (pair, wsname, altname) in expected.items():
            with self.subTest(key=key):
                self.assertEqual((RAW[key]["wsname"], RAW[key]["altname"]), (wsname, altname))
                for name in (key, wsname, altname):
                    self.assertEqual(str(self.table.to_pair(name)), pair)
                self.assertEqual(self.table.to_symbol(pair), key)
                self.assertEqual(self.table.to_ws_symbol(pair), wsname)

    def test_pairs_may_be_given_in_krakens_spelling(self):
        self.assertEqual(self.table.to_symbol(Pair("XBT", "USD")), "XXBTZUSD")
        self.assertEqual(self.table.to_symbol("XDG_USD"), "XDGUSD")
        self.assertEqual(self.table.to_symbol("ETH_XBT"), "XETHXXBT")

    def test_sample_pairs_field_by_field(self):
        for raw_pairs, markets in ((RAW, self.markets), (DOCS_RAW, kraken.parse_markets(DOCS_BODY))):
            self.assertEqual(len(markets), len(raw_pairs))
            for market in markets:
                raw = raw_pairs[market.symbol]
                with self.subTest(symbol=market.symbol):
                    self.assertEqual(market.tick_size, Decimal(raw["tick_size"]))
                    self.assertEqual(market.tick_size, Decimal(10) ** -raw["pair_decimals"])
                    self.assertEqual(market.size_step, Decimal(10) ** -raw["lot_decimals"])
                    self.assertEqual(market.funds_step, Decimal(10) ** -raw["cost_decimals"])
                    self.assertEqual(market.min_size, Decimal(raw["ordermin"]))
                    self.assertEqual(market.min_notional, Decimal(raw["costmin"]))
                    self.assertEqual((market.max_size, market.max_notional), (None, None))
                    self.assertEqual((market.ws_symbol, market.alt_symbols), (raw["wsname"], (raw["altname"],)))
        doge = self.table.market("DOGE_USD")
        self.assertEqual(
            (doge.tick_size, doge.size_step, doge.min_size, doge.min_notional, doge.funds_step),
            (Decimal("0.0000001"), Decimal("0.00000001"), Decimal("50"), Decimal("0.5"), Decimal("0.000000001")),
        )

    def test_fees_come_from_the_first_tier_in_percent(self):
        docs = {m.symbol: m for m in kraken.parse_markets(DOCS_BODY)}
        self.assertEqual(DOCS_RAW["XXBTZUSD"]["fees"][0], [0, 0.26])
        self.assertEqual(DOCS_RAW["XXBTZUSD"]["fees_maker"][0], [0, 0.16])
        for key in ("XXBTZUSD", "XETHXXBT"):
            self.assertEqual((docs[key].maker_fee, docs[key].taker_fee), (Decimal("0.0016"), Decimal("0.0026")))
        # The live API sent empty lists: Kraken Pro's lowest published tier, 0.25 % / 0.40 %.
        self.assertTrue(all(p["fees"] == [] and p["fees_maker"] == [] for p in RAW.values()))
        self.assertTrue(all((m.maker_fee, m.taker_fee) == (Decimal("0.0025"), Decimal("0.004")) for m in self.markets))
        # A pair off the maker/taker schedule (no fees_maker) charges makers the taker fee.
        market = parse_changed("XXBTZUSD", fees=[[0, 0.4], [10000, 0.35]], fees_maker=None)
        self.assertEqual((market.maker_fee, market.taker_fee), (Decimal("0.004"), Decimal("0.004")))

    def test_status(self):
        self.assertEqual(self.table.market("ACA_EUR").status, MarketStatus.CANCEL_ONLY)
        self.assertEqual(
            {m.symbol for m in self.markets if m.status is MarketStatus.ONLINE},
            {"XXBTZUSD", "XDGUSD", "XETHXXBT", "SOLUSD"},
        )
        cases = {
            "post_only": MarketStatus.POST_ONLY,
            "limit_only": MarketStatus.LIMIT_ONLY,
            "reduce_only": MarketStatus.CANCEL_ONLY,
            "delisted": MarketStatus.OFFLINE,
            "maintenance": MarketStatus.OFFLINE,
            "work_in_progress": MarketStatus.OFFLINE,
        }
        for status, expected in cases.items():
            with self.subTest(status=status):
                self.assertEqual(parse_changed("SOLUSD", status=status).status, expected)

    def test_older_responses_without_tick_size_costmin_or_cost_decimals(self):
        market = parse_changed("XDGUSD", tick_size=None, costmin=None, cost_decimals=None)
        self.assertEqual(
            (market.tick_size, market.min_notional, market.funds_step), (Decimal("0.0000001"), Decimal(0), None)
        )

    def test_dark_pool_pairs_are_skipped(self):
        dark = {name: value for name, value in RAW["XXBTZUSD"].items() if name not in ("wsname", "tick_size")}
        dark["altname"] = "XBTUSD.d"
        result = {"XXBTZUSD": RAW["XXBTZUSD"], "XXBTZUSD.d": dark}
        markets = kraken.parse_markets(json.dumps({"error": [], "result": result}))
        self.assertEqual([m.symbol for m in markets], ["XXBTZUSD"])

    def test_pairs_of_assets_a_unified_name_cannot_carry_are_skipped(self):
        staking = {**RAW["XETHXXBT"], "altname": "ETH2.SETH", "wsname": "ETH2.S/ETH", "base": "ETH2.S", "quote": "XETH"}
        result = {"XXBTZUSD": RAW["XXBTZUSD"], "ETH2.SETH": staking}
        markets = kraken.parse_markets(json.dumps({"error": [], "result": result}))
        self.assertEqual([m.symbol for m in markets], ["XXBTZUSD"])

    def test_rounding_and_limits_on_real_pairs(self):
        btc = self.table.market("BTC_USD")
        buy = check_order(btc, side="buy", type="limit", size=Decimal("0.123456789"), price=Decimal("84000.15"))
        self.assertEqual((buy.size, buy.price), (Decimal("0.12345678"), Decimal("84000.1")))
        sell = check_order(btc, side="sell", type="limit", size=Decimal("0.1"), price=Decimal("84000.15"))
        self.assertEqual(sell.price, Decimal("84000.2"))
        cases = [
            (
                btc,
                dict(size=Decimal("0.00001"), price=Decimal("84000")),
                "size 0.00001 below minimum 0.00005 for BTC_USD on kraken",
            ),
            (
                btc,
                dict(size=Decimal("0.00005"), price=Decimal("5000")),
                "notional 0.25 USD below minimum 0.5 for BTC_USD on kraken",
            ),
            (
                self.table.market("DOGE_USD"),
                dict(size=Decimal("49.999"), price=Decimal("0.2")),
                "size 49.999 below minimum 50 for DOGE_USD on kraken",
            ),
        ]
        for market, amounts, message in cases:
            self.assertRefused(PrecisionError, message, check_order, market, side="buy", type="limit", **amounts)
        self.assertRefused(
            MarketClosed,
            "ACA_EUR on kraken does not accept this order: market is cancel_only",
            check_order,
            self.table.market("ACA_EUR"),
            side="buy",
            type="limit",
            size=Decimal("20000"),
            price=Decimal("0.01"),
        )

    def test_bad_metadata_names_the_field_and_the_pair(self):
        cases = [
            (dict(lot_decimals="8"), "lot_decimals of XXBTZUSD on kraken: expected a whole number, got '8'"),
            (
                dict(ordermin="lots"),
                "ordermin of XXBTZUSD on kraken: expected a decimal string such as \"0.01\", got 'lots'",
            ),
            (dict(tick_size="0"), "tick_size of XXBTZUSD on kraken: expected a decimal greater than 0, got '0'"),
            (dict(wsname=None), "wsname of XXBTZUSD on kraken: missing, expected a string"),
            (dict(fees=[[0]]), "fees[0] of XXBTZUSD on kraken: expected [volume, percent fee], got [0]"),
            (
                dict(fees_maker=[[0, "cheap"]]),
                "fees_maker[0] of XXBTZUSD on kraken: expected a decimal string such as \"0.01\", got 'cheap'",
            ),
        ]
        for change, message in cases:
            self.assertRefused(InvalidParameter, message, parse_changed, "XXBTZUSD", **change)
        self.assertRefused(
            InvalidParameter,
            "error of AssetPairs on kraken: expected an empty list, got ['EGeneral:Too many requests']",
            kraken.parse_markets,
            '{"error":["EGeneral:Too many requests"]}',
        )


# -- websocket v2 and OHLC -----------------------------------------------------------------------


def with_pairs(**changes_by_key) -> str:
    """AssetPairs with more pairs, each the SOLUSD entry changed (names, decimals)."""
    result = dict(RAW)
    for key, change in changes_by_key.items():
        result[key] = {**RAW["SOLUSD"], **change}
    return json.dumps({"error": [], "result": result})


# The pairs of Kraken's published examples and of the recorded ALGO/USD messages, with the decimals
# their prices are written with (MATIC/USD 0.5666: 4; ALGO/USD 0.12290: 5).
MARKETS = kraken.parse_markets(
    with_pairs(
        MATICUSD={
            "altname": "MATICUSD",
            "wsname": "MATIC/USD",
            "base": "MATIC",
            "pair_decimals": 4,
            "tick_size": "0.0001",
        },
        ALGOUSD={
            "altname": "ALGOUSD",
            "wsname": "ALGO/USD",
            "base": "ALGO",
            "pair_decimals": 5,
            "tick_size": "0.00001",
        },
    )
)
TABLE = SymbolTable("kraken", MARKETS)
D = Decimal


def levels(*pairs):
    return [(D(price), D(qty)) for price, qty in pairs]


def book_json(kind, symbol, bids, asks, checksum, timestamp=None):
    """A v2 book message with the numbers written exactly as given."""

    def side(rows):
        return ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in rows)

    stamp = f',"timestamp":"{timestamp}"' if timestamp else ""
    return (
        f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{symbol}","bids":[{side(bids)}],'
        f'"asks":[{side(asks)}],"checksum":{checksum}{stamp}}}]}}'
    )


class KrakenAdapterTest(unittest.TestCase):
    def setUp(self):
        self.adapter = kraken.KrakenAdapter(TABLE, [m.pair for m in MARKETS])
        self.hub = MarketDataHub()
        self.adapter.add_books(self.hub, self.adapter.pairs)

    def feed(self, *messages):
        for message in messages:
            self.assertEqual(list(self.hub.handle("kraken", self.adapter.parse(message, 1.0), 1.0)), [])
        return self.hub.counters("kraken")

    def levels_of(self, pair):
        book = self.hub.book("kraken", Pair.parse(pair))
        return list(book.bids), list(book.asks)

    def test_websocket_v2_names(self):
        self.assertEqual(
            {str(pair): symbol for pair, symbol in self.adapter.symbol_of.items()},
            {
                "BTC_USD": "BTC/USD",
                "DOGE_USD": "DOGE/USD",
                "ETH_BTC": "ETH/BTC",
                "SOL_USD": "SOL/USD",
                "ACA_EUR": "ACA/EUR",
                "MATIC_USD": "MATIC/USD",
                "ALGO_USD": "ALGO/USD",
            },
        )
        for name in ("BTC/USD", "XBT/USD", "XXBTZUSD", "XBTUSD"):
            self.assertEqual(self.adapter.pair_of[name], Pair("BTC", "USD"))
        self.assertEqual(kraken.ws_v2_symbol("XDG/XBT"), "DOGE/BTC")

    def test_checksum_guide_example(self):
        # docs.kraken.com "Book checksum (WebSocket v2)": BTC/USD, price precision 1, qty 8
        bids = [
            ("45283.5", "0.10000000"),
            ("45283.4", "1.54582015"),
            ("45282.1", "0.10000000"),
            ("45281.0", "0.10000000"),
            ("45280.3", "1.54592586"),
            ("45279.0", "0.07990000"),
            ("45277.6", "0.03310103"),
            ("45277.5", "0.30000000"),
            ("45277.3", "1.54602737"),
            ("45276.6", "0.15445238"),
        ]
        asks = [
            ("45285.2", "0.00100000"),
            ("45286.4", "1.54571953"),
            ("45286.6", "1.54571109"),
            ("45289.6", "1.54560911"),
            ("45290.2", "0.15890660"),
            ("45291.8", "1.54553491"),
            ("45294.7", "0.04454749"),
            ("45296.1", "0.35380000"),
            ("45297.5", "0.09945542"),
            ("45299.5", "0.18772827"),
        ]
        counters = self.feed(book_json("snapshot", "BTC/USD", bids, asks, 3310070434))
        self.assertEqual((counters["checksums_verified"], counters["checksums_failed"]), (1, 0))
        self.assertEqual(self.levels_of("BTC_USD"), (levels(*bids), levels(*asks)))

    def test_checksum_api_reference_examples_need_the_pair_decimals(self):
        # docs.kraken.com API reference, book channel: the MATIC/USD snapshot and update examples.
        # Their numbers lost trailing zeros (0.566, 18097.1547): only written with the pair's
        # decimals (4 and 8) do they give the published checksums.
        bids = [
            ("0.5666", "4831.75496356"),
            ("0.5665", "6658.22734739"),
            ("0.5664", "18724.91513344"),
            ("0.5663", "11563.92544914"),
            ("0.5662", "14006.65365711"),
            ("0.5661", "17454.85679807"),
            ("0.566", "18097.1547"),
            ("0.5659", "33644.89175666"),
            ("0.5658", "148.3464"),
            ("0.5657", "606.70854372"),
        ]
        asks = [
            ("0.5668", "4410.79769741"),
            ("0.5669", "4655.40412487"),
            ("0.567", "49844.89424998"),
            ("0.5671", "24306.41678"),
            ("0.5672", "29783.25223475"),
            ("0.5673", "57234.71239278"),
            ("0.5674", "45065.04744"),
            ("0.5675", "5912.76380354"),
            ("0.5676", "42514.92434778"),
            ("0.5677", "36304.0847022"),
        ]
        counters = self.feed(
            book_json("snapshot", "MATIC/USD", bids, asks, 2439117997, "2023-10-06T17:35:55.440295Z"),
            book_json(
                "update", "MATIC/USD", [("0.5657", "1098.3947558")], [], 2114181697, "2023-10-06T17:35:55.440295Z"
            ),
        )
        self.assertEqual((counters["checksums_verified"], counters["checksums_failed"]), (2, 0))
        self.assertEqual(self.levels_of("MATIC_USD")[0][-1], (D("0.5657"), D("1098.3947558")))
        as_written = "".join(p.replace(".", "").lstrip("0") + q.replace(".", "").lstrip("0") for p, q in asks + bids)
        self.assertNotEqual(zlib.crc32(as_written.encode()), 2439117997)

    # Captured live from wss://ws.kraken.com/v2 on 2026-08-26, ETH/BTC at depth 10, as quoted in a
    # public repository's tests: a removal (0.00000000) and the level that comes into the depth.
    LIVE_SNAPSHOT = (
        '{"channel":"book","type":"snapshot","data":[{"symbol":"ETH/BTC","bids":[{"price":0.031348,"qty":0.03740000},'
        '{"price":0.031347,"qty":2.87288049},{"price":0.031345,"qty":8.57986833},{"price":0.031344,"qty":14.40276069},'
        '{"price":0.031340,"qty":12.96065840},{"price":0.031339,"qty":13.19606540},{"price":0.031338,"qty":20.41389313},'
        '{"price":0.031336,"qty":0.03740000},{"price":0.031334,"qty":14.37158163},{"price":0.031332,"qty":14.40695990}],'
        '"asks":[{"price":0.031357,"qty":0.03740000},{"price":0.031358,"qty":2.87194815},{"price":0.031361,"qty":'
        '0.00767324},{"price":0.031362,"qty":4.27140781},{"price":0.031363,"qty":4.34586052},{"price":0.031364,"qty":'
        '27.28097668},{"price":0.031365,"qty":12.92325840},{"price":0.031366,"qty":4.14290322},{"price":0.031368,"qty":'
        '0.00738649},{"price":0.031370,"qty":0.03740000}],"checksum":3619791617,"timestamp":"2026-08-26T15:16:16.637831Z"}]}'
    )
    LIVE_UPDATE = (
        '{"channel":"book","type":"update","data":[{"symbol":"ETH/BTC","bids":[{"price":0.031347,"qty":'
        '0.00000000},{"price":0.031329,"qty":19.07893401}],"asks":[],"checksum":2505869009,'
        '"timestamp":"2026-08-26T15:16:16.730423Z"}]}'
    )

    def test_live_messages_parse_to_exact_events(self):
        snapshot_time = datetime(2026, 8, 26, 15, 16, 16, 637831, UTC).timestamp()  # the messages' timestamps
        snapshot, check = self.adapter.parse(self.LIVE_SNAPSHOT, 1.0)
        raw = json.loads(self.LIVE_SNAPSHOT, parse_float=str)["data"][0]
        self.assertEqual(
            snapshot,
            BookSnapshot(
                Pair("ETH", "BTC"),
                levels(*((r["price"], r["qty"]) for r in raw["bids"])),
                levels(*((r["price"], r["qty"]) for r in raw["asks"])),
                time=snapshot_time,
            ),
        )
        self.assertEqual(snapshot.bids[4], (D("0.031340"), D("12.96065840")))
        # the snapshot is checked too
        self.assertEqual(check, BookDelta(Pair("ETH", "BTC"), (), checksum=3619791617, time=snapshot_time))
        self.assertEqual(
            self.adapter.parse(self.LIVE_UPDATE, 1.0),
            [
                BookDelta(
                    Pair("ETH", "BTC"),
                    [(BookSide.BID, D("0.031347"), D("0")), (BookSide.BID, D("0.031329"), D("19.07893401"))],
                    checksum=2505869009,
                    time=datetime(2026, 8, 26, 15, 16, 16, 730423, UTC).timestamp(),
                )
            ],
        )

    def test_live_messages_check_out(self):
        counters = self.feed(self.LIVE_SNAPSHOT, self.LIVE_UPDATE)
        self.assertEqual((counters["checksums_verified"], counters["checksums_failed"]), (2, 0))
        bids, asks = self.levels_of("ETH_BTC")
        self.assertEqual(
            (len(bids), bids[0], bids[1], bids[-1]),
            (10, (D("0.031348"), D("0.03740000")), (D("0.031345"), D("8.57986833")), (D("0.031329"), D("19.07893401"))),
        )

    def test_recorded_snapshot_without_a_timestamp(self):
        # ALGO/USD from wss://ws.kraken.com/v2 (api 2.0.8) on 2024-10-03, as quoted in a public
        # repository's notes: the snapshot then carried no timestamp.
        snapshot = (
            '{"channel":"book","type":"snapshot","data":[{"symbol":"ALGO/USD","bids":[{"price":0.12291,"qty":27039.62776299},'
            '{"price":0.12290,"qty":8136.33288180},{"price":0.12287,"qty":10984.20817349},{"price":0.12283,"qty":'
            '28027.05025639},{"price":0.12280,"qty":9705.60000000},{"price":0.12279,"qty":15215.53522714},{"price":0.12275,'
            '"qty":4067.00000000},{"price":0.12274,"qty":30639.39949109},{"price":0.12268,"qty":2531.96119986},{"price":'
            '0.12267,"qty":16299.00000000}],"asks":[{"price":0.12307,"qty":600.00000000},{"price":0.12308,"qty":'
            '4042.11919517},{"price":0.12312,"qty":10284.53891000},{"price":0.12314,"qty":16155.08885299},{"price":0.12315,'
            '"qty":5186.05778473},{"price":0.12316,"qty":32828.24000000},{"price":0.12317,"qty":7751.65718582},{"price":'
            '0.12318,"qty":32298.82000000},{"price":0.12319,"qty":1864.66899600},{"price":0.12322,"qty":4718.99755630}],'
            '"checksum":2375857985}]}'
        )
        update = (
            '{"channel":"book","type":"update","data":[{"symbol":"ALGO/USD","bids":[{"price":0.12275,"qty":'
            '6597.51731160}],"asks":[],"checksum":1100635717,"timestamp":"2024-10-03T02:46:57.050170Z"}]}'
        )
        self.assertIsNone(self.adapter.parse(snapshot, 1.0)[0].time)
        counters = self.feed(snapshot, update)
        self.assertEqual((counters["checksums_verified"], counters["checksums_failed"]), (2, 0))
        self.assertEqual(self.levels_of("ALGO_USD")[0][6], (D("0.12275"), D("6597.51731160")))

    def test_a_wrong_checksum_makes_the_book_stale_once(self):
        update = self.LIVE_UPDATE.replace("2505869009", "2505869008")
        self.feed(self.LIVE_SNAPSHOT)
        with self.assertLogs("exchange_wrapper.marketdata.hub", level="WARNING") as logs:
            [resync] = self.hub.handle("kraken", self.adapter.parse(update, 2.0), 2.0)
        self.assertEqual(
            logs.output,
            [
                "WARNING:exchange_wrapper.marketdata.hub:kraken ETH_BTC book stale, resyncing: "
                "checksum_mismatch: exchange checksum 2505869008, book's 2505869009"
            ],
        )
        self.assertEqual(
            (resync.pair, resync.problem.value, resync.detail),
            (Pair("ETH", "BTC"), "checksum_mismatch", "exchange checksum 2505869008, book's 2505869009"),
        )
        self.assertEqual(list(self.hub.handle("kraken", self.adapter.parse(self.LIVE_UPDATE, 3.0), 3.0)), [])  # dropped
        self.assertEqual(self.hub.counters("kraken")["checksums_failed"], 1)

    def test_numbers_in_exponent_form_or_as_strings(self):
        # a float printer would write 0.00005 as 5e-05; the guide's example writes strings
        snapshot = book_json(
            "snapshot",
            "BTC/USD",
            [("84000.0", "5e-05")],
            [("84000.1", '"0.00100000"')],
            kraken.kraken_checksum(
                levels(("84000.0", "0.00005")), levels(("84000.1", "0.001")), price_decimals=1, size_decimals=8
            ),
        )
        counters = self.feed(snapshot)
        self.assertEqual((counters["checksums_verified"], counters["checksums_failed"]), (1, 0))
        self.assertEqual(self.levels_of("BTC_USD"), (levels(("84000.0", "0.00005")), levels(("84000.1", "0.001"))))
        self.assertEqual(
            zlib.crc32(b"8400011000008400005000"),
            kraken.kraken_checksum(
                levels(("84000.0", "0.00005")), levels(("84000.1", "0.001")), price_decimals=1, size_decimals=8
            ),
        )

    def test_trades_name_the_taker_and_keep_the_exchange_time(self):
        # the API reference's trade examples: an update (kept) and a snapshot (trades from before
        # the subscription: not replayed into the matching engine)
        update = (
            '{"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell","price":0.5117,'
            '"qty":40.0,"ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"}]}'
        )
        self.assertEqual(
            self.adapter.parse(update, 99.0),
            [
                Trade(
                    Pair("MATIC", "USD"),
                    "4665906",
                    D("0.5117"),
                    D("40.0"),
                    Side.SELL,
                    datetime(2023, 9, 25, 7, 49, 37, 708706, UTC).timestamp(),
                )
            ],
        )
        snapshot = update.replace('"update"', '"snapshot"')
        self.assertEqual(self.adapter.parse(snapshot, 99.0), [])

    def test_ticker(self):
        # the API reference's ticker example (ALGO/USD)
        message = (
            '{"channel":"ticker","type":"snapshot","data":[{"symbol":"ALGO/USD","bid":0.10025,"bid_qty":740.0,'
            '"ask":0.10036,"ask_qty":1361.44813783,"last":0.10035,"volume":997038.98383185,"vwap":0.10148,'
            '"low":0.09979,"high":0.10285,"change":-0.00017,"change_pct":-0.17,'
            '"timestamp":"2023-09-25T09:04:31.742648Z"}]}'
        )
        self.assertEqual(
            self.adapter.parse(message, 1.0),
            [
                Ticker(
                    Pair("ALGO", "USD"),
                    D("0.10025"),
                    D("0.10036"),
                    datetime(2023, 9, 25, 9, 4, 31, 742648, UTC).timestamp(),
                    bid_size=D("740.0"),
                    ask_size=D("1361.44813783"),
                    last=D("0.10035"),
                    volume_24h=D("997038.98383185"),
                )
            ],
        )
        [untimed] = self.adapter.parse(message.replace(',"timestamp":"2023-09-25T09:04:31.742648Z"', ""), 7.5)
        self.assertEqual(untimed.time, 7.5)

    def test_signs_of_life_and_refusals(self):
        for quiet in (
            '{"channel":"heartbeat"}',
            # live, August 2026
            '{"channel":"status","type":"update","data":[{"version":"2.0.10","system":"online",'
            '"api_version":"v2","connection_id":12072546403441331453}]}',
            '{"method":"subscribe","result":{"channel":"book","depth":10,"snapshot":true,"symbol":"ETH/BTC"},'
            '"success":true,"time_in":"2026-08-26T15:16:16.576099Z","time_out":"2026-08-26T15:16:16.576140Z"}',
            '{"method":"pong","req_id":1,"time_in":"2026-02-15T12:00:00.000000Z",'
            '"time_out":"2026-02-15T12:00:00.000001Z"}',
            book_json("update", "NOT/LISTED", [("1.0", "1.0")], [], 1),
        ):
            with self.subTest(message=quiet[:40]):
                self.assertEqual(self.adapter.parse(quiet, 1.0), [])
        # refusals as recorded live: an unsupported pair, and a depth Kraken does not serve
        self.assertEqual(
            self.adapter.parse(
                '{"error":"Currency pair not supported XDG/USD","method":"subscribe",'
                '"success":false,"symbol":"XDG/USD","time_in":"2024-01-01T00:00:00.000000Z",'
                '"time_out":"2024-01-01T00:00:00.000000Z"}',
                1.0,
            ),
            [FeedError("subscribe XDG/USD refused: Currency pair not supported XDG/USD")],
        )
        self.assertEqual(
            self.adapter.parse(
                '{"error":"Subscription depth not supported","method":"subscribe",'
                '"success":false,"time_in":"2026-08-16T23:54:19.629313Z",'
                '"time_out":"2026-08-16T23:54:19.629343Z"}',
                1.0,
            ),
            [FeedError("subscribe refused: Subscription depth not supported")],
        )

    def test_subscriptions(self):
        adapter = kraken.KrakenAdapter(TABLE, [Pair("BTC", "USD"), Pair("DOGE", "USD")])
        symbols = ["BTC/USD", "DOGE/USD"]
        self.assertEqual(
            [json.loads(m) for m in adapter.subscribe(adapter.pairs, 0)],
            [
                {"method": "subscribe", "params": {"channel": "book", "symbol": symbols, "depth": 100}},
                {"method": "subscribe", "params": {"channel": "trade", "symbol": symbols}},
                {"method": "subscribe", "params": {"channel": "ticker", "symbol": symbols}},
            ],
        )
        self.assertEqual(
            [json.loads(m)["params"]["channel"] for m in adapter.unsubscribe(adapter.pairs)],
            ["book", "trade", "ticker"],
        )
        book = {"channel": "book", "symbol": ["DOGE/USD"], "depth": 100}
        self.assertEqual(
            [json.loads(m) for m in adapter.resubscribe([Pair.parse("XDG_USD")], 0)],
            [{"method": "unsubscribe", "params": book}, {"method": "subscribe", "params": book}],
        )

    def test_candles_request(self):
        request = self.adapter.candles_request(Pair("BTC", "USD"), 300, 1688671200, 1688674800)
        self.assertEqual(
            (request.path, request.params), ("/0/public/OHLC", {"pair": "XXBTZUSD", "interval": 5, "since": 1688671199})
        )
        self.assertEqual(
            self.adapter.candles_request(Pair("BTC", "USD"), 60, 1688671200.5, 1688671300).params["since"], 1688671200
        )
        for args, field in (((120, 0, 120), "interval"), ((60, 0, 60 * 721), "end"), ((60, 10, 10), "end")):
            with self.subTest(args=args), self.assertRaises(InvalidParameter) as raised:
                self.adapter.candles_request(Pair("BTC", "USD"), *args)
            self.assertEqual(raised.exception.field, field)

    def test_candles_of_the_documented_response(self):
        # docs.kraken.com "Get OHLC Data" example response
        body = (
            '{"error":[],"result":{"XXBTZUSD":[[1688671200,"30306.1","30306.2","30305.7","30305.7","30306.1",'
            '"3.39243896",23]],"last":1688672160}}'
        )
        self.assertEqual(
            self.adapter.parse_candles(body, Pair("BTC", "USD"), 60),
            [
                Candle(
                    Pair("BTC", "USD"),
                    1688671200,
                    60,
                    D("30306.1"),
                    D("30306.2"),
                    D("30305.7"),
                    D("30305.7"),
                    D("3.39243896"),
                )
            ],
        )

    def test_candle_errors(self):
        btc = Pair("BTC", "USD")
        cases = [
            ('{"error":["EGeneral:Too many requests"]}', RateLimited, "kraken rate limit: retry after 10.000 s"),
            ('{"error":["EAPI:Rate limit exceeded"]}', RateLimited, "kraken rate limit: retry after 10.000 s"),
            ('{"error":["EService:Unavailable"]}', ExchangeUnavailable, "kraken unavailable: EService:Unavailable"),
            (
                '{"error":["EQuery:Unknown asset pair"]}',
                ExchangeRejected,
                "kraken refused the request (HTTP 200): EQuery:Unknown asset pair",
            ),
            (
                '{"error":[],"result":{"XETHXXBT":[],"last":0}}',
                InvalidParameter,
                "result of OHLC of BTC_USD on kraken: expected the candles of BTC_USD under its pair key, "
                "got ['XETHXXBT']",
            ),
            (
                '{"error":[],"result":{"XXBTZUSD":[[1688671200,"1","1","1"]],"last":0}}',
                InvalidParameter,
                "GET OHLC of BTC_USD on kraken[0]: expected a row of 8 columns: time, open, high, low, close, vwap, "
                "volume, count, got [1688671200, '1', '1', '1']",
            ),
            (
                '{"error":[],"result":{"XXBTZUSD":[[1688671200,"x","1","1","1","1","1",1]],"last":0}}',
                InvalidParameter,
                "open of BTC_USD candle 0 on kraken: expected a decimal string such as \"0.01\", got 'x'",
            ),
        ]
        for body, error, message in cases:
            with self.subTest(body=body), self.assertRaises(error) as raised:
                self.adapter.parse_candles(body, btc, 60)
            self.assertEqual(str(raised.exception), message)


class KrakenCaptureTest(unittest.TestCase):
    """The synthetic capture (tests/fixtures/README.md) replayed, against the same capture read
    independently (tests/exchanges/test_kraken_feed.py: plain json, a dict per side, truncated to
    the subscribed depth)."""

    FILES = [CAPTURES / "KRAKEN.0", CAPTURES / "KRAKEN.ws.0.0"]

    def test_xwrap_replay_checks_every_checksum_and_ends_with_no_corrupt_book(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = xwrap(["replay", "--exchange", "kraken", *map(str, self.FILES)])
        report = json.loads(out.getvalue())
        self.assertEqual(status, 0)
        self.assertEqual(
            (report["corrupt"], report["checksums"], report["resyncs"], report["crossed_books"]),
            ([], {"verified": BOOK_MESSAGES, "failed": 0}, 0, 0),
        )
        self.assertEqual(
            {pair: (book["bid_levels"], book["ask_levels"], book["state"]) for pair, book in report["books"].items()},
            {str(pair): (100, 100, "live") for pair in FEED_PAIRS.values()},
        )

    def test_replayed_books_equal_the_capture_read_independently(self):
        replay = Replay("kraken", self.FILES)
        replay.run()
        for symbol, (bids, asks) in FINAL.items():
            with self.subTest(symbol=symbol):
                book = replay.hub.book("kraken", FEED_PAIRS[symbol])
                self.assertEqual((dict(book.bids), dict(book.asks)), (bids, asks))

    def test_the_capture_is_what_make_capture_writes(self):
        rest, ws = generate_session((FIXTURES / "kraken" / "AssetPairs.json").read_text(encoding="utf-8"))
        self.assertEqual((CAPTURES / "KRAKEN.0").read_text(encoding="utf-8").splitlines(), rest)
        self.assertEqual((CAPTURES / "KRAKEN.ws.0.0").read_text(encoding="utf-8").splitlines(), ws)


if __name__ == "__main__":
    unittest.main()
