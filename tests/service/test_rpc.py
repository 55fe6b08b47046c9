"""The JSON-RPC door, driven over a real websocket on a service playing the recorded Coinbase traffic."""

import asyncio
import contextlib
import json
import logging
import os
import threading
import unittest
from collections import Counter
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from exchange_wrapper.contract import ERROR_CODES, OPERATIONS
from exchange_wrapper.core.errors import MarketClosed, RateLimited
from exchange_wrapper.core.marketdata import FeedStatus
from exchange_wrapper.service.rpc import error_response

from .running import READ_TOKEN, TRADE_TOKEN, WITH_TOKENS, RunningService, error_cases, receive


def request(method, params=None, request_id=1):
    message = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


class CallsTest(RunningService):
    async def test_a_call_is_answered_with_its_id_and_the_book_as_it_is(self):
        rpc = await self.raw_rpc()
        reply = await rpc.ask(request("get_book", {"exchange": "coinbase", "pair": "SKL_USD", "depth": 2}, "b-1"))
        self.assertEqual((reply["jsonrpc"], reply["id"]), ("2.0", "b-1"))
        self.assertNotIn("error", reply)
        book = reply["result"]
        self.assertEqual(book["state"], "live")
        self.assertEqual([[D(p), D(s)] for p, s in book["bids"]], [list(level) for level in self.book.bids.top(2)])
        self.assertEqual([[D(p), D(s)] for p, s in book["asks"]], [list(level) for level in self.book.asks.top(2)])

    async def test_a_batch_is_answered_in_one_message_without_its_notifications(self):
        rpc = await self.raw_rpc()
        replies = await rpc.ask(
            [
                request("echo", {"n": "1"}, 1),
                {"jsonrpc": "2.0", "method": "echo"},
                request("get_book", {"exchange": "nasdaq", "pair": "SKL_USD"}, 2),
                7,
            ]
        )
        self.assertIsInstance(replies, list)
        self.assertEqual(len(replies), 3)
        by_id = {r["id"]: r for r in replies}
        self.assertEqual(by_id[1]["result"], {"n": "1"})
        self.assertEqual(by_id[2]["error"]["code"], ERROR_CODES["unknown_exchange"][0])
        self.assertEqual(by_id[None]["error"]["code"], -32600)

    async def test_notifications_get_no_answer(self):
        rpc = await self.raw_rpc()
        await rpc.ws.send(json.dumps({"jsonrpc": "2.0", "method": "echo", "params": {"a": "1"}}))
        await rpc.ws.send(json.dumps([{"jsonrpc": "2.0", "method": "echo"}, {"jsonrpc": "2.0", "method": "nothing"}]))
        await rpc.ws.send(json.dumps({"jsonrpc": "2.0", "method": "get_book", "params": {"exchange": "nasdaq"}}))
        await rpc.ws.send(json.dumps(request("echo", {"last": "yes"}, 9)))
        self.assertEqual(await receive(rpc.ws), {"jsonrpc": "2.0", "id": 9, "result": {"last": "yes"}})
        with self.assertRaises(TimeoutError):
            await receive(rpc.ws, timeout=0.2)

    async def test_what_is_not_a_request_gets_a_json_rpc_error_and_the_connection_stays(self):
        rpc = await self.raw_rpc()
        cases = [
            ("{not json", None, "parse_error"),
            (b'{"jsonrpc": "2.0", "id": 1, "method": "echo", "x": "\xff"}', None, "parse_error"),
            ('{"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"x": NaN}}', None, "parse_error"),
            ("[]", None, "invalid_request"),
            ('"echo"', None, "invalid_request"),
            ('{"jsonrpc": "1.0", "id": 2, "method": "echo"}', 2, "invalid_request"),
            ('{"jsonrpc": "2.0", "id": 3}', 3, "invalid_request"),
            ('{"jsonrpc": "2.0", "id": 4, "method": 12}', 4, "invalid_request"),
            ('{"jsonrpc": "2.0", "id": 5, "method": "echo", "extra": 1}', 5, "invalid_request"),
            ('{"jsonrpc": "2.0", "id": [6], "method": "echo"}', None, "invalid_request"),
            ('{"jsonrpc": "2.0", "id": true, "method": "echo"}', None, "invalid_request"),
            ('{"jsonrpc": "2.0", "id": 7, "method": "no_such_thing"}', 7, "method_not_found"),
            (
                '{"jsonrpc": "2.0", "id": 8, "method": "get_book", "params": ["coinbase", "SKL_USD"]}',
                8,
                "invalid_parameter",
            ),
            ('{"jsonrpc": "2.0", "id": 9, "method": "get_book", "params": "coinbase"}', 9, "invalid_parameter"),
        ]
        for message, request_id, kind in cases:
            with self.subTest(message=message):
                reply = await rpc.ask(message)
                self.assertEqual(reply["id"], request_id)
                self.assertEqual(reply["error"]["code"], ERROR_CODES[kind][0])
                self.assertEqual(reply["error"]["data"]["kind"], kind)
                self.assertEqual(reply["error"]["message"], reply["error"]["data"]["message"])
        positional = await rpc.ask(cases[-2][0])
        self.assertEqual(positional["error"]["data"]["details"]["field"], "params")
        self.assertEqual((await rpc.ask(request("echo", {"still": "open"})))["result"], {"still": "open"})

    async def test_every_error_kind_an_operation_produces(self):
        wallet_set_id = await self.funded_wallet_set(token=TRADE_TOKEN)
        rpc = await self.raw_rpc()
        for kind, method, params, details in error_cases(wallet_set_id):
            with self.subTest(kind=kind, method=method):
                error = (await rpc.ask(request(method, params)))["error"]
                self.assertEqual(error["code"], ERROR_CODES[kind][0])
                self.assertEqual(error["data"]["kind"], kind)
                self.assertEqual(error["data"]["details"], details)
        reader = await self.raw_rpc(READ_TOKEN)
        error = (await reader.ask(request("make_order", {"wallet_set_id": wallet_set_id})))["error"]
        self.assertEqual(error["code"], ERROR_CODES["forbidden"][0])
        self.assertEqual(error["data"]["details"], {"operation": "make_order", "scope": "read", "needed": "trade"})
        self.assertEqual(
            (await reader.ask(request("get_wallet_set", {"wallet_set_id": wallet_set_id})))["result"]["id"],
            wallet_set_id,
        )

    async def test_back_to_back_messages_are_not_held_for_delayed_acks(self):
        rpc = await self.raw_rpc()
        started = asyncio.get_running_loop().time()
        for n in range(10):  # without TCP_NODELAY each pair waits ~40 ms for the peer's delayed ACK
            await rpc.ws.send(json.dumps(request("echo", None, n)))
            await rpc.ws.send(json.dumps(request("echo", None, -n)))
            await receive(rpc.ws)
            await receive(rpc.ws)
        self.assertLess(asyncio.get_running_loop().time() - started, 0.3)

    async def test_calls_are_counted_by_method_and_outcome(self):
        rpc = await self.raw_rpc()
        await rpc.ask(request("echo"))
        await rpc.ask(request("get_book", {"exchange": "nasdaq", "pair": "SKL_USD"}))
        await rpc.ask(request("a_method_name_a_client_made_up"))
        status, _, text = await self.call("GET", "/metrics", token=READ_TOKEN)
        self.assertIn('xwrap_requests_total{door="rpc",method="echo",outcome="ok"} 1.0', text)
        self.assertIn('xwrap_requests_total{door="rpc",method="get_book",outcome="unknown_exchange"} 1.0', text)
        self.assertIn('xwrap_requests_total{door="rpc",method="unknown",outcome="method_not_found"} 1.0', text)
        self.assertNotIn("a_method_name_a_client_made_up", text)


