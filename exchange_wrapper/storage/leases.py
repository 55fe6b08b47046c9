"""Exchange leases (cluster mode, PostgreSQL only): which node runs an exchange, until when, and
the epoch that fences an older owner's writes.

Every time is the database's own clock (``clock_timestamp()``), so that the nodes' clocks never
have to agree. A lease is taken when it is free or expired (its epoch then grows by one), renewed
only by its owner at its epoch, and checked by :meth:`LeaseStore.check` inside each transaction
that changes an exchange's orders or ledger: a node that lost the lease writes nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import Database

from ..core.errors import ExchangeUnavailable
from . import sql

#: Microseconds of the database's clock, now (not the transaction's start: a lease is timed live).
_NOW = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"

_TAKE = (
    'INSERT INTO "exchange_lease" (exchange, owner, epoch, expires_at) '
    f"VALUES (?, ?, 1, {_NOW} + ?) "
    "ON CONFLICT (exchange) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at, "
    '"epoch" = "exchange_lease".epoch + 1 '
    f'WHERE "exchange_lease".expires_at < {_NOW} OR "exchange_lease".owner = EXCLUDED.owner '
    "RETURNING epoch"
)
_RENEW = (
    f'UPDATE "exchange_lease" SET expires_at = {_NOW} + ? '
    f"WHERE exchange = ? AND owner = ? AND epoch = ? AND expires_at >= {_NOW} RETURNING epoch"
)
_RELEASE = 'UPDATE "exchange_lease" SET expires_at = 0 WHERE exchange = ? AND owner = ? AND epoch = ?'
_ALL = f'SELECT exchange, owner, epoch, expires_at - {_NOW} FROM "exchange_lease" ORDER BY exchange'
_CHECK = 'SELECT epoch FROM "exchange_lease" WHERE exchange = ? AND owner = ? AND epoch = ? FOR SHARE'


@dataclass(frozen=True)
class Lease:
    """An exchange's lease as the database has it: ``left`` seconds until it expires (negative: expired)."""

    exchange: str
    owner: str
    epoch: int
    left: float


class LeaseStore:
    """The ``exchange_lease`` table. Call from one thread per connection (a database thread)."""

    def __init__(self, db: Database):
        self.db = db

    def take(self, exchange: str, node: str, seconds: float) -> int | None:
        """Take ``exchange`` for ``node`` for ``seconds`` if it is free, expired or already
        ``node``'s (a restarted node takes its own back): the new epoch, or None if another node
        holds it."""
        with self.db.atomic():
            found = sql.rows(self.db, _TAKE, (exchange, node, int(seconds * 1_000_000)))
        return int(found[0][0]) if found else None

    def renew(self, exchange: str, node: str, epoch: int, seconds: float) -> bool:
        """Extend ``node``'s lease at ``epoch`` by ``seconds`` from now; False if it expired or
        another node took it (the node must stop acting for the exchange)."""
        with self.db.atomic():
            found = sql.rows(self.db, _RENEW, (int(seconds * 1_000_000), exchange, node, epoch))
        return bool(found)

    def release(self, exchange: str, node: str, epoch: int) -> None:
        """Give the lease up at once (a node stopping): another node may take it now."""
        with self.db.atomic():
            sql.run(self.db, _RELEASE, (exchange, node, epoch))

    def leases(self) -> list[Lease]:
        """Every exchange's lease, expired ones included."""
        return [
            Lease(exchange, owner, int(epoch), int(left) / 1_000_000)
            for exchange, owner, epoch, left in sql.rows(self.db, _ALL)
        ]

    def check(self, exchange: str, node: str, epoch: int | None) -> None:
        """Inside a write transaction: ExchangeUnavailable unless ``node`` still holds ``exchange``
        at ``epoch``. The row stays share-locked to the commit, so no takeover lands in between."""
        if epoch is None or not sql.rows(self.db, _CHECK, (exchange, node, epoch)):
            raise ExchangeUnavailable(exchange, f"node {node} no longer holds its lease (another node took it over)")
