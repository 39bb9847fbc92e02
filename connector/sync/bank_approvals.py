"""A person approves every bank account Basware gives for an existing Exact supplier before Exact sees it.

Paying a supplier means paying into its bank account: a sync that adds an IBAN to a supplier Exact already pays
would let whoever edits a Basware vendor redirect those payments. So the sync only asks (`ask`), the request
waits in `store.bank_changes` and on the dashboard and CLI, and `approve` writes it to Exact naming who approved
it in the audit; `reject` closes it. A supplier the connector creates gets its IBAN at creation (nobody was
paid there before).
"""

from __future__ import annotations

import re
from typing import Any

from connector.domain import Vendor
from connector.errors import ConfigurationError
from connector.exact.client import ExactClient
from connector.mapping import vendors as rules
from connector.store import audit, bank_changes
from connector.store.bank_changes import BankChange
from connector.store.tenants import Tenant
from connector.sync import suppliers
from connector.sync.services import Services

STEP = "bank_accounts"


def compact(iban: str | None) -> str:
    """An IBAN without spaces, upper-case: how IBANs are compared and kept."""
    return re.sub(r"\s", "", iban or "").upper()


def ask(svc: Services, tenant: Tenant, exact: ExactClient, account: dict[str, Any], vendor: Vendor) -> str:
    """Ask a person to approve the vendor's IBAN on this existing supplier; what was done, in words ('' if nothing).

    Nothing is asked when Exact has the IBAN already or it was asked before (whatever the answer was).
    """
    iban = compact(vendor.iban)
    account_id = str(account["ID"])
    if not iban or iban in {compact(b.get("BankAccount")) for b in exact.bank_accounts(account_id)}:
        return ""
    label = rules.describe([account])[0]
    asked = bank_changes.Request(tenant.id, vendor.code, exact.division, account_id, label, iban, vendor.bic)
    change = bank_changes.request(svc.db, asked)
    if change is None:
        return ""
    text = f"bank account {iban} for supplier {label} awaits approval (change {change.id}); not added to Exact yet"
    _audit(svc, change, "bank_account_pending", text)
    return text


def approve(svc: Services, change_id: int, by: str) -> str:
    """Write an approved bank account to Exact and audit who approved it; the audit line is returned."""
    change = _pending(svc, change_id)
    exact = svc.exact(svc.tenant(change.tenant_id), change.division)  # the division the supplier is in
    if not bank_changes.decide(svc.db, change_id, bank_changes.APPROVED, by):
        raise ConfigurationError(f"bank account change {change_id} was decided meanwhile; nothing was done")
    try:
        added = suppliers.add_bank_account(exact, change.account_id, change.iban, change.bic)
    except Exception:
        bank_changes.reopen(svc.db, change_id)  # not in Exact: keep it waiting rather than marked done
        raise
    where = f"added in Exact division {change.division}" if added else "Exact had it already"
    text = f"bank account {change.iban} for supplier {change.account_label} approved by {by}; {where}"
    _audit(svc, change, "bank_account_approved", text, by)
    return text


def reject(svc: Services, change_id: int, by: str) -> str:
    """Close a pending bank account without touching Exact and audit who rejected it; the audit line is returned."""
    change = _pending(svc, change_id)
    if not bank_changes.decide(svc.db, change_id, bank_changes.REJECTED, by):
        raise ConfigurationError(f"bank account change {change_id} was decided meanwhile; nothing was done")
    text = f"bank account {change.iban} for supplier {change.account_label} rejected by {by}; Exact was not changed"
    _audit(svc, change, "bank_account_rejected", text, by)
    return text


def _pending(svc: Services, change_id: int) -> BankChange:
    try:
        change = bank_changes.get(svc.db, change_id)
    except LookupError as exc:
        raise ConfigurationError(str(exc)) from exc
    if change.status != bank_changes.PENDING:
        raise ConfigurationError(
            f"bank account change {change_id} was already {change.status} by {change.decided_by}; nothing was done"
        )
    return change


def _audit(svc: Services, change: BankChange, event: str, message: str, by: str | None = None) -> None:
    detail = {"change": change.id, "vendor": change.vendor_code, "account_id": change.account_id,
              "iban": change.iban, "division": change.division, "by": by}  # fmt: skip
    audit.record(svc.db, tenant_id=change.tenant_id, step=STEP, event=event, message=message, detail=detail)
