"""Keeping exchange leases: one node runs an exchange at a time.

:class:`LeaseKeeper` checks every third of ``cluster.lease_seconds``: it renews the leases this
node holds, each for two thirds of the lease time (the :attr:`~LeaseKeeper.term`), and takes free
or expired ones, up to its share of the enabled exchanges (their number over the live nodes,
rounded up); a node holding more than its share (nodes joined) gives the rest up, for the others
to take at their next check. An owner that dies therefore
leaves its lease to expire within the term, and another node takes it at its next check: within
the lease time in all. A lease whose renewal fails, or that this node has not renewed for a term
by its own clock (the database unreachable), is dropped at once: ``on_lost`` stops everything
the node runs for that exchange. Its own database thread, so that renewals never queue behind
order writes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence

from peewee import Database

from ..storage.leases import Lease, LeaseStore
from ..storage.worker import DatabaseThread

log = logging.getLogger(__name__)


class LeaseKeeper:
    """The leases of ``node``. ``on_gained(exchange)`` runs once a lease is taken (the node then
    starts the exchange), ``on_lost(exchange)`` once it is lost or given up; ``nodes()`` counts the
    live nodes (at least this one)."""

    def __init__(
        self,
        database: Database,
        node: str,
        exchanges: Sequence[str],
        lease_seconds: float,
        *,
        on_gained: Callable[[str], Awaitable[None]],
        on_lost: Callable[[str], Awaitable[None]],
        nodes: Callable[[], Awaitable[int]],
    ):
        self.store = LeaseStore(database)
        self.node, self.exchanges, self.lease_seconds = node, list(exchanges), lease_seconds
        self.on_gained, self.on_lost, self.nodes = on_gained, on_lost, nodes
        self.epochs: dict[str, int] = {}  # the leases held here, by exchange
        self.renewed: dict[str, float] = {}  # when each was last renewed (monotonic, before asking)
        self.seen: dict[str, Lease] = {}  # every lease as last read, by exchange
        self.read_at = time.monotonic()
        self._thread = DatabaseThread()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def interval(self) -> float:
        """Seconds between two checks."""
        return self.lease_seconds / 3

    @property
    def term(self) -> float:
        """Seconds a lease is taken or renewed for: two checks' worth, so that one failed renewal
        is survived and a dead owner's lease is taken within the lease time."""
        return self.lease_seconds * 2 / 3

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop renewing, give the held leases up (another node takes them at once) and end the
        thread; once (a second call does nothing)."""
        if self._stopped:
            return
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for exchange, epoch in list(self.epochs.items()):
            await self._lose(exchange)
            try:
                await self._thread.run(self.store.release, exchange, self.node, epoch)
            except Exception:  # the lease then expires by itself
                log.warning("could not give up the lease of %s; it expires within %g s", exchange, self.term)
        await self._thread.close()

    def owns(self, exchange: str) -> bool:
        """Whether this node holds ``exchange``'s lease, renewed less than a lease time ago."""
        renewed = self.renewed.get(exchange)
        return renewed is not None and time.monotonic() - renewed < self.term

    def epoch(self, exchange: str) -> int | None:
        """The epoch this node holds ``exchange``'s lease at (None: not held, or not renewed for a
        lease time): what fences its writes."""
        return self.epochs.get(exchange) if self.owns(exchange) else None

    def owner(self, exchange: str) -> str | None:
        """The node holding ``exchange``'s lease as last read (None: nobody, or it had expired then).
        Not aged by this node's clock: a read late by a slow check would otherwise lose the owner,
        and a request sent to an owner that is gone or has lost the lease is refused there."""
        if self.owns(exchange):
            return self.node
        lease = self.seen.get(exchange)
        if lease is None or lease.left <= 0:
            return None
        return lease.owner

    def state(self) -> dict[str, tuple[str | None, int, float]]:
        """Per enabled exchange: (owner, epoch, seconds its lease has left), as last read."""
        now = time.monotonic()
        since = now - self.read_at
        out: dict[str, tuple[str | None, int, float]] = {}
        for exchange in self.exchanges:
            if self.owns(exchange):  # as renewed here, not as last read
                left = self.term - (now - self.renewed[exchange])
                out[exchange] = (self.node, self.epochs[exchange], round(left, 3))
                continue
            lease = self.seen.get(exchange)
            left = 0.0 if lease is None else max(0.0, lease.left - since)
            out[exchange] = (self.owner(exchange), 0 if lease is None else lease.epoch, round(left, 3))
        return out

    async def _run(self) -> None:
        while True:
            try:
                await self.cycle()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lease keeping failed; retrying")
            await asyncio.sleep(self.interval)

    async def cycle(self) -> None:
        """Renew what is held, drop what is lost or too old, take free leases up to the share."""
        for exchange, epoch in list(self.epochs.items()):
            asked = time.monotonic()
            try:
                kept = await self._thread.run(self.store.renew, exchange, self.node, epoch, self.term)
            except Exception as error:
                log.warning("renewing the lease of %s failed: %s", exchange, error)
                kept = None
            if kept:
                self.renewed[exchange] = asked
            elif kept is False or asked - self.renewed[exchange] >= self.term:
                log.warning("node %s lost the lease of %s", self.node, exchange)
                await self._lose(exchange)
        read_at = time.monotonic()
        self.seen = {lease.exchange: lease for lease in await self._thread.run(self.store.leases)}
        self.read_at = read_at
        share = math.ceil(len(self.exchanges) / max(1, await self.nodes()))
        while len(self.epochs) > share:  # nodes joined: one gives up what is beyond its share, the others take it
            exchange = sorted(self.epochs)[-1]
            epoch = self.epochs[exchange]
            log.info("node %s gives up the lease of %s: %d exchanges over its share", self.node, exchange, share)
            await self._lose(exchange)
            await self._thread.run(self.store.release, exchange, self.node, epoch)
        for exchange in self.exchanges:
            if len(self.epochs) >= share:
                break
            if exchange in self.epochs or self.owner(exchange) is not None:
                continue
            asked = time.monotonic()
            taken: int | None = await self._thread.run(self.store.take, exchange, self.node, self.term)
            if taken is not None:
                log.info("node %s took the lease of %s (epoch %d)", self.node, exchange, taken)
                self.epochs[exchange], self.renewed[exchange] = taken, asked
                try:
                    await self.on_gained(exchange)
                except Exception:
                    log.exception("starting %s failed; giving its lease up", exchange)
                    await self._lose(exchange)
                    await self._thread.run(self.store.release, exchange, self.node, taken)

    async def _lose(self, exchange: str) -> None:
        self.epochs.pop(exchange, None)
        self.renewed.pop(exchange, None)
        await self.on_lost(exchange)
