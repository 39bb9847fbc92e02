"""The invoice steps the workers run: fetch, map the vendor, validate, write to Exact, report to Basware.

Each step is idempotent: it re-reads the record, does nothing when its work is already done or the record is
no longer pending, and commits its result before returning. Two chains for one document are therefore safe;
the write step also holds the record's lease, and looks for an earlier entry whenever an earlier attempt may
have reached Exact.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

from connector.basware.schemas import load_invoice
from connector.domain import Invoice
from connector.errors import FatalAPIError, RecordBlocked
from connector.mapping import dimensions, money
from connector.mapping import vendors as vendor_rules
from connector.store import audit, mappings, records
from connector.store.records import Record
from connector.store.tenants import Tenant
from connector.sync import updates
from connector.sync.master import kinds_to_recheck, load_master
from connector.sync.services import Services
from connector.sync.vendors import resolve_supplier
from connector.sync.writing import pending, record_lease, write_once, write_step


def parse(record: Record, tenant: Tenant | None = None) -> Invoice:
    """The invoice held by a fetched record; cost units come from the tenant's configured Basware dimension."""
    assert record.document is not None, "record not fetched yet"
    if tenant is None:
        return load_invoice(record.document)
    return load_invoice(record.document, cost_unit_field=tenant.cost_unit_field)


def fetch(svc: Services, record_id: int) -> None:
    """Fetch the accounting document from Basware, acknowledge it and keep it on the record."""
    if records.get(svc.db, record_id).status in ("written", "blocked"):
        updates.check_update(svc, record_id)  # a later delivery: the same version again, or a new one
        return
    record = pending(svc, record_id, "fetched")
    if record is None:
        return
    tenant = svc.tenant(record.tenant_id)
    basware = svc.basware(tenant)
    document = basware.get_accounting_document(record.basware_id)
    newly = basware.acknowledge(record.basware_id)
    records.update(svc.db, record_id, document=document, step="fetched")
    invoice = load_invoice(document, cost_unit_field=tenant.cost_unit_field)
    records.update(
        svc.db,
        record_id,
        reference=invoice.invoice_number,
        supplier=invoice.supplier_name,
        gross=str(invoice.gross_sum),
        currency=invoice.currency,
    )
    audit.of_record(
        svc.db,
        record,
        "fetch",
        "fetched",
        f"invoice {invoice.invoice_number} from {invoice.supplier_name}, {invoice.currency} "
        f"{invoice.gross_sum}, {len(invoice.rows)} coding rows"
        + ("" if newly else " (already acknowledged in Basware)"),
    )


def map_vendor(svc: Services, record_id: int) -> None:
    """Find (or create) the Exact supplier for the invoice and remember it on the record."""
    record = pending(svc, record_id, "vendor_mapped")
    if record is None:
        return
    tenant = svc.tenant(record.tenant_id)
    invoice = parse(record, tenant)
    supplier = resolve_supplier(svc, tenant, invoice)
    plan = dict(record.plan or {}, supplier=supplier)
    records.update(svc.db, record_id, plan=plan, step="vendor_mapped")
    audit.of_record(
        svc.db,
        record,
        "map_vendor",
        f"vendor_{supplier['how']}",
        _vendor_text(invoice, supplier),
        {"supplier": supplier},
    )


def _vendor_text(invoice: Invoice, supplier: dict[str, Any]) -> str:
    exact = " ".join(str(part) for part in (supplier.get("Code"), supplier.get("Name")) if part) or supplier["ID"]
    verb = "created as" if supplier["how"] == "created" else "is"
    text = (
        f"Basware supplier {invoice.supplier_code} ({invoice.supplier_name}) {verb} Exact supplier {exact}, "
        f"found by {vendor_rules.how_text(supplier['how'], supplier.get('origin'))}"
    )
    return "; ".join([text, *supplier.get("notes", [])])


def validate(svc: Services, record_id: int) -> None:
    """Map and check every line, the totals, the journal and the currency; block with every problem."""
    record = pending(svc, record_id, "validated")
    if record is None:
        return
    tenant = svc.tenant(record.tenant_id)
    invoice = parse(record, tenant)
    exact = svc.exact(tenant)
    table = mappings.table(svc.db, tenant.id)  # read per validation, so an imported fix counts at once
    lines, problems = _check(svc, tenant.id, exact, invoice, tenant.purchase_journal, table)
    recheck = kinds_to_recheck(problems)
    if recheck:
        # A code missing from the cache may have been created (or unblocked) in Exact since: look once more.
        lines, problems = _check(svc, tenant.id, exact, invoice, tenant.purchase_journal, table, recheck=recheck)
    if problems:
        count = len(problems)
        raise RecordBlocked(
            f"{count} problem{'s' if count > 1 else ''}: " + "; ".join(_line_text(p) for p in problems),
            problems,
        )
    journal = table.get(("journal", tenant.purchase_journal), tenant.purchase_journal)
    plan = dict(record.plan or {}, lines=lines, journal=journal)
    records.update(svc.db, record_id, plan=plan, step="validated")
    audit.of_record(
        svc.db,
        record,
        "validate",
        "validated",
        f"{len(lines)} lines mapped and checked in Exact division {exact.division}",
    )


