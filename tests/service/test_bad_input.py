"""Bad input on every door is a clear invalid_parameter naming the field, never an internal error, and
changes nothing; amounts follow one rule everywhere: decimal strings in ASCII digits. On SQLite and
PostgreSQL, whose refusals differed (a NUL in a text went into SQLite and failed inside PostgreSQL)."""

import json
import sys

from tests.storage.dbs import empty_postgres_url

from .running import TRADE_TOKEN, RunningService, receive
from .test_socketio import SocketIOCase

V1 = "/xwrap/v1"
LONG = "1" * 4301  # one digit past what Python reads as an integer
WIDEST = "999999999999999.999999999999999999"  # 15 integer digits and 18 places, as docs/api.md says


class RestCases:
    """Run on SQLite (the recorded service's own) and on PostgreSQL (:class:`RestPostgresTest`)."""

    async def refused(self, method, path, body=None, field=None):
        status, _, answer = await self.call(method, path, body, token=TRADE_TOKEN)
        self.assertEqual(
            (400, "invalid_parameter", field),
            (status, answer["error"]["kind"], answer["error"]["details"].get("field")),
            answer,
        )
        return answer["error"]

    async def test_integers_too_long_to_read_name_their_field(self):
        await self.refused("GET", f"{V1}/wallet_sets/{LONG}", field="wallet_set_id")
        await self.refused(
            "GET", f"{V1}/wallet_sets/{LONG}/wallets?exchange=coinbase&currency=USD", field="wallet_set_id"
        )
        await self.refused("GET", f"{V1}/orders?limit={LONG}", field="limit")
        await self.refused("GET", f"{V1}/orders?wallet_set_id={LONG}", field="wallet_set_id")
        await self.refused("GET", f"{V1}/fills?wallet_set_id=1&limit=-{LONG}", field="limit")

    async def test_text_a_database_cannot_hold_is_refused_and_nothing_is_written(self):
        wallet_set_id = await self.funded_wallet_set(token=TRADE_TOKEN)
        order = {
            "wallet_set_id": wallet_set_id,
            "exchange": "coinbase",
            "pair": "SKL_USD",
            "side": "buy",
            "price": "0.5",
            "size": "10",
        }
        for text in ("a\ud800b", "a\x00b", "\udfff"):
            with self.subTest(text=text):
                await self.refused("POST", f"{V1}/orders", {**order, "client_order_id": text}, "client_order_id")
        await self.refused("GET", f"{V1}/orders/1%00", field="order_id")
        await self.refused("GET", f"{V1}/orders?wallet_set_id={wallet_set_id}&exchange=coin%00base", field="exchange")
        answer = await self.ok("GET", f"{V1}/orders?wallet_set_id={wallet_set_id}", token=TRADE_TOKEN)
        self.assertEqual([], answer["orders"])

    async def test_amounts_are_decimal_strings_in_ascii_digits_only(self):
        wallet_set_id = await self.funded_wallet_set(token=TRADE_TOKEN)
        order = {"wallet_set_id": wallet_set_id, "exchange": "coinbase", "pair": "SKL_USD", "side": "buy"}
        for size in (50.5, 50, "\u0665\u0660", "\uff15\uff10"):
            with self.subTest(size=size):
                await self.refused("POST", f"{V1}/orders", {**order, "price": "0.5", "size": size}, "size")
        fund = f"{V1}/wallet_sets/{wallet_set_id}/fund"
        for amount in (100, 0.5, "\u0661\u0660\u0660", "\uff11\uff10\uff10"):
            with self.subTest(amount=amount):
                await self.refused(
                    "POST", fund, {"exchange": "coinbase", "currency": "USD", "amount": amount}, "amount"
                )
        wallet = await self.ok(
            "GET", f"{V1}/wallet_sets/{wallet_set_id}/wallets?exchange=coinbase&currency=USD", token=TRADE_TOKEN
        )
        self.assertEqual("1000", wallet["balance"])
        self.assertEqual(
            [], (await self.ok("GET", f"{V1}/orders?wallet_set_id={wallet_set_id}", token=TRADE_TOKEN))["orders"]
        )

    async def test_the_widest_documented_amount_is_funded_and_transferred_exactly(self):
        source = await self.funded_wallet_set(token=TRADE_TOKEN)
        target = (await self.ok("POST", f"{V1}/wallet_sets", {"name": "target"}, token=TRADE_TOKEN))["id"]
        await self.ok(
            "POST",
            f"{V1}/wallet_sets/{source}/fund",
            {"exchange": "coinbase", "currency": "USD", "amount": WIDEST},
            token=TRADE_TOKEN,
        )
        answer = await self.ok(
            "POST",
            f"{V1}/transfers",
            {
                "from_wallet_set_id": source,
                "to_wallet_set_id": target,
                "exchange": "coinbase",
                "currency": "USD",
                "amount": WIDEST,
            },
            token=TRADE_TOKEN,
        )
        self.assertEqual(["-" + WIDEST, WIDEST], [p["amount"] for p in answer["entry"]["postings"]])
        for wallet_set_id, balance in ((source, "1000"), (target, WIDEST)):
            wallet = await self.ok(
                "GET", f"{V1}/wallet_sets/{wallet_set_id}/wallets?exchange=coinbase&currency=USD", token=TRADE_TOKEN
            )
            self.assertEqual((balance, balance), (wallet["balance"], wallet["available"]))

    async def test_json_no_door_can_hold_is_refused_naming_where(self):
        error = await self.refused(
            "POST",
            f"{V1}/orders",
            b'{"wallet_set_id": %s, "exchange": "coinbase", '
            b'"pair": "SKL_USD", "side": "buy", "price": "0.5", "size": "10"}' % LONG.encode(),
            "wallet_set_id",
        )
        self.assertIn("at most 4300 digits", error["message"])
        await self.refused("POST", f"{V1}/echo", b'{"x": [1, {"y": 1e400}]}', "x[1].y")
        await self.refused("POST", f"{V1}/echo", b'{"x": "\\ud800"}', "x")
        answer = await self.ok("POST", f"{V1}/echo", b'{"x": 1e308, "y": "\\ud83d\\ude80"}', token=TRADE_TOKEN)
        self.assertEqual({"x": 1e308, "y": "\U0001f680"}, answer)


