"""What the metrics endpoint reads from the database at scrape time: counts and ages, grouped per tenant.

Read at scrape time rather than counted as events, so every receiver process reports the same truth and a
restart loses nothing; each function is one grouped query, cheap enough for a scrape every 15 seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from connector.store.db import Database, exact_tokens, inbox, records, tenants
from connector.store.schema import UNPUBLISHED


@dataclass(frozen=True)
class Grant:
    """One tenant's Exact grant: when Exact last issued a refresh token, None when not connected."""

    tenant: str
    division: int | None
    status: str
    refreshed_at: float | None


def record_counts(db: Database) -> list[tuple[str, str, str, int]]:
    """(tenant, kind, status, how many) for every combination that has records."""
    query = (
        sa.select(tenants.c.name, records.c.kind, records.c.status, sa.func.count())
        .join(tenants, tenants.c.id == records.c.tenant_id)
        .group_by(tenants.c.name, records.c.kind, records.c.status)
    )
    with db.begin() as conn:
        return [(str(t), str(k), str(s), int(n)) for t, k, s, n in conn.execute(query)]


def oldest_pending(db: Database) -> dict[str, float]:
    """Per tenant, when its oldest pending record was created (epoch seconds); tenants with none are absent."""
    query = (
        sa.select(tenants.c.name, sa.func.min(records.c.created_at))
        .join(tenants, tenants.c.id == records.c.tenant_id)
        .where(records.c.status == "pending")
        .group_by(tenants.c.name)
    )
    with db.begin() as conn:
        return {str(name): float(at) for name, at in conn.execute(query)}


def inbox_waiting(db: Database) -> dict[str, int]:
    """Per tenant, recorded events with a record that were not yet handed to the broker."""
    query = (
        sa.select(tenants.c.name, sa.func.count())
        .join(tenants, tenants.c.id == inbox.c.tenant_id)
        .where(UNPUBLISHED)
        .group_by(tenants.c.name)
    )
    with db.begin() as conn:
        return {str(name): int(count) for name, count in conn.execute(query)}


def grants(db: Database) -> list[Grant]:
    """Every tenant's grant status and last refresh-token issue."""
    query = sa.select(
        tenants.c.name, tenants.c.exact_division, tenants.c.grant_status, exact_tokens.c.refreshed_at
    ).outerjoin(exact_tokens, exact_tokens.c.tenant_id == tenants.c.id)
    with db.begin() as conn:
        return [Grant(str(n), d, str(s), None if r is None else float(r)) for n, d, s, r in conn.execute(query)]