class TranslationTest(unittest.TestCase):
    """Errors no recording can cause (a live exchange's rate limit, a market that stopped
    taking market orders), through the door's translation."""

    def test_rate_limited(self):
        reply = json.loads(error_response(12, RateLimited("coinbase", 1.5)).serialize())
        self.assertEqual(
            reply,
            {
                "jsonrpc": "2.0",
                "id": 12,
                "error": {
                    "code": -32010,
                    "message": "coinbase rate limit: retry after 1.500 s",
                    "data": {
                        "kind": "rate_limited",
                        "message": "coinbase rate limit: retry after 1.500 s",
                        "details": {"exchange": "coinbase", "retry_after": 1.5},
                    },
                },
            },
        )

    def test_market_closed(self):
        reply = json.loads(error_response("x", MarketClosed("coinbase", "DAI_USD", "market is limit_only")).serialize())
        self.assertEqual(reply["error"]["code"], -32004)
        self.assertEqual(
            reply["error"]["data"]["details"],
            {"exchange": "coinbase", "pair": "DAI_USD", "reason": "market is limit_only"},
        )


class RefusalCase(RunningService):
    async def assert_refused(self, rpc, code, kind):
        error = await receive(rpc.ws)
        self.assertEqual(
            (error["id"], error["error"]["code"], error["error"]["data"]["kind"]), (None, ERROR_CODES[kind][0], kind)
        )
        with self.assertRaises(ConnectionClosed) as closed:
            await receive(rpc.ws)
        self.assertEqual(closed.exception.rcvd.code, code)
        self.assertEqual(closed.exception.rcvd.reason, error["error"]["message"])
        return error


