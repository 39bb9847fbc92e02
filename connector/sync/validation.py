"""Plan a document's Exact lines and find every problem, against the division's cached master data.

One procedure for every kind: the kind's own look-ups (say, the items an order's lines name), then the
document's problems, the currency and every line. A code missing from the cache may have been created (or
unblocked) in Exact since the cache was filled, so the kinds of master data a problem points at are read
again once (at most once a minute, see `sync.master`) before the record is blocked.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from connector.exact.client import ExactClient
from connector.mapping.dimensions import Mapping, currency_problems
from connector.mapping.problems import Problem
from connector.store.tenants import Tenant
from connector.sync import divisions
from connector.sync.kinds import DocumentKind
from connector.sync.master import kinds_to_recheck, load_master
from connector.sync.plan import Line
from connector.sync.services import Services


def plan_document(
    svc: Services, tenant: Tenant, exact: ExactClient, kind: DocumentKind[Any], doc: Any
) -> tuple[list[Line], list[Problem], str | None]:
    """(lines, problems, journal) for a document; no problems means it can be written as planned."""
    # Read per validation, so an imported fix counts at once; as the client's division sees it.
    table = divisions.table_for(svc.db, tenant, exact.division)
    prepared = kind.prepare(exact, tenant, doc, table)
    lines, problems = _check(svc, tenant, exact, kind, doc, table, prepared)
    recheck = kinds_to_recheck(problems)
    if recheck:
        lines, problems = _check(svc, tenant, exact, kind, doc, table, prepared, recheck=recheck)
    return lines, problems, kind.journal(tenant, table)


def _check(
    svc: Services,
    tenant: Tenant,
    exact: ExactClient,
    kind: DocumentKind[Any],
    doc: Any,
    table: Mapping,
    prepared: Any,
    *,
    recheck: Collection[str] = (),
) -> tuple[list[Line], list[Problem]]:
    _age, master = load_master(svc.db, tenant.id, exact, recheck=recheck)
    lines, line_problems = kind.plan_lines(tenant, doc, master, table, prepared)
    problems = (
        kind.document_problems(tenant, doc, master, table)
        + currency_problems(kind.summary(doc).currency)
        + line_problems
    )
    return lines, problems
