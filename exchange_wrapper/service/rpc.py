"""The JSON-RPC 2.0 door: a websocket at ``/xwrap/v1/rpc``.

Connect with the token as ``Authorization: Bearer TOKEN`` or ``?token=TOKEN`` (browsers cannot set
headers); a web page's connection obeys REST's origin rules (:class:`.auth.OriginPolicy`). A
refused connection gets one JSON-RPC error (id null) and is closed with code 1008 (unauthorised)
or 1013 (too many connections). Then send requests, notifications and batches;
every method takes named parameters only. ``subscribe(topics=[...])`` and
``unsubscribe(topics=[...])`` choose what the server pushes, as notifications
``{"jsonrpc": "2.0", "method": TOPIC, "params": PAYLOAD}``. Answers come as they complete (match
them by id). A message the door cannot use gets a JSON-RPC error and the connection stays open.
A client that leaves what it is sent unread for ``server.send_timeout_seconds`` is disconnected
(close code 1008, the reason said), as it would otherwise hold its notifications in memory for ever.

A batch holds at most ``server.max_batch_requests`` calls (a longer one is refused whole). Its calls
run one after the other, each answer serialised as it comes, and between two calls the event loop
serves everybody else for as long as the call took: one client's batch never holds the others up
for more than one call. Once its answers reach ``server.max_batch_answer_bytes``, its remaining
calls are not run and each is answered with an ``invalid_request`` error saying so.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from sanic.exceptions import ServerError, WebsocketClosed
from tinyrpc.exc import RPCError
from tinyrpc.protocols.jsonrpc import (
    JSONRPCBatchRequest,
    JSONRPCErrorResponse,
    JSONRPCInvalidParamsError,
    JSONRPCParseError,
    JSONRPCProtocol,
    JSONRPCRequest,
    JSONRPCSuccessResponse,
)
from websockets.exceptions import ConnectionClosed

from ..config import ServerSettings, Settings
from ..contract import RPC_PATH
from ..core.errors import InvalidParameter, InvalidRequest, ParseError, Unauthorised, XWrapError
from .api import ExchangeWrapper
from .auth import Authenticator
from .decoding import UnfitRequest, read_json
from .errors import error_body, rpc_code
from .events import EventBus
from .metrics import Metrics
from .sessions import Gate, Session

if TYPE_CHECKING:
    from sanic import Request, Sanic

log = logging.getLogger(__name__)

#: Requests of one connection answered at the same time; the connection is read no further until one ends.
IN_FLIGHT = 16
#: Messages up to this many times the limit are read and answered with an error; larger ones close the
#: connection (1009), as they must be refused before they are held in memory.
HARD_LIMIT_FACTOR = 4
CLOSE_GOING_AWAY, CLOSE_POLICY, CLOSE_TRY_AGAIN = 1001, 1008, 1013
#: What sending or receiving on a socket that is gone raises (websockets', and sanic's own words for it).
_GONE = (ConnectionClosed, WebsocketClosed, ServerError)

_PROTOCOL = JSONRPCProtocol()
_NOT_A_REQUEST = (
    'not a JSON-RPC 2.0 request: an object with jsonrpc "2.0", a method string, and only '
    "id (a string or number) and params (an object) besides"
)


def install_rpc(
    app: Sanic, api: ExchangeWrapper, *, auth: Authenticator, metrics: Metrics, bus: EventBus, settings: Settings
) -> None:
    """Serve the JSON-RPC door on ``app``; call before the server starts."""
    gate = Gate.of(app, api, auth=auth, metrics=metrics, bus=bus, settings=settings)
    connections: set[_Connection] = set()
    app.config.WEBSOCKET_MAX_SIZE = HARD_LIMIT_FACTOR * settings.server.max_request_bytes

    @app.websocket(RPC_PATH, name="rpc")
    async def rpc(request: Request, ws: Any) -> None:
        token = Authenticator.bearer(request.headers.get("authorization")) or request.args.get("token")
        try:
            session = gate.admit("rpc", request.ip, token, origin=request.headers.get("origin"), host=request.host)
        except XWrapError as error:
            await ws.send(error_response(None, error).serialize().decode())
            code = CLOSE_POLICY if isinstance(error, Unauthorised) else CLOSE_TRY_AGAIN
            await ws.close(code, str(error)[:120])
            return
        connection = _Connection(ws, session, settings.server)
        connections.add(connection)
        try:
            await connection.serve()
        except Exception:  # logged here, as sanic would log the URL, which may hold the token
            log.exception("rpc connection from %s failed", session.address)
        finally:
            connections.discard(connection)
            session.close()

    @app.before_server_stop
    async def close_connections(app: Sanic) -> None:
        await asyncio.gather(
            *(c.ws.close(CLOSE_GOING_AWAY, "server stopping") for c in list(connections)), return_exceptions=True
        )


class _Connection:
    """Reads one websocket's messages, answers them, and pushes its notifications."""

    def __init__(self, ws: Any, session: Session, limits: ServerSettings):
        self.ws, self.session, self.limits = ws, session, limits
        self.slots = asyncio.Semaphore(IN_FLIGHT)
        self.tasks: set[asyncio.Task] = set()
        self.too_slow = False

    async def serve(self) -> None:
        pusher = asyncio.create_task(self._push())
        try:
            while True:
                message = await self.ws.recv()
                await self.slots.acquire()
                task = asyncio.create_task(self._answer(message))
                self.tasks.add(task)
                task.add_done_callback(self._done)
        except (*_GONE, asyncio.CancelledError):
            pass
        finally:
            for task in (pusher, *self.tasks):
                task.cancel()
            await asyncio.gather(pusher, *self.tasks, return_exceptions=True)
            await self.ws.close()

    def _done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        self.slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("answering on the rpc connection from %s failed", self.session.address, exc_info=task.exception())

    async def _answer(self, message: str | bytes) -> None:
        reply = await answer(self.session, message, self.limits)
        if reply is not None:
            await self._send(reply)

    async def _push(self) -> None:
        async for topic, payload in self.session.notifications():
            try:
                text = json.dumps({"jsonrpc": "2.0", "method": topic, "params": payload})
            except (TypeError, ValueError):  # a publisher's bug: the other notifications still go
                log.exception("a %s notification is not JSON", topic)
                continue
            await self._send(text)

    async def _send(self, text: str) -> None:
        try:
            async with asyncio.timeout(self.session.send_timeout):
                await self.ws.send(text)
        except _GONE:  # the client left: nobody to tell
            pass
        except TimeoutError:  # the client reads nothing: closed at once, what it left unread dropped
            if not self.too_slow:
                self.too_slow = True
                self.ws.fail_connection(CLOSE_POLICY, self.session.too_slow())
                self.session.close()


