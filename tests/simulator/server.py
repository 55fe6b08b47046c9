"""A loopback exchange: recorded REST responses and websocket streams served over real sockets.

One port serves both: plain HTTP GETs get the recorded REST bodies, websocket upgrades get the
exchange's protocol (a :class:`Protocol` subclass per exchange answers subscribe requests and
decides what each client receives). The recording plays once, at one shared cursor, like the
exchange's own time: a client that drops misses what was streamed meanwhile, and a new
subscription gets snapshots of the book as it is then (the protocol keeps a plain model of it).

Hooks make the failures the adapters must survive: :meth:`drop_after` (close the connection
mid-way), :meth:`silence_after` (stop sending, keep the connection), :meth:`inject` (put a made-up
message on the wire: a crossed level, a sequence gap, a wrong checksum) and :meth:`fail_rest`
(answer the next REST calls with e.g. a 429 and a Retry-After).
"""

from __future__ import annotations

import asyncio
import http
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from exchange_wrapper.replay.capture import RestResponse, WsReceived, read_capture
from tests.simulator.candles import MadeUpCandles

CAPTURES = Path(__file__).resolve().parents[1] / "captures"


class Protocol:
    """One exchange's websocket protocol, as the simulator speaks it. Subclass per exchange.

    ``recording`` is the recorded stream (messages as the exchange sent them); ``rest`` maps a
    request path (with its query) to the recorded body.
    """

    def __init__(self, recording: list[str], rest: dict[str, str]):
        self.recording, self.rest = recording, rest
        self.candles: dict[str, MadeUpCandles] = {}
        """Made-up 1-minute candles the candles endpoint serves, by the exchange's symbol."""

    def rest_body(self, path: str) -> str | None:
        """The recorded body for ``path`` (with query), or None for a 404."""
        return self.rest.get(path, self.rest.get(path.partition("?")[0]))

    def rest_answer(self, path: str) -> tuple[int, str] | None:
        """The status and body answering ``path`` (with query), or None for a 404: by default
        :meth:`rest_body` with a 200. Exchanges that refuse a request with a status of their own
        (an out-of-range candles request) override it."""
        body = self.rest_body(path)
        return None if body is None else (200, body)

    def session(self) -> object:
        """Per-connection state (what the client subscribed to)."""
        return set()

    def session_for(self, path: str) -> object:
        """The state of a connection to ``path``: :meth:`session`, except where the path names what
        is streamed (Luno's one market a connection)."""
        return self.session()

    def answer(self, message: str, session: object) -> list[str]:
        """What to send now in reply to a client's ``message`` (subscription acks, snapshots)."""
        raise NotImplementedError

    def advance(self, message: str) -> None:
        """The recording moves on by ``message``: update the model of the books."""
        raise NotImplementedError

    def deliver(self, message: str, session: object) -> str | list[str] | None:
        """The recorded ``message`` as this client gets it (a list: as several messages, e.g. an
        update then its checksum), or None if not subscribed to it."""
        raise NotImplementedError

    def heartbeats(self, session: object) -> list[str]:
        """What the exchange sends to show it is alive when there is nothing else to send."""
        return []


@dataclass
class _Hooks:
    drop_after: int | None = None
    silence_after: int | None = None
    injections: dict[int, list[str]] = field(default_factory=dict)
    rest_failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    skip_while_down: int = 0


