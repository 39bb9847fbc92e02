"""The database: one schema for SQLite (embedded default) and PostgreSQL, with ordered migrations.

SQLAlchemy Core gives one dialect-neutral way to write the SQL both engines run; the statements stay explicit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from connector.errors import ConfigurationError, StorageUnavailable

# The tables live in connector.store.schema; they are importable from here too, as they always were.
from connector.store.schema import (
    MIGRATIONS,
    add_missing_columns,
    admin_sessions,
    admin_users,
    audit_log,
    basware_tokens,
    exact_budget,
    exact_events,
    exact_tokens,
    inbox,
    locks,
    mappings,
    master_data,
    metadata,
    payment_cursors,
    payment_reports,
    payment_terms,
    pending_bank_accounts,
    records,
    schema_migrations,
    sign_in_failures,
    tenant_state,
    tenants,
)

__all__ = [
    "metadata",
    "tenants",
    "exact_tokens",
    "basware_tokens",
    "tenant_state",
    "locks",
    "inbox",
    "records",
    "audit_log",
    "mappings",
    "master_data",
    "exact_budget",
    "exact_events",
    "payment_cursors",
    "payment_terms",
    "payment_reports",
    "pending_bank_accounts",
    "schema_migrations",
    "admin_users",
    "admin_sessions",
    "sign_in_failures",
    "MIGRATIONS",
    "add_missing_columns",
    "Database",
    "engine_url",
    "upsert",
    "row_dict",
]


class Database:
    """An engine plus the transaction helper every store module uses."""

    def __init__(self, url: str) -> None:
        self.url = engine_url(url)  # str() of a URL masks its password, so logging it is safe
        self.engine = _make_engine(self.url)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction; database failures become `StorageUnavailable`."""
        with _storage_errors(), self.engine.begin() as conn:
            yield conn

    def connect(self) -> Connection:
        """A connection the caller keeps open and closes, failing as `begin` does."""
        with _storage_errors():
            return self.engine.connect()

    @contextmanager
    def begin_on(self, conn: Connection) -> Iterator[Connection]:
        """A transaction on a connection the caller keeps open (the receiver's group committer), failing as
        `begin` does; after a failure the caller should let the connection go."""
        with _storage_errors(), conn.begin():
            yield conn

    def upgrade(self) -> list[int]:
        """Apply the migrations not applied yet; returns the versions applied now."""
        with self.begin() as conn:
            metadata.create_all(conn, tables=[schema_migrations])
            done = {row[0] for row in conn.execute(sa.select(schema_migrations.c.version))}
            applied = []
            for version, step in MIGRATIONS:
                if version not in done:
                    step(conn)
                    conn.execute(schema_migrations.insert().values(version=version, applied_at=time.time()))
                    applied.append(version)
        return applied

    def current_version(self) -> int:
        """The newest applied migration, 0 for an empty database."""
        with self.begin() as conn:
            if not sa.inspect(conn).has_table("schema_migrations"):
                return 0
            return int(conn.execute(sa.select(sa.func.max(schema_migrations.c.version))).scalar() or 0)

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _storage_errors() -> Iterator[None]:
    """The database being away (or the connection to it lost) becomes `StorageUnavailable`."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        raise StorageUnavailable(f"database unavailable: {type(exc.orig).__name__}") from exc
    except sa.exc.InterfaceError as exc:
        raise StorageUnavailable("database connection lost") from exc


# Users write PostgreSQL URLs three ways. SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3, which we do
# not install, and `postgres://` (Heroku's spelling) as no dialect at all: pin both to psycopg2, which we ship.
_POSTGRES_NAMES = {"postgres", "postgresql"}
_POSTGRES_DRIVER = "psycopg2"


def engine_url(url: str) -> sa.URL:
    """The database URL as the engine needs it: any PostgreSQL spelling pinned to the installed driver."""
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        # SQLAlchemy's own message repeats the whole URL, password included.
        raise ConfigurationError("CONNECTOR_DATABASE_URL is not a database URL (dialect://user:pw@host/db)") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in _POSTGRES_NAMES:
        return parsed.set(drivername=f"postgresql+{driver or _POSTGRES_DRIVER}")
    return parsed


# A database that stops answering (blackholed, not refusing) must become StorageUnavailable within seconds,
# so the receiver answers 503 and a worker retries, instead of both hanging until the kernel gives up.
PG_CONNECT_ARGS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15000,  # ms: unacknowledged data on an established connection
}


def _make_engine(url: sa.URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    # A connection past pool_size is closed when it comes back, so a receiver worker with more requests in flight
    # than that opened and closed a PostgreSQL connection (a server process) per notification. The pool keeps
    # only what was needed at once, so a larger size costs nothing where concurrency is low (Celery children).
    return sa.create_engine(url, pool_pre_ping=True, pool_size=16, max_overflow=4, connect_args=PG_CONNECT_ARGS)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the receiver, the worker and beat read while one of them writes; the driver's own
    # transaction handling is switched off so that every transaction can start with BEGIN IMMEDIATE.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    # A deferred transaction that later writes can fail at once with "database is locked" when another
    # process writes; taking the write lock up front makes it wait on busy_timeout instead.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def upsert(conn: Connection, table: sa.Table, keys: dict[str, Any], values: dict[str, Any]) -> None:
    """Set `values` on the row with `keys`, inserting it if missing; safe when two processes do it at once."""
    where = sa.and_(*(table.c[name] == value for name, value in keys.items()))
    if conn.execute(table.update().where(where).values(**values)).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(table.insert().values(**keys, **values))
    except sa.exc.IntegrityError:  # another process inserted it a moment ago: write ours over it
        conn.execute(table.update().where(where).values(**values))


def row_dict(row: Any) -> dict[str, Any]:
    """A result row as a plain dict."""
    return dict(row._mapping)
