"""Any other exchange through ccxt: ccxt's unified structures translated to xWrap's types.

ccxt (the ``ccxt`` extra, ``pip install 'xwrap[ccxt]'``) speaks to more than a hundred exchanges and
hands back one unified shape for each: markets from ``load_markets``, order books, OHLCV rows.
This module reads those shapes and nothing else; it imports no ccxt and does no I/O:
:mod:`exchange_wrapper.connectors.ccxt_feed` builds and runs the ccxt exchange object.

Numbers. ccxt returns floats by default. The connector sets the exchange object's ``number`` to
``str`` (ccxt's own switch: ``parse_number`` then returns the exchange's text, so markets and
candles come as strings) and :class:`ExactBookLevels` makes REST order-book levels Decimals read
from the exchange's text (ccxt reads them with a hard-wired ``float``); every value is then read by
:func:`exact` into a Decimal.
A value ccxt keeps as a float anyway (the books ccxt.pro streams: its order-book structure is built
on floats) is read through its shortest ``repr``, which equals the exchange's text wherever that has
at most 15 significant digits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from ...core.errors import InvalidParameter
from ...core.marketdata import BookSnapshot, Candle, Trade
from ...core.markets import Market, MarketStatus
from ...core.orders import Side
from ...core.pairs import Pair

EXCHANGE = "ccxt"
#: The fee rate of a market ccxt states none for (the Market default): the settings' fees override it.
DEFAULT_FEE = Decimal("0.001")

#: ccxt's ``precisionMode`` values (``ccxt.base.decimal_to_precision``): how a market's
#: ``precision`` numbers read.
DECIMAL_PLACES = 2  # the number of decimals: 2 -> a step of 0.01
SIGNIFICANT_DIGITS = 3  # significant digits (prices only make sense this way: Bitfinex)
TICK_SIZE = 4  # the step itself: 0.01
PRECISION_MODES = {DECIMAL_PLACES: "DECIMAL_PLACES", SIGNIFICANT_DIGITS: "SIGNIFICANT_DIGITS", TICK_SIZE: "TICK_SIZE"}


def exact(value: object, field: str) -> Decimal:
    """``value`` as an exact Decimal: ccxt's text (``number = str``), an integer, or a float read
    through its shortest repr. Raises :class:`InvalidParameter` naming ``field`` otherwise."""
    if isinstance(value, bool) or value is None:
        raise InvalidParameter(field, "a number", value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, (str, int, float)):
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            raise InvalidParameter(field, "a decimal number", value) from None
    else:
        raise InvalidParameter(field, "a number", value)
    if not number.is_finite():
        raise InvalidParameter(field, "a finite number", value)
    return number


def _optional(value: object, field: str) -> Decimal | None:
    return None if value is None else exact(value, field)


def step(value: object, mode: int, field: str) -> Decimal:
    """A precision number of ``mode`` as the step it allows: a tick size as it is, a number of
    decimals ``n`` as ``10**-n`` (exactly: ``Decimal(1).scaleb(-n)``)."""
    if mode == TICK_SIZE:
        tick = exact(value, field)
    elif mode == DECIMAL_PLACES:
        places = exact(value, field)
        if places != places.to_integral_value():
            raise InvalidParameter(field, "a whole number of decimal places", value)
        tick = Decimal(1).scaleb(-int(places))
    else:
        raise InvalidParameter(field, "a tick size or a number of decimals", PRECISION_MODES.get(mode, mode))
    if tick <= 0:
        raise InvalidParameter(field, "a positive step", value)
    return tick


def parse_markets(markets: Mapping[str, Mapping[str, Any]], precision_mode: int) -> list[Market]:
    """xWrap's markets of ccxt's ``load_markets`` answer: its spot markets whose base and quote are
    currency codes xWrap accepts (a derivative, or an exotic code, is left out). ``precision_mode``
    is the exchange's ``precisionMode``. The market's ``symbol`` is ccxt's (``BTC/USDT``), what the
    connector asks ccxt with; the exchange's own id (``BTCUSDT``) is an alternative name.

    Raises :class:`InvalidParameter` naming the market and field for a value that is not a number."""
    if precision_mode not in PRECISION_MODES:
        raise InvalidParameter("precisionMode", "one of ccxt's precision modes (2, 3, 4)", precision_mode)
    out = []
    for symbol, market in markets.items():
        if not market.get("spot") or market.get("contract"):
            continue
        try:
            pair = Pair(str(market["base"]), str(market["quote"]))
        except InvalidParameter:
            continue
        out.append(_market(symbol, pair, market, precision_mode))
    return out


def _market(symbol: str, pair: Pair, market: Mapping[str, Any], mode: int) -> Market:
    label = f"markets[{symbol!r}]"
    precision, limits = market.get("precision") or {}, market.get("limits") or {}
    amount, cost = limits.get("amount") or {}, limits.get("cost") or {}
    if mode == SIGNIFICANT_DIGITS:
        tick, digits = None, int(exact(precision.get("price"), f"{label}.precision.price"))
        # ccxt gives amounts of such exchanges (Bitfinex) in decimals: the size step follows from them
        size_step = step(precision.get("amount"), DECIMAL_PLACES, f"{label}.precision.amount")
    else:
        tick = step(precision.get("price"), mode, f"{label}.precision.price")
        digits, size_step = None, step(precision.get("amount"), mode, f"{label}.precision.amount")
    maker, taker = (_optional(market.get(name), f"{label}.{name}") for name in ("maker", "taker"))
    return Market(
        exchange=EXCHANGE,
        pair=pair,
        symbol=symbol,
        tick_size=tick,
        price_significant_digits=digits,
        size_step=size_step,
        min_size=_optional(amount.get("min"), f"{label}.limits.amount.min") or Decimal(0),
        max_size=_optional(amount.get("max"), f"{label}.limits.amount.max") or None,
        min_notional=_optional(cost.get("min"), f"{label}.limits.cost.min") or Decimal(0),
        max_notional=_optional(cost.get("max"), f"{label}.limits.cost.max") or None,
        status=MarketStatus.OFFLINE if market.get("active") is False else MarketStatus.ONLINE,
        alt_symbols=(str(market["id"]),) if market.get("id") not in (None, symbol) else (),
        maker_fee=DEFAULT_FEE if maker is None else maker,
        taker_fee=DEFAULT_FEE if taker is None else taker,
    )


class ExactBookLevels:
    """Mixed into the ccxt exchange class ahead of it: its REST order books' levels as
    ``[Decimal price, Decimal size]`` read from the exchange's text, where ccxt would read floats."""

    def parse_order_book_bid_ask(
        self, bidask: Any, priceKey: Any = 0, amountKey: Any = 1, countOrIdKey: Any = 2
    ) -> list[Decimal]:
        return [exact(bidask[priceKey], "price"), exact(bidask[amountKey], "size")]


