"""Reading exchange JSON: numbers as Decimal, and fields whose errors name the market.

Every exchange module reads its metadata through :class:`Fields`, so a missing or malformed
value is reported the same way everywhere: ``base_increment of BTC-USD on coinbase: ...``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..core.errors import InvalidParameter
from ..core.marketdata import Candle
from ..core.money import decimal_places, parse_decimal
from ..core.pairs import Pair, common_currency

_DECIMAL = 'a decimal string such as "0.01"'


def load_json(body: str | bytes, what: str) -> Any:
    """Parse ``body`` with every fractional number as a Decimal (``0.26`` stays exact).

    Raises :class:`InvalidParameter` naming ``what`` (``"GET /products on coinbase"``) if ``body``
    is not JSON.
    """
    try:
        return json.loads(body, parse_float=Decimal)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        text = body if isinstance(body, str) else body[:80].decode("utf-8", "replace")
        raise InvalidParameter(what, "a JSON document", text) from None


def expect(value: Any, kind: type, field: str, expected: str) -> Any:
    """``value`` if it is a ``kind`` (a bool is never an int), else :class:`InvalidParameter`."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidParameter(field, expected, value)
    return value


class Fields:
    """One metadata entry of one market, read with errors naming field, symbol and exchange.

    ``Fields("coinbase", "BTC-USD", product).decimal("base_increment", positive=True)``.
    ``prefix`` names where a nested object sits (``"LOT_SIZE."``, ``"symbolTradeLimit."``).
    """

    def __init__(self, exchange: str, symbol: str, raw: object, prefix: str = ""):
        self.exchange, self.symbol, self.prefix = exchange, symbol, prefix
        whole = f"{prefix.rstrip('.')} of {symbol}" if prefix else symbol
        self.raw: Mapping[str, Any] = expect(raw, dict, f"{whole} on {exchange}", "a JSON object")

    def label(self, name: str) -> str:
        """How errors name the field: ``LOT_SIZE.stepSize of ETHBTC on binance``."""
        return f"{self.prefix}{name} of {self.symbol} on {self.exchange}"

    def nested(self, name: str) -> Fields:
        """The object under ``name``, its fields labelled ``name.field``."""
        return Fields(self.exchange, self.symbol, self.value(name), f"{self.prefix}{name}.")

    def has(self, name: str) -> bool:
        """Whether ``name`` is present and not null."""
        return self.raw.get(name) is not None

    def value(self, name: str, expected: str = "a value") -> Any:
        """The raw value of a required field."""
        if not self.has(name):
            raise InvalidParameter(self.label(name), expected, missing=True)
        return self.raw[name]

    def text(self, name: str) -> str:
        return expect(self.value(name, "a string"), str, self.label(name), "a string")

    def flag(self, name: str) -> bool:
        return expect(self.value(name, "true or false"), bool, self.label(name), "true or false")

    def integer(self, name: str) -> int:
        """A non-negative whole number (a count of decimal places, a scale)."""
        value = expect(self.value(name, "a whole number"), int, self.label(name), "a whole number")
        if value < 0:
            raise InvalidParameter(self.label(name), "a whole number of 0 or more", value)
        return value

    def decimal(self, name: str, *, positive: bool = False) -> Decimal:
        """A required decimal (a string or JSON number), 0 or more, or above 0 if ``positive``."""
        return parse_decimal(self.value(name, _DECIMAL), self.label(name), positive=positive, non_negative=True)

    def optional_decimal(self, name: str) -> Decimal | None:
        """A decimal of 0 or more, or ``None`` where the field is absent or null."""
        return self.decimal(name) if self.has(name) else None

    def milliseconds(self, name: str) -> int:
        """A time in milliseconds written as a string of digits (OKX's and Bybit's ``ts``)."""
        text = self.text(name)
        if not text.isdigit():
            raise InvalidParameter(self.label(name), "a time in milliseconds, as a string of digits", text)
        return int(text)

    def places(self, name: str) -> Decimal:
        """A count of decimal places as a step: ``8`` -> ``0.00000001``."""
        return decimal_places(self.integer(name))


def column_rows(exchange: str, body: str | bytes | list, what: str, columns: Sequence[str], name: str) -> list[Fields]:
    """The rows of a JSON list of fixed-column rows (candles, klines), each as :class:`Fields`
    keyed by ``columns`` and labelled ``<name> <index>`` (``BTC_USDT candle 3``). ``body`` is the
    JSON text, or the list already parsed where the rows sit inside a larger response (Kraken).

    Raises :class:`InvalidParameter` naming ``what`` (``"GET candles of BTC_USDT on poloniex"``)
    for a body that is not such a list, and ``what[index]`` for a row of another length.
    """
    rows = body if isinstance(body, list) else expect(load_json(body, what), list, what, "a JSON list of rows")
    for index, row in enumerate(rows):
        if not (isinstance(row, list) and len(row) == len(columns)):
            raise InvalidParameter(f"{what}[{index}]", f"a row of {len(columns)} columns: " + ", ".join(columns), row)
    return [Fields(exchange, f"{name} {index}", dict(zip(columns, row))) for index, row in enumerate(rows)]


def candles_of(
    rows: Sequence[Fields], pair: Pair, interval: int, *, start: str, per_second: int = 1, volume: str = "volume"
) -> list[Candle]:
    """The candles of :func:`column_rows` rows, oldest first: each exchange names its columns and orders
    them its own way (Coinbase sends newest first), but reads them the same. ``start`` is the column of
    the open time, in seconds or, with ``per_second=1000``, milliseconds; the prices are the columns
    ``open``, ``high``, ``low``, ``close``."""
    candles = [
        Candle(
            pair,
            row.integer(start) // per_second,
            interval,
            row.decimal("open"),
            row.decimal("high"),
            row.decimal("low"),
            row.decimal("close"),
            row.decimal(volume),
        )
        for row in rows
    ]
    return sorted(candles, key=lambda candle: candle.start)


def unified_pair(exchange: str, base: str, quote: str, field: str) -> Pair:
    """The unified pair of an exchange's currency codes, aliases resolved (``XXBT``/``ZUSD`` -> ``BTC_USD``).

    Raises :class:`InvalidParameter` naming ``field`` if a code cannot be a unified code.
    """
    return Pair.parse(f"{common_currency(exchange, base)}_{common_currency(exchange, quote)}", field)


def entry(exchange: str, raw: object, index: int, symbol_key: str) -> Fields:
    """The fields of the ``index``-th entry of a metadata list, labelled by its own ``symbol_key``."""
    symbol = Fields(exchange, f"entry {index}", raw).text(symbol_key)
    return Fields(exchange, symbol, raw)
