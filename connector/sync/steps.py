"""The steps the workers run for every kind of document: fetch, map the supplier, validate, write, report.

Each step is idempotent: it re-reads the record, does nothing when its work is already done or the record is
no longer pending, and commits its result before returning. Two chains for one document are therefore safe;
the write and the report also hold the record's lease, and the write looks for an earlier document whenever
an earlier attempt may have reached Exact. What differs between kinds is asked of the record's
`DocumentKind` (`sync.kinds`).
"""

from __future__ import annotations

from typing import Any

from connector.errors import RecordBlocked
from connector.exact import odata
from connector.mapping import vendors as vendor_rules
from connector.mapping.problems import blocked
from connector.store import audit, records
from connector.store.records import Record, Status, Step
from connector.store.tenants import Tenant
from connector.sync import divisions, exact_events, suppliers, updates
from connector.sync.documents import kind_of
from connector.sync.kinds import DocumentKind
from connector.sync.plan import Plan, Supplier
from connector.sync.services import Services, record_division
from connector.sync.validation import plan_document
from connector.sync.writing import is_done, pending, record_lease, write_once, write_step


def fetch(svc: Services, record_id: int) -> None:
    """Fetch the document from Basware, take it on there, and keep it on the record.

    A record already written or blocked is a later delivery: the same version again, or a new one.
    """
    record = records.get(svc.db, record_id)
    kind = kind_of(record)
    if record.status in (Status.WRITTEN, Status.BLOCKED):
        token = record_division.set(record.division)  # the update path asks for "the tenant's" client
        try:
            if record.exact_deleted_at is None or not exact_events.check_deleted(svc, record_id, kind):
                updates.check_update(svc, record_id, kind)
        finally:
            record_division.reset(token)
        return
    found = pending(svc, record_id, Step.FETCHED)
    if found is None:
        return
    tenant = svc.tenant(found.tenant_id)
    basware = svc.basware(tenant)
    document = kind.download(basware, found.basware_id)
    if not kind.is_offered(document) and not _taken_by_us(svc, record_id, kind, document):
        return
    records.update(svc.db, record_id, document=document)  # before `take`: a retry after it knows it was ours
    note = kind.take(basware, found.basware_id)
    division = divisions.for_document(svc.db, tenant, document)
    records.update(svc.db, record_id, division=division, step=Step.FETCHED)
    summary = kind.summary(kind.parse(document, tenant))
    records.update(
        svc.db,
        record_id,
        reference=summary.reference,
        supplier=summary.supplier.name,
        gross=None if summary.gross is None else str(summary.gross),
        currency=summary.currency,
    )
    audit.of_record(svc.db, found, "fetch", "fetched", summary.text + note)


def _taken_by_us(svc: Services, record_id: int, kind: DocumentKind[Any], document: dict[str, Any]) -> bool:
    """For a document Basware does not offer (any more): True when an earlier run of ours took it (go on), False
    when another chain finished fetching it meanwhile (nothing to do); else it is not ours to act on: blocked,
    and Basware is not answered (a notification for a document that never waited for us is acted on by no one).
    """
    current = records.get(svc.db, record_id)
    if is_done(current, Step.FETCHED):
        return False
    status = document.get("processingStatus")
    if current.document is not None and status is not None and status == kind.taken_status:
        return True
    raise RecordBlocked(
        f"Basware shows this {kind.label} as {status or 'without a processing status'}, not {kind.waiting_status}: "
        "the connector acts only on documents waiting for it; nothing was taken or written",
        tell_basware=False,
    )


def map_vendor(svc: Services, record_id: int) -> None:
    """Find (or create) the Exact supplier of the document and remember it in the record's plan."""
    record = pending(svc, record_id, Step.VENDOR_MAPPED)
    if record is None:
        return
    tenant = svc.tenant(record.tenant_id)
    ref = kind_of(record).summary(_document(record, tenant)).supplier
    supplier = suppliers.resolve(svc, tenant, ref, division=divisions.of_record(record, tenant))
    plan = Plan.load(record.plan).with_supplier(supplier)
    records.update(svc.db, record_id, plan=plan.dump(), step=Step.VENDOR_MAPPED)
    text = _vendor_text(ref, supplier)
    audit.of_record(svc.db, record, "map_vendor", f"vendor_{supplier.how}", text, {"supplier": supplier.dump()})


