"""Order book checksums in the exchanges' own formats.

Each function takes the bids and asks best first: a :class:`~.book.Ladder` (``book.bids``,
``book.asks``) or any list of (price, size) Decimal pairs, and reads only the top levels it
needs. Compare the result with the checksum the exchange sent; a mismatch means the book is
wrong and must be resynchronised.

Kraken and Bitfinex check the book after every message, and formatting the forty or hundred
numbers was most of the cost, while the top of a book changes little from one message to the
next: so the text of each level read from a Ladder is remembered (:class:`_LevelTexts`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import partial
from itertools import islice
from typing import cast

from .book import Ladder, Level

KRAKEN_DEPTH = 10
OKX_DEPTH = 25
BITFINEX_DEPTH = 25


class _LevelTexts:
    """The texts of levels in one checksum format, remembered for the levels of Ladders: their
    prices and sizes are positive Decimals, and these formats depend on the values alone."""

    LIMIT = 50_000  # texts kept before they are all forgotten

    def __init__(self, text_of: Callable[[Level], str]):
        self.text_of = text_of
        self.known: dict[Level, str] = {}

    def top(self, levels: Iterable[Level], depth: int) -> list[str]:
        """The texts of the first ``depth`` levels."""
        if not isinstance(levels, Ladder):
            return list(map(self.text_of, islice(levels, depth)))
        top = levels.top(depth)
        known = self.known
        texts = list(map(known.get, top))
        if None in texts:
            if len(known) > self.LIMIT:
                known.clear()
            for index, text in enumerate(texts):
                if text is None:
                    texts[index] = known[top[index]] = self.text_of(top[index])
        return cast(list[str], texts)  # every None was filled in


def kraken_checksum(bids: Iterable[Level], asks: Iterable[Level], *, price_decimals: int, size_decimals: int) -> int:
    """Kraken websocket book checksum (v1 and v2): unsigned CRC32 of the top 10 asks then the
    top 10 bids, each level as price then volume with the '.' and leading zeros removed.

    Kraken writes prices and volumes with the pair's decimals (AssetPairs ``pair_decimals``
    and ``lot_decimals``; "0.05005", "0.00000500"), so pass those.
    """
    texts = _KRAKEN_TEXTS.get((price_decimals, size_decimals))
    if texts is None:
        texts = _KRAKEN_TEXTS[price_decimals, size_decimals] = _LevelTexts(
            partial(_kraken_level, price_decimals=price_decimals, size_decimals=size_decimals)
        )
    text = "".join(texts.top(asks, KRAKEN_DEPTH)) + "".join(texts.top(bids, KRAKEN_DEPTH))
    return zlib.crc32(text.encode())


def okx_checksum(bids: Iterable[Level], asks: Iterable[Level]) -> int:
    """OKX book checksum: signed CRC32 of "bidPrice:bidSize:askPrice:askSize:..." over the top
    25 levels, the longer side continuing alone; numbers as OKX writes them (plain notation,
    trailing zeros kept: a Decimal parsed from OKX's string gives it back)."""
    return _interleaved_crc(
        list(map(_okx_level, islice(bids, OKX_DEPTH))), list(map(_okx_level, islice(asks, OKX_DEPTH)))
    )


def bitfinex_checksum(bids: Iterable[Level], asks: Iterable[Level]) -> int:
    """Bitfinex v2 book checksum (P0-P4 precisions): signed CRC32 of
    "bidPrice:bidAmount:askPrice:askAmount:..." over the top 25 levels, ask amounts negative,
    numbers printed the way JavaScript prints them (1e-7, 0.000001, 60400)."""
    return _interleaved_crc(_BITFINEX_BIDS.top(bids, BITFINEX_DEPTH), _BITFINEX_ASKS.top(asks, BITFINEX_DEPTH))


def js_number(value: Decimal) -> str:
    """``value`` as JavaScript's Number.prototype.toString prints it (the shortest digits are
    the Decimal's own: parse Bitfinex's JSON with parse_float=Decimal, parse_int=Decimal)."""
    if not value:
        return "0"
    sign, digit_tuple, exponent = value.normalize().as_tuple()
    assert isinstance(exponent, int)  # finite: only NaN and the infinities have a letter here
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


def _okx_level(level: Level) -> str:
    # not remembered: OKX keeps trailing zeros, so 1.5 and 1.50 (equal keys) differ
    return f"{level[0]:f}:{level[1]:f}"


def _bitfinex_bid(level: Level) -> str:
    return f"{js_number(level[0])}:{js_number(level[1])}"


def _bitfinex_ask(level: Level) -> str:
    return f"{js_number(level[0])}:{js_number(-level[1])}"


def _kraken_level(level: Level, price_decimals: int, size_decimals: int) -> str:
    return _kraken_number(level[0], price_decimals) + _kraken_number(level[1], size_decimals)


def _kraken_number(value: Decimal, decimals: int) -> str:
    return format(value, f".{decimals}f").replace(".", "").lstrip("0")


_KRAKEN_TEXTS: dict[tuple[int, int], _LevelTexts] = {}  # by (price decimals, size decimals)
_BITFINEX_BIDS, _BITFINEX_ASKS = _LevelTexts(_bitfinex_bid), _LevelTexts(_bitfinex_ask)


def _interleaved_crc(bid_texts: list[str], ask_texts: list[str]) -> int:
    # "bid:ask:bid:ask:...", the longer side continuing alone; each level text is "price:size"
    both = min(len(bid_texts), len(ask_texts))
    parts = [""] * (2 * both)
    parts[::2], parts[1::2] = bid_texts[:both], ask_texts[:both]
    parts += bid_texts[both:] or ask_texts[both:]
    return _signed32(zlib.crc32(":".join(parts).encode()))


def _signed32(value: int) -> int:
    return value - (1 << 32) if value & 0x80000000 else value