class TokensTest(RefusalCase):
    async def test_a_connection_without_a_valid_token_is_refused(self):
        missing = await self.assert_refused(await self.raw_rpc(None), 1008, "unauthorised")
        self.assertIn("API token is required", missing["error"]["message"])
        wrong = await self.assert_refused(await self.raw_rpc("x" * 26), 1008, "unauthorised")
        self.assertEqual(wrong["error"]["message"], "the API token is not valid")

    async def test_the_token_may_come_in_the_query_string(self):
        rpc = await self.raw_rpc(None, query=f"?token={TRADE_TOKEN}")
        self.assertEqual((await rpc.ask(request("echo", {"ok": "1"})))["result"], {"ok": "1"})

    async def test_no_token_is_ever_logged(self):
        with self.assertLogs(level="DEBUG") as logged:  # every logger, every level
            logging.getLogger().debug("start")
            rpc = await self.raw_rpc(None, query=f"?token={TRADE_TOKEN}")
            await rpc.ask(request("echo"))
            refused = await self.raw_rpc("wrong-token-0123456789abc")
            await receive(refused.ws)
            await rpc.ws.close()
        service = [line for line in logged.output if not line.startswith("DEBUG:websockets.client:")]  # not ours
        self.assertIn("rpc connection from 127.0.0.1 as trader", "\n".join(service))  # known by its name
        self.assertEqual([line for line in service if TRADE_TOKEN in line or "wrong-token" in line], [])


class OriginsWithoutTokensTest(RefusalCase):
    """The default loopback set-up: REST's origin and host rules hold for the websocket too."""

    settings_overrides = {}

    async def test_a_foreign_page_cannot_use_the_service_through_a_browser(self):
        own = f"http://127.0.0.1:{self.server.port}"
        rebound = f"evil.example:{self.server.port}"  # a name made to point at 127.0.0.1
        for origin, host in (("http://evil.example", None), (f"http://{rebound}", "evil.example")):
            with self.subTest(origin=origin, host=host):
                rpc = await self.raw_rpc(None, origin=origin, host=host)
                with contextlib.suppress(ConnectionClosed):  # the refusal may come first
                    await rpc.ws.send(json.dumps(request("create_wallet_set", {"name": "hijacked"})))
                error = await self.assert_refused(rpc, 1008, "unauthorised")
                self.assertIn(origin if host is None else repr(rebound), error["error"]["message"])
        self.assertNotIn("hijacked", [s["name"] for s in await self.server.api.get_wallet_sets()])
        for origin, host in ((own, None), (None, None), (None, "localhost")):
            with self.subTest(origin=origin, host=host):
                rpc = await self.raw_rpc(None, origin=origin, host=host)
                self.assertEqual((await rpc.ask(request("echo", {"ok": "1"})))["result"], {"ok": "1"})


