"""The database schema: every table, and the migrations that bring an older database up to it.

Version 1 creates the tables as they were first shipped; each later change is a migration appended to
`MIGRATIONS` (never edit an applied one). `add_missing_columns` adds a table's new columns to a database made
before them (a new database has them already from version 1).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

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
    sa.Column("notify_webhook_url", sa.Text),  # chat incoming-webhook URL for reminders (encrypted: a secret path)
    sa.Column("notify_webhook_host", sa.String(300)),  # its host alone, what is ever shown
    sa.Column("exact_webhook_url", sa.String(500)),  # our public URL Exact's webhooks are sent to
    sa.Column("exact_webhook_secret", sa.Text),  # encrypted; the Exact app's webhook secret (HashCode key)
    sa.Column("payment_sync_interval", sa.Integer, default=900),  # seconds between payment syncs; 0 = never
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
# The dispatcher's look-up (events not yet on the broker) reads only this small index, however big the inbox.
# Recorded events with a record whose chain no dispatcher has put on the broker yet.
UNPUBLISHED = sa.and_(inbox.c.enqueued_at.is_(None), inbox.c.record_id.is_not(None))
inbox_unpublished = sa.Index("ix_inbox_unpublished", inbox.c.id, postgresql_where=UNPUBLISHED, sqlite_where=UNPUBLISHED)

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
    sa.Column("division", sa.Integer),  # the Exact division the document goes to, decided at fetch
    sa.Column("exact_deleted_at", sa.Float),  # when Exact said its document was deleted by hand
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

# Exact's webhook events, recorded before they are answered and processed once by a worker.
exact_events = sa.Table(
    "exact_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("division", sa.Integer, nullable=False),
    sa.Column("topic", sa.String(40), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("key", sa.String(40), nullable=False),
    sa.Column("created_on", sa.String(40), nullable=False),  # EventCreatedOn as Exact sent it
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("processed_at", sa.Float),
    sa.Column("outcome", sa.Text),
    sa.UniqueConstraint("tenant_id", "division", "topic", "action", "key", "created_on", name="uq_exact_events"),
)

# Per tenant and Exact division: how far the payment sync has read `sync/Cashflow/PaymentTerms` and `sync/Deleted`
# (row versions), and the division's DivisionMoveDate when it did (a move restarts the row versions).
payment_cursors = sa.Table(
    "payment_cursors",
    metadata,
    sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("division", sa.Integer, primary_key=True),
    sa.Column("terms_since", sa.BigInteger, nullable=False, default=0),
    sa.Column("deleted_since", sa.BigInteger, nullable=False, default=0),
    sa.Column("move_date", sa.String(40)),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# The payable terms of the entries we wrote, as Exact last showed them: the payment state is computed from them.
payment_terms = sa.Table(
    "payment_terms",
    metadata,
    sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), primary_key=True),
    sa.Column("term_id", sa.String(40), primary_key=True),
    sa.Column("division", sa.Integer, nullable=False),
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False, index=True),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("amount", sa.String(40), nullable=False),  # Decimal as text
    sa.Column("paid_on", sa.String(10)),  # LastPaymentDate, else EndDate (ISO date)
    sa.Column("method", sa.String(25)),
    sa.Column("reference", sa.String(250)),
    sa.Column("row_version", sa.BigInteger, nullable=False),
)

# Per record: the payment state Basware was last told, and the one being sent (its externalCode), so a crash
# between Basware's answer and our commit sends the same response again, never a second one.
payment_reports = sa.Table(
    "payment_reports",
    metadata,
    sa.Column("record_id", sa.Integer, sa.ForeignKey("records.id"), primary_key=True),
    sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("reported", sa.Text),  # JSON: the state last confirmed by Basware
    sa.Column("sending", sa.Text),  # JSON: the state being sent
    sa.Column("sending_code", sa.String(36)),  # its externalCode
    sa.Column("updated_at", sa.Float, nullable=False),
)

# A bank account Basware gives for an existing Exact supplier: applied in Exact only once a person approves it.
pending_bank_accounts = sa.Table(
    "pending_bank_accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("vendor_code", sa.String(200), nullable=False),
    sa.Column("division", sa.Integer, nullable=False),  # the Exact division the supplier is in
    sa.Column("account_id", sa.String(40), nullable=False),  # the Exact supplier's account id
    sa.Column("account_label", sa.String(300), nullable=False),  # its code and name, as a person reads them
    sa.Column("iban", sa.String(60), nullable=False),
    sa.Column("bic", sa.String(20)),
    sa.Column("status", sa.String(10), nullable=False, default="pending"),  # pending | approved | rejected
    sa.Column("requested_at", sa.Float, nullable=False),
    sa.Column("decided_at", sa.Float),
    sa.Column("decided_by", sa.String(200)),
    sa.UniqueConstraint("tenant_id", "account_id", "iban", name="uq_pending_bank_accounts"),  # asked once
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


def _encrypted_chat_webhook(conn: Connection) -> None:
    # An encrypted URL is longer than the plain one: PostgreSQL's column becomes text (SQLite ignores lengths).
    # Values stored in clear before stay readable and are encrypted by `ml-connector keys rotate`.
    add_missing_columns(conn, tenants)
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("ALTER TABLE tenants ALTER COLUMN notify_webhook_url TYPE TEXT"))


def _create_exact_budget(conn: Connection) -> None:
    metadata.create_all(conn, tables=[exact_budget])


def _record_division(conn: Connection) -> None:
    add_missing_columns(conn, records)


def _exact_webhooks(conn: Connection) -> None:
    add_missing_columns(conn, tenants)
    add_missing_columns(conn, records)
    metadata.create_all(conn, tables=[exact_events])


def _create_pending_bank_accounts(conn: Connection) -> None:
    pending_bank_accounts.create(conn, checkfirst=True)


def _payment_status_sync(conn: Connection) -> None:
    add_missing_columns(conn, tenants)
    metadata.create_all(conn, tables=[payment_cursors, payment_terms, payment_reports])


def _inbox_unpublished_index(conn: Connection) -> None:
    inbox_unpublished.create(conn, checkfirst=True)


# Append new (version, step) pairs; never edit an applied one.
MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, _create_version_one),
    (2, _webhook_secret_rotation),
    (3, _record_run_and_report_bookkeeping),
    (4, _record_due_time),
    (5, _add_dashboard_users_sessions_and_sign_in_throttle),
    (6, _record_write_sent_at),
    (7, _create_exact_budget),
    (8, _encrypted_chat_webhook),
    (9, _record_division),
    (10, _exact_webhooks),
    (11, _payment_status_sync),
    (12, _create_pending_bank_accounts),
    (13, _inbox_unpublished_index),
]
