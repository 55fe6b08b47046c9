import json
import tempfile
import unittest
from decimal import Decimal
from pathlib import Path

from exchange_wrapper.core.book import BookSide
from exchange_wrapper.core.errors import InvalidParameter, MarketClosed, PrecisionError
from exchange_wrapper.core.marketdata import BookDelta, BookSnapshot, Candle, FeedError, Ticker, Trade
from exchange_wrapper.core.markets import MarketStatus
from exchange_wrapper.core.orders import Side
from exchange_wrapper.core.pacing import TokenBucket
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.precision import check_order
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.poloniex import public as poloniex
from exchange_wrapper.replay.capture import WsSent, read_capture
from exchange_wrapper.replay.source import Replay
from tests.exchanges.markets_contract import CAPTURES, MarketsContract, captured_body
from tests.simulator.poloniex import CANDLES_FIXTURE, poloniex_protocol

BODY = captured_body("POLONIEX.0", "https://api.poloniex.com/markets")
RAW = {market["symbol"]: market for market in json.loads(BODY)}


class PoloniexMarketsTest(MarketsContract, unittest.TestCase):
    module = poloniex
    body = BODY
    response_name = "GET /markets on poloniex"

    def expected_pairs(self):
        return {name: Pair(m["baseCurrencyName"], m["quoteCurrencyName"]) for name, m in RAW.items()}

    def test_the_capture_lists_524_markets_11_paused(self):
        self.assertEqual(len(self.markets), 524)
        paused = {name for name, m in RAW.items() if m["state"] == "PAUSE"}
        self.assertEqual(len(paused), 11)
        self.assertEqual({m.symbol for m in self.markets if m.status is MarketStatus.OFFLINE}, paused)
        self.assertEqual({m.status for m in self.markets}, {MarketStatus.ONLINE, MarketStatus.OFFLINE})

    def test_sample_markets_field_by_field(self):
        # BTC_USDT and SOL_USDT: the usual; BTS_BTC and MDT_BTC: whole-unit sizes, 10 and 9 price
        # places; USDJ_USDT: a stablecoin pair; UST_USDT: paused.
        for symbol in ("BTC_USDT", "SOL_USDT", "BTS_BTC", "MDT_BTC", "USDJ_USDT", "UST_USDT"):
            raw, market = RAW[symbol]["symbolTradeLimit"], self.table.market_of(symbol)
            with self.subTest(symbol=symbol):
                self.assertEqual(market.tick_size, Decimal(10) ** -raw["priceScale"])
                self.assertEqual(market.size_step, Decimal(10) ** -raw["quantityScale"])
                self.assertEqual(market.funds_step, Decimal(10) ** -raw["amountScale"])
                self.assertEqual(market.min_size, Decimal(raw["minQuantity"]))
                self.assertEqual(market.min_notional, Decimal(raw["minAmount"]))
                self.assertEqual((market.max_size, market.max_notional), (None, None))
                self.assertEqual((market.maker_fee, market.taker_fee), (Decimal("0.00145"), Decimal("0.00155")))
        bts = self.table.market("BTS_BTC")
        self.assertEqual(
            (bts.tick_size, bts.size_step, bts.min_size, bts.min_notional),
            (Decimal("0.0000000001"), Decimal("1"), Decimal("100"), Decimal("0.00001")),
        )
        self.assertEqual(self.table.market("UST_USDT").status, MarketStatus.OFFLINE)

    def test_post_only_state(self):
        market = dict(RAW["BTC_USDT"], state="POST_ONLY")
        [parsed] = poloniex.parse_markets(json.dumps([market]))
        self.assertEqual(parsed.status, MarketStatus.POST_ONLY)
        with self.assertRaises(MarketClosed):
            check_order(parsed, side="buy", type="limit", size=Decimal("1"), price=Decimal("20000"))
        self.assertEqual(
            check_order(
                parsed, side="buy", type="limit", size=Decimal("1"), price=Decimal("20000"), post_only=True
            ).size,
            Decimal("1"),
        )

    def test_rounding_and_limits_on_real_markets(self):
        btc = self.table.market("BTC_USDT")
        buy = check_order(btc, side="buy", type="limit", size=Decimal("0.0123456789"), price=Decimal("21000.129"))
        self.assertEqual((buy.size, buy.price), (Decimal("0.012345"), Decimal("21000.12")))
        sell = check_order(btc, side="sell", type="limit", size=Decimal("0.01"), price=Decimal("21000.121"))
        self.assertEqual(sell.price, Decimal("21000.13"))
        self.assertEqual(check_order(btc, side="buy", type="market", funds=Decimal("25.999")).funds, Decimal("25.99"))
        cases = [
            (
                btc,
                dict(size=Decimal("0.0000005"), price=Decimal("21000")),
                "size 0.0000005 below minimum 0.000001 for BTC_USDT on poloniex",
            ),
            (
                btc,
                dict(size=Decimal("0.00004"), price=Decimal("21000")),
                "notional 0.84 USDT below minimum 1 for BTC_USDT on poloniex",
            ),
            (
                self.table.market("BTS_BTC"),
                dict(size=Decimal("99.9"), price=Decimal("0.0000001")),
                "size 99.9 below minimum 100 for BTS_BTC on poloniex",
            ),
        ]
        for market, amounts, message in cases:
            self.assertRefused(PrecisionError, message, check_order, market, side="buy", type="limit", **amounts)

    def test_bad_metadata_names_the_field_and_the_symbol(self):
        def changed(**limits):
            market = dict(RAW["BTC_USDT"])
            market["symbolTradeLimit"] = {**market["symbolTradeLimit"], **limits}
            return [market]

        cases = [
            (
                changed(priceScale=None),
                "symbolTradeLimit.priceScale of BTC_USDT on poloniex: missing, expected a whole number",
            ),
            (
                changed(quantityScale=-1),
                "symbolTradeLimit.quantityScale of BTC_USDT on poloniex: expected a whole number of 0 or more, got -1",
            ),
            (
                changed(minAmount="one"),
                'symbolTradeLimit.minAmount of BTC_USDT on poloniex: expected a decimal string such as "0.01", '
                "got 'one'",
            ),
            (
                [dict(RAW["BTC_USDT"], symbolTradeLimit="none")],
                "symbolTradeLimit of BTC_USDT on poloniex: expected a JSON object, got 'none'",
            ),
            ([dict(RAW["BTC_USDT"], state=None)], "state of BTC_USDT on poloniex: missing, expected a string"),
            ([{"symbol": 5}], "symbol of entry 0 on poloniex: expected a string, got 5"),
        ]
        for data, message in cases:
            self.assertRefused(InvalidParameter, message, poloniex.parse_markets, json.dumps(data))


