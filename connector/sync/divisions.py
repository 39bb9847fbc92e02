"""Which Exact division a document goes to, and the mapping table as one division sees it.

A group books several companies under one Exact grant: a `division` mapping routes a Basware company code to
an Exact division (`division,NL01,3141592`); a company code without one goes to the tenant's own division.

Mappings come in two scopes. A plain source (`gl_account,4000,4010`) holds in every division; a source with
`@division` (`gl_account,4000@3141592,4011`) holds in that division only and wins there. Vendor mappings name
an Exact account, whose GUID exists in one division only: a plain vendor mapping therefore holds in the
tenant's own division alone, and what the connector resolves or creates in another division is remembered
with `@division`. A `journal` mapping whose source is a division number (`journal,3141592,61`) names that
division's purchase journal.
"""

from __future__ import annotations

from typing import Any

from connector.mapping.dimensions import Mapping
from connector.store import mappings
from connector.store.db import Database
from connector.store.records import Record
from connector.store.tenants import Tenant
from connector.sync.services import Services

DIVISION = "division"
SCOPE = "@"
# Kinds whose plain mappings name something that exists in one division only: the tenant's own.
HOME_ONLY_KINDS = ("vendor",)


def for_company(db: Database, tenant: Tenant, company_code: str | None) -> int | None:
    """The division a company code's documents go to: its `division` mapping, else the tenant's division."""
    if company_code:
        target = mappings.lookup(db, tenant.id, DIVISION, company_code.strip())
        if target is not None:
            return int(target)
    return tenant.exact_division


def for_document(db: Database, tenant: Tenant, document: dict[str, Any]) -> int | None:
    """The division a Basware document (invoice or purchase order) goes to, by its `companyCode`."""
    code = document.get("companyCode")
    return for_company(db, tenant, code if isinstance(code, str) else None)


def of_record(record: Record, tenant: Tenant) -> int | None:
    """The division a record goes to (the tenant's own for one fetched before divisions existed)."""
    return record.division if record.division is not None else tenant.exact_division


def mapped(db: Database, tenant_id: int) -> dict[str, int]:
    """{company code: division} of the tenant's `division` mappings."""
    return {entry.source: int(entry.target) for entry in mappings.entries(db, tenant_id, DIVISION)}


def all_of(db: Database, tenant: Tenant) -> list[int]:
    """Every division the tenant books into: its own first, then the mapped ones."""
    found = [tenant.exact_division] if tenant.exact_division is not None else []
    for division in sorted(set(mapped(db, tenant.id).values())):
        if division not in found:
            found.append(division)
    return found


def scoped(source: str, division: int | None, tenant: Tenant) -> str:
    """The mapping source a division-bound resolution is kept under: plain in the tenant's own division."""
    if division is None or division == tenant.exact_division:
        return source
    return f"{source}{SCOPE}{division}"


def table_for(db: Database, tenant: Tenant, division: int | None) -> Mapping:
    """The tenant's mapping table as `division` sees it: plain rows, overridden by that division's own."""
    home = division is None or division == tenant.exact_division
    view: dict[tuple[str, str], str] = {}
    scoped_rows: dict[tuple[str, str], str] = {}
    for (kind, source), target in mappings.table(db, tenant.id).items():
        base, mark, where = source.rpartition(SCOPE) if SCOPE in source else (source, "", "")
        if mark:
            if division is not None and where == str(division):
                scoped_rows[(kind, base)] = target
        elif home or kind not in HOME_ONLY_KINDS:
            view[(kind, source)] = target
    view.update(scoped_rows)
    journal = view.get(("journal", str(division)))
    if journal is not None:
        view[("journal", tenant.purchase_journal)] = journal
    return view


def describe(db: Database, tenant: Tenant) -> str:
    """The tenant's divisions in words: its own, then each mapped company code's."""
    own = f"{tenant.exact_division if tenant.exact_division is not None else '-'} (own)"
    return ", ".join([own, *(f"{code}: {division}" for code, division in sorted(mapped(db, tenant.id).items()))])


def scope(svc: Services, tenant: Tenant) -> tuple[list[int], dict[str, int]]:
    """(the divisions the grant reaches per `system/Divisions`, {company code: mapped division outside them})."""
    reachable = sorted(int(row["Code"]) for row in svc.exact(tenant).divisions())
    outside = {code: div for code, div in sorted(mapped(svc.db, tenant.id).items()) if div not in reachable}
    if tenant.exact_division is not None and tenant.exact_division not in reachable:
        outside = {"(own)": tenant.exact_division, **outside}
    return reachable, outside
