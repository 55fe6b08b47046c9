"""One node of a cluster: what it runs (the exchanges whose leases it holds), where it sends the
rest, and how it hears of the others.

The server makes a :class:`ClusterNode` when ``cluster.node`` is set, before trading (whose
writes it fences and whose notifications it relays), and starts it once the API exists. Taking
an exchange's lease starts its feed and takes over its open orders from the database, as a
restart does; losing it drops them at once and stops the feed, and the node's book copy of it
follows the new owner's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from peewee import Database

from ..config import Settings
from ..connectors.feed import ExchangeFeed, start_feed
from ..core.errors import ExchangeUnavailable
from ..core.exchanges import EXCHANGE_NAMES
from ..marketdata.hub import MarketDataHub
from ..storage.leases import LeaseStore
from ..trading.order_path import Trading
from .forwarding import FORWARDED, Forwarder, Handler
from .leases import LeaseKeeper
from .mirror import BookMirror
from .redis_link import RedisLink
from .relay import EventRelay

log = logging.getLogger(__name__)


class ClusterNode:
    """This node in the cluster the settings name. ``publish_local(topic, payload)`` is the node's
    own bus; :meth:`publish` (what trading is given) also reaches the other nodes."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        hub: MarketDataHub,
        publish_local: Callable[[str, Any], None],
        *,
        feed_options: dict[str, Any] | None = None,
    ):
        cluster = settings.cluster
        self.settings, self.hub, self.name = settings, hub, cluster.node
        self.lease_seconds = float(cluster.lease_seconds)
        self.exchanges = [name for name in EXCHANGE_NAMES if settings.exchange(name).enabled]
        self.feed_options = feed_options or {}
        self.link = RedisLink(cluster.redis, cluster.key_prefix)
        self.relay = EventRelay(self.link, self.name, publish_local)
        self.keeper = LeaseKeeper(
            database,
            self.name,
            self.exchanges,
            self.lease_seconds,
            on_gained=self._gained,
            on_lost=self._lost,
            nodes=self._live_nodes,
        )
        self.mirror = BookMirror(self.link, self.name, hub, self.exchanges, self.keeper.owns)
        self.leases = LeaseStore(database)  # the fence, on trading's database thread
        self.feeds: dict[str, ExchangeFeed] = {}
        self.trading: Trading | None = None
        self.forwarder: Forwarder | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    # -- what the server wires in -------------------------------------------------------------------

    def publish(self, topic: str, payload: Any) -> None:
        self.relay.publish(topic, payload)

    def fence(self, exchange: str) -> None:
        """Inside an order transaction (the database thread): refused unless this node still holds
        ``exchange``'s lease at the epoch it took it with."""
        self.leases.check(exchange, self.name, self.keeper.epoch(exchange))

    async def start(self, trading: Trading, handle: Handler) -> None:
        """Join: listen for the others' notifications and requests (answered with ``handle(name,
        values)``), announce this node, then keep leases and book copies."""
        self.trading = trading
        await self.link.redis.ping()
        await self.relay.start()
        self.forwarder = Forwarder(self.link, self.name, handle, timeout=self.lease_seconds)
        await self.forwarder.start()
        await self._announce()
        self._heartbeat = asyncio.create_task(self._beat())
        self.keeper.start()
        self.mirror.start()

    async def stop(self) -> None:
        """Give every lease up (the other nodes take them at once), then leave."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        await self.mirror.stop()
        await self.keeper.stop()
        if self.forwarder is not None:
            await self.forwarder.stop()
        await self.relay.stop()
        try:
            await self.link.redis.delete(self.link.key("alive", self.name))
        except Exception:  # it expires by itself
            pass
        await self.link.close()

    # -- routing ------------------------------------------------------------------------------------

    def owner(self, exchange: str) -> str | None:
        """Where a request for ``exchange`` goes: None for here, else the owner's name;
        ExchangeUnavailable when no node holds its lease (or a forwarded request reached a node
        that no longer does)."""
        if self.keeper.owns(exchange):
            return None
        owner = self.keeper.owner(exchange)
        if owner is None or FORWARDED.get():
            raise ExchangeUnavailable(
                exchange, "no node runs it now (its lease is free; another node takes it within the lease time)"
            )
        return owner

    async def forward(self, owner: str, exchange: str, name: str, values: Mapping[str, Any]) -> Any:
        assert self.forwarder is not None  # started
        return await self.forwarder.forward(owner, exchange, name, values)

    def leads(self) -> bool:
        """Whether this node does now what the cluster does once (the equity samples): the holder of
        the first enabled exchange's lease."""
        return bool(self.exchanges) and self.keeper.owns(self.exchanges[0])

    def status(self) -> dict[str, Any]:
        """This node's name and every enabled exchange's lease as last read."""
        return {
            "node": self.name,
            "exchanges": {
                exchange: {"owner": owner, "epoch": epoch, "lease_left": left}
                for exchange, (owner, epoch, left) in self.keeper.state().items()
            },
        }

    # -- leases -------------------------------------------------------------------------------------

    async def _gained(self, exchange: str) -> None:
        assert self.trading is not None
        self.hub.forget(exchange)  # the copy of the old owner's books: the feed follows its own
        feed = start_feed(self.settings, self.hub, exchange, **self.feed_options)
        if feed is not None:
            self.feeds[exchange] = feed
        await self.trading.adopt(exchange)

    async def _lost(self, exchange: str) -> None:
        if self.trading is not None:
            self.trading.release(exchange)
        feed = self.feeds.pop(exchange, None)
        if feed is not None:
            await feed.stop()

    # -- membership ---------------------------------------------------------------------------------

    async def _announce(self) -> None:
        await self.link.redis.set(self.link.key("alive", self.name), "1", px=int(self.lease_seconds * 1000))

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await self._announce()
            except Exception as error:
                log.warning("node %s could not tell Redis it is alive: %s", self.name, error)

    async def _live_nodes(self) -> int:
        """The nodes that said they are alive within a lease time (this one at least)."""
        count = 0
        async for _ in self.link.redis.scan_iter(match=self.link.key("alive", "*"), count=100):
            count += 1
        return max(1, count)
