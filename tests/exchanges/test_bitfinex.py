import json
import unittest
from decimal import Decimal

from exchange_wrapper.core.book import BookSide
from exchange_wrapper.core.errors import InvalidParameter, PrecisionError, UnknownPair
from exchange_wrapper.core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, Problem, Resync, Ticker, Trade
from exchange_wrapper.core.markets import MarketStatus
from exchange_wrapper.core.orders import Side
from exchange_wrapper.core.pacing import TokenBucket
from exchange_wrapper.core.pairs import Pair, common_currency
from exchange_wrapper.core.precision import check_order
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.bitfinex import public as bitfinex
from exchange_wrapper.replay.capture import WsSent, read_capture
from exchange_wrapper.replay.source import Replay
from tests.exchanges.markets_contract import CAPTURES, FIXTURES, MarketsContract, captured_body
from tests.replay.test_command import run
from tests.simulator.bitfinex import bitfinex_protocol

PAIRS_URL = "https://api-pub.bitfinex.com/v2/conf/pub:list:pair:exchange"
BODY = captured_body("BITFINEX.0", PAIRS_URL)
CURRENCIES = set(json.loads(captured_body("BITFINEX.0", "https://api-pub.bitfinex.com/v2/conf/pub:list:currency"))[0])
NAMES = json.loads(BODY)[0]
INFO_BODY = (FIXTURES / "bitfinex" / "pub_info_pair.json").read_text()
INFO = {name: info for name, info in json.loads(INFO_BODY)[0]}
RECORDING = bitfinex_protocol().recording
#: the recorded symbols' unified pairs (tTESTBTC:TESTUSD, a test pair, is not listed)
FOLLOWED = ["BFT_USD", "IOTA_ETH", "MDOGE_USD", "MANA_BTC", "ODE_USD", "SNGLS_USD"]
D = Decimal


def codes(name: str) -> tuple[str, str]:
    """Base and quote of a pair name: BASE:QUOTE, or three letters and three letters."""
    return tuple(name.split(":")) if ":" in name else (name[:3], name[3:])


def is_test_pair(name: str) -> bool:
    return name == "AAABBB" or name.startswith("TEST")


