"""Order book checksums in the exchanges' own formats.

Each function takes the bids and asks best first: a :class:`~.book.Ladder` (``book.bids``,
``book.asks``) or any list of (price, size) Decimal pairs, and reads only the top levels it
needs. Compare the result with the checksum the exchange sent; a mismatch means the book is
wrong and must be resynchronised.
"""
from __future__ import annotations

import zlib
from decimal import Decimal
from itertools import islice
from typing import Callable, Iterable

from .book import Level

KRAKEN_DEPTH = 10
OKX_DEPTH = 25
BITFINEX_DEPTH = 25


def kraken_checksum(bids: Iterable[Level], asks: Iterable[Level], *,
                    price_decimals: int, size_decimals: int) -> int:
    """Kraken websocket book checksum (v1 and v2): unsigned CRC32 of the top 10 asks then the
    top 10 bids, each level as price then volume with the '.' and leading zeros removed.

    Kraken writes prices and volumes with the pair's decimals (AssetPairs ``pair_decimals``
    and ``lot_decimals``; "0.05005", "0.00000500"), so pass those.
    """
    def level_text(level: Level) -> str:
        price, size = level
        return (_kraken_number(price, price_decimals)
                + _kraken_number(size, size_decimals))

    text = "".join(map(level_text, islice(asks, KRAKEN_DEPTH)))
    text += "".join(map(level_text, islice(bids, KRAKEN_DEPTH)))
    return zlib.crc32(text.encode())


def okx_checksum(bids: Iterable[Level], asks: Iterable[Level]) -> int:
    """OKX book checksum: signed CRC32 of "bidPrice:bidSize:askPrice:askSize:..." over the top
    25 levels, the longer side continuing alone; numbers as OKX writes them (plain notation,
    trailing zeros kept: a Decimal parsed from OKX's string gives it back)."""
    return _interleaved_crc(bids, asks, OKX_DEPTH, _okx_level, _okx_level)


def bitfinex_checksum(bids: Iterable[Level], asks: Iterable[Level]) -> int:
    """Bitfinex v2 book checksum (P0-P4 precisions): signed CRC32 of
    "bidPrice:bidAmount:askPrice:askAmount:..." over the top 25 levels, ask amounts negative,
    numbers printed the way JavaScript prints them (1e-7, 0.000001, 60400)."""
    return _interleaved_crc(bids, asks, BITFINEX_DEPTH, _bitfinex_bid, _bitfinex_ask)


def js_number(value: Decimal) -> str:
    """``value`` as JavaScript's Number.prototype.toString prints it (the shortest digits are
    the Decimal's own: parse Bitfinex's JSON with parse_float=Decimal, parse_int=Decimal)."""
    if not value:
        return "0"
    sign, digit_tuple, exponent = value.normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    count = len(digits)
    point = exponent + count  # the value is 0.<digits> * 10**point
    if count <= point <= 21:
        text = digits + "0" * (point - count)
    elif 0 < point <= 21:
        text = digits[:point] + "." + digits[point:]
    elif -6 < point <= 0:
        text = "0." + "0" * -point + digits
    else:
        mantissa = digits[0] + ("." + digits[1:] if count > 1 else "")
        text = f"{mantissa}e{'+' if point > 0 else '-'}{abs(point - 1)}"
    return "-" + text if sign else text


def _okx_level(level: Level) -> tuple[str, str]:
    return format(level[0], "f"), format(level[1], "f")


def _bitfinex_bid(level: Level) -> tuple[str, str]:
    return js_number(level[0]), js_number(level[1])


def _bitfinex_ask(level: Level) -> tuple[str, str]:
    return js_number(level[0]), js_number(-level[1])


def _kraken_number(value: Decimal, decimals: int) -> str:
    return format(value, f".{decimals}f").replace(".", "").lstrip("0")


def _interleaved_crc(bids: Iterable[Level], asks: Iterable[Level], depth: int,
                     bid_text: Callable[[Level], tuple[str, str]],
                     ask_text: Callable[[Level], tuple[str, str]]) -> int:
    top_bids, top_asks = list(islice(bids, depth)), list(islice(asks, depth))
    parts: list[str] = []
    for index in range(max(len(top_bids), len(top_asks))):
        if index < len(top_bids):
            parts += bid_text(top_bids[index])
        if index < len(top_asks):
            parts += ask_text(top_asks[index])
    return _signed32(zlib.crc32(":".join(parts).encode()))


def _signed32(value: int) -> int:
    return value - (1 << 32) if value & 0x80000000 else value
