"""Order requests for an exchange another node runs, sent to that node over Redis and answered
with its result (request and reply, with a timeout).

Each node listens on its own channel; a request names the operation, its parameters (as the
doors give them, amounts as strings) and the channel to answer on. The owner runs it as any door
would (:meth:`handle`, marked as forwarded so that it is never sent on again) and publishes the
result or the error; the asking node returns the one or raises the other as the owner did.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any

from ..core.errors import ExchangeUnavailable, XWrapError
from .redis_link import RedisLink

log = logging.getLogger(__name__)

#: Seconds an asking node waits for the owner's answer before ``exchange_unavailable``.
FORWARD_TIMEOUT = 10.0

#: Seconds the operations that may take long on the owner are waited for (one cancel per open order).
SLOW_OPERATIONS = {"cancel_all_orders": 120.0}

#: True while a forwarded request runs on its owner: it is answered here or refused, never sent on.
FORWARDED: ContextVar[bool] = ContextVar("forwarded", default=False)


class RemoteError(XWrapError):
    """An error another node answered a forwarded request with: its kind, message and details, as it said them."""

    def __init__(self, kind: str, message: str, details: dict[str, Any]):
        super().__init__(message)
        self.kind, self._details = kind, details

    def details(self) -> dict[str, Any]:
        return self._details


Handler = Callable[[str, Mapping[str, Any]], Awaitable[Any]]


class Forwarder:
    """Sends requests to other nodes (:meth:`forward`) and answers theirs with ``handle(name, values)``."""

    def __init__(self, link: RedisLink, node: str, handle: Handler, *, timeout: float = FORWARD_TIMEOUT):
        self.link, self.node, self.handle, self.timeout = link, node, handle, timeout
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self.forwarded = 0  # requests sent to another node
        self.answered = 0  # requests of other nodes answered here

    def _requests(self, node: str) -> str:
        return self.link.key("node", node, "requests")

    def _replies(self, node: str) -> str:
        return self.link.key("node", node, "replies")

    async def start(self) -> None:
        await self.link.listen(self._requests(self.node), self._request)
        await self.link.listen(self._replies(self.node), self._reply)

    async def stop(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        for future in self._waiting.values():
            future.cancel()

    async def forward(self, owner: str, exchange: str, name: str, values: Mapping[str, Any]) -> Any:
        """Operation ``name`` with ``values`` run on node ``owner``: its result, or its error raised
        here; ExchangeUnavailable if nobody listens there (the node is gone) or it does not answer
        within the timeout (:data:`SLOW_OPERATIONS`: longer)."""
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        self.forwarded += 1
        try:
            listening = await self.link.publish(
                self._requests(owner), {"id": request_id, "from": self.node, "name": name, "values": dict(values)}
            )
            if not listening:
                raise ExchangeUnavailable(
                    exchange, f"node {owner}, which held its lease, is gone (another node takes it over soon)"
                )
            timeout = max(self.timeout, SLOW_OPERATIONS.get(name, 0.0))
            async with asyncio.timeout(timeout):
                answer = await future
        except TimeoutError:
            raise ExchangeUnavailable(
                exchange, f"node {owner}, which runs it, did not answer within {timeout:g} s"
            ) from None
        finally:
            self._waiting.pop(request_id, None)
        if "error" in answer:
            error = answer["error"]
            raise RemoteError(error["kind"], error["message"], error.get("details") or {})
        return answer["result"]

    def _request(self, message: Any) -> None:
        task = asyncio.create_task(self._answer(message))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _answer(self, message: Any) -> None:
        FORWARDED.set(True)  # this task's context only
        reply: dict[str, Any] = {"id": message["id"]}
        try:
            reply["result"] = await self.handle(message["name"], message["values"])
        except XWrapError as error:
            reply["error"] = {"kind": error.kind, "message": str(error), "details": error.details()}
        except Exception as error:
            log.exception("a forwarded %s failed", message.get("name"))
            reply["error"] = {"kind": "internal_error", "message": f"internal error on node {self.node}: {error}"}
        self.answered += 1
        await self.link.publish(self._replies(message["from"]), reply)

    def _reply(self, message: Any) -> None:
        future = self._waiting.get(message.get("id"))
        if future is not None and not future.done():
            future.set_result(message)