class OriginsWithTokensTest(RefusalCase):
    settings_overrides = {**WITH_TOKENS, "server.cors_origins": ["http://app.example"]}

    async def test_a_valid_token_does_not_let_a_foreign_page_in(self):
        refused = await self.raw_rpc(TRADE_TOKEN, origin="http://evil.example")
        await self.assert_refused(refused, 1008, "unauthorised")
        for origin, host in (("http://app.example", None), (None, "xwrap.example")):  # any name, with tokens
            with self.subTest(origin=origin, host=host):
                rpc = await self.raw_rpc(TRADE_TOKEN, origin=origin, host=host)
                self.assertEqual((await rpc.ask(request("echo", {"ok": "1"})))["result"], {"ok": "1"})


class LimitsTest(RunningService):
    settings_overrides = {**WITH_TOKENS, "server.max_connections_per_client": 2, "server.max_request_bytes": 4096}

    async def test_connections_per_client_address(self):
        first, second = await self.raw_rpc(), await self.raw_rpc()
        third = await self.raw_rpc()
        error = await receive(third.ws)
        self.assertEqual(error["error"]["code"], ERROR_CODES["too_many_connections"][0])
        self.assertEqual(error["error"]["data"]["details"], {"client": "127.0.0.1", "limit": 2})
        with self.assertRaises(ConnectionClosed) as closed:
            await receive(third.ws)
        self.assertEqual(closed.exception.rcvd.code, 1013)
        self.assertEqual((await second.ask(request("echo")))["result"], {})
        await first.ws.close()
        for _ in range(50):  # the server frees the place a moment after the close
            fourth = await self.raw_rpc()
            reply = await fourth.ask(request("echo"))
            if "result" in reply:
                break
            await asyncio.sleep(0.02)
        self.assertEqual(reply["result"], {})

    async def test_a_message_over_the_size_limit_gets_an_error_and_the_connection_stays(self):
        rpc = await self.raw_rpc()
        reply = await rpc.ask(request("echo", {"pad": "x" * 5000}))
        self.assertEqual(reply["id"], None)
        self.assertEqual(reply["error"]["code"], -32600)
        self.assertEqual(reply["error"]["message"], "a message of 5068 bytes is over the limit of 4096")
        self.assertEqual((await rpc.ask(request("echo", {"pad": "x" * 4000})))["result"], {"pad": "x" * 4000})
        await rpc.ws.send(json.dumps(request("echo", {"pad": "x" * 20000})))
        with self.assertRaises(ConnectionClosed) as closed:  # past 4 x the limit: not even read
            await receive(rpc.ws)
        self.assertEqual(closed.exception.rcvd.code, 1009)


class BatchLimitsTest(RunningService):
    settings_overrides = {**WITH_TOKENS, "server.max_batch_requests": 5, "server.max_batch_answer_bytes": 2048}

    async def wallet_set_names(self):
        return [s["name"] for s in await self.server.api.get_wallet_sets()]

    async def test_a_batch_over_the_length_limit_is_refused_whole(self):
        rpc = await self.raw_rpc()
        batch = [request("create_wallet_set", {"name": "too-long"}, 1)] + [request("echo", {}, n) for n in range(2, 7)]
        reply = await rpc.ask(batch)
        self.assertEqual(
            (reply["id"], reply["error"]["code"], reply["error"]["message"]),
            (None, -32600, "a batch of 6 calls is over the limit of 5 (server.max_batch_requests): none was run"),
        )
        self.assertNotIn("too-long", await self.wallet_set_names())
        self.assertEqual(len(await rpc.ask(batch[:5])), 5)

    async def test_calls_past_the_answer_limit_are_not_run_and_say_so(self):
        rpc = await self.raw_rpc()
        pad = {"pad": "x" * 1000}
        replies = await rpc.ask(
            [
                request("echo", pad, 1),
                request("echo", pad, 2),
                request("create_wallet_set", {"name": "late"}, 3),
                {"jsonrpc": "2.0", "method": "create_wallet_set", "params": {"name": "later"}},
                request("echo", {}, 4),
            ]
        )
        self.assertEqual([r["id"] for r in replies], [1, 2, 3, 4])
        self.assertEqual([r["result"] for r in replies[:2]], [pad, pad])
        for late in replies[2:]:
            self.assertEqual(late["error"]["code"], -32600)
            self.assertEqual(
                late["error"]["message"],
                "the answers of this batch reached the limit of 2048 bytes "
                "(server.max_batch_answer_bytes): this call was not run; send it again",
            )
        self.assertEqual([n for n in await self.wallet_set_names() if n.startswith("late")], [])
        self.assertEqual((await rpc.ask(request("echo", pad, 5)))["result"], pad)  # the connection goes on


