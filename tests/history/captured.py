"""Real public trades from the recorded traffic in tests/captures, parsed by the exchanges' adapters
and taken from the hub as market history takes them (its trade subscription)."""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from pathlib import Path

from exchange_wrapper.core.marketdata import Candle, Trade
from exchange_wrapper.marketdata.hub import MarketDataHub
from exchange_wrapper.replay.source import Replay

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
FILES = {
    "coinbase": ["COINBASE.0", "COINBASE.ws.28.0"],
    "binance": ["BINANCE.0", "BINANCE.http.0.0", "BINANCE.ws.1.0"],
    "bitfinex": ["BITFINEX.0", "BITFINEX.ws.11.0"],
}


def files(exchange: str) -> list[str]:
    return [str(CAPTURES / name) for name in FILES[exchange]]


@functools.cache
def captured_trades(exchange: str) -> tuple[Trade, ...]:
    """Every public trade of ``exchange``'s capture, in the order received."""
    hub = MarketDataHub()
    trades: list[Trade] = []
    hub.on_trade(lambda name, trade, at: trades.append(trade))
    Replay(exchange, files(exchange), hub).run()
    return tuple(trades)


@functools.cache
def bitfinex_trades() -> tuple[Trade, ...]:
    """The real trades of the Bitfinex capture, parsed by its adapter. The capture holds them only as
    the snapshots of past trades each ``trades`` subscription answers (``[CHANNEL, [[ID, MTS, AMOUNT,
    PRICE], ...]]``), which the adapter rightly ignores as history; each row is fed to it as the
    ``te`` message the same trade was sent as (``[CHANNEL, "te", [ID, MTS, AMOUNT, PRICE], SEQ]``, the
    next sequence number as the connection's flags ask: made here from the real row), oldest first."""
    replay = Replay("bitfinex", files("bitfinex"))
    parser = replay.adapter.parser()
    trades: list[Trade] = []
    for record in replay.records():
        message = getattr(record, "message", "")
        if message.startswith("{"):
            parser.parse(message, record.ts)  # the subscription acknowledgements name the channels
        elif message.startswith("[") and message[1:].split(",", 1)[1].startswith("[["):
            channel, rows = json.loads(message)[:2]
            if rows and len(rows[0]) == 4:  # a trades snapshot (a book's rows have 3 values)
                for row in reversed(rows):
                    found = parser.parse(json.dumps([channel, "te", row, parser.sequence + 1]), record.ts)
                    trades += [event for event in found if isinstance(event, Trade)]
    return tuple(trades)


@functools.cache
def binance_klines() -> tuple[Candle, ...]:
    """The exchange's own 1-minute candles of the Binance capture (its ``kline_1m`` stream), as
    xWrap stores an exchange's candle: for the minutes where the capture also has a trade."""
    replay = Replay("binance", files("binance"))
    out = []
    for record in replay.records():
        message = getattr(record, "message", "")
        if "@kline_1m" in message:
            kline = json.loads(message)["data"]["k"]
            pair = replay.adapter.pair_of[kline["s"]]
            values = (Decimal(kline[key]) for key in "ohlcv")
            out.append(Candle(pair, kline["t"] // 1000, 60, *values))
    return tuple(out)
