"""Resolve a Basware supplier to an Exact supplier account: mapping, code, VAT number, name, or create it.

Exact's crm/Accounts only answers filtered queries (Code, VATNumber, Name, ...), so each rule is one targeted
query. Every answer is remembered in the tenant's mapping table with the rule that found it (`origin`), so a
known vendor costs no Exact call, and a new vendor is created once however many of its invoices race.
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
from connector.mapping.problems import problem
from connector.store import mappings
from connector.store.locks import lease
from connector.store.mappings import MappingEntry
from connector.store.tenants import Tenant
from connector.sync.master import supplier_by_code
from connector.sync.services import Services

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CREATE_LEASE = 120.0  # one POST to Exact with its timeout fits easily


class BaswareVendor:
    """The Basware vendor of an invoice, fetched at most once and only when a rule needs it."""

    def __init__(self, svc: Services, tenant: Tenant, code: str) -> None:
        self._svc, self._tenant, self._code = svc, tenant, code
        self._loaded = False
        self._vendor: Vendor | None = None

    def get(self) -> Vendor | None:
        """The vendor, or None when Basware's vendor API does not know the code."""
        if not self._loaded:
            try:
                self._vendor = load_vendor(self._svc.basware(self._tenant).get_vendor(self._code))
            except (FatalAPIError, RecordBlocked):  # not in the vendor API: match on what the invoice says
                self._vendor = None
            self._loaded = True
        return self._vendor


def resolve_supplier(svc: Services, tenant: Tenant, invoice: Invoice) -> dict[str, Any]:
    """{ID, Code, Name, how, ...} of the Exact supplier for the invoice; blocks when none or several match."""
    exact = svc.exact(tenant)
    code = invoice.supplier_code
    remembered = mappings.entry(svc.db, tenant.id, "vendor", code)
    if remembered is not None:
        return _from_mapping(svc, tenant, exact, code, remembered)
    vendor = BaswareVendor(svc, tenant, code)
    match = _match(exact, invoice, vendor)
    if match is None:
        return _create_or_block(svc, tenant, exact, invoice, vendor)
    kept = mappings.remember(svc.db, tenant.id, "vendor", code, match["ID"], origin=match["how"])
    if kept.target != match["ID"] or kept.origin != match["how"]:
        # A racing chain (or an operator) set the mapping while we searched: theirs stands.
        return _from_mapping(svc, tenant, exact, code, kept)
    return match


def _from_mapping(
    svc: Services, tenant: Tenant, exact: ExactClient, code: str, remembered: MappingEntry
) -> dict[str, Any]:
    target = remembered.target.strip()
    if GUID.match(target):  # a remembered resolution or an operator's account id: no call needed
        return {"ID": target.lower(), "Code": None, "Name": None, "how": "mapping", "origin": remembered.origin}
    found = supplier_by_code(svc.db, tenant.id, exact, target)
    if found is None:
        raise RecordBlocked(
            f"vendor {code} is mapped to Exact account {target}, which is not a supplier in Exact division "
            f"{exact.division}; correct the vendor mapping",
            [vendor_problem(code, target, f"mapped supplier {target} not found in Exact division {exact.division}")],
        )
    return dict(_chosen(found, "mapping"), origin=remembered.origin)


def _match(exact: ExactClient, invoice: Invoice, vendor: BaswareVendor) -> dict[str, Any] | None:
    code = invoice.supplier_code
    by_code = exact.find_supplier_by_code(code) if len(code.strip()) <= odata.ACCOUNT_CODE_WIDTH else None
    if by_code is not None:
        return _chosen(by_code, "code")
    basware = vendor.get()
    vat = invoice.supplier_vat_number or (basware.vat_number if basware is not None else None)
    if vat and rules.normalise_vat(vat):
        found = rules.by_vat(_suppliers(exact, _vat_condition(vat)), vat)
        if found:
            return _one(found, "vat", code)
    name = " ".join((invoice.supplier_name or (basware.name if basware is not None else "") or "").split())
    if not name:
        return None
    found = rules.by_name(_suppliers(exact, f"trim(Name) eq {odata.string(name)}"), name)
    return _one(found, "name", code) if found else None


