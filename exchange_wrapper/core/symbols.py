"""Both ways between unified pairs (``BTC_USD``) and one exchange's own market names.

Some exchanges' symbols cannot be split without their metadata (Binance ``BTCUSDT``, Kraken
``XXBTZUSD``), so every adapter translates through a table built from its parsed markets,
whatever the exchange: one shape for all five.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from typing import TypeVar

from .errors import InvalidParameter, UnknownPair
from .markets import Market
from .pairs import Pair, common_currency


class SymbolTable:
    """The markets of one exchange, found by unified pair or by any of the exchange's names.

    Build it from the exchange module's ``parse_markets(...)`` result. Lookups raise
    :class:`UnknownPair` for a pair or symbol the exchange does not list.
    """

    def __init__(self, exchange: str, markets: Iterable[Market]):
        self.exchange = exchange
        self._by_pair: dict[Pair, Market] = {}
        self._by_name: dict[str, Market] = {}
        for market in markets:
            if market.exchange != exchange:
                raise InvalidParameter(f"exchange of {market.symbol}", f"{exchange!r}", market.exchange)
            _add(self._by_pair, market.pair, market, f"pair of {market.symbol} on {exchange}")
            for name in _names(market):
                _add(self._by_name, name, market, f"symbol {name} on {exchange}")

    def __len__(self) -> int:
        return len(self._by_pair)

    def __iter__(self) -> Iterator[Market]:
        return iter(self._by_pair.values())

    def __contains__(self, pair: object) -> bool:
        return isinstance(pair, Pair) and pair in self._by_pair

    def market(self, pair: Pair | str) -> Market:
        """The market of ``pair`` (a :class:`Pair` or ``"BTC_USD"``).

        A pair spelt with the exchange's own currency codes (``XBT_USD`` on kraken) is accepted.
        """
        parsed = pair if isinstance(pair, Pair) else Pair.parse(pair)
        unified = Pair(common_currency(self.exchange, parsed.base), common_currency(self.exchange, parsed.quote))
        try:
            return self._by_pair[unified]
        except KeyError:
            raise UnknownPair(self.exchange, str(parsed)) from None

    def to_symbol(self, pair: Pair | str) -> str:
        """The exchange's own symbol for ``pair`` (``BTC_USD`` -> ``BTC-USD`` on coinbase)."""
        return self.market(pair).symbol

    def to_ws_symbol(self, pair: Pair | str) -> str:
        """The name the exchange's websocket feed uses for ``pair`` (Kraken's ``XBT/USD``)."""
        market = self.market(pair)
        return market.ws_symbol or market.symbol

    def market_of(self, symbol: str) -> Market:
        """The market the exchange calls ``symbol``, by any of its names (exact spelling)."""
        try:
            return self._by_name[symbol]
        except (KeyError, TypeError):  # TypeError: not a string at all
            raise UnknownPair(self.exchange, str(symbol)) from None

    def to_pair(self, symbol: str) -> Pair:
        """The unified pair of the exchange's ``symbol`` (``XXBTZUSD`` -> ``BTC_USD`` on kraken)."""
        return self.market_of(symbol).pair


def _names(market: Market) -> list[str]:
    names = [market.symbol, *market.alt_symbols]
    if market.ws_symbol is not None:
        names.append(market.ws_symbol)
    return list(dict.fromkeys(names))


_Key = TypeVar("_Key", bound=Hashable)


def _add(index: dict[_Key, Market], key: _Key, market: Market, field: str) -> None:
    other = index.setdefault(key, market)
    if other is not market:
        raise InvalidParameter(field, f"one market only, but both {other.symbol} and {market.symbol} have it", str(key))
