"""Poloniex (spot API v3): its wire formats translated to xWrap's types.

Pure translation, no I/O. Symbols are ``BASE_QUOTE`` (``BTC_USDT``), the currency codes being
the common ones.
"""
from __future__ import annotations

from decimal import Decimal

from ..core.markets import Market, MarketStatus
from .wire import Fields, entry, expect, load_json, unified_pair

EXCHANGE = "poloniex"

# Poloniex spot fee schedule, level 1 (under $50K traded in 30 days, under $49 of TRX held):
# maker 0.1450 %, taker 0.1550 % (poloniex.com/fee-schedule).
MAKER_FEE = Decimal("0.00145")
TAKER_FEE = Decimal("0.00155")

# state: NORMAL, PAUSE or POST_ONLY (api-docs.poloniex.com, GET /markets); anything else is offline.
_STATUS = {"NORMAL": MarketStatus.ONLINE, "POST_ONLY": MarketStatus.POST_ONLY}


def parse_markets(body: str | bytes) -> list[Market]:
    """The markets of a ``GET /markets`` response, one per symbol.

    ``symbolTradeLimit`` gives ``priceScale``, ``quantityScale`` and ``amountScale`` as numbers
    of decimal places (tick, size step, quote-amount step), ``minQuantity`` and ``minAmount``.
    Raises :class:`InvalidParameter` naming the field and symbol for missing or malformed values.
    """
    what = f"GET /markets on {EXCHANGE}"
    markets = expect(load_json(body, what), list, what, "a JSON list of markets")
    return [_market(entry(EXCHANGE, raw, index, "symbol")) for index, raw in enumerate(markets)]


def _market(market: Fields) -> Market:
    limits = market.nested("symbolTradeLimit")
    return Market(
        exchange=EXCHANGE,
        pair=unified_pair(EXCHANGE, market.text("baseCurrencyName"), market.text("quoteCurrencyName"),
                          market.label("pair")),
        symbol=market.symbol,
        tick_size=limits.places("priceScale"),
        size_step=limits.places("quantityScale"),
        min_size=limits.decimal("minQuantity"),
        min_notional=limits.decimal("minAmount"),
        funds_step=limits.places("amountScale"),
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
        status=_STATUS.get(market.text("state"), MarketStatus.OFFLINE),
    )
