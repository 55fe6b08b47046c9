"""The private side of the Poloniex adapter, pure: signing (the documented algorithm step by step,
on the documentation's own strings to sign; Poloniex publishes no signature to compare with),
client order ids, xWrap's orders translated to Poloniex's requests (and what it cannot do
refused), and Poloniex's answers and private websocket events read, from the examples of its
documentation and its official SDKs (as ccxt quotes them where noted). Signatures expected here
are computed in the test with hmac, hashlib and base64, never copied from the code."""

import base64
import hashlib
import hmac
import json
import time
import unittest
from decimal import Decimal as D

from exchange_wrapper.connectors.rest import RestClient
from exchange_wrapper.core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter
from exchange_wrapper.core.orders import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.base import Credentials
from exchange_wrapper.exchanges.http import DEFAULT_RETRY_AFTER, Request, Response
from exchange_wrapper.exchanges.poloniex import private as poloniex
from exchange_wrapper.exchanges.poloniex.private import PoloniexPrivate
from exchange_wrapper.exchanges.private import AccountBalances, NotOnExchange, StreamNotice, client_key
from tests.exchanges.private_case import order_of
from tests.exchanges.test_poloniex import BODY
from tests.simulator.poloniex_private import PoloniexExchange

# Poloniex publishes no example key pair: made-up ones in the shape of its keys.
KEY = "A3B7K2QX-99F4M1ZC-84TR6W0D-7NH5E2JL"
SECRET = "5d1c9e0b7a34f6e28c1b0d9a7f3e6c5b4a2918d7e6f5c4b3a2918f7e6d5c4b3a29"
TABLE = SymbolTable("poloniex", poloniex.parse_markets(BODY))


def adapter():
    return PoloniexPrivate(TABLE, Credentials(KEY, SECRET), BODY)


def order(type=OrderType.LIMIT, side=Side.BUY, size="1000", price="0.105", pair="GRT_USDT", **extra):
    return order_of("poloniex", pair, size, price, type=type, side=side, **extra)


def b64_hmac(text):
    return base64.b64encode(hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).digest()).decode()


