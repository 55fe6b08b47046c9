"""Bitfinex's public websocket (API v2), as the simulator speaks it.

A connection opens with the recorded ``info`` event (sent with the answer to the client's first
message); ``conf`` is acknowledged and its flags kept for the connection; ``subscribe`` gets
``subscribed`` with a channel id (the recorded one the first time, a new one after) and, when the
recording has reached it, the snapshot: the book as the model holds it, the last recorded
snapshot of past trades, the last ticker. ``unsubscribe`` gets ``unsubscribed``; a second
subscription to one channel gets Bitfinex's ``subscribe: dup`` error.

Recorded channel messages go to the connections subscribed to that channel under their own
channel id, numbers written as recorded, and with SEQ_ALL the connection's own sequence number
at the end. With OB_CHECKSUM each book update is followed by ``[chanId, "cs", CHECKSUM, seq]``,
computed from the model's own text of the top 25 levels as the docs describe it (not with the
code under test). :meth:`BitfinexProtocol.lose_message` and :meth:`corrupt_checksum` make the two
failures Bitfinex's integrity rules catch.

``GET /v2/candles/trade:1m:{symbol}/hist?start=&end=&limit=&sort=`` serves the made-up candles of
:attr:`~tests.simulator.server.Protocol.candles` as Bitfinex documents the endpoint: rows ``[MTS,
OPEN, CLOSE, HIGH, LOW, VOLUME]`` (JSON numbers) whose MTS is from ``start`` to ``end``
(milliseconds, both included), ``sort=1`` oldest first and otherwise newest first, ``limit`` of
them (100 by default, at most 10000), none for a minute without trades; a larger limit is
refused as Bitfinex refuses a request, HTTP 500 and ``["error", 10020, "limit: invalid"]``.
"""

from __future__ import annotations

import functools
import json
import math
import re
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlparse

from tests.simulator.candles import MINUTE, query_of
from tests.simulator.server import Protocol, recorded

SEQ_ALL, OB_CHECKSUM = 65536, 131072
CHANNELS = ("book", "trades", "ticker")
CANDLES_PATH = re.compile(r"/v2/candles/trade:([0-9]+[mhDWM]):(t[A-Z0-9:]+)/hist")
MAX_CANDLES = 10_000
CHECKSUM_DEPTH = 25


def bitfinex_protocol() -> BitfinexProtocol:
    """The simulator protocol with the Bitfinex capture (conf lists over REST, the ws v2 stream);
    its recording is a copy, which a test may extend with made-up messages."""
    messages, rest = _capture()
    return BitfinexProtocol(list(messages), dict(rest))


@functools.cache
def _capture() -> tuple[list[str], dict[str, str]]:
    return recorded("BITFINEX.0", "BITFINEX.ws.11.0", url_to_path=lambda url: urlparse(url).path)


@dataclass
class Session:
    """One connection: its flags, its sequence number, its channels."""

    flags: int = 0
    sequence: int = 0
    channels: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, symbol) -> chanId
    greeted: bool = False