class BitfinexMarketsTest(MarketsContract, unittest.TestCase):
    module = bitfinex
    body = BODY
    response_name = "GET /v2/conf/pub:list:pair:exchange on bitfinex"

    def expected_pairs(self):
        return {
            f"t{name}": Pair(*(common_currency("bitfinex", code) for code in codes(name)))
            for name in NAMES
            if not is_test_pair(name)
        }

    def test_the_capture_lists_293_pairs_of_which_3_are_test_pairs(self):
        self.assertEqual(len(NAMES), 293)
        self.assertEqual(
            [name for name in NAMES if is_test_pair(name)], ["AAABBB", "TESTBTC:TESTUSD", "TESTBTC:TESTUSDT"]
        )
        self.assertEqual(len(self.markets), 290)

    def test_every_code_is_a_listed_currency(self):
        for market in self.markets:
            base, quote = bitfinex.split_pair(market.symbol[1:])
            self.assertTrue({base, quote} <= CURRENCIES, market.symbol)

    def test_symbols_and_aliases(self):
        expected = {
            "tBTCUSD": "BTC_USD",
            "tAAVE:USD": "AAVE_USD",
            "tBTC:CNHT": "BTC_CNHT",
            "tUSTUSD": "USDT_USD",
            "tUST:CNHT": "USDT_CNHT",
            "tIOTETH": "IOTA_ETH",
            "tDSHBTC": "DASH_BTC",
            "tMNABTC": "MANA_BTC",
            "tBCHN:USD": "BCH_USD",
            "tBCHABC:USD": "BCHABC_USD",
            "tETH2X:UST": "ETH2X_USDT",
        }
        for symbol, pair in expected.items():
            with self.subTest(symbol=symbol):
                self.assertIn(symbol[1:], NAMES)
                self.assertEqual(str(self.table.to_pair(symbol)), pair)
                self.assertEqual(str(self.table.to_pair(symbol[1:])), pair)
                self.assertEqual(self.table.to_symbol(pair), symbol)
        self.assertEqual(self.table.to_symbol(Pair("UST", "USD")), "tUSTUSD")
        self.assertEqual(self.table.to_symbol("DSH_BTC"), "tDSHBTC")

    def test_the_recorded_subscriptions_translate(self):
        subscribed = {
            json.loads(r.message)["symbol"]
            for r in read_capture(CAPTURES / "BITFINEX.ws.11.0")
            if isinstance(r, WsSent) and "symbol" in r.message
        }
        self.assertEqual(
            subscribed, {"tBFTUSD", "tIOTETH", "tDOGUSD", "tMNABTC", "tODEUSD", "tTESTBTC:TESTUSD", "tSNGUSD"}
        )
        self.assertEqual(
            {str(self.table.to_pair(s)) for s in subscribed - {"tTESTBTC:TESTUSD"}},
            {"BFT_USD", "IOTA_ETH", "MDOGE_USD", "MANA_BTC", "ODE_USD", "SNGLS_USD"},
        )
        with self.assertRaises(UnknownPair):
            self.table.to_pair("tTESTBTC:TESTUSD")

    def test_precision_is_five_significant_digits_and_eight_decimals(self):
        for market in self.markets:
            self.assertEqual(
                (market.tick_size, market.price_significant_digits, market.size_step), (None, 5, Decimal("0.00000001"))
            )
            self.assertEqual((market.min_size, market.max_size, market.min_notional), (Decimal(0), None, Decimal(0)))
            self.assertEqual(
                (market.maker_fee, market.taker_fee, market.status),
                (Decimal("0.001"), Decimal("0.002"), MarketStatus.ONLINE),
            )
        btc = self.table.market("BTC_USD")
        buy = check_order(btc, side="buy", type="limit", size=Decimal("0.123456789"), price=Decimal("57123.49"))
        self.assertEqual((buy.size, buy.price), (Decimal("0.12345678"), Decimal("57123")))
        sell = check_order(btc, side="sell", type="limit", size=Decimal("1"), price=Decimal("57123.49"))
        self.assertEqual(sell.price, Decimal("57124"))
        # a price the recorded book carries (BITFINEX.ws.11.0: 0.0010262) is already on the grid
        iota = check_order(
            self.table.market("IOTA_ETH"), side="buy", type="limit", size=Decimal("10"), price=Decimal("0.0010262")
        )
        self.assertEqual((iota.price, iota.rounded), (Decimal("0.0010262"), ()))
        self.assertRefused(
            PrecisionError,
            "price 57123.49 is more than 5 significant digits for BTC_USD on bitfinex",
            check_order,
            btc,
            side="buy",
            type="limit",
            size=Decimal("1"),
            price=Decimal("57123.49"),
            strict=True,
        )
        self.assertRefused(
            PrecisionError,
            "size 0.000000001 below minimum 0.00000001 for BTC_USD on bitfinex",
            check_order,
            btc,
            side="buy",
            type="limit",
            size=Decimal("0.000000001"),
            price=Decimal("57123"),
        )

    def test_order_sizes_from_pub_info_pair(self):
        markets = {m.symbol: m for m in bitfinex.parse_markets(BODY, INFO_BODY)}
        self.assertEqual(len(markets), 290)
        for name, info in INFO.items():
            with self.subTest(name=name):
                if name in NAMES and not is_test_pair(name):
                    self.assertEqual(
                        (markets[f"t{name}"].min_size, markets[f"t{name}"].max_size),
                        (Decimal(info[3]), Decimal(info[4])),
                    )
                else:
                    self.assertNotIn(f"t{name}", markets)
        self.assertEqual(
            (markets["tBTCUSD"].min_size, markets["tBTCUSD"].max_size), (Decimal("0.00006"), Decimal("2000"))
        )
        self.assertEqual((markets["tETHUSD"].min_size, markets["tETHUSD"].max_size), (Decimal(0), None))
        btc = markets["tBTCUSD"]
        for size, message in (
            (Decimal("0.00005"), "size 0.00005 below minimum 0.00006 for BTC_USD on bitfinex"),
            (Decimal("2000.1"), "size 2000.1 above maximum 2000 for BTC_USD on bitfinex"),
        ):
            self.assertRefused(
                PrecisionError, message, check_order, btc, side="sell", type="limit", size=size, price=Decimal("57000")
            )

    def test_bad_metadata_names_the_field_and_the_pair(self):
        row = ["BTCUSD", [None, None, None, "0.00006", "2000.0", None, None, None, None, None, None, None]]
        bad_min = [row[0], [None, None, None, "abc", *row[1][4:]]]
        cases = [
            (json.dumps([[5]]), None, "entry 0 of pub:list:pair:exchange on bitfinex: expected a pair name, got 5"),
            (
                json.dumps([["BTCUSDT"]]),
                None,
                "pair BTCUSDT on bitfinex: expected six letters or BASE:QUOTE, got 'BTCUSDT'",
            ),
            (
                json.dumps(["error", 10020, "symbol: invalid"]),
                None,
                "GET /v2/conf/pub:list:pair:exchange on bitfinex: expected a list holding one list, "
                "got ['error', 10020, 'symbol: invalid']",
            ),
            (
                BODY,
                json.dumps([[bad_min]]),
                "MIN_ORDER_SIZE of BTCUSD on bitfinex: expected a decimal string such as \"0.01\", got 'abc'",
            ),
            (
                BODY,
                json.dumps([[["BTCUSD", [None, None, None, "0.00006"]]]]),
                "entry 0 of pub:info:pair on bitfinex: expected [PAIR, [PLACEHOLDER, PLACEHOLDER, PLACEHOLDER, "
                "MIN_ORDER_SIZE, MAX_ORDER_SIZE, ...]], got ['BTCUSD', [None, None, None, '0.00006']]",
            ),
        ]
        for pairs_body, info_body, message in cases:
            self.assertRefused(InvalidParameter, message, bitfinex.parse_markets, pairs_body, info_body)


