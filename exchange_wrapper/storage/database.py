"""Opening the database: the ``database_url`` setting, connection settings, schema and upgrades.

Call :func:`open_database` once at start-up; it binds the models to the database it returns,
creates the schema on first start and upgrades an older one. Connections are per thread
(peewee opens one on a thread's first query); :func:`close_database` closes the caller's.
On PostgreSQL a transaction's writes whose results nobody reads can be sent with the next
statement (:class:`PipelinedPostgresDatabase`): an order's transaction takes a few round trips.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from weakref import WeakKeyDictionary

from peewee import Database, OperationalError, PeeweeException, PostgresqlDatabase, SqliteDatabase, fn
from playhouse.migrate import SchemaMigrator, migrate  # type: ignore[import-untyped]

from ..config import hide_password
from ..core.errors import ConfigError, DatabaseUnavailable
from ..core.ledger import Account
from ..core.statement import balances_after
from .models import (
    CLUSTER_MODELS,
    EQUITY_MODELS,
    HISTORY_MODELS,
    LEDGER_MODELS,
    MODELS,
    MONEY_COLUMN,
    Fill,
    LedgerPosting,
    Order,
    SchemaVersion,
    money_param,
    money_value,
    now_us,
)

EXPECTED_URL = (
    "sqlite:///RELATIVE/PATH, sqlite:////ABSOLUTE/PATH, a plain file path, or "
    "postgresql://user:password@host:port/dbname"
)

#: Seconds a connection waits for another's lock before giving up (SQLite busy timeout).
BUSY_TIMEOUT = 10

SQLITE_PRAGMAS = (
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("busy_timeout", BUSY_TIMEOUT * 1000),
    ("synchronous", "normal"),
)

_write_locks: WeakKeyDictionary[Database, threading.RLock] = WeakKeyDictionary()

# Any constant will do: it names the lock that serialises schema upgrades on PostgreSQL.
_UPGRADE_LOCK = 0x78577261


def _create_ledger_tables(db: Database) -> None:
    db.create_tables(LEDGER_MODELS)


def _create_history_tables(db: Database) -> None:
    db.create_tables(HISTORY_MODELS)


def _create_equity_table(db: Database) -> None:
    db.create_tables(EQUITY_MODELS)


def _create_lease_table(db: Database) -> None:
    db.create_tables(CLUSTER_MODELS)


def _add_wallet_set_closed_at(db: Database) -> None:
    """Closing wallet sets (issue 12): ``wallet_set.closed_at``. Step 1 creates the table as the model
    stands, with the column: only a database made before this version lacks it."""
    if "closed_at" not in {column.name for column in db.get_columns("wallet_set")}:
        db.execute_sql('ALTER TABLE "wallet_set" ADD COLUMN "closed_at" BIGINT')


def _add_tags_and_balances_after(db: Database) -> None:
    """Issue 12: the run tag of orders and of their fills, each with its index; on each posting of a
    wallet set's, its wallet's balance and hold after the transaction, computed for the postings there
    are. Added where missing: step 1 creates the tables as the models stand, which have them."""
    migrator = SchemaMigrator.from_database(db)
    if "tag" not in {column.name for column in db.get_columns("fill")}:
        migrate(migrator.add_column("fill", "tag", Fill.tag))  # with its index (the field has one)
    if "tag" not in {column.name for column in db.get_columns("orders")}:
        migrate(migrator.add_column("orders", "tag", Order.tag), migrator.add_index("orders", ("wallet_set_id", "tag")))
    if "balance_after" not in {column.name for column in db.get_columns("ledger_posting")}:
        migrate(
            migrator.add_column("ledger_posting", "balance_after", LedgerPosting.balance_after),
            migrator.add_column("ledger_posting", "hold_after", LedgerPosting.hold_after),
        )
        fill_balances_after(db)


def fill_balances_after(db: Database) -> None:
    """Each set's posting gets what its transaction left its wallet at (:func:`balances_after`)."""
    postings = []
    for id, transaction, account, _, exchange, currency, amount, *_ in db.execute_sql(SET_POSTINGS).fetchall():
        try:
            postings.append((id, transaction, Account.from_name(account, exchange, currency), money_value(amount)))
        except ValueError:  # a malformed account name (damage): left without, as verify reports it
            continue
    after = balances_after(postings)
    statement = 'UPDATE "ledger_posting" SET balance_after = ?, hold_after = ? WHERE id = ?'.replace("?", db.param)
    for id, (balance, hold) in after.items():
        db.execute_sql(statement, (money_param(balance, "balance_after"), money_param(hold, "hold_after"), id))


