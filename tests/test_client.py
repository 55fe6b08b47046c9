"""The strategies' client against a real service on the recorded Coinbase traffic: the asyncio client,
the blocking one, errors as classes, subscriptions, reconnection, and the strategy of docs/examples."""

import asyncio
import inspect
import logging
import os
import re
import subprocess
import sys
import tempfile
import typing
import unittest
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

from exchange_wrapper.client import AsyncClient, Client, ClientError, ConnectionLost, rpc_url
from exchange_wrapper.config import ApiToken, load_settings
from exchange_wrapper.contract import ERROR_CODES, OPERATIONS
from exchange_wrapper.core import errors
from exchange_wrapper.core.errors import InsufficientFunds, InvalidParameter, PrecisionError, Unauthorised
from exchange_wrapper.service.server import Server

from .service.recorded import REPLAY, TOKENS
from .service.running import READ_TOKEN, TRADE_TOKEN, RunningService, error_cases

ROOT = Path(__file__).resolve().parent.parent


class AsyncClientTest(RunningService):
    async def client(self, token=TRADE_TOKEN, **options):
        client = await AsyncClient(self.rpc_url, token, **options).connect()
        self.addAsyncCleanup(client.close)
        return client

    async def test_every_operation_is_a_method_and_amounts_stay_strings(self):
        self.assertEqual([name for name in OPERATIONS if not callable(getattr(AsyncClient, name, None))], [])
        client = await self.client()
        wallet_set = await client.create_wallet_set(name="bot")
        funded = await client.fund_wallet_set(
            wallet_set_id=wallet_set["id"], exchange="coinbase", currency="USD", amount=D("1000.50")
        )  # a Decimal goes as its string
        self.assertEqual(funded["wallet"]["balance"], "1000.5")
        bid = (await client.get_book(exchange="coinbase", pair="SKL_USD", depth=1))["bids"][0][0]
        self.assertEqual(D(bid), self.book.bids.best[0])
        order = await client.make_order(
            wallet_set_id=wallet_set["id"], exchange="coinbase", pair="SKL_USD", side="buy", price=bid, size="10"
        )
        self.assertEqual((order["status"], order["price"], order["size"]), ("open", bid, "10"))
        cancelled = await client.call("cancel_order", order_id=order["id"])
        self.assertEqual(cancelled["status"], "cancelled")

    async def test_errors_are_raised_as_their_xwrap_classes(self):
        wallet_set_id = await self.funded_wallet_set(token=TRADE_TOKEN)
        client = await self.client()
        for kind, method, params, details in error_cases(wallet_set_id):
            with self.subTest(kind=kind):
                with self.assertRaises(ClientError) as caught:
                    await client.call(method, **params)
                error = caught.exception
                self.assertEqual((error.kind, error.code, error.details()), (kind, ERROR_CODES[kind][0], details))
                self.assertIsInstance(
                    error,
                    next(c for c in vars(errors).values() if isinstance(c, type) and getattr(c, "kind", None) == kind),
                )
        with self.assertRaises(PrecisionError) as caught:
            await client.make_order(
                wallet_set_id=wallet_set_id, exchange="coinbase", pair="SKL_USD", side="buy", price="0.5", size="1"
            )
        self.assertEqual((caught.exception.rule, caught.exception.limit), ("min_size", "5"))
        with self.assertRaises(InvalidParameter) as caught:  # a float is refused, naming the parameter
            await client.fund_wallet_set(wallet_set_id=wallet_set_id, exchange="coinbase", currency="USD", amount=1.5)
        self.assertEqual(caught.exception.field, "amount")
        reader = await self.client(READ_TOKEN)
        with self.assertRaises(errors.Forbidden):
            await reader.create_wallet_set(name="not allowed")

    async def test_a_refused_connection_raises_at_connect(self):
        with self.assertRaises(Unauthorised) as caught:
            await AsyncClient(self.rpc_url, "not-the-token-at-all-000").connect()
        self.assertEqual(str(caught.exception), "the API token is not valid")

    async def test_the_token_is_not_logged_at_any_level(self):
        root, wire = logging.getLogger(), logging.getLogger("websockets.client")
        level, wire_level = root.level, wire.level
        root.setLevel(logging.DEBUG)  # a strategy's process logging everything
        wire.setLevel(logging.NOTSET)  # as it is where no service runs (one quietens it: this test runs one)
        try:
            with self.assertLogs(level=logging.DEBUG) as logs:
                client = await self.client()
                await client.get_status()
                logging.getLogger("exchange_wrapper.tests").debug("at least one line")
        finally:
            root.setLevel(level)
            wire.setLevel(wire_level)
        self.assertNotIn(TRADE_TOKEN, "\n".join(logs.output))

    async def test_subscriptions_as_iterators_and_callbacks(self):
        wallet_set_id = await self.funded_wallet_set(token=TRADE_TOKEN)
        client = await self.client()
        called, awaited = [], asyncio.Queue()

        async def on_wallets(topic, payload):
            await awaited.put(payload)

        await client.on("orders", lambda topic, payload: called.append(payload["status"]))
        await client.on("wallets", on_wallets)
        fills = await client.subscribe("fills")
        order = await client.make_order(
            wallet_set_id=wallet_set_id, exchange="coinbase", pair="SKL_USD", side="sell", type="market", size="50"
        )
        topic, fill = await fills.get(timeout=5)
        self.assertEqual((topic, fill["order_id"], fill["size"], fill["side"]), ("fills", order["id"], "50", "sell"))
        wallets = await asyncio.wait_for(awaited.get(), 5)
        skl = next(w for w in wallets["wallets"] if w["currency"] == "SKL")
        self.assertEqual(D(skl["balance"]), D(2000) - 50)
        self.assertEqual(called[-1], "filled")
        await fills.close()
        self.assertEqual(client.topics(), {"orders", "wallets"})
        with self.assertRaises(StopAsyncIteration):
            await fills.get(timeout=1)
        with self.assertRaises(InvalidParameter):
            client.subscribe("trades")

    async def test_a_lost_connection_is_opened_again_and_the_subscriptions_renewed(self):
        client = await self.client(max_backoff=0.05)
        logs = await client.subscribe("logs")
        waiting = asyncio.create_task(client.echo(lost="yes"))
        while not client._link.pending:  # sent, and the service has not had a turn to answer
            await asyncio.sleep(0)
        client._link.ws.transport.abort()  # the network drops
        with self.assertRaises(ConnectionLost):
            await waiting
        self.assertEqual(await client.echo(back="again"), {"back": "again"})  # waits for the new connection
        logging.getLogger("exchange_wrapper.tests").warning("after the drop")
        topic, line = await logs.get(timeout=5)
        while line["message"] != "after the drop":  # the service logs the reconnection too
            topic, line = await logs.get(timeout=5)
        self.assertEqual((topic, line["level"]), ("logs", "WARNING"))


