"""The private side of the Bybit adapter, pure: signing (the documented algorithm step by step, on
the documentation's own example request; Bybit publishes no signature to compare with), client
order ids, xWrap's orders translated to Bybit's requests (and what Bybit spot refuses, refused
here), and Bybit's answers and private websocket messages read, from the examples of its v5
documentation. Signatures expected here are computed in the test with hmac and hashlib, never
copied from the code."""

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
from exchange_wrapper.exchanges.bybit import private as bybit
from exchange_wrapper.exchanges.bybit.private import BybitPrivate
from exchange_wrapper.exchanges.http import Request, Response
from exchange_wrapper.exchanges.private import AccountBalances, NotOnExchange, StreamNotice, client_key
from tests.exchanges.private_case import order_of
from tests.exchanges.test_bybit import BODY
from tests.simulator.bybit_private import BybitExchange

# Bybit publishes no example key pair: made-up ones in the shape of its keys.
KEY = "XQ7kP2mR9vL4tN8wBz"
SECRET = "Gh3Jk9Lm2Np5Qr8St1Vw4Xy7Za0Bc6De3Fg9H"
TABLE = SymbolTable("bybit", bybit.parse_markets(BODY))


def adapter():
    return BybitPrivate(TABLE, Credentials(KEY, SECRET), BODY)


def order(type=OrderType.LIMIT, side=Side.BUY, size="0.5", price="97000", pair="BTC_USDT", **extra):
    return order_of("bybit", pair, size, price, type=type, side=side, **extra)


def hex_hmac(text):
    return hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()


def answer(result, code=0, message="OK"):
    return json.dumps({"retCode": code, "retMsg": message, "result": result, "retExtInfo": {}, "time": 1672211918471})


class SigningTest(unittest.TestCase):
    # The v5 guide's "Create A Request": GET /v5/order/realtime?category=option&symbol=BTC-29JUL22-25000-C
    # with X-BAPI-TIMESTAMP 1658384431891 and X-BAPI-RECV-WINDOW 5000 (its signature shown as XXXXXXXXXX)
    QUERY = "category=option&symbol=BTC-29JUL22-25000-C"

    def test_the_documented_string_to_sign_is_timestamp_key_window_and_the_query(self):
        text = f"1658384431891{KEY}5000{self.QUERY}"
        self.assertEqual(bybit.signature(SECRET, 1658384431891, KEY, 5000, self.QUERY), hex_hmac(text))
        self.assertEqual(len(bybit.signature(SECRET, 1, KEY, 5000, "")), 64)  # hex of the SHA-256

    def test_a_query_is_signed_as_sent(self):
        request = Request("/v5/order/realtime", {"category": "option", "symbol": "BTC-29JUL22-25000-C"})
        signed = adapter().sign(request, 1658384431.891)
        self.assertEqual((signed.path, signed.params), (f"/v5/order/realtime?{self.QUERY}", {}))
        self.assertEqual(
            dict(signed.headers),
            {
                "X-BAPI-API-KEY": KEY,
                "X-BAPI-TIMESTAMP": "1658384431891",
                "X-BAPI-RECV-WINDOW": "5000",
                "X-BAPI-SIGN": hex_hmac(f"1658384431891{KEY}5000{self.QUERY}"),
            },
        )

    def test_a_post_signs_its_json_body_as_sent(self):
        request = adapter().place_request(order(), "xwabc")
        signed = adapter().sign(request, 1672211918.471)
        self.assertEqual(
            (signed.path, signed.body, signed.content_type), ("/v5/order/create", request.body, "application/json")
        )
        self.assertEqual(signed.headers["X-BAPI-SIGN"], hex_hmac(f"1672211918471{KEY}5000{request.body}"))

    def test_the_private_stream_logs_in_with_an_expiry_and_subscribes_the_spot_topics(self):
        auth, subscribe = (json.loads(m) for m in adapter().stream_subscribe(1662350400.0))
        expires = 1662350400000 + 10_000
        self.assertEqual(auth, {"op": "auth", "args": [KEY, expires, hex_hmac(f"GET/realtime{expires}")]})
        self.assertEqual(subscribe, {"op": "subscribe", "args": ["order.spot", "execution.spot", "wallet"]})
        self.assertEqual(adapter().stream_address("ws://127.0.0.1:9/v5/public/spot"), "ws://127.0.0.1:9/v5/private")
        self.assertEqual(adapter().stream_address(""), "wss://stream.bybit.com/v5/private")

    def test_the_exchange_clock(self):
        # the documentation's "Get Bybit Server Time" example
        body = answer({"timeSecond": "1688639403", "timeNano": "1688639403423213947"})
        self.assertEqual(adapter().parse_time(body), 1688639403.423214)
        self.assertEqual(adapter().time_request().path, "/v5/market/time")


