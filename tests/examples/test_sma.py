"""The moving-average crossover of docs/examples/sma.py run in backtest mode on the Coinbase capture's
SKL-USD: it trades on the crosses, every fill is one the recording explains, the ledger verifies."""

import re
import unittest
from decimal import Decimal as D

from .backtest import ExampleBacktest, example, unexplained

sma = example("sma")


class SmaTest(ExampleBacktest):
    async def test_the_crossover_trades_on_the_crosses_and_every_fill_is_explained(self):
        code, output = await self.backtest(sma.run, "SKL_USD", 1.0, 3, 8, "1000", "5000", 28.0)
        self.assertEqual(code, 0, output)
        wallet_set_id = int(re.search(r"wallet set (\d+)", output).group(1))
        fills, sides = await self.fills(wallet_set_id)
        # deterministic: one cross up bought 1000 SKL at the asks, the cross back down sold them at the bids
        self.assertEqual(re.findall(r"crossed (above|below)", output), ["above", "below"])
        self.assertEqual({f["cause"]["type"] for f in fills}, {"book_level"})
        for side in ("buy", "sell"):
            self.assertEqual(sum(D(f["size"]) for f in fills if sides[f["order_id"]] == side), D(1000))
        self.assertIn("27 bars, 3 fills, holding 0 SKL", output)
        self.assertEqual(unexplained(fills, sides, "SKL-USD"), [])
        taken = dict(fills[0], cause=dict(fills[0]["cause"], size_shown="1"))  # a level size the book never had
        self.assertEqual(unexplained([taken], sides, "SKL-USD"), [taken])
        await self.assert_ledger_verifies()


if __name__ == "__main__":
    unittest.main()
