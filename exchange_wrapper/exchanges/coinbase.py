"""Coinbase Exchange (formerly Coinbase Pro): its wire formats translated to xWrap's types.

Pure translation, no I/O: the adapter fetches, this module reads. Symbols are ``BASE-QUOTE``
(``BTC-USD``), the currency codes being the common ones.
"""
from __future__ import annotations

from decimal import Decimal

from ..core.markets import Market, MarketStatus
from .wire import Fields, entry, expect, load_json, unified_pair

EXCHANGE = "coinbase"

# Coinbase Exchange fee schedule, lowest tier ($0-10K traded in 30 days): maker 0.40 %, taker
# 0.60 % (help.coinbase.com/en/exchange/trading-and-funding/exchange-fees).
MAKER_FEE = Decimal("0.004")
TAKER_FEE = Decimal("0.006")


def parse_markets(body: str | bytes) -> list[Market]:
    """The markets of a ``GET /products`` response, one per product.

    ``base_min_size``, ``base_max_size`` and ``max_market_funds`` were removed from the API on
    2022-06-30 (``min_market_funds`` became the minimum notional of every order): where absent,
    the minimum size is the size step and there is no maximum. Raises :class:`InvalidParameter`
    naming the field and product for missing or malformed values.
    """
    what = f"GET /products on {EXCHANGE}"
    products = expect(load_json(body, what), list, what, "a JSON list of products")
    return [_market(entry(EXCHANGE, raw, index, "id")) for index, raw in enumerate(products)]


def _market(product: Fields) -> Market:
    return Market(
        exchange=EXCHANGE,
        pair=unified_pair(EXCHANGE, product.text("base_currency"), product.text("quote_currency"),
                          product.label("pair")),
        symbol=product.symbol,
        tick_size=product.decimal("quote_increment", positive=True),
        size_step=product.decimal("base_increment", positive=True),
        min_size=product.optional_decimal("base_min_size") or Decimal(0),
        max_size=product.optional_decimal("base_max_size"),
        min_notional=product.decimal("min_market_funds"),
        max_notional=product.optional_decimal("max_market_funds"),
        funds_step=product.decimal("quote_increment", positive=True),
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
        status=_status(product),
    )


def _status(product: Fields) -> MarketStatus:
    # status is "online", "offline", "internal" or "delisted"; the flags narrow an online market.
    if product.flag("trading_disabled") or product.text("status") != "online":
        return MarketStatus.OFFLINE
    if product.flag("cancel_only"):
        return MarketStatus.CANCEL_ONLY
    if product.flag("post_only"):
        return MarketStatus.POST_ONLY
    if product.flag("limit_only"):
        return MarketStatus.LIMIT_ONLY
    return MarketStatus.ONLINE