class RestSqliteTest(RestCases, RunningService):
    pass


class RestPostgresTest(RestCases, RunningService):
    async def asyncSetUp(self):
        self.settings_overrides = {**self.settings_overrides, "database_url": empty_postgres_url(self)}
        await super().asyncSetUp()


class RpcTest(RunningService):
    async def test_text_and_amounts_as_on_rest(self):
        wallet_set_id = await self.funded_wallet_set(token=TRADE_TOKEN)
        peer = await self.raw_rpc()
        order = {
            "wallet_set_id": wallet_set_id,
            "exchange": "coinbase",
            "pair": "SKL_USD",
            "side": "buy",
            "price": "0.5",
            "size": "10",
        }
        cases = [
            ({**order, "client_order_id": "a\ud800b"}, "client_order_id"),
            ({**order, "client_order_id": "a\x00b"}, "client_order_id"),
            ({**order, "size": 10}, "size"),
            ({**order, "size": "\uff11\uff10"}, "size"),
        ]
        for params, field in cases:
            with self.subTest(params=params):
                answer = await peer.ask({"jsonrpc": "2.0", "id": 4, "method": "make_order", "params": params})
                self.assertEqual((4, -32602), (answer["id"], answer["error"]["code"]))
                self.assertTrue(answer["error"]["data"]["details"]["field"].endswith(field), answer)
        await peer.ws.send(
            json.dumps({"jsonrpc": "2.0", "id": 5, "method": "get_orders", "params": {"wallet_set_id": wallet_set_id}})
        )
        self.assertEqual([], (await receive(peer.ws))["result"]["orders"])

    async def test_integers_too_long_to_read_name_their_field(self):
        peer = await self.raw_rpc()
        answer = await peer.ask(f'{{"jsonrpc": "2.0", "id": 1, "method": "get_orders", "params": {{"limit": {LONG}}}}}')
        self.assertEqual(
            (1, -32602, "params.limit"),
            (answer["id"], answer["error"]["code"], answer["error"]["data"]["details"]["field"]),
        )

    async def test_a_number_beyond_a_double_is_refused_not_answered_as_infinity(self):
        peer = await self.raw_rpc()
        for number in ("1e400", "-1E+309", "1" + "0" * 400 + ".0"):
            with self.subTest(number=number):
                answer = await peer.ask(f'{{"jsonrpc": "2.0", "id": 2, "method": "echo", "params": {{"x": {number}}}}}')
                self.assertEqual(
                    (2, -32602, "params.x"),
                    (answer["id"], answer["error"]["code"], answer["error"]["data"]["details"]["field"]),
                )
        answer = await peer.ask('{"jsonrpc": "2.0", "id": 3, "method": "echo", "params": {"x": 1e308, "y": 1.5}}')
        self.assertEqual({"x": 1e308, "y": 1.5}, answer["result"])


class SocketIOTest(SocketIOCase):
    async def test_echo_refuses_what_json_cannot_carry(self):
        browser = await self.browser()
        answer = await browser.call("echo", {"x": float("inf")})  # python-socketio sends it as Infinity
        self.assertEqual(("invalid_parameter", "x"), (answer["error"]["kind"], answer["error"]["details"]["field"]))
        self.assertEqual({"result": {"x": 1.5}}, await browser.call("echo", {"x": 1.5}))

    async def test_integers_too_long_to_read_name_their_field(self):
        browser = await self.browser()
        limit = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)  # so that the browser can write one (Python refuses to, as to read one)
        try:
            answer = await browser.call("get_orders", {"limit": 10**4400})
        finally:
            sys.set_int_max_str_digits(limit)
        self.assertEqual(("invalid_parameter", "limit"), (answer["error"]["kind"], answer["error"]["details"]["field"]))
        self.assertIn("at most 4300 digits", answer["error"]["message"])
