"""The inbox: every accepted notification, recorded before it is answered, published to the broker after."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

from connector.store import records
from connector.store.db import Database, inbox

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
    db: Database, *, tenant_id: int, task_id: str, task_type: str, document_id: str | None, body: str
) -> Accepted:
    """Store the event and the pending record in one transaction; a known task id is a duplicate."""
    kind = KIND_BY_TASK_TYPE.get(task_type)
    with db.begin() as conn:
        found = conn.execute(
            sa.select(inbox.c.id, inbox.c.record_id).where(inbox.c.tenant_id == tenant_id, inbox.c.task_id == task_id)
        ).first()
        if found is not None:
            return Accepted(found.id, found.record_id, duplicate=True)
        record_id = records.upsert_pending(conn, tenant_id, kind, document_id) if kind and document_id else None
        try:
            with conn.begin_nested():
                inbox_id = conn.execute(
                    inbox.insert().values(
                        tenant_id=tenant_id,
                        task_id=task_id,
                        task_type=task_type,
                        document_id=document_id,
                        body=body,
                        received_at=time.time(),
                        record_id=record_id,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
        except sa.exc.IntegrityError:  # the same delivery, concurrently, in another request
            found = conn.execute(
                sa.select(inbox.c.id, inbox.c.record_id).where(
                    inbox.c.tenant_id == tenant_id, inbox.c.task_id == task_id
                )
            ).one()
            return Accepted(found.id, found.record_id, duplicate=True)
    return Accepted(int(inbox_id), record_id, duplicate=False)


def mark_enqueued(db: Database, inbox_id: int) -> None:
    """The event's chain is on the broker."""
    with db.begin() as conn:
        conn.execute(inbox.update().where(inbox.c.id == inbox_id).values(enqueued_at=time.time()))


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
