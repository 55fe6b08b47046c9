"""The private side of the Bitfinex adapter, pure: signing (Bitfinex publishes no signature
example: the documented algorithm step by step, recomputed with hmac and hashlib here, and the
websocket log-in vector of a public client's tests), nonces, client ids, xWrap's orders translated
to Bitfinex's requests (and what it cannot do refused), Bitfinex's answers, errors and stream
messages read, from the examples of its documentation and of public code quoting real answers."""

import dataclasses
import hashlib
import hmac
import json
import unittest
from decimal import Decimal as D

import orjson

from exchange_wrapper.core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter
from exchange_wrapper.core.orders import Liquidity, Order, OrderStatus, OrderType, Side, TimeInForce
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.base import Credentials
from exchange_wrapper.exchanges.bitfinex import private as bitfinex
from exchange_wrapper.exchanges.bitfinex.private import BitfinexPrivate, OrderQuery
from exchange_wrapper.exchanges.http import Request, Response
from exchange_wrapper.exchanges.private import AccountBalances, NotOnExchange, StreamNotice, client_key
from tests.exchanges.test_bitfinex import BODY
from tests.simulator import bitfinex_private

KEY = "Lw4vJ9nZKq2eTc7hUy3pRb8sXf1mDa6gNo5iVk0tWjE"
SECRET = "Qm8sT2vXw5yZa9bCd3eFg7hJk1lMn4oPq6rSt0uVw2x"
TABLE = SymbolTable("bitfinex", bitfinex.parse_markets(BODY))
CREATED = 1700000000.0  # 2023-11-14T22:13:20Z
#: The group id of tMNABTC, as group_id documents it: 31 bits of SHA-256("xwrap/tMNABTC").
GID = int.from_bytes(hashlib.sha256(b"xwrap/tMNABTC").digest()[:4], "big") >> 1
#: Order arrays of Bitfinex's documentation ("Orders", account info channel): the snapshot's order,
#: then the same order cancelled (META, an object the docs leave unnamed, as {}).
DOCS_ORDER = [
    34930659963,
    None,
    1574955083558,
    "tETHUSD",
    1574955083558,
    1574955083573,
    D("0.201104"),
    D("0.201104"),
    "EXCHANGE LIMIT",
    None,
    None,
    None,
    0,
    "ACTIVE",
    None,
    None,
    120,
    0,
    0,
    0,
    None,
    None,
    None,
    0,
    0,
    None,
    None,
    None,
    "BFX",
    None,
    None,
    {},
]
DOCS_CANCELLED = DOCS_ORDER[:5] + [1574955354487] + DOCS_ORDER[6:13] + ["CANCELED"] + DOCS_ORDER[14:]
#: An order executed at once, as the exchange streamed it (bitfinex-api-node issue #239's log).
EXECUTED = [
    8765161516,
    None,
    1,
    "tBTCEUR",
    1519641862430,
    1519641862486,
    0,
    D("0.01"),
    "EXCHANGE LIMIT",
    None,
    None,
    None,
    0,
    "EXECUTED @ 7786.5188(0.01)",
    None,
    None,
    D("7788.6"),
    D("7786.5187878"),
    None,
    None,
    None,
    None,
    None,
    0,
    0,
    0,
    None,
    None,
    None,
    None,
    None,
    None,
]


def adapter():
    return BitfinexPrivate(TABLE, Credentials(KEY, SECRET), BODY)


#: A limit buy of 1000 MANA at 0.000025 BTC; order(**changes) for others.
LIMIT_BUY = Order(
    id="7",
    client_order_id="a1",
    wallet_set_id=1,
    exchange="bitfinex",
    pair="MANA_BTC",
    side=Side.BUY,
    type=OrderType.LIMIT,
    size=D(1000),
    price=D("0.000025"),
    created_at=CREATED,
)


def order(**changes):
    return dataclasses.replace(LIMIT_BUY, **changes)


def hex_hmac(secret, payload):
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha384).hexdigest()


def dumps(value):
    """JSON as Bitfinex writes it: Decimals as the numbers they are."""
    return orjson.dumps(value, default=lambda d: orjson.Fragment(str(d))).decode()


def body_of(request):
    return json.loads(request.body)


