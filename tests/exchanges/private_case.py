"""What the private adapters' tests share: an order as the service hands it to an adapter."""

from decimal import Decimal

from exchange_wrapper.core.orders import Order, OrderType, Side


def order_of(
    exchange: str,
    pair: str,
    size: str | None,
    price: str | None,
    *,
    type: OrderType = OrderType.LIMIT,
    side: Side = Side.BUY,
    **extra: object,
) -> Order:
    """Order ``7`` (client id ``a1``) of wallet set 1 on ``exchange``; ``extra`` sets any other field."""
    fields: dict[str, object] = dict(
        id="7",
        client_order_id="a1",
        wallet_set_id=1,
        exchange=exchange,
        pair=pair,
        side=side,
        type=type,
        size=None if size is None else Decimal(size),
        price=None if price is None else Decimal(price),
    )
    fields.update(extra)
    return Order(**fields)  # type: ignore[arg-type]
