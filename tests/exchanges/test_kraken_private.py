"""The private side of the Kraken adapter, pure: signing (Kraken's published example), nonces,
client order ids, xWrap's orders translated to Kraken's requests (and what it cannot do refused),
its limits, and Kraken's answers, errors and websocket v2 messages read, from the examples of its
documentation (docs.kraken.com: REST "Add Order", "Query Orders Info", "Get Closed Orders",
"Query Trades Info", "Get Account Balance"; websocket v2 "executions"). Signatures expected here are
recomputed with hmac, hashlib and base64 in the test or are the documentation's own."""

import base64
import hashlib
import hmac
import json
import unittest
import uuid
from decimal import Decimal as D
from pathlib import Path
from urllib.parse import parse_qsl

from exchange_wrapper.core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter
from exchange_wrapper.core.orders import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from exchange_wrapper.core.pacing import RateLimit
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.base import Credentials
from exchange_wrapper.exchanges.http import DEFAULT_RETRY_AFTER, Response
from exchange_wrapper.exchanges.kraken import private as kraken
from exchange_wrapper.exchanges.kraken.private import KrakenPrivate
from exchange_wrapper.exchanges.private import AccountBalances, NotOnExchange, StreamNotice, client_key
from tests.exchanges.private_case import order_of

# The secret of Kraken's REST authentication example.
SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
KEY = "an-api-key"
ASSET_PAIRS = (Path(__file__).parents[1] / "fixtures" / "kraken" / "AssetPairs.json").read_text()
TABLE = SymbolTable("kraken", kraken.parse_markets(ASSET_PAIRS))


def adapter():
    return KrakenPrivate(TABLE, Credentials(KEY, SECRET), ASSET_PAIRS)


def order(type=OrderType.LIMIT, side=Side.BUY, size="1.25", price="37500", pair="BTC_USD", **extra):
    return order_of("kraken", pair, size, price, type=type, side=side, **extra)


def answer(result):
    return json.dumps({"error": [], "result": result})