def raw(message):
    """A recorded message read independently of the adapter: every number a Decimal."""
    return json.loads(message, parse_float=Decimal, parse_int=Decimal)


def first(prefix):
    return next(m for m in RECORDING if m.startswith(prefix))


class BitfinexAdapterTest(unittest.TestCase):
    """The websocket and REST translations, on the real recorded messages (BITFINEX.ws.11.0)."""

    def setUp(self):
        self.adapter = bitfinex.BitfinexAdapter(
            SymbolTable("bitfinex", bitfinex.parse_markets(BODY)), [Pair.parse(p) for p in FOLLOWED]
        )
        self.parser = self.adapter.parser()

    def feed(self, messages, at=1.0):
        """Every event the parser makes of ``messages``, in order."""
        return [event for message in messages for event in self.parser.parse(message, at)]

    def test_the_whole_capture_is_in_sequence_and_every_channel_is_known(self):
        events = self.feed(RECORDING)
        self.assertTrue(self.parser.sequenced)
        self.assertEqual(self.parser.sequence, 1670)
        self.assertEqual([e for e in events if isinstance(e, (Resync, FeedError))], [])
        # 7 symbols of which TESTBTC:TESTUSD is a test pair, not listed: 6 x book, trades, ticker
        self.assertEqual(
            sorted((handler.__name__, str(pair)) for handler, pair in self.parser.channels.values()),
            sorted((kind, pair) for kind in ("_book", "_trades", "_ticker") for pair in FOLLOWED),
        )
        self.assertEqual(sum(isinstance(e, BookSnapshot) for e in events), 6)
        self.assertEqual(sum(isinstance(e, Ticker) for e in events), 18)
        self.assertEqual(sum(isinstance(e, Trade) for e in events), 0)  # only snapshots of past trades

    def test_book_snapshot_levels_and_removals(self):
        subscribed = first('{"event":"subscribed","channel":"book","chanId":232955')
        snapshot = first("[232955,[[")
        self.assertEqual(self.feed([subscribed]), [])
        [book] = self.parser.parse(snapshot, 1.0)
        rows = raw(snapshot)[1]
        self.assertEqual(
            book,
            BookSnapshot(
                Pair("IOTA", "ETH"), [(p, a) for p, _, a in rows if a > 0], [(p, -a) for p, _, a in rows if a < 0]
            ),
        )
        self.assertEqual((book.bids[0], book.asks[0]), ((D("0.0010262"), D("8")), (D("0.0010273"), D("8"))))
        self.assertEqual(len(book.bids) + len(book.asks), 200)
        cases = {
            "[232955,[0.0010273,0,-1],28]": (BookSide.ASK, D("0.0010273"), D(0)),
            "[232955,[0.0010272,1,-8],29]": (BookSide.ASK, D("0.0010272"), D("8")),
            "[232955,[0.0010262,0,1],62]": (BookSide.BID, D("0.0010262"), D(0)),
            "[232955,[0.0010214,2,1700],69]": (BookSide.BID, D("0.0010214"), D("1700")),
        }
        for message, change in cases.items():
            self.assertIn(message, RECORDING)
            self.assertEqual(self.parser.parse(message, 1.0), [BookDelta(Pair("IOTA", "ETH"), (change,))])

    def test_whole_numbers_become_decimals_and_exponents_keep_their_digits(self):
        self.feed(
            [
                first('{"event":"subscribed","channel":"book","chanId":225206'),
                first('{"event":"subscribed","channel":"book","chanId":204928'),
            ]
        )
        [delta] = self.parser.parse("[225206,[279380,1,0.0089],19]", 1.0)
        self.assertEqual(delta.changes, ((BookSide.BID, D("279380"), D("0.0089")),))
        self.assertIs(type(delta.changes[0][1]), D)
        [removal] = self.parser.parse("[204928,[2e-8,0,1],50]", 1.0)
        self.assertEqual(removal.changes, ((BookSide.BID, D("2E-8"), D(0)),))

    def test_checksum_heartbeat_and_unknown_channels(self):
        self.feed([first('{"event":"subscribed","channel":"book","chanId":232955')])
        self.assertEqual(
            self.parser.parse('[232955,"cs",-1434468562]', 1.0),
            [BookDelta(Pair("IOTA", "ETH"), (), checksum=-1434468562)],
        )
        self.assertEqual(self.parser.parse('[232955,"hb"]', 1.0), [])
        self.assertEqual(self.parser.parse("[999,[0.1,1,5]]", 1.0), [])  # a channel never subscribed
        # the test pair is not listed: its channel is never registered
        test_pair = first('{"event":"subscribed","channel":"book","chanId":232957')
        self.assertEqual(self.feed([test_pair, first("[232957,[[")]), [])
        self.assertNotIn(232957, self.parser.channels)

    def test_ticker(self):
        self.feed([first('{"event":"subscribed","channel":"ticker","chanId":232951')])
        message = first("[232951,[")
        self.assertEqual(
            message,
            "[232951,[0.02057,1171677.5533110797,0.02089,1768535.89216476,-0.00043,-0.0202,"
            "0.02089,316742.24795523,0.021766,0.020552],5]",
        )
        self.assertEqual(
            self.parser.parse(message, 7.5),
            [
                Ticker(
                    Pair("ODE", "USD"),
                    D("0.02057"),
                    D("0.02089"),
                    7.5,
                    bid_size=D("1171677.5533110797"),
                    ask_size=D("1768535.89216476"),
                    last=D("0.02089"),
                    volume_24h=D("316742.24795523"),
                )
            ],
        )

    def test_trades_te_once_and_never_the_snapshot_or_tu(self):
        self.feed([first('{"event":"subscribed","channel":"trades","chanId":232959')])
        snapshot = first("[232959,[[")
        self.assertEqual(len(raw(snapshot)[1]), 30)
        self.assertEqual(self.parser.parse(snapshot, 1.0), [])
        # made up in the documented form [chanId, "te"|"tu", [ID, MTS, AMOUNT, PRICE]]: a taker
        # sell (negative amount) at the recorded best bid, IDs after the recorded ones
        sell = [670158211, 1618677551234, -1250.5, 0.068965]
        self.assertEqual(
            self.parser.parse(json.dumps([232959, "te", sell]), 1.0),
            [Trade(Pair("BFT", "USD"), "670158211", D("0.068965"), D("1250.5"), Side.SELL, 1618677551.234)],
        )
        self.assertEqual(self.parser.parse(json.dumps([232959, "tu", sell]), 1.0), [])
        [buy] = self.parser.parse('[232959,"te",[670158212,1618677551301,200,0.0774]]', 1.0)
        self.assertEqual((buy.taker_side, buy.size, buy.price), (Side.BUY, D("200"), D("0.0774")))

    def test_a_gap_in_the_connection_sequence_resyncs_every_book_once(self):
        head = RECORDING[:140]
        lost = next(i for i in range(100, 140) if not head[i].startswith("{"))
        events = self.feed(head[:lost] + head[lost + 1 :])
        gaps = [e for e in events if isinstance(e, Resync)]
        before, after = raw(head[lost - 1])[-1], raw(head[lost + 1])[-1]
        self.assertEqual(after, before + 2)
        self.assertEqual(gaps, [Resync(None, Problem.SEQUENCE_GAP, f"message {after} after {before}")])
        self.assertEqual(self.parser.sequence, raw(head[-1])[-1])

    def test_the_sequence_is_checked_only_once_conf_confirms_it(self):
        self.feed([first('{"event":"subscribed","channel":"book","chanId":232955')])
        self.assertEqual(len(self.parser.parse("[232955,[0.0010272,1,-8]]", 1.0)), 1)
        self.assertEqual(self.parser.parse('{"event":"conf","status":"OK","flags":65536}', 1.0), [])
        [gap, delta] = self.parser.parse("[232955,[0.0010272,1,-8],5]", 1.0)
        self.assertEqual(gap, Resync(None, Problem.SEQUENCE_GAP, "message 5 after 0"))
        self.assertEqual(
            self.parser.parse('{"event":"conf","status":"FAILED","flags":65536}', 1.0),
            [FeedError("conf flags 65536 refused: FAILED")],
        )

    def test_errors_and_info_events(self):
        cases = {
            '{"event":"error","msg":"subscribe: dup","code":10301,"channel":"book","symbol":"tBTCUSD",'
            '"prec":"P0","freq":"F0","len":"100","pair":"BTCUSD"}': [
                FeedError("subscribe: dup (code 10301): book tBTCUSD")
            ],
            '{"event":"error","msg":"unsubscribe: invalid","code":10400}': [
                FeedError("unsubscribe: invalid (code 10400)")
            ],
            '{"event":"info","code":20051,"msg":"Stopping. Please try to reconnect"}': [
                FeedError("Stopping. Please try to reconnect (info 20051)")
            ],
            '{"event":"info","code":20061,"msg":"Maintenance ended. You can resume normal activity. It is '
            'advised to unsubscribe/subscribe again all channels."}': [
                Resync(None, Problem.EXCHANGE_ERROR, "maintenance over (info 20061)")
            ],
            '{"event":"info","version":2,"platform":{"status":0}}': [
                FeedError("platform in maintenance (info platform status 0)")
            ],
            first('{"event":"info"'): [],
            '{"event":"pong","ts":1511545528111,"cid":1234}': [],
        }
        for message, events in cases.items():
            with self.subTest(message=message):
                self.assertEqual(self.parser.parse(message, 1.0), events)

    def test_subscriptions(self):
        pairs = [Pair("IOTA", "ETH"), Pair("MDOGE", "USD")]
        self.assertEqual(
            [json.loads(m) for m in self.adapter.subscribe(pairs, 0)],
            [
                {"event": "conf", "flags": 196608},
                {
                    "event": "subscribe",
                    "channel": "book",
                    "symbol": "tIOTETH",
                    "prec": "P0",
                    "freq": "F0",
                    "len": "100",
                },
                {
                    "event": "subscribe",
                    "channel": "book",
                    "symbol": "tDOGUSD",
                    "prec": "P0",
                    "freq": "F0",
                    "len": "100",
                },
                {"event": "subscribe", "channel": "trades", "symbol": "tIOTETH"},
                {"event": "subscribe", "channel": "trades", "symbol": "tDOGUSD"},
                {"event": "subscribe", "channel": "ticker", "symbol": "tIOTETH"},
                {"event": "subscribe", "channel": "ticker", "symbol": "tDOGUSD"},
            ],
        )
        # the recorded subscriptions asked for the same book channel
        recorded = [
            json.loads(r.message)
            for r in read_capture(CAPTURES / "BITFINEX.ws.11.0")
            if isinstance(r, WsSent) and '"channel":"book","symbol":"tIOTETH"' in r.message
        ]
        self.assertEqual(recorded, [json.loads(self.adapter.subscribe(pairs, 0)[1])])

    def test_resubscribing_a_book_uses_its_channel_id_once(self):
        iota = Pair("IOTA", "ETH")
        self.assertEqual(self.adapter.resubscribe([iota], 0), [])  # no channel yet: the snapshot is on its way
        self.feed(RECORDING[:80])
        self.assertEqual(
            [json.loads(m) for m in self.adapter.resubscribe([iota], 0)],
            [
                {"event": "unsubscribe", "chanId": 232955},
                {
                    "event": "subscribe",
                    "channel": "book",
                    "symbol": "tIOTETH",
                    "prec": "P0",
                    "freq": "F0",
                    "len": "100",
                },
            ],
        )
        self.assertEqual(self.adapter.resubscribe([iota], 0), [])  # asked already
        self.assertEqual(self.parser.parse('{"event":"unsubscribed","status":"OK","chanId":232955}', 1.0), [])
        self.assertNotIn(232955, self.parser.channels)
        self.feed(
            [
                '{"event":"subscribed","channel":"book","chanId":300001,"symbol":"tIOTETH","prec":"P0",'
                '"freq":"F0","len":"100","pair":"IOTETH"}'
            ]
        )
        self.assertEqual(self.parser.books[iota], 300001)
        self.assertEqual(
            sorted(json.loads(m)["chanId"] for m in self.adapter.unsubscribe([iota])), [205046, 206543, 300001]
        )
        # a new connection starts with no channels
        self.adapter.parser()
        self.assertEqual(self.adapter.resubscribe([iota], 0), [])

    def test_checksum_of_the_books_at_the_end_of_the_capture(self):
        """The adapter's checksum of each replayed book equals the simulator's, built from the
        recorded text of the levels as the docs describe it."""
        replay = Replay("bitfinex", [CAPTURES / "BITFINEX.0", CAPTURES / "BITFINEX.ws.11.0"])
        report = replay.run()
        self.assertEqual(report["corrupt"], [])
        protocol = bitfinex_protocol()
        for message in protocol.recording:
            protocol.advance(message)
        for pair in FOLLOWED:
            market = replay.adapter.markets.market(pair)
            with self.subTest(pair=pair):
                self.assertEqual(
                    replay.adapter.checksum(replay.hub.book("bitfinex", Pair.parse(pair)), market),
                    protocol.checksum(market.symbol),
                )

    def test_candles_request_and_response(self):
        request = self.adapter.candles_request(Pair("BTC", "USD"), 60, 1574698200, 1574698260)
        self.assertEqual(
            (request.path, request.params, request.weight),
            (
                "/v2/candles/trade:1m:tBTCUSD/hist",
                {"start": 1574698200000, "end": 1574698260000, "limit": 2, "sort": 1},
                3,
            ),
        )
        self.assertEqual(
            self.adapter.candles_request(Pair("IOTA", "ETH"), 86400, 0, 86400 * 9999).path,
            "/v2/candles/trade:1D:tIOTETH/hist",
        )
        # the two candles of the docs' example (docs.bitfinex.com, Candles): [MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]
        body = (
            "[[1574698200000,7399.9,7379.7,7399.9,7371.8,41.63633658],"
            "[1574698260000,7379.785503,7383.8,7388.3,7379.785503,1.68829482]]"
        )
        self.assertEqual(
            self.adapter.parse_candles(body, Pair("BTC", "USD"), 60),
            [
                Candle(
                    Pair("BTC", "USD"),
                    1574698200,
                    60,
                    D("7399.9"),
                    D("7399.9"),
                    D("7371.8"),
                    D("7379.7"),
                    D("41.63633658"),
                ),
                Candle(
                    Pair("BTC", "USD"),
                    1574698260,
                    60,
                    D("7379.785503"),
                    D("7388.3"),
                    D("7379.785503"),
                    D("7383.8"),
                    D("1.68829482"),
                ),
            ],
        )
        for args, field in (((120, 0, 120), "interval"), ((60, 0, 60 * 10000), "end"), ((60, 60, 60), "end")):
            with self.assertRaises(InvalidParameter) as raised:
                self.adapter.candles_request(Pair("BTC", "USD"), *args)
            self.assertEqual(raised.exception.field, field)
        with self.assertRaises(InvalidParameter) as raised:
            self.adapter.parse_candles("[[1574698200000,7399.9,7379.7,7399.9,7371.8]]", Pair("BTC", "USD"), 60)
        self.assertEqual(raised.exception.field, "GET candles of BTC_USD on bitfinex[0]")


