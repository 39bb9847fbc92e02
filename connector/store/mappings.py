"""Mapping tables per tenant: Basware code -> Exact code (or account id for vendors), and how each was made.

`origin` says where a mapping came from: `manual` (an operator, `mappings import`), or for vendors the rule
that matched it (`code`, `vat`, `name`) or `created` when the connector created the Exact supplier.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connector.store.db import Database, mappings, upsert

MAPPING_KINDS = ("vendor", "gl_account", "cost_center", "cost_unit", "vat_code", "journal", "item", "division")


@dataclass(frozen=True)
class MappingEntry:
    """One row of a tenant's mapping table."""

    kind: str
    source: str
    target: str
    origin: str


def _where(tenant_id: int, kind: str, source: str) -> sa.ColumnElement[bool]:
    return sa.and_(mappings.c.tenant_id == tenant_id, mappings.c.kind == kind, mappings.c.source == source)


def lookup(db: Database, tenant_id: int, kind: str, source: str) -> str | None:
    """The mapped target for one source code, or None."""
    found = entry(db, tenant_id, kind, source)
    return None if found is None else found.target


def entry(db: Database, tenant_id: int, kind: str, source: str) -> MappingEntry | None:
    """One mapping with its origin, or None."""
    with db.begin() as conn:
        row = conn.execute(
            sa.select(mappings.c.kind, mappings.c.source, mappings.c.target, mappings.c.origin).where(
                _where(tenant_id, kind, source)
            )
        ).first()
    return None if row is None else MappingEntry(row.kind, row.source, row.target, row.origin)


def entries(db: Database, tenant_id: int, kind: str | None = None) -> list[MappingEntry]:
    """A tenant's mappings ordered by kind and source, optionally of one kind."""
    query = (
        sa.select(mappings.c.kind, mappings.c.source, mappings.c.target, mappings.c.origin)
        .where(mappings.c.tenant_id == tenant_id)
        .order_by(mappings.c.kind, mappings.c.source)
    )
    if kind is not None:
        query = query.where(mappings.c.kind == kind)
    with db.begin() as conn:
        return [MappingEntry(row.kind, row.source, row.target, row.origin) for row in conn.execute(query)]


def table(db: Database, tenant_id: int, kind: str | None = None) -> dict[tuple[str, str], str]:
    """Every mapping of a tenant as {(kind, source): target}; one query for a whole invoice."""
    return {(e.kind, e.source): e.target for e in entries(db, tenant_id, kind)}


def put(db: Database, tenant_id: int, kind: str, source: str, target: str, origin: str = "manual") -> None:
    """Set (insert or replace) one mapping."""
    _check_kind(kind)
    with db.begin() as conn:
        _upsert(conn, tenant_id, kind, source, target, origin)


def remember(db: Database, tenant_id: int, kind: str, source: str, target: str, origin: str) -> MappingEntry:
    """Insert a mapping unless one exists; the mapping that holds afterwards (an earlier one wins).

    For resolutions the connector found itself: they never overwrite an operator's mapping, nor one
    remembered a moment ago by a chain that raced this one.
    """
    _check_kind(kind)
    with db.begin() as conn:
        try:
            with conn.begin_nested():
                conn.execute(
                    mappings.insert().values(
                        tenant_id=tenant_id, kind=kind, source=source, target=target, origin=origin
                    )
                )
        except sa.exc.IntegrityError:
            pass
        row = conn.execute(sa.select(mappings.c.target, mappings.c.origin).where(_where(tenant_id, kind, source))).one()
    return MappingEntry(kind, source, row.target, row.origin)


def forget(db: Database, tenant_id: int, kind: str, source: str) -> int:
    """Delete one mapping; how many rows went (0 or 1)."""
    with db.begin() as conn:
        return int(conn.execute(mappings.delete().where(_where(tenant_id, kind, source))).rowcount)


def put_many(db: Database, tenant_id: int, rows: list[tuple[str, str, str]], origin: str = "manual") -> int:
    """Set many mappings in one transaction: all or nothing."""
    for kind, _source, _target in rows:
        _check_kind(kind)
    with db.begin() as conn:
        for kind, source, target in rows:
            _upsert(conn, tenant_id, kind, source, target, origin)
    return len(rows)


def _check_kind(kind: str) -> None:
    if kind not in MAPPING_KINDS:
        raise ValueError(f"unknown mapping kind {kind!r}; use one of {', '.join(MAPPING_KINDS)}")


def _upsert(conn: Connection, tenant_id: int, kind: str, source: str, target: str, origin: str) -> None:
    # A concurrent insert of the same source ends with ours: it is the newer word.
    upsert(
        conn, mappings, {"tenant_id": tenant_id, "kind": kind, "source": source}, {"target": target, "origin": origin}
    )
