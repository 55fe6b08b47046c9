"""What an order must hold in its wallet set before it may go to the exchange, paper or live."""

from __future__ import annotations

from decimal import ROUND_CEILING, Context, Decimal, localcontext

from .book import Walk
from .markets import Market
from .orders import Order, OrderType, Side
from .pairs import Pair

#: Holds are rounded up to what the ledger stores: never less than the order could need.
HOLD_QUANTUM = Decimal("1e-18")
#: Wide enough for the largest stored amount times a price with every place kept (the default 28
#: digits cannot hold 10^10 to 18 places: quantize raised InvalidOperation).
WIDE = Context(prec=100)


def with_fee(spend: Decimal, taker_fee: Decimal) -> Decimal:
    """What spending ``spend`` holds with the taker fee it could pay, rounded up to what the ledger stores."""
    with localcontext(WIDE):
        return (spend * (1 + taker_fee)).quantize(HOLD_QUANTUM, rounding=ROUND_CEILING)


def required_hold(
    order: Order, market: Market, *, taker_fee: Decimal, margin: Decimal, walk_cost: Decimal | None = None
) -> tuple[str, Decimal]:
    """(currency, amount) to hold for ``order``.

    A sell holds its base size. A buy holds the quote it can spend plus the taker fee it could
    pay: price × size for a limit (or stop-limit) order, the funds of a market order given by
    funds, and for a market order given by size ``walk_cost`` (what walking the book costs now)
    raised by ``margin``; a stop-market buy, which will walk a book that does not exist yet, holds
    its stop price × size raised by ``margin``.
    """
    if order.side is Side.SELL:
        assert order.size is not None, "a sell is given by size"
        return market.pair.base, order.size
    with localcontext(WIDE):
        if order.type.has_limit:
            assert order.price is not None and order.size is not None
            spend = order.price * order.size
        elif order.funds is not None:
            spend = order.funds
        elif order.type is OrderType.STOP_MARKET:
            assert order.stop_price is not None and order.size is not None
            spend = order.stop_price * order.size * (1 + margin)
        else:
            if walk_cost is None:
                raise ValueError("a market buy by size needs the cost of walking the book")
            spend = walk_cost * (1 + margin)
        return market.pair.quote, with_fee(spend, taker_fee)


def walk_cost(walk: Walk, size: Decimal) -> Decimal | None:
    """What a market buy of ``size`` costs by ``walk`` (the book walked for it): what the walk takes,
    and the rest, beyond the book's depth, at the worst price it reached; None for an empty side."""
    if not walk.levels:
        return None
    with localcontext(WIDE):
        return walk.cost + (size - walk.filled) * walk.levels[-1][0]


def rest_hold(order: Order, price: Decimal | None, size: Decimal | None, taker_fee: Decimal) -> tuple[str, Decimal]:
    """(currency, amount) ``order`` must still hold for a rest of ``size`` less what it has filled: a
    sell its rest, a buy (a limit order at ``price``) its rest's cost with the taker fee."""
    assert size is not None
    pair = Pair.parse(order.pair)
    with localcontext(WIDE):
        rest = size - order.filled_size
        if order.side is Side.SELL:
            return pair.base, rest
        assert price is not None
        return pair.quote, with_fee(rest * price, taker_fee)
