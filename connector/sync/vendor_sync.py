"""Vendor master data: Basware vendors changed since the last run become or update Exact supplier accounts.

Per tenant whose `vendor_sync_interval` has passed: page through Basware vendors updated after the stored
watermark (Basware's own `lastUpdated`, so no clock is compared with another), find each one's Exact
supplier (the tenant's vendor mapping, then code, VAT number: the resolver documents use, `sync.suppliers`),
update what differs (name, VAT number, address, e-mail), or create it when the tenant allows. A supplier that
only has the vendor's name is neither linked nor updated nor duplicated: it is reported as a suggestion for a
person to map. A bank account Basware gives for an existing supplier is never added here: it waits for a
person's approval (`sync.bank_approvals`); a supplier created here gets its IBAN at creation. Every link,
suggestion and change is audited and every match is remembered in the vendor mapping with origin "sync". The
watermark moves only after a whole run, so an interrupted run is repeated, and repeating changes nothing that is
already equal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.basware.schemas import load_vendor
from connector.domain import Vendor
from connector.errors import ConnectorError, RecordBlocked
from connector.exact.client import ExactClient
from connector.mapping import vendors as rules
from connector.store import audit, bank_changes, mappings, state
from connector.store.tenants import Tenant, list_tenants
from connector.sync import bank_approvals, suppliers
from connector.sync.services import Services

log = logging.getLogger(__name__)
WATERMARK = "vendors:last_updated"
LAST_RUN = "vendors:last_run"
ORIGIN = "sync"
COMPARED = ("Name", "VATNumber", "Email", "AddressLine1", "Postcode", "City", "Country")
Progress = Callable[[str, str, str], None]  # (vendor code, outcome, detail)


@dataclass
class VendorSyncResult:
    """What one run did, vendor by vendor."""

    tenant: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    suggested: list[tuple[str, str]] = field(default_factory=list)  # (code, the supplier a person may map)
    awaiting_approval: int = 0  # the tenant's bank accounts waiting for a person after this run

    def summary(self) -> str:
        """One line for a person: counts per outcome, and what waits for a person when anything does."""
        line = (
            f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.skipped)} skipped"
        )
        if self.suggested:
            line += f", {_count(len(self.suggested), 'name match', 'name matches')} to confirm"
        if self.awaiting_approval:
            line += f", {_count(self.awaiting_approval, 'bank account', 'bank accounts')} awaiting approval"
        return line


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def is_due(tenant: Tenant, last_run: float | None, now: float) -> bool:
    """True when vendor sync is on for the tenant (interval > 0) and the interval has passed."""
    if tenant.vendor_sync_interval <= 0:
        return False
    return last_run is None or now - last_run >= tenant.vendor_sync_interval


def sync_due_tenants(svc: Services, now: float | None = None) -> int:
    """Sync every tenant that is due; one tenant's failure is logged and does not stop the others."""
    synced = 0
    for tenant in list_tenants(svc.db):
        try:
            synced += sync_if_due(svc, tenant, now) is not None
        except ConnectorError as exc:  # its last run stays put, so the next beat tries it again
            log.warning("tenant=%s step=vendor_sync failed: %s", tenant.name, exc)
    return synced


def sync_if_due(svc: Services, tenant: Tenant, now: float | None = None) -> VendorSyncResult | None:
    """Run the sync if the tenant's interval has passed; None when it was not due."""
    now = time.time() if now is None else now
    last = state.get(svc.db, tenant.id, LAST_RUN)
    if not is_due(tenant, float(last) if last else None, now):
        return None
    return sync_tenant(svc, tenant, now=now)


def sync_tenant(
    svc: Services, tenant: Tenant, *, full: bool = False, progress: Progress | None = None, now: float | None = None
) -> VendorSyncResult:
    """Bring Exact's suppliers in line with the Basware vendors changed since the last run (all if `full`)."""
    exact = svc.exact(tenant, background=True)
    since = None if full else state.get(svc.db, tenant.id, WATERMARK)
    newest = since
    result = VendorSyncResult(tenant.name)
    for raw in svc.basware(tenant).list_vendors(since):
        code = str(raw.get("vendorCode") or raw.get("externalCode") or "?")
        outcome, detail = _sync_one(svc, tenant, exact, raw)
        _tally(result, code, outcome, detail)
        if progress is not None:
            progress(code, outcome, detail)
        newest = _later(newest, raw.get("lastUpdated"))
    result.awaiting_approval = len(bank_changes.pending(svc.db, tenant.id))
    if newest:
        state.put(svc.db, tenant.id, WATERMARK, newest)
    state.put(svc.db, tenant.id, LAST_RUN, repr(time.time() if now is None else now))
    return result


def _tally(result: VendorSyncResult, code: str, outcome: str, detail: str) -> None:
    if outcome in ("skipped", "suggested"):
        getattr(result, outcome).append((code, detail))
    else:
        getattr(result, outcome).append(code)


def _later(current: str | None, candidate: Any) -> str | None:
    if not isinstance(candidate, str) or not candidate:
        return current
    if current is None:
        return candidate
    return candidate if _instant(candidate) > _instant(current) else current


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _sync_one(svc: Services, tenant: Tenant, exact: ExactClient, raw: dict[str, Any]) -> tuple[str, str]:
    """(outcome, detail) for one vendor: created, updated, unchanged or skipped, with the reason."""
    try:
        vendor = load_vendor(raw)
        account = find_supplier(svc, tenant, exact, vendor)
        if account is None:
            return _create(svc, tenant, exact, vendor)
        return _update(svc, tenant, exact, vendor, account)
    except suppliers.SupplierSuggested as exc:  # a name alone links nothing: a person maps it or not
        return _suggested(svc, tenant, exact, load_vendor(raw), exc)
    except RecordBlocked as exc:
        code = str(raw.get("vendorCode") or "?")
        _audit(svc, tenant, "vendor_skipped", f"vendor {code} not synced: {exc}", {"problems": exc.problems})
        return "skipped", str(exc)