STREAM = "POLONIEX.ws.1.0"
BTC, SOL = Pair("BTC", "USDT"), Pair("SOL", "USDT")


def book_messages(symbol):
    """The recorded book_lv2 messages of ``symbol``, parsed with plain json."""
    return [
        msg
        for msg in map(json.loads, poloniex_protocol().recording)
        if msg.get("channel") == "book_lv2" and "data" in msg and msg["data"][0]["symbol"] == symbol
    ]


class PoloniexAdapterTest(unittest.TestCase):
    """The websocket and REST translations, on the real recorded messages."""

    def setUp(self):
        self.adapter = poloniex.PoloniexAdapter(SymbolTable("poloniex", poloniex.parse_markets(BODY)), [BTC, SOL])
        self.messages = poloniex_protocol().recording

    def test_a_snapshot_rebuilds_the_book_at_its_id(self):
        message = json.dumps(book_messages("BTC_USDT")[0])
        raw = json.loads(message)["data"][0]
        [snapshot] = self.adapter.parse(message, 1.0)
        self.assertEqual(
            snapshot,
            BookSnapshot(
                BTC,
                [(Decimal(p), Decimal(s)) for p, s in raw["bids"]],
                [(Decimal(p), Decimal(s)) for p, s in raw["asks"]],
                4485675,
                raw["createTime"] / 1000,  # the exchange's time of this book state
            ),
        )
        self.assertEqual((len(snapshot.bids), len(snapshot.asks)), (20, 20))
        self.assertEqual(
            (snapshot.bids[0], snapshot.asks[0]),
            ((Decimal("21612.26"), Decimal("0.34")), (Decimal("21612.27"), Decimal("0.34"))),
        )

    def test_an_update_covers_lastId_plus_one_to_id(self):
        first = (
            '{"channel":"book_lv2","data":[{"symbol":"BTC_USDT","createTime":1661123517832,"asks":'
            '[["21617.15","0.34"]],"bids":[],"lastId":4485675,"id":4485676,"ts":1661123517837}],"action":"update"}'
        )
        self.assertIn(first, self.messages)
        self.assertEqual(
            self.adapter.parse(first, 1.0),
            [
                BookDelta(
                    BTC, [(BookSide.ASK, Decimal("21617.15"), Decimal("0.34"))], 4485676, 4485676, time=1661123517.832
                )
            ],
        )
        # ids jump (4485890 -> 4485892); a level entering the top 20 pushes the 20th out with a removal
        jump = (
            '{"channel":"book_lv2","data":[{"symbol":"BTC_USDT","createTime":1661123546295,"asks":[],"bids":'
            '[["21575.5","0.7"],["21539.26","0"]],"lastId":4485890,"id":4485892,"ts":1661123546300}],'
            '"action":"update"}'
        )
        self.assertIn(jump, self.messages)
        self.assertEqual(
            self.adapter.parse(jump, 1.0),
            [
                BookDelta(
                    BTC,
                    [
                        (BookSide.BID, Decimal("21575.5"), Decimal("0.7")),
                        (BookSide.BID, Decimal("21539.26"), Decimal("0")),
                    ],
                    4485891,
                    4485892,
                    time=1661123546.295,
                )
            ],
        )

    def test_every_recorded_update_chains_on_the_one_before(self):
        for symbol in ("BTC_USDT", "BCH_USDT", "SOL_USDT"):
            with self.subTest(symbol=symbol):
                ids = [(msg["data"][0]["lastId"], msg["data"][0]["id"]) for msg in book_messages(symbol)]
                self.assertTrue(all(last_id == previous for (_, previous), (last_id, _) in zip(ids, ids[1:])))
        pair = Pair("BCH", "USDT")
        adapter = poloniex.PoloniexAdapter(self.adapter.markets, [pair])
        deltas = [event for msg in book_messages("BCH_USDT")[1:] for event in adapter.parse(json.dumps(msg), 1.0)]
        self.assertEqual(len(deltas), 56)
        self.assertTrue(all(later.first == earlier.last + 1 for earlier, later in zip(deltas, deltas[1:])))

    def test_a_trade_names_the_taker_and_its_size_in_base_units(self):
        sell = next(m for m in self.messages if '"trades"' in m and '"data"' in m)
        raw = json.loads(sell)["data"][0]
        self.assertEqual((raw["takerSide"], raw["quantity"], raw["amount"]), ("sell", "0.01149", "248.3516391"))
        # quantity is the base size: price x quantity = amount, the quote size (cryptofeed reads amount)
        self.assertEqual(Decimal(raw["price"]) * Decimal(raw["quantity"]), Decimal(raw["amount"]))
        self.assertEqual(
            self.adapter.parse(sell, 99.0),
            [Trade(BTC, "60184114", Decimal("21614.59"), Decimal("0.01149"), Side.SELL, 1661123520.381)],
        )
        buy = next(m for m in self.messages if '"takerSide":"buy"' in m)
        [trade] = self.adapter.parse(buy, 99.0)
        self.assertEqual(
            (trade.trade_id, trade.size, trade.taker_side, trade.time),
            ("60184115", Decimal("0.006021"), Side.BUY, 1661123528.888),
        )

    def test_ticker_with_and_without_the_best_prices(self):
        # the documented form (no capture holds one), BTC_USDT's figures of the capture's minute
        data = {
            "symbol": "BTC_USDT",
            "startTime": 1661037120000,
            "open": "21472.02",
            "high": "21800",
            "low": "21288.5",
            "close": "21614.59",
            "quantity": "3107.437531",
            "amount": "66839512.32741305",
            "tradeCount": 25893,
            "dailyChange": "0.0066",
            "markPrice": "21613.01",
            "closeTime": 1661123520386,
            "ts": 1661123521042,
        }
        [ticker] = self.adapter.parse(json.dumps({"channel": "ticker", "data": [data]}), 1.0)
        self.assertEqual(
            ticker, Ticker(BTC, None, None, 1661123521.042, last=Decimal("21614.59"), volume_24h=Decimal("3107.437531"))
        )
        data.update(bid="21612.26", bidQuantity="0.34", ask="21612.27", askQuantity="0.34")
        [ticker] = self.adapter.parse(json.dumps({"channel": "ticker", "data": [data]}), 1.0)
        self.assertEqual(
            (ticker.bid, ticker.bid_size, ticker.ask, ticker.ask_size),
            (Decimal("21612.26"), Decimal("0.34"), Decimal("21612.27"), Decimal("0.34")),
        )

    def test_acks_pongs_errors_and_unknown_symbols(self):
        acks = [m for m in self.messages if m.startswith('{"event":"subscribe"')]
        self.assertEqual(len(acks), 2)
        for quiet in (
            *acks,
            '{"event":"pong"}',
            '{"event":"unsubscribe","channel":"book_lv2","symbols":["BTC_USDT"]}',
            '{"channel":"trades","data":[{"symbol":"NOSUCH_USDT","amount":"1","quantity":"1",'
            '"takerSide":"buy","createTime":1,"price":"1","id":"1","ts":1}]}',
        ):
            self.assertEqual(self.adapter.parse(quiet, 1.0), [])
        error = '{"event":"error","message":"Invalid channel value [\\"book_lv3\\"]"}'
        self.assertEqual(self.adapter.parse(error, 1.0), [FeedError('Invalid channel value ["book_lv3"]')])

    def test_malformed_messages_raise(self):
        snapshot = book_messages("BTC_USDT")[0]
        for change, error in (
            ({"action": "replace"}, InvalidParameter),
            ({"data": [{**snapshot["data"][0], "bids": [["1"]]}]}, ValueError),
        ):
            with self.subTest(change=change), self.assertRaises(error):
                self.adapter.parse(json.dumps({**snapshot, **change}), 1.0)
        with self.assertRaises(KeyError):
            self.adapter.parse(
                '{"channel":"book_lv2","data":[{"symbol":"BTC_USDT","asks":[],"bids":[],"id":5}],"action":"update"}',
                1.0,
            )
        with self.assertRaises(KeyError):
            taken = next(m for m in self.messages if '"takerSide":"buy"' in m)
            self.adapter.parse(taken.replace('"buy"', '"long"'), 1.0)

    def test_subscriptions_are_the_recorder_s_own(self):
        sent = [r.message for r in read_capture(CAPTURES / STREAM) if isinstance(r, WsSent)]
        symbols = json.loads(sent[0])["symbols"]
        adapter = poloniex.PoloniexAdapter(self.adapter.markets, [Pair.parse(s) for s in symbols])
        book, trades, ticker = adapter.subscribe(adapter.pairs, 0)
        self.assertEqual([trades, book], sent)
        self.assertEqual(json.loads(ticker), {"event": "subscribe", "channel": ["ticker"], "symbols": symbols})
        self.assertEqual(
            [json.loads(m) for m in self.adapter.unsubscribe([SOL])],
            [
                {"event": "unsubscribe", "channel": [c], "symbols": ["SOL_USDT"]}
                for c in ("book_lv2", "trades", "ticker")
            ],
        )
        self.assertEqual(
            [json.loads(m) for m in self.adapter.resubscribe([BTC], 0)],
            [
                {"event": "unsubscribe", "channel": ["book_lv2"], "symbols": ["BTC_USDT"]},
                {"event": "subscribe", "channel": ["book_lv2"], "symbols": ["BTC_USDT"]},
            ],
        )

    def test_keep_alive_and_limits(self):
        cls = poloniex.PoloniexAdapter
        self.assertEqual(json.loads(cls.app_ping), {"event": "ping"})
        self.assertLess(cls.app_ping_interval, 30)  # the server ends a session silent for 30 s
        self.assertGreater(cls.silence_timeout, cls.app_ping_interval)  # a pong comes back in time
        # 200 requests a second per IP; /markets weighs 20 of them (10 a second)
        bucket = TokenBucket(cls.rest_limit, 0.0)
        self.assertEqual([bucket.reserve(0.0) for _ in range(200)], [0.0] * 200)
        self.assertEqual(bucket.reserve(0.0), 0.005)
        self.assertEqual(bucket.reserve(0.0, cls.markets_weight), 0.105)

    def test_candles_request_and_response(self):
        request = self.adapter.candles_request(BTC, 300, 1659664800, 1659665700)
        self.assertEqual(
            (request.path, request.params),
            (
                "/markets/BTC_USDT/candles",
                {"interval": "MINUTE_5", "startTime": 1659664800000, "endTime": 1659665700000, "limit": 500},
            ),
        )
        body = CANDLES_FIXTURE.read_text()
        rows = json.loads(body)
        reversed_body = json.dumps(rows[::-1])  # oldest first whatever the order on the wire
        for text in (body, reversed_body):
            candles = self.adapter.parse_candles(text, BTC, 300)
            self.assertEqual(
                candles[0],
                Candle(
                    BTC,
                    1659664800,
                    300,
                    Decimal("22832.57"),
                    Decimal("22937.42"),
                    Decimal("22814.01"),
                    Decimal("22937.42"),
                    Decimal("0.171199"),
                ),
            )
            self.assertEqual([c.start for c in candles], [1659664800, 1659665100, 1659665400])
            self.assertEqual([c.volume for c in candles], [Decimal(row[5]) for row in rows])
        for args, field in (((120, 0, 600), "interval"), ((60, 0, 60 * 501), "end"), ((60, 60, 60), "end")):
            with self.assertRaises(InvalidParameter) as raised:
                self.adapter.candles_request(BTC, *args)
            self.assertEqual(raised.exception.field, field)
        bad = [
            dict(zip(poloniex.CANDLE_COLUMNS, rows[0]), open="x"),
            dict(zip(poloniex.CANDLE_COLUMNS, rows[0]), startTime="1659664800000"),
        ]
        fields = ("open of BTC_USDT candle 0 on poloniex", "startTime of BTC_USDT candle 0 on poloniex")
        for row, field in zip(bad, fields):
            with self.assertRaises(InvalidParameter) as raised:
                self.adapter.parse_candles(json.dumps([list(row.values())]), BTC, 300)
            self.assertEqual(raised.exception.field, field)
        with self.assertRaises(InvalidParameter) as raised:
            self.adapter.parse_candles(json.dumps([rows[0][:6]]), BTC, 300)
        self.assertEqual(raised.exception.field, "GET candles of BTC_USDT on poloniex[0]")


