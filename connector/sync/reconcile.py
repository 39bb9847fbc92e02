"""Month-end reconciliation of one tenant: its invoice records of a period against Exact's purchase journal.

The Basware side is what the connector handled, read from the records (no call to Basware): every invoice
record dated in the period by its invoice date (the entry date the connector writes), and records not yet
fetched by the day they arrived. The Exact side is one filtered query on the tenant's purchase journal and the
entry dates, with only the fields the match needs, page after page of the largest pages Exact gives (60 on
`PurchaseEntries`; the first page also says how many there are, for a progress bar). Every call goes through
the tenant's client and therefore its shared rate limit. Reading writes nothing anywhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from connector.errors import ConfigurationError, ConnectorError
from connector.exact.client import Progress
from connector.exact.odata import parse_date
from connector.mapping.reconcile import BaswareDocument, ExactEntry, Report, reconcile
from connector.store import mappings, records
from connector.store.records import Kind, Record
from connector.store.tenants import Tenant
from connector.sync.documents import KINDS
from connector.sync.plan import Plan
from connector.sync.services import Services


def reconcile_period(
    svc: Services, tenant: Tenant, first: date, last: date, *, on_page: Progress | None = None
) -> Report:
    """Both systems' view of the period, side by side (see `mapping.reconcile`)."""
    check_period(first, last)
    documents = period_documents(svc, tenant, first, last)
    entries = period_entries(svc, tenant, first, last, on_page=on_page)
    return reconcile(documents, entries)


def period(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The period asked for as YYYY-MM-DD texts; the previous calendar month when neither is given."""
    if not start and not end:
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    try:
        first, last = date.fromisoformat(start or ""), date.fromisoformat(end or "")
    except ValueError:
        raise ConfigurationError("a period is two dates as YYYY-MM-DD: from and to") from None
    check_period(first, last)
    return first, last


def check_period(first: date, last: date) -> None:
    """Refuse a period that ends before it starts."""
    if last < first:
        raise ConfigurationError(f"the period ends ({last}) before it starts ({first})")


def period_documents(svc: Services, tenant: Tenant, first: date, last: date) -> list[BaswareDocument]:
    """The tenant's invoice records dated in the period, as the matcher's values."""
    found = records.list_records(svc.db, tenant_id=tenant.id, kind=Kind.INVOICE)
    documents = (_document(tenant, record) for record, _name in found)
    return [d for d in documents if d.invoice_date is not None and first <= d.invoice_date <= last]


def period_entries(
    svc: Services, tenant: Tenant, first: date, last: date, *, on_page: Progress | None = None
) -> list[ExactEntry]:
    """The Exact purchase entries of the tenant's (mapped) purchase journal dated in the period."""
    journal = KINDS[Kind.INVOICE].journal(tenant, mappings.table(svc.db, tenant.id)) or tenant.purchase_journal
    # Reading for a report: only what writes leave of the budget.
    rows = svc.exact(tenant, background=True).purchase_entries_between(journal, first, last, on_page=on_page)
    return [_entry(row) for row in rows]


def _document(tenant: Tenant, record: Record) -> BaswareDocument:
    supplier = Plan.load(record.plan).supplier
    return BaswareDocument(
        basware_id=record.basware_id,
        reference=record.reference or record.basware_id,
        supplier=record.supplier or "",
        supplier_id=supplier.id if supplier is not None else None,
        currency=record.currency or "",
        gross=Decimal(record.gross) if record.gross else None,
        invoice_date=_invoice_date(tenant, record),
        status=record.status,
        reason=record.reason,
        exact_id=record.exact_id,
        record_id=record.id,
    )


def _invoice_date(tenant: Tenant, record: Record) -> date | None:
    if record.document is None:  # not fetched yet: it belongs to the period it arrived in
        return datetime.fromtimestamp(record.created_at, UTC).date()
    try:
        invoice = KINDS[Kind.INVOICE].parse(record.document, tenant)
    except (ConnectorError, ValueError, KeyError):  # a document the parser refused still arrived then
        return datetime.fromtimestamp(record.created_at, UTC).date()
    return invoice.invoice_date


def _entry(row: dict[str, Any]) -> ExactEntry:
    entry_date = row.get("EntryDate")
    parsed = parse_date(entry_date) if isinstance(entry_date, str) else None
    return ExactEntry(
        entry_id=str(row["EntryID"]).lower(),
        entry_number=str(row.get("EntryNumber") or ""),
        supplier_id=str(row.get("Supplier") or "").lower(),
        your_ref=str(row.get("YourRef") or ""),
        currency=str(row.get("Currency") or ""),
        amount=Decimal(str(row.get("AmountFC") or "0")),
        entry_date=parsed.date() if parsed is not None else None,
    )
