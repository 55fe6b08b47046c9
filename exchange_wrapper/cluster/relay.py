"""Notifications on every node: what trading publishes here goes to this node's subscribers and,
through Redis, to every other node's; each node hands another's to its own subscribers only, so
that a client receives each event once whichever node it is connected to.

Only the topics that happen on one node for the whole cluster travel (orders, fills and wallets:
an exchange's owner, or the node that moved the money); ``books`` and ``status`` each node
publishes of its own hub, so they never travel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from .redis_link import RedisLink

log = logging.getLogger(__name__)

#: The topics that travel between nodes.
RELAYED = frozenset({"orders", "fills", "wallets"})


class EventRelay:
    """``publish(topic, payload)`` in place of the bus's: ``local(topic, payload)`` now, and the
    other nodes through Redis. :meth:`start` listens for theirs."""

    def __init__(self, link: RedisLink, node: str, local: Callable[[str, Any], None]):
        self.link, self.node, self.local = link, node, local
        self.channel = link.key("events")
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.link.listen(self.channel, self._received)
        self._sender = asyncio.create_task(self._send())

    async def stop(self) -> None:
        """Send what is queued, then stop."""
        if self._sender is not None:
            await self._queue.join()
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)

    def publish(self, topic: str, payload: Any) -> None:
        self.local(topic, payload)
        if topic in RELAYED:
            self._queue.put_nowait((topic, payload))

    async def _send(self) -> None:
        """One at a time, in the order published: a client sees an order's updates in order."""
        while True:
            topic, payload = await self._queue.get()
            try:
                await self.link.publish(self.channel, {"node": self.node, "topic": topic, "payload": payload})
            except Exception:
                log.exception("a %s notification could not be sent to the other nodes", topic)
            finally:
                self._queue.task_done()

    def _received(self, message: Any) -> None:
        if message.get("node") != self.node and message.get("topic") in RELAYED:
            self.local(message["topic"], message["payload"])