class RestartTest(unittest.IsolatedAsyncioTestCase):
    async def test_a_restarted_service_is_found_again(self):
        asyncio.get_running_loop().slow_callback_duration = 1.0  # starting a service takes a moment
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        settings = load_settings(
            None,
            env={},
            overrides={"database_url": f"sqlite:///{directory.name}/xwrap.sqlite", "server.port": 0, "tokens": TOKENS},
        )
        first = Server(settings, replay=REPLAY, speed=None)
        await first.start()
        client = await AsyncClient(f"ws://127.0.0.1:{first.port}", TRADE_TOKEN, max_backoff=0.1).connect()
        self.addAsyncCleanup(client.close)
        created = await client.create_wallet_set(name="kept")
        logs = await client.subscribe("logs")
        await first.stop()
        same_port = replace(settings, server=replace(settings.server, port=first.port))
        second = Server(same_port, replay=REPLAY, speed=None)
        await second.start()
        try:
            self.assertEqual((await client.get_wallet_set(wallet_set_id=created["id"]))["name"], "kept")
            logging.getLogger("exchange_wrapper.tests").warning("after the restart")
            topic, line = await logs.get(timeout=5)
            while line["message"] != "after the restart":
                topic, line = await logs.get(timeout=5)
            self.assertEqual((topic, line["level"]), ("logs", "WARNING"))
        finally:
            await second.stop()
        other_tokens = [ApiToken("someone", "another-token-0123456789", "trade")]
        third = Server(replace(same_port, tokens=other_tokens), replay=REPLAY, speed=None)
        await third.start()
        self.addAsyncCleanup(third.stop)
        with self.assertRaises(Unauthorised):  # refused again and again: the client stops trying
            await client.echo()
        with self.assertRaises(StopAsyncIteration):
            await logs.get(timeout=1)


class BlockingClientTest(RunningService):
    async def test_the_same_calls_blocking(self):
        url = self.rpc_url

        def strategy():
            with Client(url, TRADE_TOKEN) as client:
                wallet_set = client.create_wallet_set(name="blocking")
                client.fund_wallet_set(
                    wallet_set_id=wallet_set["id"], exchange="coinbase", currency="USD", amount="1000"
                )
                seen = []
                client.on("orders", lambda topic, order: seen.append(client.get_order(order_id=order["id"])["status"]))
                with client.subscribe("fills") as fills:
                    order = client.make_order(
                        wallet_set_id=wallet_set["id"],
                        exchange="coinbase",
                        pair="SKL_USD",
                        side="buy",
                        type="market",
                        size="20",
                    )
                    fill = fills.get(timeout=5)
                try:
                    client.make_order(
                        wallet_set_id=wallet_set["id"],
                        exchange="coinbase",
                        pair="SKL_USD",
                        side="buy",
                        price="0.5",
                        size="5000",
                    )
                except InsufficientFunds as error:
                    refused = error.details()
                return order, fill, refused, seen

        order, (topic, fill), refused, seen = await asyncio.to_thread(strategy)
        self.assertEqual((order["status"], topic, fill["order_id"]), ("filled", "fills", order["id"]))
        self.assertEqual((refused["needed"], refused["currency"]), ("2515", "USD"))
        self.assertIn("filled", seen)  # the callback could call the client


