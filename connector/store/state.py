"""Small named values per tenant: polling cursors, when a reminder was last sent, vendor sync's watermark."""

from __future__ import annotations

import time

import sqlalchemy as sa

from connector.store.db import Database, tenant_state, upsert


def get(db: Database, tenant_id: int, name: str) -> str | None:
    """The stored value, or None."""
    with db.begin() as conn:
        return conn.execute(
            sa.select(tenant_state.c.value).where(tenant_state.c.tenant_id == tenant_id, tenant_state.c.name == name)
        ).scalar()


def put(db: Database, tenant_id: int, name: str, value: str) -> None:
    """Set a value (insert or replace), safely when several processes set it at once."""
    with db.begin() as conn:
        upsert(conn, tenant_state, {"tenant_id": tenant_id, "name": name}, {"value": value, "updated_at": time.time()})