def api_sign(path, nonce, body):
    digest = hashlib.sha256((str(nonce) + body).encode()).digest()
    mac = hmac.new(base64.b64decode(SECRET), path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


class SigningTest(unittest.TestCase):
    # "Spot REST Authentication": the example's API-Sign, verified with hmac in PROTOCOLS.md
    POSTDATA = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
    SIGN = "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="

    def test_the_published_example(self):
        self.assertEqual(kraken.signature(SECRET, "/0/private/AddOrder", 1616492376594, self.POSTDATA), self.SIGN)
        self.assertEqual(api_sign("/0/private/AddOrder", 1616492376594, self.POSTDATA), self.SIGN)

    def test_a_request_signed_with_its_nonce_first_and_the_keys_in_the_headers(self):
        request = kraken._private("Balance")
        signed = adapter().sign(request, 1616492376.594)
        self.assertEqual((signed.method, signed.path, signed.params), ("POST", "/0/private/Balance", {}))
        self.assertEqual(signed.body, "nonce=1616492376594000")
        self.assertEqual(
            dict(signed.headers),
            {"API-Key": KEY, "API-Sign": api_sign("/0/private/Balance", 1616492376594000, signed.body)},
        )

    def test_nonces_only_grow_and_new_orders_carry_their_deadline(self):
        a = adapter()
        request = a.place_request(order(), "c")
        first = dict(parse_qsl(a.sign(request, 1700000000.0).body))
        again = dict(parse_qsl(a.sign(request, 1700000000.0).body))  # the same microsecond
        earlier = dict(parse_qsl(a.sign(request, 1699999999.0).body))  # the clock went back
        self.assertEqual(
            [int(f["nonce"]) for f in (first, again, earlier)], [1700000000000000, 1700000000000001, 1700000000000002]
        )
        self.assertEqual(first["deadline"], "2023-11-14T22:13:25.000Z")  # 5 s after signing
        self.assertNotIn("deadline", dict(parse_qsl(a.sign(kraken._private("Balance"), 1700000001.0).body)))
        self.assertEqual(KrakenPrivate.recv_window, 6.0)

    def test_the_stream_address_follows_a_local_ws_url(self):
        self.assertEqual(adapter().stream_address(""), "wss://ws-auth.kraken.com/v2")
        self.assertEqual(adapter().stream_address("wss://ws.kraken.com/v2"), "wss://ws-auth.kraken.com/v2")
        self.assertEqual(adapter().stream_address("ws://127.0.0.1:8765"), "ws://127.0.0.1:8765/v2")


class ClientOrderIdTest(unittest.TestCase):
    def test_a_uuid_from_the_key_distinct_per_wallet_set(self):
        a = adapter()
        key = client_key(1, "my-order")
        first = a.client_id(key, 0)
        self.assertEqual(first, str(uuid.UUID(bytes=hashlib.sha256(b"xwrap/1/my-order").digest()[:16], version=4)))
        self.assertEqual(uuid.UUID(first).version, 4)
        self.assertNotEqual(first, a.client_id(client_key(2, "my-order"), 0))
        self.assertNotIn(a.client_id(key, 1), (first, a.client_id(key, 2)))


class OrderTranslationTest(unittest.TestCase):
    def params(self, o):
        request = adapter().place_request(o, "cid")
        self.assertEqual(
            (request.method, request.path, dict(request.costs)),
            ("POST", "/0/private/AddOrder", {"trading XXBTZUSD": 1}),
        )
        return request.params

    def test_order_types_times_in_force_and_flags(self):
        common = {"pair": "XBTUSD", "volume": "1.25", "cl_ord_id": "cid"}
        self.assertEqual(
            self.params(order()),
            {**common, "ordertype": "limit", "type": "buy", "price": "37500", "timeinforce": "GTC", "oflags": "fcib"},
        )
        self.assertEqual(
            self.params(order(post_only=True, side=Side.SELL)),
            {
                **common,
                "ordertype": "limit",
                "type": "sell",
                "price": "37500",
                "timeinforce": "GTC",
                "oflags": "fciq,post",
            },
        )
        self.assertEqual(
            self.params(order(time_in_force=TimeInForce.GTD, expire_time=1700000000.9)),
            {
                **common,
                "ordertype": "limit",
                "type": "buy",
                "price": "37500",
                "timeinforce": "GTD",
                "expiretm": "1700000000",
                "oflags": "fcib",
            },
        )
        self.assertEqual(
            self.params(order(OrderType.MARKET, Side.SELL, price=None)),
            {**common, "ordertype": "market", "type": "sell", "oflags": "fciq"},
        )
        self.assertEqual(
            self.params(order(OrderType.STOP_MARKET, price=None, stop_price=D("38000"))),
            {
                **common,
                "ordertype": "stop-loss",
                "type": "buy",
                "price": "38000",
                "timeinforce": "GTC",
                "oflags": "fcib",
            },
        )
        self.assertEqual(
            self.params(
                order(OrderType.STOP_LIMIT, stop_price=D("38000"), price="38100", time_in_force=TimeInForce.IOC)
            ),
            {
                **common,
                "ordertype": "stop-loss-limit",
                "type": "buy",
                "price": "38000",
                "price2": "38100",
                "timeinforce": "IOC",
                "oflags": "fcib",
            },
        )

    def test_what_kraken_cannot_do_is_refused_naming_the_field(self):
        cases = [
            (order(time_in_force=TimeInForce.FOK), "time_in_force", "FOK"),
            (order(OrderType.MARKET, size=None, price=None, funds=D("100")), "funds", "100"),
            (
                order(OrderType.MARKET, price=None, time_in_force=TimeInForce.GTD, expire_time=1e9),
                "time_in_force",
                "GTD",
            ),
            (order(OrderType.STOP_LIMIT, stop_price=D("1"), post_only=True), "post_only", "post_only"),
            (order(post_only=True, time_in_force=TimeInForce.IOC), "time_in_force", "IOC"),
        ]
        for o, field, got in cases:
            with self.subTest(field=field, got=got), self.assertRaises(InvalidParameter) as raised:
                adapter().check(o)
            self.assertEqual((raised.exception.field, raised.exception.got), (field, got))
        for fine in (
            order(),
            order(time_in_force=TimeInForce.IOC),
            order(post_only=True),
            order(time_in_force=TimeInForce.GTD, expire_time=1e9),
            order(OrderType.MARKET, price=None),
        ):
            adapter().check(fine)

    def test_queries_cancels_and_their_counts(self):
        a, known, unknown = adapter(), order(exchange_order_id="OQCLML-BW3P3-BUCMWZ"), order()
        expected = [
            (a.query_request(known, "cid"), "QueryOrders", {"txid": "OQCLML-BW3P3-BUCMWZ"}, {"API counter": 1}),
            (a.query_request(unknown, "cid"), "OpenOrders", {"cl_ord_id": "cid"}, {"API counter": 1}),
            (a.query_fallback(unknown, "cid"), "ClosedOrders", {"cl_ord_id": "cid"}, {"API counter": 2}),
            (
                a.fills_request(order(created_at=1688667800.5), "O1"),
                "TradesHistory",
                {"start": "1688667740"},
                {"API counter": 2},
            ),
            (a.cancel_request(known, "cid"), "CancelOrder", {"txid": "OQCLML-BW3P3-BUCMWZ"}, {"trading XXBTZUSD": 8}),
            (a.cancel_request(unknown, "cid"), "CancelOrder", {"cl_ord_id": "cid"}, {"trading XXBTZUSD": 8}),
            (a.open_orders_request(), "OpenOrders", {}, {"API counter": 1}),
            (a.balances_request(), "Balance", {}, {"API counter": 1}),
            (a.stream_token_request(), "GetWebSocketsToken", {}, {"API counter": 1}),
        ]
        for request, method, params, costs in expected:
            with self.subTest(method=method, params=params):
                self.assertEqual(
                    (request.method, request.path, request.params, dict(request.costs)),
                    ("POST", f"/0/private/{method}", params, costs),
                )
        self.assertIsNone(a.query_fallback(known, "cid"))
        self.assertIsNone(a.cancel_all_request(known.pair))  # CancelAll would cancel every pair's orders

    def test_amends_are_in_place_and_a_new_price_loses_the_queue_place(self):
        a, o = adapter(), order(exchange_order_id="OFGKYQ-FHPCQ-HUQFEK", size="2", post_only=True)
        smaller = a.amend_request(o, price=D("37500"), size=D("1.5"), base=D(0), client_id="cid", next_client_id="x")
        self.assertEqual((smaller.in_place, smaller.method, smaller.client_id), (True, "amend", "cid"))
        self.assertEqual(
            (smaller.request.path, smaller.request.params, dict(smaller.request.costs)),
            (
                "/0/private/AmendOrder",
                {"txid": "OFGKYQ-FHPCQ-HUQFEK", "order_qty": "1.5"},
                {"API counter": 1, "trading XXBTZUSD": 4},
            ),
        )
        moved = a.amend_request(o, price=D("37400"), size=D("2"), base=D(0), client_id="cid", next_client_id="x")
        self.assertEqual((moved.in_place, moved.method), (True, "amend_requeued"))
        self.assertEqual(
            moved.request.params, {"txid": "OFGKYQ-FHPCQ-HUQFEK", "limit_price": "37400", "post_only": "true"}
        )
        self.assertEqual(
            a.amend_request(o, price=D("37500"), size=D("3"), base=D(0), client_id="cid", next_client_id="x").method,
            "amend_requeued",
        )


class LimitsTest(unittest.TestCase):
    def test_the_counters_of_the_tier_as_buckets_one_below_their_maximum(self):
        quotas = {q.name: q for q in adapter().published_quotas(ASSET_PAIRS)}
        self.assertEqual(
            set(quotas),
            {
                "API counter",
                "trading XXBTZUSD",
                "trading XDGUSD",
                "trading XETHXXBT",
                "trading SOLUSD",
                "trading ACAEUR",
            },
        )
        self.assertEqual(quotas["API counter"].limit, RateLimit(0.33, 14))  # Starter: 15, -0.33/s
        self.assertEqual(quotas["trading SOLUSD"].limit, RateLimit(1.0, 59))  # Starter: 60, -1/s
        self.assertEqual(kraken.counter_quota("x", 180, 3.75).limit, RateLimit(3.75, 179))  # Pro

    def test_rate_limit_answers(self):
        a = adapter()
        throttled = Response(200, {}, '{"error":["EService:Throttled: 1700000030"]}')
        self.assertEqual(a.pause_for(throttled, 1700000000.0), 30.0)
        counter = Response(200, {}, '{"error":["EAPI:Rate limit exceeded"]}')
        self.assertEqual(a.pause_for(counter, 0.0), DEFAULT_RETRY_AFTER)
        self.assertEqual(a.used(counter), {"API counter": 15})
        self.assertEqual(a.pause_for(Response(429, {"retry-after": "7"}, "Too Many Requests"), 0.0), 7.0)
        trading = Response(200, {}, '{"error":["EOrder:Rate limit exceeded"]}')  # the pair's counter: refused
        self.assertIsNone(a.pause_for(trading, 0.0))
        self.assertIsNone(a.pause_for(Response(200, {}, answer({})), 0.0))


class ErrorsTest(unittest.TestCase):
    def read(self, body, request=None, status=200):
        a = adapter()
        response = a.answered(request or kraken._private("AddOrder"), Response(status, {}, body))
        return response.status, a.error(response) if response.status >= 300 else None

    def test_errors_in_the_body_say_whether_the_order_exists_and_whether_the_outcome_is_known(self):
        status, error = self.read('{"error":["EOrder:Insufficient funds"]}')
        self.assertEqual(
            (status, type(error), error.status, error.message),
            (400, ExchangeRejected, 200, "EOrder:Insufficient funds"),
        )
        for body in ('{"error":["EOrder:Unknown order"]}', '{"error":["EOrder:Invalid order"]}'):
            self.assertIsInstance(self.read(body)[1], NotOnExchange)
        for body in (
            '{"error":["EService:Unavailable"]}',
            '{"error":["EService:Busy"]}',
            '{"error":["EGeneral:Internal error"]}',
        ):
            self.assertIsInstance(self.read(body)[1], ExchangeUnavailable)
        self.assertEqual(type(self.read('{"error":["EService:Deadline elapsed"]}')[1]), ExchangeRejected)
        self.assertEqual(type(self.read('{"error":["EAPI:Invalid nonce"]}')[1]), ExchangeRejected)
        self.assertEqual(self.read('{"error":["EAPI:Rate limit exceeded"]}')[0], 429)
        self.assertIsInstance(self.read("<html>bad gateway</html>", status=502)[1], ExchangeUnavailable)
        self.assertEqual(self.read(answer({"txid": ["O"]})), (200, None))

    def test_a_client_id_query_that_finds_nothing_does_not_know_the_order(self):
        a = adapter()
        status, error = self.read(answer({"open": {}}), a.query_request(order(), "cid"))
        self.assertEqual((status, type(error)), (404, NotOnExchange))
        self.assertEqual(self.read(answer({"closed": {}, "count": 0}), a.query_fallback(order(), "cid"))[0], 404)
        self.assertEqual(self.read(answer({"open": {}}), a.open_orders_request()), (200, None))  # none open


class AnswersTest(unittest.TestCase):
    # "Query Orders Info" response example
    QUERIED = {
        "OBCMZD-JIEE7-77TH3F": {
            "refid": "None",
            "userref": 0,
            "status": "closed",
            "reason": None,
            "opentm": 1688665496.7808,
            "closetm": 1688665499.1922,
            "starttm": 0,
            "expiretm": 0,
            "descr": {
                "pair": "XBTUSD",
                "type": "buy",
                "ordertype": "stop-loss-limit",
                "price": "27500.0",
                "price2": "0",
                "leverage": "none",
                "order": "buy 1.25000000 XBTUSD @ limit 27500.0",
                "close": "",
            },
            "vol": "1.25000000",
            "vol_exec": "1.25000000",
            "cost": "27526.2",
            "fee": "26.2",
            "price": "27500.0",
            "stopprice": "0.00000",
            "limitprice": "0.00000",
            "misc": "",
            "oflags": "fciq",
            "trigger": "index",
            "trades": ["TZX2WP-XSEOP-FP7WYR"],
        }
    }

    def test_an_add_order_answer_opens_the_order(self):
        # "Add Order" response example
        body = answer({"descr": {"order": "buy 1.25000000 XBTUSD @ limit 27500.0"}, "txid": ["OU22CG-KLAF2-FWUDD7"]})
        self.assertEqual(
            adapter().parse_order(body, 5.0), kraken.OrderReport("OU22CG-KLAF2-FWUDD7", "", OrderStatus.OPEN, D(0), 5.0)
        )

    def test_order_queries(self):
        report = adapter().parse_order(answer(self.QUERIED), 0.0)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size, report.at),
            ("OBCMZD-JIEE7-77TH3F", "", OrderStatus.FILLED, D("1.25"), 1688665499.1922),
        )
        # "Get Closed Orders" response example (a canceled order, nothing executed), with a client id
        closed = {
            "closed": {
                "O37652-RJWRT-IMO74O": {
                    "refid": "None",
                    "userref": 1,
                    "cl_ord_id": "9cc788d8-9c00-4b25-94d3-26d93603948d",
                    "status": "canceled",
                    "reason": "User requested",
                    "opentm": 1688148493.7708,
                    "closetm": 1688148610.0482,
                    "starttm": 0,
                    "expiretm": 0,
                    "descr": {
                        "pair": "XBTGBP",
                        "type": "buy",
                        "ordertype": "stop-loss-limit",
                        "price": "23667.0",
                        "price2": "0",
                        "leverage": "none",
                        "order": "buy 0.00100000 XBTGBP @ limit 23667.0",
                        "close": "",
                    },
                    "vol": "0.00100000",
                    "vol_exec": "0.00000000",
                    "cost": "0.00000",
                    "fee": "0.00000",
                    "price": "0.00000",
                    "stopprice": "0.00000",
                    "limitprice": "0.00000",
                    "misc": "",
                    "oflags": "fciq",
                    "trigger": "index",
                }
            },
            "count": 1,
        }
        [cancelled] = adapter().parse_orders(answer(closed), 0.0)
        self.assertEqual(
            (cancelled.client_id, cancelled.status, cancelled.filled_size, cancelled.reason),
            ("9cc788d8-9c00-4b25-94d3-26d93603948d", OrderStatus.CANCELLED, D(0), "User requested"),
        )
        part = {
            "open": {
                "OQCLML-BW3P3-BUCMWZ": {
                    **self.QUERIED["OBCMZD-JIEE7-77TH3F"],
                    "status": "open",
                    "vol_exec": "0.5",
                    "closetm": 0,
                }
            }
        }
        [open_order] = adapter().parse_orders(answer(part), 0.0)
        self.assertEqual(
            (open_order.status, open_order.filled_size, open_order.at),
            (OrderStatus.PARTIALLY_FILLED, D("0.5"), 1688665496.7808),
        )

    def test_trades_of_an_order_oldest_first_and_balances(self):
        # "Query Trades Info" response example (its XXBTZUSD trade), and the same in TradesHistory's shape
        trade = {
            "ordertxid": "OQCLML-BW3P3-BUCMWZ",
            "postxid": "TKH2SE-M7IF5-CFI7LT",
            "pair": "XXBTZUSD",
            "time": 1688667796.8802,
            "type": "buy",
            "ordertype": "limit",
            "price": "30010.00000",
            "cost": "600.20000",
            "fee": "0.00000",
            "vol": "0.02000000",
            "margin": "0.00000",
            "misc": "",
            "trade_id": 93748276,
            "maker": True,
        }
        later = {**trade, "time": 1688667800.0, "type": "sell", "maker": False, "fee": "0.96000", "trade_id": 93748277}
        [fill] = adapter().parse_fills(answer({"THVRQM-33VKH-UCI7BS": trade}), 0.0)
        self.assertEqual(
            (
                fill.order_id,
                fill.trade_id,
                fill.price,
                fill.size,
                fill.fee,
                fill.fee_currency,
                fill.liquidity,
                fill.at,
                dict(fill.cause),
            ),
            (
                "",
                "THVRQM-33VKH-UCI7BS",
                D("30010"),
                D("0.02"),
                D(0),
                "BTC",
                Liquidity.MAKER,
                1688667796.8802,
                {"exchange_order_id": "OQCLML-BW3P3-BUCMWZ"},
            ),
        )
        history = answer({"trades": {"TLATER-AAAAA-BBBBBB": later, "THVRQM-33VKH-UCI7BS": trade}, "count": 2})
        self.assertEqual(
            [(f.trade_id, f.fee, f.fee_currency, f.liquidity) for f in adapter().parse_fills(history, 0)],
            [
                ("THVRQM-33VKH-UCI7BS", D(0), "BTC", Liquidity.MAKER),
                ("TLATER-AAAAA-BBBBBB", D("0.96"), "USD", Liquidity.TAKER),
            ],
        )
        # "Get Account Balance" response example, with an earn balance and a zero
        balance = answer(
            {
                "ZUSD": "171288.6158",
                "ZEUR": "504861.8946",
                "XXBT": "1011.1908877900",
                "XETH": "818.5500000000",
                "USDT": "500000.00000000",
                "XBT.F": "0.0100000000",
                "DOT": "0.0000000000",
            }
        )
        self.assertEqual(
            adapter().parse_balances(balance, 3.0),
            AccountBalances(
                {
                    "USD": D("171288.6158"),
                    "EUR": D("504861.8946"),
                    "BTC": D("1011.19088779"),
                    "ETH": D("818.55"),
                    "USDT": D(500000),
                },
                3.0,
                complete=True,
            ),
        )

    def test_an_amend_answer_keeps_the_order(self):
        a = adapter()
        amendment = a.amend_request(
            order(exchange_order_id="OFGKYQ-FHPCQ-HUQFEK"),
            price=D("37400"),
            size=D("1.25"),
            base=D(0),
            client_id="cid",
            next_client_id="x",
        )
        [report] = a.parse_amended(answer({"amend_id": "TYYDPG-OVXGV-AFHQ3W"}), 4.0, amendment)
        self.assertEqual(report, kraken.OrderReport("OFGKYQ-FHPCQ-HUQFEK", "cid", OrderStatus.OPEN, D(0), 4.0))

    def test_the_stream_token(self):
        a = adapter()
        a.stream_token(answer({"token": "1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw", "expires": 900}))
        executions, balances = map(json.loads, a.stream_subscribe(0.0))
        self.assertEqual(
            executions,
            {
                "method": "subscribe",
                "params": {
                    "channel": "executions",
                    "token": "1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw",
                    "snap_orders": True,
                    "snap_trades": False,
                },
            },
        )
        self.assertEqual(
            balances["params"],
            {"channel": "balances", "snapshot": False, "token": "1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw"},
        )


