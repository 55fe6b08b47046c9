"""The embedded history sink: trades, 1-minute candles and book tops in the service's own database.

The tables are the storage models :class:`~exchange_wrapper.storage.models.MarketTrade`,
``MarketCandle`` and ``MarketBookTop`` (schema version 2) and ``WalletEquity`` (3), on SQLite or PostgreSQL as the
``database_url`` says. Every write is one transaction of idempotent statements: trades and book tops
are inserted unless their key is there; a candle is inserted, or replaces the stored one unless that
one is the exchange's and the new one was built (the exchange's candle wins), which the upsert
checks again where another writer (a backfill's thread) inserted the same minute meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from peewee import EXCLUDED, Database, SqliteDatabase, chunked

from ..core.marketdata import BookTop, Candle, Trade
from ..core.orders import Side
from ..core.pairs import Pair
from ..storage import sql
from ..storage.database import close_database, read_transaction, write_transaction
from ..storage.models import MarketBookTop, MarketCandle, MarketTrade, WalletEquity, money_value
from .sink import Batch, EquitySample, SourcedCandle, WriteResult

#: Rows per INSERT statement (SQLite allows 32766 parameters; the widest row has 11).
ROWS_PER_INSERT = 500

#: The interval of the candles stored.
MINUTE = 60

_OHLCV = ("open", "high", "low", "close", "volume")


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


class DatabaseSink:
    """A :class:`~.sink.HistorySink` on ``db``, an open database (``open_database``)."""

    def __init__(self, db: Database):
        self.db = db
        # SQLite hands back the canonical text money_param wrote, which Decimal reads as is (the
        # candles' read is the one that counts: a day of minutes); PostgreSQL's NUMERIC needs its
        # trailing zeros taken off.
        self._money: Callable[[Any], Decimal] = Decimal if isinstance(db, SqliteDatabase) else money_value

    # -- writes -----------------------------------------------------------------------------------

    def write(self, batch: Batch) -> WriteResult:
        with write_transaction(self.db):
            written = self._insert(MarketTrade, self._trade_rows(batch))
            written += self._insert(MarketBookTop, self._top_rows(batch))
            written += self._insert(WalletEquity, self._equity_rows(batch))
            new, corrected = self._candles(batch.exchange, batch.candles)
        return WriteResult(written + new, corrected)

    def _insert(self, model: Any, rows: Iterator[dict[str, Any]]) -> int:
        written = 0
        for chunk in chunked(rows, ROWS_PER_INSERT):
            written += model.insert_many(chunk).on_conflict_ignore().as_rowcount().execute()
        return written

    @staticmethod
    def _trade_rows(batch: Batch) -> Iterator[dict[str, Any]]:
        for trade in batch.trades:
            yield {
                "exchange": batch.exchange,
                "pair": str(trade.pair),
                "trade_id": trade.trade_id,
                "price": trade.price,
                "size": trade.size,
                "taker_side": trade.taker_side.value,
                "time": _us(trade.time),
            }

    @staticmethod
    def _top_rows(batch: Batch) -> Iterator[dict[str, Any]]:
        for top in batch.tops:
            yield {
                "exchange": batch.exchange,
                "pair": str(top.pair),
                "time": _us(top.time),
                "bid": top.bid,
                "bid_size": top.bid_size,
                "ask": top.ask,
                "ask_size": top.ask_size,
            }

    @staticmethod
    def _equity_rows(batch: Batch) -> Iterator[dict[str, Any]]:
        for sample in batch.equity:
            yield {
                "wallet_set_id": sample.wallet_set_id,
                "time": _us(sample.time),
                "value": sample.value,
                "unvalued": ",".join(sample.unvalued),
            }

    def _candles(self, exchange: str, candles: Sequence[SourcedCandle]) -> tuple[int, int]:
        """(rows new, built candles replaced by different exchange ones). The stored candles of the
        batch's keys are read first (the write transaction keeps them from changing meanwhile)."""
        latest: dict[tuple[str, int], SourcedCandle] = {}
        for sourced in candles:  # the last of one key wins, as if written one after the other, unless ...
            key = (str(sourced.candle.pair), sourced.candle.start)
            before = latest.get(key)
            if before is None or sourced.from_exchange or not before.from_exchange:  # ... a built one follows
                latest[key] = sourced
        stored = self._stored(exchange, latest)
        new, corrected = [], 0
        for key, sourced in latest.items():
            row = stored.get(key)
            if row is None:
                new.append(self._candle_row(exchange, sourced))
                continue
            row_id, values, from_exchange = row
            if from_exchange and not sourced.from_exchange:
                continue  # the exchange's candle wins
            incoming = tuple(getattr(sourced.candle, name) for name in _OHLCV)
            if incoming == values and from_exchange == sourced.from_exchange:
                continue
            corrected += sourced.from_exchange and not from_exchange and incoming != values
            MarketCandle.update(**dict(zip(_OHLCV, incoming, strict=True)), from_exchange=sourced.from_exchange).where(
                MarketCandle.id == row_id
            ).execute()
        written = 0
        for chunk in chunked(new, ROWS_PER_INSERT):  # an upsert: another writer (a backfill) may have come first
            written += (
                MarketCandle.insert_many(chunk)
                .on_conflict(
                    conflict_target=[
                        MarketCandle.exchange,
                        MarketCandle.pair,
                        MarketCandle.interval,
                        MarketCandle.start,
                    ],
                    update={
                        getattr(MarketCandle, name): getattr(EXCLUDED, name) for name in (*_OHLCV, "from_exchange")
                    },
                    where=(MarketCandle.from_exchange == False) | (EXCLUDED.from_exchange == True),  # noqa: E712
                )
                .as_rowcount()
                .execute()
            )
        return written, corrected

    def _stored(
        self, exchange: str, latest: dict[tuple[str, int], SourcedCandle]
    ) -> dict[tuple[str, int], tuple[int, tuple[Decimal, ...], bool]]:
        by_pair: dict[str, list[int]] = {}
        for pair, start in latest:
            by_pair.setdefault(pair, []).append(start)
        stored = {}
        for pair, starts in by_pair.items():
            for chunk in chunked(starts, ROWS_PER_INSERT):
                template = _STORED_CANDLES + f"({', '.join('?' * len(chunk))})"
                for row_id, at, *values, from_exchange in sql.rows(self.db, template, (exchange, pair, MINUTE, *chunk)):
                    stored[(pair, at)] = (row_id, tuple(map(money_value, values)), bool(from_exchange))
        return stored

    @staticmethod
    def _candle_row(exchange: str, sourced: SourcedCandle) -> dict[str, Any]:
        candle = sourced.candle
        return {
            "exchange": exchange,
            "pair": str(candle.pair),
            "interval": MINUTE,
            "start": candle.start,
            **{name: getattr(candle, name) for name in _OHLCV},
            "from_exchange": sourced.from_exchange,
        }

    # -- reads ------------------------------------------------------------------------------------

    def candles(self, exchange: str, pair: Pair, start: int, end: int, limit: int) -> list[Candle]:
        rows = self._read(_CANDLES, (exchange, str(pair), MINUTE, start, end, limit))
        money = self._money
        return [
            Candle(pair, at, MINUTE, money(o), money(h), money(lo), money(c), money(v)) for at, o, h, lo, c, v in rows
        ]

    def trades(self, exchange: str, pair: Pair, start: float, end: float, limit: int) -> list[Trade]:
        rows = self._read(_TRADES, (exchange, str(pair), _us(start), _us(end), limit))
        return [
            Trade(pair, trade_id, money_value(price), money_value(size), Side(side), at / 1_000_000)
            for trade_id, price, size, side, at in rows
        ]

    def tops(self, exchange: str, pair: Pair, start: float, end: float, limit: int) -> list[BookTop]:
        rows = self._read(_TOPS, (exchange, str(pair), _us(start), _us(end), limit))
        return [BookTop(pair, at / 1_000_000, *map(_money_or_none, values)) for at, *values in rows]

    def equity(self, wallet_set_id: int, start: float, end: float, limit: int) -> list[EquitySample]:
        rows = self._read(_EQUITY, (wallet_set_id, _us(start), _us(end), limit))
        return [
            EquitySample(wallet_set_id, at / 1_000_000, money_value(value), tuple(filter(None, unvalued.split(","))))
            for at, value, unvalued in rows
        ]

    def stored_minutes(self, exchange: str, pair: Pair, start: int, end: int) -> set[int]:
        return {at for (at,) in self._read(_EXCHANGE_MINUTES, (exchange, str(pair), MINUTE, True, start, end))}

    def _read(self, template: str, params: Sequence[Any]) -> list[tuple]:
        with read_transaction(self.db):
            return sql.rows(self.db, template, params)

    def close(self) -> None:
        close_database(self.db)


