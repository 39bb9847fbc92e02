"""Cached master data per division (GL accounts, cost centers, cost units, VAT codes, journals, suppliers)."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from connector import jsonutil
from connector.store.db import Database, master_data, upsert


def _where(tenant_id: int, division: int, kind: str) -> sa.ColumnElement[bool]:
    return sa.and_(master_data.c.tenant_id == tenant_id, master_data.c.division == division, master_data.c.kind == kind)


def load(db: Database, tenant_id: int, division: int, kind: str) -> tuple[float, list[dict[str, Any]]] | None:
    """(fetched_at, rows) as cached, or None."""
    with db.begin() as conn:
        row = conn.execute(
            sa.select(master_data.c.fetched_at, master_data.c.payload).where(_where(tenant_id, division, kind))
        ).first()
    return None if row is None else (row.fetched_at, jsonutil.loads(row.payload))


def save(
    db: Database, tenant_id: int, division: int, kind: str, rows: list[dict[str, Any]], fetched_at: float | None = None
) -> None:
    """Replace the cached rows of one kind (safe when two processes save the same kind at once)."""
    values = {"fetched_at": time.time() if fetched_at is None else fetched_at, "payload": jsonutil.dumps(rows)}
    with db.begin() as conn:
        upsert(conn, master_data, {"tenant_id": tenant_id, "division": division, "kind": kind}, values)


def forget(db: Database, tenant_id: int, kind: str | None = None) -> None:
    """Drop a tenant's cache, or one kind of it (after a creation, a new division or an operator's fix)."""
    query = master_data.delete().where(master_data.c.tenant_id == tenant_id)
    if kind is not None:
        query = query.where(master_data.c.kind == kind)
    with db.begin() as conn:
        conn.execute(query)
