"""The private side of the VALR adapter, pure: signing (VALR's two published examples reproduced),
client order ids, xWrap's orders translated to VALR's requests (and what it cannot do refused),
VALR's answers and account websocket events read, from the examples of its documentation, and the
limits. Signatures expected here are VALR's own, or computed in the test with hmac and hashlib,
never copied from the code."""

import hashlib
import hmac
import json
import time
import unittest
from decimal import Decimal as D

from exchange_wrapper.connectors.rest import RestClient
from exchange_wrapper.core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter
from exchange_wrapper.core.execution import OrderReport
from exchange_wrapper.core.orders import Fill, Liquidity, OrderStatus, OrderType, Side, TimeInForce
from exchange_wrapper.core.pacing import RateLimit
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.base import Credentials
from exchange_wrapper.exchanges.http import Response
from exchange_wrapper.exchanges.private import (
    AccountBalances,
    NotOnExchange,
    StreamNotice,
    client_key,
    private_adapter_class,
)
from exchange_wrapper.exchanges.valr import private as valr
from exchange_wrapper.exchanges.valr.private import ValrPrivate
from tests.exchanges.private_case import order_of
from tests.exchanges.test_valr import BODY
from tests.simulator.valr_private import ValrExchange

# VALR's signing example (docs.valr.com, "Authentication"): its secret, and the key in its shape.
SECRET = "4961b74efac86b25cce8fbe4c9811c4c7a787b7a5996660afcc2e287ad864363"
KEY = SECRET
TABLE = SymbolTable("valr", valr.parse_markets(BODY))


def adapter():
    return ValrPrivate(TABLE, Credentials(KEY, SECRET), BODY)


def order(type=OrderType.LIMIT, side=Side.BUY, size="1000", price="10.4", pair="XRP_ZAR", **extra):
    return order_of("valr", pair, size, price, type=type, side=side, **extra)


def sha512_hex(text):
    return hmac.new(SECRET.encode(), text.encode(), hashlib.sha512).hexdigest()


class SigningTest(unittest.TestCase):
    def test_valr_s_published_examples(self):
        self.assertEqual(
            valr.signature(SECRET, 1558014486185, "GET", "/v1/account/balances"),
            "9d52c181ed69460b49307b7891f04658e938b21181173844b5018b2fe783a6d4c62b8e67a03de4d099e7437ebfabe12c56233b73c6a0cc0f7ae87e05f6289928",
        )
        body = '{"customerOrderId":"ORDER-000001","pair":"BTCZAR","side":"BUY","quoteAmount":"80000"}'
        self.assertEqual(
            valr.signature(SECRET, 1558017528946, "POST", "/v1/orders/market", body),
            "be97d4cd9077a9eea7c4e199ddcfd87408cb638f2ec2f7f74dd44aef70a49fdc49960fd5de9b8b2845dc4a38b4fc7e56ef08f042a3c78a3af9aed23ca80822e8",
        )
        # a subaccount's id comes last
        self.assertEqual(valr.signature(SECRET, 1, "get", "/x", "", "12345"), sha512_hex("1GET/x12345"))

    def test_a_request_is_signed_as_it_is_sent_with_its_query(self):
        signed = adapter().sign(adapter().fills_request(order(), "id"), 1558014486.185)
        self.assertEqual(signed.path, "/v1/account/XRPZAR/tradehistory?limit=100")
        self.assertEqual(signed.params, {})
        self.assertEqual(
            dict(signed.headers),
            {
                "X-VALR-API-KEY": KEY,
                "X-VALR-TIMESTAMP": "1558014486185",
                "X-VALR-SIGNATURE": sha512_hex("1558014486185GET/v1/account/XRPZAR/tradehistory?limit=100"),
            },
        )
        placed = adapter().sign(adapter().place_request(order(), "xw1"), 1558017528.946)
        self.assertEqual(
            placed.headers["X-VALR-SIGNATURE"], sha512_hex(f"1558017528946POST/v1/orders/limit{placed.body}")
        )

    def test_the_account_websocket_authenticates_in_band_then_subscribes(self):
        [authenticate] = map(json.loads, adapter().stream_subscribe(1558014486.185))
        self.assertEqual(
            authenticate,
            {
                "type": "AUTHENTICATE",
                "payload": {
                    "apiKey": KEY,
                    "signature": sha512_hex("1558014486185GET/ws/account"),
                    "timestamp": 1558014486185,
                },
            },
        )
        [reply] = adapter().parse_stream('{"type":"AUTHENTICATED"}', 0.0)
        self.assertEqual(
            [json.loads(m) for m in reply.messages],
            [{"type": "SUBSCRIBE", "subscriptions": [{"event": "ORDER_STATUS_UPDATE"}]}],
        )
        self.assertEqual(adapter().stream_address("ws://127.0.0.1:9/ws/trade"), "ws://127.0.0.1:9/ws/account")
        self.assertEqual(adapter().stream_address(""), "wss://api.valr.com/ws/account")

    def test_the_exchange_clock(self):
        self.assertEqual(adapter().time_request().path, "/v1/public/time")
        self.assertEqual(
            adapter().parse_time('{"epochTime":1555513811,"time":"2019-04-17T15:10:11.468Z"}'), 1555513811.468
        )
        self.assertIs(private_adapter_class("valr"), ValrPrivate)


