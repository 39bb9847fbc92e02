"""Resolve a Basware supplier to an Exact supplier account: mapping, code, VAT number, name, or create it."""

from __future__ import annotations

import time
from typing import Any

from connector.basware.schemas import load_vendor
from connector.domain import Invoice, Vendor
from connector.errors import FatalAPIError, RecordBlocked
from connector.exact.client import ExactClient
from connector.mapping import vendors as rules
from connector.store import mappings, master
from connector.store.locks import lease
from connector.store.tenants import Tenant
from connector.sync.master import MISS_REFRESH_AGE, rows
from connector.sync.services import Services

SUPPLIERS = "suppliers"


def resolve_supplier(svc: Services, tenant: Tenant, invoice: Invoice) -> dict[str, Any]:
    """{ID, Code, Name, how} of the Exact supplier for the invoice; blocks when none or several match."""
    exact = svc.exact(tenant)
    code = invoice.supplier_code
    mapped = mappings.lookup(svc.db, tenant.id, "vendor", code)
    suppliers = _suppliers(svc, tenant, exact)
    if mapped:
        found = [s for s in suppliers if str(s.get("ID")) == mapped or str(s.get("Code") or "").strip() == mapped]
        if not found:
            suppliers = _suppliers(svc, tenant, exact, refresh=True)
            found = [s for s in suppliers if str(s.get("ID")) == mapped or str(s.get("Code") or "").strip() == mapped]
        if found:
            return _chosen(found[0], "mapping")
        raise RecordBlocked(
            f"vendor {code} is mapped to {mapped}, which is not a supplier in Exact division {exact.division}",
            [{"row": None, "field": "vendor", "basware_code": code, "mapped_code": mapped,
              "problem": "mapped supplier not found in Exact", "suggestions": []}],
        )
    vendor: Vendor | None = None
    for attempt in (0, 1):
        match, vendor = _match(svc, tenant, invoice, suppliers, vendor)
        if match is not None:
            mappings.put(svc.db, tenant.id, "vendor", code, str(match["ID"]), origin=match["how"])
            return match
        if attempt == 0:
            suppliers = _suppliers(svc, tenant, exact, refresh=True)
    return _create_or_block(svc, tenant, exact, invoice, vendor)


def _match(
    svc: Services, tenant: Tenant, invoice: Invoice, suppliers: list[dict[str, Any]], vendor: Vendor | None
) -> tuple[dict[str, Any] | None, Vendor | None]:
    code = invoice.supplier_code
    for how, candidates in (("code", rules.by_code(suppliers, code)),):
        if candidates:
            return _one(candidates, how, code), vendor
    if vendor is None:
        vendor = _basware_vendor(svc, tenant, invoice)
    vat = invoice.supplier_vat_number or (vendor.vat_number if vendor else None)
    for how, candidates in (("vat", rules.by_vat(suppliers, vat)), ("name", rules.by_name(suppliers, invoice.supplier_name))):
        if candidates:
            return _one(candidates, how, code), vendor
    return None, vendor


def _one(candidates: list[dict[str, Any]], how: str, code: str) -> dict[str, Any]:
    if len(candidates) > 1:
        names = rules.describe(candidates)
        raise RecordBlocked(
            f"vendor {code} matches {len(candidates)} Exact suppliers by {how}: {'; '.join(names)}; add a vendor mapping",
            [{"row": None, "field": "vendor", "basware_code": code, "mapped_code": None,
              "problem": f"ambiguous match by {how}", "suggestions": names}],
        )
    return _chosen(candidates[0], how)


def _chosen(supplier: dict[str, Any], how: str) -> dict[str, Any]:
    return {"ID": str(supplier["ID"]), "Code": str(supplier.get("Code") or "").strip(),
            "Name": supplier.get("Name"), "how": how}


def _create_or_block(
    svc: Services, tenant: Tenant, exact: ExactClient, invoice: Invoice, vendor: Vendor | None
) -> dict[str, Any]:
    code = invoice.supplier_code
    if not tenant.auto_create_vendors:
        raise RecordBlocked(
            f"vendor {code} ({invoice.supplier_name}) not found in Exact division {exact.division}; "
            "create it or add a mapping",
            [{"row": None, "field": "vendor", "basware_code": code, "mapped_code": None,
              "problem": "not found in Exact", "suggestions": []}],
        )
    # One creation per vendor even when many invoices of a new vendor arrive at once.
    with lease(svc.db, f"vendor-create:{tenant.id}:{code}", ttl=120, wait=120):
        mapped = mappings.lookup(svc.db, tenant.id, "vendor", code)
        if mapped:
            for supplier in _suppliers(svc, tenant, exact, refresh=True):
                if str(supplier.get("ID")) == mapped:
                    return _chosen(supplier, "mapping")
        fields = rules.account_fields(vendor or Vendor(code=code, name=invoice.supplier_name))
        created = exact.create_account(fields)
        mappings.put(svc.db, tenant.id, "vendor", code, str(created["ID"]), origin="created")
        master.forget(svc.db, tenant.id, SUPPLIERS)
    return _chosen(created, "created")


def _basware_vendor(svc: Services, tenant: Tenant, invoice: Invoice) -> Vendor | None:
    try:
        return load_vendor(svc.basware(tenant).get_vendor(invoice.supplier_code))
    except FatalAPIError:  # not in Basware's vendor API: match on what the invoice says
        return None


def _suppliers(svc: Services, tenant: Tenant, exact: ExactClient, *, refresh: bool = False) -> list[dict[str, Any]]:
    def fetch() -> list[dict[str, Any]]:
        return exact.find_accounts("IsSupplier eq true")

    cached = master.load(svc.db, tenant.id, exact.division, SUPPLIERS)
    if refresh and cached is not None and time.time() - cached[0] < MISS_REFRESH_AGE:
        return cached[1]
    return rows(svc.db, tenant.id, exact, SUPPLIERS, fetch, max_age=0 if refresh else 3600)[1]
