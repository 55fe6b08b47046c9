"""The Socket.IO door, driven by python-socketio's client on a service playing the recorded Coinbase traffic."""

import asyncio
import json
from decimal import Decimal as D

import socketio
from websockets.asyncio.client import connect

from exchange_wrapper.client import AsyncClient
from exchange_wrapper.core.marketdata import FeedStatus

from .recorded import http
from .running import READ_TOKEN, TRADE_TOKEN, WITH_TOKENS, RunningService, error_cases


class Browser:
    """A Socket.IO client and the events it received, in order."""

    def __init__(self):
        self.client = socketio.AsyncClient(reconnection=False)
        self.events = asyncio.Queue()
        self.refusals = []
        self.client.on("*", lambda event, data: self.events.put_nowait((event, data)))
        self.client.on("connect_error", self.refusals.append)

    async def call(self, method, params=None):
        return await self.client.call("call", {"method": method, "params": params or {}}, timeout=5)

    async def next(self, topic):
        """The payload of the next event of ``topic`` (others are skipped)."""
        async with asyncio.timeout(5):
            while True:
                event, data = await self.events.get()
                if event == topic:
                    return data


class SocketIOCase(RunningService):
    async def browser(self, token=TRADE_TOKEN, *, query="", headers=None, connected=True):
        browser = Browser()
        connecting = browser.client.connect(
            self.base + query,
            auth={"token": token} if token else None,
            headers=headers or {},
            transports=["websocket"],
            wait_timeout=5,
        )
        if connected:
            await connecting
            self.addAsyncCleanup(browser.client.disconnect)
        else:
            with self.assertRaises(socketio.exceptions.ConnectionError):
                await connecting
        return browser

    async def engineio(self, token=None, *, origin=None, host="127.0.0.1", **options):
        """A bare Engine.IO websocket, opened as a web page of ``origin`` would, to the name ``host``
        (as if it pointed at 127.0.0.1), which asked to join; and the Socket.IO packet answering it
        (``40{"sid": ...}`` or the refusal ``44{...}``)."""
        url = f"ws://{host}:{self.server.port}/socket.io/?EIO=4&transport=websocket"
        ws = await connect(url, origin=origin, host="127.0.0.1", port=self.server.port, **options)
        self.addAsyncCleanup(ws.close)
        self.assertEqual((await asyncio.wait_for(ws.recv(), 5))[0], "0")  # Engine.IO's open packet
        await ws.send("40" + (json.dumps({"token": token}) if token else ""))
        return ws, await asyncio.wait_for(ws.recv(), 5)

    async def upgraded(self, token, **options):
        """A bare Engine.IO session opened by polling, joined with ``token``, then upgraded to a
        websocket, as browsers do."""
        polling = f"{self.base}/socket.io/?EIO=4&transport=polling"
        _, _, opened = await asyncio.to_thread(http, polling)
        eio_sid = json.loads(opened[1:])["sid"]
        text = {"Content-Type": "text/plain;charset=UTF-8"}
        join = ("40" + json.dumps({"token": token})).encode()
        await asyncio.to_thread(http, f"{polling}&sid={eio_sid}", "POST", join, text)
        _, _, joined = await asyncio.to_thread(http, f"{polling}&sid={eio_sid}")
        self.assertEqual(joined[:3], "40{")
        ws = await connect(
            f"ws://127.0.0.1:{self.server.port}/socket.io/?EIO=4&transport=websocket&sid={eio_sid}", **options
        )
        self.addAsyncCleanup(ws.close)
        await ws.send("2probe")
        self.assertEqual(await asyncio.wait_for(ws.recv(), 5), "3probe")
        await ws.send("5")
        return ws

    async def handshake(self, origin):
        """(status, headers, body) of an Engine.IO polling handshake sent from a page of ``origin``."""
        return await asyncio.to_thread(
            http, self.base + "/socket.io/?EIO=4&transport=polling", "GET", None, {"Origin": origin}
        )