def _suggested(
    svc: Services, tenant: Tenant, exact: ExactClient, vendor: Vendor, suggestion: suppliers.SupplierSuggested
) -> tuple[str, str]:
    """Report a name-only match, unless a document chain created this vendor's supplier while we searched."""
    if not suggestion.linked_by_name:
        with suppliers.creating(svc.db, tenant.id, vendor.code):  # its creator keeps the mapping under this lease
            entry = mappings.entry(svc.db, tenant.id, "vendor", vendor.code)
        if entry is not None and entry.origin != suppliers.NAME_ONLY:
            return _update(svc, tenant, exact, vendor, suppliers.mapped_account(exact, vendor.code, entry.target))
    suppliers.audit_suggestion(svc, tenant, "vendor_sync", suggestion)
    return "suggested", str(suggestion)


def find_supplier(svc: Services, tenant: Tenant, exact: ExactClient, vendor: Vendor) -> dict[str, Any] | None:
    """The Exact account of a vendor: its mapping, else the one supplier with its code or VAT number.

    A supplier with only the vendor's name raises `suppliers.SupplierSuggested`, and so does a mapping an earlier
    version remembered from a name match: until a person confirms it, its supplier is not written to.
    """
    mapped = mappings.entry(svc.db, tenant.id, "vendor", vendor.code)
    if mapped is not None:
        account = suppliers.mapped_account(exact, vendor.code, mapped.target)
        if mapped.origin == suppliers.NAME_ONLY:
            raise suppliers.SupplierSuggested(vendor.code, account, linked_by_name=True)
        return account
    found = suppliers.match(exact, vendor.code, lambda: (vendor.vat_number, vendor.name))
    return found[0] if found is not None else None


def _create(svc: Services, tenant: Tenant, exact: ExactClient, vendor: Vendor) -> tuple[str, str]:
    if not tenant.auto_create_vendors:
        text = f"vendor {vendor.code} ({vendor.name}) is not in Exact and this tenant does not create suppliers"
        _audit(svc, tenant, "vendor_not_created", text)
        return "skipped", "not in Exact; auto-create is off"
    # The same lease as a document chain creating this vendor: between them, one account is created.
    with suppliers.creating(svc.db, tenant.id, vendor.code):
        account = find_supplier(svc, tenant, exact, vendor)
        if account is not None:
            return _update(svc, tenant, exact, vendor, account)
        created = exact.create_account(rules.account_fields(vendor))
        mappings.put(svc.db, tenant.id, "vendor", vendor.code, str(created["ID"]), origin=ORIGIN)
    bank = suppliers.add_bank_account(exact, str(created["ID"]), vendor.iban, vendor.bic)
    text = f"supplier {str(created.get('Code') or '').strip()} {vendor.name} created in Exact division {exact.division}"
    _audit(svc, tenant, "supplier_created", text + (f"; {bank}" if bank else ""), {"account_id": str(created["ID"])})
    return "created", "created in Exact"


def _update(
    svc: Services, tenant: Tenant, exact: ExactClient, vendor: Vendor, account: dict[str, Any]
) -> tuple[str, str]:
    account_id = str(account["ID"])
    if mappings.lookup(svc.db, tenant.id, "vendor", vendor.code) is None:
        _link(svc, tenant, vendor, account)
    changes = differences(account, vendor)
    if changes:
        exact.update_account(account_id, {name: new for name, (_old, new) in changes.items()})
    bank = bank_approvals.ask(svc, tenant, exact, account, vendor)  # never written here: a person decides
    if not changes:
        return "unchanged", bank
    said = [f"{name} {old or '(empty)'} -> {new}" for name, (old, new) in changes.items()]
    code = str(account.get("Code") or "").strip()
    _audit(
        svc, tenant, "supplier_updated", f"supplier {code} {vendor.name} updated from Basware: {'; '.join(said)}",
        {"account_id": account_id, "changes": {name: list(pair) for name, pair in changes.items()}},
    )  # fmt: skip
    return "updated", "; ".join(said + ([bank] if bank else []))


def _link(svc: Services, tenant: Tenant, vendor: Vendor, account: dict[str, Any]) -> None:
    """Remember the supplier found by code or VAT number as the vendor's, and audit the link."""
    account_id = str(account["ID"])
    mappings.put(svc.db, tenant.id, "vendor", vendor.code, account_id, origin=ORIGIN)
    label = rules.describe([account])[0]
    text = f"vendor {vendor.code} ({vendor.name}) linked to Exact supplier {label} by its code or VAT number"
    _audit(svc, tenant, "vendor_linked", text, {"vendor": vendor.code, "account_id": account_id})


def differences(account: dict[str, Any], vendor: Vendor) -> dict[str, tuple[Any, Any]]:
    """{field: (Exact's value, Basware's value)} for the fields that differ; Basware's blanks change nothing."""
    wanted = rules.account_fields(vendor)
    changes = {}
    for name in COMPARED:
        new = wanted.get(name)
        old = account.get(name)
        if new is not None and _plain(old) != _plain(new):
            changes[name] = (old, new)
    return changes


def _plain(value: Any) -> str:
    return " ".join(str(value or "").split())


def _audit(svc: Services, tenant: Tenant, event: str, message: str, detail: Any = None) -> None:
    audit.record(svc.db, tenant_id=tenant.id, step="vendor_sync", event=event, message=message, detail=detail)
