"""The REST door over a real socket, on the recorded Coinbase traffic: paper orders, every error
kind with its status and the one JSON shape, tokens, CORS, size limits, metrics."""

import logging
from dataclasses import replace
from decimal import Decimal as D
from unittest import mock

from exchange_wrapper.contract import ERROR_CODES
from exchange_wrapper.core.markets import MarketStatus

from .recorded import READ_TOKEN, SKL, TOKENS, TRADE_TOKEN, RecordedServiceTest

V1 = "/xwrap/v1"


class RestTradingTest(RecordedServiceTest):
    async def test_a_paper_market_buy_fills_against_the_book_and_moves_the_wallets(self):
        ws = await self.funded_wallet_set()
        ask_price, ask_size = self.server.hub.book("coinbase", SKL).asks.best
        book = await self.ok("GET", f"{V1}/book?exchange=coinbase&pair=SKL_USD&depth=3")
        self.assertEqual((book["state"], len(book["bids"]), len(book["asks"])), ("live", 3, 3))
        self.assertEqual([D(x) for x in book["asks"][0]], [ask_price, ask_size])
        self.assertLess(D(book["bids"][0][0]), ask_price)
        (market,) = await self.ok("GET", f"{V1}/markets?exchange=coinbase&pair=SKL_USD")
        order = await self.ok(
            "POST",
            f"{V1}/orders",
            {
                "wallet_set_id": ws,
                "exchange": "coinbase",
                "pair": "SKL_USD",
                "side": "buy",
                "type": "market",
                "size": "100",
                "client_order_id": "rest-1",
            },
        )
        self.assertEqual(
            (order["status"], order["client_order_id"], D(order["filled_size"])), ("filled", "rest-1", D(100))
        )
        self.assertLessEqual(D(100), ask_size)  # the best level covers it: one fill at its price
        self.assertEqual(
            [(D(f["price"]), D(f["size"]), f["liquidity"]) for f in order["fills"]], [(ask_price, D(100), "taker")]
        )
        self.assertEqual(D(order["average_price"]), ask_price)
        fee = ask_price * 100 * D(market["taker_fee"])
        self.assertEqual(D(order["fees"]), fee)

        usd = await self.ok("GET", f"{V1}/wallet_sets/{ws}/wallets?exchange=coinbase&currency=USD")
        self.assertEqual(
            (D(usd["balance"]), D(usd["hold"]), D(usd["available"])),
            (1000 - ask_price * 100 - fee, D(0), 1000 - ask_price * 100 - fee),
        )
        skl = await self.ok("GET", f"{V1}/wallet_sets/{ws}/wallets?exchange=coinbase&currency=SKL")
        self.assertEqual(D(skl["balance"]), D(2100))
        wallet_set = await self.ok("GET", f"{V1}/wallet_sets/{ws}")
        self.assertEqual(
            {(w["currency"], D(w["balance"])) for w in wallet_set["wallets"]},
            {("USD", D(usd["balance"])), ("SKL", D(2100))},
        )

        detail = await self.ok("GET", f"{V1}/orders/{order['id']}")
        self.assertEqual(detail["fills"], order["fills"])
        self.assertEqual([e["to"] for e in detail["events"]], ["pending", "open", "filled"])
        self.assertEqual(await self.ok("GET", f"{V1}/fills?order_id={order['id']}"), order["fills"])
        recent = await self.ok("GET", f"{V1}/orders?wallet_set_id={ws}&status=recent")
        self.assertEqual([o["id"] for o in recent["orders"]], [order["id"]])
        self.assertEqual((await self.ok("GET", f"{V1}/orders?wallet_set_id={ws}"))["orders"], [])

    async def test_a_resting_limit_order_holds_funds_is_amended_then_cancelled(self):
        ws = await self.funded_wallet_set()
        ask = self.server.hub.book("coinbase", SKL).asks.best[0]
        order = await self.ok(
            "POST",
            f"{V1}/orders",
            {
                "wallet_set_id": ws,
                "exchange": "coinbase",
                "pair": "SKL_USD",
                "side": "sell",
                "price": str(ask + D("0.05")),
                "size": "300",
            },
        )
        self.assertEqual((order["status"], order["fills"]), ("open", []))
        skl = await self.ok("GET", f"{V1}/wallet_sets/{ws}/wallets?exchange=coinbase&currency=SKL")
        self.assertEqual((D(skl["hold"]), D(skl["available"])), (D(300), D(1700)))
        amended = await self.ok("POST", f"{V1}/orders/{order['id']}/amend", {"size": "200"})
        self.assertEqual(
            (amended["id"], D(amended["size"]), D(amended["price"])), (order["id"], D(200), ask + D("0.05"))
        )
        skl = await self.ok("GET", f"{V1}/wallet_sets/{ws}/wallets?exchange=coinbase&currency=SKL")
        self.assertEqual((D(skl["hold"]), D(skl["available"])), (D(200), D(1800)))
        open_orders = await self.ok("GET", f"{V1}/orders?wallet_set_id={ws}&status=open")
        self.assertEqual([o["id"] for o in open_orders["orders"]], [order["id"]])
        cancelled = await self.ok("POST", f"{V1}/orders/{order['id']}/cancel")
        self.assertEqual(cancelled["status"], "cancelled")
        skl = await self.ok("GET", f"{V1}/wallet_sets/{ws}/wallets?exchange=coinbase&currency=SKL")
        self.assertEqual((D(skl["hold"]), D(skl["available"])), (D(0), D(2000)))
        self.assertEqual(await self.ok("POST", f"{V1}/orders/cancel_all", {"wallet_set_id": ws}), {"cancelled": []})

    async def test_a_resting_buy_holds_its_cost_and_the_worst_fee_and_an_amend_moves_the_hold(self):
        ws = await self.funded_wallet_set()
        bid = self.server.hub.book("coinbase", SKL).bids.best[0]
        (market,) = await self.ok("GET", f"{V1}/markets?exchange=coinbase&pair=SKL_USD")
        with_fee = 1 + D(market["taker_fee"])
        order = await self.ok(
            "POST",
            f"{V1}/orders",
            {
                "wallet_set_id": ws,
                "exchange": "coinbase",
                "pair": "SKL_USD",
                "side": "buy",
                "price": str(bid - D("0.05")),
                "size": "100",
            },
        )
        usd = await self.ok("GET", f"{V1}/wallet_sets/{ws}/wallets?exchange=coinbase&currency=USD")
        self.assertEqual(D(usd["hold"]), (bid - D("0.05")) * 100 * with_fee)
        amended = await self.ok("POST", f"{V1}/orders/{order['id']}/amend", {"price": str(bid - D("0.1"))})
        self.assertEqual(D(amended["price"]), bid - D("0.1"))
        usd = await self.ok("GET", f"{V1}/wallet_sets/{ws}/wallets?exchange=coinbase&currency=USD")
        self.assertEqual(D(usd["hold"]), (bid - D("0.1")) * 100 * with_fee)

    async def test_cancel_all_and_transfers(self):
        ws, other = await self.funded_wallet_set("one"), await self.funded_wallet_set("two")
        bid = self.server.hub.book("coinbase", SKL).bids.best[0]
        for size in ("100", "200"):
            await self.ok(
                "POST",
                f"{V1}/orders",
                {
                    "wallet_set_id": ws,
                    "exchange": "coinbase",
                    "pair": "SKL_USD",
                    "side": "buy",
                    "price": str(bid - D("0.05")),
                    "size": size,
                },
            )
        done = await self.ok("POST", f"{V1}/orders/cancel_all", {"exchange": "coinbase", "pair": "SKL_USD"})
        self.assertEqual(
            sorted((o["size"], o["status"]) for o in done["cancelled"]), [("100", "cancelled"), ("200", "cancelled")]
        )
        moved = await self.ok(
            "POST",
            f"{V1}/transfers",
            {
                "from_wallet_set_id": ws,
                "to_wallet_set_id": other,
                "exchange": "coinbase",
                "currency": "USD",
                "amount": "250",
            },
        )
        self.assertEqual(sorted(D(p["amount"]) for p in moved["entry"]["postings"]), [D(-250), D(250)])
        usd = await self.ok("GET", f"{V1}/wallet_sets/{other}/wallets?exchange=coinbase&currency=USD")
        self.assertEqual(D(usd["balance"]), D(1250))
        names = [w["name"] for w in await self.ok("GET", f"{V1}/wallet_sets")]
        self.assertEqual(sorted(names), ["one", "two"])

    async def test_every_answered_call_is_counted_under_the_rest_door(self):
        await self.ok("GET", f"{V1}/pricing?exchange=coinbase")
        await self.call("GET", f"{V1}/book?exchange=coinbase&pair=SKL_USD&depth=0")
        _, _, text = await self.call("GET", "/metrics")
        self.assertIn('xwrap_requests_total{door="rest",method="get_pricing",outcome="ok"} 1.0', text)
        self.assertIn('xwrap_requests_total{door="rest",method="get_book",outcome="invalid_parameter"} 1.0', text)

    async def test_echo_and_the_openapi_document_are_served(self):
        body = {"text": "é", "list": [1, "2"], "nested": {"flag": True}}
        self.assertEqual(await self.ok("POST", f"{V1}/echo", body), body)
        document = await self.ok("GET", f"{V1}/openapi.json")
        self.assertEqual(document["openapi"], "3.1.0")


