"""Invoices: a Basware accounting document waiting for transfer becomes an Exact purchase entry.

Fetching acknowledges the document in Basware (it is in transfer now); the outcome, written or blocked, is
posted back as a transfer response, with the entry number as voucher number. A later version updates the
open entry in place (header by PUT, without the journal) after it is checked again like the first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from connector.basware.client import BaswareClient
from connector.basware.schemas import load_invoice
from connector.domain import Invoice
from connector.errors import FatalAPIError
from connector.exact import odata
from connector.exact.client import ExactClient
from connector.mapping import dimensions, money
from connector.mapping.dimensions import Mapping, MasterData
from connector.mapping.problems import Problem
from connector.store import audit, records
from connector.store.records import Kind, Record, Reported, Status, Step
from connector.store.tenants import Tenant
from connector.sync import divisions, updates
from connector.sync.kinds import Change, DocumentKind, Summary
from connector.sync.plan import Line, Plan
from connector.sync.services import Services
from connector.sync.suppliers import SupplierRef

OPEN = 20  # Exact PurchaseEntry Status: 20 open, 50 processed
HEADER = ("supplier_code", "currency", "invoice_date", "due_date", "net_sum", "tax_sum", "gross_sum", "description")
LINE = ("account_code", "cost_center_code", "cost_unit_code", "tax_code", "tax_percent", "net", "tax", "gross")


class InvoiceKind(DocumentKind[Invoice]):
    """Basware accounting documents and Exact purchase entries."""

    name = Kind.INVOICE
    label = "invoice"
    exact_label = "purchase entry"
    event = "entry"
    reports_blocks = True
    lines_nav = "PurchaseEntryLines"
    waiting_status = "WaitingForTransfer"
    taken_status = "TransferInProgress"

    def download(self, basware: BaswareClient, basware_id: str) -> dict[str, Any]:
        """The accounting document with its coding rows."""
        return basware.get_accounting_document(basware_id)

    def take(self, basware: BaswareClient, basware_id: str) -> str:
        """Acknowledge the document: Basware shows it in transfer (a repeat is answered 405, which is fine)."""
        return "" if basware.acknowledge(basware_id) else " (already acknowledged in Basware)"

    def parse(self, document: dict[str, Any], tenant: Tenant) -> Invoice:
        """The invoice; cost units come from the tenant's configured Basware dimension."""
        return load_invoice(document, cost_unit_field=tenant.cost_unit_field)

    def summary(self, doc: Invoice) -> Summary:
        """Number, supplier, currency and gross amount."""
        text = (
            f"invoice {doc.invoice_number} from {doc.supplier_name}, {doc.currency} {doc.gross_sum}, "
            f"{len(doc.rows)} coding rows"
        )
        supplier = SupplierRef(doc.supplier_code, doc.supplier_name, doc.supplier_vat_number)
        return Summary(doc.invoice_number, supplier, doc.currency, doc.gross_sum, text)

    def document_problems(self, tenant: Tenant, doc: Invoice, master: MasterData, table: Mapping) -> list[Problem]:
        """The totals must add up to the cent, and the tenant's journal must be a purchase journal."""
        return money.total_problems(doc) + dimensions.journal_problems(tenant.purchase_journal, master, table)

    def plan_lines(
        self, tenant: Tenant, doc: Invoice, master: MasterData, table: Mapping, prepared: Any
    ) -> tuple[list[Line], list[Problem]]:
        """One purchase entry line per coding row."""
        return dimensions.plan_lines(doc, master, table)

    def journal(self, tenant: Tenant, table: Mapping) -> str:
        """The tenant's purchase journal, mapped."""
        return table.get(("journal", tenant.purchase_journal), tenant.purchase_journal)

    def payload(self, plan: Plan, doc: Invoice) -> dict[str, Any]:
        """The PurchaseEntry body."""
        payload: dict[str, Any] = {
            "Journal": plan.journal,
            "Supplier": plan.supplier_id,
            "EntryDate": doc.invoice_date.isoformat(),
            "YourRef": doc.invoice_number,
            "Currency": doc.currency,
            "Description": (doc.description or f"Basware invoice {doc.invoice_number}")[:100],
            "PurchaseEntryLines": [dict(line) for line in plan.lines],
        }
        if doc.due_date is not None:
            payload["DueDate"] = doc.due_date.isoformat()
        return payload

    def find(self, exact: ExactClient, supplier_id: str, reference: str) -> list[dict[str, Any]]:
        """Entries of the supplier with the invoice number as YourRef."""
        return exact.find_purchase_entries(supplier_id, reference)

    def create(self, exact: ExactClient, payload: dict[str, Any], on_admitted: Callable[[], None]) -> dict[str, Any]:
        """Post the entry with its lines."""
        return exact.create_purchase_entry(payload, on_admitted=on_admitted)

    def identity(self, written: dict[str, Any]) -> tuple[str, str]:
        """EntryID and EntryNumber."""
        return str(written["EntryID"]), str(written.get("EntryNumber") or "")

    def verify(self, svc: Services, record: Record, doc: Invoice, written: dict[str, Any]) -> None:
        """Exact has been reported to drop invalid lines silently: say so loudly if the totals differ."""
        amount = written.get("AmountFC")
        if amount is not None and Decimal(str(amount)) != doc.gross_sum:
            audit.of_record(
                svc.db,
                record,
                "write",
                "amount_mismatch",
                f"Exact shows {amount} for entry {written.get('EntryNumber')}, Basware gross is "
                f"{doc.gross_sum}: check the entry in Exact",
            )

    def report(self, svc: Services, record: Record) -> None:
        """A transfer response: success with the entry number as voucher number, or failure with the reason."""
        outcome = {Status.WRITTEN: Reported.SUCCESS, Status.BLOCKED: Reported.FAILURE}.get(Status(record.status))
        if outcome is None or record.reported == outcome:
            return
        success = outcome == Reported.SUCCESS
        if success:
            message = f"Posted in Exact Online as purchase entry {record.exact_number}"
        else:
            message = f"Not posted in Exact Online: {record.reason or 'blocked'}"
        resend = (record.report_code or "").startswith(f"{outcome}:")
        code = _report_code(svc, record, outcome)
        basware = svc.basware(svc.tenant(record.tenant_id))
        try:
            basware.post_transfer_response(
                record.basware_id,
                success=success,
                message=message,
                voucher_number=record.exact_number if success else None,
                external_code=code,
            )
        except FatalAPIError as exc:
            if resend and _arrived_before(basware, record, success, exc):
                # The earlier attempt's response got there and its worker died before noting it: it counts.
                _note_reported(svc, record, outcome, f"{message} (sent before an interruption; Basware had it)")
                return
            # Basware refusing a response (say, the invoice was transferred by hand) changes nothing in Exact:
            # the record keeps its status, and the audit says what Basware answered.
            records.update(svc.db, record.id, reported=Reported.REFUSED)
            audit.of_record(
                svc.db, record, "report", "report_refused", f"Basware refused the {outcome} response: {exc}"
            )
            return
        _note_reported(svc, record, outcome, message)

    def changes(self, old: Invoice, new: Invoice) -> list[str]:
        """Header fields and coding rows, by row index."""
        rows = ({r.row_index: r for r in old.rows}, {r.row_index: r for r in new.rows})
        return updates.differences(old, new, HEADER, rows, LINE)

    def line_keys(self, doc: Invoice) -> list[str]:
        """Each line comes from the coding row with this index."""
        return [str(row.row_index) for row in doc.rows]

    def update(self, svc: Services, change: Change[Invoice]) -> None:
        """Update the open entry in place, header and lines as Exact allows; a processed entry or another
        supplier blocks for a person."""
        record, old, new = change.record, change.old, change.new
        tenant = svc.tenant(record.tenant_id)
        exact = svc.exact(tenant, division=divisions.of_record(record, tenant))
        entry = exact.get_purchase_entry(str(record.exact_id))
        supplier_changed = old is None or new.supplier_code != old.supplier_code
        if int(entry.get("Status") or 0) != OPEN or supplier_changed:
            why = "the supplier changed" if supplier_changed else "Exact no longer allows changing this entry"
            text = f"changed in Basware after it was posted in Exact ({why}): {'; '.join(change.diff)}"
            updates.block(svc, change, f"{text}; correct it in Exact by hand")
            return
        lines = updates.replan(svc, self, change, exact)
        if lines is None:
            return
        entry_id = str(record.exact_id)
        target = updates.ExactDocument(
            lines=odata.nested(entry.get(self.lines_nav)),
            put_header=lambda header: exact.update_purchase_entry(entry_id, header),
            put_line=exact.update_purchase_entry_line,
            delete_line=exact.delete_purchase_entry_line,
            add_line=lambda fields: exact.add_purchase_entry_line(entry_id, fields),
        )
        plan = Plan.load(record.plan)
        updates.update_in_place(svc, self, change, target, lines, _header_changes(self, plan, old, new))