class ClientOrderIdTest(unittest.TestCase):
    def test_deterministic_within_the_format_and_distinct_per_wallet_set(self):
        key = client_key(1, "a1")
        first, second = adapter().client_id(key, 0), adapter().client_id(key, 1)
        self.assertEqual(first, "xw" + key.hex()[:32])
        self.assertEqual(second, first + "-1")
        for client_id in (first, second):
            self.assertRegex(client_id, r"^[A-Za-z0-9-]{1,50}$")  # letters, digits and dashes, 50 at most
        self.assertNotEqual(adapter().client_id(client_key(2, "a1"), 0), first)


class OrderTranslationTest(unittest.TestCase):
    def body(self, request):
        return json.loads(request.body)

    def test_limit_post_only_and_times_in_force(self):
        request = adapter().place_request(order(), "xw1")
        self.assertEqual(
            (request.method, request.path, request.costs), ("POST", "/v1/orders/limit", {"requests": 1, "place": 1})
        )
        self.assertEqual(
            request.body,
            '{"side":"BUY","pair":"XRPZAR","quantity":"1000","price":"10.4","postOnly":false,"timeInForce":"GTC",'
            '"customerOrderId":"xw1"}',
        )
        self.assertTrue(self.body(adapter().place_request(order(post_only=True), "xw1"))["postOnly"])
        for tif in ("IOC", "FOK"):
            self.assertEqual(
                self.body(adapter().place_request(order(time_in_force=TimeInForce(tif)), "x"))["timeInForce"], tif
            )

    def test_market_orders_by_size_or_by_funds(self):
        sell = adapter().place_request(order(OrderType.MARKET, Side.SELL, "25", None), "xw2")
        self.assertEqual(
            (sell.path, self.body(sell)),
            ("/v1/orders/market", {"side": "SELL", "pair": "XRPZAR", "baseAmount": "25", "customerOrderId": "xw2"}),
        )
        buy = adapter().place_request(order(OrderType.MARKET, Side.BUY, None, None, funds=D("80000")), "xw3")
        self.assertEqual(
            self.body(buy), {"side": "BUY", "pair": "XRPZAR", "quoteAmount": "80000", "customerOrderId": "xw3"}
        )

    def test_what_valr_cannot_do_is_refused_naming_the_field(self):
        cases = [
            (
                order(OrderType.STOP_LIMIT, stop_price=D(10)),
                "type: expected market or limit: valr places stops as conditional orders, which xWrap does not place, "
                "got 'stop_limit'",
            ),
            (
                order(time_in_force=TimeInForce.GTD, expire_time=1.0),
                "time_in_force: expected GTC, IOC or FOK: valr has no GTD, got 'GTD'",
            ),
            (
                order(post_only=True, time_in_force=TimeInForce.IOC),
                "time_in_force: expected GTC for a post-only order on valr, got 'IOC'",
            ),
            (
                order(OrderType.MARKET, price=None, time_in_force=TimeInForce.FOK),
                "time_in_force: expected GTC or IOC for a market order on valr (it never rests), got 'FOK'",
            ),
        ]
        for refused, message in cases:
            with self.subTest(message=message), self.assertRaises(InvalidParameter) as raised:
                adapter().check(refused)
            self.assertEqual(str(raised.exception), message)
        adapter().check(order(post_only=True))  # nothing to refuse

    def test_queries_cancels_and_what_each_spends(self):
        query = adapter().query_request(order(), "xw1")
        self.assertEqual(
            (query.method, query.path, query.costs), ("GET", "/v1/orders/XRPZAR/customerorderid/xw1", {"requests": 1})
        )
        by_client = adapter().cancel_request(order(), "xw1")
        self.assertEqual(
            (by_client.method, by_client.path, by_client.costs),
            ("DELETE", "/v1/orders/order", {"requests": 1, "cancel": 1}),
        )
        self.assertEqual(self.body(by_client), {"customerOrderId": "xw1", "pair": "XRPZAR"})
        by_id = adapter().cancel_request(order(exchange_order_id="0198"), "xw1")
        self.assertEqual(self.body(by_id), {"orderId": "0198", "pair": "XRPZAR"})  # never both, as VALR asks
        every = adapter().cancel_all_request(TABLE.to_pair("XRPZAR"))
        self.assertEqual((every.method, every.path, every.body), ("DELETE", "/v1/orders/XRPZAR", None))
        self.assertEqual(adapter().open_orders_request().path, "/v1/orders/open")
        self.assertEqual(adapter().balances_request().path, "/v1/account/balances")
        amendment = adapter().amend_request(
            order(), price=D(10), size=D(5), base=D(0), client_id="xw1", next_client_id="xw1-1"
        )
        self.assertEqual(
            (amendment.request, amendment.method, amendment.client_id), (None, "cancel_then_place", "xw1-1")
        )

    def test_the_quotas_are_valr_s_published_limits(self):
        quotas = {quota.kind: (quota.count, quota.seconds) for quota in ValrPrivate.quotas}
        self.assertEqual(quotas, {"requests": (2000, 60), "place": (400, 1), "cancel": (450, 1)})
        # no minute spends more than 2,000, no second more than 400 orders
        self.assertEqual(ValrPrivate.quotas[0].limit, RateLimit(2000 / 2 / 60, 1000))
        self.assertEqual(ValrPrivate.quotas[1].limit, RateLimit(200, 200))


