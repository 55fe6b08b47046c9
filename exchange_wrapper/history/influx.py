"""InfluxDB as the history store: how trades, candles and book tops are laid out as points, so that
writes are idempotent and a built candle never hides the exchange's, and how they are read back.

InfluxDB keys a point by its series (measurement and tags) and its time: a second point with the same
key replaces the first one's fields. The layout uses that for idempotence:

- ``trade`` (tags ``exchange``, ``pair``; fields ``trade_id``, ``price``, ``size``, ``side``): the
  point's time is the trade's time to the microsecond with the trade id modulo 1,000 as the last three
  (nanosecond) digits. The key is then a function of the trade, so writing it again replaces it with
  itself, and trades of one microsecond (a taker order filled against several makers) keep their own
  points: their ids differ by less than 1,000. Exchanges stamp trades to the millisecond or microsecond,
  so nothing of their time is lost; the ids of all five are numbers (any other id is hashed).
- ``candle`` (tags ``exchange``, ``pair``, ``interval`` in seconds, ``source``: ``exchange`` or
  ``built``; fields ``open``, ``high``, ``low``, ``close``, ``volume``): the exchange's candles and
  xWrap's are separate series, so a built candle can never overwrite an exchange's one; reads take the
  exchange's where both exist, and a built candle is not written for a minute the exchange's covers.
- ``book_top`` (tags ``exchange``, ``pair``; fields ``bid``, ``bid_size``, ``ask``, ``ask_size``, empty
  for a side without a level): the point's time is the sample's to the nanosecond.
- ``equity`` (tag ``wallet_set_id``; fields ``value`` in USD, ``unvalued`` the currencies left out,
  comma-separated): a wallet set's total value, the point's time the sample's to the nanosecond. It
  belongs to no exchange: it has no ``exchange`` tag.

Prices and sizes are string fields. InfluxDB's numeric fields are 64-bit binary floats: 0.1 is stored
as 0.1000000000000000055..., and a size like 123456789.123456789 keeps 17 significant digits, so a
Decimal read back would not equal the one written. A string keeps the Decimal exactly as written
(``str(Decimal)``), and the sink never asks InfluxDB to do arithmetic on them: longer candles are
aggregated above the sink.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from ..config import InfluxSettings, hide_password
from ..core.marketdata import BookTop, Candle, Trade
from ..core.orders import Side
from ..core.pairs import Pair
from .influx_api import Connection, Series, connect, quote_name, quote_text
from .sink import Batch, EquitySample, HistorySink, WriteResult

log = logging.getLogger(__name__)

NANO = 1_000_000_000
MINUTE = 60
EXCHANGE, BUILT = "exchange", "built"
CANDLE_FIELDS = ("open", "high", "low", "close", "volume")
TOP_FIELDS = ("bid", "bid_size", "ask", "ask_size")

OHLCV = tuple[Decimal, Decimal, Decimal, Decimal, Decimal]
Tags = tuple[tuple[str, str], ...]
Key = tuple[Tags, int]
"""A point's key within one exchange: its tags but the exchange, and its time."""


class Point(NamedTuple):
    """One point to write: ``key`` is what InfluxDB identifies it by, apart from the exchange."""

    measurement: str
    tags: Tags
    fields: tuple[tuple[str, str], ...]
    time: int

    @property
    def key(self) -> Key:
        return self.tags, self.time

    def line(self, exchange: str) -> str:
        named = ((("exchange", exchange),) if exchange else ()) + self.tags  # equity has no exchange
        tags = "".join(f",{name}={_tag(value)}" for name, value in named)
        fields = ",".join(f'{name}="{_text(value)}"' for name, value in self.fields)
        return f"{self.measurement}{tags} {fields} {self.time}"


