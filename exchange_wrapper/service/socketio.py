"""The Socket.IO door, for the dashboard and browsers: ``/socket.io/`` on the service's port.

Connect with ``auth={"token": TOKEN}`` (or ``?token=TOKEN``, or ``Authorization: Bearer TOKEN``);
a refused connection gets a ``connect_error`` whose ``data`` is the error
(``{"kind", "message", "details"}``). Emit ``call`` with ``{"method": NAME, "params": {...}}``
and an ack: it answers ``{"result": ...}`` or ``{"error": {"kind", "message", "details"}}``.
``subscribe`` and ``unsubscribe`` with ``{"topics": [...]}`` answer the same way; the server
then emits each notification as the event named after its topic, with the payload of the JSON-RPC
notification. CORS follows ``server.cors_origins`` (empty: the page's own origin only), and a web
page's connection obeys REST's origin rules (:class:`.auth.OriginPolicy`), the host name's too.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import socketio

from ..config import Settings
from ..core.errors import InvalidRequest, MethodNotFound, Unauthorised, XWrapError
from .api import ExchangeWrapper
from .auth import Authenticator
from .errors import error_body
from .events import EventBus
from .metrics import Metrics
from .sessions import Gate, Session

if TYPE_CHECKING:
    from sanic import Sanic

log = logging.getLogger(__name__)

SOCKETIO_PATH = "socket.io"
#: Packets waiting for one client before its notifications wait too (and the bus drops its oldest).
BACKLOG = 256
_NOT_A_CALL = 'a call is {"method": NAME, "params": {...}}'


def install_socketio(app: "Sanic", api: ExchangeWrapper, *, auth: Authenticator, metrics: Metrics, bus: EventBus,
                     settings: Settings) -> socketio.AsyncServer:
    """Serve the Socket.IO door on ``app``; call before the server starts."""
    server = socketio.AsyncServer(async_mode="sanic", cors_allowed_origins=list(settings.server.cors_origins) or None,
                                  max_http_buffer_size=settings.server.max_request_bytes, logger=False,
                                  engineio_logger=False)
    server.attach(app, socketio_path=SOCKETIO_PATH)
    door = _Door(server, Gate.of(app, api, auth=auth, metrics=metrics, bus=bus, settings=settings))
    for event in ("connect", "disconnect", "call", "subscribe", "unsubscribe", "*"):
        server.on(event, getattr(door, "other" if event == "*" else event))
    app.before_server_stop(door.close)
    return server


class _Door:
    def __init__(self, server: socketio.AsyncServer, gate: Gate):
        self.server, self.gate = server, gate
        self.sessions: dict[str, tuple[Session, asyncio.Task]] = {}

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        request = environ["sanic.request"]
        token = auth.get("token") if isinstance(auth, dict) else None
        token = token or Authenticator.bearer(request.headers.get("authorization")) \
            or (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [None])[0]
        try:
            session = self.gate.admit("socketio", request.ip, token, origin=request.headers.get("origin"),
                                      host=request.host)
        except XWrapError as error:
            raise socketio.exceptions.ConnectionRefusedError(str(error), error_body(error)["error"]) from None
        self.sessions[sid] = (session, asyncio.create_task(self._push(sid, session)))

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        entry = self.sessions.pop(sid, None)
        if entry is not None:
            session, pusher = entry
            pusher.cancel()
            session.close()

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
        session, _ = self.sessions[sid]
        try:
            return {"result": await session.call(method, params)}
        except XWrapError as error:
            return error_body(error)

    async def _push(self, sid: str, session: Session) -> None:
        async for topic, payload in session.notifications():
            while self._backlog(sid) > BACKLOG:
                await asyncio.sleep(0.05)
            try:
                await self.server.emit(topic, payload, to=sid)
            except (TypeError, ValueError):  # a publisher's bug: the other notifications still go
                log.exception("a %s notification is not JSON", topic)

    def _backlog(self, sid: str) -> int:
        """Packets queued for the client and not yet written (engine.io keeps an unbounded queue)."""
        socket = self.server.eio.sockets.get(self.server.manager.eio_sid_from_sid(sid, "/"))
        return 0 if socket is None else socket.queue.qsize()

    async def close(self, app: Any = None) -> None:
        await asyncio.gather(*(self.server.disconnect(sid) for sid in list(self.sessions)), return_exceptions=True)
        await self.server.shutdown()
