"""Cached master data per division (GL accounts, cost centers, VAT codes, journals, suppliers)."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from connector import jsonutil
from connector.store.db import Database, master_data


def load(db: Database, tenant_id: int, division: int, kind: str) -> tuple[float, list[dict[str, Any]]] | None:
    """(fetched_at, rows) as cached, or None."""
    with db.begin() as conn:
        row = conn.execute(
            sa.select(master_data.c.fetched_at, master_data.c.payload).where(
                master_data.c.tenant_id == tenant_id,
                master_data.c.division == division,
                master_data.c.kind == kind,
            )
        ).first()
    return None if row is None else (row.fetched_at, jsonutil.loads(row.payload))


def save(db: Database, tenant_id: int, division: int, kind: str, rows: list[dict[str, Any]]) -> None:
    """Replace the cached rows of one kind."""
    payload = jsonutil.dumps(rows)
    with db.begin() as conn:
        done = conn.execute(
            master_data.update()
            .where(
                master_data.c.tenant_id == tenant_id,
                master_data.c.division == division,
                master_data.c.kind == kind,
            )
            .values(fetched_at=time.time(), payload=payload)
        ).rowcount
        if not done:
            conn.execute(
                master_data.insert().values(
                    tenant_id=tenant_id, division=division, kind=kind, fetched_at=time.time(), payload=payload
                )
            )


def forget(db: Database, tenant_id: int, kind: str | None = None) -> None:
    """Drop a tenant's cache, or one kind of it (after a creation, a new division or an operator's fix)."""
    query = master_data.delete().where(master_data.c.tenant_id == tenant_id)
    if kind is not None:
        query = query.where(master_data.c.kind == kind)
    with db.begin() as conn:
        conn.execute(query)
