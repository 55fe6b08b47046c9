"""The strategies' client: JSON-RPC 2.0 over a websocket to an xWrap service.

::

    async with AsyncClient("ws://127.0.0.1:8350", token=TOKEN) as client:
        async with client.subscribe("fills") as fills:
            order = await client.make_order(wallet_set_id=1, exchange="coinbase", pair="BTC_USD",
                                            side="buy", price="20000", size="0.01")
            async for topic, fill in fills:
                ...

:class:`Client` does the same with blocking calls (its connection lives on a thread of its own).
Every operation of the service is a method taking its named parameters; amounts are decimal
strings both ways (a Decimal is sent as its string; nothing is turned into a float). An error
the service reports is raised as a :class:`ClientError` that is also the xWrap error class of its
kind (``except InsufficientFunds`` works, ``error.details()`` holds its fields). A lost
connection is opened again with growing delays and the subscriptions are renewed; calls waiting
for an answer then fail with :class:`ConnectionLost` (the call may or may not have been carried
out: look with ``get_order``), and notifications sent in the gap are lost.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import logging
import ssl
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from .client_operations import AsyncOperations, Operations
from .contract import RPC_PATH, TOPICS
from .core import errors
from .core.errors import InvalidParameter, Transient, XWrapError
from .core.money import format_decimal
from .core.pacing import Backoff

log = logging.getLogger(__name__)
#: The websocket's own log: at DEBUG it writes every header sent, the token's ``Authorization`` among
#: them, so it never goes below INFO, whatever level the strategy's process logs at.
WIRE_LOG = logging.getLogger(f"{__name__}.wire")
WIRE_LOG.setLevel(logging.INFO)

DEFAULT_URL = "ws://127.0.0.1:8350" + RPC_PATH
#: Largest answer accepted (a deep book or a long order list is well under it).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: Kinds of refusal that another connection attempt cannot cure.
FINAL = ("unauthorised", "forbidden")


class ClientError(XWrapError):
    """An error reported by the service, or met on the way to it: ``kind``, ``str(error)``,
    ``details()``, and ``code`` (the JSON-RPC code). The details' fields are attributes too
    (``error.rule`` of a precision violation, ``error.field`` of an invalid parameter)."""

    def __init__(self, kind: str, message: str, details: dict[str, Any] | None = None, code: int | None = None):
        Exception.__init__(self, message)
        self.kind, self.code = kind, code
        self._details = dict(details or {})
        for name, value in self._details.items():
            if not hasattr(type(self), name):
                setattr(self, name, value)

    def details(self) -> dict[str, Any]:
        return dict(self._details)


class ConnectionLost(ClientError, Transient):
    """The connection closed before the answer came: the call may or may not have been carried out."""

    def __init__(self, reason: str):
        super().__init__("connection_lost", f"connection lost: {reason}")


def _xwrap_error_classes() -> dict[str, type[XWrapError]]:
    found, todo = {}, [XWrapError]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__ == errors.__name__ and cls is not XWrapError:
            found[cls.kind] = cls
    return found


_KNOWN = _xwrap_error_classes()
_REMOTE: dict[str, type[ClientError]] = {}


def error_from(error: Any) -> ClientError:
    """The exception for a JSON-RPC error object of the service."""
    error = error if isinstance(error, dict) else {}
    data = error.get("data") if isinstance(error.get("data"), dict) else {}
    kind = str(data.get("kind") or "internal_error")
    cls = _REMOTE.get(kind)
    if cls is None:
        known = _KNOWN.get(kind)
        cls = ClientError if known is None else type(known.__name__, (ClientError, known), {"__module__": __name__})
        _REMOTE[kind] = cls
    return cls(kind, str(data.get("message") or error.get("message") or kind), data.get("details"), error.get("code"))


class _Link:
    """One websocket connection: sends requests, matches the answers, hands notifications on."""

    def __init__(
        self, ws: ClientConnection, ids: Iterator[int], on_notification: Callable[[str, Any], None], timeout: float
    ):
        self.ws, self.ids, self.on_notification, self.timeout = ws, ids, on_notification, timeout
        self.pending: dict[int, asyncio.Future] = {}
        self.refusal: ClientError | None = None  # what the service said when it closed the connection
        self.reader = asyncio.create_task(self._read())

    async def request(self, method: str, params: dict[str, Any]) -> Any:
        request_id = next(self.ids)
        answer = self.pending[request_id] = asyncio.get_running_loop().create_future()
        text = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}, default=_amount)
        try:
            try:
                await self.ws.send(text)
            except ConnectionClosed:
                await asyncio.wait([self.reader])  # its end settles the answer with the reason
            return await asyncio.wait_for(answer, self.timeout)
        finally:
            self.pending.pop(request_id, None)

    async def _read(self) -> None:
        reason = "closed by the service"
        try:
            async for text in self.ws:
                try:
                    message = json.loads(text)
                except ValueError:
                    log.warning("the service sent something that is not JSON: %.80r", text)
                    continue
                for item in message if isinstance(message, list) else [message]:
                    if isinstance(item, dict):
                        self._dispatch(item)
        except ConnectionClosed as closed:
            reason = f"code {closed.rcvd.code if closed.rcvd else 1006}"
        finally:
            for answer in self.pending.values():
                if not answer.done():
                    answer.set_exception(self.refusal or ConnectionLost(reason))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" not in message:
            self.on_notification(message["method"], message.get("params"))
            return
        request_id = message.get("id")
        if request_id is None and "error" in message:  # about no request: the connection is refused
            self.refusal = error_from(message["error"])
            log.warning("the service refused the connection: %s", self.refusal)
            return
        answer = self.pending.get(request_id)  # type: ignore[arg-type]
        if answer is None or answer.done():  # an answer come after its call gave up waiting
            return
        if "error" in message:
            answer.set_exception(error_from(message["error"]))
        else:
            answer.set_result(message.get("result"))

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait([self.reader])


class AsyncClient(AsyncOperations):
    """A connection to the service for asyncio code. ``await connect()`` (or ``async with``),
    then ``await call(method, **params)`` or the operation's method; ``subscribe(*topics)`` and
    ``on(topic, callback)`` for notifications; ``await close()``.

    ``url``: ``ws://host:port`` (the JSON-RPC path is added), a full ``ws(s)://`` URL, or
    ``http(s)://host:port``. ``token``: sent as ``Authorization: Bearer``. ``timeout``: seconds a
    call waits for its answer (and for a connection). ``reconnect``: open a lost connection again,
    waiting from 0.1 s up to ``max_backoff`` seconds between attempts. ``ca_file``: a PEM file of the
    certificate authorities that a ``wss://`` service's certificate is checked against (the system's
    when None: a service whose certificate a public authority signed needs none).
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        reconnect: bool = True,
        max_backoff: float = 30.0,
        ca_file: str | None = None,
    ):
        self.url, self.token = rpc_url(url), token
        self.tls = _tls_context(self.url, ca_file)
        self.timeout, self.reconnect, self.max_backoff = timeout, reconnect, max_backoff
        self._ids = itertools.count(1)
        self._link: _Link | None = None
        self._connected = asyncio.Event()
        self._supervisor: asyncio.Task | None = None
        self._failure: XWrapError | None = None  # why the client stopped for good
        self._streams: set[Subscription] = set()
        self._callbacks: dict[str, list[Callable[[str, Any], Any]]] = {}
        self._callback_tasks: set[asyncio.Task] = set()

    async def __aenter__(self) -> AsyncClient:
        return await self.connect()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def connect(self) -> AsyncClient:
        """Open the connection. Raises Unauthorised or TooManyConnections when the service
        refuses it, OSError when nothing answers."""
        if self._supervisor is None:
            await self._open()
            self._supervisor = asyncio.create_task(self._supervise())
        return self

    async def close(self) -> None:
        """Close the connection; waiting calls fail with ConnectionLost, iterators end."""
        self._stop(self._failure or ConnectionLost("the client was closed"))
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        if self._link is not None:
            await self._link.close()

    async def call(self, method: str, **params: Any) -> Any:
        """The result of ``method``; the service's error for it raised as its xWrap class."""
        if self._supervisor is None and self._failure is None:
            await self.connect()
        try:
            await asyncio.wait_for(self._connected.wait(), self.timeout)
        except TimeoutError:
            raise ConnectionLost(f"no connection to {self.url} within {self.timeout} s") from None
        if self._failure is not None:
            raise self._failure
        assert self._link is not None
        return await self._link.request(method, params)

    def subscribe(self, *topics: str) -> Subscription:
        """The notifications of ``topics`` as an async iterator of (topic, payload). Await it (or
        ``async with`` it) before acting, so that nothing is missed; ``close()`` it when done."""
        return Subscription(self, _topics(topics))

    async def on(self, topic: str, callback: Callable[[str, Any], Any]) -> None:
        """Call ``callback(topic, payload)`` (a function or a coroutine function) for every
        notification of ``topic`` from now on."""
        _topics([topic])
        new = topic not in self.topics()
        self._callbacks.setdefault(topic, []).append(callback)
        if new:
            try:
                await self.call("subscribe", topics=[topic])
            except BaseException:
                del self._callbacks[topic]
                raise

    def topics(self) -> set[str]:
        """The topics something of this client listens to."""
        return {t for stream in self._streams for t in stream.topics} | set(self._callbacks)

    async def _add(self, stream: Subscription) -> None:
        new = stream.topics - self.topics()
        self._streams.add(stream)
        if new:
            try:
                await self.call("subscribe", topics=sorted(new))
            except BaseException:
                self._streams.discard(stream)
                raise

    async def _remove(self, stream: Subscription) -> None:
        self._streams.discard(stream)
        gone = stream.topics - self.topics()
        if gone and self._connected.is_set() and self._failure is None:
            try:
                await self.call("unsubscribe", topics=sorted(gone))
            except ConnectionLost:
                pass

    # -- the connection ---------------------------------------------------------------------------

    async def _open(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        ws = await connect(
            self.url,
            additional_headers=headers,
            max_size=MAX_MESSAGE_BYTES,
            open_timeout=self.timeout,
            logger=WIRE_LOG,
            ssl=self.tls,
        )
        link = _Link(ws, self._ids, self._notify, self.timeout)
        try:
            await link.request("echo", {})  # answered once the service admitted the connection
            if self.topics():
                await link.request("subscribe", {"topics": sorted(self.topics())})
        except BaseException:
            await link.close()
            raise
        self._link = link
        self._connected.set()

    async def _supervise(self) -> None:
        while True:
            assert self._link is not None
            await asyncio.wait([self._link.reader])
            self._connected.clear()
            if not self.reconnect:
                self._stop(ConnectionLost("closed by the service (reconnect is off)"))
                return
            log.warning("connection to %s lost; connecting again", self.url)
            backoff, level = Backoff(min(0.1, self.max_backoff), self.max_backoff), logging.WARNING
            while True:
                try:
                    await self._open()
                    log.info("connected to %s again", self.url)
                    break
                except ClientError as error:
                    if error.kind in FINAL:
                        self._stop(error)
                        return
                    log.log(level, "connecting to %s: %s", self.url, error)
                except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError) as error:
                    log.log(level, "connecting to %s: %s", self.url, error or type(error).__name__)
                level = logging.DEBUG  # the first failure is worth a warning, the next ones are not
                await asyncio.sleep(backoff.next_delay())

    def _stop(self, failure: XWrapError) -> None:
        self._failure = failure
        self._connected.set()  # the calls waiting for a connection wake up and raise the failure
        for stream in list(self._streams):
            stream.end()
        self._streams.clear()

    def _notify(self, topic: str, payload: Any) -> None:
        if topic == "dropped":
            log.warning(
                "the service dropped %s notifications this client did not read in time", (payload or {}).get("count")
            )
        for stream in list(self._streams):
            if topic in stream.topics or topic == "dropped":
                stream.queue.put_nowait((topic, payload))
        for callback in self._callbacks.get(topic, ()):
            try:
                result = callback(topic, payload)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._callback_tasks.add(task)
                    task.add_done_callback(self._callback_done)
            except Exception:
                log.exception("callback for %s failed", topic)

    def _callback_done(self, task: asyncio.Task) -> None:
        self._callback_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("callback failed", exc_info=task.exception())


