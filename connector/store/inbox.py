"""The inbox: every accepted notification, committed before it is answered; the workers' dispatcher publishes it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connector.store import records
from connector.store.db import Database, inbox
from connector.store.records import Status
from connector.store.schema import UNPUBLISHED

DISPATCH_BATCH = 500  # events a dispatcher publishes in one transaction
KIND_BY_TASK_TYPE = {
    "AccountingDocuments": "invoice",
    "ExportedPurchaseOrders": "purchase_order",
}


@dataclass(frozen=True)
class Accepted:
    """What recording a notification did: the inbox row, its record, and whether it was already there."""

    inbox_id: int
    record_id: int | None
    duplicate: bool


@dataclass(frozen=True)
class Notification:
    """One verified notification to record."""

    tenant_id: int
    task_id: str
    task_type: str
    document_id: str | None
    body: str

    @property
    def kind(self) -> str | None:
        """The record kind it makes, or None for a task type we keep but do not process."""
        return KIND_BY_TASK_TYPE.get(self.task_type) if self.document_id else None


def record_notification(
    db: Database, *, tenant_id: int, task_id: str, task_type: str, document_id: str | None, body: str
) -> Accepted:
    """Store one event and its pending record in one transaction; a known task id is a duplicate."""
    return record_notifications(db, [Notification(tenant_id, task_id, task_type, document_id, body)])[0]


def record_notifications(db: Database, batch: list[Notification]) -> list[Accepted]:
    """Store a batch of events and their pending records in ONE transaction, one answer per event, in order.

    The receiver commits the notifications that arrive together as one group (connector.store.group_commit):
    a commit, its WAL flush and the round trips are paid once per group instead of once per request, which is
    most of what intake costs. Each event is left unpublished (`enqueued_at` empty): the workers' dispatcher
    (workers.dispatcher) puts its chain on the broker, so nothing in the request waits for the broker.

    Three statements whatever the batch size: the new records (a multi-row INSERT that skips known
    documents), the records that were known already, and the events (a multi-row INSERT that skips known task
    ids). A task id known before, or twice in the batch, is a duplicate and answered with what was recorded
    first. If any statement fails, the whole batch fails and nothing of it is stored.
    """
    with db.begin() as conn:
        return store_notifications(conn, batch)


def store_notifications(conn: Connection, batch: list[Notification]) -> list[Accepted]:
    """`record_notifications` inside the caller's transaction."""
    now = time.time()
    record_ids = _pending_records(conn, batch, now)
    fresh: list[Notification] = []
    seen: set[tuple[int, str]] = set()
    for item in batch:
        if (item.tenant_id, item.task_id) not in seen:
            seen.add((item.tenant_id, item.task_id))
            fresh.append(item)
    fresh.sort(key=lambda item: (item.tenant_id, item.task_id))  # one lock order for every batch: no deadlock
    rows = _insert_new(
        conn,
        "inbox",
        ("tenant_id", "task_id", "task_type", "document_id", "body", "received_at", "record_id"),
        [(i.tenant_id, i.task_id, i.task_type, i.document_id, i.body, now, _record_of(record_ids, i)) for i in fresh],
        conflict=("tenant_id", "task_id"),
        returning=("id", "tenant_id", "task_id"),
    )
    inserted = {(tenant_id, task_id): int(inbox_id) for inbox_id, tenant_id, task_id in rows}
    known = _known(conn, [item for item in batch if (item.tenant_id, item.task_id) not in inserted])
    answers: list[Accepted] = []
    first: set[tuple[int, str]] = set()
    for item in batch:
        key = (item.tenant_id, item.task_id)
        if key in inserted and key not in first:
            first.add(key)
            answers.append(Accepted(inserted[key], _record_of(record_ids, item), duplicate=False))
        elif key in inserted:  # the same task id twice in one batch: the second is a duplicate of the first
            answers.append(Accepted(inserted[key], _record_of(record_ids, item), duplicate=True))
        else:
            answers.append(known[key])
    return answers


def _record_of(record_ids: dict[tuple[int, str, str], int], item: Notification) -> int | None:
    key = _record_key(item)
    return None if key is None else record_ids[key]


def _record_key(item: Notification) -> tuple[int, str, str] | None:
    return (item.tenant_id, item.kind, item.document_id) if item.kind and item.document_id else None


