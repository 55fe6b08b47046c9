"""Kraken spot: its wire formats translated to xWrap's types.

Pure translation, no I/O. Kraken names a market three ways: the REST pair key (``XXBTZUSD``,
``Market.symbol``), the websocket name (``XBT/USD``, ``Market.ws_symbol``) and the altname
(``XBTUSD``, in ``Market.alt_symbols``), with its own currency codes (``XXBT``/``XBT`` for BTC,
``ZUSD`` for USD, ``XXDG``/``XDG`` for DOGE): translate through a :class:`SymbolTable`.
"""
from __future__ import annotations

from decimal import Decimal

from ..core.errors import InvalidParameter
from ..core.markets import Market, MarketStatus
from ..core.money import parse_decimal
from .wire import Fields, expect, load_json, unified_pair

EXCHANGE = "kraken"

# Kraken Pro fee schedule, lowest tier ($0-10K traded in 30 days): maker 0.25 %, taker 0.40 %
# (kraken.com/features/fee-schedule). Used where a pair's own fees/fees_maker lists are empty.
MAKER_FEE = Decimal("0.0025")
TAKER_FEE = Decimal("0.004")

# Any other status (delisted, maintenance, work_in_progress, ...) is offline. reduce_only accepts
# only orders that shrink a margin position, so for spot it is cancel-only.
_STATUS = {
    "online": MarketStatus.ONLINE,
    "cancel_only": MarketStatus.CANCEL_ONLY,
    "reduce_only": MarketStatus.CANCEL_ONLY,
    "post_only": MarketStatus.POST_ONLY,
    "limit_only": MarketStatus.LIMIT_ONLY,
}


def parse_markets(body: str | bytes) -> list[Market]:
    """The markets of a ``GET /0/public/AssetPairs`` response, one per pair key.

    Dark-pool pairs (keys ending ``.d``, no websocket name) are skipped, and so are pairs of
    staking and other assets whose codes a unified pair cannot carry (``ETH2.S``). Price tick from
    ``tick_size`` (else ``pair_decimals``), size step from ``lot_decimals``, minimums from
    ``ordermin`` and ``costmin``, fees from the first tier of ``fees`` (taker) and ``fees_maker``
    (percent; Kraken's published lowest tier where the lists are empty). Raises
    :class:`InvalidParameter` naming the field and pair for missing or malformed values, or
    for a response whose ``error`` list is not empty.
    """
    what = f"GET /0/public/AssetPairs on {EXCHANGE}"
    response = Fields(EXCHANGE, "AssetPairs", load_json(body, what))
    errors = response.value("error")
    if errors != []:
        raise InvalidParameter(response.label("error"), "an empty list", errors)
    result = expect(response.value("result"), dict, response.label("result"), "a JSON object")
    return [_market(Fields(EXCHANGE, key, raw)) for key, raw in result.items()
            if not key.endswith(".d") and _plain_codes(raw)]


def _plain_codes(raw: object) -> bool:
    return not (isinstance(raw, dict) and any("." in str(raw.get(side, "")) for side in ("base", "quote")))


def _market(pair: Fields) -> Market:
    taker, maker = _first_tier(pair, "fees"), _first_tier(pair, "fees_maker")
    return Market(
        exchange=EXCHANGE,
        pair=unified_pair(EXCHANGE, pair.text("base"), pair.text("quote"), pair.label("pair")),
        symbol=pair.symbol,
        tick_size=(pair.decimal("tick_size", positive=True) if pair.has("tick_size")
                   else pair.places("pair_decimals")),
        size_step=pair.places("lot_decimals"),
        min_size=pair.optional_decimal("ordermin") or Decimal(0),
        min_notional=pair.optional_decimal("costmin") or Decimal(0),
        funds_step=pair.places("cost_decimals") if pair.has("cost_decimals") else None,
        # without fees_maker the pair is not on a maker/taker schedule: makers pay the taker fee
        maker_fee=maker if maker is not None else taker if taker is not None else MAKER_FEE,
        taker_fee=taker if taker is not None else TAKER_FEE,
        status=_STATUS.get(pair.text("status"), MarketStatus.OFFLINE),
        ws_symbol=pair.text("wsname"),
        alt_symbols=(pair.text("altname"),),
    )


def _first_tier(pair: Fields, name: str) -> Decimal | None:
    """The fee of the lowest volume tier of ``[[volume, percent], ...]``, as a fraction."""
    if not pair.has(name):
        return None
    tiers = expect(pair.value(name), list, pair.label(name), "a list of [volume, percent fee]")
    if not tiers:
        return None
    tier = expect(tiers[0], list, pair.label(f"{name}[0]"), "[volume, percent fee]")
    if len(tier) != 2:
        raise InvalidParameter(pair.label(f"{name}[0]"), "[volume, percent fee]", tier)
    return parse_decimal(tier[1], pair.label(f"{name}[0]"), non_negative=True).scaleb(-2)