class SigningTest(unittest.TestCase):
    # Authentication, "Signature Example": the string to sign of GET /orders?symbol=ETH_USDT&limit=5
    EXAMPLE = "GET\n/orders\nlimit=5&signTimestamp=1659259836247&symbol=ETH_USDT"

    def test_the_documented_strings_to_sign(self):
        self.assertEqual(
            poloniex.string_to_sign("GET", "/orders", {"symbol": "ETH_USDT", "limit": 5}, None, 1659259836247),
            self.EXAMPLE,
        )
        # with a body: requestBody=<the JSON as sent>&signTimestamp=<ms>
        body = '{"orderIds":["1234567890"],"clientOrderIds":["myId-1"]}'
        self.assertEqual(
            poloniex.string_to_sign("DELETE", "/orders/cancelByIds", {}, body, 1631018760000),
            f"DELETE\n/orders/cancelByIds\nrequestBody={body}&signTimestamp=1631018760000",
        )
        # without a body nor parameters: the timestamp alone (a cancel by id; the websocket's auth)
        self.assertEqual(
            poloniex.string_to_sign("DELETE", "/orders/1", {}, None, 1631018760000),
            "DELETE\n/orders/1\nsignTimestamp=1631018760000",
        )
        self.assertEqual(
            poloniex.string_to_sign("GET", "/ws", {}, None, 1631018760000), "GET\n/ws\nsignTimestamp=1631018760000"
        )

    def test_parameters_are_sorted_and_url_encoded_with_a_space_as_percent_20(self):
        text = poloniex.string_to_sign(
            "GET", "/orders/history", {"states": "FILLED,CANCELED", "symbol": "BTC_USDT", "note": "a b"}, None, 1
        )
        self.assertEqual(
            text, "GET\n/orders/history\nnote=a%20b&signTimestamp=1&states=FILLED%2CCANCELED&symbol=BTC_USDT"
        )

    def test_the_signature_is_the_base64_hmac_sha256_of_the_string(self):
        expected = base64.b64encode(hmac.new(SECRET.encode(), self.EXAMPLE.encode(), hashlib.sha256).digest()).decode()
        self.assertEqual(poloniex.signature(SECRET, self.EXAMPLE), expected)
        self.assertEqual(len(base64.b64decode(expected)), 32)

    def test_the_official_sdks_algorithm_gives_the_same_string(self):
        # polo-sdk-python, polosdk/rest/request.py _get_sig_header: signTimestamp merged into the
        # parameters, f"{key}={value}" sorted and joined with "&" (its values need no encoding here)
        params = {"symbol": "ETH_USDT", "limit": 5}
        internal = {"signTimestamp": "1659259836247", **params}
        sdk = "GET\n/orders\n" + "&".join(f"{k}={v}" for k, v in sorted(internal.items()))
        self.assertEqual(sdk, self.EXAMPLE)
        self.assertEqual(poloniex.string_to_sign("GET", "/orders", params, None, 1659259836247), sdk)

    def test_a_query_signed_as_the_example(self):
        request = Request("/orders", {"symbol": "ETH_USDT", "limit": 5})
        signed = adapter().sign(request, 1659259836.247)
        self.assertEqual((signed.path, signed.params, signed.method), ("/orders?limit=5&symbol=ETH_USDT", {}, "GET"))
        self.assertEqual(
            dict(signed.headers),
            {"key": KEY, "signTimestamp": "1659259836247", "signature": b64_hmac(self.EXAMPLE), "recvWindow": "5000"},
        )

    def test_a_placement_signs_its_body_as_sent(self):
        request = adapter().place_request(order(), "xwabc")
        signed = adapter().sign(request, 1631018760.0)
        self.assertEqual((signed.path, signed.body, signed.content_type), ("/orders", request.body, "application/json"))
        self.assertEqual(
            signed.headers["signature"],
            b64_hmac(f"POST\n/orders\nrequestBody={request.body}&signTimestamp=1631018760000"),
        )
        cancel = adapter().sign(adapter().cancel_request(order(exchange_order_id="32471407854219264"), "x"), 1.5)
        self.assertEqual((cancel.method, cancel.path, cancel.body), ("DELETE", "/orders/32471407854219264", None))
        self.assertEqual(cancel.headers["signature"], b64_hmac("DELETE\n/orders/32471407854219264\nsignTimestamp=1500"))

    def test_the_websocket_auth_and_subscriptions(self):
        auth, orders, balances = (json.loads(m) for m in adapter().stream_subscribe(1700000000.123))
        signed = b64_hmac("GET\n/ws\nsignTimestamp=1700000000123")
        self.assertEqual(
            auth,
            {
                "event": "subscribe",
                "channel": ["auth"],
                "params": {"key": KEY, "signTimestamp": 1700000000123, "signature": signed},
            },
        )
        self.assertEqual(orders, {"event": "subscribe", "channel": ["orders"], "symbols": ["all"]})
        self.assertEqual(balances, {"event": "subscribe", "channel": ["balances"]})
        self.assertEqual(
            (PoloniexPrivate.stream_ping, PoloniexPrivate.stream_ping_interval), ('{"event":"ping"}', 15.0)
        )

    def test_the_stream_address_follows_a_local_ws_url(self):
        self.assertEqual(adapter().stream_address(""), "wss://ws.poloniex.com/ws/private")
        self.assertEqual(adapter().stream_address("ws://127.0.0.1:8765/ws/public"), "ws://127.0.0.1:8765/ws/private")

    def test_the_exchange_clock(self):
        self.assertEqual(
            (adapter().time_request().path, adapter().parse_time('{"serverTime": 1649407935837}')),
            ("/timestamp", 1649407935.837),
        )


class ClientOrderIdTest(unittest.TestCase):
    def test_deterministic_within_the_format_and_distinct_per_wallet_set(self):
        a = adapter()
        first = a.client_id(client_key(1, "my-order"), 0)
        self.assertEqual(first, a.client_id(client_key(1, "my-order"), 0))
        self.assertEqual(first, "xw" + hashlib.sha256(b"xwrap/1/my-order").hexdigest()[:32])
        self.assertNotEqual(first, a.client_id(client_key(2, "my-order"), 0))
        self.assertEqual(a.client_id(client_key(1, "my-order"), 12), first + "-12")
        for client_id in (first, a.client_id(client_key(9, "x" * 64), 10**9)):
            self.assertRegex(client_id, r"^[A-Za-z0-9_-]{1,64}$")


