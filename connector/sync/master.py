"""Master data of a division, cached in the database so steady state costs no reads from Exact."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from connector.exact.client import ExactClient
from connector.exact.odata import parse_date
from connector.mapping.dimensions import MasterData
from connector.store import master
from connector.store.db import Database

MAX_AGE = 3600.0  # refreshed hourly by age ...
MISS_REFRESH_AGE = 60.0  # ... and on a miss, at most once a minute

FETCHERS: dict[str, Callable[[ExactClient], list[dict[str, Any]]]] = {
    "gl_accounts": lambda client: client.gl_accounts(),
    "cost_centers": lambda client: client.cost_centers(),
    "cost_units": lambda client: client.cost_units(),
    "vat_codes": lambda client: client.vat_codes(),
    "journals": lambda client: client.journals(),
}


def rows(
    db: Database,
    tenant_id: int,
    client: ExactClient,
    kind: str,
    fetch: Callable[[], list[dict[str, Any]]],
    *,
    max_age: float = MAX_AGE,
) -> tuple[float, list[dict[str, Any]]]:
    """Cached rows of one kind, fetched again when older than max_age."""
    cached = master.load(db, tenant_id, client.division, kind)
    if cached is not None and time.time() - cached[0] < max_age:
        return cached
    fresh = fetch()
    master.save(db, tenant_id, client.division, kind, fresh)
    return time.time(), fresh


def load_master(
    db: Database, tenant_id: int, client: ExactClient, *, max_age: float = MAX_AGE
) -> tuple[float, MasterData]:
    """The division's master data keyed by trimmed code, and the age of its oldest part."""
    oldest = time.time()
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, fetcher in FETCHERS.items():
        fetched_at, data = rows(db, tenant_id, client, kind, lambda f=fetcher: f(client), max_age=max_age)
        oldest = min(oldest, fetched_at)
        tables[kind] = {str(row.get("Code") or "").strip(): _normalise(row) for row in data}
    return oldest, MasterData(division=client.division, **tables)


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    end = out.get("EndDate")
    if isinstance(end, str) and end.startswith("/Date("):
        out["EndDate"] = parse_date(end).date()
    elif isinstance(end, datetime):
        out["EndDate"] = end.date()
    elif not isinstance(end, date):
        out["EndDate"] = None
    return out