class ClientOrderIdTest(unittest.TestCase):
    def test_deterministic_within_orderlinkid_rules_and_distinct_per_wallet_set(self):
        key = client_key(1, "a1")
        first, again, other = (
            adapter().client_id(key, 0),
            adapter().client_id(key, 0),
            adapter().client_id(client_key(2, "a1"), 0),
        )
        self.assertEqual(first, again)
        self.assertNotEqual(first, other)
        self.assertRegex(first, r"^xw[0-9a-f]{30}$")
        self.assertEqual(adapter().client_id(key, 12), first + "-12")
        self.assertLessEqual(len(adapter().client_id(key, 999)), 36)


class OrderTranslationTest(unittest.TestCase):
    def body(self, **kwargs):
        return json.loads(adapter().place_request(order(**kwargs), "xwid").body)

    def test_order_types_and_times_in_force(self):
        base = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderLinkId": "xwid"}
        self.assertEqual(
            self.body(), {**base, "orderType": "Limit", "qty": "0.5", "price": "97000", "timeInForce": "GTC"}
        )
        self.assertEqual(self.body(time_in_force=TimeInForce.IOC)["timeInForce"], "IOC")
        self.assertEqual(self.body(time_in_force=TimeInForce.FOK)["timeInForce"], "FOK")
        self.assertEqual(self.body(post_only=True)["timeInForce"], "PostOnly")
        self.assertEqual(
            self.body(type=OrderType.MARKET, price=None, side=Side.SELL),
            {**base, "side": "Sell", "orderType": "Market", "marketUnit": "baseCoin", "qty": "0.5"},
        )
        self.assertEqual(
            self.body(type=OrderType.MARKET, price=None, size=None, funds=D("250.5")),
            {**base, "orderType": "Market", "marketUnit": "quoteCoin", "qty": "250.5"},
        )
        request = adapter().place_request(order(), "xwid")
        self.assertEqual(
            (request.method, request.path, dict(request.costs)), ("POST", "/v5/order/create", {"place": 1})
        )

    def test_what_bybit_spot_cannot_do_is_refused_naming_the_field(self):
        cases = [
            (
                order(type=OrderType.STOP_LIMIT, stop_price=D(96000)),
                "type: expected market or limit: xWrap does not place bybit's conditional orders, got 'stop_limit'",
            ),
            (
                order(time_in_force=TimeInForce.GTD, expire_time=1.0),
                "time_in_force: expected GTC, IOC or FOK: bybit has no GTD, got 'GTD'",
            ),
            (
                order(post_only=True, time_in_force=TimeInForce.IOC),
                "time_in_force: expected GTC for a post-only order on bybit (PostOnly is its time in force), got 'IOC'",
            ),
            (
                order(type=OrderType.MARKET, price=None, time_in_force=TimeInForce.FOK),
                "time_in_force: expected GTC or IOC for a market order on bybit (it is IOC), got 'FOK'",
            ),
        ]
        for refused, message in cases:
            with self.subTest(message=message), self.assertRaises(InvalidParameter) as raised:
                adapter().check(refused)
            self.assertEqual(str(raised.exception), message)
        for taken in (order(), order(post_only=True), order(type=OrderType.MARKET, price=None, size=None, funds=D(5))):
            adapter().check(taken)

    def test_queries_cancels_and_the_quota_each_spends(self):
        placed = order(exchange_order_id="1321003749386327552")
        cases = [
            (
                adapter().query_request(placed, "xwid"),
                "GET",
                "/v5/order/realtime",
                {"category": "spot", "orderLinkId": "xwid"},
                "query",
            ),
            (
                adapter().query_fallback(placed, "xwid"),
                "GET",
                "/v5/order/history",
                {"category": "spot", "orderLinkId": "xwid"},
                "history",
            ),
            (
                adapter().fills_request(placed, "1321003749386327552"),
                "GET",
                "/v5/execution/list",
                {"category": "spot", "orderId": "1321003749386327552"},
                "fills",
            ),
            (
                adapter().open_orders_request(),
                "GET",
                "/v5/order/realtime",
                {"category": "spot", "openOnly": 0, "limit": 50},
                "query",
            ),
            (adapter().balances_request(), "GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"}, "balances"),
        ]
        for request, method, path, params, kind in cases:
            with self.subTest(path=path):
                self.assertEqual(
                    (request.method, request.path, request.params, dict(request.costs)),
                    (method, path, params, {kind: 1}),
                )
        cancel = adapter().cancel_request(placed, "xwid")
        self.assertEqual(
            json.loads(cancel.body), {"category": "spot", "symbol": "BTCUSDT", "orderId": "1321003749386327552"}
        )
        self.assertEqual(json.loads(adapter().cancel_request(order(), "xwid").body)["orderLinkId"], "xwid")
        cancel_all = adapter().cancel_all_request(TABLE.to_pair("BTCUSDT"))
        self.assertEqual(
            (cancel_all.path, json.loads(cancel_all.body)),
            ("/v5/order/cancel-all", {"category": "spot", "symbol": "BTCUSDT"}),
        )

    def test_an_amend_is_in_place_and_keeps_priority_only_without_a_new_price_or_more_size(self):
        resting = order(exchange_order_id="1321003749386327552", size="1")
        smaller = adapter().amend_request(
            resting, price=D(97000), size=D("0.8"), base=D(0), client_id="xwid", next_client_id="xwid-1"
        )
        self.assertEqual((smaller.method, smaller.client_id), ("amend", "xwid"))
        self.assertEqual(
            json.loads(smaller.request.body),
            {"category": "spot", "symbol": "BTCUSDT", "orderId": "1321003749386327552", "qty": "0.8"},
        )
        moved = adapter().amend_request(
            resting, price=D(96500), size=D(1), base=D(0), client_id="xwid", next_client_id="x"
        )
        self.assertEqual((moved.method, json.loads(moved.request.body)["price"]), ("amend_requeued", "96500"))
        self.assertNotIn("qty", json.loads(moved.request.body))