class SigningTest(unittest.TestCase):
    def test_the_documented_rest_algorithm_step_by_step(self):
        # "Authenticated endpoints": signature = HMAC-SHA384(secret, `/api/${apiPath}${nonce}${JSON.stringify(body)}`)
        # in hex, with apiPath "v2/auth/r/wallets", the nonce in microseconds and body {}.
        payload = "/api/" + "v2/auth/r/wallets" + "1700000000123456" + "{}"
        self.assertEqual(
            bitfinex.signature(SECRET, "/v2/auth/r/wallets", "1700000000123456", "{}"), hex_hmac(SECRET, payload)
        )
        self.assertEqual(len(hex_hmac(SECRET, payload)), 96)  # SHA-384 in hex

    def test_a_request_signed_at_send_time(self):
        request = adapter().place_request(order(), "123")
        signed = adapter().sign(request, 1700000000.123456)
        nonce = "1700000000123456"
        self.assertEqual(
            (signed.path, signed.method, signed.body, signed.content_type),
            ("/v2/auth/w/order/submit", "POST", request.body, "application/json"),
        )
        self.assertEqual(
            dict(signed.headers),
            {
                "bfx-nonce": nonce,
                "bfx-apikey": KEY,
                "bfx-signature": hex_hmac(SECRET, f"/api/v2/auth/w/order/submit{nonce}{request.body}"),
            },
        )

    def test_the_simulator_keys_sign_as_the_docs_say(self):
        # the loopback Bitfinex checks signatures with its own code, written from the docs
        keys = Credentials(bitfinex_private.API_KEY, bitfinex_private.API_SECRET)
        signed = BitfinexPrivate(TABLE, keys).sign(
            Request("/v2/auth/r/wallets", method="POST", body="{}"), 1700000000.0
        )
        self.assertEqual(
            signed.headers["bfx-signature"],
            hex_hmac(bitfinex_private.API_SECRET, "/api/v2/auth/r/wallets1700000000000000{}"),
        )

    def test_nonces_only_grow_whatever_the_clock_says(self):
        a = adapter()
        self.assertEqual(
            [a.next_nonce(t) for t in (1700000000.5, 1700000000.5, 1699999999.0, 1700000001.0)],
            ["1700000000500000", "1700000000500001", "1700000000500002", "1700000001000000"],
        )
        # the stream's log-in takes the next one
        [login] = a.stream_subscribe(1700000001.0)
        self.assertEqual(json.loads(login)["authNonce"], "1700000001000001")

    def test_the_websocket_log_in(self):
        # The vector of a public client's tests (Marfusios/bitfinex-client-websocket,
        # BitfinexAuthenticationTests): nonce 123456 ms as microseconds, secret "api_secret".
        self.assertEqual(
            bitfinex.auth_signature("api_secret", "123456000"),
            "cbe5ac2d70f8bb8246e31906d872408c29097df8c97a935ce367a93f57e47af51e033939a07cd5ecf1e078e7f7c9a344",
        )
        [login] = adapter().stream_subscribe(1700000000.25)
        self.assertEqual(
            json.loads(login),
            {
                "event": "auth",
                "apiKey": KEY,
                "authSig": hex_hmac(SECRET, "AUTH1700000000250000"),
                "authPayload": "AUTH1700000000250000",
                "authNonce": "1700000000250000",
                "filter": ["trading", "wallet"],
            },
        )

    def test_the_stream_is_the_authenticated_host(self):
        a = adapter()
        self.assertEqual(a.stream_address(""), "wss://api.bitfinex.com/ws/2")
        self.assertEqual(a.stream_address("wss://api-pub.bitfinex.com/ws/2"), "wss://api.bitfinex.com/ws/2")
        self.assertEqual(a.stream_address("ws://127.0.0.1:8765/ws/2"), "ws://127.0.0.1:8765/ws/2")


class ClientOrderIdTest(unittest.TestCase):
    def test_45_bits_of_the_key_distinct_per_wallet_set_and_revision(self):
        a = adapter()
        first = a.client_id(client_key(1, "my-order"), 0)
        self.assertEqual(first, str(int.from_bytes(hashlib.sha256(b"xwrap/1/my-order").digest()[:8], "big") >> 19))
        self.assertEqual(first, a.client_id(client_key(1, "my-order"), 0))
        self.assertNotEqual(first, a.client_id(client_key(2, "my-order"), 0))
        revisions = {a.client_id(client_key(1, "my-order"), r) for r in range(50)}
        self.assertEqual(len(revisions), 50)
        self.assertTrue(all(0 < int(cid) < 2**45 for cid in revisions))

    def test_cid_date_is_the_utc_day_the_order_was_made(self):
        self.assertEqual(
            [bitfinex.cid_date(t) for t in (CREATED, 1700006399.999, 1700006400.0)],
            ["2023-11-14", "2023-11-14", "2023-11-15"],
        )


