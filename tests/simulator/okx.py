"""OKX's public websocket (API v5), as the simulator speaks it.

``{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"},...]}`` is acknowledged arg by
arg (``{"event":"subscribe","arg":{...},"connId":"..."}``); a ``books`` subscription is then
answered with a snapshot of the book as the recording has it: ``prevSeqId`` -1, the book's last
``seqId`` (so the recorded updates that follow chain on it) and its checksum. An unknown channel
or instrument gets ``{"event":"error","code":"60018",...}``; the text ``ping`` gets ``pong``.
Recorded messages go to the clients subscribed to their channel and instrument; the recorded
acknowledgements (answers to the recorder's own requests) go to nobody.

Failures of OKX's own beyond the server's hooks: :meth:`OkxProtocol.lose_update` keeps one
recorded book update from every client (the next one's ``prevSeqId`` names an id the client never
saw), :meth:`OkxProtocol.spoil_checksum` sends one with a wrong checksum, and ``answer_pings =
False`` makes a server that no longer answers.

``GET /api/v5/market/history-candles?instId=&bar=1m&before=&after=&limit=`` of an instrument given
made-up 1-minute candles serves them as OKX does: newest first, those opening after ``before`` and
before ``after`` (both exclusive), ``limit`` of them (100 at most), the newest ones when more match.

The wire writers (:func:`book_message`, :func:`wire_checksum`) are the capture generator's too
(tests/fixtures/okx/make_capture.py).
"""

from __future__ import annotations

import json
import zlib
from decimal import Decimal
from urllib.parse import urlparse

from tests.simulator.candles import MINUTE, query_of
from tests.simulator.server import Protocol, recorded

BOOKS = "books"
CHANNELS = (BOOKS, "trades", "tickers")
REST_URL = "https://www.okx.com"
WS_URL = "wss://ws.okx.com:8443/ws/v5/public"
INSTRUMENTS = "/api/v5/public/instruments?instType=SPOT"
CANDLES_PATH = "/api/v5/market/history-candles"
MAX_CANDLES = 100
CONN_ID = "a4d3ae55"
CHECKSUM_LEVELS = 25

Level = list[str]  # [price, size, "0", orders] as written


def okx_protocol() -> OkxProtocol:
    """The simulator protocol with the OKX capture (made up: tests/fixtures/README.md)."""
    messages, rest = recorded("OKX.0", "OKX.ws.0.0", url_to_path=lambda url: urlparse(url).path)
    return OkxProtocol(messages, rest)


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def wire_checksum(bids: list[Level], asks: list[Level]) -> int:
    """OKX's checksum as its documentation words it, on the levels as written: the top 25 bids
    and asks interleaved ``bidPx:bidSz:askPx:askSz:...``, the longer side going on alone, the
    CRC32 of that text as a signed 32-bit integer."""
    parts: list[str] = []
    for index in range(CHECKSUM_LEVELS):
        for side in (bids, asks):
            if index < len(side):
                parts += side[index][:2]
    value = zlib.crc32(":".join(parts).encode())
    return value - 2**32 if value >= 2**31 else value


def book_message(action: str, inst_id: str, bids: list[Level], asks: list[Level], checksum: int, ts: int,
                 previous: int, sequence: int) -> str:  # fmt: skip
    data = {"asks": asks, "bids": bids, "ts": str(ts), "checksum": checksum, "prevSeqId": previous, "seqId": sequence}
    return compact({"arg": {"channel": BOOKS, "instId": inst_id}, "action": action, "data": [data]})


def ack(op: str, arg: dict) -> str:
    return compact({"event": op, "arg": arg, "connId": CONN_ID})


class _Book:
    """One instrument's book as the recording has it: levels by side (price -> level as written),
    and the last message's ``seqId`` and time."""

    def __init__(self, data: dict):
        self.sides = {side: {Decimal(level[0]): level for level in data[side]} for side in ("bids", "asks")}
        self.sequence, self.ts = data["seqId"], data["ts"]

    def update(self, data: dict) -> None:
        for side in ("bids", "asks"):
            levels = self.sides[side]
            for level in data[side]:
                if Decimal(level[1]):
                    levels[Decimal(level[0])] = level
                else:
                    levels.pop(Decimal(level[0]), None)
        self.sequence, self.ts = data["seqId"], data["ts"]

    def snapshot(self, inst_id: str) -> str:
        bids = [self.sides["bids"][price] for price in sorted(self.sides["bids"], reverse=True)]
        asks = [self.sides["asks"][price] for price in sorted(self.sides["asks"])]
        return book_message("snapshot", inst_id, bids, asks, wire_checksum(bids, asks), self.ts, -1, self.sequence)