def open_influx_sink(settings: InfluxSettings) -> HistorySink:
    """The InfluxDB sink ``settings`` (``timeseries.influxdb``) describe, its server checked: raises
    :class:`~..core.errors.DatabaseUnavailable` when it does not answer and
    :class:`~..core.errors.ConfigError` naming the setting it refuses (credentials, bucket, ...)."""
    sink = InfluxSink(connect(settings))
    where = settings.database if settings.api == "v1" else f"org {settings.org}, bucket {settings.bucket}"
    log.info("market history goes to InfluxDB (%s API) at %s, %s", settings.api, hide_password(settings.url), where)
    return sink


class InfluxSink:
    """A :class:`~.sink.HistorySink` on one InfluxDB database or bucket (see the module's docstring)."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def write(self, batch: Batch) -> WriteResult:
        exchange = batch.exchange
        trades = {point.key: point for point in map(_trade_point, batch.trades)}
        tops = {point.key: point for point in map(_top_point, batch.tops)}
        equity = {point.key: point for point in map(_equity_point, batch.equity)}
        ours: dict[tuple[str, int, int], Candle] = {}
        theirs: dict[tuple[str, int, int], Candle] = {}
        for sourced in batch.candles:
            candle = sourced.candle
            (theirs if sourced.from_exchange else ours)[str(candle.pair), candle.interval, candle.start] = candle
        stored_trades, stored_tops, stored_candles = self._stored(exchange, trades, tops, ours | theirs)
        points = [point for key, point in trades.items() if key not in stored_trades]
        stored_equity = self._stored_equity(list(equity))
        points += [point for key, point in equity.items() if key not in stored_equity]
        points += [point for key, point in tops.items() if key not in stored_tops]
        written, corrected = len(points), 0
        for key in theirs.keys() | ours.keys():
            stored, built = stored_candles.get((*key, EXCHANGE)), stored_candles.get((*key, BUILT))
            written += stored is None and built is None  # a candle row is keyed by its minute, whoever made it
            if key in theirs:
                candle, source = theirs[key], EXCHANGE
                corrected += stored is None and built is not None and built != _ohlcv(candle)
            elif stored is None:
                candle, source, stored = ours[key], BUILT, built
            else:
                continue  # the exchange's candle of that minute wins
            if stored != _ohlcv(candle):
                points.append(_candle_point(candle, source))
        if points:
            self.connection.writer.write([point.line(exchange) for point in points])
        return WriteResult(written, corrected)

    def _stored(
        self,
        exchange: str,
        trades: dict[Key, Point],
        tops: dict[Key, Point],
        candles: dict[tuple[str, int, int], Candle],
    ) -> tuple[set[Key], set[Key], dict[tuple[str, int, int, str], OHLCV]]:
        """What is stored already where the batch writes: keys of trades and tops, values of candles by
        (pair, interval, start, source); one request for the three."""
        statements: list[str] = []
        if trades:
            statements.append(_within("trade", ["trade_id"], exchange, list(trades), ["pair"]))
        if tops:
            statements.append(_within("book_top", ["bid"], exchange, list(tops), ["pair"]))
        if candles:
            keys = [((("pair", pair),), start * NANO) for pair, _, start in candles]
            statements.append(_within("candle", CANDLE_FIELDS, exchange, keys, ["pair", "interval", "source"]))
        answers = iter(self.connection.query.run(statements)) if statements else iter(())
        stored_trades = _keys(next(answers)) if trades else set()
        stored_tops = _keys(next(answers)) if tops else set()
        stored_candles: dict[tuple[str, int, int, str], OHLCV] = {}
        for series in next(answers) if candles else ():
            tags = series.tags
            for row in series.rows():
                stored_candles[tags["pair"], int(tags["interval"]), row["time"] // NANO, tags["source"]] = _read(row)
        return stored_trades, stored_tops, stored_candles

    def _stored_equity(self, keys: list[Key]) -> set[Key]:
        """The keys of ``keys`` stored already (a sample written again is not new)."""
        if not keys:
            return set()
        sets = sorted({value for tags, _ in keys for _, value in tags})
        either = " OR ".join(f'"wallet_set_id"={quote_text(ws)}' for ws in sets)
        times = [time for _, time in keys]
        [found] = self.connection.query.run(
            [
                f'SELECT "value" FROM "equity" WHERE ({either}) AND time >= {min(times)} AND time <= {max(times)} '
                'GROUP BY "wallet_set_id"'
            ]
        )
        return {((("wallet_set_id", s.tags["wallet_set_id"]),), row["time"]) for s in found for row in s.rows()}

    def equity(self, wallet_set_id: int, start: float, end: float, limit: int) -> list[EquitySample]:
        if limit <= 0:
            return []
        [found] = self.connection.query.run(
            [
                f'SELECT "value","unvalued" FROM "equity" WHERE "wallet_set_id"={quote_text(str(wallet_set_id))} '
                f"AND time >= {_nanos(start)} AND time < {_nanos(end)} ORDER BY time ASC LIMIT {limit}"
            ]
        )
        return [
            EquitySample(
                wallet_set_id,
                row["time"] / NANO,
                Decimal(row["value"]),
                tuple(filter(None, (row["unvalued"] or "").split(","))),
            )
            for series in found
            for row in series.rows()
        ]

    def candles(self, exchange: str, pair: Pair, start: int, end: int, limit: int) -> list[Candle]:
        if limit <= 0:
            return []  # InfluxQL reads LIMIT 0 as no limit
        found = self._range("candle", CANDLE_FIELDS, exchange, pair, start * NANO, end * NANO, limit, by_source=True)
        # each source's first ``limit`` minutes hold the first ``limit`` minutes of both
        by_minute: dict[int, Candle] = {}
        for series in sorted(found, key=lambda s: s.tags["source"] == EXCHANGE):  # the exchange's last: it wins
            for row in series.rows():
                minute = row["time"] // NANO
                by_minute[minute] = Candle(pair, minute, MINUTE, *_read(row))
        return [by_minute[minute] for minute in sorted(by_minute)[:limit]]

    def trades(self, exchange: str, pair: Pair, start: float, end: float, limit: int) -> list[Trade]:
        if limit <= 0:
            return []
        fields = ("trade_id", "price", "size", "side")
        found = self._range("trade", fields, exchange, pair, _micro(start) * 1000, _micro(end) * 1000, limit)
        return [
            Trade(
                pair,
                row["trade_id"],
                Decimal(row["price"]),
                Decimal(row["size"]),
                Side(row["side"]),
                row["time"] // 1000 / 1_000_000,
            )
            for series in found
            for row in series.rows()
        ]

    def tops(self, exchange: str, pair: Pair, start: float, end: float, limit: int) -> list[BookTop]:
        if limit <= 0:
            return []
        found = self._range("book_top", TOP_FIELDS, exchange, pair, _nanos(start), _nanos(end), limit)
        return [
            BookTop(pair, row["time"] / NANO, *(Decimal(row[name]) if row[name] else None for name in TOP_FIELDS))
            for series in found
            for row in series.rows()
        ]

    def stored_minutes(self, exchange: str, pair: Pair, start: int, end: int) -> set[int]:
        found = self._range("candle", ["open"], exchange, pair, start * NANO, end * NANO, 0, source=EXCHANGE)
        return {row["time"] // NANO for series in found for row in series.rows()}

    def _range(
        self,
        measurement: str,
        fields: Sequence[str],
        exchange: str,
        pair: Pair,
        start: int,
        end: int,
        limit: int,
        *,
        by_source: bool = False,
        source: str = "",
    ) -> list[Series]:
        """``fields`` of the points of ``pair`` in [start, end) (nanoseconds), oldest first, at most
        ``limit`` (0: all) a series; candles are those of one minute, of one ``source`` or each apart."""
        where = f'"exchange"={quote_text(exchange)} AND "pair"={quote_text(str(pair))}'
        if measurement == "candle":
            where += f" AND \"interval\"='{MINUTE}'" + (f' AND "source"={quote_text(source)}' if source else "")
        statement = f'SELECT {_names(fields)} FROM "{measurement}" WHERE {where} AND time >= {start} AND time < {end}'
        statement += ' GROUP BY "source"' if by_source else ""
        statement += f" ORDER BY time ASC LIMIT {limit}" if limit else ""
        [found] = self.connection.query.run([statement])
        return found

    def close(self) -> None:
        self.connection.close()


def _trade_point(trade: Trade) -> Point:
    """The trade's point: its time to the microsecond, the trade id's last three digits as nanoseconds."""
    trade_id = trade.trade_id
    slot = int(trade_id) if trade_id.isdigit() else zlib.crc32(trade_id.encode())
    fields = (("trade_id", trade_id), ("price", str(trade.price)), ("size", str(trade.size)))
    return Point(
        "trade",
        (("pair", str(trade.pair)),),
        (*fields, ("side", trade.taker_side.value)),
        _micro(trade.time) * 1000 + slot % 1000,
    )


def _top_point(top: BookTop) -> Point:
    values = (top.bid, top.bid_size, top.ask, top.ask_size)
    fields = tuple((name, "" if value is None else str(value)) for name, value in zip(TOP_FIELDS, values))
    return Point("book_top", (("pair", str(top.pair)),), fields, _nanos(top.time))


def _equity_point(sample: EquitySample) -> Point:
    fields = (("value", str(sample.value)), ("unvalued", ",".join(sample.unvalued)))
    return Point("equity", (("wallet_set_id", str(sample.wallet_set_id)),), fields, _nanos(sample.time))


def _candle_point(candle: Candle, source: str) -> Point:
    tags = (("pair", str(candle.pair)), ("interval", str(candle.interval)), ("source", source))
    return Point("candle", tags, tuple(zip(CANDLE_FIELDS, map(str, _ohlcv(candle)))), candle.start * NANO)


def _ohlcv(candle: Candle) -> OHLCV:
    return candle.open, candle.high, candle.low, candle.close, candle.volume


def _read(row: dict[str, Any]) -> OHLCV:
    return (
        Decimal(row["open"]),
        Decimal(row["high"]),
        Decimal(row["low"]),
        Decimal(row["close"]),
        Decimal(row["volume"]),
    )


def _within(measurement: str, fields: Sequence[str], exchange: str, keys: Sequence[Key], group: Sequence[str]) -> str:
    """A statement reading ``fields`` of the points of ``exchange`` in the pairs and times of ``keys``."""
    pairs = sorted({value for tags, _ in keys for name, value in tags if name == "pair"})
    times = [time for _, time in keys]
    either = " OR ".join(f'"pair"={quote_text(pair)}' for pair in pairs)
    return (
        f'SELECT {_names(fields)} FROM "{measurement}" WHERE "exchange"={quote_text(exchange)} AND ({either}) '
        f"AND time >= {min(times)} AND time <= {max(times)} GROUP BY {_names(group)}"
    )


def _keys(found: Iterable[Series]) -> set[Key]:
    return {((("pair", series.tags["pair"]),), row["time"]) for series in found for row in series.rows()}


def _names(names: Iterable[str]) -> str:
    return ",".join(map(quote_name, names))


def _micro(time: float) -> int:
    """Unix seconds as whole microseconds, exactly (a float times 1e6 may round the wrong way)."""
    return round(Fraction(time) * 1_000_000)


def _nanos(time: float) -> int:
    """Unix seconds as whole nanoseconds, exactly: a float of today's time is 240 ns coarse, so the one
    read back (nanoseconds / 1e9, correctly rounded) is the one written."""
    return round(Fraction(time) * NANO)


def _tag(value: str) -> str:
    return value.replace(",", r"\,").replace("=", r"\=").replace(" ", r"\ ")


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
