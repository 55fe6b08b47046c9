"""Luno's market stream, as the simulator speaks it.

A connection to ``/api/1/stream/<market_id>`` streams that one market. Its first message must be
the API key (``{"api_key_id":...,"api_key_secret":...}``); a right one is answered with the
market's state as the recording has it (every order, at the last recorded ``sequence``), then the
recorded updates of that market follow; a wrong one gets nothing. ``""`` is the keep-alive Luno
sends when there is nothing else. A client connected before the recording's state gets that
state. Each recorded message belongs to the connection (the capture file) it was recorded on: a
market is known by its file.

Failures of Luno's own beyond the server's hooks: :meth:`LunoProtocol.lose_update` keeps one
recorded update from every client (the next one's ``sequence`` is then one too far).

``GET /api/exchange/1/candles?pair=&since=&duration=60`` of a market given made-up 1-minute
candles serves them as Luno does: from ``since`` on, oldest first, 1000 at most (the key the
request carries is not checked here: the adapter's tests check that it is sent).

The wire writers (:func:`state_message`, :func:`update_message`) are the capture generator's too
(tests/fixtures/luno/make_capture.py).
"""

from __future__ import annotations

import heapq
import json
from decimal import Decimal

from exchange_wrapper.replay.capture import RestResponse, WsOpened, WsReceived, read_capture
from tests.simulator.candles import MINUTE, query_of
from tests.simulator.server import CAPTURES, Protocol

REST_URL = "https://api.luno.com"
WS_URL = "wss://ws.luno.com"
STREAM_PATH = "/api/1/stream/"
MARKETS_PATH = "/api/exchange/1/markets"
CANDLES_PATH = "/api/exchange/1/candles"
MAX_CANDLES = 1000
KEEP_ALIVE = '""'
#: The key the simulated exchange knows (made up, in the form of the documented example key).
API_KEY, API_SECRET = "cnz2yjswbv3jd", "0hydMZDb9HRR3Qq-iqALwZtXLkbLR4fWxtDZvkB9h4I"
CAPTURE_FILES = ("LUNO.0", "LUNO.ws.0.0", "LUNO.ws.1.0")

Order = dict[str, str]  # {"id", "price", "volume"} as written


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def state_message(sequence: int, bids: list[Order], asks: list[Order], status: str, timestamp: int) -> str:
    """The state a stream starts with: every order of each side, best first."""
    return compact({"sequence": str(sequence), "asks": asks, "bids": bids, "status": status, "timestamp": timestamp})


def update_message(
    sequence: int,
    timestamp: int,
    *,
    trades: list[dict] | None = None,
    create: dict | None = None,
    delete: dict | None = None,
    status: dict | None = None,
) -> str:
    """One update: its sequence, at most one create and one delete, the trades of a taker order."""
    return compact(
        {
            "sequence": str(sequence),
            "trade_updates": trades,
            "create_update": create,
            "delete_update": delete,
            "status_update": status,
            "timestamp": timestamp,
        }
    )


def luno_protocol() -> LunoProtocol:
    """The simulator protocol with the Luno capture (made up: tests/fixtures/README.md)."""
    streams, rest = [], {}
    for name in CAPTURE_FILES:
        market, messages = "", []
        for record in read_capture(CAPTURES / name):
            if isinstance(record, RestResponse):
                rest[record.url.removeprefix(REST_URL)] = record.body
            elif isinstance(record, WsOpened):
                market = record.url.rpartition("/")[2]
            elif isinstance(record, WsReceived) and record.message:
                messages.append((record.ts, market, record.message))
        streams.append(messages)
    return LunoProtocol(list(heapq.merge(*streams)), rest)


