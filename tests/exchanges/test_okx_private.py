"""OKX's private adapter (API v5, spot): signing as OKX documents it, the client order id, orders
translated both ways, answers and errors (every refusal an HTTP 200 with its code), the stream's
log-in then subscriptions. The whole life of live orders through the service is
tests/service/test_live_okx.py, against the loopback OKX (tests/simulator/okx_private.py).

OKX publishes the algorithm, not a signature: the expected values here are the documentation's
formula computed independently (timestamp + method + request path with its query + body, HMAC-SHA256
with the secret, base64), on its example secret and timestamp."""

import base64
import hashlib
import hmac
import json
import unittest
from decimal import Decimal as D

from exchange_wrapper.core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter
from exchange_wrapper.core.execution import OrderReport
from exchange_wrapper.core.orders import Liquidity, OrderStatus, OrderType, Side, TimeInForce
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.base import Credentials
from exchange_wrapper.exchanges.http import DEFAULT_RETRY_AFTER, Request, Response
from exchange_wrapper.exchanges.okx import private as okx
from exchange_wrapper.exchanges.okx.private import OkxPrivate
from exchange_wrapper.exchanges.private import AccountBalances, NotOnExchange, StreamNotice, StreamReply, client_key
from tests.exchanges.markets_contract import captured_body
from tests.exchanges.private_case import order_of

#: The documentation's example secret key and timestamp ("REST Authentication").
SECRET = "22582BD0CFF14C41EDBF1AB98506286D"
TIMESTAMP = "2020-12-08T09:08:57.715Z"
NOW = 1607418537.715  # that timestamp in Unix seconds


def documented_sign(text: str) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).digest()).decode()


def adapter() -> OkxPrivate:
    markets = okx.parse_markets(captured_body("OKX.0", "https://www.okx.com/api/v5/public/instruments"))
    return OkxPrivate(SymbolTable("okx", markets), Credentials("key-1", SECRET, "phrase"))


def answer(data: list, code: str = "0", msg: str = "") -> str:
    return json.dumps({"code": code, "msg": msg, "data": data})


class SigningTest(unittest.TestCase):
    def setUp(self):
        self.adapter = adapter()

    def test_the_timestamp_is_iso_8601_to_the_millisecond(self):
        self.assertEqual(okx.iso_milliseconds(NOW), TIMESTAMP)
        self.assertEqual(okx.iso_milliseconds(1607418537.0), "2020-12-08T09:08:57.000Z")

    def test_a_query_is_signed_with_its_path_and_query(self):
        # the documentation's example: timestamp + 'GET' + '/api/v5/account/balance?ccy=BTC'
        signed = self.adapter.sign(Request("/api/v5/account/balance", {"ccy": "BTC"}), NOW)
        self.assertEqual(signed.path, "/api/v5/account/balance?ccy=BTC")
        self.assertEqual(signed.params, {})
        self.assertEqual(
            dict(signed.headers),
            {
                "OK-ACCESS-KEY": "key-1",
                "OK-ACCESS-SIGN": documented_sign(TIMESTAMP + "GET/api/v5/account/balance?ccy=BTC"),
                "OK-ACCESS-TIMESTAMP": TIMESTAMP,
                "OK-ACCESS-PASSPHRASE": "phrase",
            },
        )

    def test_a_placement_signs_its_body_as_sent(self):
        request = self.adapter.place_request(order_of("okx", "BTC_USDT", "0.5", "97000.1"), "xwabc")
        signed = self.adapter.sign(request, NOW)
        self.assertEqual(
            signed.headers["OK-ACCESS-SIGN"], documented_sign(TIMESTAMP + "POST/api/v5/trade/order" + request.body)
        )
        self.assertEqual(signed.content_type, "application/json")

    def test_the_stream_logs_in_with_unix_seconds_then_subscribes_once_it_succeeded(self):
        [login] = self.adapter.stream_subscribe(1538054050.975)
        self.assertEqual(
            json.loads(login),
            {
                "op": "login",
                "args": [
                    {
                        "apiKey": "key-1",
                        "passphrase": "phrase",
                        "timestamp": "1538054050",
                        "sign": documented_sign("1538054050GET/users/self/verify"),
                    }
                ],
            },
        )
        [reply] = self.adapter.parse_stream('{"event":"login","code":"0","msg":"","connId":"a4d3ae55"}', 1.0)
        self.assertIsInstance(reply, StreamReply)
        self.assertEqual(
            json.loads(reply.messages[0]),
            {"op": "subscribe", "args": [{"channel": "orders", "instType": "SPOT"}, {"channel": "account"}]},
        )
        [refused] = self.adapter.parse_stream(
            '{"event":"error","code":"60009","msg":"Login failed.","connId":"a"}', 1.0
        )
        self.assertEqual(refused, StreamNotice("Login failed. (code 60009)", fatal=True))

    def test_the_exchange_clock(self):
        self.assertEqual(self.adapter.parse_time(answer([{"ts": "1597026383085"}])), 1597026383.085)


