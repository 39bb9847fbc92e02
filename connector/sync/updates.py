"""A new version of an invoice or purchase order that was already handled: never a second Exact document.

Unchanged: nothing happens. Blocked before and changed now: the record starts again with the new version.
Written and changed: the open Exact entry is updated in place (re-validated first); an entry Exact no longer
lets us change blocks the record with the list of changes, for a person to correct in Exact (always so for a
purchase order: Exact takes no changes to one through its API as far as our sources go). The audit keeps
both versions. The chain's report step then tells Basware the outcome of the new version.
"""

from __future__ import annotations

from typing import Any

from connector.basware.orders import load_purchase_order
from connector.basware.schemas import load_invoice
from connector.domain import Invoice
from connector.domain_orders import PurchaseOrder
from connector.errors import FatalAPIError
from connector.exact.odata import guid
from connector.store import audit, mappings, records
from connector.store.records import Record
from connector.sync.services import Services
from connector.sync.writing import record_lease

OPEN = 20  # Exact PurchaseEntry Status: 20 open, 50 processed
HEADER = ("supplier_code", "currency", "invoice_date", "due_date", "net_sum", "tax_sum", "gross_sum", "description")
LINE = ("account_code", "cost_center_code", "cost_unit_code", "tax_code", "tax_percent", "net", "tax", "gross")
ORDER_HEADER = ("supplier_code", "currency", "order_date", "desired_delivery_date", "net_sum", "gross_sum")
ORDER_LINE = (
    "quantity",
    "unit_price",
    "net_sum",
    "description",
    "buyer_product_code",
    "supplier_product_code",
    "category_code",
    "coding",
)
NO_ORDER_CHANGES = (
    "Exact's purchase orders take no changes through its API (our sources list GET, POST and "
    "DELETE only), so correct it in Exact by hand"
)


def changes(old: Invoice, new: Invoice) -> list[str]:
    """What differs between two versions of an invoice, in words; empty when nothing that is posted changed."""
    return _compare(old, new, HEADER, {r.row_index: r for r in old.rows}, {r.row_index: r for r in new.rows}, LINE)


def order_changes(old: PurchaseOrder, new: PurchaseOrder) -> list[str]:
    """What differs between two versions of a purchase order, in words."""
    return _compare(
        old,
        new,
        ORDER_HEADER,
        {ln.line_number: ln for ln in old.lines},
        {ln.line_number: ln for ln in new.lines},
        ORDER_LINE,
    )


def _compare(
    old: Any,
    new: Any,
    header: tuple[str, ...],
    before: dict[int, Any],
    after: dict[int, Any],
    line_fields: tuple[str, ...],
) -> list[str]:
    found = [
        f"{name.replace('_', ' ')} {getattr(old, name)} -> {getattr(new, name)}"
        for name in header
        if getattr(old, name) != getattr(new, name)
    ]
    for index in sorted(before.keys() | after.keys()):
        if index not in after:
            found.append(f"line {index} removed")
        elif index not in before:
            found.append(f"line {index} added")
        else:
            found.extend(
                f"line {index} {name.replace('_', ' ')} {getattr(before[index], name)} -> {getattr(after[index], name)}"
                for name in line_fields
                if getattr(before[index], name) != getattr(after[index], name)
            )
    return found


def check_update(svc: Services, record_id: int) -> None:
    """Compare Basware's current version with what was handled, and act on the difference.

    Under the record's lease, like every write: two deliveries of one new version update Exact and tell
    Basware once; the second finds the version already handled.
    """
    with record_lease(svc, record_id, "updating"):
        record = records.get(svc.db, record_id)
        if record.status in ("written", "blocked"):
            _check(svc, record)


def _check(svc: Services, record: Record) -> None:
    record_id = record.id
    if record.kind == "purchase_order":
        _check_order(svc, record)
        return
    tenant = svc.tenant(record.tenant_id)
    document = svc.basware(tenant).get_accounting_document(record.basware_id)
    baseline = record.written_document or record.document
    old = load_invoice(baseline, cost_unit_field=tenant.cost_unit_field) if baseline else None
    new = load_invoice(document, cost_unit_field=tenant.cost_unit_field)
    diff = changes(old, new) if old is not None else ["first version"]
    if not diff:
        audit.record(
            svc.db,
            tenant_id=tenant.id,
            record_id=record_id,
            step="update",
            event="unchanged",
            message="delivered again without changes: nothing to do",
        )
        return
    svc.basware(tenant).acknowledge(record.basware_id)  # the new version is in transfer now (405: already)
    if record.status == "blocked" and not record.exact_id:
        _restart(svc, record, document, diff)
    else:
        _update_entry(svc, record, document, old, new, diff)


