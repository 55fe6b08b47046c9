import contextlib
import functools
import io
import json
import tempfile
import unittest
from decimal import Decimal
from pathlib import Path

from exchange_wrapper.cli import main
from exchange_wrapper.core.book import BookSide
from exchange_wrapper.core.errors import InvalidParameter, MarketClosed, PrecisionError
from exchange_wrapper.core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, Ticker, Trade
from exchange_wrapper.core.markets import MarketStatus
from exchange_wrapper.core.orders import Side
from exchange_wrapper.core.pacing import RateLimit
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.precision import check_order
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.binance import public as binance
from exchange_wrapper.replay.capture import RestResponse, WsReceived, read_capture
from exchange_wrapper.replay.source import Replay
from tests.exchanges.markets_contract import CAPTURES, MarketsContract, captured_body

BODY = captured_body("BINANCE.0", "https://api.binance.com/api/v3/exchangeInfo")
RAW = {symbol["symbol"]: symbol for symbol in json.loads(BODY)["symbols"]}
FILES = [CAPTURES / name for name in ("BINANCE.0", "BINANCE.http.0.0", "BINANCE.ws.1.0")]
SNAPSHOTS = {
    r.url.partition("symbol=")[2].partition("&")[0]: r
    for r in read_capture(CAPTURES / "BINANCE.http.0.0")
    if isinstance(r, RestResponse)
}
STREAM = [r for r in read_capture(CAPTURES / "BINANCE.ws.1.0") if isinstance(r, WsReceived) and r.message]
SYMBOLS = {
    "NKNUSDT": Pair("NKN", "USDT"),
    "BLZETH": Pair("BLZ", "ETH"),
    "LRCBTC": Pair("LRC", "BTC"),
    "RUNEEUR": Pair("RUNE", "EUR"),
}
D = Decimal


@functools.cache
def recorded(kind, symbol):
    """The payloads (``data``) of the recorded stream's messages of stream ``kind`` for ``symbol``."""
    stream = f'"{symbol.lower()}@{kind}"'
    return [json.loads(r.message)["data"] for r in STREAM if stream in r.message]


@functools.cache
def recorded_diffs(symbol):
    """(the recorded REST snapshot of ``symbol``, its recorded diffs that end after it), raw."""
    raw = json.loads(SNAPSHOTS[symbol].body)
    diffs = [diff for diff in recorded("depth@100ms", symbol) if diff["u"] > raw["lastUpdateId"]]
    last = raw["lastUpdateId"]
    for diff in diffs:  # the recording has no gap
        assert diff["U"] <= last + 1 if last == raw["lastUpdateId"] else diff["U"] == last + 1
        last = diff["u"]
    return raw, diffs


def apply_diff(bids, asks, diff):
    for levels, key in ((bids, "b"), (asks, "a")):
        for price, size in diff[key]:
            if D(size):
                levels[D(price)] = D(size)
            else:
                levels.pop(D(price), None)


def book_at(symbol, update_id):
    """(bids, asks) of ``symbol`` as {Decimal price: Decimal size} when it reached ``update_id``,
    from the raw capture with plain json: the recorded snapshot, then the diffs after it."""
    raw, diffs = recorded_diffs(symbol)
    bids, asks = ({D(p): D(q) for p, q in raw[side]} for side in ("bids", "asks"))
    for diff in diffs:
        if diff["u"] > update_id:
            break
        apply_diff(bids, asks, diff)
    return bids, asks


def independent_book(symbol, served=None, limit=1000):
    """The last (bids, asks) of ``symbol``, as :func:`book_at`. With ``served`` (an update id the
    book reached), the book at that id is cut to its ``limit`` best levels a side, as a REST
    snapshot served then, and the later diffs go on it."""
    raw, diffs = recorded_diffs(symbol)
    if served is None:
        return book_at(symbol, diffs[-1]["u"] if diffs else raw["lastUpdateId"])
    assert served in (raw["lastUpdateId"], *(diff["u"] for diff in diffs))
    bids, asks = book_at(symbol, served)
    bids, asks = best(bids, limit, True), best(asks, limit, False)
    for diff in diffs:
        if diff["u"] > served:
            apply_diff(bids, asks, diff)
    return bids, asks


