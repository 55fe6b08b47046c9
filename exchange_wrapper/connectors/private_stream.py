"""A live account's authenticated stream, kept subscribed on the shared reconnecting stream.

:class:`PrivateStream` fetches the log-in token where the exchange wants one, connects, logs in and
subscribes (a sequential adapter's log-in between its REST calls: Bitfinex's nonce is shared), sends
the application pings, and hands what the exchange pushes to the account: order reports, balances,
and the news of each subscription after the first (what was said meanwhile is lost: the account asks
about its orders). No connection is tried while the account's calls are paused; a handshake refused
with the exchange's rate-limit answer pauses them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from websockets.exceptions import InvalidStatus

from ..core.errors import XWrapError
from ..core.execution import OrderReport
from ..exchanges.http import Response
from ..exchanges.private import AccountBalances, PrivateAdapter, StreamNotice, StreamReply
from .calls import AccountCalls
from .stream import CONNECTION_ERRORS, Reconnecting

log = logging.getLogger(__name__)


class _StreamEnded(Exception):
    """The exchange ended the subscription (or refused it)."""


class PrivateStream:
    """The stream of ``adapter``'s account at ``url``: :meth:`run` until cancelled.

    ``on_message`` is called for every message (something may have changed on the account),
    ``on_report`` and ``on_balances`` with what it says, ``on_resubscribed`` once a subscription
    after the first is confirmed. :attr:`up` says whether the stream is subscribed now, :attr:`state`
    how it is (for the status).
    """

    def __init__(
        self,
        name: str,
        adapter: PrivateAdapter,
        url: str,
        calls: AccountCalls,
        connection: Reconnecting,
        *,
        on_message: Callable[[], None],
        on_report: Callable[[OrderReport], Awaitable[Any]],
        on_balances: Callable[[AccountBalances], Awaitable[Any]],
        on_resubscribed: Callable[[], Coroutine[Any, Any, Any]],
    ):
        self.name, self.adapter, self.url, self.calls, self.connection = name, adapter, url, calls, connection
        self.on_message, self.on_report, self.on_balances = on_message, on_report, on_balances
        self.on_resubscribed = on_resubscribed
        self.up = False  # subscribed: the exchange tells what happens on the account as it happens
        self.state = "not connected"
        self.subscriptions = 0

    async def run(self) -> None:
        await self.connection.run(
            self._session,
            self._down,
            describe=lambda error: f"{type(error).__name__}: {error}",
            before=self.calls.pause_over,
        )

    async def _session(self) -> str:
        adapter, url = self.adapter, self.url
        try:
            token = adapter.stream_token_request()
            if token is not None:
                adapter.stream_token(await self.calls.call(token))
            async with self.connection.connect(url, ping_interval=60, ping_timeout=30) as ws:
                self.state = f"subscribing on {url}"
                # a sequential adapter's log-in may take a nonce its REST calls share (Bitfinex)
                async with self.calls.sending if adapter.sequential else contextlib.nullcontext():
                    for message in adapter.stream_subscribe(self.calls.exchange_time()):
                        await ws.send(message)
                if adapter.stream_ping is not None:
                    self.connection.spawn(self.connection.pings(ws, adapter.stream_ping, adapter.stream_ping_interval))
                async for message in ws:
                    self.on_message()
                    for event in adapter.parse_stream(message, self.calls.clock()):
                        if isinstance(event, StreamNotice):
                            if event.fatal:
                                raise _StreamEnded(event.text)
                            self.subscriptions += 1
                            self.up, self.state = True, f"subscribed on {url}"
                            self.connection.backoff.reset()
                            if self.subscriptions > 1:
                                self.connection.spawn(self.on_resubscribed())
                        elif isinstance(event, StreamReply):
                            for reply in event.messages:
                                await ws.send(reply)
                        elif isinstance(event, AccountBalances):
                            await self.on_balances(event)
                        else:
                            await self.on_report(event)
            return "connection closed"
        except InvalidStatus as error:  # the handshake refused: a 429/418 pauses the account
            answer = error.response
            headers = {name.lower(): value for name, value in answer.headers.raw_items()}
            refusal = Response(answer.status_code, headers, (answer.body or b"").decode(errors="replace"))
            pause = adapter.pause_for(refusal, self.calls.exchange_time())
            if pause is not None:
                self.calls.pause(pause, refusal)
            return f"handshake refused: HTTP {refusal.status}"
        except CONNECTION_ERRORS:
            raise
        except (_StreamEnded, XWrapError, ValueError) as error:
            return str(error)
        except Exception as error:  # a bug must not end the stream
            log.exception("%s user data stream failed", self.name)
            return f"{type(error).__name__}: {error}"

    def _down(self, reason: str) -> None:
        self.up, self.state = False, f"down: {reason}"
        log.warning("%s user data stream down: %s", self.name, reason)
