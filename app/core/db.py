"""Database engine, base model and column types (the unit of work is :mod:`app.core.uow`).

* SQLite (aiosqlite) is the embedded default: WAL, foreign keys on, ``BEGIN IMMEDIATE`` for requests that
  write (so two writers queue on the busy timeout instead of failing on a lock upgrade), plain ``BEGIN``
  for reads.
* PostgreSQL (asyncpg) when ``ONGI_DATABASE_URL`` names it.

Every table derives from :class:`BaseTable`: a UUID id, ``version`` (SQLAlchemy's version counter, so an
update of a stale row fails instead of overwriting), ``created_at`` and ``updated_at`` in UTC.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, ColumnElement, DateTime, any_, bindparam, event
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import declared_attr
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from app.core.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

#: Execution option that marks a transaction as one that will write (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "ongi_write"
#: Execution option for a connection that runs single reading statements, each its own snapshot: no
#: BEGIN/COMMIT round trips (SQLite; on PostgreSQL use the AUTOCOMMIT isolation level).
AUTOCOMMIT_READ_OPTION = "ongi_autocommit_read"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone; we put UTC back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not UTC:  # utcnow() and what this type read are in UTC already: no conversion
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_type(enum: type[Any], length: int = 32) -> sa.Enum:
    """An enum stored as VARCHAR (no database enum type to migrate when a value is added)."""
    return sa.Enum(
        enum, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e], validate_strings=True
    )


def among(dialect_name: str, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``. On PostgreSQL one array parameter of the column's type, ``column = ANY($1)``: the same
    prepared statement whatever the number of values, planned once (not an IN list of a thousand parameters
    rendered, prepared and planned anew for each length)."""
    if dialect_name == "postgresql":
        clause: ColumnElement[bool] = column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    else:
        clause = column.in_(values)
    return clause


async def core_rows(session: AsyncSession, stmt: Any) -> Sequence[Any]:
    """The rows of a select of columns (not of entities), run on the session's connection in its transaction,
    past the ORM: no row goes through the ORM's loading, for reads of many rows (a pull's scope, holdings and
    page). Nothing pending is flushed first: for reads that follow no change made through the session."""
    return (await (await session.connection()).execute(stmt)).all()


def dialect_of(session: AsyncSession) -> str:
    """The name of the dialect the session talks (``sqlite`` or ``postgresql``)."""
    return session.get_bind().dialect.name


#: JSON on SQLite, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class BaseTable(SQLModel):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version: int = Field(default=1, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, sa_column_kwargs={"onupdate": utcnow}
    )

    @declared_attr  # type: ignore[arg-type]
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table of a table model (``Model.__table__``, which SQLModel does not declare to the type checker):
    for statements that bypass the ORM (bulk inserts, compare-and-set updates)."""
    table = sa.inspect(model).local_table
    if not isinstance(table, sa.Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def rowcount(result: object) -> int:
    """The rows an INSERT, UPDATE or DELETE matched. ``AsyncSession.execute`` is typed to return a plain
    ``Result``; for those statements it is a ``CursorResult``, which counts them."""
    if not isinstance(result, sa.CursorResult):
        raise TypeError(f"no row count on {type(result).__name__}")
    return int(result.rowcount)


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite's implicit transactions defeat savepoints and IMMEDIATE).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA busy_timeout=15000",
            "PRAGMA cache_size=-32000",
            "PRAGMA temp_store=MEMORY",
            # what is deleted or overwritten is zeroed in the file, not left in free pages (docs/operations.md)
            "PRAGMA secure_delete=ON",
            # table statistics for the planner, bounded in time (sqlite.org/lang_analyze.html#approx): without
            # them a large database picks the wrong index for a pull (one visit's notes read via the visit index)
            "PRAGMA analysis_limit=400",
            "PRAGMA optimize=0x10002",
        ):
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(AUTOCOMMIT_READ_OPTION):
            return
        immediate = options.get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        if immediate:  # the writer's statements no longer yield to other requests (app.core.sqlite_driver)
            run_inline = getattr(conn.connection.dbapi_connection, "run_inline", None)
            if run_inline is not None:
                run_inline()


#: A pooled PostgreSQL connection that sat in the pool longer than this is pinged before it is handed out.
PING_AFTER_IDLE_S = 10.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a pooled connection before use only when it has been idle (:data:`PING_AFTER_IDLE_S`): a connection
    the server or the network dropped meanwhile is replaced, not handed to a request.

    Instead of SQLAlchemy's ``pool_pre_ping``, whose ping through asyncpg is three round trips (BEGIN, a query,
    ROLLBACK) on every checkout: on the empty pull that phones poll with, three more round trips than its one
    statement. A connection in steady use is not pinged; if it dies under a request anyway, the request fails
    (503), SQLAlchemy sees the disconnect and retires the pool's older connections, so the next ones are new."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["pooled_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        pooled_at = record.info.get("pooled_at")
        if pooled_at is None or time.monotonic() - pooled_at < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool drops it and checks out another (a new connection if need be)
            raise DisconnectionError("a pooled connection did not answer its ping") from exc


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the engine. No connection is opened until the first query."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        from app.core.sqlite_driver import fast_url

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            fast_url(url),
            echo=settings.database_echo,
            hide_parameters=True,  # a failed statement's error never carries the values (personal data)
            # a writer's statements run on the event loop's thread, the others on aiosqlite's (one at a time)
            connect_args={"timeout": 15, "check_same_thread": False},
            pool_size=settings.database_pool_size,
            max_overflow=5,
            # Every session ends its transaction itself (commit or rollback) and closing a connection rolls
            # back what is left: the pool's extra reset would cost a round trip to SQLite's thread per request.
            pool_reset_on_return=None,
        )
        _sqlite_setup(engine)
        return engine
    engine = create_async_engine(
        url,
        echo=settings.database_echo,
        hide_parameters=True,
        pool_size=settings.database_pool_size,
        max_overflow=10,
    )
    _ping_when_idle(engine)
    return engine


def create_sessionmaker(bind: Any) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)
