"""Run tags stored on orders and fills, statements and account views read back, on both databases.

The fills come from the matching engine on the real Coinbase SKL-USD book (tests/storage/test_orders.py)."""

from decimal import Decimal as D

from exchange_wrapper.core.book import OrderBook
from exchange_wrapper.core.errors import InvalidParameter
from exchange_wrapper.core.matching import MatchingEngine
from exchange_wrapper.core.orders import OrderStatus
from exchange_wrapper.storage import database, models
from exchange_wrapper.storage.database import close_database, open_database
from exchange_wrapper.storage.models import SchemaVersion
from exchange_wrapper.storage.orders import OrderStore
from exchange_wrapper.storage.statements import Statements
from exchange_wrapper.storage.verify import verify_ledger
from exchange_wrapper.storage.wallets import WalletStore
from tests.storage.dbs import DatabaseCase, on_both_databases
from tests.storage.test_orders import ASKS, BIDS, SKL_USD, OrderCases


class StatementCases(DatabaseCase):
    # the order cases' helpers: orders of self.ws placed on the SKL-USD engine, its balances
    order, place, balance = OrderCases.order, OrderCases.place, OrderCases.balance

    def setUp(self):
        super().setUp()
        self.wallets = WalletStore(self.db)
        self.store = OrderStore(self.db, self.wallets)
        self.ws = self.wallets.create_wallet_set("paper-1", "paper").id
        for currency, amount in (("USD", D(1000)), ("SKL", D(500))):
            self.wallets.move_funds("fund", self.ws, "coinbase", currency, amount)
        book = OrderBook("coinbase", "SKL_USD")
        book.apply_snapshot(BIDS, ASKS, 100.0)
        self.engine = MatchingEngine(SKL_USD, book)
        self.numbers = iter(range(1, 1000))

    def statements(self):
        return Statements(self.db, self.wallets)

    def test_a_tag_is_stored_on_the_order_and_its_fills_and_filters_the_orders(self):
        tagged = self.order("buy", "market", size=str(ASKS[0][1] + 10), tag="run-7")
        self.place(tagged)
        plain = self.order("sell", price=str(ASKS[0][0] + D("0.01")), size="50")
        self.place(plain)
        self.assertEqual(self.store.get(tagged.id).tag, "run-7")
        self.assertIsNone(self.store.get(plain.id).tag)
        fills = models.Fill.select(models.Fill.order, models.Fill.tag).order_by(models.Fill.id)
        self.assertEqual([(str(f.order_id), f.tag) for f in fills], [(tagged.id, "run-7"), (tagged.id, "run-7")])
        self.assertEqual([o.id for o in self.store.find(wallet_set_id=self.ws, tag="run-7")], [tagged.id])
        self.assertEqual([o.id for o in self.store.find(wallet_set_id=self.ws)], [plain.id, tagged.id])
        self.assertEqual(self.store.find(tag="run-8"), [])

    def test_the_statement_chains_every_balance_and_ends_at_the_wallets(self):
        other = self.wallets.create_wallet_set("paper-2", "paper").id
        buy = self.order("buy", "market", size=str(ASKS[0][1] + 10))
        self.place(buy)
        sell = self.order("sell", price=str(ASKS[0][0] + D("0.01")), size="50")
        self.place(sell)
        self.store.record(self.engine.cancel(sell.id, 102.0), {sell.id: sell})
        self.wallets.transfer(self.ws, other, "coinbase", "USD", D("12.5"))
        self.assertEqual(self.store.get(sell.id).status, OrderStatus.CANCELLED)

        info, lines, following = self.statements().statement(self.ws, limit=1000)
        self.assertEqual((info.id, following), (self.ws, None))
        oldest_first = lines[::-1]
        self.assertEqual(
            [(line.kind, line.currency) for line in oldest_first],
            [
                ("fund", "USD"),
                ("fund", "SKL"),
                ("hold", "USD"),
                ("fill", "SKL"),  # the first level: SKL in, USD out, then the fee
                ("fill", "USD"),
                ("fee", "USD"),
                ("fill", "SKL"),
                ("fill", "USD"),
                ("fee", "USD"),
                ("release", "USD"),
                ("hold", "SKL"),
                ("release", "SKL"),
                ("transfer", "USD"),
            ],
        )
        running: dict = {}
        for line in oldest_first:  # each line's balance and hold after are the ones before plus its change
            balance, hold = running.get(line.currency, (D(0), D(0)))
            self.assertEqual((line.balance, line.hold), (balance + line.amount, hold + line.hold_change), line)
            self.assertGreaterEqual(line.available, 0, line)
            running[line.currency] = (line.balance, line.hold)
        for currency in ("USD", "SKL"):
            wallet = self.balance(currency)
            self.assertEqual(running[currency], (wallet.balance, wallet.hold), currency)
        fills = self.store.fills([buy.id])[buy.id]
        fee_lines = [line for line in oldest_first if line.kind == "fee"]
        self.assertEqual([-line.amount for line in fee_lines], [f.fee for f in fills])
        self.assertEqual({(line.order_id, line.counterparty) for line in fee_lines}, {(buy.id, "fees")})
        self.assertEqual(
            [(line.trade_id, line.amount) for line in oldest_first if line.kind == "fill" and line.currency == "USD"],
            [(f.trade_id, -f.price * f.size) for f in fills],
        )
        transfer = oldest_first[-1]
        self.assertEqual((transfer.amount, transfer.counterparty), (D("-12.5"), f"wallet_set:{other}"))
        self.assertEqual(oldest_first[0].counterparty, "virtual_funding")
        # the other set's statement is its own: the transfer coming in
        _, theirs, _ = self.statements().statement(other)
        self.assertEqual(
            [(t.kind, t.amount, t.balance, t.counterparty) for t in theirs],
            [("transfer", D("12.5"), D("12.5"), f"wallet_set:{self.ws}")],
        )
        self.assertTrue(verify_ledger(self.db).ok)

        # filters and pages: the same lines, whichever way they are asked for
        statements = self.statements()
        self.assertEqual(statements.statement(self.ws, kind="fee")[1], fee_lines[::-1])
        self.assertEqual(
            statements.statement(self.ws, currency="SKL")[1], [line for line in lines if line.currency == "SKL"]
        )
        paged, cursor = [], None
        while True:
            _, page, cursor = statements.statement(self.ws, limit=4, cursor=cursor)
            self.assertLessEqual(len(page), 4)
            paged += page
            if cursor is None:
                break
            self.assertEqual(cursor, page[-1].cursor)
        self.assertEqual(paged, lines)
        middle = oldest_first[6].created_at
        self.assertEqual(
            statements.statement(self.ws, start=middle, limit=1000)[1],
            [line for line in lines if line.created_at >= middle],
        )
        self.assertEqual(
            statements.statement(self.ws, end=middle, limit=1000)[1],
            [line for line in lines if line.created_at < middle],
        )

    def test_a_closed_set_shows_what_returned_its_balances_as_close_lines(self):
        self.wallets.move_funds("withdraw", self.ws, "coinbase", "USD", D(100))
        self.wallets.close_wallet_set(self.ws)
        _, lines, _ = self.statements().statement(self.ws, limit=1000)
        self.assertEqual(
            [(line.kind, line.currency, line.amount, line.balance) for line in lines[:3]],
            [("close", "USD", D(-900), D(0)), ("close", "SKL", D(-500), D(0)), ("withdraw", "USD", D(-100), D(900))],
        )  # newest first: the close returns each wallet in turn (SKL, then USD)
        _, closing, _ = self.statements().statement(self.ws, kind="close")
        self.assertEqual([line.currency for line in closing], ["USD", "SKL"])

    def test_bad_filters_are_refused_naming_them(self):
        for filters, field in (
            ({"kind": "bonus"}, "kind"),
            ({"start": 2_000_000, "end": 1_000_000}, "end"),
            ({"cursor": "12"}, "cursor"),
            ({"cursor": "a.1"}, "cursor"),
        ):
            with self.subTest(filters), self.assertRaises(InvalidParameter) as caught:
                self.statements().statement(self.ws, **filters)
            self.assertEqual(caught.exception.field, field)

    def test_account_views_show_the_real_account_the_live_sets_and_the_paper_totals(self):
        self.wallets.reconcile("coinbase", "USD", D("1000"))
        live = self.wallets.create_wallet_set("live-1", "live").id
        self.wallets.move_funds("allocate", live, "coinbase", "USD", D("300"))
        self.wallets.place_hold(live, "coinbase", "USD", D("20.5"), "77")
        paper = self.wallets.create_wallet_set("paper-2", "paper").id
        self.wallets.move_funds("fund", paper, "coinbase", "USD", D("0.25"))
        self.wallets.create_wallet_set("paper-empty", "paper")

        (coinbase,) = self.statements().accounts(["coinbase"])
        (usd,) = coinbase.live
        self.assertEqual(
            (usd.currency, usd.reported, usd.allocated, usd.held, usd.unallocated),
            ("USD", D(1000), D(300), D("20.5"), D(700)),
        )
        self.assertIsNotNone(usd.reconciled_at)
        self.assertEqual(
            [(p.currency, p.balance, p.held, p.available, p.wallet_sets) for p in coinbase.paper],
            [("SKL", D(500), D(0), D(500), 1), ("USD", D("1000.25"), D(0), D("1000.25"), 2)],
        )
        (kraken,) = self.statements().accounts(["kraken"])
        self.assertEqual((kraken.exchange, kraken.live, kraken.paper), ("kraken", [], []))


