"""The efficient-frontier rebalancer of docs/examples/rebalance.py run in backtest mode on the Coinbase
capture's BTC books: it trades towards its weights, every fill is one the recording explains, the ledger
verifies."""

import re
import unittest

from exchange_wrapper.client import AsyncClient

from .backtest import ExampleBacktest, example, unexplained

rebalance = example("rebalance")
PAIRS = ["SKL_BTC", "BAND_BTC", "DASH_BTC"]


class RebalanceTest(ExampleBacktest):
    async def test_the_rebalancer_trades_towards_its_weights_and_every_fill_is_explained(self):
        code, output = await self.backtest(rebalance.run, PAIRS, "0.1", 1.0, 8, 8, "0.1", "0.01", 28.0)
        self.assertEqual(code, 0, output)
        wallet_set_id = int(re.search(r"wallet set (\d+)", output).group(1))
        fills, sides = await self.fills(wallet_set_id)
        async with AsyncClient(self.url) as client:
            pairs = {f["order_id"]: (await client.get_order(order_id=f["order_id"]))["pair"] for f in fills}
        # deterministic: half SKL, half DASH at bar 8; all cash at bar 16 (no mix had a positive mean);
        # all DASH at bar 24
        self.assertEqual(
            re.findall(r"bar (\d+): weights SKL (\d+)%, BAND (\d+)%, DASH (\d+)%", output),
            [("8", "50", "0", "50"), ("16", "0", "0", "0"), ("24", "0", "0", "100")],
        )
        self.assertEqual(len(fills), 17)
        self.assertEqual(
            {(pairs[f["order_id"]], sides[f["order_id"]]) for f in fills},
            {("SKL_BTC", "buy"), ("SKL_BTC", "sell"), ("DASH_BTC", "buy"), ("DASH_BTC", "sell")},
        )
        self.assertIn("DASH: balance 15.732", output)
        for pair in PAIRS:
            of_pair = [f for f in fills if pairs[f["order_id"]] == pair]
            self.assertEqual(unexplained(of_pair, sides, pair.replace("_", "-")), [])
        await self.assert_ledger_verifies()


if __name__ == "__main__":
    unittest.main()