#: docs.valr.com's example of an order status (by customer order id).
STATUS = (
    '{"orderId":"0198178f-a957-7684-b650-eb987183f8e5","orderStatusType":"Filled","currencyPair":"ETHBTC",'
    '"originalPrice":"0.03","remainingQuantity":"0","originalQuantity":"0.033333","orderSide":"sell",'
    '"orderType":"post-only limit","failedReason":"","orderUpdatedAt":"2025-07-17T08:53:00.620Z",'
    '"orderCreatedAt":"2025-07-17T08:45:47.735Z","customerOrderId":"LimitSell","timeInForce":"GTC"}'
)


class AnswersTest(unittest.TestCase):
    def test_an_accepted_placement_reads_as_an_acknowledgement_of_its_order(self):
        request = adapter().place_request(order(), "xw1")
        answer = adapter().answered(request, Response(202, {}, '{"id":"14ed7fbc-272e-4bac-a4f9-7ec8df36df34"}'))
        self.assertEqual(
            adapter().parse_order(answer.body, 5.0),
            OrderReport("14ed7fbc-272e-4bac-a4f9-7ec8df36df34", "xw1", OrderStatus.OPEN, D(0), 5.0),
        )
        cancel = adapter().answered(
            adapter().cancel_request(order(exchange_order_id="0198"), "xw1"), Response(202, {}, "")
        )
        self.assertEqual(adapter().parse_order(cancel.body, 5.0), OrderReport("0198", "", OrderStatus.OPEN, D(0), 5.0))
        refused = Response(400, {}, '{"code":-1,"message":"x"}')
        self.assertIs(adapter().answered(request, refused), refused)
        garbled = Response(202, {}, "<html>")
        self.assertIs(adapter().answered(request, garbled), garbled)
        with self.assertRaises(InvalidParameter):
            adapter().parse_order(garbled.body, 0.0)

    def test_an_order_status_and_the_open_orders(self):
        self.assertEqual(
            adapter().parse_order(STATUS, 0.0),
            OrderReport(
                "0198178f-a957-7684-b650-eb987183f8e5", "LimitSell", OrderStatus.FILLED, D("0.033333"), 1752742380.62
            ),
        )
        failed = json.loads(STATUS) | {
            "orderStatusType": "Failed",
            "remainingQuantity": "0.033333",
            "failedReason": "Insufficient Balance",
        }
        report = adapter().parse_order(json.dumps(failed), 0.0)
        self.assertEqual(
            (report.status, report.filled_size, report.reason), (OrderStatus.REJECTED, D(0), "Insufficient Balance")
        )
        open_orders = json.dumps(
            [
                {
                    "orderId": "38511e49-a755-4f8f-a2b1-232bae6967dc",
                    "side": "sell",
                    "remainingQuantity": "0.1",
                    "price": "10000",
                    "currencyPair": "BTCZAR",
                    "createdAt": "2019-07-16T08:47:28.567Z",
                    "originalQuantity": "0.25",
                    "filledPercentage": "60.00",
                    "customerOrderId": "xw1",
                    "updatedAt": "2019-07-16T08:50:00.000Z",
                    "status": "Partially Filled",
                    "type": "limit",
                    "timeInForce": "GTC",
                }
            ]
        )
        self.assertEqual(
            adapter().parse_orders(open_orders, 0.0),
            [
                OrderReport(
                    "38511e49-a755-4f8f-a2b1-232bae6967dc", "xw1", OrderStatus.PARTIALLY_FILLED, D("0.15"), 1563267000.0
                )
            ],
        )
        # a cancel-all names the orders it cancels: open until told
        cancelled = '[{"orderId":"0198510c-09fa-7f86-8ddb-b6b222b4e509"}]'
        self.assertEqual(
            adapter().parse_orders(cancelled, 3.0),
            [OrderReport("0198510c-09fa-7f86-8ddb-b6b222b4e509", "", OrderStatus.OPEN, D(0), 3.0)],
        )
        with self.assertRaises(InvalidParameter) as raised:
            adapter().parse_order(STATUS.replace('"Filled"', '"Melted"'), 0.0)
        self.assertIn("orderStatusType of order on valr: expected one of Placed", str(raised.exception))

    def test_trades_oldest_first_with_their_role_from_the_fee_s_currency(self):
        # the documentation's example (on BTCUSDT, here BTCUSDC), and the same pair's other three roles
        example = {
            "price": "93129",
            "quantity": "0.0001",
            "currencyPair": "BTCUSDC",
            "tradedAt": "2025-06-13T09:21:48.393Z",
            "side": "buy",
            "sequenceId": 1368928567986636000,
            "id": "01976898-6969-7c30-b002-bb021d376c30",
            "orderId": "01976898-6967-7d63-88c1-8223d40cc39e",
            "fee": "0.0000001",
            "feeCurrency": "BTC",
        }
        rows = [
            example
            | {
                "id": "t4",
                "tradedAt": "2025-06-13T09:21:51.000Z",
                "side": "sell",
                "feeCurrency": "USDC",
                "fee": "0.01",
            },
            example | {"id": "t3", "tradedAt": "2025-06-13T09:21:50.000Z", "side": "sell", "feeCurrency": "BTC"},
            example | {"id": "t2", "tradedAt": "2025-06-13T09:21:49.000Z", "feeCurrency": "USDC", "fee": "0.007"},
            example,
        ]
        fills = adapter().parse_fills(json.dumps(rows), 0.0)
        self.assertEqual([f.trade_id for f in fills], ["01976898-6969-7c30-b002-bb021d376c30", "t2", "t3", "t4"])
        self.assertEqual(
            fills[0],
            Fill(
                "",
                "01976898-6969-7c30-b002-bb021d376c30",
                D(93129),
                D("0.0001"),
                D("0.0000001"),
                "BTC",
                Liquidity.TAKER,
                1749806508.393,
                {"exchange_order_id": "01976898-6967-7d63-88c1-8223d40cc39e"},
            ),
        )
        # a buy's fee in the quote and a sell's in the base: maker; the others: taker
        self.assertEqual(
            [f.liquidity for f in fills], [Liquidity.TAKER, Liquidity.MAKER, Liquidity.MAKER, Liquidity.TAKER]
        )

    def test_balances(self):
        # the documentation's example, its borrowed BTC total left aside: what is held is available plus reserved
        body = json.dumps(
            [
                {
                    "currency": "USDT",
                    "available": "44822.97549155",
                    "reserved": "99.99925",
                    "total": "145612.43129945",
                    "updatedAt": "2023-04-25T09:00:04.406Z",
                },
                {
                    "currency": "BTC",
                    "available": "0",
                    "reserved": "0",
                    "total": "-0.00101056",
                    "updatedAt": "2023-04-25T09:00:00.103Z",
                },
            ]
        )
        self.assertEqual(
            adapter().parse_balances(body, 7.0), AccountBalances({"USDT": D("44922.97474155")}, 7.0, complete=True)
        )

    def test_errors_say_whether_the_order_exists_and_whether_the_outcome_is_known(self):
        cases = [
            (
                Response(404, {}, '{"code":-14,"message":"Order not found"}'),
                NotOnExchange,
                "valr refused the request (HTTP 404): Order not found (code -14)",
            ),
            (
                Response(503, {}, "<html>busy</html>"),
                ExchangeUnavailable,
                "valr unavailable: outcome unknown: HTTP 503: <html>busy</html>",
            ),
            (
                Response(400, {}, '{"code":-93,"message":"Request has expired"}'),
                ExchangeRejected,
                "valr refused the request (HTTP 400): Request has expired (code -93)",
            ),
        ]
        for response, kind, message in cases:
            with self.subTest(message=message):
                error = adapter().error(response)
                self.assertIs(type(error), kind)
                self.assertEqual(str(error), message)

    def test_a_429_pauses_for_its_retry_after_or_until_the_next_minute(self):
        limited = {"x-valr-ratelimited": "true"}
        self.assertEqual(adapter().pause_for(Response(429, limited | {"retry-after": "7"}, ""), 1000.0), 7.0)
        # no Retry-After: VALR's counters start again at the next minute (1,699,999,980 is a whole minute)
        self.assertEqual(adapter().pause_for(Response(429, limited, ""), 1_699_999_995.5), 44.5)
        self.assertIsNone(adapter().pause_for(Response(400, {}, ""), 0.0))


