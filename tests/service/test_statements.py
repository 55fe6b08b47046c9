"""Run tags, statements (JSON and CSV) and account views on every door (REST, JSON-RPC through the
client, Socket.IO) and both databases, on a service playing the recorded Coinbase traffic."""

import csv
import io
from decimal import Decimal as D

from exchange_wrapper.client import AsyncClient, ClientError
from tests.storage.dbs import empty_postgres_url

from .recorded import SKL
from .running import TRADE_TOKEN
from .test_socketio import SocketIOCase

V1 = "/xwrap/v1"


class StatementDoorCases:
    """A funded paper set (1000 USD, 2000 SKL on coinbase), a market buy tagged ``run-a`` that fills at
    once and a resting sell without a tag."""

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.ws = await self.funded_wallet_set(token=TRADE_TOKEN)
        order = {"wallet_set_id": self.ws, "exchange": "coinbase", "pair": "SKL_USD"}
        self.bought = await self.post(
            "/orders", {**order, "side": "buy", "type": "market", "size": "50", "tag": "run-a"}
        )
        ask = self.server.hub.book("coinbase", SKL).asks.best[0]
        self.resting = await self.post("/orders", {**order, "side": "sell", "price": str(ask + 1), "size": "30"})
        self.client = await AsyncClient(self.rpc_url, TRADE_TOKEN).connect()
        self.addAsyncCleanup(self.client.close)

    async def post(self, path, body):
        return await self.ok("POST", V1 + path, body, token=TRADE_TOKEN)

    async def get(self, path):
        return await self.ok("GET", V1 + path, token=TRADE_TOKEN)

    async def socketio(self, method, params):
        browser = await self.browser()
        return await browser.call(method, params)

    async def test_a_tag_is_carried_by_the_order_and_its_fills_and_filters_them_on_every_door(self):
        self.assertEqual(self.bought["status"], "filled")
        self.assertEqual((self.bought["tag"], self.resting["tag"]), ("run-a", None))
        self.assertTrue(self.bought["fills"])
        self.assertEqual({f["tag"] for f in self.bought["fills"]}, {"run-a"})
        by_rpc = await self.client.make_order(
            wallet_set_id=self.ws,
            exchange="coinbase",
            pair="SKL_USD",
            side="buy",
            type="market",
            size="10",
            tag="run-b",
        )
        self.assertEqual((by_rpc["tag"], {f["tag"] for f in by_rpc["fills"]}), ("run-b", {"run-b"}))

        orders = await self.get(f"/orders?wallet_set_id={self.ws}&status=recent&tag=run-a")
        self.assertEqual([o["id"] for o in orders["orders"]], [self.bought["id"]])
        fills = await self.get(f"/fills?wallet_set_id={self.ws}&tag=run-a")
        self.assertEqual(
            sorted((f["trade_id"], f["tag"]) for f in fills),
            sorted((f["trade_id"], "run-a") for f in self.bought["fills"]),
        )
        self.assertEqual(await self.get(f"/fills?order_id={self.bought['id']}&tag=run-b"), [])
        untagged = await self.get(f"/orders?wallet_set_id={self.ws}&status=recent")
        self.assertEqual(len(untagged["orders"]), 3)

        rpc_orders = await self.client.get_orders(wallet_set_id=self.ws, status="recent", tag="run-b")
        self.assertEqual([o["id"] for o in rpc_orders["orders"]], [by_rpc["id"]])
        rpc_fills = await self.client.get_fills(wallet_set_id=self.ws, tag="run-b")
        self.assertEqual([f["order_id"] for f in rpc_fills], [by_rpc["id"]] * len(by_rpc["fills"]))
        answer = await self.socketio("get_fills", {"wallet_set_id": self.ws, "tag": "run-a"})
        self.assertEqual(answer, {"result": fills})
        answer = await self.socketio("get_orders", {"wallet_set_id": self.ws, "status": "recent", "tag": "run-a"})
        self.assertEqual(answer, {"result": orders})

    async def test_a_tag_longer_than_64_characters_is_refused_on_every_door_and_places_nothing(self):
        order = {
            "wallet_set_id": self.ws,
            "exchange": "coinbase",
            "pair": "SKL_USD",
            "side": "buy",
            "type": "market",
            "size": "10",
            "tag": "x" * 65,
        }
        before = await self.get(f"/wallet_sets/{self.ws}")
        status, _, answer = await self.call("POST", V1 + "/orders", order, token=TRADE_TOKEN)
        self.assertEqual(
            (status, answer["error"]["kind"], answer["error"]["details"]["field"]), (400, "invalid_parameter", "tag")
        )
        self.assertEqual(answer["error"]["details"]["expected"], "a string of 1 to 64 characters")
        with self.assertRaises(ClientError) as caught:
            await self.client.make_order(**order)
        self.assertEqual((caught.exception.kind, caught.exception.field), ("invalid_parameter", "tag"))
        answer = await self.socketio("make_order", order)
        self.assertEqual(answer["error"]["details"]["field"], "tag")
        self.assertEqual(len((await self.get(f"/orders?wallet_set_id={self.ws}&status=recent"))["orders"]), 2)
        self.assertEqual(await self.get(f"/wallet_sets/{self.ws}"), before)
        self.assertEqual((await self.post("/orders", {**order, "tag": "y" * 64}))["tag"], "y" * 64)

    async def test_the_statement_on_every_door_and_as_csv_read_back(self):
        statement = await self.get(f"/wallet_sets/{self.ws}/statement?limit=1000")
        entries = statement["entries"]
        self.assertEqual((statement["wallet_set_id"], statement["next_cursor"]), (self.ws, None))
        # newest first: the sell's hold, the buy's release, fees and fills, its hold, the funding
        self.assertEqual(entries[0]["kind"], "hold")
        self.assertEqual((entries[0]["currency"], entries[0]["hold_change"], entries[0]["amount"]), ("SKL", "30", "0"))
        self.assertEqual([e["kind"] for e in entries[-2:]], ["fund", "fund"])
        fees = [e for e in entries if e["kind"] == "fee"]
        self.assertEqual(sum(D(e["amount"]) for e in fees), -D(self.bought["fees"]))
        self.assertEqual({e["order_id"] for e in fees}, {self.bought["id"]})
        paid = sum(D(e["amount"]) for e in entries if e["kind"] == "fill" and e["currency"] == "USD")
        self.assertEqual(paid, -D(self.bought["executed_value"]))
        wallets = {w["currency"]: w for w in (await self.get(f"/wallet_sets/{self.ws}"))["wallets"]}
        for currency in ("USD", "SKL"):
            newest = next(e for e in entries if e["currency"] == currency)
            wallet = wallets[currency]
            self.assertEqual(
                (newest["balance"], newest["hold"], newest["available"]),
                (wallet["balance"], wallet["hold"], wallet["available"]),
            )

        status, headers, text = await self.call(
            "GET", f"{V1}/wallet_sets/{self.ws}/statement.csv?limit=1000", token=TRADE_TOKEN
        )
        self.assertEqual((status, headers["content-type"]), (200, "text/csv; charset=utf-8"))
        self.assertIsNone(headers.get("X-Xwrap-Next-Cursor"))
        self.assertEqual(headers["X-Xwrap-Wallet-Set-Id"], str(self.ws))
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        self.assertEqual(rows, [{k: "" if v is None else str(v) for k, v in e.items()} for e in entries])
        self.assertEqual(text.splitlines()[0], ",".join(entries[0]))

        page = await self.get(f"/wallet_sets/{self.ws}/statement?limit=3&currency=USD")
        self.assertEqual(page["entries"], [e for e in entries if e["currency"] == "USD"][:3])
        status, headers, text = await self.call(
            "GET", f"{V1}/wallet_sets/{self.ws}/statement.csv?limit=3&currency=USD", token=TRADE_TOKEN
        )
        self.assertEqual(headers["X-Xwrap-Next-Cursor"], page["next_cursor"])
        self.assertEqual([row["id"] for row in csv.DictReader(io.StringIO(text))], [e["id"] for e in page["entries"]])
        following = await self.client.get_statement(
            wallet_set_id=self.ws, currency="USD", limit=3, cursor=page["next_cursor"]
        )
        self.assertEqual(following["entries"], [e for e in entries if e["currency"] == "USD"][3:6])

        self.assertEqual(await self.client.get_statement(wallet_set_id=self.ws, limit=1000), statement)
        answer = await self.socketio("get_statement", {"wallet_set_id": self.ws, "kind": "fee"})
        self.assertEqual(answer["result"]["entries"], fees)
        start = entries[len(entries) // 2]["time"]
        windowed = await self.client.get_statement(wallet_set_id=self.ws, start=start, limit=1000)
        self.assertEqual(windowed["entries"], [e for e in entries if e["time"] >= start])

    async def test_bad_statement_filters_name_the_parameter_on_every_door(self):
        path = f"/wallet_sets/{self.ws}/statement"
        for query, field in (
            ("kind=bonus", "kind"),
            ("start=200&end=100", "end"),
            ("cursor=nonsense", "cursor"),
            ("limit=0", "limit"),
        ):
            for suffix in ("", ".csv"):
                with self.subTest(query=query, suffix=suffix):
                    status, headers, answer = await self.call("GET", f"{V1}{path}{suffix}?{query}", token=TRADE_TOKEN)
                    self.assertEqual((status, answer["error"]["details"]["field"]), (400, field))
        with self.assertRaises(ClientError) as caught:
            await self.client.get_statement(wallet_set_id=self.ws, start=200, end=100)
        self.assertEqual((caught.exception.field, caught.exception.expected), ("end", "a time at or after start"))
        answer = await self.socketio("get_statement", {"wallet_set_id": self.ws, "kind": "bonus"})
        self.assertEqual(answer["error"]["details"]["field"], "kind")
        status, _, answer = await self.call("GET", f"{V1}/wallet_sets/999/statement.csv", token=TRADE_TOKEN)
        self.assertEqual((status, answer["error"]["kind"]), (404, "not_found"))

    async def test_account_views_on_every_door(self):
        accounts = await self.get("/accounts?exchange=coinbase")
        wallets = (await self.get(f"/wallet_sets/{self.ws}"))["wallets"]
        self.assertEqual(
            accounts,
            [
                {
                    "exchange": "coinbase",
                    "mode": "paper",
                    "live": [],
                    "paper": [
                        {
                            "currency": w["currency"],
                            "balance": w["balance"],
                            "held": w["hold"],
                            "available": w["available"],
                            "wallet_sets": 1,
                        }
                        for w in wallets
                    ],
                }
            ],
        )
        every = await self.client.get_accounts()
        self.assertEqual([a["exchange"] for a in every], list(self.server.api._enabled()))
        self.assertEqual(every[0], accounts[0])
        self.assertEqual(await self.socketio("get_accounts", {"exchange": "coinbase"}), {"result": accounts})
        status, _, answer = await self.call("GET", f"{V1}/accounts?exchange=nasdaq", token=TRADE_TOKEN)
        self.assertEqual((status, answer["error"]["kind"]), (404, "unknown_exchange"))


class StatementDoorsSqliteTest(StatementDoorCases, SocketIOCase):
    pass


class StatementDoorsPostgresTest(StatementDoorCases, SocketIOCase):
    async def asyncSetUp(self):
        self.settings_overrides = {**self.settings_overrides, "database_url": empty_postgres_url(self)}
        await super().asyncSetUp()