class RestErrorsTest(RecordedServiceTest):
    def assertError(self, answer, status, kind, **details):
        """``answer`` is the one error shape with this kind and status (checked against the table too)."""
        code, _, body = answer
        self.assertEqual((code, ERROR_CODES[kind][1]), (status, status), body)
        self.assertEqual(list(body), ["error"])
        self.assertEqual(sorted(body["error"]), ["details", "kind", "message"])
        self.assertEqual(body["error"]["kind"], kind)
        self.assertIsInstance(body["error"]["message"], str)
        for key, value in details.items():
            self.assertEqual(body["error"]["details"].get(key), value, body)

    async def test_each_rejection_has_its_kind_status_and_shape(self):
        ws = await self.funded_wallet_set()
        order = {"wallet_set_id": ws, "exchange": "coinbase", "pair": "SKL_USD", "side": "buy"}
        book = f"{V1}/book?exchange=coinbase&pair=SKL_USD"
        cases = [
            (("GET", book + "&depth=0"), 400, "invalid_parameter", {"field": "depth"}),
            (("GET", book + "&depth=ten"), 400, "invalid_parameter", {"field": "depth"}),
            (("GET", book + "&colour=red"), 400, "invalid_parameter", {"field": "colour"}),
            (("GET", book + "&pair=ETH_USD"), 400, "invalid_parameter", {"field": "pair"}),
            (("GET", f"{V1}/book?exchange=coinbase"), 400, "invalid_parameter", {"field": "pair"}),
            (("GET", f"{V1}/wallet_sets/two"), 400, "invalid_parameter", {"field": "wallet_set_id"}),
            (("POST", f"{V1}/orders", b'{"size": '), 400, "invalid_parameter", {"field": "body"}),
            (("POST", f"{V1}/orders", b"[1, 2]"), 400, "invalid_parameter", {"field": "body"}),
            (("POST", f"{V1}/orders", b"\xff\xfe{}"), 400, "invalid_parameter", {"field": "body"}),
            (("POST", f"{V1}/orders?size=1", order), 400, "invalid_parameter", {"field": "size"}),
            (
                ("POST", f"{V1}/orders", {**order, "size": "1", "price": "1", "colour": "red"}),
                400,
                "invalid_parameter",
                {"field": "colour"},
            ),
            (("POST", f"{V1}/orders", {**order, "size": "1"}), 400, "invalid_parameter", {"field": "price"}),
            (("POST", f"{V1}/orders/7/cancel", {"order_id": "8"}), 400, "invalid_parameter", {"field": "order_id"}),
            (("GET", f"{V1}/pricing?exchange=nasdaq"), 404, "unknown_exchange", {"exchange": "nasdaq"}),
            (("GET", f"{V1}/book?exchange=coinbase&pair=SKL_JPY"), 404, "unknown_pair", {"pair": "SKL_JPY"}),
            (
                ("POST", f"{V1}/orders", {**order, "price": "0.5", "size": "0.01"}),
                422,
                "precision_violation",
                {"rule": "min_size", "limit": "5"},
            ),  # SKL-USD's base_min_size in the recorded product list
            (
                ("POST", f"{V1}/orders", {**order, "price": "0.5", "size": "5000"}),
                422,
                "insufficient_funds",
                {"currency": "USD", "available": "1000"},
            ),
            (("GET", f"{V1}/orders/424242"), 404, "order_not_found", {"key": "424242"}),
            (("POST", f"{V1}/orders/424242/cancel"), 404, "order_not_found", {"key": "424242"}),
            (("GET", f"{V1}/wallet_sets/4242"), 404, "not_found", {"what": "wallet set"}),
            (("GET", f"{V1}/nothing-here"), 404, "not_found", {"what": "route"}),
            (("POST", f"{V1}/wallet_sets", {"name": "paper"}), 409, "conflict", {}),
            (
                ("GET", f"{V1}/markets?exchange=binance"),  # enabled, not started: only coinbase is replayed
                503,
                "exchange_unavailable",
                {"exchange": "binance"},
            ),
        ]
        for request, status, kind, details in cases:
            with self.subTest(request=request[:2], kind=kind):
                self.assertError(await self.call(*request), status, kind, **details)

    async def test_a_market_that_stopped_taking_orders_refuses_them(self):
        ws = await self.funded_wallet_set()
        markets = self.server.hub.exchanges["coinbase"].markets  # none recorded was closed: as Coinbase's
        markets[SKL] = replace(markets[SKL], status=MarketStatus.CANCEL_ONLY)  # status channel would say
        answer = await self.call(
            "POST",
            f"{V1}/orders",
            {
                "wallet_set_id": ws,
                "exchange": "coinbase",
                "pair": "SKL_USD",
                "side": "buy",
                "price": "0.5",
                "size": "10",
            },
        )
        self.assertError(answer, 422, "market_closed", pair="SKL_USD", reason="market is cancel_only")

    async def test_the_http_layer_refusals_keep_their_status_in_the_same_shape(self):
        for method, path, status in (
            ("PUT", f"{V1}/orders", 405),
            ("POST", f"{V1}/orders/1", 405),
            ("DELETE", f"{V1}/wallet_sets/1", 405),
        ):
            with self.subTest(method=method, path=path):
                code, headers, body = await self.call(method, path)
                self.assertEqual(
                    (code, body["error"]["kind"], sorted(body["error"])),
                    (status, "invalid_request", ["details", "kind", "message"]),
                )
                self.assertIn("GET", headers["Allow"])

    async def test_an_unexpected_failure_is_a_500_in_the_same_shape_and_says_nothing_more(self):
        with (
            mock.patch("exchange_wrapper.service.api._market_json", side_effect=RuntimeError("secret detail")),
            self.assertLogs("exchange_wrapper.service.http", logging.ERROR),
        ):
            answer = await self.call("GET", f"{V1}/markets?exchange=coinbase")
        self.assertError(answer, 500, "internal_error")
        self.assertNotIn("secret", answer[2]["error"]["message"])