class OrderTranslationTest(unittest.TestCase):
    def body(self, o, client_id="xwabc"):
        request = adapter().place_request(o, client_id)
        self.assertEqual(
            (request.method, request.path, request.params, dict(request.costs)), ("POST", "/orders", {}, {"place": 1})
        )
        return json.loads(request.body)

    def test_order_types_and_times_in_force(self):
        self.assertEqual(
            self.body(order()),
            {
                "symbol": "GRT_USDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "price": "0.105",
                "quantity": "1000",
                "clientOrderId": "xwabc",
            },
        )
        self.assertEqual(self.body(order(time_in_force=TimeInForce.FOK))["timeInForce"], "FOK")
        self.assertEqual(self.body(order(time_in_force=TimeInForce.IOC))["timeInForce"], "IOC")
        self.assertEqual(
            self.body(order(post_only=True)),
            {
                "symbol": "GRT_USDT",
                "side": "BUY",
                "type": "LIMIT_MAKER",
                "price": "0.105",
                "quantity": "1000",
                "clientOrderId": "xwabc",
            },
        )
        self.assertEqual(
            self.body(order(OrderType.MARKET, Side.SELL, price=None)),
            {"symbol": "GRT_USDT", "side": "SELL", "type": "MARKET", "quantity": "1000", "clientOrderId": "xwabc"},
        )
        self.assertEqual(
            self.body(order(OrderType.MARKET, size=None, price=None, funds=D("25.5"))),
            {"symbol": "GRT_USDT", "side": "BUY", "type": "MARKET", "amount": "25.5", "clientOrderId": "xwabc"},
        )

    def test_the_body_is_compact_json_in_the_documented_order(self):
        self.assertEqual(
            adapter().place_request(order(), "xwabc").body,
            '{"symbol":"GRT_USDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","price":"0.105",'
            '"quantity":"1000","clientOrderId":"xwabc"}',
        )

    def test_what_poloniex_cannot_do_is_refused_naming_the_field(self):
        cases = [
            (order(OrderType.STOP_LIMIT, stop_price=D("0.11"), price="0.111"), "type", "stop_limit"),
            (order(OrderType.STOP_MARKET, price=None, stop_price=D("0.11")), "type", "stop_market"),
            (order(time_in_force=TimeInForce.GTD, expire_time=1e9), "time_in_force", "GTD"),
            (order(post_only=True, time_in_force=TimeInForce.IOC), "time_in_force", "IOC"),
            (
                order(OrderType.MARKET, price=None, time_in_force=TimeInForce.FOK, size=None, funds=D(5)),
                "time_in_force",
                "FOK",
            ),
            (order(OrderType.MARKET, price=None), "funds", None),  # a market buy by size
            (order(OrderType.MARKET, Side.SELL, size=None, price=None, funds=D(5)), "funds", "5"),
        ]
        for o, field, got in cases:
            with self.subTest(field=field, got=got), self.assertRaises(InvalidParameter) as raised:
                adapter().check(o)
            self.assertEqual((raised.exception.field, raised.exception.got), (field, got))
        for fine in (
            order(),
            order(time_in_force=TimeInForce.IOC),
            order(time_in_force=TimeInForce.FOK),
            order(post_only=True),
            order(OrderType.MARKET, Side.SELL, price=None),
            order(OrderType.MARKET, size=None, price=None, funds=D(5), time_in_force=TimeInForce.IOC),
        ):
            adapter().check(fine)

    def test_queries_cancels_and_the_quota_each_spends(self):
        a, o = adapter(), order(exchange_order_id="32471407854219264")
        expected = [
            (a.query_request(o, "xwabc"), "GET", "/orders/cid:xwabc", {}, None, "query"),
            (a.fills_request(o, "32471407854219264"), "GET", "/orders/32471407854219264/trades", {}, None, "fills"),
            (a.cancel_request(o, "xwabc"), "DELETE", "/orders/32471407854219264", {}, None, "cancel"),
            (a.cancel_request(order(), "xwabc"), "DELETE", "/orders/cid:xwabc", {}, None, "cancel"),
            (a.cancel_all_request(o.pair), "DELETE", "/orders", {}, '{"symbols":["GRT_USDT"]}', "cancel_all"),
            (a.open_orders_request(), "GET", "/orders", {"limit": 2000}, None, "open_orders"),
            (a.balances_request(), "GET", "/accounts/balances", {"accountType": "SPOT"}, None, "balances"),
        ]
        for request, method, path, params, body, kind in expected:
            with self.subTest(path=path):
                self.assertEqual(
                    (request.method, request.path, request.params, request.body, dict(request.costs)),
                    (method, path, params, body, {kind: 1}),
                )
        quotas = {q.kind: (q.name, q.count, q.seconds) for q in PoloniexPrivate.quotas}
        self.assertEqual(
            quotas,
            {
                "place": ("POST /orders", 50, 1),
                "cancel": ("DELETE /orders/{id}", 50, 1),
                "query": ("GET /orders/{id}", 50, 1),
                "fills": ("GET /orders/{id}/trades", 50, 1),
                "balances": ("GET /accounts/balances", 50, 1),
                "open_orders": ("GET /orders", 10, 1),
                "cancel_all": ("DELETE /orders", 10, 1),
                "replace": ("PUT /orders/{id}", 10, 1),
            },
        )

    def test_every_amend_is_a_cancel_replace_for_what_remains(self):
        o = order(exchange_order_id="33", filled_size=D("400"))
        for price, size in (("0.105", "800"), ("0.104", "1000")):
            amendment = adapter().amend_request(
                o, price=D(price), size=D(size), base=D(0), client_id="xwabc", next_client_id="xwabc-1"
            )
            self.assertEqual(
                (amendment.in_place, amendment.method, amendment.client_id), (False, "cancel_replace", "xwabc-1")
            )
            request = amendment.request
            self.assertEqual((request.method, request.path, dict(request.costs)), ("PUT", "/orders/33", {"replace": 1}))
            self.assertEqual(
                json.loads(request.body), {"clientOrderId": "xwabc-1", "price": price, "quantity": str(D(size) - 400)}
            )


