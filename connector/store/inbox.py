"""The inbox: every accepted notification, recorded before it is answered, published to the broker after."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from connector.store import records
from connector.store.db import Database, inbox
from connector.store.db import records as records_table
from connector.store.records import Status

REPUBLISH_GRACE = 30.0  # seconds
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


def record_notification(
    db: Database,
    *,
    tenant_id: int,
    task_id: str,
    task_type: str,
    document_id: str | None,
    body: str,
    publishing: bool = False,
) -> Accepted:
    """Store the event and the pending record in one transaction; a known task id is a duplicate.

    `publishing`: the caller (the receiver) publishes the event right after, so an event with a record is stored
    as enqueued, and only a failed publish (`mark_unpublished`) leaves it to the sweeper. That saves a second
    transaction per notification; should the process die between the commit and the publish, the pending
    record is resumed by the stalled-record sweep (connector.sync.stalled). Two inserts that skip a conflict
    (ON CONFLICT DO NOTHING) instead of look-ups and savepoints: four round trips fewer. A duplicate rolls its
    transaction back.
    """
    kind, now = KIND_BY_TASK_TYPE.get(task_type), time.time()
    try:
        with db.begin() as conn:
            record_id = _pending_record(conn, tenant_id, kind, document_id) if kind and document_id else None
            inserted = conn.execute(
                _inserts(conn)[1],
                {
                    "tenant_id": tenant_id,
                    "task_id": task_id,
                    "task_type": task_type,
                    "document_id": document_id,
                    "body": body,
                    "received_at": now,
                    "record_id": record_id,
                    "enqueued_at": now if publishing and record_id is not None else None,
                },
            ).scalar()
            if inserted is None:  # known already, or the same delivery committed a moment ago by another request
                raise _Duplicate(_known(conn, tenant_id, task_id))
    except _Duplicate as duplicate:
        return duplicate.accepted
    return Accepted(int(inserted), record_id, duplicate=False)


class _Duplicate(Exception):
    """Raised inside the transaction to roll it back; carries what was recorded before."""

    def __init__(self, accepted: Accepted) -> None:
        super().__init__("duplicate notification")
        self.accepted = accepted


def _known(conn: Connection, tenant_id: int, task_id: str) -> Accepted:
    found = conn.execute(
        sa.select(inbox.c.id, inbox.c.record_id).where(inbox.c.tenant_id == tenant_id, inbox.c.task_id == task_id)
    ).one()
    return Accepted(found.id, found.record_id, duplicate=True)


def _pending_record(conn: Connection, tenant_id: int, kind: str, document_id: str) -> int:
    """The document's record, created as pending if new (as records.upsert_pending, in one statement when new)."""
    now = time.time()
    created = conn.execute(
        _inserts(conn)[0],
        {
            "tenant_id": tenant_id,
            "kind": kind,
            "basware_id": document_id,
            "status": Status.PENDING,
            "write_attempts": 0,
            "created_at": now,
            "updated_at": now,
        },
    ).scalar()
    return int(created) if created is not None else records.upsert_pending(conn, tenant_id, kind, document_id)


_INSERTS: dict[str, tuple[Any, Any]] = {}


def _inserts(conn: Connection) -> tuple[Any, Any]:
    """(record insert, event insert) in the dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite both
    do). Built once per dialect and run with parameters: building a statement per call cost more CPU than the rest.
    """
    name = conn.dialect.name
    if name not in _INSERTS:
        insert = postgresql.insert if name == "postgresql" else sqlite.insert
        _INSERTS[name] = (
            insert(records_table)
            .on_conflict_do_nothing(index_elements=["tenant_id", "kind", "basware_id"])
            .returning(records_table.c.id),
            insert(inbox).on_conflict_do_nothing(index_elements=["tenant_id", "task_id"]).returning(inbox.c.id),
        )
    return _INSERTS[name]


def mark_enqueued(db: Database, inbox_id: int) -> None:
    """The event's chain is on the broker."""
    with db.begin() as conn:
        conn.execute(inbox.update().where(inbox.c.id == inbox_id).values(enqueued_at=time.time()))


def mark_unpublished(db: Database, inbox_id: int) -> None:
    """The publish right after recording failed: the event is the sweeper's (`unpublished`) to send."""
    with db.begin() as conn:
        conn.execute(inbox.update().where(inbox.c.id == inbox_id).values(enqueued_at=None))


def unpublished(db: Database, older_than: float | None = None) -> list[tuple[int, int]]:
    """(inbox id, record id) of events recorded but never put on the broker, older than a grace period.

    The grace period (REPUBLISH_GRACE unless `older_than` is given) leaves a fresh event to the receiver,
    which publishes it right after recording it.
    """
    cutoff = time.time() - (REPUBLISH_GRACE if older_than is None else older_than)
    with db.begin() as conn:
        rows = conn.execute(
            sa.select(inbox.c.id, inbox.c.record_id)
            .where(inbox.c.enqueued_at.is_(None), inbox.c.received_at < cutoff, inbox.c.record_id.is_not(None))
            .order_by(inbox.c.id)
        ).all()
    return [(row.id, row.record_id) for row in rows]


def count(db: Database, tenant_id: int | None = None) -> int:
    """How many events the inbox holds."""
    query = sa.select(sa.func.count()).select_from(inbox)
    if tenant_id is not None:
        query = query.where(inbox.c.tenant_id == tenant_id)
    with db.begin() as conn:
        return int(conn.execute(query).scalar_one())