async def answer(session: Session, message: str | bytes, limits: ServerSettings) -> str | None:
    """The reply to one websocket message (None when it holds only notifications), within the
    ``server`` settings' limits."""
    try:
        request = _parse(message, limits)
    except _Refused as refused:
        return _serialize(error_response(refused.request_id, refused.error))
    if isinstance(request, JSONRPCBatchRequest):
        return await _answer_batch(session, request, limits.max_batch_answer_bytes)
    reply = await _answer_one(session, request)
    return None if reply is None else _serialize(reply)


async def _answer_batch(session: Session, batch: JSONRPCBatchRequest, limit: int) -> str | None:
    """The batch's answers as one JSON array, built as they come. After each call the batch waits
    as long as the loop's thread worked for it, so that everybody else is served at least half the
    time (a batch of heavy reads held everyone for seconds); the calls after the answers reached
    ``limit`` bytes are not run."""
    answers: list[str] = []
    size = 0
    for item in batch:
        busy = time.thread_time()
        if size < limit or isinstance(item, Exception):
            reply = await _answer_one(session, item)
        elif item.one_way:
            continue
        else:
            reply = error_response(
                item.unique_id,
                InvalidRequest(
                    f"the answers of this batch reached the limit of {limit} bytes (server.max_batch_answer_bytes): "
                    "this call was not run; send it again"
                ),
            )
        if reply is not None:
            answers.append(_serialize(reply))
            size += len(answers[-1]) + 1
        await asyncio.sleep(time.thread_time() - busy)
    return "[" + ",".join(answers) + "]" if answers else None