def _check(
    svc: Services,
    tenant_id: int,
    exact: Any,
    invoice: Invoice,
    journal: str,
    table: dimensions.Mapping,
    *,
    recheck: Collection[str] = (),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    _age, master = load_master(svc.db, tenant_id, exact, recheck=recheck)
    lines, problems = dimensions.plan_lines(invoice, master, table)
    problems = (
        money.total_problems(invoice)
        + dimensions.journal_problems(journal, master, table)
        + dimensions.currency_problems(invoice.currency)
        + problems
    )
    return lines, problems


def _line_text(problem: dict[str, Any]) -> str:
    where = f"line {problem['row']}: " if problem.get("row") is not None else ""
    hint = f" (did you mean {', '.join(problem['suggestions'])}?)" if problem.get("suggestions") else ""
    return f"{where}{problem['problem']}{hint}"


def entry_payload(record: Record, invoice: Invoice) -> dict[str, Any]:
    """The Exact PurchaseEntry body for a validated record; amounts are Basware's, unchanged."""
    plan = record.plan or {}
    lines = [
        {key: (Decimal(str(value)) if key in ("AmountFC", "VATAmountFC") else value) for key, value in line.items()}
        for line in plan["lines"]
    ]
    payload: dict[str, Any] = {
        "Journal": plan["journal"],
        "Supplier": plan["supplier"]["ID"],
        "EntryDate": invoice.invoice_date.isoformat(),
        "YourRef": invoice.invoice_number,
        "Currency": invoice.currency,
        "Description": (invoice.description or f"Basware invoice {invoice.invoice_number}")[:100],
        "PurchaseEntryLines": lines,
    }
    if invoice.due_date is not None:
        payload["DueDate"] = invoice.due_date.isoformat()
    return payload


def write(svc: Services, record_id: int) -> None:
    """Create the purchase entry in Exact exactly once, under the record's lease."""
    write_step(svc, record_id, _write_locked)


def _write_locked(svc: Services, record: Record) -> None:
    tenant = svc.tenant(record.tenant_id)
    exact = svc.exact(tenant)
    invoice = parse(record, tenant)
    payload = entry_payload(record, invoice)
    entry, how = write_once(
        svc,
        record,
        find=lambda: exact.find_purchase_entries(payload["Supplier"], invoice.invoice_number),
        create=lambda admitted: exact.create_purchase_entry(payload, on_admitted=admitted),
    )
    number = str(entry.get("EntryNumber") or "")
    records.update(
        svc.db,
        record.id,
        status="written",
        step="written",
        exact_id=str(entry["EntryID"]),
        exact_number=number,
        reason=None,
        problems=None,
        written_document=record.document,  # the version in Exact: what a later version is compared with
    )
    audit.of_record(
        svc.db,
        record,
        "write",
        f"entry_{how}",
        f"purchase entry {number} {how} in Exact division {exact.division} for invoice "
        f"{invoice.invoice_number}, {invoice.currency} {invoice.gross_sum}",
        {"entry_id": str(entry["EntryID"]), "entry_number": number},
    )
    _verify(svc, record, invoice, entry)


def _verify(svc: Services, record: Record, invoice: Invoice, entry: dict[str, Any]) -> None:
    # Exact has been reported to drop invalid lines silently; say so loudly if the totals differ.
    amount = entry.get("AmountFC")
    if amount is not None and Decimal(str(amount)) != invoice.gross_sum:
        audit.of_record(
            svc.db,
            record,
            "write",
            "amount_mismatch",
            f"Exact shows {amount} for entry {entry.get('EntryNumber')}, Basware gross is "
            f"{invoice.gross_sum}: check the entry in Exact",
        )


def report(svc: Services, record_id: int) -> None:
    """Tell Basware the outcome once: success with the Exact entry number, or failure with the reason."""
    with record_lease(svc, record_id, "reporting"):
        _report_locked(svc, records.get(svc.db, record_id))


def _report_locked(svc: Services, record: Record) -> None:
    outcome = {"written": "success", "blocked": "failure"}.get(record.status)
    if outcome is None or record.reported == outcome:
        return
    tenant = svc.tenant(record.tenant_id)
    if outcome == "success":
        message = f"Posted in Exact Online as purchase entry {record.exact_number}"
    else:
        message = f"Not posted in Exact Online: {record.reason or 'blocked'}"
    try:
        svc.basware(tenant).post_transfer_response(
            record.basware_id,
            success=outcome == "success",
            message=message,
            voucher_number=record.exact_number if outcome == "success" else None,
        )
    except FatalAPIError as exc:
        # Basware refusing a response (say, the invoice was transferred by hand) changes nothing in Exact:
        # the record keeps its status, and the audit says what Basware answered.
        records.update(svc.db, record.id, reported="refused")
        audit.of_record(svc.db, record, "report", "report_refused", f"Basware refused the {outcome} response: {exc}")
        return
    records.update(svc.db, record.id, reported=outcome, step="reported" if outcome == "success" else record.step)
    audit.of_record(svc.db, record, "report", f"reported_{outcome}", f"Basware told: {message}"[:500])
