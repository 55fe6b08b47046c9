"""The private side of the Luno adapter, pure: HTTP basic authentication with Luno's documented
example key, the placement's ``timestamp``/``ttl``, client ids, each order type's request and what
Luno cannot do, answers read with the ids their request carried, orders, trades, balances, errors.
Luno's answers are in the shapes of its API reference (luno-go's generated types)."""

import base64
import json
import unittest
from decimal import Decimal
from urllib.parse import parse_qsl

from exchange_wrapper.core.errors import ExchangeRejected, ExchangeUnavailable, InvalidParameter
from exchange_wrapper.core.execution import OrderReport
from exchange_wrapper.core.orders import Fill, Liquidity, OrderStatus, OrderType, Side, TimeInForce
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.base import Credentials
from exchange_wrapper.exchanges.http import Request, Response
from exchange_wrapper.exchanges.luno import private as luno
from exchange_wrapper.exchanges.private import NotOnExchange, client_key, private_adapter_class
from tests.exchanges.markets_contract import captured_body
from tests.exchanges.private_case import order_of

BODY = captured_body("LUNO.0", "https://api.luno.com/api/exchange/1/markets")
TABLE = SymbolTable("luno", luno.parse_markets(BODY))
KEY = Credentials("cnz2yjswbv3jd", "0hydMZDb9HRR3Qq-iqALwZtXLkbLR4fWxtDZvkB9h4I")  # the documented example key
NOW = 1_700_000_000.25


def adapter():
    return luno.LunoPrivate(TABLE, KEY)


def order(size="0.01", price="1750000", **extra):
    return order_of("luno", "BTC_ZAR", size, price, **extra)


def form(request):
    return dict(parse_qsl(request.body))


class SigningTest(unittest.TestCase):
    def test_basic_authentication_with_the_key_id_and_secret(self):
        signed = adapter().sign(adapter().balances_request(), NOW)
        expected = base64.b64encode(b"cnz2yjswbv3jd:0hydMZDb9HRR3Qq-iqALwZtXLkbLR4fWxtDZvkB9h4I").decode()
        self.assertEqual(
            (signed.method, signed.path, signed.params, signed.body, dict(signed.headers)),
            ("GET", "/api/1/balance", {}, None, {"Authorization": f"Basic {expected}"}),
        )
        self.assertIs(private_adapter_class("luno"), luno.LunoPrivate)

    def test_a_placement_goes_as_a_form_with_its_timestamp_and_ttl(self):
        request = adapter().place_request(order(), "xwabc")
        signed = adapter().sign(request, NOW)
        self.assertEqual((signed.method, signed.path, signed.params), ("POST", "/api/1/postorder", {}))
        self.assertEqual(
            form(signed),
            {
                "pair": "XBTZAR",
                "type": "BID",
                "volume": "0.01",
                "price": "1750000",
                "time_in_force": "GTC",
                "client_order_id": "xwabc",
                "timestamp": "1700000000250",
                "ttl": "10000",
            },
        )
        self.assertEqual(adapter().recv_window, 10.0)
        cancel = adapter().sign(adapter().cancel_request(order(exchange_order_id="BXMC2CJ7HNB88U4"), "xwabc"), NOW)
        self.assertEqual(form(cancel), {"order_id": "BXMC2CJ7HNB88U4"})  # no timestamp: only placements take one


class ClientIdTest(unittest.TestCase):
    def test_deterministic_within_the_format_and_distinct_per_wallet_set(self):
        first = adapter().client_id(client_key(1, "a1"), 0)
        self.assertEqual(first, adapter().client_id(client_key(1, "a1"), 0))
        self.assertNotEqual(first, adapter().client_id(client_key(2, "a1"), 0))
        self.assertRegex(first, r"^xw[0-9a-f]{32}$")
        self.assertEqual(adapter().client_id(client_key(1, "a1"), 3), first + "-3")