class StreamTest(unittest.TestCase):
    def parse(self, message):
        return adapter().parse_stream(json.dumps(message), 0.0)

    def test_executions(self):
        # websocket v2 "executions": "Example: Pending", then its trade ("Example: Execution")
        pending = {
            "order_id": "OK4GJX-KSTLS-7DZZO5",
            "order_userref": 3,
            "symbol": "BTC/USD",
            "order_qty": 0.005,
            "cum_cost": 0.0,
            "time_in_force": "GTC",
            "exec_type": "pending_new",
            "side": "sell",
            "order_type": "limit",
            "limit_price_type": "static",
            "limit_price": 26500.0,
            "stop_price": 0.0,
            "order_status": "pending_new",
            "fee_usd_equiv": 0.0,
            "fee_ccy_pref": "fciq",
            "timestamp": "2023-09-22T10:33:05.709950Z",
        }
        [report] = self.parse({"channel": "executions", "type": "update", "data": [pending], "sequence": 8})
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size, report.fills, report.at),
            ("OK4GJX-KSTLS-7DZZO5", "", OrderStatus.OPEN, D(0), (), 1695378785.70995),
        )
        trade = {
            "order_id": "OK4GJX-KSTLS-7DZZO5",
            "order_userref": 3,
            "exec_id": "TGBB7L-HT5LX-J3BZ4A",
            "exec_type": "trade",
            "trade_id": 62887576,
            "symbol": "BTC/USD",
            "side": "sell",
            "last_qty": 0.005,
            "last_price": 26599.9,
            "liquidity_ind": "t",
            "cost": 132.9995,
            "order_type": "limit",
            "timestamp": "2023-09-22T10:33:05.709993Z",
            "order_status": "partially_filled",
            "cum_qty": 0.005,
            "cum_cost": 132.9995,
            "avg_price": 26599.9,
            "fee_usd_equiv": 0.3458,
            "fees": [{"asset": "USD", "qty": 0.3458}],
        }
        [report] = self.parse({"channel": "executions", "type": "update", "data": [trade], "sequence": 9})
        [fill] = report.fills
        self.assertEqual((report.status, report.filled_size), (OrderStatus.PARTIALLY_FILLED, D("0.005")))
        self.assertEqual(
            (
                fill.trade_id,
                fill.price,
                fill.size,
                fill.fee,
                fill.fee_currency,
                fill.liquidity,
                fill.at,
                dict(fill.cause),
            ),
            (
                "TGBB7L-HT5LX-J3BZ4A",
                D("26599.9"),
                D("0.005"),
                D("0.3458"),
                "USD",
                Liquidity.TAKER,
                1695378785.709993,
                {"exchange_order_id": "OK4GJX-KSTLS-7DZZO5"},
            ),
        )
        cancel = {
            "order_id": "OK4GJX-KSTLS-7DZZO5",
            "cl_ord_id": "c1",
            "exec_type": "canceled",
            "cum_qty": 0.005,
            "order_status": "canceled",
            "reason": "User requested",
            "timestamp": "2023-09-22T10:34:05.000000Z",
        }
        [cancelled] = self.parse({"channel": "executions", "type": "update", "data": [cancel], "sequence": 10})
        self.assertEqual(
            (cancelled.client_id, cancelled.status, cancelled.filled_size, cancelled.reason),
            ("c1", OrderStatus.CANCELLED, D("0.005"), "User requested"),
        )

    def test_balances_acknowledgements_and_refusals(self):
        deposit = {
            "ledger_id": "L6CQ4D-ZK3VS-JQZ4N3",
            "ref_id": "FTQcQ1u",
            "timestamp": "2023-09-22T10:33:05.709993Z",
            "type": "deposit",
            "asset": "USD",
            "asset_class": "currency",
            "category": "deposit",
            "wallet_type": "spot",
            "wallet_id": "main",
            "amount": 100.25,
            "fee": 0,
            "balance": 5100.25,
        }
        trade = {**deposit, "type": "trade", "asset": "BTC", "balance": 1.5}
        [balances] = self.parse({"channel": "balances", "type": "update", "data": [deposit, trade], "sequence": 2})
        self.assertEqual(balances, AccountBalances({"USD": D("5100.25")}, 1695378785.709993, complete=False))
        self.assertEqual(self.parse({"channel": "balances", "type": "update", "data": [trade]}), [])
        self.assertEqual(self.parse({"channel": "balances", "type": "snapshot", "data": []}), [])
        ack = {
            "method": "subscribe",
            "result": {"channel": "executions", "maxratecount": 125, "snap_orders": True, "snap_trades": True},
            "success": True,
            "time_in": "2023-10-16T13:18:35.303171Z",
            "time_out": "2023-10-16T13:18:35.318297Z",
        }
        self.assertEqual(self.parse(ack), [StreamNotice("subscribed to executions")])
        self.assertEqual(self.parse({**ack, "result": {"channel": "balances"}}), [])
        refused = {
            "error": "ESession:Invalid session",
            "method": "subscribe",
            "success": False,
            "time_in": "2023-10-16T13:18:35.303171Z",
            "time_out": "2023-10-16T13:18:35.318297Z",
        }
        self.assertEqual(
            self.parse(refused), [StreamNotice("subscription refused: ESession:Invalid session", fatal=True)]
        )
        self.assertEqual(self.parse({"channel": "heartbeat"}), [])


if __name__ == "__main__":
    unittest.main()
