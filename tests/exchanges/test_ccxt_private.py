"""The account through ccxt, pure: ccxt's binance class bound to the adapter builds and signs Binance's
requests (the signature recomputed here with hmac, never copied from the code) at the time given, and
reads Binance's documented answers into exact reports, fills and balances; its errors become xWrap's
(an unknown order, a rate limit, an outage); a ccxt method needing a second request is refused. No
I/O: ccxt's fetch is replaced by the adapter."""

import hashlib
import hmac
import unittest
from decimal import Decimal as D
from urllib.parse import parse_qsl

from exchange_wrapper.config import CcxtExchangeSettings
from exchange_wrapper.connectors.ccxt_account import ccxt_private_class
from exchange_wrapper.core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter
from exchange_wrapper.core.orders import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.base import Credentials
from exchange_wrapper.exchanges.ccxt.private import ERROR_HEADER
from exchange_wrapper.exchanges.http import Response
from exchange_wrapper.exchanges.private import AccountBalances, NotOnExchange, Quota, client_key
from tests.exchanges.private_case import order_of
from tests.exchanges.test_binance import BODY
from tests.exchanges.test_binance_private import ACCOUNT, FULL_ORDER, MY_TRADES
from tests.exchanges.test_binance_private import adapter as native

# Binance's documented example key and secret (REST API "SIGNED request examples").
KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
BASE = "http://127.0.0.1:9"
NOW = 1499827319.559  # the documentation's timestamp


def adapter(rest_url=BASE):
    settings = CcxtExchangeSettings(
        enabled=True, mode="live", exchange_id="binance", rest_url=rest_url, api_key=KEY, api_secret=SECRET
    )
    cls = ccxt_private_class(settings)
    request = cls.markets_request()
    where = "/api/v3/exchangeInfo" if rest_url else "https://api.binance.com/api/v3/exchangeInfo"
    assert (request.method, request.path, request.costs) == ("GET", where, {"requests": 1}), request
    return cls(SymbolTable("ccxt", cls.read_markets(BODY)), Credentials(KEY, SECRET))


class SigningTest(unittest.TestCase):
    def test_a_placement_is_built_and_signed_by_ccxt_at_the_time_given(self):
        a = adapter()
        order = order_of("ccxt", "LRC_BTC", "1000", "0.0000063", time_in_force=TimeInForce.IOC)
        client_id = a.client_id(client_key(1, "a1"), 0)
        self.assertRegex(client_id, r"^xw[0-9a-f]{24}r0$")
        request = a.place_request(order, client_id)
        self.assertEqual((request.path, request.costs), ("create_order", {"requests": 1, "orders": 1}))
        signed = a.sign(request, NOW)
        self.assertEqual((signed.method, signed.path, signed.headers), ("POST", "/api/v3/order", {"X-MBX-APIKEY": KEY}))
        self.assertEqual(signed.content_type, "application/x-www-form-urlencoded")
        query, _, signature = signed.body.rpartition("&signature=")
        self.assertEqual(signature, hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest())
        params = dict(parse_qsl(query))
        self.assertEqual(
            {k: params[k] for k in ("symbol", "side", "type", "quantity", "price", "timeInForce", "newClientOrderId")},
            {
                "symbol": "LRCBTC",
                "side": "BUY",
                "type": "LIMIT",
                "quantity": "1000",
                "price": "0.0000063",
                "timeInForce": "IOC",
                "newClientOrderId": client_id,
            },
        )
        self.assertEqual((params["timestamp"], params["recvWindow"]), ("1499827319559", "10000"))
        self.assertEqual(a.recv_window, 10.0)
        again = a.sign(request, NOW + 1)  # signed again as it leaves: the time it leaves
        self.assertIn("timestamp=1499827320559", again.body)

    def test_the_budget_is_ccxts_rate_and_urls_are_whole_without_a_rest_url(self):
        self.assertEqual(adapter().quotas, (Quota("rateLimit", "requests", 20.0, 1.0),))  # binance: 50 ms
        a = adapter(rest_url="")  # the exchange itself: the account's base URL is empty, ccxt's URLs whole
        self.assertEqual(
            a.sign(a.balances_request(), NOW).path.partition("?")[0], "https://api.binance.com/api/v3/account"
        )

    def test_a_query_and_a_cancel_ask_by_the_client_id(self):
        a = adapter()
        order = order_of("ccxt", "LRC_BTC", "1000", "0.0000063", exchange_order_id="42")
        query = a.sign(a.query_request(order, "xwabc"), NOW)
        self.assertEqual((query.method, query.path.partition("?")[0]), ("GET", "/api/v3/order"))
        self.assertEqual(dict(parse_qsl(query.path.partition("?")[2]))["origClientOrderId"], "xwabc")
        cancel = a.sign(a.cancel_request(order, "xwabc"), NOW)
        self.assertEqual(
            (cancel.method, dict(parse_qsl(cancel.path.partition("?")[2]))["origClientOrderId"]), ("DELETE", "xwabc")
        )
        everything = a.sign(a.cancel_all_request(Pair("LRC", "BTC")), NOW)
        self.assertEqual((everything.method, everything.path.partition("?")[0]), ("DELETE", "/api/v3/openOrders"))
        self.assertEqual(a.sign(a.balances_request(), NOW).path.partition("?")[0], "/api/v3/account")

    def test_what_ccxt_cannot_place_is_refused(self):
        a = adapter()
        with self.assertRaises(InvalidParameter) as raised:
            a.check(order_of("ccxt", "LRC_BTC", "1000", "0.0000063", time_in_force=TimeInForce.GTD, expire_time=9.0))
        self.assertEqual(raised.exception.field, "time_in_force")


