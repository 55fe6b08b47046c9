"""The grid strategy of docs/examples/grid.py run in backtest mode on the Coinbase capture's SKL-USD:
it trades on both sides, every fill is one the recording explains, the ledger verifies."""

import re
import unittest
from decimal import Decimal as D

from .backtest import ExampleBacktest, example, unexplained

grid = example("grid")


class GridTest(ExampleBacktest):
    async def test_the_grid_trades_the_recorded_swings_and_every_fill_is_explained(self):
        code, output = await self.backtest(grid.run, "SKL_USD", "0.0002", 4, "500", "5000", "5000", 0.5, 28.0)
        self.assertEqual(code, 0, output)
        wallet_set_id = int(re.search(r"wallet set (\d+)", output).group(1))
        fills, sides = await self.fills(wallet_set_id)
        self.assertEqual(len(fills), 39, output)  # the backtest is deterministic: the same fills every run
        self.assertEqual(set(sides.values()), {"buy", "sell"})
        self.assertEqual({f["cause"]["type"] for f in fills}, {"public_trade", "book_cross"})
        self.assertEqual(unexplained(fills, sides, "SKL-USD"), [])
        traded = next(f for f in fills if f["cause"]["type"] == "public_trade")
        for wrong in (  # the check can fail: a trade at a price the recording has not, a limit it would not meet
            dict(traded, cause=dict(traded["cause"], price=str(D(traded["cause"]["price"]) + D("0.0001")))),
            dict(
                traded,
                price=str(
                    D(traded["cause"]["price"]) + D("0.0001") * (-1 if sides[traded["order_id"]] == "buy" else 1)
                ),
            ),
        ):
            self.assertEqual(unexplained([wrong], sides, "SKL-USD"), [wrong])
        bought = sum(D(f["size"]) for f in fills if sides[f["order_id"]] == "buy")
        sold = sum(D(f["size"]) for f in fills if sides[f["order_id"]] == "sell")
        self.assertIn(f"39 fills: bought {bought} SKL, sold {sold} SKL", output)
        await self.assert_ledger_verifies()


if __name__ == "__main__":
    unittest.main()
