"""Both databases for storage tests: write the cases once, run them on SQLite and PostgreSQL.

    class WalletCases(DatabaseCase):
        def test_something(self): ... self.db ...

    WalletCasesSqlite, WalletCasesPostgres = on_both_databases(WalletCases)

SQLite gets a new temporary file per test. PostgreSQL is the server at ``XWRAP_TEST_POSTGRES``
(default ``postgresql://postgres@127.0.0.1:5432/test``): one database ``xwrap_test_<pid>_<random>``
is created for the whole run and dropped at exit; each test starts on emptied tables. If the
server cannot be reached the PostgreSQL tests FAIL (they do not skip: CI starts the server).
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
import unittest
from urllib.parse import urlsplit

import psycopg2
from peewee import Database

from exchange_wrapper.storage.database import close_database, open_database
from exchange_wrapper.storage.models import MODELS, SchemaVersion

ADMIN_URL = os.environ.get("XWRAP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

_run_database: dict[str, str] = {}  # "url" once created, or "error" if the server is unreachable


class DatabaseCase:
    """Base of the test cases (a mixin, so that only the classes made by :func:`on_both_databases`
    run): ``self.db`` is an open database with the schema and no rows."""

    db: Database
    url: str

    def empty_url(self) -> str:
        """A URL of a database with no tables at all (for schema tests)."""
        raise NotImplementedError

    def setUp(self) -> None:
        self.url = self.prepared_url()
        self.db = open_database(self.url)
        self.addCleanup(close_database, self.db)
        self.clear()

    def prepared_url(self) -> str:
        return self.empty_url()

    def clear(self) -> None:
        """Delete every row but the schema version."""


class OnSqlite(DatabaseCase):
    def empty_url(self) -> str:
        folder = tempfile.mkdtemp(prefix="xwrap_test_")
        self.addCleanup(shutil.rmtree, folder, True)
        return f"sqlite:///{folder}/xwrap.sqlite"


class OnPostgres(DatabaseCase):
    def prepared_url(self) -> str:
        return _postgres_run_database(self)

    def empty_url(self) -> str:
        return empty_postgres_url(self)

    def clear(self) -> None:
        # DELETE and restarting the id sequences is ~50 times faster than TRUNCATE on tiny tables
        models = [m for m in reversed(MODELS) if m is not SchemaVersion]
        tables = [m._meta.table_name for m in models]
        numbered = [m._meta.table_name for m in models if m._meta.primary_key.name == "id"]  # not the leases
        self.db.execute_sql(
            "; ".join(
                [f'DELETE FROM "{t}"' for t in tables]
                + [f"SELECT setval(pg_get_serial_sequence('\"{t}\"', 'id'), 1, false)" for t in numbered]
            )
        )


def on_both_databases(cases: type[DatabaseCase]) -> tuple[type, type]:
    """``cases`` as two TestCase classes, one per database, named after it."""
    return tuple(
        type(f"{cases.__name__}{suffix}", (cases, base, unittest.TestCase), {"__module__": cases.__module__})
        for suffix, base in (("Sqlite", OnSqlite), ("Postgres", OnPostgres))
    )


def empty_postgres_url(test: unittest.TestCase) -> str:
    """The URL of this run's PostgreSQL database, emptied of every table (for a test that builds its
    own schema, or runs a service on it)."""
    url = _postgres_run_database(test)
    admin(url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    return url


def _postgres_run_database(test: unittest.TestCase) -> str:
    if "error" in _run_database:
        test.fail(_run_database["error"])
    if "url" not in _run_database:
        name = f"xwrap_test_{os.getpid()}_{secrets.token_hex(4)}"
        try:
            admin(ADMIN_URL, f'CREATE DATABASE "{name}"')
        except psycopg2.OperationalError as exc:
            _run_database["error"] = (
                f"PostgreSQL is unreachable at {ADMIN_URL} ({str(exc).strip()}); the storage tests run on "
                "it too. Start it (CI does) or point XWRAP_TEST_POSTGRES at one."
            )
            test.fail(_run_database["error"])
        _run_database["url"] = urlsplit(ADMIN_URL)._replace(path=f"/{name}").geturl()
        atexit.register(admin, ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return _run_database["url"]


def admin(url: str, sql: str) -> None:
    """Run ``sql`` outside any transaction on the database at ``url``."""
    connection = psycopg2.connect(url, connect_timeout=3)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()