def _money_or_none(value: str | Decimal | None) -> Decimal | None:
    return None if value is None else money_value(value)


# The reads, as SQL text: the models would build each statement anew and make an object per row.
_CANDLES = (
    'SELECT "start", "open", "high", "low", "close", "volume" FROM "market_candle" WHERE "exchange" = ? AND "pair" = ? '
    'AND "interval" = ? AND "start" >= ? AND "start" < ? ORDER BY "start" LIMIT ?'
)
_EXCHANGE_MINUTES = (
    'SELECT "start" FROM "market_candle" WHERE "exchange" = ? AND "pair" = ? AND "interval" = ? '
    'AND "from_exchange" = ? AND "start" >= ? AND "start" < ?'
)
_STORED_CANDLES = (
    'SELECT "id", "start", "open", "high", "low", "close", "volume", "from_exchange" FROM "market_candle" '
    'WHERE "exchange" = ? AND "pair" = ? AND "interval" = ? AND "start" IN '
)
_TRADES = (
    'SELECT "trade_id", "price", "size", "taker_side", "time" FROM "market_trade" WHERE "exchange" = ? AND "pair" = ? '
    'AND "time" >= ? AND "time" < ? ORDER BY "time", "id" LIMIT ?'
)
_TOPS = (
    'SELECT "time", "bid", "bid_size", "ask", "ask_size" FROM "market_book_top" WHERE "exchange" = ? AND "pair" = ? '
    'AND "time" >= ? AND "time" < ? ORDER BY "time" LIMIT ?'
)
_EQUITY = (
    'SELECT "time", "value", "unvalued" FROM "wallet_equity" WHERE "wallet_set_id" = ? AND "time" >= ? AND "time" < ? '
    'ORDER BY "time" LIMIT ?'
)