class OrderTranslationTest(unittest.TestCase):
    def submitted(self, o):
        request = adapter().place_request(o, "123")
        self.assertEqual(
            (request.method, request.path, dict(request.costs)),
            ("POST", "/v2/auth/w/order/submit", {"w/order/submit": 1}),
        )
        return body_of(request)

    def test_order_types_sides_and_flags(self):
        common = {"symbol": "tMNABTC", "cid": 123, "gid": GID}
        self.assertEqual(
            self.submitted(order()), {**common, "type": "EXCHANGE LIMIT", "amount": "1000", "price": "0.000025"}
        )
        self.assertEqual(
            self.submitted(order(side=Side.SELL)),
            {**common, "type": "EXCHANGE LIMIT", "amount": "-1000", "price": "0.000025"},
        )
        self.assertEqual(self.submitted(order(post_only=True))["flags"], 4096)
        self.assertEqual(self.submitted(order(time_in_force=TimeInForce.IOC))["type"], "EXCHANGE IOC")
        self.assertEqual(self.submitted(order(time_in_force=TimeInForce.FOK))["type"], "EXCHANGE FOK")
        self.assertEqual(
            self.submitted(order(type=OrderType.MARKET, side=Side.SELL, price=None)),
            {**common, "type": "EXCHANGE MARKET", "amount": "-1000"},
        )
        self.assertEqual(
            self.submitted(order(type=OrderType.STOP_MARKET, price=None, stop_price=D("0.000026"))),
            {**common, "type": "EXCHANGE STOP", "amount": "1000", "price": "0.000026"},
        )
        stop_limit = order(type=OrderType.STOP_LIMIT, price=D("0.0000261"), stop_price=D("0.000026"))
        self.assertEqual(
            self.submitted(stop_limit),
            {
                **common,
                "type": "EXCHANGE STOP LIMIT",
                "amount": "1000",
                "price": "0.000026",
                "price_aux_limit": "0.0000261",
            },
        )

    def test_what_bitfinex_cannot_do_is_refused_naming_the_field(self):
        cases = [
            (order(time_in_force=TimeInForce.GTD, expire_time=1e9), "time_in_force", "GTD"),
            (order(type=OrderType.MARKET, size=None, price=None, funds=D("0.01")), "funds", "0.01"),
            (order(post_only=True, time_in_force=TimeInForce.IOC), "time_in_force", "IOC"),
            (order(type=OrderType.MARKET, price=None, time_in_force=TimeInForce.FOK), "time_in_force", "FOK"),
            (
                order(type=OrderType.STOP_MARKET, price=None, stop_price=D("0.000026"), time_in_force=TimeInForce.IOC),
                "time_in_force",
                "IOC",
            ),
        ]
        for o, field, got in cases:
            with self.subTest(field=field, got=got), self.assertRaises(InvalidParameter) as raised:
                adapter().check(o)
            self.assertEqual((raised.exception.field, raised.exception.got), (field, got))
        for fine in (
            order(),
            order(post_only=True),
            order(time_in_force=TimeInForce.FOK),
            order(type=OrderType.MARKET, price=None, time_in_force=TimeInForce.IOC),
        ):
            adapter().check(fine)

    def test_queries_look_in_the_open_orders_then_the_history_for_the_cid(self):
        a = adapter()
        expected = [
            (a.query_request(order(), "123"), "/v2/auth/r/orders/tMNABTC", {}, "r/orders"),
            (
                a.query_fallback(order(), "123"),
                "/v2/auth/r/orders/tMNABTC/hist",
                {"start": 1699999940000, "limit": 2500},
                "r/orders/hist",
            ),
            (
                a.query_request(order(exchange_order_id="4"), "123"),
                "/v2/auth/r/orders/tMNABTC",
                {"id": [4]},
                "r/orders",
            ),
            (
                a.query_fallback(order(exchange_order_id="4"), "123"),
                "/v2/auth/r/orders/tMNABTC/hist",
                {"id": [4]},
                "r/orders/hist",
            ),
        ]
        for request, path, body, quota in expected:
            with self.subTest(path=path, body=body):
                self.assertIsInstance(request, OrderQuery)
                self.assertEqual(
                    (request.path, body_of(request), dict(request.costs), request.client_id),
                    (path, body, {quota: 1}, "123"),
                )

    def test_cancels_fills_lists_and_their_quotas(self):
        a, known = adapter(), order(exchange_order_id="4")
        expected = [
            (a.cancel_request(known, "123"), "/v2/auth/w/order/cancel", {"id": 4}, "w/order/cancel"),
            (
                a.cancel_request(order(), "123"),
                "/v2/auth/w/order/cancel",
                {"cid": 123, "cid_date": "2023-11-14"},
                "w/order/cancel",
            ),
            (a.cancel_all_request(known.pair), "/v2/auth/w/order/cancel/multi", {"gid": [GID]}, "w/order/cancel/multi"),
            (a.fills_request(known, "4"), "/v2/auth/r/order/tMNABTC:4/trades", {}, "r/order/trades"),
            (a.open_orders_request(), "/v2/auth/r/orders", {}, "r/orders"),
            (a.balances_request(), "/v2/auth/r/wallets", {}, "r/wallets"),
        ]
        for request, path, body, quota in expected:
            with self.subTest(path=path, body=body):
                self.assertEqual(
                    (request.method, request.path, body_of(request), dict(request.costs)),
                    ("POST", path, body, {quota: 1}),
                )

    def test_a_quota_of_90_a_minute_for_every_endpoint_used(self):
        self.assertEqual(
            {(q.name, q.kind, q.count, q.seconds) for q in BitfinexPrivate.quotas},
            {
                (name, name, 90, 60.0)
                for name in (
                    "w/order/submit",
                    "w/order/update",
                    "w/order/cancel",
                    "w/order/cancel/multi",
                    "r/orders",
                    "r/orders/hist",
                    "r/order/trades",
                    "r/wallets",
                )
            },
        )

    def test_a_new_price_is_updated_in_place_a_new_size_cancelled_and_placed(self):
        a, o = adapter(), order(exchange_order_id="33", filled_size=D("400"))
        moved = a.amend_request(
            o, price=D("0.000024"), size=D("1000"), base=D(0), client_id="123", next_client_id="456"
        )
        self.assertEqual(
            (moved.method, moved.client_id, moved.request.path, body_of(moved.request), dict(moved.request.costs)),
            (
                "amend_requeued",
                "123",
                "/v2/auth/w/order/update",
                {"id": 33, "price": "0.000024"},
                {"w/order/update": 1},
            ),
        )
        same = a.amend_request(o, price=D("0.000025"), size=D("1000"), base=D(0), client_id="123", next_client_id="456")
        self.assertEqual(same.method, "amend")
        for price in ("0.000025", "0.000024"):
            smaller = a.amend_request(
                o, price=D(price), size=D("800"), base=D(0), client_id="123", next_client_id="456"
            )
            self.assertEqual((smaller.request, smaller.method, smaller.client_id), (None, "cancel_then_place", "456"))
        stop = order(type=OrderType.STOP_LIMIT, price=D("0.0000261"), stop_price=D("0.000026"), exchange_order_id="33")
        self.assertEqual(
            body_of(
                a.amend_request(
                    stop, price=D("0.0000262"), size=D("1000"), base=D(0), client_id="1", next_client_id="2"
                ).request
            ),
            {"id": 33, "price_aux_limit": "0.0000262"},
        )