class ClientOrderIdTest(unittest.TestCase):
    def test_letters_and_digits_within_32_and_distinct_per_wallet_set(self):
        private = adapter()
        first, again = private.client_id(client_key(1, "a1"), 0), private.client_id(client_key(1, "a1"), 0)
        other, replaced = private.client_id(client_key(2, "a1"), 0), private.client_id(client_key(1, "a1"), 3)
        self.assertEqual(first, again)
        self.assertNotEqual(first, other)
        for client_id in (first, replaced):
            self.assertTrue(client_id.isalnum() and len(client_id) <= 32, client_id)
        self.assertTrue(replaced.endswith("r3"))


class OrderTranslationTest(unittest.TestCase):
    def setUp(self):
        self.adapter = adapter()

    def body(self, order):
        return json.loads(self.adapter.place_request(order, "xwabc").body)

    def test_time_in_force_and_post_only_are_the_ord_type(self):
        for (time_in_force, post_only), ord_type in okx.LIMIT_TYPES.items():
            order = order_of("okx", "BTC_USDT", "0.5", "97000.1", time_in_force=time_in_force, post_only=post_only)
            self.assertEqual(
                self.body(order),
                {
                    "instId": "BTC-USDT",
                    "tdMode": "cash",
                    "clOrdId": "xwabc",
                    "side": "buy",
                    "ordType": ord_type,
                    "px": "97000.1",
                    "sz": "0.5",
                },
            )

    def test_a_market_order_names_the_currency_of_its_size(self):
        by_size = order_of("okx", "BTC_USDT", "0.5", None, type=OrderType.MARKET, side=Side.SELL)
        by_funds = order_of("okx", "BTC_USDT", None, None, type=OrderType.MARKET, funds=D("250"))
        self.assertEqual(
            {k: self.body(by_size)[k] for k in ("ordType", "tgtCcy", "sz", "side")},
            {"ordType": "market", "tgtCcy": "base_ccy", "sz": "0.5", "side": "sell"},
        )
        self.assertEqual(
            {k: self.body(by_funds)[k] for k in ("ordType", "tgtCcy", "sz")},
            {"ordType": "market", "tgtCcy": "quote_ccy", "sz": "250"},
        )

    def test_what_okx_cannot_do_is_refused_naming_the_field(self):
        cases = [
            (dict(type=OrderType.STOP_LIMIT, stop_price=D("1")), "type"),
            (dict(time_in_force=TimeInForce.GTD, expire_time=2e9), "time_in_force"),
            (dict(post_only=True, time_in_force=TimeInForce.IOC), "time_in_force"),
            (dict(type=OrderType.MARKET, time_in_force=TimeInForce.FOK), "time_in_force"),
        ]
        for extra, field in cases:
            with self.subTest(field=field, extra=extra):
                price = None if extra.get("type") is OrderType.MARKET else "97000.1"
                with self.assertRaises(InvalidParameter) as raised:
                    self.adapter.check(order_of("okx", "BTC_USDT", "0.5", price, **extra))
                self.assertEqual(raised.exception.field, field)

    def test_queries_cancels_and_amends(self):
        order = order_of("okx", "BTC_USDT", "0.5", "97000.1", exchange_order_id="312269865356374016")
        query = self.adapter.query_request(order, "xwabc")
        self.assertEqual(
            (query.method, query.path, query.params),
            ("GET", "/api/v5/trade/order", {"instId": "BTC-USDT", "clOrdId": "xwabc"}),
        )
        cancel = self.adapter.cancel_request(order, "xwabc")
        self.assertEqual(json.loads(cancel.body), {"instId": "BTC-USDT", "ordId": "312269865356374016"})
        self.assertEqual(dict(cancel.costs), {"cancel": 1})
        self.assertIsNone(self.adapter.cancel_all_request(Pair("BTC", "USDT")))  # OKX cancels by id only
        amend = self.adapter.amend_request(
            order, price=D("96000"), size=D("0.4"), base=D("0"), client_id="xwabc", next_client_id="xwabcr1"
        )
        self.assertEqual(
            json.loads(amend.request.body),
            {"instId": "BTC-USDT", "ordId": "312269865356374016", "newSz": "0.4", "newPx": "96000"},
        )
        self.assertEqual((amend.in_place, amend.client_id, amend.method), (True, "xwabc", "amend_requeued"))
        smaller = self.adapter.amend_request(
            order, price=D("97000.1"), size=D("0.4"), base=D("0"), client_id="xwabc", next_client_id="xwabcr1"
        )
        self.assertEqual((json.loads(smaller.request.body).get("newPx"), smaller.method), (None, "amend"))


