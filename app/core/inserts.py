"""Many rows into one table at once, in the session's transaction (docs/integrations.md §2, docs/performance.md:
a crisis list of 200,000 rows at ≥ 2,000 rows/s on PostgreSQL; the audit rows of a sync pull, one per record sent).

:func:`insert_rows` takes rows as dicts of column values (a column no row names takes its Python default, or
the database's when it has none) and binds them column by column, as SQLAlchemy binds them (type decorators,
enums, JSON, UUIDs), but once per column instead of once per row and column through the statement compiler:

* PostgreSQL: ``COPY … FROM STDIN (FORMAT binary)`` through asyncpg, on the session's own connection (from
  :data:`COPY_AT_LEAST` rows; fewer go as one multi-row ``INSERT``);
* SQLite: one ``executemany`` of a plain ``INSERT`` on the driver's cursor.

A unique key met by a COPY raises SQLAlchemy's :class:`~sqlalchemy.exc.IntegrityError`, as an ``INSERT``
would (the importer then redoes its batch line by line).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

#: Rows per multi-row INSERT statement (bounded parameters: SQLite allows 32,766 per statement).
INSERT_CHUNK = 1000
#: From how many rows PostgreSQL gets them by COPY rather than INSERT.
COPY_AT_LEAST = 20

_MISSING = object()


def _default(column: Any) -> Callable[[], Any] | None:
    """A function giving the column's Python default (None when it has none)."""
    default = column.default
    if default is None:
        return None
    arg: Any = default.arg
    if default.is_callable:
        return lambda: arg(None)
    return lambda: arg


def encode(
    dialect: Any, table: Any, rows: Sequence[dict[str, Any]], shared: Mapping[str, Any] | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The column names and the rows as tuples of bound values (what the driver takes), column by column.
    ``shared``: the values every row has (bound once), which the rows then need not carry."""
    names: list[str] = []
    columns: list[list[Any]] = []
    for column in table.c:
        name = column.name
        bind = column.type._cached_bind_processor(dialect)
        if shared is not None and name in shared:
            value = shared[name]
            if value is None and column.server_default is None:
                continue  # NULL in every row: left out, as the database fills it in (a column fewer to send)
            names.append(name)
            columns.append([bind(value) if bind is not None and value is not None else value] * len(rows))
            continue
        default = _default(column)
        values = [row.get(name, _MISSING) for row in rows]
        missing = [i for i, v in enumerate(values) if v is _MISSING]
        if missing:
            if default is None and len(missing) == len(values):
                continue  # no row names it and it has no Python default: the database's default
            for i in missing:
                values[i] = default() if default is not None else None
        if column.server_default is None and not any(v is not None for v in values):
            continue  # NULL in every row: left out
        if bind is not None:  # once per distinct object: the rows of a batch share their times and JSON documents
            values = _bound(bind, values)
        names.append(name)
        columns.append(values)
    return names, list(zip(*columns, strict=True))


def _bound(bind: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """``bind`` of each value, once per distinct object (the values are alive meanwhile: ids are stable). The
    audit rows of a batch share one ``details`` document and one time, the holdings of a pull their times."""
    done: dict[int, Any] = {}
    out: list[Any] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        key = id(v)
        if key not in done:
            done[key] = bind(v)
        out.append(done[key])
    return out


async def insert_rows(
    session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]], shared: Mapping[str, Any] | None = None
) -> None:
    """Insert ``rows`` (dicts of column values) into ``table`` in the session's transaction; ``shared``: the
    values every row has (a pull's holdings and audit rows share their device, times and batch), given once."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql" and len(rows) >= COPY_AT_LEAST:
        await _copy(connection, table, rows, shared)
        return
    if dialect.name == "sqlite":
        names, records = encode(dialect, table, rows, shared)
        quoted = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
        marks = ", ".join("?" for _ in names)
        table_name = dialect.identifier_preparer.format_table(table)
        statement = f"INSERT INTO {table_name} ({quoted}) VALUES ({marks})"  # noqa: S608 - names from the metadata
        await connection.exec_driver_sql(statement, records)
        return
    full = [{**shared, **row} for row in rows] if shared else list(rows)
    for i in range(0, len(full), INSERT_CHUNK):
        await session.execute(insert(table), full[i : i + INSERT_CHUNK])


async def _copy(connection: Any, table: Any, rows: Sequence[dict[str, Any]], shared: Mapping[str, Any] | None) -> None:
    """``COPY … FROM STDIN (FORMAT binary)`` through asyncpg on the session's connection and transaction."""
    import asyncpg

    names, records = encode(connection.dialect, table, rows, shared)
    raw = await connection.get_raw_connection()
    try:
        await raw.driver_connection.copy_records_to_table(table.name, records=records, columns=names)
    except asyncpg.IntegrityConstraintViolationError as exc:
        # as SQLAlchemy would raise it: the importer redoes the batch line by line (a key imported meanwhile)
        raise IntegrityError(f"COPY {table.name}", None, exc) from exc
    except asyncpg.PostgresError as exc:
        raise DBAPIError(f"COPY {table.name}", None, exc) from exc


__all__ = ["COPY_AT_LEAST", "INSERT_CHUNK", "encode", "insert_rows"]