class BatchFairnessTest(RunningService):
    settings_overrides = {**WITH_TOKENS, "server.max_batch_answer_bytes": 64 * 1024 * 1024}  # every call runs

    async def test_other_clients_are_answered_while_a_long_batch_runs(self):
        batcher, other = await self.raw_rpc(), await self.raw_rpc(READ_TOKEN)
        markets = {"exchange": "coinbase"}  # the heaviest read on the recording: 160 markets, 52 KB

        def markets_answered():
            return (
                self.server.metrics.registry.get_sample_value(
                    "xwrap_requests_total", {"door": "rpc", "method": "get_markets", "outcome": "ok"}
                )
                or 0
            )

        await batcher.ws.send(json.dumps([request("get_markets", markets, n) for n in range(50)]))
        while markets_answered() == 0:
            await asyncio.sleep(0)
        batch = asyncio.create_task(receive(batcher.ws, 30))
        statuses = 0
        while not batch.done():
            self.assertIn("result", await other.ask(request("get_status")))
            statuses += 1
        self.assertEqual(len(await batch), 50)
        self.assertEqual(markets_answered(), 50)
        self.assertGreaterEqual(statuses, 10)  # the batch held everybody else until it ended: 0 or 1


class SlowClientTest(RunningService):
    settings_overrides = {**WITH_TOKENS, "server.send_timeout_seconds": "0.3"}

    async def test_a_subscriber_that_reads_nothing_is_disconnected_with_the_reason_and_counted(self):
        reader, idle = await self.raw_rpc(), await self.raw_rpc(max_queue=1)  # idle: reads its socket no more
        for peer in (reader, idle):
            await peer.ask(request("subscribe", {"topics": ["logs"]}))
        line = {"time": 1, "level": "INFO", "logger": "made.up", "message": "x" * 65536}  # 64 kB log lines
        read = asyncio.create_task(reader.notifications(lambda seen: len(seen) == 200, timeout=20))
        with self.assertLogs("exchange_wrapper.service.sessions", "WARNING") as logged:
            for _ in range(200):  # more than the socket's buffers hold
                self.server.bus.publish("logs", line)
            await self.slow_clients_closed("rpc", 1)
        self.assertEqual(
            logged.output,
            [
                "WARNING:exchange_wrapper.service.sessions:rpc connection from 127.0.0.1 as "
                "trader closed: too slow: what it was sent stayed unread for 0.3 s "
                "(server.send_timeout_seconds)"
            ],
        )
        self.assertEqual(len(await read), 200)  # a client that reads stays
        self.assertEqual((await reader.ask(request("echo", {"still": "here"})))["result"], {"still": "here"})
        self.assertEqual(len(self.server.bus.subscriptions), 1)  # the idle one's went at once
        closed = await self.drained(idle.ws)
        self.assertEqual((closed.code, closed.reason), (1008, logged.output[0].split(" closed: ")[1]))
        _, _, metrics = await self.call("GET", "/metrics", token=READ_TOKEN)
        self.assertIn('xwrap_disconnects_total{door="rpc",reason="too_slow"} 1.0', metrics)


