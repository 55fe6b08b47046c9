"""Bybit's public spot websocket (API v5), as the simulator speaks it.

``{"op":"subscribe","args":["orderbook.200.BTCUSDT",...]}`` is acknowledged once
(``{"success":true,"ret_msg":"subscribe","conn_id":...,"req_id":"","op":"subscribe"}``), ten topics
at most; an ``orderbook`` subscription is then answered with a snapshot of the book as the
recording has it, at the book's last ``u`` (so the recorded deltas that follow go on from it). A
request naming an unknown topic or symbol, or more than ten topics, is refused with
``"success":false`` and Bybit's message; ``{"op":"ping"}`` gets the spot pong. Recorded messages go
to the clients subscribed to their topic; the recorded acknowledgements go to nobody.

Failures of Bybit's own beyond the server's hooks: :meth:`BybitProtocol.lose_update` keeps one
recorded delta from every client (the next one's ``u`` jumps by two), and ``answer_pings = False``
makes a server that no longer answers.

``GET /v5/market/kline?category=spot&symbol=&interval=1&start=&end=&limit=`` of a symbol given
made-up 1-minute candles serves them as Bybit does: newest first, those opening from ``start`` to
``end`` (both included), ``limit`` of them (1000 at most), the newest ones when more match.

The wire writers (:func:`book_message`, :func:`ack`, :func:`compact`) are the capture generator's
too (tests/fixtures/bybit/make_capture.py).
"""

from __future__ import annotations

import json
from decimal import Decimal

from tests.simulator.candles import MINUTE, query_of
from tests.simulator.server import Protocol, recorded

BOOK = "orderbook.200"
TOPICS = (BOOK, "publicTrade", "tickers")
REST_URL = "https://api.bybit.com"
WS_URL = "wss://stream.bybit.com/v5/public/spot"
INSTRUMENTS = "/v5/market/instruments-info?category=spot"
CANDLES_PATH = "/v5/market/kline"
MAX_CANDLES = 1000
MAX_ARGS = 10
CONN_ID = "d3b2c0a1-5e8f-4c1b-9a47-2f6e8d0b7c35"

Level = list[str]  # [price, size] as written


def bybit_protocol() -> BybitProtocol:
    """The simulator protocol with the Bybit capture (made up: tests/fixtures/README.md)."""
    messages, rest = recorded("BYBIT.0", "BYBIT.ws.0.0", url_to_path=_path_of)
    return BybitProtocol(messages, rest)


def _path_of(url: str) -> str:
    """The path a recorded REST url is served at: the instruments with their query."""
    path = url.partition("bybit.com")[2]
    return path if path == INSTRUMENTS else path.partition("?")[0]


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def book_message(kind: str, symbol: str, bids: list[Level], asks: list[Level], update: int, seq: int, ts: int) -> str:
    data = {"s": symbol, "b": bids, "a": asks, "u": update, "seq": seq}
    return compact({"topic": f"{BOOK}.{symbol}", "type": kind, "ts": ts, "data": data, "cts": ts - 2})


def ack(op: str, success: bool = True, message: str = "") -> str:
    return compact({"success": success, "ret_msg": message or op, "conn_id": CONN_ID, "req_id": "", "op": op})


PONG = compact({"success": True, "ret_msg": "pong", "conn_id": CONN_ID, "op": "ping"})


class _Book:
    """One symbol's book as the recording has it: levels by side (price -> level as written),
    and the last message's ``u``, ``seq`` and time."""

    def __init__(self, msg: dict):
        data = msg["data"]
        self.sides = {side: {Decimal(level[0]): level for level in data[side]} for side in ("b", "a")}
        self.update, self.seq, self.ts = data["u"], data["seq"], msg["ts"]

    def apply(self, msg: dict) -> None:
        data = msg["data"]
        for side in ("b", "a"):
            levels = self.sides[side]
            for level in data[side]:
                if Decimal(level[1]):
                    levels[Decimal(level[0])] = level
                else:
                    levels.pop(Decimal(level[0]), None)
        self.update, self.seq, self.ts = data["u"], data["seq"], msg["ts"]

    def snapshot(self, symbol: str) -> str:
        bids = [self.sides["b"][price] for price in sorted(self.sides["b"], reverse=True)]
        asks = [self.sides["a"][price] for price in sorted(self.sides["a"])]
        return book_message("snapshot", symbol, bids, asks, self.update, self.seq, self.ts)