#: The postings of wallet sets' accounts in the order they were written per wallet (its row is locked
#: while a transaction writes): by transaction.
SET_POSTINGS = (
    "SELECT id, transaction_id, account, wallet_set_id, exchange, currency, amount, balance_after, hold_after "
    'FROM "ledger_posting" WHERE wallet_set_id IS NOT NULL ORDER BY transaction_id, id'
)


#: Steps that bring a database to the version they are keyed by, run in order from the version
#: recorded in ``schema_version`` (0 for an empty database). Each step creates its tables as the
#: models stand; a step that changes a table made by an earlier one adds only what is missing (the
#: earlier step, run on a new database, created the table as the model stands now). 1: wallets,
#: ledger and orders; 2: market history (trades, candles, book tops); 3: wallet sets' equity history;
#: 4: wallet sets can be closed; 5: run tags on orders and fills, each set's posting's balances after
#: its transaction; 6: exchange leases (cluster mode).
MIGRATIONS: dict[int, Callable[[Database], None]] = {
    1: _create_ledger_tables,
    2: _create_history_tables,
    3: _create_equity_table,
    4: _add_wallet_set_closed_at,
    5: _add_tags_and_balances_after,
    6: _create_lease_table,
}
SCHEMA_VERSION = max(MIGRATIONS)


def open_database(url: str, *, create: bool = True) -> Database:
    """Connect to ``url`` (the ``database_url`` setting), bring its schema up to date, bind the models.

    With ``create`` False (a tool that checks a database, ``xwrap ledger verify``) nothing is
    created or upgraded: the database must exist with this version's schema (a mistyped path must
    not become a new, empty and therefore consistent database).

    Raises :class:`ConfigError` naming ``database_url`` for a malformed URL, a database of another
    schema version and, without ``create``, a missing one; :class:`DatabaseUnavailable` when the
    database cannot be opened.
    """
    db = _database_for(url, create)
    try:
        db.connect(reuse_if_open=True)
        if create:
            upgrade_schema(db)
        else:
            _check_schema(db, url)
    except (PeeweeException, sqlite3.Error) as exc:
        db.close()
        raise DatabaseUnavailable(describe_url(url), _first_line(exc)) from exc
    except ConfigError:
        db.close()
        raise
    db.bind(MODELS)
    return db


def close_database(db: Database) -> None:
    """Close the calling thread's connection (other threads' close when the threads end)."""
    if not db.is_closed():
        db.close()


def ping(db: Database, url: str) -> None:
    """Ask ``db`` (opened from ``url``) the simplest question, ``SELECT 1``, on the calling thread's
    connection: whether the database answers (readiness, service/health.py). Raises
    :class:`DatabaseUnavailable` with the reason, after closing the connection when no transaction
    is open on it, so that the thread's next call opens a new one (a PostgreSQL restart ends every
    connection, and peewee never opens a lost one again by itself)."""
    try:
        db.execute_sql("SELECT 1")
    except (PeeweeException, sqlite3.Error) as exc:
        if not db.in_transaction():
            db.close()
        raise DatabaseUnavailable(describe_url(url), _first_line(exc)) from exc