_END = object()


class Subscription:
    """Notifications of some topics: ``async for topic, payload in subscription``, or
    ``await get(timeout)``. Awaiting it (or entering it with ``async with``) subscribes;
    ``close()`` (or leaving the ``async with``) unsubscribes and ends the iteration. A
    ``("dropped", {"count": n})`` item says that ``n`` notifications were lost on the way."""

    def __init__(self, client: AsyncClient, topics: frozenset[str]):
        self.client, self.topics = client, topics
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    def __await__(self) -> Any:
        return self._start().__await__()

    async def _start(self) -> Subscription:
        await self.client._add(self)
        return self

    async def __aenter__(self) -> Subscription:
        return await self._start()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> tuple[str, Any]:
        item = await self.queue.get()
        if item is _END:
            self.queue.put_nowait(_END)
            raise StopAsyncIteration
        return item

    async def get(self, timeout: float | None = None) -> tuple[str, Any]:
        """The next (topic, payload); TimeoutError after ``timeout`` seconds, StopAsyncIteration
        once closed."""
        return await asyncio.wait_for(self.__anext__(), timeout)

    async def close(self) -> None:
        await self.client._remove(self)
        self.end()

    def end(self) -> None:
        self.queue.put_nowait(_END)


class Client(Operations):
    """The blocking client: the same methods as :class:`AsyncClient`, each returning the result.
    Connects at once; ``close()`` (or ``with``) when done. Callbacks given to :meth:`on` run on
    the client's own thread."""

    def __init__(self, url: str = DEFAULT_URL, token: str | None = None, **options: Any):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="xwrap-client", daemon=True)
        self._thread.start()
        self._callbacks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xwrap-client-callbacks")
        try:
            self._client: AsyncClient = self._run(_connected(url, token, options))
        except BaseException:
            self._stop_loop()
            raise

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def call(self, method: str, **params: Any) -> Any:
        """The result of ``method``; the service's error for it raised as its xWrap class."""
        return self._run(self._client.call(method, **params))

    def subscribe(self, *topics: str) -> BlockingSubscription:
        """The notifications of ``topics``, subscribed before this returns: iterate, or ``get()``."""
        return BlockingSubscription(self, self._run(_awaited(self._client.subscribe(*topics))))

    def on(self, topic: str, callback: Callable[[str, Any], Any]) -> None:
        """Call ``callback(topic, payload)`` for every notification of ``topic``, in order, on a
        thread of the client's (so it may call the client)."""

        def hand_over(topic: str, payload: Any) -> None:
            self._callbacks.submit(callback, topic, payload).add_done_callback(_log_failure)

        self._run(self._client.on(topic, hand_over))

    def close(self) -> None:
        if self._loop.is_running():
            self._run(self._client.close())
            self._stop_loop()
        self._callbacks.shutdown(wait=False)

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class BlockingSubscription:
    """A :class:`Subscription` for blocking code: ``for topic, payload in subscription``, or ``get(timeout)``."""

    def __init__(self, client: Client, stream: Subscription):
        self.client, self.stream = client, stream

    def __enter__(self) -> BlockingSubscription:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __iter__(self) -> BlockingSubscription:
        return self

    def __next__(self) -> tuple[str, Any]:
        try:
            return self.get()
        except StopAsyncIteration:
            raise StopIteration from None

    def get(self, timeout: float | None = None) -> tuple[str, Any]:
        """The next (topic, payload); TimeoutError after ``timeout`` seconds."""
        return self.client._run(self.stream.get(timeout))

    def close(self) -> None:
        self.client._run(self.stream.close())