class AnswersTest(unittest.TestCase):
    def setUp(self):
        self.adapter = adapter()

    def test_a_placement_answer_names_the_ids_only(self):
        body = answer([{"clOrdId": "xwabc", "ordId": "312269865356374016", "tag": "", "sCode": "0", "sMsg": ""}])
        self.assertEqual(
            self.adapter.parse_order(body, 5.0), OrderReport("312269865356374016", "xwabc", OrderStatus.OPEN, D(0), 5.0)
        )

    def test_a_query_states_the_order(self):
        row = {"ordId": "1", "clOrdId": "xwabc", "state": "partially_filled", "accFillSz": "0.2",
               "uTime": "1597026383085", "tradeId": "", "fillSz": ""}  # fmt: skip
        report = self.adapter.parse_order(answer([row]), 5.0)
        self.assertEqual(
            (report.status, report.filled_size, report.at, report.fills),
            (OrderStatus.PARTIALLY_FILLED, D("0.2"), 1597026383.085, ()),
        )
        for state, status in (
            ("live", OrderStatus.OPEN),
            ("filled", OrderStatus.FILLED),
            ("canceled", OrderStatus.CANCELLED),
        ):
            self.assertEqual(self.adapter.parse_order(answer([{**row, "state": state}]), 5.0).status, status)
        with self.assertRaises(InvalidParameter):
            self.adapter.parse_order(answer([{**row, "state": "gone"}]), 5.0)

    def test_fills_come_oldest_first_with_the_fee_charged_as_positive(self):
        rows = [
            {"tradeId": "12", "ordId": "1", "fillPx": "97000.1", "fillSz": "0.1", "fee": "-0.0001", "feeCcy": "BTC",
             "execType": "T", "ts": "1597026384000"},
            {"tradeId": "11", "ordId": "1", "fillPx": "97000", "fillSz": "0.2", "fee": "0.01", "feeCcy": "USDT",
             "execType": "M", "ts": "1597026383000"},
        ]  # fmt: skip
        fills = self.adapter.parse_fills(answer(rows), 5.0)
        self.assertEqual([f.trade_id for f in fills], ["11", "12"])
        self.assertEqual(
            (fills[0].fee, fills[0].fee_currency, fills[0].liquidity), (D("-0.01"), "USDT", Liquidity.MAKER)
        )
        self.assertEqual(
            (fills[1].fee, fills[1].liquidity, fills[1].cause),
            (D("0.0001"), Liquidity.TAKER, {"exchange_order_id": "1"}),
        )

    def test_balances_are_cash_balances(self):
        body = answer(
            [{"details": [{"ccy": "BTC", "cashBal": "1.5", "availBal": "1"}, {"ccy": "USDT", "cashBal": "0"}]}]
        )
        self.assertEqual(self.adapter.parse_balances(body, 5.0), AccountBalances({"BTC": D("1.5")}, 5.0, complete=True))

    def test_refusals_in_a_200_become_the_status_they_mean(self):
        request = Request("/api/v5/trade/order", method="POST")
        failed = json.dumps(
            {"code": "1", "msg": "All operations failed", "data": [{"sCode": "51008", "sMsg": "Insufficient USDT"}]}
        )
        for body, status, error in (
            (failed, 400, ExchangeRejected),
            (answer([], "51603", "Order does not exist"), 404, NotOnExchange),
            (json.dumps({"code": "1", "msg": "", "data": [{"sCode": "51400", "sMsg": "filled"}]}), 404, NotOnExchange),
            (answer([], "50004", "API endpoint request timeout"), 503, ExchangeUnavailable),
            (answer([], "50011", "Too Many Requests"), 429, None),
        ):
            with self.subTest(body=body):
                response = self.adapter.answered(request, Response(200, {}, body))
                self.assertEqual(response.status, status)
                if error is not None:
                    self.assertIsInstance(self.adapter.error(response), error)
        rejected = self.adapter.error(self.adapter.answered(request, Response(200, {}, failed)))
        self.assertEqual(rejected.message, "Insufficient USDT (code 51008)")
        ok = Response(200, {}, answer([{"ordId": "1", "clOrdId": "x", "sCode": "0"}]))
        self.assertIs(self.adapter.answered(request, ok), ok)

    def test_a_429_pauses_for_its_retry_after_or_the_default(self):
        self.assertEqual(
            self.adapter.pause_for(Response(429, {}, '{"msg":"Too Many Requests","code":"50011"}'), 0.0),
            DEFAULT_RETRY_AFTER,
        )
        self.assertEqual(self.adapter.pause_for(Response(429, {"retry-after": "3"}, ""), 0.0), 3.0)
        self.assertIsNone(self.adapter.pause_for(Response(200, {}, answer([])), 0.0))