def _vendor_text(ref: suppliers.SupplierRef, supplier: Supplier) -> str:
    verb = "created as" if supplier.how == "created" else "is"
    text = (
        f"Basware supplier {ref.code} ({ref.name}) {verb} Exact supplier {supplier.label()}, "
        f"found by {vendor_rules.how_text(supplier.how, supplier.origin)}"
    )
    return "; ".join([text, *supplier.notes])


def validate(svc: Services, record_id: int) -> None:
    """Map and check every line, the amounts and what else the kind demands; block with every problem."""
    record = pending(svc, record_id, Step.VALIDATED)
    if record is None:
        return
    tenant = svc.tenant(record.tenant_id)
    kind = kind_of(record)
    exact = svc.exact(tenant, division=divisions.of_record(record, tenant))
    lines, problems, journal = plan_document(svc, tenant, exact, kind, _document(record, tenant))
    if problems:
        raise blocked(problems)
    plan = Plan.load(record.plan).with_lines(lines, journal)
    records.update(svc.db, record_id, plan=plan.dump(), step=Step.VALIDATED)
    text = f"{len(lines)} lines mapped and checked in Exact division {exact.division}"
    audit.of_record(svc.db, record, "validate", "validated", text)


def write(svc: Services, record_id: int) -> None:
    """Create the Exact document exactly once, under the record's lease."""
    write_step(svc, record_id, _write_locked)


def _write_locked(svc: Services, record: Record) -> None:
    tenant = svc.tenant(record.tenant_id)
    kind = kind_of(record)
    exact = svc.exact(tenant, division=divisions.of_record(record, tenant))
    doc = _document(record, tenant)
    plan = Plan.load(record.plan)
    payload = kind.payload(plan, doc)
    summary = kind.summary(doc)
    reference = summary.reference
    written, how = write_once(
        svc,
        record,
        find=lambda: kind.find(exact, plan.supplier_id, reference),
        create=lambda admitted: kind.create(exact, payload, admitted),
    )
    exact_id, number = kind.identity(written)
    line_ids = _line_ids(kind.line_keys(doc), odata.nested(written.get(kind.lines_nav)))
    records.update(
        svc.db, record.id, status=Status.WRITTEN, step=Step.WRITTEN, exact_id=exact_id, exact_number=number,
        reason=None, problems=None, plan=plan.with_line_ids(line_ids).dump(),
        written_document=record.document,  # the version in Exact: what a later version is compared with
    )  # fmt: skip
    audit.of_record(
        svc.db,
        record,
        "write",
        f"{kind.event}_{how}",
        f"{kind.exact_label} {number} {how} in Exact division {exact.division} for {kind.label} "
        f"{reference}, {summary.currency} {summary.gross}",
        {f"{kind.event}_id": exact_id, f"{kind.event}_number": number},
    )
    kind.verify(svc, record, doc, written)


def _line_ids(keys: list[str], written: list[dict[str, Any]]) -> dict[str, str]:
    """Which Exact line each planned line became, when Exact's answer lists them (in line number order); a later
    version changes exactly these lines. Empty when it does not say: the update finds them then."""
    ordered = sorted(written, key=lambda line: int(line.get("LineNumber") or 0))
    if len(ordered) != len(keys) or not all(line.get("ID") for line in ordered):
        return {}
    return {key: str(line["ID"]).lower() for key, line in zip(keys, ordered, strict=True)}


def report(svc: Services, record_id: int) -> None:
    """Tell Basware the record's outcome once, as its kind does (under the record's lease)."""
    with record_lease(svc, record_id, "reporting"):
        record = records.get(svc.db, record_id)
        kind_of(record).report(svc, record)


def reports_blocks(svc: Services, record_id: int) -> bool:
    """Whether Basware is told when this record is blocked (an invoice's failure response)."""
    return kind_of(records.get(svc.db, record_id)).reports_blocks


def _document(record: Record, tenant: Tenant) -> Any:
    assert record.document is not None, "record not fetched yet"
    return kind_of(record).parse(record.document, tenant)
