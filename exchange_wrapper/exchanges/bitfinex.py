"""Bitfinex (API v2): its wire formats translated to xWrap's types.

Pure translation, no I/O. Trading symbols are ``t`` + the pair name: ``tBTCUSD``, or
``tAAVE:USD`` where a code is not three letters; currency codes are Bitfinex's own (``UST``
for USDT, ``IOT`` for IOTA, ...): translate through a :class:`SymbolTable`.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..core.errors import InvalidParameter
from ..core.markets import Market
from ..core.money import decimal_places, parse_decimal
from .wire import expect, load_json, unified_pair

EXCHANGE = "bitfinex"

# Bitfinex fee schedule, lowest tier (under $500K traded in 30 days): maker 0.100 %, taker
# 0.200 % (bitfinex.com/fees).
MAKER_FEE = Decimal("0.001")
TAKER_FEE = Decimal("0.002")

# Prices carry 5 significant digits, amounts 8 decimal places (docs.bitfinex.com, "Precision").
PRICE_SIGNIFICANT_DIGITS = 5
SIZE_STEP = decimal_places(8)

# The exchange list carries Bitfinex's own test markets beside the real ones: AAABBB and the
# TESTBTC/TESTUSD/TESTUSDT currencies. They are skipped.
_TEST_CODES = frozenset({"AAA", "BBB"})


def parse_markets(pairs_body: str | bytes, pair_info: str | bytes | None = None) -> list[Market]:
    """The markets of a ``GET /v2/conf/pub:list:pair:exchange`` response, test pairs skipped.

    ``pair_info``, a ``GET /v2/conf/pub:info:pair`` response, gives each pair's minimum and
    maximum order size; without it (or for a pair it does not list) the minimum is the size step
    and there is no maximum, and the exchange's own rejection is the only check.
    Raises :class:`InvalidParameter` naming the field and pair for malformed values.
    """
    limits = _order_limits(pair_info) if pair_info is not None else {}
    markets = []
    for index, name in enumerate(_conf_list(pairs_body, "pub:list:pair:exchange")):
        name = expect(name, str, f"entry {index} of pub:list:pair:exchange on {EXCHANGE}", "a pair name")
        base, quote = split_pair(name)
        if _is_test(base) or _is_test(quote):
            continue
        min_size, max_size = limits.get(name, (Decimal(0), None))
        markets.append(Market(
            exchange=EXCHANGE,
            pair=unified_pair(EXCHANGE, base, quote, f"pair of {name} on {EXCHANGE}"),
            symbol=f"t{name}",
            tick_size=None,
            price_significant_digits=PRICE_SIGNIFICANT_DIGITS,
            size_step=SIZE_STEP,
            min_size=min_size,
            max_size=max_size,
            maker_fee=MAKER_FEE,
            taker_fee=TAKER_FEE,
            alt_symbols=(name,),
        ))
    return markets


def split_pair(name: str) -> tuple[str, str]:
    """Bitfinex's currency codes in a pair name: ``BTCUSD`` -> ``("BTC", "USD")``, ``AAVE:USD`` ->
    ``("AAVE", "USD")``. Raises :class:`InvalidParameter` for any other shape."""
    base, colon, quote = name.partition(":")
    if not colon and len(name) == 6:
        base, quote = name[:3], name[3:]
    if not base or not quote or ":" in quote:
        raise InvalidParameter(f"pair {name} on {EXCHANGE}", "six letters or BASE:QUOTE", name)
    return base, quote


def _is_test(code: str) -> bool:
    return code in _TEST_CODES or code.startswith("TEST")


def _conf_list(body: str | bytes, key: str) -> list[Any]:
    """The one list a ``GET /v2/conf/<key>`` response wraps: ``[[...]]``."""
    what = f"GET /v2/conf/{key} on {EXCHANGE}"
    data = load_json(body, what)
    if not isinstance(data, list) or len(data) != 1:
        raise InvalidParameter(what, "a list holding one list", data)
    return expect(data[0], list, what, "a list holding one list")


def _order_limits(body: str | bytes) -> dict[str, tuple[Decimal, Decimal | None]]:
    """Pair name -> (minimum, maximum) order size, from rows ``[PAIR, [_, _, _, MIN, MAX, ...]]``."""
    shape = "[PAIR, [PLACEHOLDER, PLACEHOLDER, PLACEHOLDER, MIN_ORDER_SIZE, MAX_ORDER_SIZE, ...]]"
    limits = {}
    for index, row in enumerate(_conf_list(body, "pub:info:pair")):
        if not (isinstance(row, list) and len(row) == 2 and isinstance(row[0], str)
                and isinstance(row[1], list) and len(row[1]) >= 5):
            raise InvalidParameter(f"entry {index} of pub:info:pair on {EXCHANGE}", shape, row)
        name, info = row
        minimum = parse_decimal(info[3], f"MIN_ORDER_SIZE of {name} on {EXCHANGE}", non_negative=True)
        maximum = (None if info[4] is None else
                   parse_decimal(info[4], f"MAX_ORDER_SIZE of {name} on {EXCHANGE}", positive=True))
        limits[name] = (minimum, maximum)
    return limits
