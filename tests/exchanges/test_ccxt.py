"""The generic ccxt adapter's translation: ccxt's binance class pointed at the Binance simulator reads
the same markets and precision as the native adapter reads from the same exchangeInfo, its books
exactly as the simulator serves them; precision modes converted exactly to Decimal steps."""

import asyncio
import json
import unittest
from decimal import Decimal, localcontext

from ccxt.base.decimal_to_precision import TRUNCATE, decimal_to_precision

from exchange_wrapper.config import CcxtExchangeSettings
from exchange_wrapper.connectors.ccxt_feed import ccxt_exchange
from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.core.markets import MarketStatus
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.exchanges.binance import public as binance
from exchange_wrapper.exchanges.ccxt import public as ccxt_public
from tests.simulator.binance import binance_protocol
from tests.simulator.server import ExchangeSimulator

D = Decimal
PRECISION_FIELDS = ("tick_size", "size_step", "min_size", "max_size", "min_notional", "max_notional")


class AgainstTheSimulator(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        asyncio.get_running_loop().set_debug(False)  # unittest turns it on: ccxt's 1700 markets trip it
        self.protocol = binance_protocol()
        self.sim = await ExchangeSimulator(self.protocol).__aenter__()
        self.addAsyncCleanup(self.sim.__aexit__, None, None, None)
        settings = CcxtExchangeSettings(exchange_id="binance", rest_url=self.sim.http_url, stream=False)
        self.ccxt = ccxt_exchange(settings)  # polled: ccxt's REST books, read exactly
        self.addAsyncCleanup(self.ccxt.close)
        loaded = await self.ccxt.load_markets()
        self.markets = ccxt_public.parse_markets(loaded, self.ccxt.precisionMode)
        self.native = binance.parse_markets(self.protocol.rest["/api/v3/exchangeInfo"])

    async def test_markets_and_precision_are_the_native_adapters(self):
        ours = {market.alt_symbols[0]: market for market in self.markets}  # by Binance's own symbol
        self.assertEqual(sorted(ours), sorted(m.symbol for m in self.native))
        for native in self.native:
            market = ours[native.symbol]
            with self.subTest(symbol=native.symbol):
                self.assertEqual(
                    [getattr(market, name) for name in PRECISION_FIELDS],
                    [getattr(native, name) for name in PRECISION_FIELDS],
                )
                self.assertEqual((market.maker_fee, market.taker_fee), (native.maker_fee, native.taker_fee))
                # ccxt's unified codes: Binance's YOYO is ccxt's YOYOW (its commonCurrencies), BCHSV is BSV
                code = self.ccxt.safe_currency_code
                self.assertEqual(market.pair, Pair(code(native.pair.base), code(native.pair.quote)))
                if native.status is MarketStatus.ONLINE:  # ccxt's active is the status alone: a market
                    self.assertIs(market.status, MarketStatus.ONLINE)  # closed to spot trading stays active
        renamed = {str(m.pair) for m in self.markets if m.pair != ours_native_pair(m, self.native)}
        self.assertEqual(
            renamed, {"YOYOW_BTC", "YOYOW_ETH", "YOYOW_BNB", "BSV_BTC", "BSV_USDT", "BSV_TUSD", "BSV_PAX", "BSV_USDC"}
        )

    async def test_pairs_translate_both_ways(self):
        table = SymbolTable("ccxt", self.markets)
        lrc = table.market(Pair("LRC", "BTC"))
        self.assertEqual((lrc.symbol, lrc.alt_symbols), ("LRC/BTC", ("LRCBTC",)))
        self.assertEqual((lrc.tick_size, lrc.size_step, lrc.min_size, lrc.min_notional), (D("1E-8"), 1, 1, D("1E-4")))
        for market in self.markets:
            self.assertEqual(table.to_pair(market.symbol), market.pair)
            self.assertEqual(table.to_pair(market.alt_symbols[0]), market.pair)
            self.assertEqual(table.to_symbol(str(market.pair)), market.symbol)

    async def test_a_fetched_book_is_the_simulators_exactly(self):
        pair = Pair("LRC", "BTC")
        answer = await self.ccxt.fetch_order_book("LRC/BTC", 5)
        self.assertEqual(answer["asks"][0], [D("0.00000638"), D("24365.00000000")])  # the text, never a float
        snapshot = ccxt_public.parse_book(pair, answer)
        served = json.loads(self.protocol.books["LRCBTC"].snapshot(5))  # the same book, read apart
        self.assertEqual(snapshot.sequence, served["lastUpdateId"])
        self.assertEqual(list(snapshot.bids), [(D(p), D(s)) for p, s in served["bids"]])
        self.assertEqual(list(snapshot.asks), [(D(p), D(s)) for p, s in served["asks"]])
        self.assertTrue(all(str(level[1]).endswith(".00000000") for level in answer["bids"]))  # as Binance wrote it


def ours_native_pair(market, native):
    """The pair the native adapter gives the market ``market`` (found by Binance's symbol)."""
    return next(n.pair for n in native if n.symbol == market.alt_symbols[0])


class PrecisionModesTest(unittest.TestCase):
    """Each of ccxt's precision modes read as the step ccxt's own rounding keeps to."""

    def test_tick_size_is_the_step(self):
        self.assertEqual(ccxt_public.step("0.00000100", ccxt_public.TICK_SIZE, "p"), D("0.000001"))
        self.assertEqual(ccxt_public.step(0.05, ccxt_public.TICK_SIZE, "p"), D("0.05"))  # a float: its repr

    def test_decimal_places_are_an_exact_power_of_ten(self):
        for places in (0, 3, 8, 12):
            step = ccxt_public.step(places, ccxt_public.DECIMAL_PLACES, "p")
            self.assertEqual(step, D(1).scaleb(-places))
            with localcontext():  # ccxt's formatting sets the context's rounding: the test's own is left as it was
                truncated = decimal_to_precision("123.4567890123456", TRUNCATE, places, ccxt_public.DECIMAL_PLACES)
            self.assertEqual(D("123.4567890123456").quantize(step, rounding="ROUND_DOWN"), D(truncated))
        self.assertRaises(InvalidParameter, ccxt_public.step, "2.5", ccxt_public.DECIMAL_PLACES, "p")

    def test_significant_digits_give_prices_digits_and_amounts_decimals(self):
        (market,) = ccxt_public.parse_markets(
            {
                "BTC/USD": {
                    "id": "tBTCUSD",
                    "base": "BTC",
                    "quote": "USD",
                    "spot": True,
                    "active": True,
                    "precision": {"price": 5, "amount": 8},
                    "limits": {"amount": {"min": "0.00006", "max": "2000"}, "cost": {}},
                    "maker": "0.001",
                    "taker": "0.002",
                }
            },
            ccxt_public.SIGNIFICANT_DIGITS,
        )
        self.assertEqual((market.tick_size, market.price_significant_digits), (None, 5))
        self.assertEqual((market.size_step, market.min_size, market.max_size), (D("1E-8"), D("0.00006"), 2000))
        self.assertEqual((market.min_notional, market.max_notional, market.taker_fee), (0, None, D("0.002")))

    def test_derivatives_and_unknown_modes(self):
        swap = {"id": "BTCUSDT", "base": "BTC", "quote": "USDT", "spot": False, "contract": True}
        self.assertEqual(ccxt_public.parse_markets({"BTC/USDT:USDT": swap}, ccxt_public.TICK_SIZE), [])
        with self.assertRaisesRegex(InvalidParameter, "precisionMode"):
            ccxt_public.parse_markets({}, 7)

    def test_exact_numbers(self):
        self.assertEqual(ccxt_public.exact(6.37e-06, "price"), D("0.00000637"))  # a float, through its repr
        self.assertEqual(ccxt_public.exact("0.10000000", "price"), D("0.1"))
        for bad in (None, True, "abc", float("nan"), [1]):
            with self.subTest(value=bad), self.assertRaisesRegex(InvalidParameter, "price"):
                ccxt_public.exact(bad, "price")

    def test_urls_pointed_at_a_simulator(self):
        urls = {"public": "https://api.binance.com/api/v3", "sapi": {"v1": "https://api.binance.com/sapi/v1?x=1"}}
        self.assertEqual(
            ccxt_public.pointed_at(urls, "http://127.0.0.1:9/"),
            {"public": "http://127.0.0.1:9/api/v3", "sapi": {"v1": "http://127.0.0.1:9/sapi/v1?x=1"}},
        )


class TradesTest(unittest.TestCase):
    def test_public_trades_oldest_first_with_the_takers_side(self):
        lrc = Pair("LRC", "BTC")
        # ccxt's unified trades of Binance's recorded LRCBTC aggTrade, and one made after it (marked: made)
        recorded = {"id": "9213679", "timestamp": 1633998534486, "price": "0.00000638", "amount": "177.00000000"}
        made = {**recorded, "id": "9213680", "timestamp": 1633998535000, "amount": "3"}
        trades = ccxt_public.parse_trades(lrc, [{**made, "side": "sell"}, {**recorded, "side": "buy"}])
        self.assertEqual(
            [(t.trade_id, t.price, t.size, t.taker_side.value, t.time) for t in trades],
            [
                ("9213679", Decimal("0.00000638"), Decimal(177), "buy", 1633998534.486),
                ("9213680", Decimal("0.00000638"), Decimal(3), "sell", 1633998535.0),
            ],
        )
        with self.assertRaises(InvalidParameter) as raised:
            ccxt_public.parse_trades(lrc, [{**recorded, "side": None}])
        self.assertEqual(raised.exception.field, "trade.side")