class StreamTest(unittest.TestCase):
    def parse(self, message):
        return adapter().parse_stream(json.dumps(message), 9.0)

    def test_order_status_updates(self):
        # the documentation's example
        update = {
            "type": "ORDER_STATUS_UPDATE",
            "data": {
                "orderId": "f1e2d3c4-b5a6-7890-1234-567890abcdef",
                "orderStatusType": "Filled",
                "currencyPair": "BTCZAR",
                "originalPrice": "950000",
                "remainingQuantity": "0",
                "originalQuantity": "0.01000000",
                "orderSide": "BUY",
                "orderType": "limit",
                "failedReason": None,
                "orderUpdatedAt": "2024-09-27T12:01:00.000Z",
                "orderCreatedAt": "2024-09-27T12:00:00.000Z",
                "customerOrderId": "my-order-1",
            },
        }
        self.assertEqual(
            self.parse(update),
            [
                OrderReport(
                    "f1e2d3c4-b5a6-7890-1234-567890abcdef", "my-order-1", OrderStatus.FILLED, D("0.01"), 1727438460.0
                )
            ],
        )
        partly = update | {
            "data": update["data"] | {"orderStatusType": "Partially Filled", "remainingQuantity": "0.004"}
        }
        [report] = self.parse(partly)
        self.assertEqual(
            (report.status, report.filled_size, report.fills), (OrderStatus.PARTIALLY_FILLED, D("0.006"), ())
        )

    def test_balance_updates(self):
        # the documentation's example
        update = {
            "type": "BALANCE_UPDATE",
            "data": {
                "currency": {"id": 1, "shortName": "BTC", "longName": "Bitcoin", "decimalPlaces": 8},
                "available": "0.50000000",
                "reserved": "0.10000000",
                "total": "0.60000000",
                "updatedAt": "2024-09-27T12:30:00.000Z",
                "lendReserved": "0",
                "borrowCollateralReserved": "0",
                "borrowedAmount": "0",
                "totalInReference": "342000.00",
                "totalInReferenceWeighted": "342000.00",
                "referenceCurrency": "ZAR",
            },
        }
        self.assertEqual(self.parse(update), [AccountBalances({"BTC": D("0.6")}, 1727440200.0, complete=False)])

    def test_acknowledgements_other_events_and_errors(self):
        self.assertEqual(self.parse({"type": "PONG"}), [])
        self.assertEqual(
            self.parse({"type": "ORDER_PROCESSED", "data": {"orderId": "f1", "success": True, "failureReason": None}}),
            [],
        )
        self.assertEqual(
            self.parse({"type": "SUBSCRIBED", "message": "ORDER_STATUS_UPDATE"}),
            [StreamNotice("subscribed to ORDER_STATUS_UPDATE")],
        )
        self.assertEqual(
            self.parse({"type": "UNAUTHORIZED", "message": "Authentication failed"}),
            [StreamNotice("UNAUTHORIZED: Authentication failed", fatal=True)],
        )


