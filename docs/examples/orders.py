"""What the examples share about trading and reading back: a market order and what it took, a book's mid
price, and the result of a strategy on one pair in its quote currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from exchange_wrapper.client import AsyncClient

EXCHANGE = "coinbase"


async def market_order(
    client: AsyncClient,
    wallet_set_id: int,
    pair: str,
    side: Literal["buy", "sell"],
    size: Decimal | None = None,
    funds: Decimal | None = None,
) -> tuple[Decimal, str]:
    """Send a market order (``size`` in the base currency, or ``funds`` in the quote one); its filled
    size, and what it took ("size at price, ...")."""
    order = await client.make_order(
        wallet_set_id=wallet_set_id, exchange=EXCHANGE, pair=pair, side=side, type="market", size=size, funds=funds
    )
    return Decimal(order["filled_size"]), ", ".join(f"{f['size']} at {f['price']}" for f in order["fills"])


async def mid(client: AsyncClient, pair: str) -> Decimal:
    book = await client.get_book(exchange=EXCHANGE, pair=pair, depth=1)
    return (Decimal(book["bids"][0][0]) + Decimal(book["asks"][0][0])) / 2


async def print_result(
    client: AsyncClient, wallet_set_id: int, pair: str, funds: str, held: Decimal, bars: int
) -> None:
    """The bars, fills and position, the cash, and the result valued at the last mid."""
    base, quote = pair.split("_")
    fills = await client.get_fills(wallet_set_id=wallet_set_id, limit=1000)
    print(f"{bars} bars, {len(fills)} fills, holding {held} {base}")
    wallet = await client.get_wallet(wallet_set_id=wallet_set_id, exchange=EXCHANGE, currency=quote)
    balance, last = Decimal(wallet["balance"]), await mid(client, pair)
    print(f"{quote}: balance {balance}")
    print(f"result at the last mid ({last}): {balance - Decimal(funds) + held * last} {quote}")
