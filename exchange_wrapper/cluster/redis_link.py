"""The node's one Redis connection pool and its channels: one listener task per subscription,
messages as JSON (amounts as strings, as on the doors)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any

import redis.asyncio as redis

from ..core.decimal_text import format_decimal
from ..core.pairs import Pair

log = logging.getLogger(__name__)


def dumps(value: Any) -> str:
    """JSON of a value the service publishes or forwards: Decimals as their exact text, enums as
    their values, pairs as their names."""
    return json.dumps(value, default=_plain, separators=(",", ":"))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (Pair, set, frozenset, tuple)):
        return str(value) if isinstance(value, Pair) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


class RedisLink:
    """Keys and channels under ``prefix`` on the Redis at ``url``. ``listen(channel, handler)``
    calls ``handler(message)`` for each JSON message published there, on the loop, until
    :meth:`close`."""

    def __init__(self, url: str, prefix: str):
        self.redis: redis.Redis = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix
        self._tasks: list[asyncio.Task[None]] = []

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def publish(self, channel: str, message: Any) -> int:
        """Publish ``message`` on ``channel``; the number of nodes listening there."""
        return int(await self.redis.publish(channel, dumps(message)))

    async def listen(self, channel: str, handler: Callable[[Any], None]) -> None:
        """Subscribe now (messages published from the return on are received), then hand each to ``handler``."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)
        self._tasks.append(asyncio.create_task(self._receive(pubsub, channel, handler)))

    async def _receive(self, pubsub: Any, channel: str, handler: Callable[[Any], None]) -> None:
        try:
            while True:
                try:
                    message = await pubsub.get_message(timeout=1.0)
                except redis.ConnectionError as error:  # redis-py subscribes again as it reconnects
                    log.warning("Redis subscription %s: %s; retrying", channel, error)
                    await asyncio.sleep(0.5)
                    continue
                if message is None or message.get("type") != "message":
                    continue
                try:
                    handler(json.loads(message["data"]))
                except Exception:
                    log.exception("a message on %s could not be handled", channel)
        finally:
            await pubsub.aclose()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.redis.aclose()