class CallsTest(SocketIOCase):
    async def test_a_call_is_answered_with_its_result(self):
        browser = await self.browser()
        answer = await browser.call("get_book", {"exchange": "coinbase", "pair": "SKL_USD", "depth": 1})
        book = answer["result"]
        self.assertEqual(book["state"], "live")
        self.assertEqual([[D(p), D(s)] for p, s in book["asks"]], [list(self.book.asks.best)])

    async def test_every_error_kind_an_operation_produces(self):
        wallet_set_id = await self.funded_wallet_set(token=TRADE_TOKEN)
        browser = await self.browser()
        for kind, method, params, details in error_cases(wallet_set_id):
            with self.subTest(kind=kind, method=method):
                answer = await browser.call(method, params)
                self.assertEqual(set(answer), {"error"})
                self.assertEqual((answer["error"]["kind"], answer["error"]["details"]), (kind, details))
        reader = await self.browser(READ_TOKEN)
        answer = await reader.call("make_order", {"wallet_set_id": wallet_set_id})
        self.assertEqual(
            (answer["error"]["kind"], answer["error"]["message"]),
            ("forbidden", "make_order needs a trade token; this one is read"),
        )

    async def test_what_is_not_a_call(self):
        browser = await self.browser()
        for data in ("get_book", {"method": "echo", "args": []}, {"params": {}}, None):
            with self.subTest(data=data):
                answer = await browser.client.call("call", data, timeout=5)
                self.assertEqual(answer["error"]["kind"], "invalid_request")
        answer = await browser.call("get_book", ["coinbase", "SKL_USD"])
        self.assertEqual(
            (answer["error"]["kind"], answer["error"]["details"]["field"]), ("invalid_parameter", "params")
        )
        answer = await browser.client.call("make_order", {"side": "buy"}, timeout=5)
        self.assertEqual(
            answer["error"],
            {"kind": "method_not_found", "message": "no method 'make_order'", "details": {"method": "make_order"}},
        )
        self.assertEqual((await browser.call("echo", {"still": "here"}))["result"], {"still": "here"})


class NotificationsTest(SocketIOCase):
    async def test_a_paper_fill_reaches_both_doors_and_the_wallet_set_changes(self):
        wallet_set_id = await self.funded_wallet_set(token=TRADE_TOKEN)
        browser = await self.browser(READ_TOKEN)
        self.assertEqual(
            await browser.client.call("subscribe", {"topics": ["fills", "wallets"]}, timeout=5),
            {"result": {"topics": ["fills", "wallets"]}},
        )
        ask_price, ask_size = self.book.asks.best
        self.assertLessEqual(D(150), ask_size)
        async with AsyncClient(self.rpc_url, TRADE_TOKEN) as client:
            async with client.subscribe("fills") as fills:
                order = await client.make_order(
                    wallet_set_id=wallet_set_id,
                    exchange="coinbase",
                    pair="SKL_USD",
                    side="buy",
                    type="market",
                    size="150",
                )
                topic, by_rpc = await fills.get(timeout=5)
        by_socketio = await browser.next("fills")
        self.assertEqual((topic, by_socketio), ("fills", by_rpc))
        self.assertEqual((by_rpc["order_id"], by_rpc["liquidity"]), (order["id"], "taker"))
        self.assertEqual((D(by_rpc["price"]), D(by_rpc["size"])), (ask_price, D(150)))
        wallets = await browser.next("wallets")
        self.assertEqual((wallets["wallet_set_id"], wallets["exchange"]), (wallet_set_id, "coinbase"))
        cost = ask_price * 150 * D("1.006")  # price x size and the taker fee
        balances = {w["currency"]: D(w["balance"]) for w in wallets["wallets"]}
        self.assertEqual(balances, {"USD": D(1000) - cost, "SKL": D(2150)})
        stored = (await browser.call("get_wallet_set", {"wallet_set_id": wallet_set_id}))["result"]
        self.assertEqual({w["currency"]: D(w["balance"]) for w in stored["wallets"]}, balances)

    async def test_unsubscribe_stops_the_events(self):
        browser = await self.browser()
        await browser.client.call("subscribe", {"topics": ["status", "books"]}, timeout=5)
        answer = await browser.client.call("unsubscribe", {"topics": ["books"]}, timeout=5)
        self.assertEqual(answer, {"result": {"topics": ["status"]}})
        answer = await browser.client.call("subscribe", {"topics": "fills"}, timeout=5)
        self.assertEqual(
            (answer["error"]["kind"], answer["error"]["details"]["field"]), ("invalid_parameter", "topics")
        )
        before = self.book.bids.best, self.book.asks.best
        self.step_until(lambda: (self.book.bids.best, self.book.asks.best) != before)
        self.server.hub.set_connection("coinbase", FeedStatus.DOWN, "unplugged for the test")
        event, data = await asyncio.wait_for(browser.events.get(), 5)  # no book top came before it
        self.assertEqual(
            (event, data["exchange"], data["status"], data["reason"]),
            ("status", "coinbase", "down", "unplugged for the test"),
        )


class TokensTest(SocketIOCase):
    async def test_a_connection_without_a_valid_token_is_refused(self):
        for token in (None, "not-the-token-at-all-000"):
            with self.subTest(token=token):
                browser = await self.browser(token, connected=False)
                self.assertEqual(browser.refusals[0]["data"]["kind"], "unauthorised")
                self.assertEqual(browser.refusals[0]["message"], browser.refusals[0]["data"]["message"])

    async def test_the_token_may_come_in_the_query_or_a_header(self):
        for browser in (
            await self.browser(None, query=f"?token={READ_TOKEN}"),
            await self.browser(None, headers={"Authorization": f"Bearer {READ_TOKEN}"}),
        ):
            answer = await browser.call("make_order", {})
            self.assertEqual(
                answer["error"]["details"], {"operation": "make_order", "scope": "read", "needed": "trade"}
            )


