"""LeaseKeeper on PostgreSQL: exchanges spread over the live nodes, given up beyond a node's share,
and a lease lost to another node stops the node acting for that exchange at once."""

import unittest

from exchange_wrapper.cluster.leases import LeaseKeeper
from exchange_wrapper.storage.database import close_database, open_database
from exchange_wrapper.storage.leases import LeaseStore
from tests.storage.dbs import admin, empty_postgres_url


class Node:
    """A keeper of ``name`` with what it was told: the exchanges gained and lost, in order."""

    def __init__(self, db, name: str, nodes: int):
        self.told: list[tuple[str, str]] = []
        self.nodes = nodes
        self.keeper = LeaseKeeper(
            db, name, ["coinbase", "kraken"], 3, on_gained=self.gained, on_lost=self.lost, nodes=self.count
        )

    async def gained(self, exchange: str) -> None:
        self.told.append(("gained", exchange))

    async def lost(self, exchange: str) -> None:
        self.told.append(("lost", exchange))

    async def count(self) -> int:
        return self.nodes


class LeaseKeeperTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.url = empty_postgres_url(self)
        self.db = open_database(self.url)
        self.addCleanup(close_database, self.db)

    async def asyncSetUp(self):
        self.a, self.b = Node(self.db, "a", 1), Node(self.db, "b", 2)
        for node in (self.a, self.b):
            self.addAsyncCleanup(node.keeper.stop)

    async def test_exchanges_spread_over_the_nodes_as_they_join(self):
        await self.a.keeper.cycle()  # alone: a takes both
        self.assertEqual(self.a.told, [("gained", "coinbase"), ("gained", "kraken")])
        self.assertEqual(self.a.keeper.state()["kraken"][:2], ("a", 1))
        await self.b.keeper.cycle()  # both held: b takes nothing yet
        self.assertEqual(self.b.told, [])
        self.a.nodes = 2
        await self.a.keeper.cycle()  # over its share: a gives kraken up
        self.assertEqual(self.a.told[-1], ("lost", "kraken"))
        self.assertFalse(self.a.keeper.owns("kraken"))
        await self.b.keeper.cycle()
        self.assertEqual(self.b.told, [("gained", "kraken")])
        self.assertEqual(self.b.keeper.epoch("kraken"), 2)
        self.assertEqual(self.b.keeper.owner("coinbase"), "a")

    async def test_a_lease_lost_to_another_node_stops_the_old_owner_at_its_next_check(self):
        await self.a.keeper.cycle()
        epoch = self.a.keeper.epoch("coinbase")
        # the database says a's lease ran out (a paused too long) and node c took coinbase
        admin(self.url, "UPDATE exchange_lease SET expires_at = 0 WHERE exchange = 'coinbase'")
        self.assertEqual(LeaseStore(self.db).take("coinbase", "c", 10), epoch + 1)
        await self.a.keeper.cycle()
        self.assertIn(("lost", "coinbase"), self.a.told)
        self.assertIsNone(self.a.keeper.epoch("coinbase"))
        self.assertEqual(self.a.keeper.owner("coinbase"), "c")
        self.assertTrue(self.a.keeper.owns("kraken"))  # the other lease is still a's

    async def test_a_stopping_node_gives_its_leases_up_at_once(self):
        await self.a.keeper.cycle()
        await self.a.keeper.stop()
        self.assertEqual(self.a.told[-2:], [("lost", "coinbase"), ("lost", "kraken")])
        self.b.nodes = 1
        await self.b.keeper.cycle()  # no need to wait for the leases to expire
        self.assertEqual(self.b.told, [("gained", "coinbase"), ("gained", "kraken")])
