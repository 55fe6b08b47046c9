"""Live trading through ccxt, through the whole service: ccxt's binance class (its requests, its
signatures, its reading of the answers) pointed at the loopback Binance, its account polled (xWrap
runs no private stream through ccxt): the behaviours of
:class:`~tests.service.live_case.LiveTradingCase` that a polled account has."""

from exchange_wrapper.exchanges.ccxt.private import CcxtPrivate
from tests.service import test_live_trading as binance


class CcxtLiveTradingTest(binance.BinanceLiveTradingTest):
    exchange = "ccxt"
    streams = False
    order_limit = (20, 1.0)  # what paces the orders: ccxt's rateLimit for binance (50 ms: 20 calls a second)
    settings_overrides = {
        **binance.BinanceLiveTradingTest.settings_overrides,
        "exchange_id": "binance",
        "stream": False,
        "poll_seconds": "0.2",
    }

    async def test_the_account_runs_binance_through_ccxt(self):
        adapter = self.account.adapter
        self.assertIsInstance(adapter, CcxtPrivate)
        self.assertEqual((adapter.ccxt.id, adapter.recv_window), ("binance", 10.0))
        self.assertEqual(self.account.status()["stream"], "none: polled every 0.2 s")

    # Binance's own: ccxt amends by cancelling and placing
    test_a_cancel_replace_whose_new_order_is_refused_leaves_the_order_cancelled = None
    test_a_cancel_replace_whose_answer_is_lost_is_found_by_its_new_client_id = None