def parse_book(pair: Pair, book: Mapping[str, Any]) -> BookSnapshot:
    """``fetch_order_book``'s answer as the whole book of ``pair``, with its nonce as the sequence
    and its timestamp (milliseconds) as the exchange's time, where it gives them."""
    bids = [(exact(level[0], "bids.price"), exact(level[1], "bids.size")) for level in book["bids"]]
    asks = [(exact(level[0], "asks.price"), exact(level[1], "asks.size")) for level in book["asks"]]
    stamp = book.get("timestamp")
    nonce = book.get("nonce")
    return BookSnapshot(pair, bids, asks, nonce if isinstance(nonce, int) else None, _seconds(stamp))


def parse_trades(pair: Pair, trades: Sequence[Mapping[str, Any]]) -> list[Trade]:
    """``fetch_trades``' (or ccxt.pro ``watch_trades``') public trades of ``pair``, oldest first: ccxt's
    ``side`` is the taker's, its ``timestamp`` the exchange's time (milliseconds)."""
    out = []
    for trade in trades:
        side = trade.get("side")
        if side not in ("buy", "sell"):
            raise InvalidParameter("trade.side", "buy or sell", side)
        out.append(
            Trade(
                pair,
                str(trade["id"]),
                exact(trade.get("price"), "trade.price"),
                exact(trade.get("amount"), "trade.amount"),
                Side(side),
                _seconds(trade.get("timestamp")) or 0.0,
            )
        )
    return sorted(out, key=lambda t: t.time)


def parse_candles(pair: Pair, rows: Sequence[Sequence[Any]], interval: int) -> list[Candle]:
    """``fetch_ohlcv``'s rows ``[ms, open, high, low, close, volume]`` as candles, oldest first."""
    names = ("open", "high", "low", "close", "volume")
    out = []
    for row in rows:
        values = [exact(row[i + 1], f"ohlcv.{name}") for i, name in enumerate(names)]
        out.append(Candle(pair, int(row[0]) // 1000, interval, *values))
    return sorted(out, key=lambda c: c.start)


#: ccxt's timeframe names by candle length in seconds (``exchange.timeframes`` lists an exchange's).
TIMEFRAMES = {60: "1m", 300: "5m", 900: "15m", 1800: "30m", 3600: "1h", 14400: "4h", 86400: "1d"}


def pointed_at(urls: Any, base: str) -> Any:
    """ccxt's ``urls['api']`` (a URL, or a dict of them) with every URL's scheme and host replaced
    by ``base``'s, their paths kept: the settings' ``rest_url`` (a simulator on loopback)."""
    if isinstance(urls, dict):
        return {key: pointed_at(value, base) for key, value in urls.items()}
    if isinstance(urls, str) and "://" in urls:
        parts = urlsplit(urls)
        return base.rstrip("/") + parts.path + ("?" + parts.query if parts.query else "")
    return urls


def _seconds(milliseconds: object) -> float | None:
    if milliseconds is None or isinstance(milliseconds, bool):
        return None
    return int(exact(milliseconds, "timestamp")) / 1000