class AnswersTest(unittest.TestCase):
    def test_a_full_placement_answer_with_its_fills(self):
        a = adapter()
        request = a.place_request(order_of("ccxt", "BTC_USDT", "10", None, type=OrderType.MARKET, side=Side.SELL), "x")
        report = a.parse_order(a.answered(request, Response(200, {}, FULL_ORDER)).body, 99.0)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size),
            ("28", "6gCrw2kRUAF9CvJDGP16IP", OrderStatus.FILLED, D(10)),
        )
        self.assertEqual(
            [(f.trade_id, f.price, f.size, f.fee, f.fee_currency, f.liquidity) for f in report.fills],
            [
                ("56", D(4000), D(1), D(4), "USDT", Liquidity.TAKER),
                ("57", D(3999), D(5), D("19.995"), "USDT", Liquidity.TAKER),
            ],
        )

    def test_trades_and_balances(self):
        a = adapter()
        request = a.fills_request(order_of("ccxt", "BNB_BTC", "12", "4.000001"), "100234")
        self.assertEqual(request.path, "fetch_order_trades")
        fills = a.parse_fills(a.answered(request, Response(200, {}, MY_TRADES)).body, 0.0)
        self.assertEqual(fills, native().parse_fills(MY_TRADES, 0.0))  # read as the native adapter reads them
        self.assertEqual(
            (fills[0].price, fills[0].fee, fills[0].liquidity), (D("4.000001"), D("10.1"), Liquidity.TAKER)
        )
        balances = a.parse_balances(a.answered(a.balances_request(), Response(200, {}, ACCOUNT)).body, 5.0)
        self.assertEqual(
            balances,
            AccountBalances(
                {"LTC": D("4763368.68006011"), "BTC": D("4723846.89208129"), "ETH": D(0)}, 5.0, complete=True
            ),
        )


class ErrorsTest(unittest.TestCase):
    def test_an_unknown_order_a_refusal_and_an_outage(self):
        a = adapter()
        query = a.query_request(order_of("ccxt", "LRC_BTC", "1000", "0.0000063"), "xwabc")
        unknown = a.answered(query, Response(400, {}, '{"code": -2013, "msg": "Order does not exist."}'))
        self.assertEqual(unknown.headers[ERROR_HEADER], "OrderNotFound")
        self.assertIsInstance(a.error(unknown), NotOnExchange)
        place = a.place_request(order_of("ccxt", "LRC_BTC", "1000", "0.0000063"), "xwabc")
        poor = a.answered(
            place, Response(400, {}, '{"code": -2010, "msg": "Account has insufficient balance for requested action."}')
        )
        refused = a.error(poor)
        self.assertEqual((type(refused), poor.headers[ERROR_HEADER]), (ExchangeRejected, "InsufficientFunds"))
        self.assertIn("insufficient balance", refused.message)
        for answer in (unknown, poor):
            self.assertNotIn("signature", answer.body)  # ccxt's errors name the path, never the signed query
        down = a.answered(
            place, Response(503, {}, '{"code": -1001, "msg": "Internal error; unable to process your request."}')
        )
        self.assertIsInstance(a.error(down), ExchangeUnavailable)
        self.assertNotIn("signature", down.body)
        self.assertIsNone(a.pause_for(down, NOW))

    def test_a_rate_limit_pauses_for_its_retry_after(self):
        a = adapter()
        limited = a.answered(
            a.balances_request(),
            Response(429, {"retry-after": "30"}, '{"code": -1003, "msg": "Too much request weight used."}'),
        )
        self.assertEqual(a.pause_for(limited, NOW), 30.0)
        self.assertEqual(a.pause_for(Response(418, {}, ""), NOW), 10.0)  # none given: the default

    def test_a_method_that_needs_a_second_request_is_refused(self):
        a = adapter()
        a.ccxt.options["fetchMargins"] = True  # Binance's markets then ask for the margin pairs too (signed)
        with self.assertRaises(ExchangeUnavailable) as raised:
            a.read_markets(BODY)
        self.assertIn("ccxt's fetch_markets on binance makes more than one request", str(raised.exception))


class RefusalsTest(unittest.TestCase):
    def test_what_ccxt_itself_refuses_is_refused_before_anything_is_stored(self):
        a = adapter()
        with self.assertRaises(InvalidParameter) as raised:  # LRCBTC's step is 1 LRC: ccxt truncates 0.5 to 0
            a.check(order_of("ccxt", "LRC_BTC", "0.5", "0.0000063"))
        self.assertEqual(raised.exception.field, "create_order")
        self.assertIn("what ccxt binance takes", str(raised.exception))

    def test_an_answer_ccxt_cannot_read_leaves_the_outcome_unknown(self):
        a = adapter()
        place = a.place_request(order_of("ccxt", "LRC_BTC", "1000", "0.0000063"), "xwabc")
        for body in ("<html>busy</html>", '{"symbol": "LRCBTC", "orderId": 1, "executedQty": "x"}'):
            unreadable = a.answered(place, Response(200, {}, body))
            self.assertEqual((unreadable.status, unreadable.headers[ERROR_HEADER]), (502, "NotReadable"), body)
            self.assertIsInstance(a.error(unreadable), ExchangeUnavailable)