class OkxProtocol(Protocol):
    def __init__(self, recording: list[str], rest: dict[str, str]):
        super().__init__(recording, rest)
        self.parsed = {message: json.loads(message) for message in recording}
        self.books: dict[str, _Book] = {}
        self.instruments = {msg["arg"]["instId"] for msg in self.parsed.values() if "arg" in msg}
        self.lost: set[tuple[str, int]] = set()
        self.spoil: set[tuple[str, int]] = set()
        self.spoiled: list[str] = []
        self.answer_pings = True

    def lose_update(self, inst_id: str, sequence: int) -> None:
        """Keep the recorded book update of ``inst_id`` with ``seqId`` ``sequence`` from every
        client (the model still applies it, as the exchange did)."""
        self.lost.add((inst_id, sequence))

    def spoil_checksum(self, inst_id: str, sequence: int) -> None:
        """Send the recorded book update of ``inst_id`` with ``seqId`` ``sequence`` with a wrong
        checksum (what it is sent as is kept in :attr:`spoiled`)."""
        self.spoil.add((inst_id, sequence))

    def session(self) -> dict[str, set[str]]:
        return {channel: set() for channel in CHANNELS}

    def answer(self, message: str, session: dict[str, set[str]]) -> list[str]:  # type: ignore[override]
        if message == "ping":
            return ["pong"] if self.answer_pings else []
        request = json.loads(message)
        op = request.get("op")
        if op not in ("subscribe", "unsubscribe"):
            return [
                compact({"event": "error", "code": "60012", "msg": f"Invalid request: {message}", "connId": CONN_ID})
            ]
        replies = []
        for arg in request["args"]:
            channel, inst_id = arg.get("channel"), arg.get("instId")
            if channel not in session or inst_id not in self.instruments:
                msg = (
                    f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. "
                    "Please use the correct URL, channel and parameters referring to API document."
                )
                replies.append(compact({"event": "error", "code": "60018", "msg": msg, "connId": CONN_ID}))
                continue
            replies.append(ack(op, arg))
            if op == "unsubscribe":
                session[channel].discard(inst_id)
                continue
            session[channel].add(inst_id)
            if channel == BOOKS and inst_id in self.books:
                replies.append(self.books[inst_id].snapshot(inst_id))
        return replies

    def advance(self, message: str) -> None:
        msg = self.parsed[message]
        if msg.get("arg", {}).get("channel") != BOOKS or "data" not in msg:
            return
        inst_id = msg["arg"]["instId"]
        for data in msg["data"]:
            if msg["action"] == "snapshot":
                self.books[inst_id] = _Book(data)
            else:
                self.books[inst_id].update(data)

    def deliver(self, message: str, session: dict[str, set[str]]) -> str | None:  # type: ignore[override]
        msg = self.parsed[message]
        if "data" not in msg:
            return None  # the recorder's own acknowledgements
        channel, inst_id = msg["arg"]["channel"], msg["arg"]["instId"]
        if inst_id not in session.get(channel, ()):
            return None
        if channel == BOOKS and msg["action"] == "update":
            key = (inst_id, msg["data"][0]["seqId"])
            if key in self.lost:
                return None
            if key in self.spoil:
                data = {**msg["data"][0], "checksum": msg["data"][0]["checksum"] ^ 0x5A5A}
                spoiled = compact({**msg, "data": [data]})
                self.spoiled.append(spoiled)
                return spoiled
        return message

    # -- REST candles -----------------------------------------------------------------------------

    def rest_answer(self, path: str) -> tuple[int, str] | None:
        where, query = query_of(path)
        inst_id = query.get("instId", "")
        if where != CANDLES_PATH or inst_id not in self.candles or query.get("bar") != "1m":
            return super().rest_answer(path)
        candles = self.candles[inst_id]
        limit = min(int(query.get("limit", MAX_CANDLES)), MAX_CANDLES)
        first = int(query["before"]) // 1000 + 1 if "before" in query else candles.start
        last = (int(query["after"]) - 1) // 1000 if "after" in query else candles.end
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
                str(m.quote_volume),
                "1",
            ]  # fmt: skip
            for m in reversed(minutes)
        ]
        return 200, compact({"code": "0", "msg": "", "data": rows})