class AnswersTest(unittest.TestCase):
    def test_a_placement_answer_names_the_ids_only(self):
        # POST /orders, "Example request 1" response
        report = adapter().parse_order('{"id": "29772698821328896", "clientOrderId": "1234Abc"}', 12.5)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size, report.at, report.fills),
            ("29772698821328896", "1234Abc", OrderStatus.OPEN, D(0), 12.5, ()),
        )

    def test_an_order_as_a_query_and_the_open_orders_answer_it(self):
        # GET /orders: a spot order as ccxt quotes Poloniex's answer (fetchOpenOrders)
        row = {
            "id": "24993088082542592",
            "clientOrderId": "",
            "symbol": "ELON_USDC",
            "state": "NEW",
            "accountType": "SPOT",
            "side": "SELL",
            "type": "MARKET",
            "timeInForce": "GTC",
            "quantity": "1.00",
            "price": "0.00",
            "avgPrice": "0.00",
            "amount": "0.00",
            "filledQuantity": "0.00",
            "filledAmount": "0.00",
            "createTime": 1646925216548,
            "updateTime": 1646925216548,
        }
        [report] = adapter().parse_orders(json.dumps([row]), 0.0)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size, report.at),
            ("24993088082542592", "", OrderStatus.OPEN, D(0), 1646925216.548),
        )
        states = {
            "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
            "FILLED": OrderStatus.FILLED,
            "PENDING_CANCEL": OrderStatus.OPEN,
            "PARTIALLY_CANCELED": OrderStatus.CANCELLED,
            "CANCELED": OrderStatus.CANCELLED,
            "FAILED": OrderStatus.REJECTED,
        }
        for state, status in states.items():
            queried = adapter().parse_order(json.dumps({**row, "state": state, "filledQuantity": "0.40"}), 0.0)
            self.assertEqual((queried.status, queried.filled_size), (status, D("0.4")))
        with self.assertRaises(InvalidParameter) as raised:
            adapter().parse_order(json.dumps({**row, "state": "LOST"}), 0.0)
        self.assertEqual(raised.exception.field, "state of ELON_USDC on poloniex")

    def test_a_cancel_answer_is_pending_and_cancel_all_skips_what_it_could_not_cancel(self):
        # DELETE /orders/{id} "Response" example: the cancel is taken, the order not yet cancelled
        body = {
            "orderId": "32487004629499904",
            "clientOrderId": "54321",
            "state": "PENDING_CANCEL",
            "code": 200,
            "message": "",
        }
        report = adapter().parse_order(json.dumps(body), 3.0)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size),
            ("32487004629499904", "54321", OrderStatus.OPEN, D(0)),
        )
        self.assertFalse(PoloniexPrivate.cancel_reports_order)  # the account asks about the order after it
        refused = {
            "orderId": "32487004629499905",
            "clientOrderId": "",
            "state": "UNKNOWN",
            "code": 21301,
            "message": "Order not found",
        }
        self.assertEqual(
            [r.exchange_order_id for r in adapter().parse_orders(json.dumps([body, refused]), 0.0)],
            ["32487004629499904"],
        )

    def test_a_cancel_replace_answer_names_the_new_order(self):
        a = adapter()
        amendment = a.amend_request(
            order(exchange_order_id="33"), price=D("0.104"), size=D(5), base=D(0), client_id="x", next_client_id="x-1"
        )
        [new] = a.parse_amended('{"id": "29772698821328897", "clientOrderId": "x-1"}', 4.0, amendment)
        self.assertEqual(
            (new.exchange_order_id, new.client_id, new.status), ("29772698821328897", "x-1", OrderStatus.OPEN)
        )

    def test_trades_and_balances(self):
        # GET /trades as ccxt quotes Poloniex's answer (fetchMyTrades); /orders/{id}/trades has the same rows
        trades = json.dumps(
            [
                {
                    "id": "32164924331503616",
                    "symbol": "LINK_USDT",
                    "accountType": "SPOT",
                    "orderId": "32164923987566592",
                    "side": "SELL",
                    "type": "MARKET",
                    "matchRole": "TAKER",
                    "createTime": 1648635115525,
                    "price": "11",
                    "quantity": "0.5",
                    "amount": "5.5",
                    "feeCurrency": "USDT",
                    "feeAmount": "0.007975",
                    "pageId": "32164924331503616",
                    "clientOrderId": "myOwnId-321",
                }
            ]
        )
        [fill] = adapter().parse_fills(trades, 0.0)
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
                "32164924331503616",
                D(11),
                D("0.5"),
                D("0.007975"),
                "USDT",
                Liquidity.TAKER,
                1648635115.525,
                {"exchange_order_id": "32164923987566592"},
            ),
        )
        # GET /accounts/balances "Response" example, with a futures account and an empty currency added
        balances = json.dumps(
            [
                {
                    "accountId": "60018450912695040",
                    "accountType": "SPOT",
                    "balances": [
                        {"currencyId": "214", "currency": "BTC", "available": "2.00", "hold": "0.50"},
                        {"currencyId": "233", "currency": "USDT", "available": "0.00", "hold": "0.00"},
                    ],
                },
                {
                    "accountId": "60018450912695041",
                    "accountType": "FUTURES",
                    "balances": [{"currencyId": "214", "currency": "BTC", "available": "7", "hold": "0"}],
                },
            ]
        )
        self.assertEqual(
            adapter().parse_balances(balances, 5.0), AccountBalances({"BTC": D("2.5")}, 5.0, complete=True)
        )

    def test_errors_say_whether_the_order_exists_and_whether_the_outcome_is_known(self):
        a = adapter()

        def error(status, body):
            return a.error(Response(status, {}, body))

        # api-docs.poloniex.com/spot/error-code: 21301 Order not found, 21304 Order is filled, 21305 Order is canceled
        for code, message in ((21301, "Order not found"), (21304, "Order is filled"), (21305, "Order is canceled")):
            self.assertIsInstance(error(400, json.dumps({"code": code, "message": message})), NotOnExchange)
        for body in (
            '{"code": 500, "message": "Internal System Error"}',
            '{"code": 603, "message": "Internal Request Timeout"}',
            '{"code": 24201, "message": "Service busy. Try again later"}',
        ):
            self.assertIsInstance(error(400, body), ExchangeUnavailable)
        self.assertIsInstance(error(502, "<html>Bad Gateway</html>"), ExchangeUnavailable)
        # a real answer, quoted in ccxt's issue 17207
        refused = error(400, '{ "code" : 21709, "message" : "Low available balance" }')
        self.assertEqual(
            (type(refused), refused.status, refused.message),
            (ExchangeRejected, 400, "Low available balance (code 21709)"),
        )
        self.assertEqual(
            error(400, '{"code": "21322", "message": "Amount less than minAmount"}').message,
            "Amount less than minAmount (code 21322)",
        )

    def test_a_429_pauses_for_its_retry_after(self):
        a = adapter()
        self.assertEqual(a.pause_for(Response(429, {"retry-after": "7"}, ""), 0.0), 7.0)
        self.assertEqual(a.pause_for(Response(429, {}, '{"code": 429}'), 0.0), DEFAULT_RETRY_AFTER)
        self.assertIsNone(a.pause_for(Response(400, {"retry-after": "7"}, "{}"), 0.0))