class StreamTest(unittest.TestCase):
    def test_an_orders_push_with_its_fill_and_an_account_push(self):
        private = adapter()
        push = {"arg": {"channel": "orders", "instType": "SPOT", "uid": "1"}, "data": [
            {"instId": "BTC-USDT", "ordId": "1", "clOrdId": "xwabc", "state": "partially_filled", "accFillSz": "0.2",
             "uTime": "1597026383085", "tradeId": "11", "fillPx": "97000", "fillSz": "0.2", "fillFee": "-0.0002",
             "fillFeeCcy": "BTC", "fillTime": "1597026383080", "execType": "M"}]}  # fmt: skip
        [report] = private.parse_stream(json.dumps(push), 5.0)
        self.assertEqual((report.status, report.filled_size), (OrderStatus.PARTIALLY_FILLED, D("0.2")))
        [fill] = report.fills
        self.assertEqual((fill.trade_id, fill.size, fill.fee, fill.at), ("11", D("0.2"), D("0.0002"), 1597026383.08))
        account = {"arg": {"channel": "account", "uid": "1"}, "data": [{"details": [{"ccy": "BTC", "cashBal": "2"}]}]}
        self.assertEqual(
            private.parse_stream(json.dumps(account), 5.0), [AccountBalances({"BTC": D("2")}, 5.0, complete=False)]
        )
        ack = '{"event":"subscribe","arg":{"channel":"orders","instType":"SPOT"},"connId":"a"}'
        self.assertEqual(private.parse_stream(ack, 5.0), [StreamNotice("subscribed to orders and the account")])
        self.assertEqual(private.parse_stream("pong", 5.0), [])


if __name__ == "__main__":
    unittest.main()
