"""MACD with a stochastic filter, docs/examples/macd.py, run in backtest mode on the Coinbase capture's
SKL-USD: it trades on the turns the filter lets through, every fill is one the recording explains, the
ledger verifies."""

import re
import unittest

from .backtest import ExampleBacktest, example, unexplained

macd = example("macd")


class MacdTest(ExampleBacktest):
    async def test_the_turns_the_filter_lets_through_trade_and_every_fill_is_explained(self):
        code, output = await self.backtest(macd.run, "SKL_USD", 1.0, (3, 6, 3, 5), "50", "50", "1000", "5000", 28.0)
        self.assertEqual(code, 0, output)
        wallet_set_id = int(re.search(r"wallet set (\d+)", output).group(1))
        fills, sides = await self.fills(wallet_set_id)
        # deterministic: a turn up at the range's low bought at the asks; the turns down came at the low
        # too (%K 0), not overbought, and the filter kept the position
        self.assertEqual(
            re.findall(r"MACD turned (up|down) at %K ([\d.]+): (\w+)", output),
            [("up", "0.0", "buy"), ("down", "0.0", "filtered"), ("down", "0.0", "filtered")],
        )
        self.assertEqual([(sides[f["order_id"]], f["price"], f["size"]) for f in fills], [("buy", "0.7915", "1000")])
        self.assertIn("27 bars, 1 fills, holding 1000 SKL", output)
        self.assertEqual(unexplained(fills, sides, "SKL-USD"), [])
        await self.assert_ledger_verifies()


if __name__ == "__main__":
    unittest.main()