class _Book:
    """One market's orders as the recording has them, and its last sequence and time."""

    def __init__(self, msg: dict):
        self.sequence, self.timestamp, self.status = int(msg["sequence"]), msg["timestamp"], msg["status"]
        self.orders = {side: {o["id"]: o for o in msg[side]} for side in ("bids", "asks")}

    def update(self, msg: dict) -> None:
        self.sequence, self.timestamp = int(msg["sequence"]), msg["timestamp"]
        for trade in msg["trade_updates"] or ():
            for orders in self.orders.values():
                order = orders.get(trade["maker_order_id"])
                if order is not None:
                    left = Decimal(order["volume"]) - Decimal(trade["base"])
                    if left:
                        orders[order["id"]] = {**order, "volume": f"{left:f}"}
                    else:
                        del orders[order["id"]]
        if msg["create_update"]:
            create = msg["create_update"]
            side = "bids" if create["type"] == "BID" else "asks"
            self.orders[side][create["order_id"]] = {
                "id": create["order_id"],
                "price": create["price"],
                "volume": create["volume"],
            }
        if msg["delete_update"]:
            for orders in self.orders.values():
                orders.pop(msg["delete_update"]["order_id"], None)
        if msg["status_update"]:
            self.status = msg["status_update"]["status"]

    def state(self) -> str:
        bids = sorted(self.orders["bids"].values(), key=lambda o: -Decimal(o["price"]))
        asks = sorted(self.orders["asks"].values(), key=lambda o: Decimal(o["price"]))
        return state_message(self.sequence, bids, asks, self.status, self.timestamp)


class LunoProtocol(Protocol):
    def __init__(self, recorded: list[tuple[float, str, str]], rest: dict[str, str]):
        super().__init__([message for _, _, message in recorded], rest)
        self.market_of = {message: market for _, market, message in recorded}
        self.parsed = {message: json.loads(message) for message in self.recording}
        self.books: dict[str, _Book] = {}
        self.lost: set[tuple[str, int]] = set()

    def lose_update(self, market: str, sequence: int) -> None:
        """Keep the recorded update of ``market`` with ``sequence`` from every client (the model
        still applies it, as the exchange did)."""
        self.lost.add((market, sequence))

    def session_for(self, path: str) -> dict:
        return {"market": path.removeprefix(STREAM_PATH), "authenticated": False, "stated": False}

    def answer(self, message: str, session: dict) -> list[str]:  # type: ignore[override]
        if session["authenticated"]:
            return []  # the stream takes nothing after the key
        try:
            key = json.loads(message)
        except ValueError:
            return []
        if key != {"api_key_id": API_KEY, "api_key_secret": API_SECRET}:
            return []
        session["authenticated"] = True
        book = self.books.get(session["market"])
        if book is None:
            return []  # the recording's state comes first
        session["stated"] = True
        return [book.state()]

    def advance(self, message: str) -> None:
        msg, market = self.parsed[message], self.market_of[message]
        if "asks" in msg:
            self.books[market] = _Book(msg)
        elif isinstance(msg, dict):
            self.books[market].update(msg)

    def deliver(self, message: str, session: dict) -> str | None:  # type: ignore[override]
        market = self.market_of[message]
        if not session["authenticated"] or session["market"] != market:
            return None
        msg = self.parsed[message]
        if not isinstance(msg, dict):
            return None  # the recorder's keep-alives: the server sends its own
        if "asks" in msg:  # the recorded state, to a client that connected before it
            if session["stated"]:
                return None
            session["stated"] = True
            return message
        if not session["stated"] or (market, int(msg["sequence"])) in self.lost:
            return None
        return message

    def heartbeats(self, session: object) -> list[str]:
        return [KEEP_ALIVE]

    # -- REST candles -----------------------------------------------------------------------------

    def rest_answer(self, path: str) -> tuple[int, str] | None:
        where, query = query_of(path)
        if where != CANDLES_PATH:
            return super().rest_answer(path)
        pair = query.get("pair", "")
        if pair not in self.candles or query.get("duration") != "60":
            return 400, compact({"error": "invalid pair or duration", "error_code": "ErrInvalidArguments"})
        since = -(-int(query["since"]) // 1000 // MINUTE) * MINUTE
        candles = self.candles[pair]
        minutes = candles.between(since, candles.end)[:MAX_CANDLES]
        rows = [
            {
                "timestamp": m.start * 1000,
                "open": str(m.open),
                "close": str(m.close),
                "high": str(m.high),
                "low": str(m.low),
                "volume": str(m.volume),
            }
            for m in minutes
        ]
        return 200, compact({"candles": rows, "duration": 60, "pair": pair})