class RequestsTest(unittest.TestCase):
    def test_order_types_and_times_in_force(self):
        cases = [
            (order(post_only=True), "/api/1/postorder", {"post_only": "true"}),
            (order(time_in_force=TimeInForce.IOC), "/api/1/postorder", {"time_in_force": "IOC"}),
            (
                order(side=Side.SELL, time_in_force=TimeInForce.FOK),
                "/api/1/postorder",
                {"type": "ASK", "time_in_force": "FOK"},
            ),
            (
                order(type=OrderType.STOP_LIMIT, stop_price=Decimal("1700000")),
                "/api/1/postorder",
                {"stop_price": "1700000", "stop_direction": "RELATIVE_LAST_TRADE"},
            ),
            (
                order(None, None, type=OrderType.MARKET, funds=Decimal("500")),
                "/api/1/marketorder",
                {"type": "BUY", "counter_volume": "500"},
            ),
            (
                order("0.02", None, type=OrderType.MARKET, side=Side.SELL),
                "/api/1/marketorder",
                {"type": "SELL", "base_volume": "0.02"},
            ),
        ]
        for case, path, fields in cases:
            with self.subTest(path=path, fields=fields):
                adapter().check(case)
                request = adapter().place_request(case, "xwabc")
                self.assertEqual((request.method, request.path, request.costs), ("POST", path, {"requests": 1}))
                self.assertEqual({name: request.params[name] for name in fields}, fields)
                self.assertEqual(request.params["client_order_id"], "xwabc")
                self.assertEqual(request.params["pair"], "XBTZAR")

    def test_what_luno_cannot_do_is_refused_naming_the_field(self):
        cases = [
            (
                order(type=OrderType.STOP_MARKET, stop_price=Decimal(1)),
                "type: expected market, limit or stop_limit: luno has no stop-market order, got 'stop_market'",
            ),
            (
                order(time_in_force=TimeInForce.GTD, expire_time=NOW + 60),
                "time_in_force: expected GTC, IOC or FOK: luno has no GTD, got 'GTD'",
            ),
            (
                order(post_only=True, time_in_force=TimeInForce.IOC),
                "time_in_force: expected GTC for a post-only order on luno, got 'IOC'",
            ),
            (
                order("0.01", None, type=OrderType.MARKET),
                "funds: missing, expected a quote amount: luno takes a market buy by counter_volume",
            ),
            (
                order(None, None, type=OrderType.MARKET, side=Side.SELL, funds=Decimal(5)),
                "funds: expected a size: luno takes a market sell by base_volume, got '5'",
            ),
            (
                order(None, None, type=OrderType.MARKET, funds=Decimal(5), time_in_force=TimeInForce.FOK),
                "time_in_force: expected GTC or IOC for a market order on luno, got 'FOK'",
            ),
        ]
        for case, message in cases:
            with self.subTest(message=message), self.assertRaises(InvalidParameter) as raised:
                adapter().check(case)
            self.assertEqual(str(raised.exception), message)
        with self.assertRaises(InvalidParameter) as raised:
            adapter().cancel_request(order(), "xwabc")
        self.assertEqual(
            str(raised.exception), "exchange_order_id: missing, expected the order's id on luno: it cancels by it only"
        )

    def test_queries_fills_lists_and_no_cancel_all_or_amend(self):
        placed = order(exchange_order_id="BXMC2CJ7HNB88U4", created_at=NOW)
        query = adapter().query_request(placed, "xwabc")
        self.assertEqual(
            (query.method, query.path, query.params), ("GET", "/api/exchange/3/order", {"client_order_id": "xwabc"})
        )
        fills = adapter().fills_request(placed, "BXMC2CJ7HNB88U4")
        self.assertEqual(
            (fills.path, fills.params),
            ("/api/1/listtrades", {"pair": "XBTZAR", "since": 1_699_999_999_250, "limit": 1000}),
        )
        listed = adapter().open_orders_request()
        self.assertEqual(
            (listed.path, listed.params), ("/api/exchange/2/listorders", {"closed": "false", "limit": 1000})
        )
        self.assertIsNone(adapter().cancel_all_request(Pair("BTC", "ZAR")))
        amendment = adapter().amend_request(
            placed, price=Decimal(1), size=Decimal(1), base=Decimal(0), client_id="xwabc", next_client_id="xwabc-1"
        )
        self.assertEqual(
            (amendment.request, amendment.method, amendment.client_id), (None, "cancel_then_place", "xwabc-1")
        )