class BybitProtocol(Protocol):
    def __init__(self, recording: list[str], rest: dict[str, str]):
        super().__init__(recording, rest)
        self.parsed = {message: json.loads(message) for message in recording}
        self.books: dict[str, _Book] = {}
        self.topics = {msg["topic"] for msg in self.parsed.values() if "topic" in msg}
        self.lost: set[tuple[str, int]] = set()
        self.answer_pings = True

    def lose_update(self, symbol: str, update: int) -> None:
        """Keep the recorded delta of ``symbol`` with ``u`` ``update`` from every client (the
        model still applies it, as the exchange did)."""
        self.lost.add((symbol, update))

    def session(self) -> set[str]:
        return set()

    def answer(self, message: str, session: set[str]) -> list[str]:  # type: ignore[override]
        request = json.loads(message)
        op, args = request.get("op"), request.get("args", [])
        if op == "ping":
            return [PONG] if self.answer_pings else []
        if op not in ("subscribe", "unsubscribe"):
            return [ack(str(op), False, f"error:handler not found,op:{op}")]
        if len(args) > MAX_ARGS:
            return [ack(op, False, f"args size >{MAX_ARGS}")]
        unknown = [topic for topic in args if topic not in self.topics]
        if unknown:
            return [ack(op, False, f"error:handler not found,topic:{unknown[0]}")]
        replies = [ack(op)]
        for topic in args:
            if op == "unsubscribe":
                session.discard(topic)
                continue
            session.add(topic)
            symbol = topic.rpartition(".")[2]
            if topic.startswith(BOOK) and symbol in self.books:
                replies.append(self.books[symbol].snapshot(symbol))
        return replies

    def advance(self, message: str) -> None:
        msg = self.parsed[message]
        if not msg.get("topic", "").startswith(BOOK):
            return
        symbol = msg["data"]["s"]
        if msg["type"] == "snapshot":
            self.books[symbol] = _Book(msg)
        else:
            self.books[symbol].apply(msg)

    def deliver(self, message: str, session: set[str]) -> str | None:  # type: ignore[override]
        msg = self.parsed[message]
        topic = msg.get("topic")
        if topic not in session:
            return None  # the recorder's own acknowledgements, or a topic not subscribed
        if topic.startswith(BOOK) and (msg["data"]["s"], msg["data"]["u"]) in self.lost:
            return None
        return message

    # -- REST klines ------------------------------------------------------------------------------

    def rest_answer(self, path: str) -> tuple[int, str] | None:
        where, query = query_of(path)
        symbol = query.get("symbol", "")
        if where != CANDLES_PATH or symbol not in self.candles or query.get("interval") != "1":
            return super().rest_answer(path)
        candles = self.candles[symbol]
        limit = min(int(query.get("limit", 200)), MAX_CANDLES)
        first = -(-int(query["start"]) // 1000) if "start" in query else candles.start
        last = int(query["end"]) // 1000 if "end" in query else candles.end
        minutes = candles.between(-(-first // MINUTE) * MINUTE, last)[-limit:]
        rows = [
            [
                str(m.start * 1000),
                str(m.open),
                str(m.high),
                str(m.low),
                str(m.close),
                str(m.volume),
                str(m.quote_volume),
            ]  # fmt: skip
            for m in reversed(minutes)
        ]
        result = {"symbol": symbol, "category": "spot", "list": rows}
        return 200, compact(
            {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": 1_795_262_400_000}
        )