class ReplayCommandTest(unittest.TestCase):
    def test_xwrap_replay_of_the_capture_ends_with_every_book_live_as_the_recording_left_it(self):
        status, out = run(
            "replay", "--exchange", "bitfinex", str(CAPTURES / "BITFINEX.0"), str(CAPTURES / "BITFINEX.ws.11.0")
        )
        report = json.loads(out)
        self.assertEqual((status, report["corrupt"], report["sequence_gaps"], report["resyncs"]), (0, [], 0, 0))
        # every websocket message, and the two other conf lists of BITFINEX.0 (currencies, futures)
        self.assertEqual((report["messages"], report["trades"], report["crossed_books"]), (len(RECORDING) + 2, 0, 0))
        protocol = bitfinex_protocol()  # the simulator's model of the books, kept as the recorded text
        for message in protocol.recording:
            protocol.advance(message)
        table = SymbolTable("bitfinex", bitfinex.parse_markets(BODY))
        self.assertEqual(sorted(report["books"]), sorted(FOLLOWED))
        for pair, book in report["books"].items():
            levels = protocol.books[table.to_symbol(pair)]
            with self.subTest(pair=pair):
                self.assertEqual(
                    (D(book["bid"]), D(book["ask"]), book["bid_levels"], book["ask_levels"], book["state"]),
                    (max(levels["bids"]), min(levels["asks"]), len(levels["bids"]), len(levels["asks"]), "live"),
                )


class RestLimitTest(unittest.TestCase):
    """Bitfinex limits each endpoint to 10-90 calls a minute per IP (candles: 30): the bucket never
    lets more than 90 calls, or 30 candles calls, into any 60 s."""

    def most_in_a_minute(self, weight, calls=400):
        bucket, now, times = TokenBucket(bitfinex.BitfinexAdapter.rest_limit, 0.0), 0.0, []
        for _ in range(calls):
            now += bucket.reserve(now, weight)  # each caller waits what it is told, in turn
            times.append(now)
        return max(sum(1 for t in times if start <= t <= start + 60) for start in times)

    def test_at_most_90_calls_and_30_candles_calls_a_minute(self):
        self.assertEqual(self.most_in_a_minute(1), 90)
        self.assertEqual(self.most_in_a_minute(bitfinex.CANDLES_WEIGHT), 30)


if __name__ == "__main__":
    unittest.main()