class SimulatorTest(unittest.IsolatedAsyncioTestCase):
    """The loopback VALR checks signatures apart from the adapter's code: what the adapter signs
    passes, a wrong secret and an old timestamp are refused."""

    async def asyncSetUp(self):
        self.sim = await ValrExchange(balances={"ZAR": D(100)}).__aenter__()
        self.addAsyncCleanup(self.sim.__aexit__, None, None, None)
        self.rest = RestClient("valr", self.sim.rest_url, ValrPrivate.quotas[0].limit)
        self.addCleanup(self.rest.close)

    async def send(self, signer, request, at):
        return await self.rest.send(request, lambda outgoing: signer.sign(outgoing, at))

    async def test_signed_requests_pass_and_bad_ones_are_refused(self):
        now = time.time()
        balances = await self.send(adapter(), adapter().balances_request(), now)
        self.assertEqual(adapter().parse_balances(balances.body, 0.0).totals, {"ZAR": D(100)})
        request = adapter().place_request(order(size="1"), "xw1")
        placed = await self.send(adapter(), request, now)
        self.assertEqual(placed.status, 202)
        report = adapter().parse_order(adapter().answered(request, placed).body, 0.0)
        self.assertEqual((report.client_id, self.sim.order(report.exchange_order_id).client_id), ("xw1", "xw1"))
        wrong = ValrPrivate(TABLE, Credentials(KEY, SECRET[::-1]), BODY)
        answers = [
            await self.send(wrong, adapter().balances_request(), now),
            await self.send(adapter(), adapter().balances_request(), now - 31),
        ]
        self.assertEqual(
            [(a.status, json.loads(a.body)["message"]) for a in answers],
            [(401, "Request has an invalid signature"), (400, "Request has expired")],
        )


if __name__ == "__main__":
    unittest.main()
