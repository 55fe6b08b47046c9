"""The dashboard in a real browser: Debian's chromium, headless, driven over the DevTools protocol.
The page loads on a service playing the recorded Coinbase traffic; orders placed through the API
then show on it, with their fills and the wallets they moved, without a reload."""

import asyncio
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from decimal import Decimal as D
from pathlib import Path

import websockets

from exchange_wrapper.service.http import DASHBOARD, DASHBOARD_LIBRARIES
from tests.service.recorded import READ_TOKEN, SKL, TOKENS, TRADE_TOKEN, RecordedServiceTest, http

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]


class Browser:
    """A headless chromium showing one page; :meth:`evaluate` runs JavaScript in it. Every console error
    and uncaught exception of the page is kept in :attr:`errors` (the page is opened after listening)."""

    def __init__(self):
        if not os.path.exists(CHROMIUM):
            raise AssertionError(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)")
        self.profile = tempfile.mkdtemp(prefix="xwrap-chromium-")
        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.ids = itertools.count(1)
        self.socket = None
        self.errors: list[str] = []

    async def open(self, url: str, timeout: float = 20) -> None:
        """Wait for the DevTools endpoint, attach to the blank page, listen to its console, open ``url``."""
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"chromium did not start (exit code {self.process.poll()})")
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        _, _, targets = await asyncio.to_thread(http, f"http://127.0.0.1:{port}/json/list")
        targets = json.loads(targets) if isinstance(targets, str) else targets
        page = next(t for t in targets if t["type"] == "page")
        self.socket = await websockets.connect(page["webSocketDebuggerUrl"], max_size=None)
        await self.send("Runtime.enable")
        await self.send("Page.navigate", url=url)

    async def send(self, method: str, **params):
        number = next(self.ids)
        await self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(await self.socket.recv())
            self.keep_error(message)
            if message.get("id") == number:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message["result"]

    def keep_error(self, message: dict) -> None:
        params = message.get("params", {})
        if message.get("method") == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description") or details.get("text"))
        elif message.get("method") == "Runtime.consoleAPICalled" and params["type"] == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))

    async def evaluate(self, expression: str):
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 10):
        """The first truthy value of ``expression``, polled (an exception counts as not yet)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await self.evaluate(f"(() => {{ try {{ return {expression}; }} catch (e) {{ return null; }} }})()")
            if value:
                return value
            await asyncio.sleep(0.05)
        text = await self.evaluate("document.body.innerText")
        raise AssertionError(f"the page never showed {expression}; it shows:\n{text}")

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        self.process.terminate()
        try:
            await asyncio.to_thread(self.process.wait, 10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def row_cells(selector: str) -> str:
    """JavaScript: the texts of the cells of the row ``selector``, or null."""
    return (
        f"(() => {{ const row = document.querySelector({json.dumps(selector)});"
        f" return row && [...row.cells].map(c => c.textContent); }})()"
    )


class DashboardTest(RecordedServiceTest):
    settings_overrides = {"tokens": TOKENS}

    async def test_orders_fills_and_wallets_appear_live(self):
        ws = await self.funded_wallet_set(token=TRADE_TOKEN)
        browser = Browser()
        self.addAsyncCleanup(browser.close)
        await browser.open(f"{self.base}/dashboard/?token={READ_TOKEN}")
        await browser.wait_for("document.getElementById('connection').textContent === 'live'")
        await browser.evaluate("window.notReloaded = true")
        usd = await browser.wait_for(row_cells(f"#wallets tr[data-wallet='{ws}:coinbase:USD']"))
        self.assertEqual(usd[3:], ["1000", "0", "1000"])
        bid, ask = self.server.hub.book("coinbase", SKL).bids.best[0], self.server.hub.book("coinbase", SKL).asks.best
        top = await browser.wait_for(row_cells("#books tr[data-pair='coinbase:SKL_USD']"))
        self.assertEqual((D(top[2]), D(top[3]), top[5]), (bid, ask[0], "live"))

        order = {"wallet_set_id": ws, "exchange": "coinbase", "pair": "SKL_USD"}
        resting = await self.ok(
            "POST",
            "/xwrap/v1/orders",
            {**order, "side": "sell", "price": str(ask[0] + 1), "size": "300"},
            token=TRADE_TOKEN,
        )
        # the page shows "pending" first (published on entry), then "open": wait for the second
        shown = await browser.wait_for(row_cells(f"#orders tr[data-order-id='{resting['id']}'][data-status='open']"))
        self.assertEqual((shown[4:6], D(shown[6]), shown[7:]), (["sell", "limit"], ask[0] + 1, ["300", "0", "open"]))
        taken = await self.ok(
            "POST", "/xwrap/v1/orders", {**order, "side": "buy", "type": "market", "size": "100"}, token=TRADE_TOKEN
        )
        self.assertEqual(taken["status"], "filled")
        shown = await browser.wait_for(row_cells(f"#orders tr[data-order-id='{taken['id']}'][data-status='filled']"))
        self.assertEqual(shown[8:], ["100", "filled"])
        (fill,) = taken["fills"]
        shown = await browser.wait_for(row_cells(f"#fills tr[data-order-id='{taken['id']}']"))
        self.assertEqual((shown[1:5], D(shown[5]), shown[6]), ([taken["id"], str(ws), "SKL_USD", "buy"], ask[0], "100"))
        self.assertEqual(D(fill["price"]), ask[0])
        skl = await browser.wait_for(
            row_cells(f"#wallets tr[data-wallet='{ws}:coinbase:SKL']") + " ?.[3] === '2100'"
            " && " + row_cells(f"#wallets tr[data-wallet='{ws}:coinbase:SKL']")
        )
        self.assertEqual(skl[3:], ["2100", "300", "1800"])
        await self.ok("POST", f"/xwrap/v1/orders/{resting['id']}/cancel", token=TRADE_TOKEN)
        await browser.wait_for(row_cells(f"#orders tr[data-order-id='{resting['id']}'][data-status='cancelled']"))
        self.assertTrue(await browser.evaluate("window.notReloaded === true"))
        # a read token: no order form, no cancel buttons
        await browser.wait_for("document.body.dataset.scope === 'read'")
        self.assertTrue(await browser.evaluate("document.getElementById('order-form').hidden"))
        self.assertEqual(await browser.evaluate("document.querySelectorAll('#orders button').length"), 0)
        self.assertEqual(await browser.evaluate("document.getElementById('error').textContent"), "")


class LibrariesTest(RecordedServiceTest):
    async def test_the_npm_libraries_are_served_and_nothing_else_of_node_modules(self):
        for served, installed in DASHBOARD_LIBRARIES.items():
            with self.subTest(served=served):
                status, head, body = await asyncio.to_thread(http, f"{self.base}/dashboard/lib/{served}")
                self.assertEqual(status, 200)
                self.assertEqual(body, (DASHBOARD / "node_modules" / installed).read_text(encoding="utf-8"))
        for path in ("/dashboard/lib/", "/dashboard/lib/package.json", "/dashboard/node_modules/.package-lock.json"):
            with self.subTest(path=path):
                status, _, _ = await asyncio.to_thread(http, self.base + path)
                self.assertEqual(status, 404)


MINUTE = 1618677780  # the capture's one whole minute, 16:43 UTC: stored once the replay passes 16:44:02


class MarketsTest(RecordedServiceTest):
    settings_overrides = {"tokens": TOKENS}

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.browser = Browser()
        self.addAsyncCleanup(self.browser.close)

    def assertNoPageErrors(self):
        self.assertEqual(self.browser.errors, [])

    async def choose(self, browser, select, value):
        """Choose ``value`` in the page's <select id=``select``> as a user does."""
        await browser.evaluate(
            f"document.getElementById('{select}').value = '{value}';"
            f"document.getElementById('{select}').dispatchEvent(new Event('change'))"
        )

    async def book_shown(self):
        """The rows of the page's book table: [bid size, bid, ask, ask size] each."""
        return await self.browser.evaluate(
            "[...document.querySelectorAll('#book tbody tr')].map(r => [...r.cells].map(c => c.textContent))"
        )

    async def test_the_chosen_book_its_trades_and_candles_with_the_fills_marked(self):
        self.step_until(lambda: len(self.server.hub.recent_trades("coinbase", SKL)) >= 3)
        ws = await self.funded_wallet_set(token=TRADE_TOKEN)
        browser = self.browser
        await browser.open(f"{self.base}/dashboard/?token={READ_TOKEN}")
        await browser.wait_for("document.getElementById('connection').textContent === 'live'")
        await browser.wait_for("!!document.querySelector('#market option[value=\"coinbase:SKL_USD\"]')")
        await self.choose(browser, "market", "coinbase:SKL_USD")
        book = self.server.hub.book("coinbase", SKL)
        expected = [
            [str(b[1]), str(b[0]), str(a[0]), str(a[1])]
            for b, a in zip(book.bids.top(10), book.asks.top(10), strict=True)
        ]
        await browser.wait_for(f"Number({row_cells('#book tbody tr')}[1]) === {float(expected[0][1])}")
        shown = await self.book_shown()
        self.assertEqual([[D(x) for x in r] for r in shown], [[D(x) for x in r] for r in expected])
        self.assertEqual(await browser.evaluate("document.getElementById('book-state').textContent"), "live")
        # the depth chart: cumulative sizes, best level first on each side
        depth = await browser.evaluate("[markets.bidDepth.data(), markets.askDepth.data()]")
        self.assertEqual(depth[0][-1]["value"], float(expected[0][0]))
        self.assertAlmostEqual(depth[1][-1]["value"], float(sum(D(r[3]) for r in expected)))
        trades = await self.ok("GET", "/xwrap/v1/trades?exchange=coinbase&pair=SKL_USD&limit=20", token=READ_TOKEN)
        shown = await browser.wait_for(
            "document.querySelectorAll('#trades tbody tr').length && "
            "[...document.querySelectorAll('#trades tbody tr')].map(r => r.dataset.tradeId)"
        )
        self.assertEqual(shown, [t["trade_id"] for t in trades])

        order = {"wallet_set_id": ws, "exchange": "coinbase", "pair": "SKL_USD"}
        taken = await self.ok(
            "POST", "/xwrap/v1/orders", {**order, "side": "buy", "type": "market", "size": "100"}, token=TRADE_TOKEN
        )
        (fill,) = taken["fills"]
        marker = await browser.wait_for("markets.fillMarkers.markers().find(m => m.text.startsWith('buy'))")
        self.assertEqual(
            (marker["time"], marker["shape"], marker["text"]),
            (int(fill["time"]) // 60 * 60, "arrowUp", f"buy 100 @ {fill['price']}"),
        )

        # the replay past 16:44:02: the minute 16:43 is stored, and the candle chart shows it
        for record in self.records:
            self.replay.step(record, time.time())
            if getattr(record, "ts", 0) > MINUTE + 62:
                break
        # (the minute may show first as the collector had it part way, before its last trades were written)
        candle = await browser.wait_for(
            f"markets.candleSeries.data().find(c => c.time === {MINUTE} && c.close === 0.7909)", timeout=15
        )
        self.assertEqual(candle, {"time": MINUTE, "open": 0.791, "high": 0.7921, "low": 0.7909, "close": 0.7909})
        await self.choose(browser, "interval", "1h")
        hour = await browser.wait_for(f"markets.candleSeries.data().find(c => c.time === {MINUTE - 43 * 60})")
        self.assertEqual(hour["open"], 0.791)
        self.assertEqual(await browser.evaluate("document.getElementById('error').textContent"), "")
        self.assertNoPageErrors()

    async def type(self, name, value):
        """Type ``value`` into the order form's field ``name`` (an input or a select), as a user does."""
        await self.browser.evaluate(
            f"(() => {{ const field = document.getElementById('order-form').elements[{json.dumps(name)}];"
            f" field.value = {json.dumps(value)}; field.dispatchEvent(new Event('input', {{bubbles: true}})); }})()"
        )

    async def text(self, element_id):
        return await self.browser.evaluate(f"document.getElementById('{element_id}').textContent")

    async def place(self, **fields):
        """Fill the order form and press place; the result line once the service answered."""
        for name, value in fields.items():
            await self.type(name, value)
        await self.browser.evaluate("document.querySelector('#order-form button[type=submit]').click()")
        return await self.browser.wait_for(
            "(t => t !== 'sending…' && t)(document.getElementById('order-result').textContent)"
        )

    async def test_orders_placed_and_cancelled_through_the_form(self):
        ws = await self.funded_wallet_set(token=TRADE_TOKEN)
        browser = self.browser
        await browser.open(f"{self.base}/dashboard/?token={TRADE_TOKEN}")
        await browser.wait_for("document.getElementById('connection').textContent === 'live'")
        await browser.wait_for("document.body.dataset.scope === 'trade'")
        self.assertFalse(await browser.evaluate("document.getElementById('order-form').hidden"))
        await browser.wait_for("!!document.querySelector('#market option[value=\"coinbase:SKL_USD\"]')")
        await self.choose(browser, "market", "coinbase:SKL_USD")
        rules = await browser.wait_for(
            "(t => t.startsWith('SKL/USD') && t)(document.getElementById('order-rules').textContent)"
        )
        (market,) = await self.ok("GET", "/xwrap/v1/markets?exchange=coinbase&pair=SKL_USD", token=READ_TOKEN)
        self.assertEqual(
            rules,
            f"SKL/USD: tick {market['tick_size']} · step {market['size_step']} · min size {market['min_size']}"
            f" · min notional {market['min_notional']} · taker fee {market['taker_fee']}",
        )
        self.assertEqual((market["tick_size"], market["size_step"], market["min_size"]), ("0.0001", "0.1", "5"))
        await browser.wait_for(f"document.getElementById('order-wallet-set').value === '{ws}'")

        # off the grid: flagged as typed
        await self.type("price", "0.79105")
        await self.type("size", "300.05")
        flags = await self.text("order-flags")
        self.assertEqual(flags, "price 0.79105 is off the tick 0.0001 · size 300.05 is off the step 0.1")

        ask = self.server.hub.book("coinbase", SKL).asks.best[0]
        # a resting sell: it holds its size
        await self.type("side", "sell")
        await self.type("price", str(ask + D("0.01")))
        await self.type("size", "300")
        self.assertEqual((await self.text("order-flags"), await self.text("order-hold")), ("", "hold: 300 SKL"))
        result = await self.place()
        resting = await browser.evaluate("document.getElementById('order-result').dataset.orderId")
        self.assertEqual(result, f"order {resting}: open")
        await browser.wait_for(
            f"!!document.querySelector(\"#orders tr[data-order-id='{resting}'] button[data-cancel]\")"
        )

        # a buy at the ask: it holds price × size × (1 + taker fee), and fills
        await self.type("side", "buy")
        await self.type("price", str(ask))
        await self.type("size", "100")
        self.assertEqual(await self.text("order-hold"), f"hold: {(ask * 100 * D('1.006')).normalize():f} USD")
        result = await self.place()
        taken = await browser.evaluate("document.getElementById('order-result').dataset.orderId")
        self.assertEqual(result, f"order {taken}: filled")
        shown = await browser.wait_for(row_cells(f"#fills tr[data-order-id='{taken}']"))
        self.assertEqual((shown[4], D(shown[5]), shown[6]), ("buy", ask, "100"))
        marker = await browser.wait_for("markets.fillMarkers.markers().find(m => m.text.startsWith('buy'))")
        self.assertEqual((marker["shape"], marker["text"]), ("arrowUp", f"buy 100 @ {shown[5]}"))
        # and the wallet balance it moved, as the service has it, without a reload
        wallets = (await self.ok("GET", f"/xwrap/v1/wallet_sets/{ws}", token=TRADE_TOKEN))["wallets"]
        (usd,) = [w for w in wallets if w["currency"] == "USD"]
        self.assertLess(D(usd["balance"]), D("1000"))
        usd_row = row_cells(f"#wallets tr[data-wallet='{ws}:coinbase:USD']")
        shown = await browser.wait_for(f"{usd_row}?.[3] === {json.dumps(usd['balance'])} && {usd_row}")
        self.assertEqual(shown[3:], [usd["balance"], usd["hold"], usd["available"]])
        await browser.wait_for(
            f"!!document.querySelector(\"#orders tr[data-order-id='{taken}'][data-status='filled']\")"
        )
        self.assertEqual(
            await browser.evaluate(f"document.querySelectorAll(\"#orders tr[data-order-id='{taken}'] button\").length"),
            0,
        )

        # the resting order cancelled with its button
        await browser.evaluate(f"document.querySelector(\"button[data-cancel='{resting}']\").click()")
        await browser.wait_for(row_cells(f"#orders tr[data-order-id='{resting}'][data-status='cancelled']"))
        self.assertEqual(
            (await self.ok("GET", f"/xwrap/v1/orders/{resting}", token=TRADE_TOKEN))["status"], "cancelled"
        )

        # below the minimum size: flagged, sent anyway, and the service's refusal shown
        await self.type("size", "1")
        self.assertEqual(
            await self.text("order-flags"),
            f"size 1 is below the min size 5 · notional {ask.normalize():f} is below the min notional"
            f" {market['min_notional']}",
        )
        refusal = {
            "wallet_set_id": ws,
            "exchange": "coinbase",
            "pair": "SKL_USD",
            "side": "buy",
            "type": "limit",
            "price": str(ask),
            "size": "1",
            "strict": True,
        }
        status, _, error = await self.call("POST", "/xwrap/v1/orders", refusal, token=TRADE_TOKEN)
        self.assertEqual(status, 422)  # the order refused: nothing placed
        result = await self.place()
        self.assertEqual(result, f"{error['error']['kind']}: {error['error']['message']}")
        self.assertEqual(await browser.evaluate("document.getElementById('order-result').className"), "rejected")

        # cancel-all of the chosen wallet set
        await self.type("side", "sell")
        await self.type("price", str(ask + D("0.01")))
        await self.type("size", "50")
        await self.place()
        second = await browser.evaluate("document.getElementById('order-result').dataset.orderId")
        await browser.wait_for(row_cells(f"#orders tr[data-order-id='{second}'][data-status='open']"))
        await browser.evaluate("document.getElementById('cancel-all').click()")
        await browser.wait_for(row_cells(f"#orders tr[data-order-id='{second}'][data-status='cancelled']"))
        self.assertEqual(await self.text("order-result"), f"wallet set {ws}: cancelled all its open orders")
        self.assertEqual(await self.text("error"), "")
        self.assertNoPageErrors()
