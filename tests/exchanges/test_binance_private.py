"""The private side of the Binance adapter, pure: signing (Binance's published examples),
client order ids, xWrap's orders translated to Binance's requests (and what it cannot do refused),
and Binance's answers and stream events read, from the examples of its documentation and the
capture's exchangeInfo. The signatures expected here are the documentation's own, recomputed
with hmac and hashlib in the test, never copied from the code."""

import hashlib
import hmac
import json
import unittest
from decimal import Decimal as D

from exchange_wrapper.core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter
from exchange_wrapper.core.orders import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.base import Credentials
from exchange_wrapper.exchanges.binance import private as binance
from exchange_wrapper.exchanges.binance.private import BinancePrivate
from exchange_wrapper.exchanges.http import Request, Response
from exchange_wrapper.exchanges.private import AccountBalances, NotOnExchange, Quota, StreamNotice, client_key
from tests.exchanges.private_case import order_of
from tests.exchanges.test_binance import BODY

# Binance's documented example key and secret (REST API and WebSocket API "SIGNED request examples").
KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
TABLE = SymbolTable("binance", binance.parse_markets(BODY))
INFO = json.loads(BODY)

#: POST /api/v3/order "Response - FULL" of the REST API documentation
FULL_ORDER = json.dumps(
    {
        "symbol": "BTCUSDT",
        "orderId": 28,
        "orderListId": -1,
        "clientOrderId": "6gCrw2kRUAF9CvJDGP16IP",
        "transactTime": 1507725176595,
        "price": "0.00000000",
        "origQty": "10.00000000",
        "executedQty": "10.00000000",
        "origQuoteOrderQty": "0.000000",
        "cummulativeQuoteQty": "10.00000000",
        "status": "FILLED",
        "timeInForce": "GTC",
        "type": "MARKET",
        "side": "SELL",
        "workingTime": 1507725176595,
        "selfTradePreventionMode": "NONE",
        "fills": [
            {
                "price": "4000.00000000",
                "qty": "1.00000000",
                "commission": "4.00000000",
                "commissionAsset": "USDT",
                "tradeId": 56,
            },
            {
                "price": "3999.00000000",
                "qty": "5.00000000",
                "commission": "19.99500000",
                "commissionAsset": "USDT",
                "tradeId": 57,
            },
        ],
    }
)

#: GET /api/v3/myTrades example of the REST API documentation
MY_TRADES = json.dumps(
    [
        {
            "symbol": "BNBBTC",
            "id": 28457,
            "orderId": 100234,
            "orderListId": -1,
            "price": "4.00000100",
            "qty": "12.00000000",
            "quoteQty": "48.000012",
            "commission": "10.10000000",
            "commissionAsset": "BNB",
            "time": 1499865549590,
            "isBuyer": True,
            "isMaker": False,
            "isBestMatch": True,
        }
    ]
)

#: GET /api/v3/account example of the REST API documentation
ACCOUNT = json.dumps(
    {
        "makerCommission": 15,
        "canTrade": True,
        "accountType": "SPOT",
        "balances": [
            {"asset": "LTC", "free": "4763368.68006011", "locked": "0.00000000"},
            {"asset": "BTC", "free": "4723846.89208129", "locked": "0.00000000"},
            {"asset": "ETH", "free": "0.00000000", "locked": "0.00000000"},
        ],
        "permissions": ["SPOT"],
    }
)


def metadata(**rules):
    """The capture's exchangeInfo with ``rules`` (amendAllowed, ...) added to every symbol."""
    return json.dumps({**INFO, "symbols": [{**s, **rules} for s in INFO["symbols"]]})


def adapter(meta=BODY):
    return BinancePrivate(TABLE, Credentials(KEY, SECRET), meta)


def order(type=OrderType.LIMIT, side=Side.BUY, size="1000", price="0.0000063", pair="LRC_BTC", **extra):
    return order_of("binance", pair, size, price, type=type, side=side, **extra)


def hex_hmac(payload):
    return hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()