class LimitTest(SocketIOCase):
    settings_overrides = {**WITH_TOKENS, "server.max_connections_per_client": 2}

    async def test_the_limit_counts_the_connections_of_both_doors(self):
        await self.browser()
        rpc = await self.raw_rpc()
        self.assertEqual((await rpc.ask({"jsonrpc": "2.0", "id": 1, "method": "echo"}))["result"], {})
        refused = await self.browser(connected=False)
        self.assertEqual(
            refused.refusals[0]["data"],
            {
                "kind": "too_many_connections",
                "message": "127.0.0.1 already holds 2 open connections, the most allowed",
                "details": {"client": "127.0.0.1", "limit": 2},
            },
        )
        await rpc.ws.close()
        for _ in range(50):  # the place is free a moment after the close
            browser = Browser()
            try:
                await browser.client.connect(self.base, auth={"token": TRADE_TOKEN}, transports=["websocket"])
                break
            except socketio.exceptions.ConnectionError:
                await asyncio.sleep(0.02)
        self.addAsyncCleanup(browser.client.disconnect)
        self.assertEqual((await browser.call("echo", {"n": "3"}))["result"], {"n": "3"})


class SameOriginTest(SocketIOCase):
    async def test_pages_of_other_origins_are_refused_without_cors_origins(self):
        self.assertEqual((await self.handshake("http://elsewhere.example"))[0], 400)
        self.assertEqual((await self.handshake(self.base))[0], 200)


class RebindingTest(SocketIOCase):
    settings_overrides = {}  # the default loopback set-up, without tokens

    async def test_a_foreign_name_is_refused_even_with_its_own_origin(self):
        rebound = f"evil.example:{self.server.port}"  # a name made to point at 127.0.0.1
        _, refusal = await self.engineio(origin=f"http://{rebound}", host="evil.example")
        self.assertEqual(refusal[:2], "44")
        self.assertEqual(
            json.loads(refusal[2:])["data"]["message"],
            f"without API tokens only loopback names are served, not {rebound!r}",
        )
        for origin, host in ((f"http://localhost:{self.server.port}", "localhost"), (None, "127.0.0.1")):
            with self.subTest(origin=origin, host=host):
                _, joined = await self.engineio(origin=origin, host=host)
                self.assertEqual(joined[:3], "40{")


class SlowClientTest(SocketIOCase):
    settings_overrides = {**WITH_TOKENS, "server.send_timeout_seconds": "0.3"}

    async def test_a_subscriber_that_reads_nothing_is_disconnected(self):
        direct, _ = await self.engineio(TRADE_TOKEN, max_queue=1)  # reads its socket no more after a message
        upgraded = await self.upgraded(TRADE_TOKEN, max_queue=1)
        for ws in (direct, upgraded):
            await ws.send('421["subscribe",{"topics":["logs"]}]')  # with an acknowledgement, id 1
            reply = await asyncio.wait_for(ws.recv(), 5)
            if reply == "6":  # the upgraded one: Engine.IO's no-op, which ended the last poll, first
                reply = await asyncio.wait_for(ws.recv(), 5)
            self.assertEqual(reply, '431[{"result":{"topics":["logs"]}}]')
        browser = await self.browser()
        await browser.client.call("subscribe", {"topics": ["logs"]}, timeout=5)
        line = {"time": 1, "level": "INFO", "logger": "made.up", "message": "x" * 65536}  # 64 kB log lines
        with self.assertLogs("exchange_wrapper.service.sessions", "WARNING") as logged:
            for _ in range(300):  # more than the sockets' buffers and Engine.IO's backlog hold
                self.server.bus.publish("logs", line)
                await asyncio.sleep(0)
            await self.slow_clients_closed("socketio", 2)
        reason = "too slow: what it was sent stayed unread for 0.3 s (server.send_timeout_seconds)"
        self.assertEqual(
            logged.output,
            [f"WARNING:exchange_wrapper.service.sessions:socketio connection from 127.0.0.1 as trader closed: {reason}"]
            * 2,
        )
        for ws in (direct, upgraded):
            closed = await self.drained(ws)
            self.assertEqual((closed.code, closed.reason), (1008, reason))
        self.assertEqual((await browser.call("echo", {"still": "here"}))["result"], {"still": "here"})
        self.assertEqual(len(self.server.bus.subscriptions), 1)  # the browser's: it reads


class CorsTest(SocketIOCase):
    settings_overrides = {**WITH_TOKENS, "server.cors_origins": ["http://dashboard.example"]}

    async def test_the_origins_listed_are_allowed(self):
        status, headers, _ = await self.handshake("http://dashboard.example")
        self.assertEqual((status, headers["Access-Control-Allow-Origin"]), (200, "http://dashboard.example"))
        self.assertEqual((await self.handshake("http://elsewhere.example"))[0], 400)
