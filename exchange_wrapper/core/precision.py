"""The precision rules every order passes, paper or live, before anything else sees it.

Rounding never makes an order more aggressive than asked: sizes round down to the step,
a buy price rounds down and a sell price up to the tick, a stop price rounds so that the
stop triggers no earlier than asked. What rounding cannot fix is rejected with the rule named.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from .errors import MarketClosed, PrecisionError
from .markets import Market, MarketStatus
from .money import format_decimal, quantize_down, quantize_up

BUY, SELL = "buy", "sell"


@dataclass(frozen=True, slots=True)
class CheckedOrder:
    """The amounts an order will carry after the rules, and which of them were rounded."""

    size: Decimal | None
    price: Decimal | None
    stop_price: Decimal | None
    funds: Decimal | None
    rounded: tuple[str, ...]


def check_order(
    market: Market,
    *,
    side: str,
    type: str,
    size: Decimal | None = None,
    price: Decimal | None = None,
    stop_price: Decimal | None = None,
    funds: Decimal | None = None,
    post_only: bool = False,
    reference_price: Decimal | None = None,
    strict: bool = False,
) -> CheckedOrder:
    """Round and validate an order's amounts against ``market``.

    ``type`` is ``market``, ``limit``, ``stop_market`` or ``stop_limit``; a market order gives
    ``size`` or ``funds``. ``reference_price`` (the book's price) lets the minimum notional be
    checked for market orders given by size. ``strict`` rejects what would otherwise be rounded.
    Raises :class:`PrecisionError` naming the broken rule, or :class:`MarketClosed`.
    """
    _check_status(market, type, post_only)
    rounded: list[str] = []
    if size is not None:
        asked = size
        size = _round(market, "size", size, market.size_step, strict, rounded)
        _check_size(market, size, asked)
    if price is not None:
        price = _round_price(market, "price", price, down=(side == BUY), strict=strict, rounded=rounded)
    if stop_price is not None:
        stop_price = _round_price(market, "stop_price", stop_price, down=(side == SELL), strict=strict, rounded=rounded)
    if funds is not None:
        if market.funds_step is not None:
            funds = _round(market, "funds", funds, market.funds_step, strict, rounded)
        _check_notional(market, "funds", funds)
    elif size is not None:
        notional_price = price if price is not None else reference_price
        if notional_price is not None:
            _check_notional(market, "notional", size * notional_price)
    return CheckedOrder(size, price, stop_price, funds, tuple(rounded))


def round_price(market: Market, price: Decimal, *, down: bool) -> Decimal:
    """``price`` on the market's price grid, rounded down or up."""
    if market.tick_size is not None:
        return quantize_down(price, market.tick_size) if down else quantize_up(price, market.tick_size)
    digits = market.price_significant_digits
    assert digits is not None
    if price == 0:
        return price
    exponent = price.adjusted() - digits + 1
    step = Decimal(1).scaleb(exponent)
    return price.quantize(step, rounding=ROUND_FLOOR if down else ROUND_CEILING)


def _check_status(market: Market, type: str, post_only: bool) -> None:
    status = market.status
    if status in (MarketStatus.OFFLINE, MarketStatus.CANCEL_ONLY):
        raise MarketClosed(market.exchange, str(market.pair), f"market is {status.value}")
    if status is MarketStatus.LIMIT_ONLY and type in ("market", "stop_market"):
        raise MarketClosed(market.exchange, str(market.pair), "market is limit_only")
    if status is MarketStatus.POST_ONLY and not (type == "limit" and post_only):
        raise MarketClosed(market.exchange, str(market.pair), "market is post_only")


def _round(market: Market, field: str, value: Decimal, step: Decimal, strict: bool, rounded: list[str]) -> Decimal:
    # ``value`` down to a multiple of ``step``, the market's step for ``field``.
    result = quantize_down(value, step)
    if result != value:
        if strict:
            raise PrecisionError(
                f"{field}_step",
                f"{field} {format_decimal(value)} is not a multiple of {format_decimal(step)} for {market.name}",
                exchange=market.exchange,
                pair=str(market.pair),
                value=value,
                limit=step,
            )
        rounded.append(field)
    return result


def _round_price(
    market: Market, field: str, value: Decimal, *, down: bool, strict: bool, rounded: list[str]
) -> Decimal:
    if value <= 0:
        raise PrecisionError(
            "positive",
            f"{field} {format_decimal(value)} must be above 0 for {market.name}",
            exchange=market.exchange,
            pair=str(market.pair),
            value=value,
        )
    result = round_price(market, value, down=down)
    if result != value:
        if strict:
            if market.tick_size is not None:
                rule, what = "tick_size", f"not a multiple of the tick {format_decimal(market.tick_size)}"
            else:
                rule = "significant_digits"
                what = f"more than {market.price_significant_digits} significant digits"
            raise PrecisionError(
                rule,
                f"{field} {format_decimal(value)} is {what} for {market.name}",
                exchange=market.exchange,
                pair=str(market.pair),
                value=value,
                limit=market.tick_size,
            )
        rounded.append(field)
    if result <= 0:
        raise PrecisionError(
            "tick_size",
            f"{field} {format_decimal(value)} rounds to 0 for {market.name}",
            exchange=market.exchange,
            pair=str(market.pair),
            value=value,
            limit=market.tick_size,
        )
    return result


def _check_size(market: Market, size: Decimal, asked: Decimal) -> None:
    if size < market.min_size or size <= 0:
        raise PrecisionError(
            "min_size",
            f"size {format_decimal(asked)} below minimum "
            f"{format_decimal(max(market.min_size, market.size_step))} for {market.name}",
            exchange=market.exchange,
            pair=str(market.pair),
            value=asked,
            limit=max(market.min_size, market.size_step),
        )
    if market.max_size is not None and size > market.max_size:
        raise PrecisionError(
            "max_size",
            f"size {format_decimal(size)} above maximum {format_decimal(market.max_size)} for {market.name}",
            exchange=market.exchange,
            pair=str(market.pair),
            value=size,
            limit=market.max_size,
        )


def _check_notional(market: Market, field: str, notional: Decimal) -> None:
    if notional < market.min_notional or notional <= 0:
        raise PrecisionError(
            "min_notional",
            f"{field} {format_decimal(notional)} {market.pair.quote} "
            f"below minimum {format_decimal(market.min_notional)} for {market.name}",
            exchange=market.exchange,
            pair=str(market.pair),
            value=notional,
            limit=market.min_notional,
        )
    if market.max_notional is not None and notional > market.max_notional:
        raise PrecisionError(
            "max_notional",
            f"{field} {format_decimal(notional)} {market.pair.quote} "
            f"above maximum {format_decimal(market.max_notional)} for {market.name}",
            exchange=market.exchange,
            pair=str(market.pair),
            value=notional,
            limit=market.max_notional,
        )
