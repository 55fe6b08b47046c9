"""Opening databases: URLs, connection settings, schema creation and upgrades, exact amounts."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import unittest
from decimal import Decimal
from unittest import mock

from peewee import IntegerField, IntegrityError, Model, PostgresqlDatabase, SqliteDatabase

from exchange_wrapper.core.errors import ConfigError, DatabaseUnavailable, InvalidParameter
from exchange_wrapper.storage import database, sql
from exchange_wrapper.storage.database import (
    SCHEMA_VERSION,
    close_database,
    describe_url,
    is_postgres,
    open_database,
    read_transaction,
    schema_version,
    write_transaction,
)
from exchange_wrapper.storage.models import MODELS, SchemaVersion, Wallet, WalletSet, now_us
from tests.storage.dbs import DatabaseCase, OnPostgres, on_both_databases

D = Decimal


def temporary_folder(test: unittest.TestCase) -> str:
    folder = tempfile.mkdtemp(prefix="xwrap_test_")
    test.addCleanup(shutil.rmtree, folder, True)
    return folder


class UrlTest(unittest.TestCase):
    def test_malformed_urls_name_the_setting(self):
        for url in (
            "",
            "   ",
            None,
            5,
            "mysql://root@localhost/x",
            "sqlite:",
            "sqlite://x.db",
            "sqlite:///",
            "postgresql://127.0.0.1",
            "postgresql:///xwrap",
            "postgresql://u@h:port/db",
            "postgresql://u@h/a/b",
        ):
            with self.subTest(url=url), self.assertRaises(ConfigError) as caught:
                open_database(url)
            self.assertEqual("database_url", caught.exception.key)
            self.assertIn("setting database_url: expected", str(caught.exception))
            self.assertIn("postgresql://user:password@host:port/dbname", caught.exception.expected)

    def test_in_memory_sqlite_refused(self):
        for url in ("sqlite:///:memory:", ":memory:", "file::memory:?cache=shared"):
            with self.subTest(url=url), self.assertRaises(ConfigError) as caught:
                open_database(url)
            self.assertEqual("database_url", caught.exception.key)
            self.assertIn("in-memory database is private to one connection", str(caught.exception))

    def test_passwords_hidden(self):
        self.assertEqual("postgresql://xw:***@db:5432/x", describe_url("postgresql://xw:s3cret@db:5432/x"))
        self.assertEqual("postgresql://xw@db/x", describe_url("postgresql://xw@db/x"))
        self.assertEqual(
            "postgresql://db/x?password=***&sslmode=require",  # libpq takes it there too
            describe_url("postgresql://db/x?password=s3cret&sslmode=require"),
        )
        with self.assertRaises(ConfigError) as caught:
            open_database("postgresql://xw:s3cret@db:port/x")
        self.assertNotIn("s3cret", str(caught.exception))

    def test_a_failed_open_leaves_the_models_where_they_were(self):
        bound = WalletSet._meta.database
        with self.assertRaises(DatabaseUnavailable):
            open_database("postgresql://xw@127.0.0.1:1/xwrap")
        self.assertIs(bound, WalletSet._meta.database)

    def test_unreachable_postgres_is_database_unavailable(self):
        with self.assertRaises(DatabaseUnavailable) as caught:
            open_database("postgresql://xw:s3cret@127.0.0.1:1/xwrap")
        self.assertEqual("postgresql://xw:***@127.0.0.1:1/xwrap", caught.exception.database)
        self.assertNotIn("s3cret", str(caught.exception))

    def test_relative_and_plain_paths_create_their_folder(self):
        folder = temporary_folder(self)
        cwd = os.getcwd()
        self.addCleanup(os.chdir, cwd)
        os.chdir(folder)
        for url, path in (
            ("sqlite:///data/xwrap.sqlite", "data/xwrap.sqlite"),
            ("plain/xwrap.sqlite", "plain/xwrap.sqlite"),
            (f"sqlite:///{folder}/abs/x.sqlite", f"{folder}/abs/x.sqlite"),
        ):
            with self.subTest(url=url):
                db = open_database(url)
                self.assertIsInstance(db, SqliteDatabase)
                self.assertEqual(path, db.database)
                self.assertTrue(os.path.isfile(os.path.join(folder, path)))
                close_database(db)


class SchemaCases(DatabaseCase):
    def test_first_open_creates_tables_and_records_version(self):
        close_database(self.db)
        url = self.empty_url()
        db = open_database(url)
        self.addCleanup(close_database, db)
        self.assertEqual(sorted(m._meta.table_name for m in MODELS), db.get_tables())
        self.assertEqual(SCHEMA_VERSION, schema_version(db))
        self.assertEqual(list(database.MIGRATIONS), [row.version for row in SchemaVersion.select()])

    def test_reopening_changes_nothing(self):
        WalletSet.create(name="kept", mode="paper", created_at=now_us())
        close_database(self.db)
        self.db = open_database(self.url)
        self.assertEqual(list(database.MIGRATIONS), [row.version for row in SchemaVersion.select()])
        self.assertEqual(["kept"], [ws.name for ws in WalletSet.select()])

    def test_a_new_migration_runs_once_on_an_existing_database(self):
        class Extra(Model):
            value = IntegerField()

        def add_extra(db):
            db.bind([Extra])
            db.create_tables([Extra])

        close_database(self.db)
        self.addCleanup(lambda: SchemaVersion.delete().where(SchemaVersion.version > SCHEMA_VERSION).execute())
        new = SCHEMA_VERSION + 1
        migrations = {**database.MIGRATIONS, new: mock.Mock(side_effect=add_extra)}
        with mock.patch.object(database, "MIGRATIONS", migrations), mock.patch.object(database, "SCHEMA_VERSION", new):
            db = open_database(self.url)
            close_database(db)
            db = open_database(self.url)
        self.addCleanup(close_database, db)
        migrations[new].assert_called_once()
        self.assertIn("extra", db.get_tables())
        self.assertEqual(
            list(range(1, new + 1)), [v.version for v in SchemaVersion.select().order_by(SchemaVersion.version)]
        )
        self.addCleanup(db.drop_tables, [Extra])

    def test_a_version_1_database_gains_the_history_tables_and_keeps_its_rows(self):
        close_database(self.db)
        url = self.empty_url()
        with (
            mock.patch.object(database, "MIGRATIONS", {1: database.MIGRATIONS[1]}),
            mock.patch.object(database, "SCHEMA_VERSION", 1),
        ):
            db = open_database(url)
            WalletSet.create(name="kept", mode="paper", created_at=now_us())
            self.assertNotIn("market_candle", db.get_tables())
            close_database(db)
        db = open_database(url)
        self.addCleanup(close_database, db)
        self.assertEqual(sorted(m._meta.table_name for m in MODELS), db.get_tables())
        self.assertEqual(
            list(range(1, SCHEMA_VERSION + 1)),
            [v.version for v in SchemaVersion.select().order_by(SchemaVersion.version)],
        )
        self.assertEqual(["kept"], [ws.name for ws in WalletSet.select()])

    def test_a_check_opens_an_existing_database_of_this_version_and_creates_or_upgrades_nothing(self):
        close_database(self.db)
        db = open_database(self.url, create=False)  # what xwrap ledger verify opens
        self.assertEqual(SCHEMA_VERSION, schema_version(db))
        close_database(db)
        url = self.empty_url()
        with self.assertRaises(ConfigError) as caught:
            open_database(url, create=False)
        self.assertEqual("database_url", caught.exception.key)
        if url.startswith("sqlite:///"):
            self.assertIn("an existing database file", str(caught.exception))
            self.assertFalse(os.path.exists(url.removeprefix("sqlite:///")))
            open(url.removeprefix("sqlite:///"), "w").close()  # a file, but not an xWrap database
            with self.assertRaises(ConfigError) as caught:
                open_database(url, create=False)
        self.assertIn("version 0: it has no xWrap tables", str(caught.exception))
        db = open_database(url)
        self.addCleanup(close_database, db)
        new = SCHEMA_VERSION + 1
        with (
            mock.patch.object(database, "MIGRATIONS", {**database.MIGRATIONS, new: mock.Mock()}),
            mock.patch.object(database, "SCHEMA_VERSION", new),
        ):
            with self.assertRaises(ConfigError) as caught:
                open_database(url, create=False)
            self.assertIn(f"version {SCHEMA_VERSION}: run xwrap serve once to upgrade it", str(caught.exception))
            database.MIGRATIONS[new].assert_not_called()

    def test_a_database_newer_than_the_code_is_refused(self):
        SchemaVersion.create(version=SCHEMA_VERSION + 1, applied_at=now_us())
        self.addCleanup(lambda: SchemaVersion.delete().where(SchemaVersion.version > SCHEMA_VERSION).execute())
        close_database(self.db)
        with self.assertRaises(ConfigError) as caught:
            open_database(self.url)
        self.assertEqual("database_url", caught.exception.key)
        self.assertIn(f"version {SCHEMA_VERSION + 1}", str(caught.exception))

    def test_amounts_round_trip_exactly(self):
        ws = WalletSet.create(name="a", mode="paper", created_at=now_us())
        values = [
            D("12345678901234567890.123456789012345678"),
            D("0.000000000000000001"),
            D("100"),
            D("-99999999999999999999.999999999999999999"),
            D("0"),
        ]
        for index, value in enumerate(values):
            Wallet.create(wallet_set=ws, exchange="coinbase", currency=f"C{index}", balance=value)
        stored = [w.balance for w in Wallet.select().order_by(Wallet.currency)]
        self.assertEqual(values, stored)
        self.assertEqual("100", str(stored[2]))
        self.assertTrue(all(isinstance(v, Decimal) for v in stored))

    def test_amount_column_type(self):
        ws = WalletSet.create(name="a", mode="paper", created_at=now_us())
        Wallet.create(wallet_set=ws, exchange="coinbase", currency="USD", balance=D("0.1"))
        if is_postgres(self.db):
            sql = (
                "SELECT data_type, numeric_precision, numeric_scale FROM information_schema.columns "
                "WHERE table_name = 'wallet' AND column_name = 'balance'"
            )
            self.assertEqual(("numeric", 38, 18), self.db.execute_sql(sql).fetchone())
        else:
            stored = self.db.execute_sql("SELECT typeof(balance), balance FROM wallet").fetchone()
            self.assertEqual(("text", "0.1"), stored)

    def test_too_many_decimals_refused_not_rounded(self):
        ws = WalletSet.create(name="a", mode="paper", created_at=now_us())
        for value in (D("0.0000000000000000001"), D("1E+20"), 0.1):
            with self.subTest(value=value), self.assertRaises(InvalidParameter) as caught:
                Wallet.create(wallet_set=ws, exchange="coinbase", currency="USD", balance=value)
            self.assertEqual("balance", caught.exception.field)
        self.assertEqual(0, Wallet.select().count())

    def test_enumerated_columns_checked(self):
        with self.assertRaises(IntegrityError), self.db.atomic():
            WalletSet.create(name="a", mode="demo", created_at=now_us())

    def test_each_thread_has_its_own_connection(self):
        WalletSet.create(name="a", mode="paper", created_at=now_us())
        seen = []

        def work():
            seen.append((self.db.connection() is main, [ws.name for ws in WalletSet.select()]))
            self.db.close()

        main = self.db.connection()
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        self.assertEqual([(False, ["a"])], seen)


SchemaCasesSqlite, SchemaCasesPostgres = on_both_databases(SchemaCases)

NEW_SET = 'INSERT INTO "wallet_set" (name, mode, created_at) VALUES (?, ?, ?)'


class DeferredWriteCases(DatabaseCase):
    """Statements deferred in a transaction (sent with the next one on PostgreSQL, at once on
    SQLite) keep the transaction's guarantees."""

    def names(self) -> list[str]:
        return [ws.name for ws in WalletSet.select().order_by(WalletSet.name)]

    def test_a_deferred_write_that_fails_rolls_its_transaction_back(self):
        sql.defer(self.db, NEW_SET, ("taken", "paper", now_us()))
        with self.assertRaises(IntegrityError), write_transaction(self.db):
            sql.defer(self.db, NEW_SET, ("new", "paper", now_us()))
            sql.defer(self.db, NEW_SET, ("taken", "live", now_us()))
        self.assertEqual(["taken"], self.names())
        with write_transaction(self.db):  # the connection is usable again
            sql.defer(self.db, NEW_SET, ("next", "paper", now_us()))
        self.assertEqual(["next", "taken"], self.names())

    def test_what_a_savepoint_deferred_goes_with_it(self):
        with write_transaction(self.db):
            sql.defer(self.db, NEW_SET, ("kept", "paper", now_us()))
            with self.assertRaises(RuntimeError), write_transaction(self.db):
                sql.defer(self.db, NEW_SET, ("undone", "paper", now_us()))
                raise RuntimeError("the savepoint rolls back")
            sql.defer(self.db, NEW_SET, ("after", "paper", now_us()))
        self.assertEqual(["after", "kept"], self.names())