class RestAuthTest(RecordedServiceTest):
    settings_overrides = {"tokens": TOKENS}

    async def test_tokens_and_scopes(self):
        records = []
        handler = logging.Handler(logging.DEBUG)
        handler.emit = records.append
        root = logging.getLogger()
        level, root.level = root.level, logging.DEBUG
        root.addHandler(handler)
        self.addCleanup(root.removeHandler, handler)
        self.addCleanup(root.setLevel, level)

        status, _, body = await self.call("GET", f"{V1}/status")
        self.assertEqual((status, body["error"]["kind"]), (401, "unauthorised"))
        status, _, body = await self.call("GET", f"{V1}/status", token="not-a-token-of-ours")
        self.assertEqual((status, body["error"]["kind"]), (401, "unauthorised"))
        status, _, body = await self.call("GET", f"{V1}/status", headers={"Authorization": f"Basic {READ_TOKEN}"})
        self.assertEqual(status, 401)
        self.assertEqual(
            list((await self.ok("GET", f"{V1}/status", token=READ_TOKEN))["exchanges"]),
            ["coinbase", "binance", "kraken", "bitfinex", "poloniex", "okx", "bybit", "luno", "valr"],
        )
        status, _, body = await self.call("POST", f"{V1}/wallet_sets", {"name": "x"}, token=READ_TOKEN)
        self.assertEqual(
            (status, body["error"]["kind"], body["error"]["details"]),
            (403, "forbidden", {"operation": "create_wallet_set", "scope": "read", "needed": "trade"}),
        )
        created = await self.ok("POST", f"{V1}/wallet_sets", {"name": "x"}, token=TRADE_TOKEN)
        self.assertEqual(created["name"], "x")
        self.assertEqual((await self.call("GET", "/metrics"))[0], 401)
        self.assertEqual((await self.call("GET", "/metrics", token=READ_TOKEN))[0], 200)
        self.assertEqual((await self.call("GET", f"{V1}/openapi.json"))[0], 200)  # no data in it: open
        self.assertEqual((await self.call("GET", "/dashboard/"))[0], 200)  # the page asks for ?token=
        logged = " ".join(str(vars(record)) for record in records)
        for secret in (READ_TOKEN, TRADE_TOKEN, "not-a-token-of-ours"):
            self.assertNotIn(secret, logged)