StatementCasesSqlite, StatementCasesPostgres = on_both_databases(StatementCases)


class SchemaVersion3Cases(DatabaseCase):
    def test_a_version_2_database_gains_the_run_tags_and_the_balances_after_and_keeps_its_rows(self):
        close_database(self.db)
        url = self.empty_url()
        db = open_database(url)
        tables = ("orders", "fill", "ledger_posting")
        columns = {table: db.get_columns(table) for table in tables}
        indexes = {table: db.get_indexes(table) for table in tables}
        wallets = WalletStore(db)
        a, b = (wallets.create_wallet_set(name, "paper").id for name in ("a", "b"))
        wallets.move_funds("fund", a, "coinbase", "USD", D("100.5"))
        wallets.place_hold(a, "coinbase", "USD", D("30"), "9")
        wallets.transfer(a, b, "coinbase", "USD", D("0.5"))
        wallets.release_hold(a, "9", D("10"))
        after = [
            (p.id, p.balance_after, p.hold_after)
            for p in models.LedgerPosting.select().order_by(models.LedgerPosting.id)
        ]
        # a's wallet after the hold (100.5 of which 30 held), after the transfer out, after the release
        self.assertEqual(
            [row[1:] for row in after if row[0] in (4, 5, 8)], [(D("100.5"), D(30)), (D(100), D(30)), (D(100), D(20))]
        )
        # the tables as they were before that step: no tags, no balances after
        for table, index in (("orders", "orders_wallet_set_id_tag"), ("fill", "fill_tag")):
            db.execute_sql(f'DROP INDEX "{index}"')
            db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN tag')
        for column in ("balance_after", "hold_after"):
            db.execute_sql(f'ALTER TABLE "ledger_posting" DROP COLUMN {column}')
        version = next(v for v, step in database.MIGRATIONS.items() if step is database._add_tags_and_balances_after)
        SchemaVersion.delete().where(SchemaVersion.version >= version).execute()
        order = models.Order.insert(
            client_order_id="c1",
            wallet_set=a,
            mode="paper",
            exchange="coinbase",
            pair="SKL_USD",
            side="buy",
            type="limit",
            size=D(1),
            price=D("0.5"),
            status="cancelled",
            created_at=1,
            updated_at=1,
        ).execute()
        close_database(db)

        db = open_database(url)
        self.addCleanup(close_database, db)
        self.assertEqual(database.schema_version(db), database.SCHEMA_VERSION)
        self.assertEqual({table: db.get_columns(table) for table in tables}, columns)
        self.assertEqual({table: db.get_indexes(table) for table in tables}, indexes)
        self.assertEqual([(o.id, o.tag) for o in models.Order.select()], [(order, None)])
        self.assertEqual(
            [
                (p.id, p.balance_after, p.hold_after)
                for p in models.LedgerPosting.select().order_by(models.LedgerPosting.id)
            ],
            after,
        )
        self.assertEqual(verify_ledger(db).differences, ())
        # verify finds a balance after that is not what the postings sum to
        models.LedgerPosting.update(balance_after=D("99")).where(models.LedgerPosting.id == 4).execute()
        report = verify_ledger(db)
        self.assertEqual(
            [(d.check, d.subject["posting"], d.expected, d.found) for d in report.differences],
            [("posting_balance_after", 4, D("100.5"), D("99"))],
        )


SchemaVersion3CasesSqlite, SchemaVersion3CasesPostgres = on_both_databases(SchemaVersion3Cases)