class SigningTest(unittest.TestCase):
    # REST API "SIGNED endpoint examples for POST /api/v3/order - HMAC Keys"
    PARAMS = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    )

    def test_the_published_rest_examples(self):
        self.assertEqual(
            binance.signature(SECRET, self.PARAMS), "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        )
        # example 3: query string and body mixed; the payload is the query followed directly by the body
        self.assertEqual(
            binance.signature(
                SECRET,
                "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
                "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
            ),
            "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77",
        )

    def test_a_request_signed_as_the_example(self):
        request = Request(
            "/api/v3/order",
            {"symbol": "LTCBTC", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "1", "price": "0.1"},
            method="POST",
        )
        signed = adapter().sign(request, 1499827319.559)
        self.assertEqual(
            signed.path,
            f"/api/v3/order?{self.PARAMS}&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
        )
        self.assertEqual((signed.params, dict(signed.headers), signed.method), ({}, {"X-MBX-APIKEY": KEY}, "POST"))

    def test_the_published_websocket_api_example(self):
        params = {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.01000000",
            "price": "52000.00",
            "newOrderRespType": "ACK",
            "recvWindow": 100,
            "timestamp": 1645423376532,
            "apiKey": KEY,
        }
        self.assertEqual(
            binance.ws_signature(SECRET, params), "cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a"
        )

    def test_the_user_data_stream_subscription_is_signed_over_its_sorted_parameters(self):
        [message] = adapter().stream_subscribe(1700000000.123)
        request = json.loads(message)
        self.assertEqual(request["method"], "userDataStream.subscribe.signature")
        params = request["params"]
        self.assertEqual((params["apiKey"], params["timestamp"]), (KEY, 1700000000123))
        self.assertEqual(params["signature"], hex_hmac(f"apiKey={KEY}&timestamp=1700000000123"))

    def test_the_stream_address_follows_a_local_ws_url(self):
        self.assertEqual(adapter().stream_address(""), "wss://ws-api.binance.com:443/ws-api/v3")
        self.assertEqual(adapter().stream_address("ws://127.0.0.1:8765/"), "ws://127.0.0.1:8765/ws-api/v3")


class ClientOrderIdTest(unittest.TestCase):
    def test_deterministic_within_the_format_and_distinct_per_wallet_set(self):
        a = adapter()
        first = a.client_id(client_key(1, "my-order"), 0)
        self.assertEqual(first, a.client_id(client_key(1, "my-order"), 0))
        self.assertEqual(first, "xw" + hashlib.sha256(b"xwrap/1/my-order").hexdigest()[:28])
        self.assertNotEqual(first, a.client_id(client_key(2, "my-order"), 0))
        self.assertEqual(a.client_id(client_key(1, "my-order"), 12), first + "-12")
        for client_id in (first, a.client_id(client_key(9, "x" * 64), 99999)):
            self.assertRegex(client_id, r"^[a-zA-Z0-9-_]{1,36}$")
        with self.assertRaises(InvalidParameter):
            a.client_id(client_key(1, "my-order"), 100000)


class OrderTranslationTest(unittest.TestCase):
    def params(self, o, client_id="xwabc"):
        request = adapter().place_request(o, client_id)
        self.assertEqual((request.method, request.path), ("POST", "/api/v3/order"))
        self.assertEqual(dict(request.costs), {"weight": 1, "orders": 1, "requests": 1})
        return request.params

    def test_order_types_and_times_in_force(self):
        common = {"symbol": "LRCBTC", "newClientOrderId": "xwabc", "newOrderRespType": "FULL"}
        self.assertEqual(
            self.params(order()),
            {**common, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "1000", "price": "0.0000063"},
        )
        self.assertEqual(self.params(order(time_in_force=TimeInForce.FOK))["timeInForce"], "FOK")
        self.assertEqual(
            self.params(order(post_only=True)),
            {**common, "side": "BUY", "type": "LIMIT_MAKER", "quantity": "1000", "price": "0.0000063"},
        )
        self.assertEqual(
            self.params(order(OrderType.MARKET, Side.SELL, price=None)),
            {**common, "side": "SELL", "type": "MARKET", "quantity": "1000"},
        )
        self.assertEqual(
            self.params(order(OrderType.MARKET, size=None, price=None, funds=D("0.01"))),
            {**common, "side": "BUY", "type": "MARKET", "quoteOrderQty": "0.01"},
        )
        self.assertEqual(
            self.params(order(OrderType.STOP_LIMIT, stop_price=D("0.0000065"), price="0.0000066")),
            {
                **common,
                "side": "BUY",
                "type": "STOP_LOSS_LIMIT",
                "timeInForce": "GTC",
                "quantity": "1000",
                "price": "0.0000066",
                "stopPrice": "0.0000065",
            },
        )

    def test_what_binance_cannot_do_is_refused_naming_the_field(self):
        cases = [
            (order(time_in_force=TimeInForce.GTD, expire_time=1e9), "time_in_force", "GTD"),
            # the capture's LRCBTC takes LIMIT, LIMIT_MAKER, MARKET, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT
            (order(OrderType.STOP_MARKET, price=None, stop_price=D("0.0000065")), "type", "stop_market"),
            (order(OrderType.MARKET, price=None, time_in_force=TimeInForce.FOK), "time_in_force", "FOK"),
            (order(post_only=True, time_in_force=TimeInForce.IOC), "time_in_force", "IOC"),
            # BTCUPUSDT: quoteOrderQtyMarketAllowed false in the capture
            (order(OrderType.MARKET, pair="BTCUP_USDT", size=None, price=None, funds=D("20")), "funds", "20"),
        ]
        for o, field, got in cases:
            with self.subTest(field=field, got=got), self.assertRaises(InvalidParameter) as raised:
                adapter().check(o)
            self.assertEqual((raised.exception.field, raised.exception.got), (field, got))
        self.assertIn("limit post_only", self.message_of(cases[1][0]))
        for fine in (
            order(),
            order(time_in_force=TimeInForce.IOC),
            order(post_only=True),
            order(OrderType.MARKET, price=None, time_in_force=TimeInForce.IOC),
        ):
            adapter().check(fine)

    def message_of(self, o):
        try:
            adapter().check(o)
        except InvalidParameter as error:
            return error.expected
        return ""

    def test_queries_cancels_and_their_weights(self):
        a, o = adapter(), order(exchange_order_id="4")
        expected = [
            (
                a.query_request(o, "xwabc"),
                "GET",
                "/api/v3/order",
                {"symbol": "LRCBTC", "origClientOrderId": "xwabc"},
                4,
            ),
            (
                a.fills_request(o, "4"),
                "GET",
                "/api/v3/myTrades",
                {"symbol": "LRCBTC", "orderId": "4", "limit": "1000"},
                5,
            ),
            (a.cancel_request(o, "xwabc"), "DELETE", "/api/v3/order", {"symbol": "LRCBTC", "orderId": "4"}, 1),
            (
                a.cancel_request(order(), "xwabc"),
                "DELETE",
                "/api/v3/order",
                {"symbol": "LRCBTC", "origClientOrderId": "xwabc"},
                1,
            ),
            (a.cancel_all_request(o.pair), "DELETE", "/api/v3/openOrders", {"symbol": "LRCBTC"}, 1),
            (a.open_orders_request(), "GET", "/api/v3/openOrders", {}, 80),
            (a.balances_request(), "GET", "/api/v3/account", {"omitZeroBalances": "true"}, 20),
        ]
        for request, method, path, params, weight in expected:
            with self.subTest(path=path, params=params):
                self.assertEqual(
                    (
                        request.method,
                        request.path,
                        request.params,
                        request.weight,
                        request.costs["weight"],
                        request.costs["orders"],
                    ),
                    (method, path, params, weight, weight, 0),
                )

    def test_a_smaller_size_is_amended_in_place_anything_else_cancel_replaced(self):
        a = adapter(metadata(amendAllowed=True, cancelReplaceAllowed=True))
        o = order(exchange_order_id="33", filled_size=D("400"))
        smaller = a.amend_request(
            o, price=D("0.0000063"), size=D("800"), base=D(0), client_id="xwabc", next_client_id="xwabc-1"
        )
        self.assertEqual((smaller.in_place, smaller.method, smaller.client_id), (True, "amend", "xwabc"))
        self.assertEqual(
            (smaller.request.method, smaller.request.path, smaller.request.params),
            (
                "PUT",
                "/api/v3/order/amend/keepPriority",
                {"symbol": "LRCBTC", "orderId": "33", "newClientOrderId": "xwabc", "newQty": "800"},
            ),
        )
        # after a replacement that took over when 300 had filled, the exchange order holds only the rest
        self.assertEqual(
            a.amend_request(
                o, price=D("0.0000063"), size=D("800"), base=D(300), client_id="xwabc", next_client_id="x"
            ).request.params["newQty"],
            "500",
        )
        moved = a.amend_request(
            o, price=D("0.0000062"), size=D("1000"), base=D(0), client_id="xwabc", next_client_id="xwabc-1"
        )
        self.assertEqual((moved.in_place, moved.method, moved.client_id), (False, "cancel_replace", "xwabc-1"))
        self.assertEqual(
            (moved.request.method, moved.request.path, dict(moved.request.costs)),
            ("POST", "/api/v3/order/cancelReplace", {"weight": 1, "orders": 1, "requests": 1}),
        )
        self.assertEqual(
            moved.request.params,
            {
                "symbol": "LRCBTC",
                "side": "BUY",
                "type": "LIMIT",
                "cancelReplaceMode": "STOP_ON_FAILURE",
                "cancelOrderId": "33",
                "timeInForce": "GTC",
                "quantity": "600",
                "price": "0.0000062",
                "newClientOrderId": "xwabc-1",
                "newOrderRespType": "FULL",
            },
        )

    def test_without_cancel_replace_the_account_cancels_then_places(self):
        o = order(exchange_order_id="33")
        smaller = adapter(metadata(amendAllowed=True)).amend_request(
            o, price=D("0.0000063"), size=D("900"), base=D(0), client_id="a", next_client_id="b"
        )
        self.assertEqual((smaller.method, smaller.client_id), ("amend", "a"))
        # the capture's symbols (2021) have neither amendAllowed nor cancelReplaceAllowed
        for price in ("0.0000063", "0.0000062"):
            moved = adapter().amend_request(
                o, price=D(price), size=D("900"), base=D(0), client_id="a", next_client_id="b"
            )
            self.assertEqual(
                (moved.request, moved.in_place, moved.method, moved.client_id), (None, False, "cancel_then_place", "b")
            )


class AnswersTest(unittest.TestCase):
    def test_a_full_placement_answer_with_its_fills(self):
        report = adapter().parse_order(FULL_ORDER, 99.0)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size, report.at),
            ("28", "6gCrw2kRUAF9CvJDGP16IP", OrderStatus.FILLED, D(10), 1507725176.595),
        )
        self.assertEqual(
            [
                (f.order_id, f.trade_id, f.price, f.size, f.fee, f.fee_currency, f.liquidity, f.at, dict(f.cause))
                for f in report.fills
            ],
            [
                ("", "56", D(4000), D(1), D(4), "USDT", Liquidity.TAKER, 1507725176.595, {"exchange_order_id": "28"}),
                (
                    "",
                    "57",
                    D(3999),
                    D(5),
                    D("19.995"),
                    "USDT",
                    Liquidity.TAKER,
                    1507725176.595,
                    {"exchange_order_id": "28"},
                ),
            ],
        )

    def test_a_cancel_answer_names_the_order_by_its_original_client_id(self):
        # DELETE /api/v3/order "Response" of the REST API documentation
        body = json.dumps(
            {
                "symbol": "LTCBTC",
                "origClientOrderId": "myOrder1",
                "orderId": 4,
                "orderListId": -1,
                "clientOrderId": "cancelMyOrder1",
                "transactTime": 1684804350068,
                "price": "2.00000000",
                "origQty": "1.00000000",
                "executedQty": "0.00000000",
                "origQuoteOrderQty": "0.000000",
                "cummulativeQuoteQty": "0.00000000",
                "status": "CANCELED",
                "timeInForce": "GTC",
                "type": "LIMIT",
                "side": "BUY",
                "selfTradePreventionMode": "NONE",
            }
        )
        report = adapter().parse_order(body, 0.0)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size, report.fills),
            ("4", "myOrder1", OrderStatus.CANCELLED, D(0), ()),
        )

    def test_amend_and_cancel_replace_answers(self):
        a = adapter(metadata(amendAllowed=True, cancelReplaceAllowed=True))
        o = order(exchange_order_id="33")
        in_place = a.amend_request(o, price=D("0.0000063"), size=D("5"), base=D(0), client_id="x", next_client_id="y")
        # PUT /api/v3/order/amend/keepPriority "Response for a single order"
        amended = json.dumps(
            {
                "transactTime": 1741926410255,
                "executionId": 75,
                "amendedOrder": {
                    "symbol": "BTCUSDT",
                    "orderId": 33,
                    "orderListId": -1,
                    "origClientOrderId": "5xrgbMyg6z36NzBn2pbT8H",
                    "clientOrderId": "PFaq6hIHxqFENGfdtn4J6Q",
                    "price": "6.00000000",
                    "qty": "5.00000000",
                    "executedQty": "0.00000000",
                    "preventedQty": "0.00000000",
                    "quoteOrderQty": "0.00000000",
                    "cumulativeQuoteQty": "0.00000000",
                    "status": "NEW",
                    "timeInForce": "GTC",
                    "type": "LIMIT",
                    "side": "SELL",
                    "workingTime": 1741926410242,
                    "selfTradePreventionMode": "NONE",
                },
            }
        )
        [report] = a.parse_amended(amended, 0.0, in_place)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.at),
            ("33", "5xrgbMyg6z36NzBn2pbT8H", OrderStatus.OPEN, 1741926410.255),
        )
        replaced = a.amend_request(o, price=D("0.0000062"), size=D("5"), base=D(0), client_id="x", next_client_id="y")
        # POST /api/v3/order/cancelReplace "Response SUCCESS"
        answer = json.dumps(
            {
                "cancelResult": "SUCCESS",
                "newOrderResult": "SUCCESS",
                "cancelResponse": {
                    "symbol": "BTCUSDT",
                    "origClientOrderId": "DnLo3vTAQcjha43lAZhZ0y",
                    "orderId": 9,
                    "orderListId": -1,
                    "clientOrderId": "osxN3JXAtJvKvCqGeMWMVR",
                    "transactTime": 1684804350068,
                    "price": "0.01000000",
                    "origQty": "0.000100",
                    "executedQty": "0.00000000",
                    "origQuoteOrderQty": "0.000000",
                    "cummulativeQuoteQty": "0.00000000",
                    "status": "CANCELED",
                    "timeInForce": "GTC",
                    "type": "LIMIT",
                    "side": "SELL",
                    "selfTradePreventionMode": "NONE",
                },
                "newOrderResponse": {
                    "symbol": "BTCUSDT",
                    "orderId": 10,
                    "orderListId": -1,
                    "clientOrderId": "wOceeeOzNORyLiQfw7jd8S",
                    "transactTime": 1652928801803,
                    "price": "0.02000000",
                    "origQty": "0.040000",
                    "executedQty": "0.00000000",
                    "origQuoteOrderQty": "0.000000",
                    "cummulativeQuoteQty": "0.00000000",
                    "status": "NEW",
                    "timeInForce": "GTC",
                    "type": "LIMIT",
                    "side": "BUY",
                    "workingTime": 1669277163808,
                    "fills": [],
                    "selfTradePreventionMode": "NONE",
                },
            }
        )
        cancelled, new = a.parse_amended(answer, 0.0, replaced)
        self.assertEqual(
            [(r.exchange_order_id, r.client_id, r.status) for r in (cancelled, new)],
            [
                ("9", "DnLo3vTAQcjha43lAZhZ0y", OrderStatus.CANCELLED),
                ("10", "wOceeeOzNORyLiQfw7jd8S", OrderStatus.OPEN),
            ],
        )
        # "Response when Cancel Order Succeeds but New Order Placement Fails": the order is gone
        partial = json.dumps(
            {
                "code": -2021,
                "msg": "Order cancel-replace partially failed.",
                "data": {
                    "cancelResult": "SUCCESS",
                    "newOrderResult": "FAILURE",
                    "cancelResponse": json.loads(answer)["cancelResponse"],
                    "newOrderResponse": {"code": -2010, "msg": "Order would immediately match and take."},
                },
            }
        )
        self.assertEqual(
            [(r.exchange_order_id, r.status) for r in a.partial_amend(partial, 0.0)], [("9", OrderStatus.CANCELLED)]
        )
        failed = '{"code": -2022, "msg": "Order cancel-replace failed.", "data": {"cancelResult": "FAILURE"}}'
        self.assertEqual(a.partial_amend(failed, 0.0), [])

    def test_trades_and_balances(self):
        [fill] = adapter().parse_fills(MY_TRADES, 0.0)
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
                "28457",
                D("4.000001"),
                D(12),
                D("10.1"),
                "BNB",
                Liquidity.TAKER,
                1499865549.59,
                {"exchange_order_id": "100234"},
            ),
        )
        self.assertEqual(
            adapter().parse_balances(ACCOUNT, 5.0),
            AccountBalances({"LTC": D("4763368.68006011"), "BTC": D("4723846.89208129")}, 5.0, complete=True),
        )

    def test_open_orders_and_cancel_all_flatten_order_lists(self):
        # DELETE /api/v3/openOrders "Response": two orders, then an OCO list with its two order reports
        row = {
            "symbol": "BTCUSDT",
            "orderListId": -1,
            "transactTime": 1684804350068,
            "price": "0.089853",
            "origQty": "0.178622",
            "executedQty": "0.000000",
            "cummulativeQuoteQty": "0.000000",
            "status": "CANCELED",
            "timeInForce": "GTC",
            "type": "LIMIT",
            "side": "BUY",
        }
        body = json.dumps(
            [
                {
                    **row,
                    "origClientOrderId": "E6APeyTJvkMvLMYMqu1KQ4",
                    "orderId": 11,
                    "clientOrderId": "pXLV6Hz6mprAcVYpVMTGgx",
                },
                {
                    "orderListId": 1929,
                    "contingencyType": "OCO",
                    "listStatusType": "ALL_DONE",
                    "orderReports": [
                        {
                            **row,
                            "origClientOrderId": "CwOOIPHSmYywx6jZX77TdL",
                            "orderId": 20,
                            "clientOrderId": "pXLV6Hz6mprAcVYpVMTGgx",
                        }
                    ],
                },
            ]
        )
        self.assertEqual(
            [(r.exchange_order_id, r.client_id) for r in adapter().parse_orders(body, 0.0)],
            [("11", "E6APeyTJvkMvLMYMqu1KQ4"), ("20", "CwOOIPHSmYywx6jZX77TdL")],
        )

    def test_errors_say_whether_the_order_exists_and_whether_the_outcome_is_known(self):
        a = adapter()

        def error(status, body):
            return a.error(Response(status, {}, body))

        self.assertIsInstance(error(400, '{"code":-2013,"msg":"Order does not exist."}'), NotOnExchange)
        self.assertIsInstance(error(400, '{"code":-2011,"msg":"Unknown order sent."}'), NotOnExchange)
        restricted = error(400, '{"code":-2011,"msg":"Order was not canceled due to cancel restrictions."}')
        self.assertNotIsInstance(restricted, NotOnExchange)
        unknown = error(
            400,
            '{"code":-1007,"msg":"Timeout waiting for response from backend server. Send status '
            'unknown; execution status unknown."}',
        )
        self.assertIsInstance(unknown, ExchangeUnavailable)
        self.assertIsInstance(error(503, "Service Unavailable"), ExchangeUnavailable)
        refused = error(400, '{"code":-2010,"msg":"Account has insufficient balance for requested action."}')
        self.assertEqual(
            (type(refused), refused.status, refused.message),
            (ExchangeRejected, 400, "Account has insufficient balance for requested action. (code -2010)"),
        )

    def test_rate_limit_answers_and_the_counts_the_headers_give(self):
        a = adapter()
        weight = Response(
            429,
            {"retry-after": "7"},
            '{"code":-1003,"msg":"Too much request weight used; current limit is 6000 request weight per 1 MINUTE."}',
        )
        self.assertEqual(a.pause_for(weight, 0.0), 7.0)
        ban = Response(
            418,
            {},
            '{"code":-1003,"msg":"Way too much request weight used; IP banned until '
            '1659146699000. Please use WebSocket Streams for live updates to avoid bans."}',
        )
        self.assertEqual(a.pause_for(ban, 1659146579.0), 120.0)
        self.assertEqual(a.pause_for(Response(418, {"retry-after": "300"}, ban.body), 1659146579.0), 300.0)
        self.assertIsNone(a.pause_for(Response(400, {"retry-after": "7"}, "{}"), 0.0))
        headers = {
            "x-mbx-used-weight-1m": "52",
            "x-mbx-order-count-10s": "3",
            "x-mbx-order-count-1d": "19",
            "content-type": "application/json",
        }
        self.assertEqual(
            a.used(Response(200, headers, "{}")), {"REQUEST_WEIGHT 1m": 52.0, "ORDERS 10s": 3.0, "ORDERS 1d": 19.0}
        )

    def test_the_published_limits_replace_the_documented_ones(self):
        self.assertEqual(
            adapter().published_quotas(BODY),
            (
                Quota("REQUEST_WEIGHT 1m", "weight", 1200, 60),
                Quota("ORDERS 10s", "orders", 50, 10),
                Quota("ORDERS 1d", "orders", 160000, 86400),
                Quota("RAW_REQUESTS 5m", "requests", 6100, 300),
            ),
        )
        self.assertEqual(adapter().published_quotas('{"symbols": []}'), BinancePrivate.quotas)


