"""Binance spot's combined streams and REST market data, as the simulator speaks them.

A connection to ``/stream`` subscribes with ``{"method": "SUBSCRIBE", "params": [streams], "id": n}``
and gets ``{"result": null, "id": n}`` (or ``{"error": {"code": 2, "msg": ...}, "id": n}``); then
each recorded message of a subscribed stream, wrapped as recorded (``{"stream": ..., "data": ...}``).

The protocol keeps the books as the recording has them, starting from the recorded depth
snapshots and moved on by every recorded diff, so ``GET /api/v3/depth`` answers with a fresh
snapshot of the book at the stream's current position and its ``lastUpdateId``, cut to ``limit``
levels a side, like the exchange. ``GET /api/v3/aggTrades`` answers with the aggregate trades the
recording has played so far (the stream's fields, as the REST API documents them). ``GET
/api/v3/klines`` answers from the kline stream's latest word on each candle, or, for a symbol given
made-up 1-minute candles (:attr:`~tests.simulator.server.Protocol.candles`), from them: the klines
opening from ``startTime`` to ``endTime`` (milliseconds, both included), oldest first, ``limit`` of
them (500 by default, at most 1000), the last ones before ``endTime`` when no ``startTime`` is
given, none for a minute without trades. :meth:`BinanceProtocol.lose` makes a gap in U/u: one diff
is not delivered (the book moves on without the client). Binance sends no application heartbeat
(its keep-alive is a ping frame): once the recording is over, the last book ticker of each
subscribed symbol is repeated, as a market that goes on ticking.
"""

from __future__ import annotations

import functools
import json
import math
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from tests.simulator.candles import MINUTE
from tests.simulator.server import Protocol, recorded

STREAM = re.compile(
    r"[a-z0-9]+@(depth(@100ms|@1000ms)?|aggTrade|trade|bookTicker|kline_(1s|1m|3m|5m|15m|30m|"
    r"1h|2h|4h|6h|8h|12h|1d|3d|1w|1M))"
)
METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS")
MAX_KLINES = 1000


def binance_protocol() -> BinanceProtocol:
    """The simulator protocol with the Binance captures: exchangeInfo and the four depth
    snapshots over REST, the combined stream of NKNUSDT, BLZETH, LRCBTC and RUNEEUR."""
    messages, rest = _capture()
    return BinanceProtocol(messages, rest)


@functools.cache
def _capture() -> tuple[list[str], dict[str, str]]:
    return recorded("BINANCE.0", "BINANCE.http.0.0", "BINANCE.ws.1.0", url_to_path=_path)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


@functools.cache
def _parsed(message: str) -> dict:
    return json.loads(message)


class _Book:
    """One symbol's book: side -> Decimal price -> [price text, quantity text], and its update id."""

    def __init__(self, snapshot: dict):
        self.update_id: int = snapshot["lastUpdateId"]
        self.sides = {
            side: {Decimal(price): [price, size] for price, size in snapshot[side]} for side in ("bids", "asks")
        }

    def apply(self, diff: dict) -> None:
        if diff["u"] <= self.update_id:  # already in the snapshot the model started from
            return
        for side, key in (("bids", "b"), ("asks", "a")):
            levels = self.sides[side]
            for price, size in diff[key]:
                if Decimal(size):
                    levels[Decimal(price)] = [price, size]
                else:
                    levels.pop(Decimal(price), None)
        self.update_id = diff["u"]

    def snapshot(self, limit: int) -> str:
        bids, asks = self.sides["bids"], self.sides["asks"]
        return json.dumps(
            {
                "lastUpdateId": self.update_id,
                "bids": [bids[p] for p in sorted(bids, reverse=True)[:limit]],
                "asks": [asks[p] for p in sorted(asks)[:limit]],
            },
            separators=(",", ":"),
        )


