"""Resolve a Basware supplier to an Exact supplier account: mapping, code, VAT number, name, or create it.

Exact's crm/Accounts only answers filtered queries (Code, VATNumber, Name, ...), so each rule is one targeted
query; the answer is remembered in the tenant's mapping table, so a known vendor costs no Exact call.
"""

from __future__ import annotations

import re
from typing import Any

from connector.basware.schemas import load_vendor
from connector.domain import Invoice, Vendor
from connector.errors import FatalAPIError, RecordBlocked
from connector.exact import odata
from connector.exact.client import ExactClient
from connector.mapping import vendors as rules
from connector.store import mappings
from connector.store.locks import lease
from connector.store.tenants import Tenant
from connector.sync.services import Services

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def resolve_supplier(svc: Services, tenant: Tenant, invoice: Invoice) -> dict[str, Any]:
    """{ID, Code, Name, how} of the Exact supplier for the invoice; blocks when none or several match."""
    exact = svc.exact(tenant)
    code = invoice.supplier_code
    mapped = mappings.lookup(svc.db, tenant.id, "vendor", code)
    if mapped:
        return _from_mapping(exact, code, mapped)
    match = _match(svc, tenant, exact, invoice)
    if match is None:
        match = _create_or_block(svc, tenant, exact, invoice)
    else:
        mappings.put(svc.db, tenant.id, "vendor", code, match["ID"], origin=match["how"])
    return match


def _from_mapping(exact: ExactClient, code: str, mapped: str) -> dict[str, Any]:
    if GUID.match(mapped):  # a remembered resolution or an operator's account id: no call needed
        return {"ID": mapped, "Code": None, "Name": None, "how": "mapping"}
    found = exact.find_supplier_by_code(mapped)
    if found is None:
        raise RecordBlocked(
            f"vendor {code} is mapped to Exact account {mapped}, which is not a supplier in Exact division "
            f"{exact.division}; correct the vendor mapping",
            [_problem(code, mapped, "mapped supplier not found in Exact")],
        )
    return _chosen(found, "mapping")


def _match(svc: Services, tenant: Tenant, exact: ExactClient, invoice: Invoice) -> dict[str, Any] | None:
    code = invoice.supplier_code
    by_code = exact.find_supplier_by_code(code)
    if by_code is not None:
        return _chosen(by_code, "code")
    vendor = _basware_vendor(svc, tenant, invoice)
    vat = invoice.supplier_vat_number or (vendor.vat_number if vendor else None)
    if vat:
        found = rules.by_vat(_suppliers(exact, f"VATNumber eq {odata.string(vat.strip())}"), vat)
        if found:
            return _one(found, "VAT number", code)
    name = invoice.supplier_name.strip()
    found = rules.by_name(_suppliers(exact, f"Name eq {odata.string(name)}"), name)
    return _one(found, "name", code) if found else None


def _suppliers(exact: ExactClient, condition: str) -> list[dict[str, Any]]:
    return exact.find_accounts(f"{condition} and IsSupplier eq true")


def _one(candidates: list[dict[str, Any]], how: str, code: str) -> dict[str, Any]:
    if len(candidates) > 1:
        names = rules.describe(candidates)
        raise RecordBlocked(
            f"vendor {code} matches {len(candidates)} Exact suppliers by {how}: {'; '.join(names)}; "
            "add a vendor mapping to choose one",
            [_problem(code, None, f"ambiguous match by {how}", names)],
        )
    return _chosen(candidates[0], how.split()[0].lower())


def _chosen(supplier: dict[str, Any], how: str) -> dict[str, Any]:
    return {
        "ID": str(supplier["ID"]),
        "Code": str(supplier.get("Code") or "").strip(),
        "Name": supplier.get("Name"),
        "how": how,
    }


def _create_or_block(svc: Services, tenant: Tenant, exact: ExactClient, invoice: Invoice) -> dict[str, Any]:
    code = invoice.supplier_code
    if not tenant.auto_create_vendors:
        raise RecordBlocked(
            f"vendor {code} ({invoice.supplier_name}) not found in Exact division {exact.division}; "
            "create it or add a mapping",
            [_problem(code, None, "not found in Exact")],
        )
    # One creation per vendor even when many invoices of a new vendor arrive at once.
    with lease(svc.db, f"vendor-create:{tenant.id}:{code}", ttl=120, wait=120):
        mapped = mappings.lookup(svc.db, tenant.id, "vendor", code)
        if mapped:
            return _from_mapping(exact, code, mapped)
        vendor = _basware_vendor(svc, tenant, invoice) or Vendor(code=code, name=invoice.supplier_name)
        created = exact.create_account(rules.account_fields(vendor))
        mappings.put(svc.db, tenant.id, "vendor", code, str(created["ID"]), origin="created")
    return _chosen(created, "created")


def _basware_vendor(svc: Services, tenant: Tenant, invoice: Invoice) -> Vendor | None:
    try:
        return load_vendor(svc.basware(tenant).get_vendor(invoice.supplier_code))
    except (FatalAPIError, RecordBlocked):  # not in Basware's vendor API: match on what the invoice says
        return None


def _problem(code: str, mapped: str | None, text: str, suggestions: list[str] | None = None) -> dict[str, Any]:
    return {
        "row": None,
        "field": "vendor",
        "basware_code": code,
        "mapped_code": mapped,
        "problem": text,
        "suggestions": suggestions or [],
    }