# The v5 documentation's "Get Open & Closed Orders" example (its linear order), and "Get Trade History".
ORDER = {
    "orderId": "fd4300ae-7847-404e-b947-b46980a4d140",
    "orderLinkId": "test-000005",
    "blockTradeId": "",
    "symbol": "ETHUSDT",
    "price": "1600.00",
    "qty": "0.10",
    "side": "Buy",
    "isLeverage": "",
    "positionIdx": 1,
    "orderStatus": "New",
    "cancelType": "UNKNOWN",
    "rejectReason": "EC_NoError",
    "avgPrice": "0",
    "leavesQty": "0.10",
    "leavesValue": "160",
    "cumExecQty": "0.00",
    "cumExecValue": "0",
    "cumExecFee": "0",
    "timeInForce": "GTC",
    "orderType": "Limit",
    "stopOrderType": "UNKNOWN",
    "orderIv": "",
    "triggerPrice": "0.00",
    "takeProfit": "2500.00",
    "stopLoss": "1500.00",
    "tpTriggerBy": "LastPrice",
    "slTriggerBy": "LastPrice",
    "triggerDirection": 0,
    "triggerBy": "UNKNOWN",
    "lastPriceOnCreated": "",
    "reduceOnly": False,
    "closeOnTrigger": False,
    "smpType": "None",
    "smpGroup": 0,
    "smpOrderId": "",
    "tpslMode": "Full",
    "tpLimitPrice": "",
    "slLimitPrice": "",
    "placeType": "",
    "createdTime": "1684738540559",
    "updatedTime": "1684738540561",
}
EXECUTION = {
    "symbol": "ETHUSDT",
    "orderType": "Market",
    "underlyingPrice": "",
    "orderLinkId": "",
    "side": "Buy",
    "indexPrice": "",
    "orderId": "8c065341-7b52-4ca9-ac2c-37e31ac55c94",
    "stopOrderType": "UNKNOWN",
    "leavesQty": "0",
    "execTime": "1672282722429",
    "feeCurrency": "",
    "isMaker": False,
    "execFee": "0.071409",
    "feeRate": "0.0006",
    "execId": "e0cbe81d-0f18-5866-9415-cf319b5dab3b",
    "tradeIv": "",
    "blockTradeId": "",
    "markPrice": "1183.54",
    "execPrice": "1190.15",
    "markIv": "",
    "orderQty": "0.1",
    "orderPrice": "1236.9",
    "execValue": "119.015",
    "execType": "Trade",
    "execQty": "0.1",
    "closedSize": "",
    "seq": 4688002127,
}