class StreamTest(unittest.TestCase):
    # the "orders" channel's example of the documentation (as ccxt quotes it: a LIMIT BUY placed)
    PLACED = {
        "symbol": "BTC_USDT",
        "type": "LIMIT",
        "quantity": "1",
        "orderId": "32471407854219264",
        "tradeFee": "0",
        "clientOrderId": "",
        "accountType": "SPOT",
        "feeCurrency": "",
        "eventType": "place",
        "source": "API",
        "side": "BUY",
        "filledQuantity": "0",
        "filledAmount": "0",
        "matchRole": "MAKER",
        "state": "NEW",
        "tradeTime": 0,
        "tradeAmount": "0",
        "orderAmount": "0",
        "createTime": 1648708186922,
        "price": "47112.1",
        "tradeQty": "0",
        "tradePrice": "0",
        "tradeId": "0",
        "ts": 1648708187469,
    }
    # a trade event as ccxt quotes one (a MARKET SELL filled at once)
    TRADED = {
        "orderId": "186250258089635840",
        "tradeId": "62036513",
        "clientOrderId": "",
        "accountType": "SPOT",
        "eventType": "trade",
        "symbol": "ADA_USDT",
        "side": "SELL",
        "type": "MARKET",
        "price": "0",
        "quantity": "3",
        "state": "FILLED",
        "createTime": 1685371921891,
        "tradeTime": 1685371921908,
        "tradePrice": "0.37694",
        "tradeQty": "3",
        "feeCurrency": "USDT",
        "tradeFee": "0.00226164",
        "tradeAmount": "1.13082",
        "filledQuantity": "3",
        "filledAmount": "1.13082",
        "ts": 1685371921945,
        "source": "WEB",
        "orderAmount": "0",
        "matchRole": "TAKER",
    }

    def parse(self, message):
        return adapter().parse_stream(json.dumps(message), 99.0)

    def test_order_events(self):
        [placed] = self.parse({"channel": "orders", "data": [self.PLACED]})
        self.assertEqual(
            (placed.exchange_order_id, placed.client_id, placed.status, placed.filled_size, placed.fills, placed.at),
            ("32471407854219264", "", OrderStatus.OPEN, D(0), (), 1648708187.469),
        )
        [traded] = self.parse({"channel": "orders", "data": [self.TRADED]})
        [fill] = traded.fills
        self.assertEqual((traded.status, traded.filled_size), (OrderStatus.FILLED, D(3)))
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
                "62036513",
                D("0.37694"),
                D(3),
                D("0.00226164"),
                "USDT",
                Liquidity.TAKER,
                1685371921.908,
                {"exchange_order_id": "186250258089635840"},
            ),
        )
        maker = {
            **self.PLACED,
            "eventType": "trade",
            "state": "PARTIALLY_FILLED",
            "tradeId": "62036600",
            "tradeQty": "0.4",
            "tradePrice": "47112.1",
            "tradeFee": "0.00058",
            "feeCurrency": "",
            "filledQuantity": "0.4",
            "tradeTime": 1648708190000,
        }
        [partly] = self.parse({"channel": "orders", "data": [maker]})
        self.assertEqual(
            (partly.status, partly.filled_size, partly.fills[0].liquidity, partly.fills[0].fee_currency),
            (OrderStatus.PARTIALLY_FILLED, D("0.4"), Liquidity.MAKER, "BTC"),
        )  # a buy brings BTC
        [cancelled] = self.parse(
            {"channel": "orders", "data": [{**maker, "eventType": "canceled", "state": "PARTIALLY_CANCELED"}]}
        )
        self.assertEqual(
            (cancelled.status, cancelled.filled_size, cancelled.fills), (OrderStatus.CANCELLED, D("0.4"), ())
        )

    def test_balances(self):
        # the "balances" channel's example (as ccxt quotes it)
        [balances] = self.parse(
            {
                "channel": "balances",
                "data": [
                    {
                        "changeTime": 1657312008411,
                        "accountId": "1234",
                        "accountType": "SPOT",
                        "eventType": "place_order",
                        "available": "9999999983.668",
                        "currency": "BTC",
                        "id": 60018450912695040,
                        "userId": 12345,
                        "hold": "16.332",
                        "ts": 1657312008443,
                    }
                ],
            }
        )
        self.assertEqual(balances, AccountBalances({"BTC": D(10000000000)}, 1657312008.443, complete=False))

    def test_acknowledgements_pongs_and_errors(self):
        # the "auth" answers of the documentation
        self.assertEqual(self.parse({"data": {"success": True, "ts": 1645597033915}, "channel": "auth"}), [])
        [refused] = self.parse(
            {"data": {"success": False, "message": "Authentication failed!", "ts": 1646276295075}, "channel": "auth"}
        )
        self.assertEqual(refused, StreamNotice("authentication refused: Authentication failed!", fatal=True))
        [subscribed] = self.parse({"event": "subscribe", "channel": "orders", "symbols": ["all"]})
        self.assertEqual(subscribed, StreamNotice("subscribed to orders and balances"))
        self.assertEqual(self.parse({"event": "subscribe", "channel": "balances"}), [])
        self.assertEqual(self.parse({"event": "pong"}), [])
        [error] = self.parse({"message": 'Invalid channel value ["ordersss"]', "event": "error"})
        self.assertEqual(error, StreamNotice('Invalid channel value ["ordersss"]', fatal=True))


