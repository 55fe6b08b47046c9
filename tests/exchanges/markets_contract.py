"""What every exchange module's market metadata must show, checked against its real metadata.

Each exchange's test module subclasses :class:`MarketsContract` (with ``unittest.TestCase``),
names its exchange module and metadata body, and says, from the raw JSON and independently of
the parser, which unified pair each symbol is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from exchange_wrapper.core.errors import InvalidParameter, UnknownPair
from exchange_wrapper.core.markets import Market
from exchange_wrapper.core.pairs import Pair
from exchange_wrapper.core.symbols import SymbolTable
from exchange_wrapper.replay.capture import find_response

TESTS = Path(__file__).resolve().parents[1]
CAPTURES = TESTS / "captures"
FIXTURES = TESTS / "fixtures"


def captured_body(name: str, url_prefix: str) -> str:
    """The body of the REST response for ``url_prefix`` in ``tests/captures/<name>``."""
    return find_response(CAPTURES / name, url_prefix).body


class MarketsContract:
    #: the exchange module under test (``exchange_wrapper.exchanges.coinbase``)
    module: ModuleType
    #: its real metadata response
    body: str
    #: how the parser names the response in errors ("GET /products on coinbase")
    response_name: str
    exchange: str
    markets: list[Market]
    table: SymbolTable

    @classmethod
    def setUpClass(cls) -> None:
        cls.exchange = cls.module.EXCHANGE
        cls.markets = cls.module.parse_markets(cls.body)
        cls.table = SymbolTable(cls.exchange, cls.markets)

    def parse(self, body: str | bytes) -> list[Market]:
        return self.module.parse_markets(body)

    def assertRefused(
        self, error: type[Exception], message: str, call: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> None:
        """``call(*args, **kwargs)`` raises ``error`` saying exactly ``message``."""
        with self.subTest(message=message), self.assertRaises(error) as caught:
            call(*args, **kwargs)
        self.assertEqual(str(caught.exception), message)

    def expected_pairs(self) -> dict[str, Pair]:
        """Symbol -> unified pair of every market, worked out from the raw JSON."""
        raise NotImplementedError

    def test_one_market_per_listed_symbol(self) -> None:
        self.assertEqual(sorted(m.symbol for m in self.markets), sorted(self.expected_pairs()))

    def test_pairs_are_the_raw_base_and_quote(self) -> None:
        self.assertEqual({m.symbol: m.pair for m in self.markets}, self.expected_pairs())
        self.assertTrue(all(m.exchange == self.exchange for m in self.markets))

    def test_every_market_translates_both_ways(self) -> None:
        self.assertEqual(len(self.table), len(self.markets))
        for market in self.markets:
            with self.subTest(symbol=market.symbol):
                self.assertEqual(self.table.to_pair(market.symbol), market.pair)
                self.assertEqual(self.table.to_symbol(market.pair), market.symbol)
                self.assertEqual(self.table.to_symbol(str(market.pair)), market.symbol)
                self.assertIs(self.table.market(market.pair), market)
                for name in market.alt_symbols:
                    self.assertEqual(self.table.to_pair(name), market.pair)

    def test_unknown_symbol_and_pair_are_refused_by_name(self) -> None:
        self.assertRefused(
            UnknownPair, f"unknown pair 'NOSUCHSYMBOL' on {self.exchange}", self.table.to_pair, "NOSUCHSYMBOL"
        )
        self.assertRefused(
            UnknownPair, f"unknown pair 'NOSUCH_COIN' on {self.exchange}", self.table.to_symbol, "NOSUCH_COIN"
        )

    def test_a_body_that_is_not_json_is_refused(self) -> None:
        self.assertRefused(
            InvalidParameter,
            f"{self.response_name}: expected a JSON document, got '<html>502 Bad Gateway</html>'",
            self.parse,
            b"<html>502 Bad Gateway</html>",
        )