class StrategyExampleTest(RunningService):
    async def test_the_strategy_of_the_docs_runs_against_the_service(self):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "docs" / "examples" / "strategy.py"),
            "--url",
            f"ws://127.0.0.1:{self.server.port}",
            "--pair",
            "SKL_USD",
            "--size",
            "100",
            "--funds",
            "1000",
            "--wait",
            "20",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "XWRAP_TOKEN": TRADE_TOKEN, "PYTHONPATH": str(ROOT)},
        )
        output = asyncio.create_task(process.communicate())
        async with asyncio.timeout(20):  # the market moves once the offer rests, as it would live
            while not (await self.server.api.get_orders(status="open"))["orders"] and not output.done():
                await asyncio.sleep(0.02)
        stdout, stderr = await self.step_while(output)
        text = stdout.decode()
        self.assertEqual(process.returncode, 0, stderr.decode())
        self.assertIn("offer filled", text)
        wallet_set_id = int(re.search(r"wallet set (\d+)", text).group(1))
        fills = await self.server.api.get_fills(wallet_set_id=wallet_set_id)
        buys = [f for f in fills if f["liquidity"] == "taker"]
        sells = [f for f in fills if f["liquidity"] == "maker"]
        self.assertEqual(sum(D(f["size"]) for f in buys), D(100))
        self.assertEqual(sum(D(f["size"]) for f in sells), D(100))
        for fill in fills:  # Coinbase's fees on SKL-USD: 0.6 % taker, 0.4 % maker
            rate = D("0.006") if fill["liquidity"] == "taker" else D("0.004")
            self.assertEqual(D(fill["fee"]), D(fill["price"]) * D(fill["size"]) * rate)
        usd = (
            D(1000)
            - sum(D(f["price"]) * D(f["size"]) + D(f["fee"]) for f in buys)
            + sum(D(f["price"]) * D(f["size"]) - D(f["fee"]) for f in sells)
        )
        self.assertIn(f"USD: balance {usd.normalize():f}", text)
        self.assertIn(f"result: {(usd - 1000).normalize():f} USD", text)


class DocsTest(unittest.TestCase):
    def test_the_client_docs_show_the_strategy_as_it_is(self):
        script = (ROOT / "docs" / "examples" / "strategy.py").read_text()
        self.assertIn("```python\n" + script + "```", (ROOT / "docs" / "client.md").read_text())


class LightTest(unittest.TestCase):
    def test_importing_the_client_loads_nothing_of_the_server(self):
        heavy = ("sanic", "peewee", "psycopg2", "requests", "tinyrpc")
        script = (
            "import exchange_wrapper.client, sys; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))"
        )
        loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
        self.assertEqual(loaded.stdout.strip(), "[]")

    def test_every_operation_is_a_method_with_the_signature_of_its_contract(self):
        for cls in (AsyncClient, Client):
            for name, operation in OPERATIONS.items():
                with self.subTest(cls=cls.__name__, operation=name):
                    method = getattr(cls, name)
                    self.assertEqual(inspect.iscoroutinefunction(method), cls is AsyncClient)
                    signature = inspect.signature(method, eval_str=True)
                    parameters = list(signature.parameters.values())[1:]  # self
                    if operation.any_params:
                        self.assertEqual([p.kind for p in parameters], [inspect.Parameter.VAR_KEYWORD])
                        continue
                    self.assertEqual(
                        [(p.name, p.kind, p.default) for p in parameters],
                        [
                            (
                                param.name,
                                inspect.Parameter.KEYWORD_ONLY,
                                inspect.Parameter.empty if param.required else param.default,
                            )
                            for param in operation.params
                        ],
                    )
                    self.assertTrue(all(p.annotation is not inspect.Parameter.empty for p in parameters))
                    self.assertEqual(signature.return_annotation, operation.result)
                    self.assertTrue(method.__doc__.startswith(operation.summary + "."))
        self.assertEqual(typing.get_type_hints(AsyncClient.make_order)["side"], typing.Literal["buy", "sell"])
        self.assertEqual(typing.get_type_hints(Client.get_book)["depth"], int)


class UrlTest(unittest.TestCase):
    def test_the_rpc_path_is_added_where_missing(self):
        self.assertEqual(rpc_url("ws://127.0.0.1:8350"), "ws://127.0.0.1:8350/xwrap/v1/rpc")
        self.assertEqual(rpc_url("https://xwrap.example/"), "wss://xwrap.example/xwrap/v1/rpc")
        self.assertEqual(rpc_url("ws://h:1/behind/a/proxy"), "ws://h:1/behind/a/proxy")
        with self.assertRaises(InvalidParameter):
            rpc_url("127.0.0.1:8350")


if __name__ == "__main__":
    unittest.main()