def best(levels, limit, highest):
    return dict(sorted(levels.items(), reverse=highest)[:limit])


def raw_filter(symbol: str, kind: str) -> dict:
    [found] = [f for f in RAW[symbol]["filters"] if f["filterType"] == kind]
    return found


class BinanceMarketsTest(MarketsContract, unittest.TestCase):
    module = binance
    body = BODY
    response_name = "GET /api/v3/exchangeInfo on binance"

    def expected_pairs(self):
        return {name: Pair(s["baseAsset"], s["quoteAsset"]) for name, s in RAW.items()}

    def test_the_capture_lists_1695_symbols_of_which_1222_trade_spot(self):
        self.assertEqual(len(self.markets), 1695)
        online = {name for name, s in RAW.items() if s["status"] == "TRADING" and s["isSpotTradingAllowed"]}
        self.assertEqual(len(online), 1222)
        self.assertEqual({m.symbol for m in self.markets if m.status is MarketStatus.ONLINE}, online)
        self.assertEqual({m.status for m in self.markets}, {MarketStatus.ONLINE, MarketStatus.OFFLINE})

    def test_sample_symbols_field_by_field(self):
        # The four symbols the capture streams; BTCUSDT; BTCIDRT: quote precision 2, tick "1.00",
        # status BREAK; BTCUPUSDT: a leveraged token, spot trading not allowed; BQXETH: tick 10.
        for symbol in ("NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR", "BTCUSDT", "BTCIDRT", "BTCUPUSDT", "BQXETH"):
            raw, market = RAW[symbol], self.table.market_of(symbol)
            lot = raw_filter(symbol, "LOT_SIZE")
            with self.subTest(symbol=symbol):
                self.assertEqual(market.tick_size, Decimal(raw_filter(symbol, "PRICE_FILTER")["tickSize"]))
                self.assertEqual(market.size_step, Decimal(lot["stepSize"]))
                self.assertEqual(market.min_size, Decimal(lot["minQty"]))
                self.assertEqual(market.max_size, Decimal(lot["maxQty"]))
                self.assertEqual(market.min_notional, Decimal(raw_filter(symbol, "MIN_NOTIONAL")["minNotional"]))
                self.assertIsNone(market.max_notional)
                self.assertEqual(market.funds_step, Decimal(1).scaleb(-raw["quoteAssetPrecision"]))
                self.assertEqual(
                    market.status,
                    MarketStatus.ONLINE
                    if raw["status"] == "TRADING" and raw["isSpotTradingAllowed"]
                    else MarketStatus.OFFLINE,
                )
                self.assertEqual((market.maker_fee, market.taker_fee), (Decimal("0.001"), Decimal("0.001")))
        idrt = self.table.market("BTC_IDRT")
        self.assertEqual(
            (idrt.tick_size, idrt.funds_step, idrt.min_notional, idrt.status),
            (Decimal("1"), Decimal("0.01"), Decimal("20000"), MarketStatus.OFFLINE),
        )
        self.assertEqual(self.table.market("BTCUP_USDT").status, MarketStatus.OFFLINE)
        self.assertEqual(self.table.market("BQX_ETH").tick_size, Decimal("10"))

    def test_the_notional_filter_and_disabled_rules(self):
        symbol = dict(RAW["BTCUSDT"])
        symbol["filters"] = [f for f in symbol["filters"] if f["filterType"] not in ("MIN_NOTIONAL", "PRICE_FILTER")]
        symbol["filters"] += [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.00000000",
                "maxPrice": "0.00000000",
                "tickSize": "0.00000000",
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": "5.00000000",
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ]
        symbol["filters"][1]["maxQty"] = "0.00000000"
        self.assertEqual(symbol["filters"][1]["filterType"], "LOT_SIZE")
        [market] = binance.parse_markets(json.dumps({"symbols": [symbol]}))
        self.assertEqual(
            (market.tick_size, market.max_size, market.min_notional, market.max_notional),
            (Decimal("0.00000001"), None, Decimal("5"), Decimal("9000000")),
        )
        symbol["filters"] = [f for f in symbol["filters"] if f["filterType"] != "NOTIONAL"]
        [market] = binance.parse_markets(json.dumps({"symbols": [symbol]}))
        self.assertEqual((market.min_notional, market.max_notional), (Decimal(0), None))

    def test_rounding_never_makes_an_order_more_aggressive(self):
        btc = self.table.market("BTC_USDT")
        buy = check_order(btc, side="buy", type="limit", size=Decimal("0.123456"), price=Decimal("50000.019"))
        self.assertEqual((buy.size, buy.price), (Decimal("0.12345"), Decimal("50000.01")))
        sell = check_order(
            btc,
            side="sell",
            type="stop_limit",
            size=Decimal("1"),
            price=Decimal("50000.011"),
            stop_price=Decimal("50100.019"),
        )
        self.assertEqual((sell.price, sell.stop_price), (Decimal("50000.02"), Decimal("50100.01")))
        funds = check_order(btc, side="buy", type="market", funds=Decimal("100.123456789"))
        self.assertEqual(funds.funds, Decimal("100.12345678"))

    def test_orders_outside_the_limits_are_refused_with_the_rule(self):
        btc = self.table.market("BTC_USDT")
        cases = [
            (
                dict(size=Decimal("0.000001"), price=Decimal("50000")),
                "size 0.000001 below minimum 0.00001 for BTC_USDT on binance",
            ),
            (
                dict(size=Decimal("0.0001"), price=Decimal("50000")),
                "notional 5 USDT below minimum 10 for BTC_USDT on binance",
            ),
            (
                dict(size=Decimal("9000.1"), price=Decimal("50000")),
                "size 9000.1 above maximum 9000 for BTC_USDT on binance",
            ),
        ]
        for amounts, message in cases:
            self.assertRefused(PrecisionError, message, check_order, btc, side="buy", type="limit", **amounts)
        self.assertRefused(
            PrecisionError,
            "size 0.5 below minimum 1 for NKN_USDT on binance",
            check_order,
            self.table.market("NKN_USDT"),
            side="sell",
            type="limit",
            size=Decimal("0.5"),
            price=Decimal("0.35"),
        )

    def test_a_symbol_in_break_refuses_orders(self):
        self.assertRefused(
            MarketClosed,
            "BCC_BTC on binance does not accept this order: market is offline",
            check_order,
            self.table.market("BCC_BTC"),
            side="buy",
            type="limit",
            size=Decimal("1"),
            price=Decimal("0.01"),
        )

    def test_bad_metadata_names_the_field_and_the_symbol(self):
        def changed(kind, **change):
            symbol = dict(RAW["ETHBTC"])
            symbol["filters"] = [{**f, **change} if f["filterType"] == kind else f for f in symbol["filters"]]
            return {"symbols": [symbol]}

        cases = [
            (
                changed("LOT_SIZE", stepSize="abc"),
                "LOT_SIZE.stepSize of ETHBTC on binance: expected a decimal string such as \"0.01\", got 'abc'",
            ),
            (
                changed("PRICE_FILTER", tickSize="-0.01"),
                "PRICE_FILTER.tickSize of ETHBTC on binance: expected a decimal of 0 or more, got '-0.01'",
            ),
            (
                changed("MIN_NOTIONAL", minNotional=None),
                'MIN_NOTIONAL.minNotional of ETHBTC on binance: missing, expected a decimal string such as "0.01"',
            ),
            (
                changed("LOT_SIZE", filterType="LOT"),
                "filters of ETHBTC on binance: missing, expected a PRICE_FILTER and a LOT_SIZE filter",
            ),
            (
                {"symbols": [{**RAW["ETHBTC"], "quoteAssetPrecision": "8"}]},
                "quoteAssetPrecision of ETHBTC on binance: expected a whole number, got '8'",
            ),
            (
                {"symbols": [{**RAW["ETHBTC"], "status": None}]},
                "status of ETHBTC on binance: missing, expected a string",
            ),
            (
                {"code": -1003, "msg": "Too many requests"},
                "symbols of exchangeInfo on binance: missing, expected a value",
            ),
        ]
        for data, message in cases:
            self.assertRefused(InvalidParameter, message, binance.parse_markets, json.dumps(data))