class SubscriptionsTest(RunningService):
    async def test_a_fill_arrives_as_a_notification_and_the_wallets_follow(self):
        wallet_set_id = await self.funded_wallet_set(token=TRADE_TOKEN)
        rpc = await self.raw_rpc()
        reply = await rpc.ask(request("subscribe", {"topics": ["fills", "wallets", "orders"]}))
        self.assertEqual(reply["result"], {"topics": ["fills", "orders", "wallets"]})
        ask_price, ask_size = self.book.asks.best
        order = (
            await rpc.ask(
                request(
                    "make_order",
                    {
                        "wallet_set_id": wallet_set_id,
                        "exchange": "coinbase",
                        "pair": "SKL_USD",
                        "side": "buy",
                        "type": "market",
                        "size": "100",
                    },
                )
            )
        )["result"]
        self.assertEqual(order["status"], "filled")
        notes = await rpc.notifications(lambda seen: {"fills", "wallets"} <= {n["method"] for n in seen})
        fill = next(n["params"] for n in notes if n["method"] == "fills")
        self.assertLessEqual(D(100), ask_size)
        self.assertEqual((D(fill["price"]), D(fill["size"]), fill["liquidity"]), (ask_price, D(100), "taker"))
        self.assertEqual(D(fill["fee"]), ask_price * 100 * D("0.006"))
        self.assertEqual((fill["wallet_set_id"], fill["pair"], fill["side"]), (wallet_set_id, "SKL_USD", "buy"))
        stored = order["fills"][0]
        self.assertEqual({k: fill[k] for k in stored if k != "time"}, {k: v for k, v in stored.items() if k != "time"})
        self.assertAlmostEqual(fill["time"], stored["time"], places=5)  # the database keeps microseconds
        wallets = [n["params"] for n in notes if n["method"] == "wallets"][-1]
        balances = {w["currency"]: w for w in wallets["wallets"]}
        self.assertEqual(D(balances["USD"]["balance"]), D(1000) - ask_price * 100 * D("1.006"))
        self.assertEqual((D(balances["SKL"]["balance"]), D(balances["USD"]["hold"])), (D(2100), D(0)))
        statuses = [n["params"]["status"] for n in notes if n["method"] == "orders"]
        self.assertEqual(statuses[-1], "filled")

    async def test_unsubscribe_and_the_topics_checked(self):
        rpc = await self.raw_rpc()
        error = (await rpc.ask(request("subscribe", {"topics": ["fills", "trades"]})))["error"]
        self.assertEqual((error["data"]["kind"], error["data"]["details"]["field"]), ("invalid_parameter", "topics"))
        error = (await rpc.ask(request("subscribe", {})))["error"]
        self.assertEqual(error["data"]["details"]["field"], "topics")
        await rpc.ask(request("subscribe", {"topics": ["logs", "status"]}))
        self.assertEqual(
            (await rpc.ask(request("unsubscribe", {"topics": ["logs"]})))["result"], {"topics": ["status"]}
        )
        logging.getLogger("exchange_wrapper.tests").warning("not for this client")
        self.server.hub.set_connection("coinbase", FeedStatus.DOWN, "unplugged for the test")
        notes = await rpc.notifications(lambda seen: any(n["method"] == "status" for n in seen))
        self.assertEqual({n["method"] for n in notes}, {"status"})
        self.assertEqual(
            notes[-1]["params"],
            {
                "exchange": "coinbase",
                "mode": "paper",
                "status": "down",
                "reason": "unplugged for the test",
                "pairs": notes[-1]["params"]["pairs"],
            },
        )

    async def test_book_tops_and_log_lines(self):
        rpc = await self.raw_rpc()
        await rpc.ask(request("subscribe", {"topics": ["books", "logs"]}))
        logger = logging.getLogger("exchange_wrapper")  # as `xwrap serve` sets it with log_level INFO
        self.addCleanup(logger.setLevel, logger.level)
        logger.setLevel(logging.INFO)
        threading.Thread(target=logging.getLogger("exchange_wrapper.tests").info, args=("from a thread %s", 7)).start()
        before = self.book.bids.best, self.book.asks.best
        self.step_until(lambda: (self.book.bids.best, self.book.asks.best) != before)
        notes = await rpc.notifications(
            lambda seen: (
                any(
                    n["method"] == "books"
                    and n["params"]["pair"] == "SKL_USD"
                    and (D(n["params"]["bid"]), D(n["params"]["ask"]))
                    == (self.book.bids.best[0], self.book.asks.best[0])
                    for n in seen
                )
                and any(n["method"] == "logs" for n in seen)
            )
        )
        line = next(n["params"] for n in notes if n["method"] == "logs")
        self.assertEqual(
            (line["level"], line["logger"], line["message"]), ("INFO", "exchange_wrapper.tests", "from a thread 7")
        )


# -- fuzzing ----------------------------------------------------------------------------------------

