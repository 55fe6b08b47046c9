"""The service's notifications: the topics of :data:`exchange_wrapper.contract.TOPICS`, which the doors
forward to subscribed clients.

Publishing never blocks and never fails the publisher: each subscriber has a bounded queue, and
a subscriber that falls too far behind loses its oldest notifications (it is told how many).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any


class Subscription:
    """One client's view of the bus: ``await get()`` the next (topic, payload)."""

    def __init__(self, bus: EventBus, topics: set[str], limit: int):
        self.bus, self.topics, self.limit = bus, topics, limit
        self.queue: deque[tuple[str, Any]] = deque()
        self.dropped = 0
        self._ready = asyncio.Event()

    def offer(self, topic: str, payload: Any) -> None:
        if len(self.queue) >= self.limit:
            self.queue.popleft()
            self.dropped += 1
        self.queue.append((topic, payload))
        self._ready.set()

    async def get(self) -> tuple[str, Any]:
        while not self.queue:
            self._ready.clear()
            await self._ready.wait()
        return self.queue.popleft()

    def close(self) -> None:
        self.bus.subscriptions.discard(self)


class EventBus:
    def __init__(self, queue_limit: int = 10_000):
        self.queue_limit = queue_limit
        self.subscriptions: set[Subscription] = set()

    def subscribe(self, topics: set[str]) -> Subscription:
        subscription = Subscription(self, set(topics), self.queue_limit)
        self.subscriptions.add(subscription)
        return subscription

    def publish(self, topic: str, payload: Any) -> None:
        for subscription in tuple(self.subscriptions):
            if topic in subscription.topics:
                subscription.offer(topic, payload)