def _header_changes(kind: InvoiceKind, plan: Plan, old: Invoice | None, new: Invoice) -> dict[str, Any]:
    """The entry's header fields that differ between the versions (sent by PUT without lines); {} when none."""
    before = _header(kind.payload(plan, old)) if old is not None else {}
    after = _header(kind.payload(plan, new))
    return after if after != before else {}


def _header(payload: dict[str, Any]) -> dict[str, Any]:
    # An entry keeps its journal and supplier (a supplier change blocks above); lines go one by one.
    return {key: value for key, value in payload.items() if key not in ("Journal", "Supplier", "PurchaseEntryLines")}


def _note_reported(svc: Services, record: Record, outcome: str, message: str) -> None:
    step = Step.REPORTED if outcome == Reported.SUCCESS else record.step
    records.update(svc.db, record.id, reported=outcome, step=step)
    audit.of_record(svc.db, record, "report", f"reported_{outcome}", f"Basware told: {message}"[:500])


def _arrived_before(basware: BaswareClient, record: Record, success: bool, refusal: FatalAPIError) -> bool:
    """Whether a refused resend shows that the same response arrived the first time: Basware has its code
    already (409), or a success finds the invoice transferred (no second response is accepted then)."""
    if refusal.status == 409:
        return True
    return success and basware.get_accounting_document(record.basware_id).get("processingStatus") == "Transferred"


def _report_code(svc: Services, record: Record, outcome: str) -> str:
    """The externalCode of this outcome's response, kept before it is sent: a retry after a crash mid-send
    sends the same response again instead of a second one with a new code."""
    kept = record.report_code or ""
    if kept.startswith(f"{outcome}:"):
        return kept.split(":", 1)[1]
    code = str(uuid.uuid4())
    records.update(svc.db, record.id, report_code=f"{outcome}:{code}")
    return code
