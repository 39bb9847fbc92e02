"""Purchase orders: an exported Basware purchase order becomes an Exact purchase order.

Basware is told (the order is acknowledged as exported) only after the order is in Exact; a blocked order
stays `WaitingForExport` in Basware, so it is visibly not exported until it is fixed and replayed, and no
response is posted for it. A later version of a written order blocks with the changes: Exact's purchase
orders are not changed through the API here, so a person corrects the order in Exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.basware.client import BaswareClient
from connector.basware.orders import load_purchase_order
from connector.domain_orders import PurchaseOrder
from connector.exact import odata
from connector.exact.client import ExactClient
from connector.mapping import orders as order_rules
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

HEADER = ("supplier_code", "currency", "order_date", "desired_delivery_date", "net_sum", "gross_sum")
LINE = (
    "quantity",
    "unit_price",
    "net_sum",
    "description",
    "buyer_product_code",
    "supplier_product_code",
    "category_code",
    "coding",
)
OPEN_STATUS = 10  # Exact PurchaseOrder OrderStatus / ReceiptStatus: 10 open, 20 partial, 30 complete, 40 cancelled


class OrderKind(DocumentKind[PurchaseOrder]):
    """Basware exported purchase orders and Exact purchase orders."""

    name = Kind.PURCHASE_ORDER
    label = "purchase order"
    exact_label = "purchase order"
    event = "order"
    reports_blocks = False
    lines_nav = "PurchaseOrderLines"
    waiting_status = "WaitingForExport"
    taken_status = None  # acknowledged only once it is in Exact

    def download(self, basware: BaswareClient, basware_id: str) -> dict[str, Any]:
        """The exported purchase order."""
        return basware.get_exported_purchase_order(basware_id)

    def parse(self, document: dict[str, Any], tenant: Tenant) -> PurchaseOrder:
        """The purchase order; cost units come from the tenant's configured Basware dimension."""
        return load_purchase_order(document, tenant.cost_unit_field)

    def summary(self, doc: PurchaseOrder) -> Summary:
        """Number, supplier, currency and gross amount (the net sum when Basware gives no gross)."""
        gross = doc.gross_sum if doc.gross_sum is not None else doc.net_sum
        lines = len(doc.lines)
        text = f"purchase order {doc.order_number} from {doc.supplier_name}, {doc.currency} {gross}, {lines} lines"
        return Summary(doc.order_number, SupplierRef(doc.supplier_code, doc.supplier_name), doc.currency, gross, text)

    def prepare(self, exact: ExactClient, tenant: Tenant, doc: PurchaseOrder, table: Mapping) -> dict[str, Any]:
        """The Exact items the lines can map to, by code: one filtered call per order."""
        wanted = order_rules.wanted_items(doc, table, tenant.default_item)
        return {str(item["Code"]).strip(): item for item in exact.find_items(wanted)} if wanted else {}

    def document_problems(
        self, tenant: Tenant, doc: PurchaseOrder, master: MasterData, table: Mapping
    ) -> list[Problem]:
        """Quantity x price must give each line's net sum, and the lines the order's."""
        return order_rules.amount_problems(doc)

    def plan_lines(
        self, tenant: Tenant, doc: PurchaseOrder, master: MasterData, table: Mapping, prepared: Any
    ) -> tuple[list[Line], list[Problem]]:
        """One purchase order line per Basware line, with its item, cost center and cost unit."""
        return order_rules.plan_lines(doc, prepared, master, table, tenant.default_item)

    def payload(self, plan: Plan, doc: PurchaseOrder) -> dict[str, Any]:
        """The PurchaseOrder body."""
        payload: dict[str, Any] = {
            "Supplier": plan.supplier_id,
            "YourRef": doc.order_number,
            "Currency": doc.currency,
            "Description": f"Basware purchase order {doc.order_number}"[:100],
            "PurchaseOrderLines": [dict(line) for line in plan.lines],
        }
        if doc.order_date is not None:
            payload["OrderDate"] = doc.order_date.isoformat()
        if doc.desired_delivery_date is not None:
            payload["ReceiptDate"] = doc.desired_delivery_date.isoformat()
        return payload

    def find(self, exact: ExactClient, supplier_id: str, reference: str) -> list[dict[str, Any]]:
        """Orders of the supplier with the order number as YourRef."""
        return exact.find_purchase_orders(supplier_id, reference)

    def create(self, exact: ExactClient, payload: dict[str, Any], on_admitted: Callable[[], None]) -> dict[str, Any]:
        """Post the order with its lines."""
        return exact.create_purchase_order(payload, on_admitted=on_admitted)

    def identity(self, written: dict[str, Any]) -> tuple[str, str]:
        """PurchaseOrderID and OrderNumber."""
        return str(written["PurchaseOrderID"]), str(written.get("OrderNumber") or "")

    def report(self, svc: Services, record: Record) -> None:
        """Mark the order exported once it is in Exact; a repeat (405) means it was done already."""
        if record.status != Status.WRITTEN or record.reported == Reported.ACKNOWLEDGED:
            return
        newly = svc.basware(svc.tenant(record.tenant_id)).acknowledge_purchase_order(record.basware_id)
        records.update(svc.db, record.id, reported=Reported.ACKNOWLEDGED, step=Step.REPORTED)
        message = f"Basware order {record.reference} marked as exported (Exact purchase order {record.exact_number})"
        audit.of_record(
            svc.db, record, "acknowledge", "acknowledged", message + ("" if newly else "; Basware had it already")
        )

    def changes(self, old: PurchaseOrder, new: PurchaseOrder) -> list[str]:
        """Header fields and lines, by line number."""
        lines = ({ln.line_number: ln for ln in old.lines}, {ln.line_number: ln for ln in new.lines})
        return updates.differences(old, new, HEADER, lines, LINE)

    def line_keys(self, doc: PurchaseOrder) -> list[str]:
        """Each line comes from the Basware line with this number."""
        return [str(line.line_number) for line in doc.lines]

    def update(self, svc: Services, change: Change[PurchaseOrder]) -> None:
        """Update the open order in place (header, changed and removed lines); an order Exact no longer lets us
        change (received, closed), another supplier or added lines block for a person."""
        record, old, new = change.record, change.old, change.new
        tenant = svc.tenant(record.tenant_id)
        exact = svc.exact(tenant, division=divisions.of_record(record, tenant))
        order = exact.get_purchase_order(str(record.exact_id))
        why = _unchangeable(order, old, new)
        if why:
            updates.block(svc, change, f"changed in Basware after it was posted in Exact ({why}): "
                          f"{'; '.join(change.diff)}; correct it in Exact by hand")  # fmt: skip
            return
        lines = updates.replan(svc, self, change, exact)
        if lines is None:
            return
        order_id = str(record.exact_id)
        target = updates.ExactDocument(
            lines=odata.nested(order.get(self.lines_nav)),
            put_header=lambda header: exact.update_purchase_order(order_id, header),
            put_line=exact.update_purchase_order_line,
            delete_line=exact.delete_purchase_order_line,
            no_new_lines="lines were added in Basware, and Exact takes new lines on a purchase order only with the "
            "order itself",
        )
        plan = Plan.load(record.plan)
        before = _header(self.payload(plan, old)) if old is not None else {}
        after = _header(self.payload(plan, new))
        updates.update_in_place(svc, self, change, target, lines, after if after != before else {})


def _unchangeable(order: dict[str, Any], old: PurchaseOrder | None, new: PurchaseOrder) -> str | None:
    """Why Exact's order cannot take the new version, or None: another supplier, or no longer open."""
    if old is None or new.supplier_code != old.supplier_code:
        return "the supplier changed"
    for field, what in (("OrderStatus", "the order"), ("ReceiptStatus", "its receipts")):
        if int(order.get(field) or OPEN_STATUS) != OPEN_STATUS:
            return f"Exact shows {what} as no longer open (goods received or order closed)"
    return None


def _header(payload: dict[str, Any]) -> dict[str, Any]:
    # An order keeps its supplier (a change blocks above); lines go one by one.
    return {key: value for key, value in payload.items() if key not in ("Supplier", "PurchaseOrderLines")}
