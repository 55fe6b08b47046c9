"""Binance spot: its wire formats translated to xWrap's types.

Pure translation, no I/O. Symbols are base and quote run together (``BTCUSDT``), which cannot be
split without the exchange's metadata: translate through a :class:`SymbolTable` of the markets.
"""
from __future__ import annotations

from decimal import Decimal

from ..core.errors import InvalidParameter
from ..core.markets import Market, MarketStatus
from .wire import Fields, entry, expect, load_json, unified_pair

EXCHANGE = "binance"

# Binance spot fee schedule, regular user (VIP 0): maker 0.1000 %, taker 0.1000 %
# (binance.com/en/fee/schedule).
MAKER_FEE = Decimal("0.001")
TAKER_FEE = Decimal("0.001")


def parse_markets(body: str | bytes) -> list[Market]:
    """The markets of a ``GET /api/v3/exchangeInfo`` response, one per symbol, whatever its status.

    Filters: ``PRICE_FILTER.tickSize``, ``LOT_SIZE.stepSize/minQty/maxQty`` and ``NOTIONAL``
    (or the older ``MIN_NOTIONAL``) ``minNotional/maxNotional``; a value of 0 disables a rule
    (a disabled tick or step falls back to the asset's precision). A market whose status is
    not ``TRADING``, or where spot trading is not allowed, is offline. Raises
    :class:`InvalidParameter` naming the field and symbol for missing or malformed values.
    """
    what = f"GET /api/v3/exchangeInfo on {EXCHANGE}"
    info = Fields(EXCHANGE, "exchangeInfo", load_json(body, what))
    symbols = expect(info.value("symbols"), list, info.label("symbols"), "a JSON list")
    return [_market(entry(EXCHANGE, raw, index, "symbol")) for index, raw in enumerate(symbols)]


def _market(symbol: Fields) -> Market:
    filters = _filters(symbol)
    price = filters.get("PRICE_FILTER")
    lot = filters.get("LOT_SIZE")
    if price is None or lot is None:
        raise InvalidParameter(symbol.label("filters"), "a PRICE_FILTER and a LOT_SIZE filter",
                               missing=True)
    notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL")
    quote_places = symbol.places("quoteAssetPrecision" if symbol.has("quoteAssetPrecision")
                                 else "quotePrecision")
    return Market(
        exchange=EXCHANGE,
        pair=unified_pair(EXCHANGE, symbol.text("baseAsset"), symbol.text("quoteAsset"),
                          symbol.label("pair")),
        symbol=symbol.symbol,
        tick_size=_rule(price, "tickSize") or quote_places,
        size_step=_rule(lot, "stepSize") or symbol.places("baseAssetPrecision"),
        min_size=lot.decimal("minQty"),
        max_size=_rule(lot, "maxQty"),
        min_notional=notional.decimal("minNotional") if notional else Decimal(0),
        max_notional=_rule(notional, "maxNotional") if notional else None,
        funds_step=quote_places,
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
        status=_status(symbol),
    )


def _filters(symbol: Fields) -> dict[str, Fields]:
    raw = expect(symbol.value("filters"), list, symbol.label("filters"), "a JSON list")
    filters = {}
    for index, item in enumerate(raw):
        kind = Fields(EXCHANGE, symbol.symbol, item, f"filters[{index}].").text("filterType")
        filters[kind] = Fields(EXCHANGE, symbol.symbol, item, f"{kind}.")
    return filters


def _rule(fields: Fields, name: str) -> Decimal | None:
    """The filter's value, ``None`` where absent or 0 (Binance's "rule disabled")."""
    value = fields.optional_decimal(name)
    return value or None


def _status(symbol: Fields) -> MarketStatus:
    # status: PRE_TRADING, TRADING, POST_TRADING, END_OF_DAY, HALT, AUCTION_MATCH, BREAK.
    trading = symbol.text("status") == "TRADING"
    if trading and (not symbol.has("isSpotTradingAllowed") or symbol.flag("isSpotTradingAllowed")):
        return MarketStatus.ONLINE
    return MarketStatus.OFFLINE