class BitfinexProtocol(Protocol):
    def __init__(self, recording: list[str], rest: dict[str, str]):
        super().__init__(recording, rest)
        self.info = next(m for m in recording if m.startswith('{"event":"info"'))
        self.recorded_channels: dict[int, tuple[str, str]] = {}  # recorded chanId -> (channel, symbol)
        for message in recording:
            if message.startswith('{"event":"subscribed"'):
                event = json.loads(message)
                self.recorded_channels[event["chanId"]] = (event["channel"], event["symbol"])
        self.known = set(self.recorded_channels.values())
        self._unused_ids = {key: chan_id for chan_id, key in self.recorded_channels.items()}
        self._next_id = max(self.recorded_channels) + 1
        # symbol -> side -> Decimal price -> (price, count, amount) as the recording writes them
        self.books: dict[str, dict[str, dict[Decimal, tuple[str, str, str]]]] = {}
        self.trades: dict[str, str] = {}  # symbol -> the last recorded snapshot of past trades
        self.tickers: dict[str, str] = {}  # symbol -> the last recorded ticker
        self.position = 0  # recorded messages the recording has moved on by
        self._lose_at: int | None = None
        self._corrupt_at: int | None = None

    # -- failures -----------------------------------------------------------------------------

    def lose_message(self, after: int) -> None:
        """Skip a sequence number on the first message a client gets once the recording has
        moved on by ``after`` messages, as if one had been lost."""
        self._lose_at = after

    def corrupt_checksum(self, after: int) -> None:
        """Send a wrong checksum (one bit flipped) with the first book update a client gets once
        the recording has moved on by ``after`` messages."""
        self._corrupt_at = after

    # -- the protocol -------------------------------------------------------------------------

    def session(self) -> Session:
        return Session()

    def answer(self, message: str, session: Session) -> list[str]:  # type: ignore[override]
        replies = [] if session.greeted else [self.info]
        session.greeted = True
        request = json.loads(message)
        event = request.get("event")
        if event == "conf":
            session.flags = request["flags"]
            replies.append(_dumps({"event": "conf", "status": "OK", "flags": session.flags}))
        elif event == "subscribe":
            replies += self._subscribe(request, session)
        elif event == "unsubscribe":
            key = next((k for k, chan_id in session.channels.items() if chan_id == request.get("chanId")), None)
            if key is None:
                replies.append(_dumps({"event": "error", "msg": "unsubscribe: invalid", "code": 10400}))
            else:
                del session.channels[key]
                replies.append(_dumps({"event": "unsubscribed", "status": "OK", "chanId": request["chanId"]}))
        else:
            replies.append(_dumps({"event": "error", "msg": "unknown event", "code": 10000}))
        return replies

    def _subscribe(self, request: dict, session: Session) -> list[str]:
        channel, symbol = request.get("channel"), request.get("symbol")
        echo = {k: v for k, v in request.items() if k != "event"}
        if channel not in CHANNELS:
            return [_dumps({"event": "error", "msg": "subscribe: invalid channel", "code": 10302, **echo})]
        if (channel, symbol) not in self.known:
            return [_dumps({"event": "error", "msg": "symbol: invalid", "code": 10300, **echo})]
        if (channel, symbol) in session.channels:
            return [_dumps({"event": "error", "msg": "subscribe: dup", "code": 10301, **echo, "pair": symbol[1:]})]
        chan_id = self._unused_ids.pop((channel, symbol), None)
        if chan_id is None:
            chan_id, self._next_id = self._next_id, self._next_id + 1
        session.channels[(channel, symbol)] = chan_id
        replies = [_dumps({"event": "subscribed", **echo, "chanId": chan_id, "pair": symbol[1:]})]
        snapshot = {"book": self._book_snapshot, "trades": self.trades.get, "ticker": self.tickers.get}[channel](symbol)
        if snapshot is not None:
            replies.append(self._frame(session, chan_id, snapshot))
        return replies

    def advance(self, message: str) -> None:
        self.position += 1
        if message.startswith("{"):
            return
        channel, symbol = self.recorded_channels.get(int(message[1 : message.index(",")]), (None, None))
        body = _body(message)
        if channel is None or not body.startswith("["):  # "hb", "te", "tu"
            return
        if channel == "trades":  # a snapshot of past trades
            self.trades[symbol] = body
        elif channel == "ticker":
            self.tickers[symbol] = body
        elif body.startswith("[["):
            self.books[symbol] = {"bids": {}, "asks": {}}
            for row in json.loads(body, parse_float=str, parse_int=str):
                self._set_level(symbol, row)
        else:
            self._set_level(symbol, json.loads(body, parse_float=str, parse_int=str))

    def _set_level(self, symbol: str, row: list[str]) -> None:
        price, count, amount = row
        levels = self.books[symbol]["asks" if amount.startswith("-") else "bids"]
        if count == "0":
            levels.pop(Decimal(price), None)
        else:
            levels[Decimal(price)] = (price, count, amount)

    def deliver(self, message: str, session: Session) -> list[str] | None:  # type: ignore[override]
        if message.startswith("{"):  # recorded events: the simulator answers with its own
            return None
        key = self.recorded_channels.get(int(message[1 : message.index(",")]))
        chan_id = session.channels.get(key) if key is not None else None
        if chan_id is None:
            return None
        if self._lose_at is not None and self.position >= self._lose_at:
            self._lose_at = None
            session.sequence += 1
        body = _body(message)
        out = [self._frame(session, chan_id, body)]
        if key[0] == "book" and session.flags & OB_CHECKSUM and body.startswith("[") and not body.startswith("[["):
            checksum = self.checksum(key[1])
            if self._corrupt_at is not None and self.position >= self._corrupt_at:
                self._corrupt_at = None
                checksum ^= 1
            out.append(self._frame(session, chan_id, f'"cs",{checksum}'))
        return out

    def heartbeats(self, session: Session) -> list[str]:  # type: ignore[override]
        return [self._frame(session, chan_id, '"hb"') for chan_id in session.channels.values()]

    # -- the model ----------------------------------------------------------------------------

    def checksum(self, symbol: str) -> int:
        """Bitfinex's checksum of the model's book: the 25 best bids and asks interleaved as
        price:amount, numbers as the recording writes them (ask amounts negative), signed CRC32."""
        bids, asks = self._sides(symbol)
        parts = []
        for index in range(CHECKSUM_DEPTH):
            for side in (bids, asks):
                if index < len(side):
                    parts += [side[index][0], side[index][2]]
        crc = zlib.crc32(":".join(parts).encode())
        return crc - (1 << 32) if crc >= 1 << 31 else crc

    def _book_snapshot(self, symbol: str) -> str | None:
        if symbol not in self.books:
            return None
        bids, asks = self._sides(symbol)
        return "[" + ",".join(f"[{p},{c},{a}]" for p, c, a in bids + asks) + "]"

    def _sides(self, symbol: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
        book = self.books[symbol]
        return (
            [book["bids"][p] for p in sorted(book["bids"], reverse=True)],
            [book["asks"][p] for p in sorted(book["asks"])],
        )

    def _frame(self, session: Session, chan_id: int, body: str) -> str:
        if not session.flags & SEQ_ALL:
            return f"[{chan_id},{body}]"
        session.sequence += 1
        return f"[{chan_id},{body},{session.sequence}]"

    # -- REST candles -----------------------------------------------------------------------------

    def rest_answer(self, path: str) -> tuple[int, str] | None:
        where, query = query_of(path)
        match = CANDLES_PATH.fullmatch(where)
        if match is None or match[2] not in self.candles:
            return super().rest_answer(path)
        if match[1] != "1m":
            return 500, '["error",10020,"the simulator serves the 1m frame only"]'
        limit = int(query.get("limit", 100))
        if not 0 < limit <= MAX_CANDLES:
            return 500, '["error",10020,"limit: invalid"]'
        candles = self.candles[match[2]]
        start = int(query.get("start", 0)) / 1000
        end = int(query["end"]) / 1000 if "end" in query else candles.end
        chosen = candles.between(math.ceil(start / MINUTE) * MINUTE, math.floor(end))
        chosen = chosen[:limit] if query.get("sort") == "1" else list(reversed(chosen))[:limit]
        rows = [f"[{m.start * 1000},{m.open},{m.close},{m.high},{m.low},{m.volume}]" for m in chosen]
        return 200, "[" + ",".join(rows) + "]"


def _body(message: str) -> str:
    """What a recorded channel message holds between its channel id and its sequence number."""
    return message[message.index(",") + 1 : message.rindex(",")]


def _dumps(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"))