NKN = Pair("NKN", "USDT")


class BinanceAdapterTest(unittest.TestCase):
    """The websocket and REST translations, on the real recorded messages."""

    def setUp(self):
        self.adapter = binance.BinanceAdapter(SymbolTable("binance", binance.parse_markets(BODY)), SYMBOLS.values())

    def message(self, stream, index=0):
        return [r.message for r in STREAM if f'"stream":"{stream}"' in r.message][index]

    def test_a_diff_carries_its_first_and_last_update_ids(self):
        # the first recorded diff of NKNUSDT: U 499869750, u 499869752, three bids, no ask, event time E
        # 1633998512068 ms
        self.assertEqual(
            self.adapter.parse(self.message("nknusdt@depth@100ms"), 1.0),
            [
                BookDelta(
                    NKN,
                    [
                        (BookSide.BID, D("0.35130000"), D("6195.00000000")),
                        (BookSide.BID, D("0.34750000"), D("5548.00000000")),
                        (BookSide.BID, D("0.34640000"), D("6222.00000000")),
                    ],
                    499869750,
                    499869752,
                    time=1633998512.068,
                )
            ],
        )
        [delta] = self.adapter.parse(self.message("nknusdt@depth@100ms", 1), 1.0)
        self.assertEqual(
            delta,
            BookDelta(
                NKN,
                [
                    (BookSide.BID, D("0.35170000"), D("4265.00000000")),
                    (BookSide.ASK, D("0.35290000"), D("10968.00000000")),
                ],
                499869753,
                499869754,
                time=1633998512.568,
            ),
        )

    def test_trades_name_the_taker_and_keep_the_exchange_time(self):
        raw = json.loads(self.message("nknusdt@aggTrade"))["data"]
        self.assertIs(raw["m"], False)  # the buyer was not the maker: a buyer took the ask
        self.assertEqual(
            self.adapter.parse(self.message("nknusdt@aggTrade"), 99.0),
            [Trade(NKN, "15683430", D("0.35280000"), D("58.00000000"), Side.BUY, 1633998523.963)],
        )
        # the raw trade stream, as documented: the buyer the maker, so a seller took the bid
        trade = (
            '{"stream":"nknusdt@trade","data":{"e":"trade","E":1633998524101,"s":"NKNUSDT","t":19862791,'
            '"p":"0.35270000","q":"120.00000000","T":1633998524100,"m":true,"M":true}}'
        )
        self.assertEqual(
            self.adapter.parse(trade, 99.0),
            [Trade(NKN, "19862791", D("0.35270000"), D("120.00000000"), Side.SELL, 1633998524.1)],
        )

    def test_book_ticker_acks_errors_and_other_streams(self):
        self.assertEqual(
            self.adapter.parse(self.message("nknusdt@bookTicker"), 7.5),
            [
                Ticker(
                    NKN, D("0.35210000"), D("0.35260000"), 7.5, bid_size=D("672.00000000"), ask_size=D("3199.00000000")
                )
            ],
        )
        for quiet in (
            self.message("nknusdt@kline_1m"),
            '{"result":null,"id":1}',
            '{"result":["nknusdt@aggTrade"],"id":3}',
            self.message("nknusdt@depth@100ms").replace("NKNUSDT", "NOSUCHCOIN"),
        ):
            self.assertEqual(self.adapter.parse(quiet, 1.0), [])
        self.assertEqual(
            self.adapter.parse('{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2}', 1.0),
            [FeedError("Invalid request: invalid stream (code 2, request 2)")],
        )
        self.assertEqual(
            self.adapter.parse('{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"}', 1.0),
            [FeedError("Invalid JSON: expected value at line 1 column 1 (code 3, request None)")],
        )

    def test_streams_are_subscribed_by_message_on_the_combined_endpoint(self):
        self.assertEqual(
            self.adapter.ws_address("wss://stream.binance.com:9443"), "wss://stream.binance.com:9443/stream"
        )
        self.assertEqual(self.adapter.ws_address("ws://127.0.0.1:8765/"), "ws://127.0.0.1:8765/stream")
        streams = [
            "nknusdt@depth@100ms",
            "blzeth@depth@100ms",
            "lrcbtc@depth@100ms",
            "runeeur@depth@100ms",
            "nknusdt@aggTrade",
            "blzeth@aggTrade",
            "lrcbtc@aggTrade",
            "runeeur@aggTrade",
            "nknusdt@bookTicker",
            "blzeth@bookTicker",
            "lrcbtc@bookTicker",
            "runeeur@bookTicker",
        ]
        self.assertEqual(
            [json.loads(m) for m in self.adapter.subscribe(self.adapter.pairs, 0)],
            [{"method": "SUBSCRIBE", "params": streams, "id": 1}],
        )
        self.assertEqual(
            [json.loads(m) for m in self.adapter.unsubscribe([NKN])],
            [
                {
                    "method": "UNSUBSCRIBE",
                    "params": ["nknusdt@depth@100ms", "nknusdt@aggTrade", "nknusdt@bookTicker"],
                    "id": 2,
                }
            ],
        )
        # the recorder named the same streams in its URL (with klines, which candles over REST replace)
        opened = next(line for line in (CAPTURES / "BINANCE.ws.1.0").read_text().splitlines() if " <-> " in line)
        named = opened.partition("?streams=")[2].partition(" ")[0].split("/")
        self.assertEqual(sorted(streams), sorted(s for s in named if "@kline_" not in s))

    def test_the_feed_declares_binance_limits(self):
        adapter = binance.BinanceAdapter
        self.assertEqual((adapter.rest_limit, adapter.markets_weight), (RateLimit(50, 3000), 20))
        self.assertLess(adapter.connection_lifetime, 24 * 3600)
        self.assertIsNone(adapter.ping_interval)  # the server pings; websockets answers
        self.assertTrue(adapter.snapshot_over_rest)
        self.assertFalse(adapter.has_checksum)
        # never more than 4 subscribe messages in any second: a pong still fits under 5
        limit = adapter.subscribe_limit
        self.assertLessEqual(limit.capacity + limit.rate, 4)

    def test_depth_snapshots_over_rest_at_their_weight(self):
        request = self.adapter.snapshot_request(NKN)
        self.assertEqual(
            (request.path, request.params, request.weight), ("/api/v3/depth", {"symbol": "NKNUSDT", "limit": 1000}, 50)
        )
        weights = {1: 5, 100: 5, 101: 25, 500: 25, 501: 50, 1000: 50, 1001: 250, 5000: 250}
        self.assertEqual({limit: binance.depth_weight(limit) for limit in weights}, weights)
        for limit in (0, 5001):
            with self.assertRaises(InvalidParameter):
                binance.depth_weight(limit)
        recorded_snapshot = SNAPSHOTS["NKNUSDT"]
        raw = json.loads(recorded_snapshot.body)
        expected = [
            BookSnapshot(NKN, [(D(p), D(q)) for p, q in raw["bids"]], [(D(p), D(q)) for p, q in raw["asks"]], 499869752)
        ]
        self.assertEqual(self.adapter.parse_rest(recorded_snapshot.url, recorded_snapshot.body), expected)
        self.assertEqual(
            self.adapter.parse_rest("/api/v3/depth?symbol=NKNUSDT&limit=1000", recorded_snapshot.body), expected
        )
        self.assertEqual((len(raw["bids"]), len(raw["asks"])), (609, 1000))
        self.assertEqual(
            self.adapter.parse_rest("/api/v3/depth?symbol=NOSUCHCOIN&limit=1000", recorded_snapshot.body), []
        )
        self.assertEqual(self.adapter.parse_rest("/api/v3/exchangeInfo", BODY), [])

    def test_a_bad_snapshot_names_the_field(self):
        cases = [
            (
                '{"code":-1121,"msg":"Invalid symbol."}',
                "depth.bids of NKNUSDT on binance: missing, expected a JSON list of [price, quantity]",
            ),
            (
                '{"lastUpdateId":5,"bids":[["0.35","x"]],"asks":[]}',
                "depth.bids[0].quantity of NKNUSDT on binance: expected a decimal string such as \"0.01\", got 'x'",
            ),
            (
                '{"lastUpdateId":5,"bids":[],"asks":[["0.35"]]}',
                "depth.asks[0] of NKNUSDT on binance: expected [price, quantity], got ['0.35']",
            ),
            (
                '{"lastUpdateId":"5","bids":[],"asks":[]}',
                "depth.lastUpdateId of NKNUSDT on binance: expected a whole number, got '5'",
            ),
        ]
        for body, message in cases:
            with self.subTest(body=body), self.assertRaises(InvalidParameter) as raised:
                self.adapter.parse_rest("/api/v3/depth?symbol=NKNUSDT&limit=1000", body)
            self.assertEqual(str(raised.exception), message)

    def test_the_published_weight_limit_replaces_the_documented_one(self):
        self.assertEqual(
            json.loads(BODY)["rateLimits"][0],
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        )
        # half the minute's weight at once, the other half over the minute: never 1200 in any 60 s
        self.assertEqual(binance.published_rest_limit(BODY), RateLimit(10, 600))
        weight = {"rateLimitType": "REQUEST_WEIGHT", "interval": "SECOND", "intervalNum": 10, "limit": 300}
        orders = {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50}
        self.assertEqual(binance.published_rest_limit(json.dumps({"rateLimits": [orders, weight]})), RateLimit(15, 150))
        self.assertIsNone(binance.published_rest_limit('{"symbols": []}'))
        with self.assertRaises(InvalidParameter) as raised:
            binance.published_rest_limit(json.dumps({"rateLimits": [{**weight, "interval": "WEEK"}]}))
        self.assertEqual(
            str(raised.exception),
            "rateLimits[0].interval of exchangeInfo on binance: expected SECOND, MINUTE, HOUR or DAY, got 'WEEK'",
        )

    def test_klines_request_and_response(self):
        request = self.adapter.candles_request(NKN, 60, 1633998480, 1633998540)
        self.assertEqual(
            (request.path, request.params, request.weight),
            (
                "/api/v3/klines",
                {
                    "symbol": "NKNUSDT",
                    "interval": "1m",
                    "startTime": 1633998480000,
                    "endTime": 1633998539999,
                    "limit": 1,
                },
                2,
            ),
        )
        self.assertEqual(self.adapter.candles_request(NKN, 86400, 0, 86400 * 1000).params["limit"], 1000)
        for args, field in (((120, 0, 120), "interval"), ((60, 60, 60), "end"), ((60, 0, 60 * 1001), "end")):
            with self.subTest(args=args), self.assertRaises(InvalidParameter) as raised:
                self.adapter.candles_request(NKN, *args)
            self.assertEqual(raised.exception.field, field)
        # the recorded kline_1m of NKNUSDT, written as GET /api/v3/klines rows (newest last)
        k = json.loads(self.message("nknusdt@kline_1m"))["data"]["k"]
        row = [k["t"], k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"], k["n"], k["V"], k["Q"], "0"]
        earlier = [
            k["t"] - 60000,
            "0.35250000",
            "0.35300000",
            "0.35200000",
            "0.35270000",
            "1200.00000000",
            k["t"] - 1,
            "423.36000000",
            7,
            "600.00000000",
            "211.74000000",
            "0",
        ]
        self.assertEqual(
            self.adapter.parse_candles(json.dumps([row, earlier]), NKN, 60),
            [
                Candle(
                    NKN,
                    1633998420,
                    60,
                    D("0.35250000"),
                    D("0.35300000"),
                    D("0.35200000"),
                    D("0.35270000"),
                    D("1200.00000000"),
                ),
                Candle(
                    NKN,
                    1633998480,
                    60,
                    D("0.35270000"),
                    D("0.35280000"),
                    D("0.35220000"),
                    D("0.35280000"),
                    D("25877.00000000"),
                ),
            ],
        )
        with self.assertRaises(InvalidParameter) as raised:
            self.adapter.parse_candles(json.dumps([row[:6]]), NKN, 60)
        self.assertEqual(raised.exception.field, "GET klines of NKN_USDT on binance[0]")
        with self.assertRaises(InvalidParameter) as raised:
            self.adapter.parse_candles(json.dumps([[k["t"], "x", *row[2:]]]), NKN, 60)
        self.assertEqual(raised.exception.field, "open of NKN_USDT kline 0 on binance")


def replay(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["replay", "--exchange", "binance", *map(str, argv)])
    return status, json.loads(out.getvalue())


class ReplayTest(unittest.TestCase):
    def test_xwrap_replay_ends_with_the_books_the_capture_describes(self):
        status, report = replay(*FILES)
        self.assertEqual((status, report["corrupt"], report["sequence_gaps"], report["resyncs"]), (0, [], 0, 0))
        self.assertEqual((report["messages"], report["trades"], report["tickers"]), (4 + len(STREAM), 2, 84))
        self.assertEqual(sorted(report["books"]), sorted(map(str, SYMBOLS.values())))
        for symbol, pair in SYMBOLS.items():
            bids, asks = independent_book(symbol)
            self.assertEqual(
                report["books"][str(pair)],
                {
                    "bid": str(max(bids).normalize()),
                    "ask": str(min(asks).normalize()),
                    "bid_levels": len(bids),
                    "ask_levels": len(asks),
                    "state": "live",
                },
            )

    def test_the_books_agree_with_the_exchanges_own_book_ticker_at_the_same_update_id(self):
        # bookTicker's u is the book's update id: where a diff ends at that id, the replayed book
        # must show the best bid and ask the exchange stated
        source = Replay("binance", FILES, pairs=SYMBOLS.values())
        waiting, compared = {}, 0
        for record in source.records():
            source.step(record, record.ts)
            data = json.loads(record.message)["data"] if isinstance(record, WsReceived) else {}
            if "A" in data:
                waiting.setdefault(data["s"], []).append(data)
            elif data.get("e") == "depthUpdate":
                book = source.hub.book("binance", SYMBOLS[data["s"]])
                for ticker in [t for t in waiting.get(data["s"], []) if t["u"] == data["u"]]:
                    self.assertEqual(
                        (book.bids.best, book.asks.best),
                        ((D(ticker["b"]), D(ticker["B"])), (D(ticker["a"]), D(ticker["A"]))),
                    )
                    compared += 1
                waiting[data["s"]] = [t for t in waiting.get(data["s"], []) if t["u"] > data["u"]]
        self.assertEqual(compared, 26)

    def test_a_diff_missing_from_the_recording_is_a_gap_and_the_book_ends_corrupt(self):
        lost = json.loads(next(r.message for r in STREAM if '"U":499869800' in r.message))["data"]
        self.assertEqual((lost["s"], lost["U"], lost["u"]), ("NKNUSDT", 499869800, 499869802))
        with tempfile.TemporaryDirectory() as folder:
            stream = Path(folder) / "BINANCE.ws.1.0"
            stream.write_text(
                "".join(
                    line
                    for line in (CAPTURES / "BINANCE.ws.1.0").read_text().splitlines(True)
                    if '"U":499869800' not in line
                )
            )
            status, report = replay(FILES[0], FILES[1], stream)
        self.assertEqual((status, report["corrupt"], report["sequence_gaps"]), (1, ["NKN_USDT"], 1))
        # the book waits for a snapshot the recording does not have; the others are right
        self.assertEqual(report["books"]["NKN_USDT"]["state"], "resyncing")
        self.assertEqual(report["books"]["LRC_BTC"]["state"], "live")


if __name__ == "__main__":
    unittest.main()