class CorsOffTest(RecordedServiceTest):
    async def test_no_cors_headers_and_foreign_pages_are_refused(self):
        status, headers, _ = await self.call(
            "OPTIONS", f"{V1}/orders", headers={"Origin": "http://app.example", "Access-Control-Request-Method": "POST"}
        )
        self.assertEqual(status, 405)
        self.assertIsNone(headers.get("Access-Control-Allow-Origin"))
        status, headers, body = await self.call(
            "POST", f"{V1}/wallet_sets", {"name": "x"}, headers={"Origin": "http://app.example"}
        )
        self.assertEqual((status, body["error"]["kind"]), (401, "unauthorised"))
        self.assertIsNone(headers.get("Access-Control-Allow-Origin"))
        own = f"http://127.0.0.1:{self.server.port}"  # the dashboard's own requests
        await self.ok("POST", f"{V1}/wallet_sets", {"name": "x"}, headers={"Origin": own})
        await self.ok("GET", f"{V1}/wallet_sets", headers={"Host": f"localhost:{self.server.port}"})
        rebound = f"evil.example:{self.server.port}"  # a name pointed at 127.0.0.1: no tokens, so refused
        status, _, body = await self.call(
            "POST", f"{V1}/wallet_sets", {"name": "y"}, headers={"Host": rebound, "Origin": f"http://{rebound}"}
        )
        self.assertEqual((status, body["error"]["kind"]), (401, "unauthorised"))


