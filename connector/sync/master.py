"""Master data of a division, cached in the database so that steady state costs no reads from Exact.

Each kind is fetched at most once per MAX_AGE (beat refreshes it hourly, `connector.refresh_master_data`),
and again on a miss at most once per MISS_REFRESH_AGE, so a code created in Exact a minute ago is found
while a record that stays wrong does not cost a full download on every replay. A refresh is single-flight:
when many chains find the cache cold at once, one downloads and the others read what it saved.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime
from functools import partial
from typing import Any

from connector.errors import ConnectorError
from connector.exact.client import ExactClient
from connector.exact.odata import parse_date
from connector.mapping.dimensions import MasterData
from connector.mapping.problems import Problem
from connector.store import master
from connector.store.db import Database
from connector.store.locks import lease
from connector.store.tenants import list_tenants
from connector.sync import divisions
from connector.sync.services import Services

log = logging.getLogger(__name__)
MAX_AGE = 3600.0  # refreshed hourly by age ...
MISS_REFRESH_AGE = 60.0  # ... and on a miss, at most once a minute
SUPPLIERS = "suppliers"  # code -> account id for operator mappings that name a code

FETCHERS: dict[str, Callable[[ExactClient], list[dict[str, Any]]]] = {
    "gl_accounts": lambda client: client.gl_accounts(),
    "cost_centers": lambda client: client.cost_centers(),
    "cost_units": lambda client: client.cost_units(),
    "vat_codes": lambda client: client.vat_codes(),
    "journals": lambda client: client.journals(),
}
# The master data kind a validation problem's `field` points at.
FIELD_KINDS = {
    "gl_account": "gl_accounts",
    "cost_center": "cost_centers",
    "cost_unit": "cost_units",
    "vat_code": "vat_codes",
    "journal": "journals",
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
    """Cached rows of one kind, fetched again (by one process at a time) when older than max_age."""
    division = client.division
    cached = _fresh(db, tenant_id, division, kind, max_age)
    if cached is not None:
        return cached
    with lease(db, f"master:{tenant_id}:{division}:{kind}", ttl=300, wait=120):
        cached = _fresh(db, tenant_id, division, kind, max_age)  # another process may have just fetched it
        if cached is not None:
            return cached
        fetched_at, data = time.time(), fetch()
        master.save(db, tenant_id, division, kind, data, fetched_at)
    return fetched_at, data


def _fresh(
    db: Database, tenant_id: int, division: int, kind: str, max_age: float
) -> tuple[float, list[dict[str, Any]]] | None:
    cached = master.load(db, tenant_id, division, kind)
    if cached is not None and time.time() - cached[0] < max_age:
        return cached
    return None


def load_master(
    db: Database,
    tenant_id: int,
    client: ExactClient,
    *,
    max_age: float = MAX_AGE,
    recheck: Collection[str] = (),
) -> tuple[float, MasterData]:
    """The division's master data keyed by trimmed code, and the age of its oldest part.

    Kinds named in `recheck` (a miss was seen) are fetched again when older than MISS_REFRESH_AGE.
    """
    oldest = time.time()
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, fetcher in FETCHERS.items():
        age = min(max_age, MISS_REFRESH_AGE) if kind in recheck else max_age
        fetched_at, data = rows(db, tenant_id, client, kind, partial(fetcher, client), max_age=age)
        oldest = min(oldest, fetched_at)
        tables[kind] = {str(row.get("Code") or "").strip(): _normalise(row) for row in data}
    return oldest, MasterData(division=client.division, **tables)


def kinds_to_recheck(problems: Iterable[Problem]) -> set[str]:
    """The master data kinds a list of validation problems may be wrong about."""
    return {FIELD_KINDS[p.field] for p in problems if p.field in FIELD_KINDS}


def supplier_by_code(db: Database, tenant_id: int, client: ExactClient, code: str) -> dict[str, Any] | None:
    """{ID, Code, Name} of the supplier with this account code; cached, so a mapped code costs no call."""
    wanted = code.strip()
    cached = _fresh(db, tenant_id, client.division, SUPPLIERS, MAX_AGE)
    known = cached[1] if cached else []
    hit = next((row for row in known if row["Code"] == wanted), None)
    if hit is not None:
        return hit
    found = client.find_supplier_by_code(wanted)
    if found is None:
        return None
    row = {"ID": str(found["ID"]), "Code": str(found.get("Code") or "").strip(), "Name": found.get("Name")}
    # Keep the list's age: every remembered code is checked in Exact again once the list expires.
    master.save(db, tenant_id, client.division, SUPPLIERS, [*known, row], cached[0] if cached else None)
    return row


def refresh(db: Database, tenant_id: int, client: ExactClient) -> dict[str, int]:
    """Fetch every kind again now (beat); returns how many rows each kind has."""
    counts = {}
    for kind, fetcher in FETCHERS.items():
        _at, data = rows(db, tenant_id, client, kind, partial(fetcher, client), max_age=0)
        counts[kind] = len(data)
    master.forget(db, tenant_id, SUPPLIERS)
    return counts


def refresh_all(svc: Services) -> int:
    """Refresh the master data of every division of every tenant with a live grant; returns how many divisions."""
    refreshed = 0
    for tenant in list_tenants(svc.db):
        if tenant.grant_status != "active":
            continue
        targets: list[int | None] = [*divisions.all_of(svc.db, tenant)] or [None]  # None: current/Me's
        for division in targets:
            try:
                counts = refresh(svc.db, tenant.id, svc.exact(tenant, division=division, background=True))
            except ConnectorError as exc:  # one division's outage must not stop the others' refresh
                log.warning("tenant=%s division=%s master data refresh failed: %s", tenant.name, division, exc)
                continue
            log.info("tenant=%s division=%s master data refreshed: %s", tenant.name, division, counts)
            refreshed += 1
    return refreshed


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    end = out.get("EndDate")
    if isinstance(end, str) and end.startswith("/Date("):
        parsed = parse_date(end)
        out["EndDate"] = parsed.date() if parsed is not None else None
    elif isinstance(end, datetime):
        out["EndDate"] = end.date()
    elif not isinstance(end, date):
        out["EndDate"] = None
    return out


def replace_cached(
    db: Database, tenant_id: int, division: int, kind: str, key: str, row: dict[str, Any] | None
) -> bool:
    """Put one entry (by ID) into a cached kind, or take it out when `row` is None; keeps the cache's age.

    What an Exact webhook for one G/L account or supplier changes: that entry, not a full download.
    True when a cache was there to change.
    """
    cached = master.load(db, tenant_id, division, kind)
    if cached is None:
        return False  # nothing cached: the next use downloads the kind anyway
    kept = [entry for entry in cached[1] if str(entry.get("ID") or "").lower() != key.lower()]
    if row is not None:
        kept.append(row)
    master.save(db, tenant_id, division, kind, kept, cached[0])
    return True
