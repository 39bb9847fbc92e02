"""The database: one schema for SQLite (embedded default) and PostgreSQL, with ordered migrations.

SQLAlchemy Core gives one dialect-neutral way to write the SQL both engines run; the statements stay explicit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from connector.errors import ConfigurationError, StorageUnavailable

metadata = sa.MetaData()

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("exact_region", sa.String(4), nullable=False),
    sa.Column("exact_base_url", sa.String(300)),
    sa.Column("exact_client_id", sa.String(200), nullable=False),
    sa.Column("exact_client_secret", sa.Text, nullable=False),  # encrypted
    sa.Column("exact_redirect_uri", sa.String(500), nullable=False),
    sa.Column("exact_division", sa.Integer),
    sa.Column("basware_region", sa.String(4), nullable=False),
    sa.Column("basware_base_url", sa.String(300)),
    sa.Column("basware_client_id", sa.String(200), nullable=False),
    sa.Column("basware_client_secret", sa.Text, nullable=False),  # encrypted
    sa.Column("webhook_secret", sa.Text, nullable=False),  # encrypted
    sa.Column("webhook_secret_previous", sa.Text),  # encrypted; still accepted during a rotation
    sa.Column("webhook_secret_previous_until", sa.Float),  # when the previous secret stops being accepted
    sa.Column("purchase_journal", sa.String(20), nullable=False),
    sa.Column("auto_create_vendors", sa.Boolean, nullable=False, default=False),
    sa.Column("grant_status", sa.String(20), nullable=False, default="none"),  # none | active | dead
    sa.Column("grant_reason", sa.Text),
    sa.Column("cost_unit_field", sa.String(40), nullable=False, default="projectCode"),  # Basware dimension
    sa.Column("default_item", sa.String(60)),  # Exact item code for free-text purchase order lines
    sa.Column("poll_interval", sa.Integer, nullable=False, default=300),  # seconds; 0 = never poll
    sa.Column("vendor_sync_interval", sa.Integer, nullable=False, default=900),  # seconds; 0 = never
    sa.Column("notify_email", sa.String(300)),  # where re-consent reminders go
    sa.Column("notify_webhook_url", sa.String(500)),  # chat incoming-webhook URL for reminders
    sa.Column("created_at", sa.Float, nullable=False),
)

exact_tokens = sa.Table(
    "exact_tokens",
    metadata,
    sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("access_token", sa.Text, nullable=False),  # encrypted
    sa.Column("refresh_token", sa.Text, nullable=False),  # encrypted
    sa.Column("issued_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("refreshed_at", sa.Float, nullable=False),  # last time Exact issued a new refresh token
    sa.Column("token_calls_day", sa.String(10)),
    sa.Column("token_calls", sa.Integer, nullable=False, default=0),
)

basware_tokens = sa.Table(
    "basware_tokens",
    metadata,
    sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("access_token", sa.Text, nullable=False),  # encrypted
    sa.Column("expires_at", sa.Float, nullable=False),
)

# Small per-tenant state: polling cursors, the last reminder sent, vendor sync's lastUpdated, ...
tenant_state = sa.Table(
    "tenant_state",
    metadata,
    sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

locks = sa.Table(
    "locks",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("owner", sa.String(80), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("task_id", sa.String(100), nullable=False),
    sa.Column("task_type", sa.String(60), nullable=False),
    sa.Column("document_id", sa.String(100)),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("enqueued_at", sa.Float),
    sa.Column("record_id", sa.Integer),
    sa.UniqueConstraint("tenant_id", "task_id", name="uq_inbox_tenant_task"),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # invoice | purchase_order | vendor
    sa.Column("basware_id", sa.String(100), nullable=False),
    sa.Column("status", sa.String(30), nullable=False),  # pending | written | blocked | waiting_for_reauth | failed
    sa.Column("step", sa.String(30)),  # the last step completed
    sa.Column("reference", sa.String(120)),  # invoice number, for people
    sa.Column("supplier", sa.String(250)),
    sa.Column("gross", sa.String(40)),  # Decimal as text
    sa.Column("currency", sa.String(3)),
    sa.Column("exact_id", sa.String(40)),
    sa.Column("exact_number", sa.String(40)),
    sa.Column("reason", sa.Text),
    sa.Column("problems", sa.Text),  # JSON list, one entry per failing line
    sa.Column("document", sa.Text),  # the Basware document as fetched (JSON)
    sa.Column("plan", sa.Text),  # resolved supplier and lines (JSON)
    sa.Column("written_document", sa.Text),  # the Basware version that was written to Exact (JSON)
    sa.Column("write_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("reported", sa.String(20)),  # the outcome last reported to Basware
    sa.Column("report_code", sa.String(80)),  # "<outcome>:<externalCode>" of the response being sent
    sa.Column("running_step", sa.String(30)),  # the step a worker started and has not ended
    sa.Column("running_starts", sa.Integer),  # how often it was started without ending: a killed worker
    sa.Column("due_at", sa.Float),  # when a retry put off by the chain is due (None: its next task runs now)
    sa.Column("write_sent_at", sa.Float),  # when the last write request was let go to Exact
    sa.Column("locked_by", sa.String(80)),
    sa.Column("locked_until", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("tenant_id", "kind", "basware_id", name="uq_records_document"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("tenant_id", sa.Integer),
    sa.Column("record_id", sa.Integer),
    sa.Column("step", sa.String(40), nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("detail", sa.Text),  # JSON
)

mappings = sa.Table(
    "mappings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("origin", sa.String(20), nullable=False, default="manual"),  # manual | vat | name | code | created
    sa.UniqueConstraint("tenant_id", "kind", "source", name="uq_mappings_source"),
)

master_data = sa.Table(
    "master_data",
    metadata,
    sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("division", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(30), primary_key=True),
    sa.Column("fetched_at", sa.Float, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # JSON list
)

# Exact's rate limit per app and division, shared by every process (connector.exact.governor).
exact_budget = sa.Table(
    "exact_budget",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),  # base URL | client id | division
    sa.Column("minute_reset", sa.Float, nullable=False),
    sa.Column("minute_used", sa.Integer, nullable=False),
    sa.Column("minute_limit", sa.Integer),  # what Exact's headers said
    sa.Column("day_reset", sa.Float, nullable=False),
    sa.Column("day_used", sa.Integer, nullable=False),
    sa.Column("day_limit", sa.Integer),
    sa.Column("closed_until", sa.Float, nullable=False),
    sa.Column("next_minute_used", sa.Integer, nullable=False),  # sent on a minute's turn: counted in both
)

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.Float, nullable=False),
)

# --- the dashboard's people: users, their server-side sessions, failed sign-ins (migration 2) -------------------
admin_users = sa.Table(
    "admin_users",
    metadata,
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),  # argon2id, parameters and salt inside
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

admin_sessions = sa.Table(
    "admin_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),  # sha256 of the cookie: a database leak signs nobody in
    sa.Column("user_name", sa.String(80), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False),
)

sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(200), nullable=False, index=True),  # user:NAME or address:IP
    sa.Column("at", sa.Float, nullable=False),
)


VERSION_ONE_TABLES = [
    tenants,
    exact_tokens,
    basware_tokens,
    tenant_state,
    locks,
    inbox,
    records,
    audit_log,
    mappings,
    master_data,
]


def _create_version_one(conn: Connection) -> None:
    metadata.create_all(conn, tables=VERSION_ONE_TABLES)


def add_missing_columns(conn: Connection, table: sa.Table) -> None:
    """Add the table's columns a database made before them lacks (a new database has them from version 1)."""
    present = {column["name"] for column in sa.inspect(conn).get_columns(table.name)}
    for column in table.columns:
        if column.name not in present:
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))