class AnswersTest(unittest.TestCase):
    def test_a_submit_answer(self):
        # POST /v2/auth/w/order/submit, a real answer quoted in ccxt's bitfinex2 (a post-only sell)
        body = dumps(
            [
                1653325121,
                "on-req",
                None,
                None,
                [
                    [
                        95412102131,
                        None,
                        1653325121798,
                        "tDOGE:UST",
                        1653325121798,
                        1653325121798,
                        -10,
                        -10,
                        "EXCHANGE LIMIT",
                        None,
                        None,
                        None,
                        4096,
                        "ACTIVE",
                        None,
                        None,
                        D("0.071"),
                        0,
                        0,
                        0,
                        None,
                        None,
                        None,
                        0,
                        0,
                        None,
                        None,
                        None,
                        "API>BFX",
                        None,
                        None,
                        {"$F7": 1},
                    ]
                ],
                None,
                "SUCCESS",
                "Submitting 1 orders.",
            ]
        )
        report = adapter().parse_order(body, 0.0)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size, report.at, report.fills),
            ("95412102131", "1653325121798", OrderStatus.OPEN, D(0), 1653325121.798, ()),
        )

    def test_an_accepted_cancel_is_a_cancelled_order(self):
        # The documentation's oc-req notification (Cancel Order): the order as it was, ACTIVE
        body = dumps(
            [
                1575291219660,
                "oc-req",
                None,
                None,
                [
                    1185815100,
                    None,
                    1575289350475,
                    "tETHUSD",
                    1575289351944,
                    1575289447644,
                    -3,
                    -3,
                    "LIMIT",
                    "LIMIT",
                    None,
                    None,
                    0,
                    "ACTIVE",
                    None,
                    None,
                    240,
                    0,
                    0,
                    0,
                    None,
                    None,
                    None,
                    0,
                    0,
                    None,
                    None,
                    None,
                    "API>BFX",
                    None,
                    None,
                    None,
                ],
                None,
                "SUCCESS",
                "Submitted for cancellation; waiting for confirmation (ID: 1185815100).",
            ]
        )
        report = adapter().parse_order(body, 0.0)
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size),
            ("1185815100", "1575289350475", OrderStatus.CANCELLED, D(0)),
        )
        # partly filled when cancelled: 1 of 3 sold
        partly = json.loads(body)
        partly[4][6], partly[4][13] = -2, "PARTIALLY FILLED @ 240.0(-1.0)"
        report = adapter().parse_order(json.dumps(partly), 0.0)
        self.assertEqual((report.status, report.filled_size), (OrderStatus.CANCELLED, D(1)))
        # a cancel-multi notification: every order in it
        multi = [
            1575291219661,
            "oc_multi-req",
            None,
            None,
            [DOCS_ORDER, DOCS_ORDER[:2] + [None] + DOCS_ORDER[3:]],
            None,
            "SUCCESS",
            "Submitting 2 order cancellations.",
        ]
        reports = adapter().parse_orders(dumps(multi), 0.0)
        self.assertEqual(
            [(r.exchange_order_id, r.client_id, r.status) for r in reports],
            [("34930659963", "1574955083558", OrderStatus.CANCELLED), ("34930659963", "", OrderStatus.CANCELLED)],
        )

    def test_statuses(self):
        cases = [
            ("ACTIVE", OrderStatus.OPEN, ""),
            ("PARTIALLY FILLED @ 107.6(-0.2)", OrderStatus.PARTIALLY_FILLED, ""),
            ("EXECUTED @ 107.6(-0.2)", OrderStatus.FILLED, ""),
            ("CANCELED was: PARTIALLY FILLED @ 107.6(-0.2)", OrderStatus.CANCELLED, ""),
            ("POSTONLY CANCELED", OrderStatus.REJECTED, "POSTONLY CANCELED"),
            (
                "IOC CANCELED was: PARTIALLY FILLED @ 107.6(-0.2)",
                OrderStatus.EXPIRED,
                "IOC CANCELED was: PARTIALLY FILLED @ 107.6(-0.2)",
            ),
            ("FILLORKILL CANCELED", OrderStatus.EXPIRED, "FILLORKILL CANCELED"),
            (
                "INSUFFICIENT BALANCE (U1) was: PARTIALLY FILLED @ 107.6(-0.2)",
                OrderStatus.CANCELLED,
                "INSUFFICIENT BALANCE (U1) was: PARTIALLY FILLED @ 107.6(-0.2)",
            ),
            ("RSN_DUST", OrderStatus.CANCELLED, "RSN_DUST"),
        ]
        for text, status, reason in cases:
            with self.subTest(text=text):
                [report] = adapter().parse_orders(dumps([DOCS_ORDER[:13] + [text] + DOCS_ORDER[14:]]), 0.0)
                self.assertEqual((report.status, report.reason), (status, reason))
        with self.assertRaises(InvalidParameter) as raised:
            adapter().parse_orders(dumps([DOCS_ORDER[:13] + ["HALF BAKED"] + DOCS_ORDER[14:]]), 0.0)
        self.assertEqual(raised.exception.field, "STATUS of order 34930659963 on bitfinex")

    def test_the_filled_size_is_the_original_amount_less_what_remains(self):
        [executed, open_order] = adapter().parse_orders(dumps([EXECUTED, DOCS_ORDER]), 5.0)
        self.assertEqual(
            (executed.exchange_order_id, executed.client_id, executed.status, executed.filled_size, executed.at),
            ("8765161516", "1", OrderStatus.FILLED, D("0.01"), 1519641862.486),
        )
        self.assertEqual((open_order.status, open_order.filled_size), (OrderStatus.OPEN, D(0)))

    def test_a_query_answer_is_read_down_to_the_cid_asked(self):
        a = adapter()
        query = a.query_request(order(), "1574955083558")
        other = DOCS_ORDER[:2] + [99] + DOCS_ORDER[3:]
        answer = a.answered(query, Response(200, {}, dumps([other, DOCS_ORDER])))
        self.assertEqual(json.loads(answer.body, parse_float=D), json.loads(dumps([DOCS_ORDER]), parse_float=D))
        self.assertIn("0.201104,0.201104", answer.body)  # the numbers as written
        report = a.parse_order(answer.body, 0.0)
        self.assertEqual((report.exchange_order_id, report.status), ("34930659963", OrderStatus.OPEN))
        missing = a.answered(query, Response(200, {}, dumps([other])))
        self.assertEqual(missing.status, 404)
        error = a.error(missing)
        self.assertIsInstance(error, NotOnExchange)
        self.assertEqual(error.message, "Order not found: no order with cid 1574955083558 in /v2/auth/r/orders/tMNABTC")
        plain = Response(200, {}, dumps([other]))  # a list answer to another call: as it is
        self.assertIs(a.answered(a.open_orders_request(), plain), plain)

    def test_a_notification_that_is_not_success_is_its_refusal(self):
        a = adapter()
        answer = a.answered(
            a.place_request(order(), "1"),
            Response(
                200,
                {},
                dumps(
                    [
                        1575287438515,
                        "on-req",
                        None,
                        None,
                        [],
                        None,
                        "ERROR",
                        "Invalid order: minimum size for MNA/BTC is 6",
                    ]
                ),
            ),
        )
        error = a.error(answer)
        self.assertEqual(
            (type(error), error.status, error.message),
            (ExchangeRejected, 400, "Invalid order: minimum size for MNA/BTC is 6 (on-req ERROR)"),
        )

    def test_an_update_answer(self):
        body = dumps(
            [
                1575291219660,
                "ou-req",
                None,
                None,
                DOCS_ORDER[:5] + [1575291219660] + DOCS_ORDER[6:16] + [110] + DOCS_ORDER[17:],
                None,
                "SUCCESS",
                "Submitting update to exchange limit buy order.",
            ]
        )
        [report] = adapter().parse_amended(body, 0.0, None)
        self.assertEqual(
            (report.exchange_order_id, report.status, report.at), ("34930659963", OrderStatus.OPEN, 1575291219.66)
        )

    def test_trades_and_wallets(self):
        # Order Trades rows: [ID, SYMBOL, MTS, ORDER_ID, EXEC_AMOUNT, EXEC_PRICE, _, _, MAKER, FEE, FEE_CURRENCY, CID]
        trades = dumps(
            [
                [
                    402088407,
                    "tETHUST",
                    1574963975602,
                    34938060782,
                    D("-0.2"),
                    D("153.57"),
                    None,
                    None,
                    -1,
                    D("-0.061668"),
                    "UST",
                    1574963975456,
                ],
                [
                    402088408,
                    "tETHUST",
                    1574963975700,
                    34938060782,
                    D("0.5"),
                    D("153.5"),
                    None,
                    None,
                    1,
                    D("-0.0005"),
                    "ETH",
                    1574963975456,
                ],
            ]
        )
        taker, maker = adapter().parse_fills(trades, 0.0)
        self.assertEqual(
            [
                (f.order_id, f.trade_id, f.price, f.size, f.fee, f.fee_currency, f.liquidity, f.at, dict(f.cause))
                for f in (taker, maker)
            ],
            [
                (
                    "",
                    "402088407",
                    D("153.57"),
                    D("0.2"),
                    D("0.061668"),
                    "USDT",
                    Liquidity.TAKER,
                    1574963975.602,
                    {"exchange_order_id": "34938060782"},
                ),
                (
                    "",
                    "402088408",
                    D("153.5"),
                    D("0.5"),
                    D("0.0005"),
                    "ETH",
                    Liquidity.MAKER,
                    1574963975.7,
                    {"exchange_order_id": "34938060782"},
                ),
            ],
        )
        # Wallets rows: [WALLET_TYPE, CURRENCY, BALANCE, UNSETTLED_INTEREST, AVAILABLE_BALANCE, LAST_CHANGE, DETAILS]
        wallets = dumps(
            [
                [
                    "exchange",
                    "UST",
                    D("19788.6529257"),
                    0,
                    D("19788.6529257"),
                    "Exchange 2.0 UST for USD @ 11.696",
                    {"reason": "TRADE", "order_id": 1189740779},
                ],
                ["exchange", "BTC", D("0.5"), 0, D("0.4"), None, None],
                ["exchange", "ETH", 0, 0, 0, None, None],
                ["margin", "USD", 100, 0, 100, None, None],
                ["funding", "USD", 50, 0, 50, None, None],
            ]
        )
        self.assertEqual(
            adapter().parse_balances(wallets, 3.0),
            AccountBalances({"USDT": D("19788.6529257"), "BTC": D("0.5")}, 3.0, complete=True),
        )