class AnswersTest(unittest.TestCase):
    def test_a_placement_answer_names_the_ids_only(self):
        # the documentation's "Place Order" answer
        body = answer({"orderId": "1321003749386327552", "orderLinkId": "spot-test-postonly"})
        report = adapter().parse_order(body, 5.0)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size, report.at),
            ("1321003749386327552", "spot-test-postonly", OrderStatus.OPEN, 0, 5.0),
        )

    def test_an_order_as_a_query_and_the_open_orders_answer_it(self):
        body = answer({"list": [ORDER], "nextPageCursor": "page_args%3Dfd43", "category": "linear"})
        report = adapter().parse_order(body, 5.0)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size, report.at, report.reason),
            ("fd4300ae-7847-404e-b947-b46980a4d140", "test-000005", OrderStatus.OPEN, 0, 1684738540.561, ""),
        )
        self.assertEqual(adapter().parse_orders(body, 5.0), [report])
        statuses = {
            "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
            "Filled": OrderStatus.FILLED,
            "Cancelled": OrderStatus.CANCELLED,
            "PartiallyFilledCanceled": OrderStatus.CANCELLED,
            "Rejected": OrderStatus.REJECTED,
        }
        for status, expected in statuses.items():
            changed = answer({"list": [{**ORDER, "orderStatus": status, "cumExecQty": "0.04"}]})
            with self.subTest(status=status):
                self.assertEqual(
                    (adapter().parse_order(changed, 5.0).status, adapter().parse_order(changed, 5.0).filled_size),
                    (expected, D("0.04")),
                )
        post_only = answer(
            {"list": [{**ORDER, "orderStatus": "Cancelled", "rejectReason": "EC_PostOnlyWillTakeLiquidity"}]}
        )
        self.assertEqual(adapter().parse_order(post_only, 5.0).reason, "EC_PostOnlyWillTakeLiquidity")
        with self.assertRaises(InvalidParameter) as raised:
            adapter().parse_order(answer({"list": [{**ORDER, "orderStatus": "Gone"}]}), 5.0)
        self.assertIn("orderStatus of order on bybit: expected one of New, PartiallyFilled", str(raised.exception))

    def test_a_cancel_all_answer_lists_ids_without_states(self):
        # the documentation's "Cancel All Orders" answer: the orders it cancels come on the stream
        body = answer(
            {"list": [{"orderId": "1616024329462743808", "orderLinkId": "1616024329462743809"}], "success": "1"}
        )
        self.assertEqual(adapter().parse_orders(body, 5.0), [])

    def test_an_amend_answer_names_the_order(self):
        amendment = adapter().amend_request(
            order(exchange_order_id="c6f055d9-7f21-4079-913d-e6523a9cfffa", size="1"),
            price=D(96000),
            size=D(1),
            base=D(0),
            client_id="xwid",
            next_client_id="x",
        )
        body = answer({"orderId": "c6f055d9-7f21-4079-913d-e6523a9cfffa", "orderLinkId": "linear-004"})
        [report] = adapter().parse_amended(body, 5.0, amendment)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status),
            ("c6f055d9-7f21-4079-913d-e6523a9cfffa", "xwid", OrderStatus.OPEN),
        )

    def test_trades_oldest_first_and_balances(self):
        later = {
            **EXECUTION,
            "execId": "later",
            "execTime": "1672282722999",
            "isMaker": True,
            "feeCurrency": "USDT",
            "side": "Sell",
        }
        body = answer(
            {
                "nextPageCursor": "132766%3A2",
                "category": "spot",
                "list": [later, EXECUTION, {**EXECUTION, "execType": "Funding"}],
            }
        )
        first, second = adapter().parse_fills(body, 5.0)
        self.assertEqual(
            (
                first.trade_id,
                first.price,
                first.size,
                first.fee,
                first.fee_currency,
                first.liquidity,
                first.at,
                first.cause,
            ),
            (
                "e0cbe81d-0f18-5866-9415-cf319b5dab3b",
                D("1190.15"),
                D("0.1"),
                D("0.071409"),
                "ETH",
                Liquidity.TAKER,
                1672282722.429,
                {"exchange_order_id": "8c065341-7b52-4ca9-ac2c-37e31ac55c94"},
            ),
        )
        self.assertEqual((second.trade_id, second.fee_currency, second.liquidity), ("later", "USDT", Liquidity.MAKER))
        wallet = answer(
            {
                "list": [
                    {
                        "accountType": "UNIFIED",
                        "totalEquity": "3.31216591",
                        "coin": [
                            {
                                "coin": "BTC",
                                "equity": "0.00007",
                                "walletBalance": "0.00007",
                                "locked": "0",
                                "usdValue": "2.2",
                            },
                            {
                                "coin": "USDT",
                                "equity": "1.1",
                                "walletBalance": "1.1",
                                "locked": "0.5",
                                "usdValue": "1.1",
                            },
                            {"coin": "ETH", "equity": "0", "walletBalance": "0", "locked": "0", "usdValue": "0"},
                        ],
                    }
                ]
            }
        )
        self.assertEqual(
            adapter().parse_balances(wallet, 5.0),
            AccountBalances({"BTC": D("0.00007"), "USDT": D("1.1")}, 5.0, complete=True),
        )

    def test_answers_are_read_by_their_retcode(self):
        query = adapter().query_request(order(), "xwid")
        cases = [
            (answer({}, 10006, "Too many visits!"), 429),
            (answer({}, 10016, "Internal system error."), 503),
            (answer({}, 170213, "Order does not exist."), 404),
            (answer({}, 110001, "Order does not exist"), 404),
            (answer({}, 170131, "Insufficient balance."), 400),
            (answer({"list": [], "nextPageCursor": "", "category": "spot"}), 404),  # no order with this orderLinkId
            (answer({"list": [ORDER], "category": "spot"}), 200),
        ]
        for body, status in cases:
            with self.subTest(body=body):
                self.assertEqual(adapter().answered(query, Response(200, {}, body)).status, status)
        self.assertEqual(
            adapter().answered(adapter().open_orders_request(), Response(200, {}, cases[5][0])).status, 200
        )

    def test_errors_say_whether_the_order_exists_and_whether_the_outcome_is_known(self):
        def error(status, body):
            return adapter().error(Response(status, {}, body))

        self.assertIsInstance(error(404, answer({}, 170213, "Order does not exist.")), NotOnExchange)
        self.assertEqual(
            str(error(404, answer({}, 170213, "Order does not exist."))),
            "bybit refused the request (HTTP 200): Order does not exist. (retCode 170213)",
        )
        self.assertIsInstance(error(503, answer({}, 10016, "Internal system error.")), ExchangeUnavailable)
        self.assertIsInstance(error(502, "<html>bad gateway</html>"), ExchangeUnavailable)
        refused = error(400, answer({}, 170131, "Insufficient balance."))
        self.assertEqual(
            (type(refused), str(refused)),
            (ExchangeRejected, "bybit refused the request (HTTP 200): Insufficient balance. (retCode 170131)"),
        )

    def test_a_rate_limit_pauses_until_its_reset_time_and_a_403_ten_minutes(self):
        limited = Response(
            429, {"x-bapi-limit-reset-timestamp": "1672738164824"}, answer({}, 10006, "Too many visits!")
        )
        self.assertAlmostEqual(adapter().pause_for(limited, 1672738134.824), 30.0)
        self.assertEqual(adapter().pause_for(Response(429, {"retry-after": "7"}, ""), 0.0), 7.0)
        self.assertEqual(adapter().pause_for(Response(403, {}, "access too frequent"), 0.0), 600.0)
        self.assertIsNone(adapter().pause_for(Response(200, {}, answer({})), 0.0))