class ExchangeSimulator:
    """Serves ``protocol`` on 127.0.0.1 (a free port): ``async with ExchangeSimulator(p) as sim``,
    then point the adapter at ``sim.http_url`` and ``sim.ws_url``.

    ``pace`` is the pause between streamed messages (0: as fast as the client reads).
    ``sent`` counts the recorded messages streamed to clients so far; ``cursor`` is the shared
    position in the recording; ``connections`` counts websocket connections accepted;
    ``received`` holds what clients sent, ``rest_calls`` the REST paths asked.
    """

    def __init__(self, protocol: Protocol, *, pace: float = 0.0, heartbeat_interval: float = 0.05):
        self.protocol, self.pace, self.heartbeat_interval = protocol, pace, heartbeat_interval
        self.hooks = _Hooks()
        self.cursor = 0
        self.sent = 0
        self.connections = 0
        self.received: list[str] = []
        self.stopped_at: int | None = None  # the cursor when a drop or silence began
        self.rest_calls: list[str] = []
        self.finished = asyncio.Event()
        self._server: Server | None = None
        self._clients: list[_Client] = []
        self._player: asyncio.Task | None = None

    async def __aenter__(self) -> ExchangeSimulator:
        self._server = await serve(
            self._connection, "127.0.0.1", 0, process_request=self._http, max_size=None, ping_interval=None
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        if self._player is not None:
            self._player.cancel()
        self._server.close()
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    # -- hooks --------------------------------------------------------------------------------

    def drop_after(self, count: int, skip: int = 0) -> None:
        """Close the connection once ``count`` recorded messages have been streamed in all; the
        recording moves on by ``skip`` messages while the client is away."""
        self.hooks.drop_after, self.hooks.skip_while_down = count, skip

    def silence_after(self, count: int, skip: int = 0) -> None:
        """Stop streaming (the connection stays open) once ``count`` messages were streamed."""
        self.hooks.silence_after, self.hooks.skip_while_down = count, skip

    def inject(self, after: int, message: str) -> None:
        """Send ``message`` (not in the recording, and not applied to the model) once ``after``
        recorded messages have been streamed."""
        self.hooks.injections.setdefault(after, []).append(message)

    def fail_rest(self, status: int, headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Answer the next ``times`` REST calls with ``status`` and ``headers``."""
        self.hooks.rest_failures += [(status, headers or {})] * times

    # -- serving ------------------------------------------------------------------------------

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        self.rest_calls.append(request.path)
        if self.hooks.rest_failures:
            status, headers = self.hooks.rest_failures.pop(0)
            return _response(status, f'{{"message":"{http.HTTPStatus(status).phrase}"}}', headers)
        answer = self.protocol.rest_answer(request.path)
        if answer is None:
            return _response(404, '{"message":"NotFound"}')
        return _response(*answer)

    async def _connection(self, ws: ServerConnection) -> None:
        self.connections += 1
        client = _Client(ws, self.protocol.session_for(ws.request.path if ws.request is not None else "/"))
        self._clients.append(client)
        if self._player is None:
            self._player = asyncio.ensure_future(self._play())
        writer = asyncio.ensure_future(client.write())
        try:
            async for message in ws:
                self.received.append(str(message))
                # queued at once with the subscription: no recorded message can come between
                for reply in self.protocol.answer(str(message), client.session):
                    client.queue.put_nowait(reply)
                client.subscribed = True
        except ConnectionClosed:
            pass
        finally:
            self._clients.remove(client)
            writer.cancel()

    async def _play(self) -> None:
        """The exchange's clock: one cursor, each message to every subscribed client at once."""
        hooks, recording = self.hooks, self.protocol.recording
        while self.cursor < len(recording):
            clients = [c for c in self._clients if c.subscribed and not c.muted]
            if not clients:
                await asyncio.sleep(0.002)
                continue
            for message in hooks.injections.pop(self.sent, []):
                await self._send(clients, lambda session: message)
            if hooks.drop_after is not None and self.sent >= hooks.drop_after:
                hooks.drop_after, self.stopped_at = None, self.cursor
                self._skip(hooks.skip_while_down)
                for client in clients:
                    await client.ws.close(1011, "simulated drop")
                continue
            if hooks.silence_after is not None and self.sent >= hooks.silence_after:
                hooks.silence_after, self.stopped_at = None, self.cursor
                self._skip(hooks.skip_while_down)
                for client in clients:
                    client.muted = True  # say nothing more until the client gives up
                continue
            message = recording[self.cursor]
            self.cursor += 1
            self.protocol.advance(message)
            if await self._send(clients, lambda session: self.protocol.deliver(message, session)):
                self.sent += 1
            await asyncio.sleep(self.pace)
        self.finished.set()
        while True:  # the recording is over: the exchange stays alive, its heartbeats only
            clients = [c for c in self._clients if c.subscribed and not c.muted]
            await self._send(clients, lambda session: "\n".join(self.protocol.heartbeats(session)) or None, split=True)
            await asyncio.sleep(self.heartbeat_interval)

    async def _send(
        self, clients: list[_Client], text_for: Callable[[object], str | list[str] | None], split: bool = False
    ) -> bool:
        delivered = False
        for client in clients:
            text = text_for(client.session)
            if text is not None:
                for part in text if isinstance(text, list) else text.split("\n") if split else (text,):
                    client.queue.put_nowait(part)
                delivered = True
        await asyncio.sleep(0)
        return delivered

    def _skip(self, count: int) -> None:
        recording = self.protocol.recording
        for message in recording[self.cursor : self.cursor + count]:
            self.protocol.advance(message)
        self.cursor = min(self.cursor + count, len(recording))


@dataclass(eq=False)
class _Client:
    """One connection: what it subscribed to, and its outgoing messages in order."""

    ws: ServerConnection
    session: object
    subscribed: bool = False
    muted: bool = False
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)

    async def write(self) -> None:
        try:
            while True:
                await self.ws.send(await self.queue.get())
        except ConnectionClosed:
            pass


def _response(status: int, body: str, headers: dict[str, str] | None = None) -> Response:
    all_headers = Headers(
        {
            "Content-Type": "application/json",
            "Content-Length": str(len(body.encode())),
            "Connection": "close",
            **(headers or {}),
        }
    )
    return Response(status, http.HTTPStatus(status).phrase, all_headers, body.encode())


def recorded(*names: str, url_to_path: Callable[[str], str]) -> tuple[list[str], dict[str, str]]:
    """(websocket messages, REST bodies by path) of the capture files ``names`` in tests/captures."""
    messages, rest = [], {}
    for name in names:
        for record in read_capture(CAPTURES / name):
            if isinstance(record, WsReceived) and record.message:
                messages.append(record.message)
            elif isinstance(record, RestResponse):
                rest[url_to_path(record.url)] = record.body
    return messages, rest
