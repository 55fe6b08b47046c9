"""The Socket.IO door, for the dashboard and browsers: ``/socket.io/`` on the service's port.

Connect with ``auth={"token": TOKEN}`` (or ``?token=TOKEN``, or ``Authorization: Bearer TOKEN``);
a refused connection gets a ``connect_error`` whose ``data`` is the error
(``{"kind", "message", "details"}``). Emit ``call`` with ``{"method": NAME, "params": {...}}``
and an ack: it answers ``{"result": ...}`` or ``{"error": {"kind", "message", "details"}}``.
``subscribe`` and ``unsubscribe`` with ``{"topics": [...]}`` answer the same way; the server
then emits each notification as the event named after its topic, with the payload of the JSON-RPC
notification. CORS follows ``server.cors_origins`` (empty: the page's own origin only), and a web
page's connection obeys REST's origin rules (:class:`.auth.OriginPolicy`), the host name's too.
A client that leaves its notifications unread for ``server.send_timeout_seconds`` is disconnected.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from urllib.parse import parse_qs

import socketio

from ..config import Settings
from ..core.errors import InvalidParameter, InvalidRequest, MethodNotFound, Unauthorised, XWrapError
from .api import ExchangeWrapper
from .auth import Authenticator
from .decoding import SocketIOJson, first_unfit
from .errors import error_body
from .events import EventBus
from .metrics import Metrics
from .sessions import Gate, Session

if TYPE_CHECKING:
    from sanic import Request, Sanic

log = logging.getLogger(__name__)

SOCKETIO_PATH = "socket.io"
CLOSE_POLICY = 1008
#: Packets waiting for one (polling) client before its notifications wait too (and the bus drops its oldest).
BACKLOG = 256
_NOT_A_CALL = 'a call is {"method": NAME, "params": {...}}'


def install_socketio(
    app: Sanic, api: ExchangeWrapper, *, auth: Authenticator, metrics: Metrics, bus: EventBus, settings: Settings
) -> socketio.AsyncServer:
    """Serve the Socket.IO door on ``app``; call before the server starts."""
    cluster = settings.cluster
    server = socketio.AsyncServer(
        async_mode="sanic",
        # several nodes: an emit reaches its client whichever node it is connected to
        client_manager=socketio.AsyncRedisManager(cluster.redis, channel=f"{cluster.key_prefix}:socketio")
        if cluster.node
        else None,
        cors_allowed_origins=list(settings.server.cors_origins) or None,
        max_http_buffer_size=settings.server.max_request_bytes,
        logger=False,
        engineio_logger=False,
        json=SocketIOJson,
    )
    server.attach(app, socketio_path=SOCKETIO_PATH)
    door = _Door(server, Gate.of(app, api, auth=auth, metrics=metrics, bus=bus, settings=settings))
    for event in ("connect", "disconnect", "call", "subscribe", "unsubscribe", "*"):
        server.on(event, getattr(door, "other" if event == "*" else event))
    app.on_request(door.note_upgrade)
    app.before_server_stop(door.close)
    return server


class _Client(NamedTuple):
    session: Session
    pusher: asyncio.Task
    request: Request  # the request that opened the connection (a polling one, or its websocket)


class _Door:
    def __init__(self, server: socketio.AsyncServer, gate: Gate):
        self.server, self.gate = server, gate
        self.sessions: dict[str, _Client] = {}
        #: Engine.IO session -> the websocket request that upgraded it from polling (while it lives).
        self.upgrades: weakref.WeakValueDictionary[str, Request] = weakref.WeakValueDictionary()

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        request = environ["sanic.request"]
        token = auth.get("token") if isinstance(auth, dict) else None
        token = (
            token
            or Authenticator.bearer(request.headers.get("authorization"))
            or (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [None])[0]
        )
        try:
            session = self.gate.admit(
                "socketio", request.ip, token, origin=request.headers.get("origin"), host=request.host
            )
        except XWrapError as error:
            raise socketio.exceptions.ConnectionRefusedError(str(error), error_body(error)["error"]) from None
        self.sessions[sid] = _Client(session, asyncio.create_task(self._push(sid, session)), request)

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        client = self.sessions.pop(sid, None)
        if client is not None:
            client.pusher.cancel()
            client.session.close()

    def note_upgrade(self, request: Request) -> None:
        """Keeps the websocket request of an upgrade from polling (a sanic request middleware): the
        only handle on its connection, which a client too slow must lose."""
        if request.path.startswith(f"/{SOCKETIO_PATH}/") and request.args.get("transport") == "websocket":
            eio_sid = request.args.get("sid")
            if eio_sid:
                self.upgrades[eio_sid] = request

    async def call(self, sid: str, data: Any = None) -> dict[str, Any]:
        if not isinstance(data, dict) or not set(data) <= {"method", "params"} or "method" not in data:
            return error_body(InvalidRequest(_NOT_A_CALL))
        return await self._answer(sid, data["method"], data.get("params"))

    async def subscribe(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self._answer(sid, "subscribe", data)

    async def unsubscribe(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self._answer(sid, "unsubscribe", data)

    async def other(self, event: str, sid: str, *data: Any) -> dict[str, Any]:
        return error_body(MethodNotFound(event))

    async def _answer(self, sid: str, method: Any, params: Any) -> dict[str, Any]:
        if sid not in self.sessions:  # an event racing its connection's end
            return error_body(Unauthorised("the connection is closed"))
        session = self.sessions[sid].session
        unfit = first_unfit(params)
        if unfit is not None:  # what the other doors refuse as they decode
            where, expected, got = unfit
            return error_body(InvalidParameter(where or "params", expected, got))
        try:
            return {"result": await session.call(method, params)}
        except XWrapError as error:
            return error_body(error)

    async def _push(self, sid: str, session: Session) -> None:
        async for topic, payload in session.notifications():
            try:
                async with asyncio.timeout(session.send_timeout):
                    while self._backed_up(sid):
                        await asyncio.sleep(0.05)
            except TimeoutError:
                await self._drop(sid, session.too_slow())
                return
            try:
                await self.server.emit(topic, payload, to=sid)
            except (TypeError, ValueError):  # a publisher's bug: the other notifications still go
                log.exception("a %s notification is not JSON", topic)

    def _backed_up(self, sid: str) -> bool:
        """Whether the client does not keep up: Engine.IO holds more than :data:`BACKLOG` packets
        for it (polling: its queue is unbounded), or its websocket's socket is full (Engine.IO's
        writer takes every queued packet at once, then waits there)."""
        socket = self.server.eio.sockets.get(self.server.manager.eio_sid_from_sid(sid, "/"))
        if socket is not None and socket.queue.qsize() > BACKLOG:
            return True
        request = self._websocket_request(sid)
        if request is None:
            return False
        transport = _transport(request)
        return transport.get_write_buffer_size() > transport.get_write_buffer_limits()[1]

    async def _drop(self, sid: str, reason: str) -> None:
        """Close a client's connection at once: its websocket fails (what it left unread is dropped;
        Engine.IO would wait for it to be read), and its Socket.IO session ends."""
        request = self._websocket_request(sid)
        if request is not None:
            protocol: Any = _transport(request).get_protocol()  # sanic's WebSocketProtocol
            protocol.websocket.fail_connection(CLOSE_POLICY, reason)
        await self.server.disconnect(sid)

    def _websocket_request(self, sid: str) -> Request | None:
        """The request whose connection carries the client's websocket: the upgrade's, or the
        first request's when the client opened a websocket at once; None while it polls."""
        client = self.sessions.get(sid)
        upgrade = self.upgrades.get(self.server.manager.eio_sid_from_sid(sid, "/"))
        for request in (upgrade, client.request if client else None):
            if request is not None and getattr(request.transport.get_protocol(), "websocket", None) is not None:
                return request
        return None

    async def close(self, app: Any = None) -> None:
        await asyncio.gather(*(self.server.disconnect(sid) for sid in list(self.sessions)), return_exceptions=True)
        await self.server.shutdown()


def _transport(request: Request) -> asyncio.WriteTransport:
    # The connection's asyncio transport: sanic types Request.transport as a protocol of its own.
    return cast(asyncio.WriteTransport, request.transport)
