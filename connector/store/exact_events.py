"""Exact's webhook events, recorded once (Exact retries a delivery) and marked when a worker has processed them."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

from connector.exact.webhooks import ExactEvent
from connector.store.db import Database, exact_events


@dataclass(frozen=True)
class StoredEvent:
    """An event as recorded, with the tenant it is for."""

    id: int
    tenant_id: int
    event: ExactEvent
    processed_at: float | None


def record(db: Database, tenant_id: int, event: ExactEvent, body: str) -> tuple[int, bool]:
    """(id, is_new): a delivery of an event already recorded returns the first one's id."""
    keys = {"tenant_id": tenant_id, "division": event.division, "topic": event.topic, "action": event.action,
            "key": event.key, "created_on": event.created_on}  # fmt: skip
    where = sa.and_(*(exact_events.c[name] == value for name, value in keys.items()))
    with db.begin() as conn:
        existing = conn.execute(sa.select(exact_events.c.id).where(where)).scalar()
        if existing is not None:
            return int(existing), False
        try:
            with conn.begin_nested():
                result = conn.execute(exact_events.insert().values(**keys, body=body, received_at=time.time()))
                return int(result.inserted_primary_key[0]), True  # type: ignore[index]
        except sa.exc.IntegrityError:  # the same event delivered twice at once
            return int(conn.execute(sa.select(exact_events.c.id).where(where)).scalar_one()), False


def get(db: Database, event_id: int) -> StoredEvent:
    """One recorded event (LookupError when there is none)."""
    with db.begin() as conn:
        row = conn.execute(sa.select(exact_events).where(exact_events.c.id == event_id)).first()
    if row is None:
        raise LookupError(f"no Exact event {event_id}")
    event = ExactEvent(row.topic, row.action, row.division, row.key, row.created_on, None)
    return StoredEvent(row.id, row.tenant_id, event, row.processed_at)


def mark_processed(db: Database, event_id: int, outcome: str) -> bool:
    """Mark an event processed, with what it did; False when another worker did so first."""
    with db.begin() as conn:
        done = conn.execute(
            exact_events.update()
            .where(exact_events.c.id == event_id, exact_events.c.processed_at.is_(None))
            .values(processed_at=time.time(), outcome=outcome)
        ).rowcount
    return bool(done)


def unprocessed(db: Database, older_than: float, now: float | None = None) -> list[int]:
    """Events recorded more than `older_than` seconds ago and not processed: their task may be lost."""
    now = time.time() if now is None else now
    query = sa.select(exact_events.c.id).where(
        exact_events.c.processed_at.is_(None), exact_events.c.received_at < now - older_than
    )
    with db.begin() as conn:
        return [int(row.id) for row in conn.execute(query.order_by(exact_events.c.id))]


def count(db: Database, tenant_id: int) -> int:
    """How many events a tenant has recorded."""
    with db.begin() as conn:
        query = sa.select(sa.func.count()).select_from(exact_events).where(exact_events.c.tenant_id == tenant_id)
        return int(conn.execute(query).scalar_one())