class ErrorsTest(unittest.TestCase):
    def error(self, status, body):
        return adapter().error(Response(status, {}, body if isinstance(body, str) else json.dumps(body)))

    def test_an_error_array_is_a_refusal_whatever_its_http_status(self):
        refused = self.error(
            500, ["error", 10001, "Invalid order: not enough exchange balance for 1000.0 MNABTC at 0.000025"]
        )
        self.assertEqual(
            (type(refused), refused.status, refused.message),
            (
                ExchangeRejected,
                500,
                "Invalid order: not enough exchange balance for 1000.0 MNABTC at 0.000025 (code 10001)",
            ),
        )
        for body in (
            ["error", 10020, "limit: invalid"],
            ["error", 10114, "nonce: small"],
            ["error", 10100, "apikey: digest invalid"],
            ["error", 20060, "maintenance"],
        ):
            with self.subTest(body=body):
                self.assertIs(type(self.error(500, body)), ExchangeRejected)

    def test_order_not_found_and_unknown_outcomes(self):
        self.assertIsInstance(self.error(500, ["error", 10001, "Order not found."]), NotOnExchange)
        self.assertIsInstance(self.error(500, ["error", 10000, "internal error"]), ExchangeUnavailable)
        self.assertIsInstance(self.error(500, ["error", 10001, "Request timed out"]), ExchangeUnavailable)
        self.assertIsInstance(
            self.error(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"), ExchangeUnavailable
        )
        # a real 503 quoted in ccxt's bitfinex2
        self.assertIsInstance(
            self.error(
                503,
                {
                    "code": 503,
                    "error": "temporarily_unavailable",
                    "error_description": "Sorry, the service is temporarily unavailable. See "
                    "https://www.bitfinex.com/ for more info.",
                },
            ),
            ExchangeUnavailable,
        )
        self.assertIs(type(self.error(404, "Not Found")), ExchangeRejected)

    def test_rate_limit_answers_pause_the_account(self):
        a = adapter()
        limited = '{"error": "ERR_RATE_LIMIT"}'
        self.assertEqual(a.pause_for(Response(429, {}, limited), 0.0), 60.0)
        self.assertEqual(a.pause_for(Response(429, {"retry-after": "30"}, limited), 0.0), 30.0)
        self.assertEqual(a.pause_for(Response(500, {}, '["error", 11010, "ratelimit: error"]'), 0.0), 60.0)
        self.assertEqual(a.pause_for(Response(200, {}, limited), 0.0), 60.0)
        self.assertIsNone(a.pause_for(Response(500, {}, '["error", 10001, "Order not found."]'), 0.0))
        self.assertIsNone(a.pause_for(Response(502, {}, "<html>Bad Gateway</html>"), 0.0))


class StreamTest(unittest.TestCase):
    def parse(self, message):
        return adapter().parse_stream(dumps(message), 9.0)

    def test_log_in_and_events(self):
        [ok] = self.parse(
            {
                "event": "auth",
                "status": "OK",
                "chanId": 0,
                "userId": 324338,
                "auth_id": "a26236f1-ef44-4671-be32-197ce190348f",
                "caps": {"orders": {"read": 1}},
            }
        )
        self.assertEqual(ok, StreamNotice("authenticated (user 324338)"))
        [refused] = self.parse(
            {"event": "auth", "status": "FAILED", "chanId": 0, "msg": "apikey: digest invalid", "code": 10100}
        )
        self.assertEqual(refused, StreamNotice("auth refused: apikey: digest invalid (code 10100)", fatal=True))
        [stopping] = self.parse({"event": "info", "code": 20051, "msg": "Stopping. Please try to reconnect"})
        self.assertTrue(stopping.fatal)
        self.assertTrue(self.parse({"event": "info", "code": 20061, "msg": "Maintenance ended"})[0].fatal)
        for quiet in (
            {"event": "info", "version": 2, "serverId": "1", "platform": {"status": 1}},
            {"event": "info", "code": 20060, "msg": "Entering maintenance mode"},
            [0, "hb"],
            [0, "n", [1575287438515, "on-req", None, None, DOCS_ORDER, None, "SUCCESS", "Submitting"]],
            [0, "ps", []],
            [0, "bu", [100, 100]],
            [17470, "te", [1, 2, 3, 4]],
        ):
            with self.subTest(message=quiet):
                self.assertEqual(self.parse(quiet), [])

    def test_orders_report_their_fills_only_when_final(self):
        # the documentation's snapshot and cancel of one order
        [snapshot] = self.parse([0, "os", [DOCS_ORDER]])
        self.assertEqual(
            (snapshot.exchange_order_id, snapshot.client_id, snapshot.status, snapshot.filled_size),
            ("34930659963", "1574955083558", OrderStatus.OPEN, D(0)),
        )
        [cancelled] = self.parse([0, "oc", DOCS_CANCELLED])
        self.assertEqual((cancelled.status, cancelled.at), (OrderStatus.CANCELLED, 1574955354.487))
        partly = (
            DOCS_ORDER[:6] + [D("0.101104")] + DOCS_ORDER[7:13] + ["PARTIALLY FILLED @ 120.0(0.1)"] + DOCS_ORDER[14:]
        )
        [update] = self.parse([0, "ou", partly])  # its fill comes in the tu that follows
        self.assertEqual((update.status, update.filled_size), (OrderStatus.PARTIALLY_FILLED, D(0)))
        [executed] = self.parse([0, "oc", EXECUTED])  # final: the fills the exchange counts
        self.assertEqual((executed.status, executed.filled_size), (OrderStatus.FILLED, D("0.01")))

    def test_own_trades_tu_carries_the_fill_te_nothing(self):
        trade = [
            402088407,
            "tETHUST",
            1574963975602,
            34938060782,
            D("-0.2"),
            D("153.57"),
            "EXCHANGE MARKET",
            D("153.57"),
            -1,
            D("-0.061668"),
            "UST",
            1574963975456,
        ]
        self.assertEqual(self.parse([0, "te", trade[:9] + [None, None] + trade[11:]]), [])
        [report] = self.parse([0, "tu", trade])
        [fill] = report.fills
        self.assertEqual(
            (report.exchange_order_id, report.client_id, report.status, report.filled_size, report.at),
            ("34938060782", "1574963975456", OrderStatus.OPEN, D(0), 1574963975.602),
        )
        self.assertEqual(
            (fill.trade_id, fill.price, fill.size, fill.fee, fill.fee_currency, fill.liquidity),
            ("402088407", D("153.57"), D("0.2"), D("0.061668"), "USDT", Liquidity.TAKER),
        )

    def test_wallets(self):
        # the snapshot on logging in comes before the fills made while away are fetched: left out
        self.assertEqual(self.parse([0, "ws", [["exchange", "BTC", D("0.00112837"), 0, None, None, None]]]), [])
        # a real wu (ctubio/Krypto-trading-bot issue #1018's log); an emptied wallet is said too
        [update] = self.parse([0, "wu", ["exchange", "BTC", D("0.00112837"), 0, D("0.00112837"), None, None]])
        self.assertEqual(update, AccountBalances({"BTC": D("0.00112837")}, 9.0, complete=False))
        [emptied] = self.parse([0, "wu", ["exchange", "UST", 0, 0, 0, None, None]])
        self.assertEqual(emptied.totals, {"USDT": D(0)})
        self.assertEqual(self.parse([0, "wu", ["funding", "USD", 5, 0, 5, None, None]]), [])


if __name__ == "__main__":
    unittest.main()