def _check_order(svc: Services, record: Record) -> None:
    tenant = svc.tenant(record.tenant_id)
    document = svc.basware(tenant).get_exported_purchase_order(record.basware_id)
    baseline = record.written_document or record.document
    new = load_purchase_order(document, tenant.cost_unit_field)
    diff = order_changes(load_purchase_order(baseline, tenant.cost_unit_field), new) if baseline else ["first version"]
    if not diff:
        if record.status == "written":
            records.update(svc.db, record.id, reported=None)  # exported again: acknowledge it again
        audit.of_record(svc.db, record, "update", "unchanged", "delivered again without changes: nothing to change")
    elif record.status == "blocked" and not record.exact_id:
        _restart(svc, record, document, diff)
    else:
        _block(
            svc,
            record,
            document,
            diff,
            f"changed in Basware after it was posted in Exact: {'; '.join(diff)}; " + NO_ORDER_CHANGES,
        )


def _restart(svc: Services, record: Record, document: dict[str, Any], diff: list[str]) -> None:
    records.update(
        svc.db,
        record.id,
        status="pending",
        step="fetched",
        document=document,
        plan=None,
        reason=None,
        problems=None,
        reported=None,
    )
    audit.of_record(
        svc.db,
        record,
        "update",
        "restarted",
        "a changed version arrived for a blocked invoice; processing it again: " + "; ".join(diff),
        {"before": record.document, "after": document, "changes": diff},
    )


def _update_entry(
    svc: Services, record: Record, document: dict[str, Any], old: Invoice | None, new: Invoice, diff: list[str]
) -> None:
    from connector.sync import invoices  # the invoice steps' checks and payload, shared rather than copied

    tenant = svc.tenant(record.tenant_id)
    exact = svc.exact(tenant)
    entry = exact.get_purchase_entry(str(record.exact_id))
    supplier_changed = old is None or new.supplier_code != old.supplier_code
    if int(entry.get("Status") or 0) != OPEN or supplier_changed:
        why = "the supplier changed" if supplier_changed else "Exact no longer allows changing this entry"
        _block(
            svc,
            record,
            document,
            diff,
            f"changed in Basware after it was posted in Exact ({why}): {'; '.join(diff)}; correct it in Exact by hand",
        )
        return
    table = mappings.table(svc.db, tenant.id)
    lines, problems = invoices._check(svc, tenant.id, exact, new, tenant.purchase_journal, table)
    if problems:
        _block(
            svc,
            record,
            document,
            diff,
            "the changed version cannot be posted: " + "; ".join(invoices._line_text(p) for p in problems),
            problems,
        )
        return
    updated = Record(**{**record.__dict__, "document": document, "plan": dict(record.plan or {}, lines=lines)})
    payload = invoices.entry_payload(updated, new)
    payload.pop("Journal", None)  # an entry stays in its journal
    try:
        exact.put(f"purchaseentry/PurchaseEntries({guid(str(record.exact_id))})", payload)
    except FatalAPIError as exc:
        _block(svc, record, document, diff, f"Exact refused the change: {exc}; correct it in Exact by hand")
        return
    records.update(
        svc.db,
        record.id,
        document=document,
        written_document=document,
        plan=updated.plan,
        gross=str(new.gross_sum),
        reported=None,
    )
    audit.record(
        svc.db,
        tenant_id=tenant.id,
        record_id=record.id,
        step="update",
        event="entry_updated",
        message=f"purchase entry {record.exact_number} updated in Exact: " + "; ".join(diff),
        detail={"before": record.written_document or record.document, "after": document, "changes": diff},
    )


def _block(
    svc: Services,
    record: Record,
    document: dict[str, Any],
    diff: list[str],
    reason: str,
    problems: list[dict[str, Any]] | None = None,
) -> None:
    problems = problems or [{"row": None, "field": "update", "problem": change, "suggestions": []} for change in diff]
    records.update(
        svc.db, record.id, status="blocked", document=document, reason=reason, problems=problems, reported=None
    )
    audit.of_record(
        svc.db,
        record,
        "update",
        "blocked",
        reason,
        {
            "before": record.written_document or record.document,
            "after": document,
            "changes": diff,
            "problems": problems,
        },
    )


def is_update_block(record: Record) -> bool:
    """A record blocked because a version written to Exact changed afterwards."""
    return record.status == "blocked" and bool(record.exact_id)
