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
    """A headless chromium showing one page; :meth:`evaluate` runs JavaScript in it."""

    def __init__(self, url: str):
        if not os.path.exists(CHROMIUM):
            raise AssertionError(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)")
        self.profile = tempfile.mkdtemp(prefix="xwrap-chromium-")
        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.ids = itertools.count(1)
        self.socket = None

    async def open(self, timeout: float = 20) -> None:
        """Wait for the DevTools endpoint and attach to the page."""
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

    async def send(self, method: str, **params):
        number = next(self.ids)
        await self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(await self.socket.recv())
            if message.get("id") == number:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message["result"]

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
        browser = Browser(f"{self.base}/dashboard/?token={READ_TOKEN}")
        self.addAsyncCleanup(browser.close)
        await browser.open()
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