def schema_version(db: Database) -> int:
    """The newest schema version applied to ``db`` (0 if none)."""
    if not db.table_exists(SchemaVersion._meta.table_name):
        return 0
    return SchemaVersion.select(fn.MAX(SchemaVersion.version)).scalar(db) or 0


def upgrade_schema(db: Database) -> int:
    """Apply every migration newer than the recorded version, in one locked transaction.

    The models are bound to ``db`` meanwhile (call it at start-up, before other threads use them).
    """
    with db.bind_ctx(MODELS), write_transaction(db):
        if is_postgres(db):
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_UPGRADE_LOCK,))
        current = schema_version(db)
        if current > SCHEMA_VERSION:
            raise ConfigError(
                "database_url",
                f"a database at schema version {SCHEMA_VERSION} or older (this xWrap is older than the database)",
                f"version {current}",
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version](db)
            SchemaVersion.create(version=version, applied_at=now_us())
    return SCHEMA_VERSION


def _check_schema(db: Database, url: str) -> None:
    current = schema_version(db)
    if current != SCHEMA_VERSION:
        why = (
            "it has no xWrap tables"
            if current == 0
            else "run xwrap serve once to upgrade it"
            if current < SCHEMA_VERSION
            else "this xWrap is older"
        )
        raise ConfigError(
            "database_url",
            f"an existing xWrap database at schema version {SCHEMA_VERSION} (this one is at version {current}: {why})",
            describe_url(url),
        )


def is_postgres(db: Database) -> bool:
    return isinstance(db, PostgresqlDatabase)


def write_transaction(db: Database) -> AbstractContextManager:
    """A transaction for read-check-write: on SQLite it takes the write lock at BEGIN (IMMEDIATE),
    so no other writer can change what it read; on PostgreSQL lock rows with SELECT ... FOR UPDATE.

    Nested inside another transaction it becomes a savepoint of it.
    """
    if isinstance(db, SqliteDatabase):
        return _sqlite_write(db)
    return db.atomic()


@contextmanager
def _sqlite_write(db: SqliteDatabase) -> Iterator[None]:
    # Threads of this process queue on a lock rather than in SQLite's busy handler, which
    # sleeps and polls; BEGIN IMMEDIATE still excludes writers in other processes.
    with _write_locks[db], db.atomic("IMMEDIATE"):
        yield


def read_transaction(db: Database) -> AbstractContextManager:
    """A transaction whose reads all see one snapshot of the database."""
    return db.atomic() if isinstance(db, SqliteDatabase) else db.atomic(isolation_level="REPEATABLE READ")