class StreamTest(unittest.TestCase):
    def parse(self, event):
        return adapter().parse_stream(json.dumps({"subscriptionId": 0, "event": event}), 0.0)

    def test_execution_reports(self):
        # "Order Update" payload of the user data stream documentation (ETHBTC is listed in the capture)
        event = {
            "e": "executionReport",
            "E": 1499405658658,
            "s": "ETHBTC",
            "c": "mUvoqJxFIILMdfAW5iGSOW",
            "S": "BUY",
            "o": "LIMIT",
            "f": "GTC",
            "q": "1.00000000",
            "p": "0.10264410",
            "P": "0.00000000",
            "F": "0.00000000",
            "g": -1,
            "C": "",
            "x": "NEW",
            "X": "NEW",
            "r": "NONE",
            "i": 4293153,
            "l": "0.00000000",
            "z": "0.00000000",
            "L": "0.00000000",
            "n": "0",
            "N": None,
            "T": 1499405658657,
            "t": -1,
            "I": 8641984,
            "w": True,
            "m": False,
            "M": False,
            "O": 1499405658657,
            "Z": "0.00000000",
            "Y": "0.00000000",
            "Q": "0.00000000",
            "W": 1499405658657,
            "V": "NONE",
        }
        [new] = self.parse(event)
        self.assertEqual(
            (new.exchange_order_id, new.client_id, new.status, new.filled_size, new.fills, new.at),
            ("4293153", "mUvoqJxFIILMdfAW5iGSOW", OrderStatus.OPEN, D(0), (), 1499405658.658),
        )
        trade = {
            **event,
            "x": "TRADE",
            "X": "PARTIALLY_FILLED",
            "l": "0.40000000",
            "z": "0.40000000",
            "L": "0.10264400",
            "n": "0.00040000",
            "N": "ETH",
            "t": 777,
            "m": True,
            "T": 1499405659000,
        }
        [report] = self.parse(trade)
        [fill] = report.fills
        self.assertEqual((report.status, report.filled_size), (OrderStatus.PARTIALLY_FILLED, D("0.4")))
        self.assertEqual(
            (fill.trade_id, fill.price, fill.size, fill.fee, fill.fee_currency, fill.liquidity, fill.at),
            ("777", D("0.102644"), D("0.4"), D("0.0004"), "ETH", Liquidity.MAKER, 1499405659.0),
        )
        # a cancel: "c" is the cancel request's id, "C" the order's own
        [cancelled] = self.parse(
            {**event, "x": "CANCELED", "X": "CANCELED", "c": "cancel9", "C": "mUvoqJxFIILMdfAW5iGSOW"}
        )
        self.assertEqual((cancelled.client_id, cancelled.status), ("mUvoqJxFIILMdfAW5iGSOW", OrderStatus.CANCELLED))
        [expired] = self.parse({**event, "x": "EXPIRED", "X": "EXPIRED_IN_MATCH", "r": "NONE"})
        self.assertEqual((expired.status, expired.reason), (OrderStatus.EXPIRED, ""))

    def test_balances_acknowledgements_and_errors(self):
        # "Event format" example of the WebSocket API documentation
        [balances] = self.parse(
            {
                "e": "outboundAccountPosition",
                "E": 1728972148778,
                "u": 1728972148778,
                "B": [
                    {"a": "BTC", "f": "11818.00000000", "l": "182.00000000"},
                    {"a": "USDT", "f": "10580.00000000", "l": "70.00000000"},
                ],
            }
        )
        self.assertEqual(balances, AccountBalances({"BTC": D(12000), "USDT": D(10650)}, 1728972148.778, complete=False))
        self.assertEqual(
            self.parse({"e": "balanceUpdate", "E": 1573200697110, "a": "BTC", "d": "100.00000000", "T": 1573200697068}),
            [],
        )
        [ended] = self.parse({"e": "eventStreamTerminated", "E": 1728973001334})
        self.assertTrue(ended.fatal)
        a = adapter()
        [ack] = a.parse_stream('{"id": "d3df8a21", "status": 200, "result": {"subscriptionId": 0}}', 0.0)
        self.assertEqual(ack, StreamNotice("subscribed (subscription 0)"))
        [refused] = a.parse_stream(
            '{"id": "d3df8a21", "status": 400, "error": {"code": -1022, "msg": '
            '"Signature for this request is not valid."}}',
            0.0,
        )
        self.assertEqual(refused, StreamNotice("Signature for this request is not valid. (code -1022)", fatal=True))


if __name__ == "__main__":
    unittest.main()