class BinanceProtocol(Protocol):
    def __init__(self, recording: list[str], rest: dict[str, str]):
        super().__init__(recording, rest)
        self.books: dict[str, _Book] = {}
        for path, body in rest.items():
            if path.startswith("/api/v3/depth?"):
                self.books[parse_qs(urlsplit(path).query)["symbol"][0]] = _Book(json.loads(body))
        self.klines: dict[tuple[str, str], dict[int, dict]] = {}  # (symbol, interval) -> open time -> k
        self.tickers: dict[str, str] = {}  # symbol -> its last bookTicker message
        self.agg_trades: dict[str, list[dict]] = {}  # symbol -> the aggregate trades played so far
        self.served: list[tuple[str, int]] = []  # (symbol, lastUpdateId) of every depth snapshot served
        self._losing: set[str] = set()
        self.lost: set[tuple[str, int]] = set()  # (symbol, u) of diffs not delivered

    def lose(self, symbol: str) -> None:
        """Do not deliver ``symbol``'s next diff: its clients see U jump past their last u."""
        self._losing.add(symbol)

    # -- the websocket ----------------------------------------------------------------------------

    def session(self) -> set[str]:
        return set()

    def answer(self, message: str, session: set[str]) -> list[str]:
        try:
            request = json.loads(message)
        except ValueError as error:
            return [_error(3, f"Invalid JSON: {error}", None)]
        ident = request.get("id")
        if not isinstance(ident, int) or ident < 0:
            return [_error(2, "Invalid request: request ID must be an unsigned integer", None)]
        method = request.get("method")
        if method not in METHODS:
            return [
                _error(
                    2,
                    f"Invalid request: unknown variant `{method}`, expected one of "
                    + ", ".join(f"`{m}`" for m in METHODS),
                    ident,
                )
            ]
        if method == "LIST_SUBSCRIPTIONS":
            return [json.dumps({"result": sorted(session), "id": ident})]
        streams = request.get("params", [])
        if not all(isinstance(s, str) and STREAM.fullmatch(s) for s in streams):
            return [_error(2, "Invalid request: invalid stream", ident)]
        if method == "SUBSCRIBE":
            session.update(streams)
        else:
            session.difference_update(streams)
        return [json.dumps({"result": None, "id": ident})]

    def advance(self, message: str) -> None:
        msg = _parsed(message)
        data = msg["data"]
        kind = data.get("e")
        if kind == "depthUpdate":
            book = self.books.get(data["s"])
            if book is not None:
                book.apply(data)
            if data["s"] in self._losing:
                self._losing.discard(data["s"])
                self.lost.add((data["s"], data["u"]))
        elif kind == "aggTrade":  # GET /api/v3/aggTrades' fields are the stream's, without e, E and s
            trade = {key: value for key, value in data.items() if key not in ("e", "E", "s")}
            self.agg_trades.setdefault(data["s"], []).append(trade)
        elif kind == "kline":
            self.klines.setdefault((data["s"], data["k"]["i"]), {})[data["k"]["t"]] = data["k"]
        elif kind is None:
            self.tickers[data["s"]] = message

    def deliver(self, message: str, session: set[str]) -> str | None:
        msg = _parsed(message)
        if msg["stream"] not in session:
            return None
        data = msg["data"]
        if data.get("e") == "depthUpdate" and (data["s"], data["u"]) in self.lost:
            return None
        return message

    def heartbeats(self, session: set[str]) -> list[str]:
        return [
            message for symbol, message in sorted(self.tickers.items()) if f"{symbol.lower()}@bookTicker" in session
        ]

    # -- REST -------------------------------------------------------------------------------------

    def rest_body(self, path: str) -> str | None:
        parts = urlsplit(path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        if parts.path == "/api/v3/depth":
            book = self.books.get(query.get("symbol", ""))
            if book is None:
                return None
            self.served.append((query["symbol"], book.update_id))
            return book.snapshot(min(int(query.get("limit", 100)), 5000))
        if parts.path == "/api/v3/klines":
            return self.klines_body(query)
        if parts.path == "/api/v3/aggTrades":  # the latest `limit` (500 by default), oldest first
            trades = self.agg_trades.get(query.get("symbol", ""), [])
            return json.dumps(trades[-min(int(query.get("limit", 500)), 1000) :], separators=(",", ":"))
        return super().rest_body(path)

    def klines_body(self, query: dict[str, str]) -> str:
        """The candles of ``symbol`` and ``interval`` opening from ``startTime`` to ``endTime``, as
        ``GET /api/v3/klines`` rows (at most ``limit``, default 500)."""
        if query["symbol"] in self.candles and query["interval"] == "1m":
            return self.made_up_klines(query)
        candles = self.klines.get((query["symbol"], query["interval"]), {})
        start, end = int(query.get("startTime", 0)), int(query.get("endTime", 2**63))
        rows = [
            [k["t"], k["o"], k["h"], k["l"], k["c"], k["v"], k["T"], k["q"], k["n"], k["V"], k["Q"], "0"]
            for opened, k in sorted(candles.items())
            if start <= opened <= end
        ]
        return json.dumps(rows[: int(query.get("limit", 500))], separators=(",", ":"))

    def made_up_klines(self, query: dict[str, str]) -> str:
        candles = self.candles[query["symbol"]]
        limit = min(int(query.get("limit", 500)), MAX_KLINES)
        end = int(query["endTime"]) // 1000 if "endTime" in query else candles.end
        if "startTime" in query:
            chosen = candles.between(math.ceil(int(query["startTime"]) / 1000 / MINUTE) * MINUTE, end)[:limit]
        else:
            chosen = candles.between(candles.start, end)[-limit:]
        rows = [
            [
                m.start * 1000,
                f"{m.open:.8f}",
                f"{m.high:.8f}",
                f"{m.low:.8f}",
                f"{m.close:.8f}",
                f"{m.volume:.8f}",
                (m.start + MINUTE) * 1000 - 1,
                f"{m.quote_volume:.8f}",
                m.trades,
                f"{m.volume / 2:.8f}",
                f"{m.quote_volume / 2:.8f}",
                "0",
            ]
            for m in chosen
        ]
        return json.dumps(rows, separators=(",", ":"))


def _error(code: int, message: str, ident: int | None) -> str:
    return json.dumps({"error": {"code": code, "msg": message}, "id": ident})
