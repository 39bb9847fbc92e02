"""Names next to codes on the dashboard: "4000 Purchases" rather than "4000", a supplier's code and name
rather than its Exact GUID. Read from the master data the workers cache per division (no call to Exact is
made for a page view); a code the cache does not know is shown as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from connector.store import master
from connector.store.db import Database
from connector.store.tenants import Tenant

# A problem's field -> the cached master data kind holding its codes (as connector.sync.master caches them).
FIELD_KINDS = {
    "gl_account": "gl_accounts",
    "cost_center": "cost_centers",
    "cost_unit": "cost_units",
    "vat_code": "vat_codes",
    "journal": "journals",
}
SUPPLIERS = "suppliers"
_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


@dataclass
class Names:
    """Code -> name per kind for one tenant's division, and supplier GUID -> (code, name)."""

    by_kind: dict[str, dict[str, str]] = field(default_factory=dict)
    suppliers: dict[str, tuple[str, str]] = field(default_factory=dict)

    def label(self, field_name: str | None, code: str | None) -> str:
        """The code with its name when known ("4000 Purchases"); a supplier GUID as its code and name."""
        if not code:
            return ""
        if _GUID.fullmatch(code):
            return self.supplier(code)
        name = self.by_kind.get(FIELD_KINDS.get(field_name or "", ""), {}).get(code.strip())
        return f"{code} {name}" if name and name != code else code

    def supplier(self, account_id: str) -> str:
        """An Exact supplier by its code and name; the GUID itself only when nothing better is known."""
        code, name = self.suppliers.get(account_id.lower(), ("", ""))
        return " ".join(part for part in (code, name) if part) or account_id


def for_tenant(db: Database, tenant: Tenant, plan: dict[str, Any] | None = None) -> Names:
    """Everything cached for the tenant's division, plus the supplier a record's plan resolved."""
    names = Names()
    if tenant.exact_division is None:
        return names
    for kind in FIELD_KINDS.values():
        cached = master.load(db, tenant.id, tenant.exact_division, kind)
        rows = cached[1] if cached else []
        names.by_kind[kind] = {_text(row.get("Code")): _text(row.get("Description")) for row in rows}
    cached = master.load(db, tenant.id, tenant.exact_division, SUPPLIERS)
    for row in (cached[1] if cached else []) + [(plan or {}).get("supplier") or {}]:
        if row.get("ID"):
            names.suppliers[str(row["ID"]).lower()] = (_text(row.get("Code")), _text(row.get("Name")))
    return names


def _text(value: Any) -> str:
    return str(value or "").strip()
