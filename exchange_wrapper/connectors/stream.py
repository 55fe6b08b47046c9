"""One websocket kept open, written once for the market feed and the live account.

A :class:`Reconnecting` runs a connection's session again and again: the session connects, reads
and returns why it ended (or raises one of :data:`CONNECTION_ERRORS`); then the owner is told the
reason and the next try waits an exponential backoff with jitter
(:class:`~exchange_wrapper.core.pacing.Backoff`, which the owner resets once a connection works).
It also holds the owner's background tasks (cancelled together) and sends an application ping
where the exchange wants one. ``clock`` and ``sleep`` are injected: tests run without waiting.
Given a :class:`~.traffic.TrafficLog`, the connections it opens (:meth:`Reconnecting.open`) tell it
every message sent and received: the market feed's, when its traffic is recorded.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ..core.pacing import Backoff
from .traffic import ConnectionLog, TrafficLog

#: What a lost or refused connection raises.
CONNECTION_ERRORS = (OSError, asyncio.TimeoutError, ConnectionClosed, InvalidHandshake, InvalidURI)


def describe_error(error: BaseException) -> str:
    """Why a connection ended or was not made, for a status line (``connection closed (1006 ...)``)."""
    if isinstance(error, ConnectionClosed):
        code = error.rcvd.code if error.rcvd is not None else 1006
        reason = error.rcvd.reason if error.rcvd is not None else "no close frame"
        return f"connection closed ({code} {reason})" if reason else f"connection closed ({code})"
    if isinstance(error, asyncio.TimeoutError):
        return "connection timed out"
    return f"cannot connect: {type(error).__name__}: {error}"


class Websocket(Protocol):
    """What the connectors use of a websocket connection: websockets' own, or a :class:`RecordedWebsocket`."""

    async def recv(self) -> str | bytes: ...

    async def send(self, message: str) -> None: ...

    async def close(self) -> None: ...


class RecordedWebsocket:
    """A websocket connection whose messages are also told to ``log``: each received as it comes
    (text as the exchange sent it; a binary frame as its UTF-8 text), each sent once it has gone
    unless ``sent`` is false (what is sent is signed: an authenticated subscription)."""

    def __init__(self, ws: ClientConnection, log: ConnectionLog, *, sent: bool = True):
        self.ws, self.log, self.record_sent = ws, log, sent

    async def recv(self) -> str | bytes:
        message = await self.ws.recv()
        self.log.received(message if isinstance(message, str) else message.decode("utf-8", "replace"))
        return message

    async def send(self, message: str) -> None:
        await self.ws.send(message)
        if self.record_sent:
            self.log.sent(message)

    async def close(self) -> None:
        try:
            await self.ws.close()
        finally:
            self.log.close()


class Reconnecting:
    """A connector's websocket life: :meth:`run` its sessions until cancelled, :meth:`spawn` its
    background tasks, :meth:`cancel` them all when it stops.

    ``clock`` (Unix seconds) and ``sleep`` are the connector's own (injected in tests); ``backoff``
    paces the reconnections (0.5 s doubling to 60 s, with jitter, by default); ``traffic`` records
    the connections :meth:`open` opens (public traffic only: see :mod:`.traffic`).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[Any]],
        backoff: Backoff | None = None,
        traffic: TrafficLog | None = None,
    ):
        self.clock, self.sleep, self.traffic = clock, sleep, traffic
        self.backoff = backoff or Backoff(0.5, 60.0, rng=random.Random())
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run(
        self,
        session: Callable[[], Awaitable[str]],
        down: Callable[[str], None],
        *,
        describe: Callable[[BaseException], str] = describe_error,
        before: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        """Run ``session`` for ever: after each end, ``down`` is told why (its return value, or
        ``describe`` of the connection error it raised), then the backoff's delay passes.
        ``before`` is awaited before every try (the account waits out a rate-limit pause)."""
        while True:
            if before is not None:
                await before()
            try:
                reason = await session()
            except CONNECTION_ERRORS as error:
                reason = describe(error)
            down(reason)
            await self.sleep(self.backoff.next_delay())

    @staticmethod
    def connect(url: str, *, ping_interval: float | None, ping_timeout: float | None) -> Any:
        """Open a websocket to ``url`` (await it, or use it with ``async with``): 10 s to open, the
        library's pings at ``ping_interval``, no size limit, no proxy."""
        return connect(
            url,
            open_timeout=10,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            close_timeout=2,
            max_size=None,
            proxy=None,
        )

    async def open(
        self, url: str, *, ping_interval: float | None, ping_timeout: float | None, signed: bool = False
    ) -> Websocket:
        """:meth:`connect` and await it; with a ``traffic`` log, the connection is recorded from its
        opening, what it sends too unless it is ``signed`` (carries a key or a signature)."""
        ws: ClientConnection = await self.connect(url, ping_interval=ping_interval, ping_timeout=ping_timeout)
        if self.traffic is None:
            return ws
        return RecordedWebsocket(ws, self.traffic.connection(url), sent=not signed)

    async def pings(self, ws: Websocket, message: str, interval: float) -> None:
        """Send the exchange's application ping ``message`` every ``interval`` seconds until the
        connection ends (spawn it; it returns quietly when the connection is gone)."""
        try:
            while True:
                await self.sleep(interval)
                await ws.send(message)
        except CONNECTION_ERRORS:
            return

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coroutine`` in a task that :meth:`cancel` ends."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel(self) -> None:
        """Cancel every spawned task and wait for them to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