def order_v3(**changes):
    """An order as ``GET /api/exchange/3/order`` answers it (luno-go's GetOrderV3Response)."""
    return {
        "base": "0.004",
        "client_order_id": "xwabc",
        "completed_timestamp": 0,
        "counter": "7000",
        "creation_timestamp": 1_700_000_000_000,
        "expiration_timestamp": 0,
        "fee_base": "0",
        "fee_counter": "0",
        "limit_price": "1750000",
        "limit_volume": "0.01",
        "order_id": "BXMC2CJ7HNB88U4",
        "pair": "XBTZAR",
        "side": "BUY",
        "status": "PENDING",
        "stop_direction": "",
        "stop_price": "0",
        "time_in_force": "GTC",
        "type": "LIMIT",
        **changes,
    }


class AnswersTest(unittest.TestCase):
    def test_a_placement_and_a_cancel_are_read_with_the_ids_they_were_sent_with(self):
        placement = adapter().place_request(order(), "xwabc")
        answer = adapter().answered(placement, Response(200, {}, '{"order_id":"BXMC2CJ7HNB88U4"}'))
        self.assertEqual(
            adapter().parse_order(answer.body, NOW),
            OrderReport("BXMC2CJ7HNB88U4", "xwabc", OrderStatus.OPEN, Decimal(0), NOW),
        )
        cancel = adapter().cancel_request(order(exchange_order_id="BXMC2CJ7HNB88U4"), "xwabc")
        answer = adapter().answered(cancel, Response(200, {}, '{"success":true}'))
        self.assertEqual(adapter().parse_order(answer.body, NOW).exchange_order_id, "BXMC2CJ7HNB88U4")
        refused = Response(400, {}, '{"error":"x","error_code":"ErrInsufficientBalance"}')
        self.assertIs(adapter().answered(placement, refused), refused)
        self.assertFalse(adapter().cancel_reports_order)  # the order is asked about after a cancel

    def test_an_order_is_open_filled_or_cancelled_by_its_status_and_volume(self):
        cases = [
            (order_v3(status="AWAITING", base="0"), OrderStatus.OPEN, NOW),
            (order_v3(), OrderStatus.PARTIALLY_FILLED, NOW),
            (
                order_v3(status="COMPLETE", base="0.01", completed_timestamp=1_700_000_100_000),
                OrderStatus.FILLED,
                1_700_000_100.0,
            ),
            (
                order_v3(
                    status="COMPLETE", expiration_timestamp=1_700_000_050_000, completed_timestamp=1_700_000_050_000
                ),
                OrderStatus.CANCELLED,
                1_700_000_050.0,
            ),
            (
                order_v3(status="COMPLETE", type="MARKET", limit_volume="0", base="0.0041", completed_timestamp=1),
                OrderStatus.FILLED,
                0.001,
            ),
        ]
        for raw, status, at in cases:
            with self.subTest(status=status):
                report = adapter().parse_order(json.dumps(raw), NOW)
                self.assertEqual(
                    (report.exchange_order_id, report.client_id, report.status, report.filled_size, report.at),
                    ("BXMC2CJ7HNB88U4", "xwabc", status, Decimal(raw["base"]), at),
                )
        with self.assertRaises(InvalidParameter) as raised:
            adapter().parse_order(json.dumps(order_v3(status="LOST")), NOW)
        self.assertEqual(
            str(raised.exception), "status of order on luno: expected AWAITING, PENDING or COMPLETE, got 'LOST'"
        )
        listed = json.dumps({"orders": [order_v3(), order_v3(order_id="BXOTHER", client_order_id="")]})
        self.assertEqual(
            [(r.exchange_order_id, r.client_id) for r in adapter().parse_orders(listed, NOW)],
            [("BXMC2CJ7HNB88U4", "xwabc"), ("BXOTHER", "")],
        )
        self.assertEqual(adapter().parse_orders('{"orders":null}', NOW), [])

    def test_trades_name_maker_or_taker_and_their_fee(self):
        trades = {
            "trades": [
                # our bid, taken by a seller: maker; the fee in what a buy gets
                {
                    "base": "0.004",
                    "counter": "7000",
                    "fee_base": "0.000004",
                    "fee_counter": "0",
                    "is_buy": False,
                    "order_id": "BXMC2CJ7HNB88U4",
                    "client_order_id": "xwabc",
                    "pair": "XBTZAR",
                    "price": "1750000",
                    "sequence": 24509303,
                    "timestamp": 1_700_000_001_000,
                    "type": "BID",
                    "volume": "0.004",
                },
                # our ask that took a bid: taker; the fee in ZAR
                {
                    "base": "0.002",
                    "counter": "3500",
                    "fee_base": "0",
                    "fee_counter": "3.5",
                    "is_buy": False,
                    "order_id": "BXSELL",
                    "client_order_id": "",
                    "pair": "XBTZAR",
                    "price": "1750000",
                    "sequence": 24509304,
                    "timestamp": 1_700_000_002_000,
                    "type": "ASK",
                    "volume": "0.002",
                },
            ]
        }
        self.assertEqual(
            adapter().parse_fills(json.dumps(trades), NOW),
            [
                Fill(
                    "",
                    "24509303",
                    Decimal(1750000),
                    Decimal("0.004"),
                    Decimal("0.000004"),
                    "BTC",
                    Liquidity.MAKER,
                    1_700_000_001.0,
                    {"exchange_order_id": "BXMC2CJ7HNB88U4"},
                ),
                Fill(
                    "",
                    "24509304",
                    Decimal(1750000),
                    Decimal("0.002"),
                    Decimal("3.5"),
                    "ZAR",
                    Liquidity.TAKER,
                    1_700_000_002.0,
                    {"exchange_order_id": "BXSELL"},
                ),
            ],
        )
        self.assertEqual(adapter().parse_fills('{"trades":null}', NOW), [])

    def test_balances_per_currency_over_its_accounts_reserved_included_unconfirmed_not(self):
        body = {
            "balance": [
                {
                    "account_id": "119",
                    "asset": "XBT",
                    "balance": "0.50",
                    "reserved": "0.10",
                    "unconfirmed": "0",
                    "name": "XBT Account",
                },
                {
                    "account_id": "120",
                    "asset": "XBT",
                    "balance": "0.25",
                    "reserved": "0",
                    "unconfirmed": "0",
                    "name": "Savings",
                },
                {
                    "account_id": "121",
                    "asset": "ZAR",
                    "balance": "1000.00",
                    "reserved": "0",
                    "unconfirmed": "250.00",  # a deposit not confirmed yet: not the account's to spend
                    "name": "ZAR Account",
                },
                {
                    "account_id": "122",
                    "asset": "ETH",
                    "balance": "0",
                    "reserved": "0",
                    "unconfirmed": "0",
                    "name": "ETH Account",
                },
            ]
        }
        balances = adapter().parse_balances(json.dumps(body), NOW)
        self.assertEqual(
            (dict(balances.totals), balances.at, balances.complete),
            ({"BTC": Decimal("0.75"), "ZAR": Decimal(1000)}, NOW, True),
        )

    def test_errors_say_whether_the_order_exists_and_whether_the_outcome_is_known(self):
        cases = [
            (
                404,
                '{"error":"order not found","error_code":"ErrOrderNotFound"}',
                NotOnExchange,
                "luno refused the request (HTTP 404): ErrOrderNotFound: order not found",
            ),
            (
                409,
                '{"error":"client order id already used","error_code":"ErrDuplicateClientOrderID"}',
                ExchangeUnavailable,
                "luno unavailable: outcome unknown: HTTP 409: ErrDuplicateClientOrderID: client order id already used",
            ),
            (
                503,
                "<html>busy</html>",
                ExchangeUnavailable,
                "luno unavailable: outcome unknown: HTTP 503: <html>busy</html>",
            ),
            (
                400,
                '{"error":"Insufficient balance","error_code":"ErrInsufficientBalance"}',
                ExchangeRejected,
                "luno refused the request (HTTP 400): ErrInsufficientBalance: Insufficient balance",
            ),
        ]
        for status, body, kind, message in cases:
            with self.subTest(status=status):
                error = adapter().error(Response(status, {}, body))
                self.assertIs(type(error), kind)
                self.assertEqual(str(error), message)

    def test_a_429_pauses_for_its_retry_after(self):
        self.assertEqual(adapter().pause_for(Response(429, {"retry-after": "3"}, ""), NOW), 3.0)
        self.assertGreater(adapter().pause_for(Response(429, {}, ""), NOW), 0)
        self.assertIsNone(adapter().pause_for(Response(400, {}, ""), NOW))
        self.assertEqual([(q.kind, q.count, q.seconds) for q in adapter().quotas], [("requests", 300, 60)])
        self.assertIsNone(adapter().stream_url)  # polled
        self.assertIsInstance(adapter().balances_request(), Request)


if __name__ == "__main__":
    unittest.main()
