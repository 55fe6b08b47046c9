"""The prices the hub knows now, as the quotes a :class:`~..core.valuation.Valuation` walks: the mid of
every live book of every exchange, or its last public trade where the book is not live (or has an
empty side), and the stable-coin pegs. One function, so that every figure valued (wallets, P&L,
equity history, notifications) is valued the same way."""

from __future__ import annotations

from ..core.valuation import Quote, Valuation, pegs
from .hub import MarketDataHub


def hub_quotes(hub: MarketDataHub) -> list[Quote]:
    """A quote per followed book that has a price (see the module's docstring), and the pegs."""
    out = pegs()
    for exchange in hub.started_exchanges():
        for pair, book in hub.books(exchange):
            bid, ask = book.bids.best, book.asks.best
            if book.live and bid and ask:
                out.append(Quote(exchange, pair, (bid[0] + ask[0]) / 2, "mid", book.updated_at))
                continue
            recent = hub.recent_trades(exchange, pair)
            if recent:
                out.append(Quote(exchange, pair, recent[-1].price, "last", recent[-1].time))
    return out


def valuation(hub: MarketDataHub) -> Valuation:
    """The rates of this moment between every currency the hub's books chain together."""
    return Valuation(hub_quotes(hub))