def _pending_records(conn: Connection, batch: list[Notification], now: float) -> dict[tuple[int, str, str], int]:
    """The record of each document in the batch, created as pending where new (as records.upsert_pending)."""
    keys = sorted({key for item in batch if (key := _record_key(item)) is not None})
    if not keys:
        return {}
    rows = _insert_new(
        conn,
        "records",
        ("tenant_id", "kind", "basware_id", "status", "write_attempts", "created_at", "updated_at"),
        [(tenant_id, kind, document_id, Status.PENDING.value, 0, now, now) for tenant_id, kind, document_id in keys],
        conflict=("tenant_id", "kind", "basware_id"),
        returning=("id", "tenant_id", "kind", "basware_id"),
    )
    found = {(tenant_id, kind, document_id): int(record_id) for record_id, tenant_id, kind, document_id in rows}
    for key in keys:
        if key not in found:  # known before, or inserted a moment ago by another transaction (a new snapshot)
            found[key] = records.upsert_pending(conn, *key)
    return found


def _known(conn: Connection, items: list[Notification]) -> dict[tuple[int, str], Accepted]:
    """What was recorded before for these events' task ids."""
    out: dict[tuple[int, str], Accepted] = {}
    for item in items:
        row = conn.execute(
            sa.select(inbox.c.id, inbox.c.record_id).where(
                inbox.c.tenant_id == item.tenant_id, inbox.c.task_id == item.task_id
            )
        ).one()
        out[(item.tenant_id, item.task_id)] = Accepted(row.id, row.record_id, duplicate=True)
    return out


def _insert_new(
    conn: Connection,
    table: str,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    *,
    conflict: tuple[str, ...],
    returning: tuple[str, ...],
) -> list[tuple[Any, ...]]:
    """INSERT … VALUES (…), (…) ON CONFLICT (…) DO NOTHING RETURNING …: the rows that were new, in one statement.

    Written out and handed to the driver (still inside SQLAlchemy's transaction and error handling): its
    multi-row insert machinery cost a quarter of a receiver process's CPU. PostgreSQL and SQLite (3.35 and
    later) both speak this SQL; only the parameter mark differs. Names come from this module, never from input.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    one = "(" + ", ".join([mark] * len(columns)) + ")"
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * len(rows))} "
        f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {', '.join(returning)}"
    )
    return [tuple(row) for row in conn.exec_driver_sql(sql, tuple(value for row in rows for value in row))]


def dispatch(db: Database, publish: Callable[[int], None], limit: int = DISPATCH_BATCH) -> int:
    """Put the chains of recorded, unpublished events on the broker, oldest first; returns how many went.

    The rows are claimed with FOR UPDATE SKIP LOCKED, so dispatchers in several workers share the work and
    none publishes a row another holds. Each row is marked only after its publish returned, in the same
    transaction: a dispatcher that dies before the commit leaves its rows to be published again, and a
    record's steps are safe to run twice (record lease, write-once). A publish that fails (broker down) ends
    the round; what went is marked, the rest waits for the next round.
    """
    with db.begin() as conn:
        rows = conn.execute(
            sa.select(inbox.c.id, inbox.c.record_id)
            .where(UNPUBLISHED)
            .order_by(inbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        sent: list[int] = []
        failure: Exception | None = None
        for row in rows:
            try:
                publish(int(row.record_id))
            except Exception as exc:  # noqa: BLE001 - any broker failure: the rest waits for the next round
                failure = exc
                break
            sent.append(int(row.id))
        if sent:
            conn.execute(inbox.update().where(inbox.c.id.in_(sent)).values(enqueued_at=time.time()))
    if failure is not None:
        raise BrokerUnavailable(len(sent), failure)
    return len(sent)


class BrokerUnavailable(Exception):
    """A publish failed; `sent` events went before it and are marked."""

    def __init__(self, sent: int, cause: Exception) -> None:
        super().__init__(f"broker unavailable after {sent} published: {type(cause).__name__}")
        self.sent = sent


def unpublished(db: Database) -> list[tuple[int, int]]:
    """(inbox id, record id) of the events recorded and not yet put on the broker, oldest first."""
    with db.begin() as conn:
        rows = conn.execute(sa.select(inbox.c.id, inbox.c.record_id).where(UNPUBLISHED).order_by(inbox.c.id)).all()
    return [(row.id, row.record_id) for row in rows]


def count(db: Database, tenant_id: int | None = None) -> int:
    """How many events the inbox holds."""
    query = sa.select(sa.func.count()).select_from(inbox)
    if tenant_id is not None:
        query = query.where(inbox.c.tenant_id == tenant_id)
    with db.begin() as conn:
        return int(conn.execute(query).scalar_one())