class StreamTest(unittest.TestCase):
    def parse(self, message):
        return adapter().parse_stream(json.dumps(message), 9.0)

    def test_order_messages(self):
        message = {
            "id": "5923240c6880ab-c59f-420b-9adb-3639adc9dd90",
            "topic": "order.spot",
            "creationTime": 1672364262474,
            "data": [
                {**ORDER, "category": "spot", "orderStatus": "PartiallyFilled", "cumExecQty": "0.04"},
                {**ORDER, "category": "linear"},
            ],
        }
        [report] = self.parse(message)
        self.assertEqual(
            (report.status, report.filled_size, report.fills), (OrderStatus.PARTIALLY_FILLED, D("0.04"), ())
        )

    def test_execution_messages_carry_the_fills(self):
        message = {
            "topic": "execution.spot",
            "id": "386825804_BTCUSDT_140612148849382",
            "creationTime": 1672364174455,
            "data": [{**EXECUTION, "category": "spot", "orderLinkId": "xwid"}],
        }
        [report] = self.parse(message)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size, report.at),
            ("8c065341-7b52-4ca9-ac2c-37e31ac55c94", "xwid", OrderStatus.OPEN, 0, 1672282722.429),
        )
        self.assertEqual(
            [(f.trade_id, f.size) for f in report.fills], [("e0cbe81d-0f18-5866-9415-cf319b5dab3b", D("0.1"))]
        )

    def test_wallet_messages(self):
        message = {
            "id": "592324d2bce751-ad38-48eb-8f42-4671d1fb4d4e",
            "topic": "wallet",
            "creationTime": 1700034722104,
            "data": [{"accountType": "UNIFIED", "coin": [{"coin": "BTC", "walletBalance": "0.1", "locked": "0.02"}]}],
        }
        self.assertEqual(self.parse(message), [AccountBalances({"BTC": D("0.1")}, 1700034722.104, complete=False)])

    def test_acknowledgements_pongs_and_refusals(self):
        self.assertEqual(
            self.parse({"success": True, "ret_msg": "", "op": "auth", "conn_id": "cejreaspqfh3sjdnldmg-p"}), []
        )
        self.assertEqual(
            self.parse({"success": True, "ret_msg": "", "op": "subscribe", "conn_id": "c"}),
            [StreamNotice("subscribed to order, execution and wallet")],
        )
        self.assertEqual(self.parse({"req_id": "", "op": "pong", "args": ["1675418560633"], "conn_id": "c"}), [])
        self.assertEqual(
            self.parse({"success": False, "ret_msg": "Params Error", "op": "auth", "conn_id": "c"}),
            [StreamNotice("auth refused: Params Error", fatal=True)],
        )