def is_lock_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a lock timeout, deadlock or serialization failure: retrying may succeed."""
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, sqlite3.OperationalError):
        return getattr(orig, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return isinstance(exc, OperationalError) and getattr(orig, "pgcode", None) in ("40001", "40P01", "55P03")


def describe_url(url: str) -> str:
    """``url`` with any password hidden, for messages and logs."""
    return hide_password(url)


def _database_for(url: object, create: bool) -> Database:
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("database_url", EXPECTED_URL, url)
    if url.startswith(("postgresql://", "postgres://")):
        return _postgres(url)
    if url.startswith("sqlite:"):
        if not url.startswith("sqlite:///") or len(url) == len("sqlite:///"):
            raise ConfigError("database_url", EXPECTED_URL, url)
        return _sqlite(url, url[len("sqlite:///") :], create)
    if "://" in url:
        raise ConfigError("database_url", EXPECTED_URL, url)
    return _sqlite(url, url, create)


def _sqlite(url: str, path: str, create: bool) -> SqliteDatabase:
    if path == ":memory:" or path.startswith("file:"):
        raise ConfigError(
            "database_url",
            "a database file (an in-memory database is private to one connection, and xWrap uses one per thread)",
            url,
        )
    if create:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    elif not Path(path).is_file():  # connecting would create it
        raise ConfigError("database_url", "an existing database file", url)
    db = SqliteDatabase(
        path, pragmas=SQLITE_PRAGMAS, timeout=BUSY_TIMEOUT, field_types={"MONEY": MONEY_COLUMN["sqlite"]}
    )
    _write_locks[db] = threading.RLock()
    return db


def _postgres(url: str) -> PostgresqlDatabase:
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    try:
        port = parts.port
    except ValueError:
        raise ConfigError("database_url", EXPECTED_URL + " (the port a number)", describe_url(url)) from None
    if not parts.hostname or not name or "/" in name:
        raise ConfigError("database_url", EXPECTED_URL, describe_url(url))
    params: dict[str, object] = {"connect_timeout": 10, **dict(parse_qsl(parts.query))}
    if parts.username:
        params["user"] = unquote(parts.username)
    if parts.password is not None:
        params["password"] = unquote(parts.password)
    params["host"] = parts.hostname
    if port is not None:
        params["port"] = port
    return PipelinedPostgresDatabase(name, field_types={"MONEY": MONEY_COLUMN["postgresql"]}, **params)


class PipelinedPostgresDatabase(PostgresqlDatabase):
    """PostgreSQL with fewer round trips: a transaction's ``BEGIN`` and the statements queued with
    :meth:`defer` go to the server together with the next statement, or with the ``COMMIT``.

    A queued statement that fails therefore raises from a later call inside its transaction
    (which then rolls back as usual). What was queued inside a savepoint that rolls back is dropped.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._queues = threading.local()  # per thread, as the connections

    def defer(self, sql: str, params: Sequence[Any]) -> None:
        """Send ``sql`` with the next statement (run it now outside a transaction)."""
        if self.transaction_depth() == 0:
            self.execute_sql(sql, params)
        else:
            self._queue().statements.append((sql, tuple(params)))

    def execute_sql(self, sql: str, params: Sequence[Any] | None = None) -> object:
        queue = self._queue()
        if queue.statements:
            if sql.startswith("ROLLBACK TO SAVEPOINT"):  # the queue holds only what came after the SAVEPOINT
                queue.statements.clear()
            else:
                queue.statements.append((sql, tuple(params or ())))
                sql = ";\n".join(text for text, _ in queue.statements)
                params = tuple(value for _, values in queue.statements for value in values)
                queue.statements.clear()
        queue.begin_unsent = False
        return super().execute_sql(sql, params)

    def begin(self, isolation_level: object = None) -> None:
        self.connection()  # connect now: connecting later would reset the thread's transaction stack
        # What peewee's PostgresqlDatabase.begin reads: attributes of its own that its stubs leave out.
        level = isolation_level or self._isolation_level  # type: ignore[attr-defined]
        adapter = self._adapter  # type: ignore[attr-defined]
        queue = self._queue()
        queue.statements.append(
            ("BEGIN" if not level else f"BEGIN TRANSACTION ISOLATION LEVEL {adapter.isolation_level_str(level)}", ())
        )
        queue.begin_unsent = True

    def commit(self) -> None:
        queue = self._queue()
        if queue.begin_unsent and len(queue.statements) == 1:  # nothing but the BEGIN: nothing to send
            queue.clear()
        else:
            self.execute_sql("COMMIT")

    def rollback(self) -> None:
        queue = self._queue()
        unsent = queue.begin_unsent  # then the server has seen nothing of the transaction
        queue.clear()
        if not unsent:
            super().rollback()

    def close(self) -> bool:
        self._queue().clear()
        return super().close()

    def _queue(self) -> _Queue:
        queue = getattr(self._queues, "queue", None)
        if queue is None:
            queue = self._queues.queue = _Queue()
        return queue


class _Queue:
    """One thread's statements waiting to be sent, and whether its BEGIN is among them."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple]] = []
        self.begin_unsent = False

    def clear(self) -> None:
        self.statements.clear()
        self.begin_unsent = False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