DeferredWriteCasesSqlite, DeferredWriteCasesPostgres = on_both_databases(DeferredWriteCases)


class PipelinedPostgresTest(OnPostgres, unittest.TestCase):
    """On PostgreSQL BEGIN and deferred writes travel with the next statement."""

    def round_trips(self, work) -> int:
        with mock.patch.object(
            PostgresqlDatabase, "execute_sql", autospec=True, side_effect=PostgresqlDatabase.execute_sql
        ) as sent:
            work()
        return sent.call_count

    def test_a_transaction_in_two_round_trips(self):
        def work():
            with write_transaction(self.db):
                for name in ("a", "b", "c"):
                    sql.defer(self.db, NEW_SET, (name, "paper", now_us()))
                self.assertEqual(3, sql.rows(self.db, 'SELECT count(*) FROM "wallet_set"')[0][0])
                sql.defer(self.db, NEW_SET, ("d", "paper", now_us()))

        self.assertEqual(2, self.round_trips(work))  # BEGIN, 3 inserts, SELECT; then insert, COMMIT
        self.assertEqual(4, WalletSet.select().count())

    def test_a_transaction_of_deferred_writes_in_one(self):
        def work():
            with write_transaction(self.db):
                sql.defer(self.db, NEW_SET, ("a", "paper", now_us()))

        self.assertEqual(1, self.round_trips(work))
        self.assertEqual(["a"], [ws.name for ws in WalletSet.select()])

    def test_an_empty_transaction_sends_nothing(self):
        def work():
            with write_transaction(self.db):
                pass
            with self.assertRaises(RuntimeError), write_transaction(self.db):
                sql.defer(self.db, NEW_SET, ("a", "paper", now_us()))
                raise RuntimeError("rolled back before anything was sent")

        self.assertEqual(0, self.round_trips(work))
        self.assertEqual(0, WalletSet.select().count())

    def test_a_read_transaction_begins_repeatable_read(self):
        with read_transaction(self.db):
            level = self.db.execute_sql("SHOW transaction_isolation").fetchone()[0]
        self.assertEqual("repeatable read", level)


class SqliteSettingsTest(unittest.TestCase):
    def test_wal_foreign_keys_busy_timeout_synchronous_normal(self):
        db = open_database(f"{temporary_folder(self)}/x.sqlite")
        self.addCleanup(close_database, db)
        pragmas = {
            name: db.execute_sql(f"PRAGMA {name}").fetchone()[0]
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
        self.assertEqual({"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000, "synchronous": 1}, pragmas)


if __name__ == "__main__":
    unittest.main()