def _log_failure(done: Future) -> None:
    if done.exception() is not None:
        log.error("callback failed", exc_info=done.exception())


async def _connected(url: str, token: str | None, options: dict[str, Any]) -> AsyncClient:
    return await AsyncClient(url, token, **options).connect()


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def rpc_url(url: str) -> str:
    """The JSON-RPC websocket URL for ``url`` (see :class:`AsyncClient`)."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.netloc:
        raise InvalidParameter("url", "a ws://, wss://, http:// or https:// URL of the service", url)
    return urlunsplit((scheme, parts.netloc, parts.path if parts.path not in ("", "/") else RPC_PATH, parts.query, ""))


def _tls_context(url: str, ca_file: str | None) -> ssl.SSLContext | None:
    """The TLS context of a ``wss://`` ``url`` (None for ``ws://``): the certificate checked against
    ``ca_file``'s authorities, or the system's."""
    if not url.startswith("wss://"):
        if ca_file is not None:
            raise InvalidParameter("ca_file", "a wss:// or https:// URL to check a certificate of", url)
        return None
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as error:
        raise InvalidParameter("ca_file", "a readable PEM file of certificate authorities", ca_file) from error


def _topics(topics: Any) -> frozenset[str]:
    if not topics or not all(topic in TOPICS for topic in topics):
        raise InvalidParameter("topics", "topics from " + ", ".join(TOPICS), list(topics))
    return frozenset(topics)


def _amount(value: Any) -> str:
    if isinstance(value, Decimal):
        return format_decimal(value)
    raise TypeError(f"{type(value).__name__} is not JSON: send amounts as strings or Decimals")
