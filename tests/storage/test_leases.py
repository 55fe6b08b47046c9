"""Exchange leases on PostgreSQL (cluster mode): taken when free or expired with a new epoch, renewed
by their owner only, and fencing an old owner's order writes."""

import dataclasses
import time
import unittest
from decimal import Decimal as D

from exchange_wrapper.core.errors import ExchangeUnavailable
from exchange_wrapper.core.orders import Order, OrderStatus, OrderType, Side
from exchange_wrapper.storage import models
from exchange_wrapper.storage.leases import LeaseStore
from exchange_wrapper.storage.orders import OrderStore
from exchange_wrapper.storage.wallets import WalletStore
from tests.storage.dbs import OnPostgres


def expire() -> None:
    """Let every lease taken for 0.2 s run out."""
    time.sleep(0.25)


class LeaseCases(OnPostgres, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.leases = LeaseStore(self.db)

    def test_a_lease_is_taken_when_free_or_expired_each_time_with_a_new_epoch(self):
        self.assertEqual(self.leases.take("coinbase", "a", 0.2), 1)
        self.assertIsNone(self.leases.take("coinbase", "b", 0.2))  # a holds it
        self.assertEqual(self.leases.take("kraken", "b", 10), 1)  # another exchange: its own lease
        expire()
        self.assertEqual(self.leases.take("coinbase", "b", 10), 2)
        held = {lease.exchange: lease for lease in self.leases.leases()}
        self.assertEqual((held["coinbase"].owner, held["coinbase"].epoch), ("b", 2))
        self.assertGreater(held["coinbase"].left, 9)
        self.assertEqual(self.leases.take("coinbase", "b", 10), 3)  # a restarted node takes its own back

    def test_only_the_owner_at_its_epoch_renews_and_releasing_frees_it_at_once(self):
        self.leases.take("coinbase", "a", 0.2)
        self.assertTrue(self.leases.renew("coinbase", "a", 1, 0.2))
        self.assertFalse(self.leases.renew("coinbase", "b", 1, 10))
        self.assertFalse(self.leases.renew("coinbase", "a", 2, 10))
        expire()
        self.assertFalse(self.leases.renew("coinbase", "a", 1, 10))  # expired: it may have been taken
        self.leases.take("coinbase", "a", 10)  # epoch 2
        self.leases.release("coinbase", "a", 2)
        self.assertEqual(self.leases.take("coinbase", "b", 10), 3)

    def test_an_old_owners_late_order_write_is_refused_whole(self):
        wallets = WalletStore(self.db)
        wallet_set = wallets.create_wallet_set("paper-1", "paper").id
        wallets.move_funds("fund", wallet_set, "coinbase", "USD", D("1000"))
        epoch = self.leases.take("coinbase", "a", 0.2)
        held = {"epoch": epoch}
        store = OrderStore(self.db, wallets, fence=lambda exchange: self.leases.check(exchange, "a", held["epoch"]))
        order = Order(
            id="",
            client_order_id="first",
            wallet_set_id=wallet_set,
            exchange="coinbase",
            pair="SKL_USD",
            side=Side.BUY,
            type=OrderType.LIMIT,
            size=D("10"),
            price=D("0.5"),
            created_at=100.0,
            updated_at=100.0,
        )
        store.create(order, ("USD", D("5.03")), "paper")  # a holds the lease: written
        expire()
        self.leases.take("coinbase", "b", 10)  # b took coinbase over
        late = dataclasses.replace(order, id="", client_order_id="late")
        with self.assertRaises(ExchangeUnavailable) as caught:
            store.create(late, ("USD", D("5.03")), "paper")
        self.assertIn("no longer holds its lease", str(caught.exception))
        cancelled = order.transition(OrderStatus.CANCELLED, 101.0, "cancelled")
        with self.assertRaises(ExchangeUnavailable):
            store.record([cancelled], {order.id: order})
        self.assertEqual([row.client_order_id for row in models.Order.select()], ["first"])
        self.assertEqual(models.Order.get().status, "pending")  # the cancel was not written
        self.assertEqual(wallets.held(wallet_set, order.id), D("5.03"))  # nor was its hold released
        with self.assertRaises(ExchangeUnavailable):  # no epoch at all: refused as well
            OrderStore(self.db, wallets, fence=lambda exchange: self.leases.check(exchange, "a", None)).create(
                dataclasses.replace(order, id="", client_order_id="none"), ("USD", D("1")), "paper"
            )