class SimulatorTest(unittest.IsolatedAsyncioTestCase):
    """The loopback Poloniex checks signatures apart from the adapter's code: what the adapter
    signs passes, a wrong secret, an old or a future timestamp are refused as Poloniex does."""

    async def asyncSetUp(self):
        self.sim = await PoloniexExchange(balances={"USDT": D(100)}).__aenter__()
        self.addAsyncCleanup(self.sim.__aexit__, None, None, None)
        self.rest = RestClient("poloniex", self.sim.rest_url, PoloniexPrivate.quotas[0].limit)
        self.addCleanup(self.rest.close)

    async def send(self, signer, request, at):
        return await self.rest.send(request, lambda outgoing: signer.sign(outgoing, at))

    async def test_signed_requests_pass_and_bad_ones_are_refused(self):
        now = time.time()
        balances = await self.send(adapter(), adapter().balances_request(), now)
        self.assertEqual(adapter().parse_balances(balances.body, 0.0).totals, {"USDT": D(100)})
        placed = await self.send(adapter(), adapter().place_request(order(size="10"), "xw1"), now)
        self.assertEqual(json.loads(placed.body)["clientOrderId"], "xw1")
        wrong = PoloniexPrivate(TABLE, Credentials(KEY, SECRET[::-1]), BODY)
        answers = [
            await self.send(wrong, adapter().balances_request(), now),
            await self.send(adapter(), adapter().balances_request(), now - 6),
            await self.send(adapter(), adapter().balances_request(), now + 2),
        ]
        self.assertEqual(
            [(a.status, json.loads(a.body)["code"]) for a in answers], [(401, 401), (408, 408), (400, 400)]
        )
        self.assertEqual(self.sim.calls.count("GET", "/accounts/balances"), 4)


if __name__ == "__main__":
    unittest.main()