def _webhook_secret_rotation(conn: Connection) -> None:
    add_missing_columns(conn, tenants)


def _record_run_and_report_bookkeeping(conn: Connection) -> None:
    add_missing_columns(conn, records)


def _record_due_time(conn: Connection) -> None:
    add_missing_columns(conn, records)


def _record_write_sent_at(conn: Connection) -> None:
    add_missing_columns(conn, records)


def _add_dashboard_users_sessions_and_sign_in_throttle(conn: Connection) -> None:
    metadata.create_all(conn, tables=[admin_users, admin_sessions, sign_in_failures])


def _create_exact_budget(conn: Connection) -> None:
    metadata.create_all(conn, tables=[exact_budget])


# Append new (version, step) pairs; never edit an applied one.
MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, _create_version_one),
    (2, _webhook_secret_rotation),
    (3, _record_run_and_report_bookkeeping),
    (4, _record_due_time),
    (5, _add_dashboard_users_sessions_and_sign_in_throttle),
    (6, _record_write_sent_at),
    (7, _create_exact_budget),
]


class Database:
    """An engine plus the transaction helper every store module uses."""

    def __init__(self, url: str) -> None:
        self.url = engine_url(url)  # str() of a URL masks its password, so logging it is safe
        self.engine = _make_engine(self.url)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction; database failures become `StorageUnavailable`."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise StorageUnavailable(f"database unavailable: {type(exc.orig).__name__}") from exc
        except sa.exc.InterfaceError as exc:
            raise StorageUnavailable("database connection lost") from exc

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
