"""The hot statements of orders and the ledger, as SQL text built once per database.

peewee builds a statement's text anew on every call, which was three quarters of the database
thread's time per order. The statements an order runs are kept here as text (written with ``?``
placeholders, turned into the database's paramstyle once) and run with ``db.execute_sql`` inside
the caller's transaction, so errors still arrive as peewee's. Values are converted by the
models' fields (:class:`Insert`) or by :func:`~.models.money_param`; cold paths keep the models.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from peewee import Database, Model, PostgresqlDatabase

from .database import PipelinedPostgresDatabase

_texts: dict[tuple[str, str], str] = {}


def text(db: Database, template: str) -> str:
    """``template`` (``?`` placeholders; no other ``?`` or ``%`` in it) in ``db``'s paramstyle."""
    key = (template, db.param)
    found = _texts.get(key)
    if found is None:
        found = _texts[key] = template if db.param == "?" else template.replace("?", db.param)
    return found


def run(db: Database, template: str, params: Sequence[Any] = ()) -> Any:
    """Execute ``template`` with ``params``; the cursor, to fetch from."""
    return db.execute_sql(text(db, template), params)


def rows(db: Database, template: str, params: Sequence[Any] = ()) -> list[tuple]:
    return run(db, template, params).fetchall()


def placeholders(count: int, width: int) -> str:
    """``(?, ?), (?, ?)`` for ``count`` rows of ``width`` values."""
    row = f"({', '.join('?' * width)})"
    return ", ".join([row] * count)


def insert_rows(
    db: Database, table: str, columns: Sequence[str], values: Iterable[Sequence[Any]], *, ignore_conflicts: bool = False
) -> None:
    """One INSERT of several rows (``values`` already converted for the database), deferred."""
    flat = [value for row in values for value in row]
    count = len(flat) // len(columns)
    template = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES {placeholders(count, len(columns))}' + (
        " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    )
    defer(db, template, flat)


class Insert:
    """The INSERT of one row of ``model`` with every column.

    Values missing from the call get the field's default (as peewee would), and every value
    goes through its field's ``db_value``, so a column added to the model is written too. With
    ``ignore_conflicts`` a row that would break a unique index is not inserted: the call then
    returns None instead of the new id.
    """

    def __init__(self, model: type[Model], *, ignore_conflicts: bool = False):
        meta = model._meta
        self._fields = [
            (name, field, field.default) for name, field in meta.fields.items() if field is not meta.primary_key
        ]
        columns = ", ".join(f'"{field.column_name}"' for _, field, _ in self._fields)
        self._template = f'INSERT INTO "{meta.table_name}" ({columns}) VALUES {placeholders(1, len(self._fields))}' + (
            " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        )

    def __call__(self, db: Database, **values: Any) -> int | None:
        params = self._params(values)
        if isinstance(db, PostgresqlDatabase):
            row = run(db, self._template + " RETURNING id", params).fetchone()
            return None if row is None else row[0]
        cursor = run(db, self._template, params)
        return cursor.lastrowid if cursor.rowcount else None

    def defer(self, db: Database, **values: Any) -> None:
        """Insert without waiting for the new id (see :func:`defer`)."""
        defer(db, self._template, self._params(values))

    def _params(self, values: dict[str, Any]) -> list[Any]:
        params = []
        for name, field, default in self._fields:
            value = values[name] if name in values else default() if callable(default) else default
            params.append(field.db_value(value))
        return params


class Update:
    """``UPDATE`` of some columns of one row of ``model`` by id, values converted by their fields;
    deferred (see :func:`defer`)."""

    def __init__(self, model: type[Model], columns: Sequence[str]):
        meta = model._meta
        self.fields = [meta.fields[name] for name in columns]
        assignments = ", ".join(f'"{field.column_name}" = ?' for field in self.fields)
        self.template = f'UPDATE "{meta.table_name}" SET {assignments} WHERE id = ?'

    def __call__(self, db: Database, row_id: int, *values: Any) -> None:
        """``values`` in the order of the columns."""
        defer(db, self.template, [field.db_value(value) for field, value in zip(self.fields, values)] + [row_id])


def defer(db: Database, template: str, params: Sequence[Any]) -> None:
    """Run a statement whose result nobody reads: on PostgreSQL it goes with the next statement
    of the transaction (:class:`~.database.PipelinedPostgresDatabase`), on SQLite now."""
    if isinstance(db, PipelinedPostgresDatabase):
        db.defer(text(db, template), params)
    else:
        run(db, template, params)