class _Refused(Exception):
    def __init__(self, request_id: Any, error: XWrapError):
        self.request_id, self.error = request_id, error


def _parse(message: str | bytes, limits: ServerSettings) -> JSONRPCRequest | JSONRPCBatchRequest:
    data = message.encode() if isinstance(message, str) else message
    limit = limits.max_request_bytes
    if len(data) > limit:
        raise _Refused(None, InvalidRequest(f"a message of {len(data)} bytes is over the limit of {limit}"))
    try:
        text = data.decode("utf-8")
        decoded = read_json(text, "message")
    except UnfitRequest as error:
        request_id = error.document.get("id") if isinstance(error.document, dict) else None
        raise _Refused(request_id, error) from None
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _Refused(None, ParseError("not valid JSON in UTF-8")) from None
    if isinstance(decoded, list) and len(decoded) > limits.max_batch_requests:
        raise _Refused(
            None,
            InvalidRequest(
                f"a batch of {len(decoded)} calls is over the limit of "
                f"{limits.max_batch_requests} (server.max_batch_requests): none was run"
            ),
        )
    try:
        return _PROTOCOL.parse_request(text)
    except RPCError as error:
        raise _Refused(getattr(error, "request_id", None), _translate(error)) from None
    except Exception:  # tinyrpc lets a KeyError out for a request without a method
        request_id = decoded.get("id") if isinstance(decoded, dict) else None
        raise _Refused(request_id, InvalidRequest(_NOT_A_REQUEST)) from None


def _translate(error: Exception) -> XWrapError:
    if isinstance(error, JSONRPCParseError):
        return ParseError("not valid JSON in UTF-8")
    if isinstance(error, JSONRPCInvalidParamsError):
        return InvalidParameter("params", "named parameters (a JSON object)")
    return InvalidRequest(_NOT_A_REQUEST)


async def _answer_one(session: Session, request: JSONRPCRequest | Exception) -> Any:
    if isinstance(request, Exception):  # a batch item that is not a request
        return error_response(getattr(request, "request_id", None), _translate(request))
    if not request.one_way and not _valid_id(request.unique_id):
        return error_response(None, InvalidRequest(_NOT_A_REQUEST))
    try:
        result = await session.call(request.method, request.args or request.kwargs)
    except XWrapError as error:
        return None if request.one_way else error_response(request.unique_id, error)
    if request.one_way:
        return None
    response = JSONRPCSuccessResponse()
    response.unique_id, response.result = request.unique_id, result
    return response


def _valid_id(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or (isinstance(value, (str, int)) and not isinstance(value, bool))


def error_response(request_id: Any, error: XWrapError) -> JSONRPCErrorResponse:
    """The JSON-RPC error for ``error``: its kind's code, its message, and as ``data`` the error
    as every door shows it (``{"kind", "message", "details"}``)."""
    response = JSONRPCErrorResponse()
    response.unique_id = request_id if _valid_id(request_id) else None
    response.error, response._jsonrpc_error_code = str(error), rpc_code(error)
    response.data = error_body(error)["error"]
    return response


def _serialize(response: JSONRPCErrorResponse | JSONRPCSuccessResponse) -> str:
    try:
        return response.serialize().decode()
    except (TypeError, ValueError):  # a result that is not JSON: a bug, reported as one
        log.exception("a JSON-RPC answer could not be serialised")
        return error_response(None, XWrapError("internal error")).serialize().decode()