class SimulatorTest(unittest.IsolatedAsyncioTestCase):
    """The loopback Bybit checks signatures apart from the adapter's code: what the adapter signs
    passes; a wrong secret, an old or a future timestamp are refused as Bybit does (an HTTP 200
    with retCode 10004 or 10002)."""

    async def asyncSetUp(self):
        self.sim = await BybitExchange(balances={"USDT": D(100)}).__aenter__()
        self.addAsyncCleanup(self.sim.__aexit__, None, None, None)
        self.rest = RestClient("bybit", self.sim.rest_url, BybitPrivate.quotas[0].limit)
        self.addCleanup(self.rest.close)

    async def send(self, signer, request, at):
        return await self.rest.send(request, lambda outgoing: signer.sign(outgoing, at))

    async def test_signed_requests_pass_and_bad_ones_are_refused(self):
        now = time.time()
        balances = await self.send(adapter(), adapter().balances_request(), now)
        self.assertEqual(adapter().parse_balances(balances.body, 0.0).totals, {"USDT": D(100)})
        placed = await self.send(
            adapter(), adapter().place_request(order(pair="SOL_USDT", size="0.1", price="200"), "xw1"), now
        )
        self.assertEqual(adapter().parse_order(placed.body, 0.0).client_id, "xw1")
        wrong = BybitPrivate(TABLE, Credentials(KEY, SECRET[::-1]), BODY)
        answers = [
            await self.send(wrong, adapter().balances_request(), now),
            await self.send(adapter(), adapter().balances_request(), now - 6),
            await self.send(adapter(), adapter().balances_request(), now + 2),
        ]
        self.assertEqual(
            [(a.status, json.loads(a.body)["retCode"]) for a in answers], [(200, 10004), (200, 10002), (200, 10002)]
        )
        self.assertEqual(
            [adapter().error(adapter().answered(adapter().balances_request(), a)).__class__ for a in answers],
            [ExchangeRejected] * 3,
        )
        self.assertEqual(self.sim.calls.count("GET", "/v5/account/wallet-balance"), 4)


if __name__ == "__main__":
    unittest.main()
