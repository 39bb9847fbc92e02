"""Mapping tables per tenant: Basware code -> Exact code (or account id for vendors)."""

from __future__ import annotations

import sqlalchemy as sa

from connector.store.db import Database, mappings

MAPPING_KINDS = ("vendor", "gl_account", "cost_center", "cost_unit", "vat_code", "journal", "item")


def lookup(db: Database, tenant_id: int, kind: str, source: str) -> str | None:
    """The mapped target for one source code, or None."""
    with db.begin() as conn:
        return conn.execute(
            sa.select(mappings.c.target).where(
                mappings.c.tenant_id == tenant_id, mappings.c.kind == kind, mappings.c.source == source
            )
        ).scalar()


def table(db: Database, tenant_id: int, kind: str | None = None) -> dict[tuple[str, str], str]:
    """Every mapping of a tenant as {(kind, source): target}; one query for a whole invoice."""
    query = sa.select(mappings.c.kind, mappings.c.source, mappings.c.target).where(mappings.c.tenant_id == tenant_id)
    if kind is not None:
        query = query.where(mappings.c.kind == kind)
    with db.begin() as conn:
        return {(row.kind, row.source): row.target for row in conn.execute(query)}


def put(db: Database, tenant_id: int, kind: str, source: str, target: str, origin: str = "manual") -> None:
    """Set (insert or replace) one mapping."""
    if kind not in MAPPING_KINDS:
        raise ValueError(f"unknown mapping kind {kind!r}; use one of {', '.join(MAPPING_KINDS)}")
    with db.begin() as conn:
        done = conn.execute(
            mappings.update()
            .where(mappings.c.tenant_id == tenant_id, mappings.c.kind == kind, mappings.c.source == source)
            .values(target=target, origin=origin)
        ).rowcount
        if not done:
            conn.execute(
                mappings.insert().values(tenant_id=tenant_id, kind=kind, source=source, target=target, origin=origin)
            )


def put_many(db: Database, tenant_id: int, rows: list[tuple[str, str, str]], origin: str = "manual") -> int:
    """Set many mappings in one transaction: all or nothing."""
    for kind, _source, _target in rows:
        if kind not in MAPPING_KINDS:
            raise ValueError(f"unknown mapping kind {kind!r}")
    with db.begin() as conn:
        for kind, source, target in rows:
            conn.execute(
                mappings.delete().where(
                    mappings.c.tenant_id == tenant_id, mappings.c.kind == kind, mappings.c.source == source
                )
            )
            conn.execute(
                mappings.insert().values(tenant_id=tenant_id, kind=kind, source=source, target=target, origin=origin)
            )
    return len(rows)