FUZZ_EXAMPLES = 3000 if os.environ.get("XWRAP_FUZZ") == "1" else 60

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
ids = (
    st.none() | st.integers(-(10**6), 10**6) | st.text(max_size=8) | st.booleans() | st.lists(st.integers(), max_size=2)
)
methods = st.sampled_from(sorted(OPERATIONS) + ["subscribe", "unsubscribe", "rpc.discover", ""]) | st.text(max_size=12)
params = (
    st.none()
    | json_values
    | st.fixed_dictionaries(
        {},
        optional={
            "exchange": st.sampled_from(["coinbase", "binance", "nasdaq"]) | st.text(max_size=5),
            "pair": st.sampled_from(["SKL_USD", "BTC_USD", "SKL_JPY"]) | json_values,
            "wallet_set_id": st.integers(-1, 3) | json_values,
            "side": st.sampled_from(["buy", "sell"]),
            "size": st.sampled_from(["1", "0.0001", "-1", "1e9"]) | json_values,
            "price": json_values,
            "order_id": json_values,
            "topics": st.lists(st.sampled_from(["fills", "books", "nope"])) | json_values,
        },
    )
)
objects = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "2.0", "2.0", "1.0", 2]),
        "id": ids,
        "method": methods,
        "params": params,
        "extra": json_values,
    },
)
messages = (
    objects.map(json.dumps)
    | st.lists(objects | json_values, max_size=5).map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=40)
    | st.binary(max_size=40)
)


def expected_ids(message):
    """The ids the door must answer to: every request object with a usable id, in or out of a batch."""
    try:
        decoded = json.loads(message, parse_constant=int)  # NaN and Infinity are not JSON: a parse error
    except (ValueError, RecursionError):
        return []
    items = decoded if isinstance(decoded, list) else [decoded]
    return [
        item["id"]
        for item in items
        if isinstance(item, dict)
        and "id" in item
        and isinstance(item["id"], (str, int, float))
        and not isinstance(item["id"], bool)
    ]


class FuzzTest(RunningService):
    async def test_random_messages_get_valid_answers_and_never_close_the_connection(self):
        rpc = await self.raw_rpc()
        loop = asyncio.get_running_loop()
        wanted, answered = Counter(), Counter()

        async def exchange(message):
            await rpc.ws.send(message)
            wanted.update(json.dumps(i) for i in expected_ids(message))
            sentinel = request("echo", None, "sentinel")
            await rpc.ws.send(json.dumps(sentinel))
            while True:  # everything up to the sentinel's answer, and what comes after it for a moment
                reply = await receive(rpc.ws)
                if isinstance(reply, dict) and reply.get("id") == "sentinel":
                    break
                self.check_reply(reply, answered)

        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(messages)
        def send(message):
            asyncio.run_coroutine_threadsafe(exchange(message), loop).result(10)

        await asyncio.to_thread(send)
        await asyncio.sleep(0.2)  # answers to slow calls may come after the last sentinel
        while True:
            try:
                self.check_reply(await receive(rpc.ws, timeout=0.2), answered)
            except TimeoutError:
                break
        self.assertEqual(answered - wanted, Counter())  # nothing answered that was not asked
        self.assertEqual(wanted - answered, Counter())  # everything asked was answered
        self.assertEqual((await rpc.ask(request("echo", {"alive": "yes"})))["result"], {"alive": "yes"})

    def check_reply(self, reply, answered):
        for item in reply if isinstance(reply, list) else [reply]:
            if "method" in item:  # a notification of a topic the fuzzer subscribed to
                self.assertEqual(set(item), {"jsonrpc", "method", "params"})
                continue
            self.assertEqual(item["jsonrpc"], "2.0")
            self.assertEqual(len({"result", "error"} & set(item)), 1, item)
            if "error" in item:
                error = item["error"]
                self.assertNotEqual(error["code"], -32603, item)  # an internal error is a crash
                self.assertEqual(error["code"], ERROR_CODES[error["data"]["kind"]][0])
                self.assertIsInstance(error["message"], str)
            if item["id"] is not None:
                answered[json.dumps(item["id"])] += 1


if __name__ == "__main__":
    unittest.main()