def _vat_condition(vat: str) -> str:
    # Exact keeps VAT numbers as typed; ask for the number as Basware wrote it and in its compact form.
    variants = dict.fromkeys([vat.strip(), rules.normalise_vat(vat)])
    return "(" + " or ".join(f"VATNumber eq {odata.string(v)}" for v in variants) + ")"


def _suppliers(exact: ExactClient, condition: str) -> list[dict[str, Any]]:
    return exact.find_accounts(f"{condition} and IsSupplier eq true")


def _one(candidates: list[dict[str, Any]], how: str, code: str) -> dict[str, Any]:
    if len(candidates) > 1:
        names = rules.describe(candidates)
        label = rules.HOW[how]
        raise RecordBlocked(
            f"vendor {code} matches {len(candidates)} Exact suppliers by {label}: {'; '.join(names)}; "
            "add a vendor mapping to choose one",
            [vendor_problem(code, None, f"ambiguous: {len(candidates)} Exact suppliers have the same {label}", names)],
        )
    return _chosen(candidates[0], how)


def _chosen(supplier: dict[str, Any], how: str) -> dict[str, Any]:
    return {
        "ID": str(supplier["ID"]),
        "Code": str(supplier.get("Code") or "").strip(),
        "Name": supplier.get("Name"),
        "how": how,
    }


def _create_or_block(
    svc: Services, tenant: Tenant, exact: ExactClient, invoice: Invoice, vendor: BaswareVendor
) -> dict[str, Any]:
    code = invoice.supplier_code
    if not tenant.auto_create_vendors:
        raise RecordBlocked(
            f"vendor {code} ({invoice.supplier_name}) not found in Exact division {exact.division}; "
            "create it or add a mapping",
            [vendor_problem(code, None, f"not found in Exact division {exact.division} by code, VAT number or name")],
        )
    # One creation per vendor even when many invoices of a new vendor arrive at once: the first chain
    # creates and remembers it under the lease, the others find the mapping when they get the lease.
    with lease(svc.db, f"vendor-create:{tenant.id}:{code}", ttl=CREATE_LEASE, wait=CREATE_LEASE):
        remembered = mappings.entry(svc.db, tenant.id, "vendor", code)
        if remembered is not None:
            return _from_mapping(svc, tenant, exact, code, remembered)
        return _create(svc, tenant, exact, invoice, vendor.get() or Vendor(code=code, name=invoice.supplier_name))


def _create(svc: Services, tenant: Tenant, exact: ExactClient, invoice: Invoice, vendor: Vendor) -> dict[str, Any]:
    fields = rules.account_fields(vendor)
    # An earlier attempt may have created the account and died before remembering it: adopt that one.
    existing = exact.find_supplier_by_code(fields["Code"]) if "Code" in fields else None
    created = existing or exact.create_account(fields)
    how = "code" if existing else "created"
    # Under the lease and after a miss: nobody else can have remembered this vendor meanwhile.
    mappings.put(svc.db, tenant.id, "vendor", invoice.supplier_code, str(created["ID"]), origin=how)
    chosen = _chosen(created, how)
    if how == "created":
        chosen["fields"] = {key: value for key, value in fields.items() if key not in ("IsSupplier", "Status")}
        bank = add_bank_account(exact, str(created["ID"]), vendor)
        chosen["notes"] = [bank] if bank else []
    return chosen


def add_bank_account(exact: ExactClient, account_id: str, vendor: Vendor) -> str:
    """Register the vendor's IBAN on the Exact account when it is not there yet; what was done, in words."""
    if not vendor.iban:
        return ""
    iban = re.sub(r"\s", "", vendor.iban).upper()
    known = {re.sub(r"\s", "", str(b.get("BankAccount") or "")).upper() for b in exact.bank_accounts(account_id)}
    if iban in known:
        return ""
    exact.create_bank_account({"Account": account_id, "BankAccount": iban, "BICCode": vendor.bic})
    return f"bank account {iban} added"


def vendor_problem(code: str, mapped: str | None, text: str, suggestions: list[str] | None = None) -> dict[str, Any]:
    """A vendor problem in the per-line form every blocked record uses."""
    return problem(None, "vendor", code, mapped, text, suggestions)