class CorsOnTest(RecordedServiceTest):
    settings_overrides = {"server.cors_origins": ["http://app.example"]}

    async def test_configured_origins_only(self):
        status, headers, _ = await self.call(
            "OPTIONS",
            f"{V1}/orders/12/cancel",
            headers={"Origin": "http://app.example", "Access-Control-Request-Method": "POST"},
        )
        self.assertEqual(status, 204)
        self.assertEqual(headers["Access-Control-Allow-Origin"], "http://app.example")
        self.assertEqual(headers["Access-Control-Allow-Methods"], "GET, POST")
        self.assertIn("Authorization", headers["Access-Control-Allow-Headers"])
        status, headers, _ = await self.call("GET", f"{V1}/status", headers={"Origin": "http://app.example"})
        self.assertEqual(
            (status, headers["Access-Control-Allow-Origin"], headers["Vary"]), (200, "http://app.example", "Origin")
        )
        status, headers, body = await self.call(
            "GET", f"{V1}/pricing?exchange=nasdaq", headers={"Origin": "http://app.example"}
        )
        self.assertEqual((status, headers["Access-Control-Allow-Origin"]), (404, "http://app.example"))
        status, headers, body = await self.call("GET", f"{V1}/status", headers={"Origin": "http://evil.example"})
        self.assertEqual((status, body["error"]["kind"]), (401, "unauthorised"))
        self.assertIsNone(headers.get("Access-Control-Allow-Origin"))


class LimitsTest(RecordedServiceTest):
    settings_overrides = {"server.max_request_bytes": 1024}

    async def test_a_body_over_the_limit_is_a_413_in_the_error_shape(self):
        status, _, body = await self.call("POST", f"{V1}/echo", {"text": "x" * 2000})
        self.assertEqual((status, body["error"]["kind"]), (413, "invalid_request"))
        self.assertEqual(sorted(body["error"]), ["details", "kind", "message"])
        self.assertEqual(await self.ok("POST", f"{V1}/echo", {"text": "x" * 900}), {"text": "x" * 900})