class PoloniexReplayTest(unittest.TestCase):
    """``xwrap replay`` on the capture: the books rebuilt here with plain json and a dict a side."""

    def test_the_capture_replays_into_the_books_it_describes(self):
        report = Replay("poloniex", [CAPTURES / "POLONIEX.0", CAPTURES / STREAM]).run()
        self.assertEqual(
            (report["corrupt"], report["sequence_gaps"], report["resyncs"], report["crossed_books"]), ([], 0, 0, 0)
        )
        self.assertEqual((report["messages"], report["trades"], len(report["books"])), (302, 6, 11))
        for symbol in ("BTC_USDT", "DYP_USDT", "MDT_BTC"):
            bids, asks = {}, {}
            for msg in book_messages(symbol):
                data = msg["data"][0]
                if msg["action"] == "snapshot":
                    bids, asks = {}, {}
                for levels, rows in ((bids, data["bids"]), (asks, data["asks"])):
                    for price, size in rows:
                        levels[Decimal(price)] = Decimal(size)
                        if not Decimal(size):
                            del levels[Decimal(price)]
            with self.subTest(symbol=symbol):
                self.assertEqual(
                    report["books"][symbol],
                    {
                        "bid": str(max(bids)),
                        "ask": str(min(asks)),
                        "bid_levels": len(bids),
                        "ask_levels": len(asks),
                        "state": "live",
                    },
                )

    def test_a_lost_update_is_a_gap_and_leaves_the_book_corrupt(self):
        lost = '"lastId":4485890,"id":4485892'
        lines = (CAPTURES / STREAM).read_text().splitlines(keepends=True)
        with tempfile.TemporaryDirectory() as folder:
            stream = Path(folder) / STREAM
            stream.write_text("".join(line for line in lines if lost not in line))
            with self.assertLogs("exchange_wrapper.marketdata.hub", level="WARNING") as logs:
                report = Replay("poloniex", [CAPTURES / "POLONIEX.0", stream]).run()
        self.assertEqual(
            (report["corrupt"], report["sequence_gaps"], report["books"]["BTC_USDT"]["state"]),
            (["BTC_USDT"], 1, "resyncing"),
        )
        self.assertEqual(
            logs.output,
            [
                "WARNING:exchange_wrapper.marketdata.hub:poloniex BTC_USDT book stale, "
                "resyncing: sequence_gap: update 4485893 does not follow 4485890"
            ],
        )


if __name__ == "__main__":
    unittest.main()
