"""The purchase order steps the workers run: fetch, map the supplier, map every line, write, acknowledge.

Each step is idempotent like the invoice steps: it re-reads the record, does nothing when its work is done
or the record is no longer pending, and commits its result before returning. The write holds the record's
lease and, whenever an earlier attempt may have reached Exact, looks for the order by Supplier and YourRef
before creating one. Basware is told (acknowledge) only after the order is in Exact; a blocked order stays
`WaitingForExport` in Basware, so it is visibly not exported until it is fixed and replayed.
"""

from __future__ import annotations

import difflib
from datetime import date
from decimal import Decimal
from typing import Any

from connector.basware.orders import line_total, load_purchase_order
from connector.domain import Invoice
from connector.domain_orders import OrderLine, PurchaseOrder
from connector.errors import RecordBlocked
from connector.exact.client import ExactClient
from connector.mapping import dimensions
from connector.mapping.dimensions import MasterData
from connector.mapping.problems import problem
from connector.store import audit, mappings, records
from connector.store.records import Record
from connector.store.tenants import Tenant
from connector.sync import updates
from connector.sync.master import MAX_AGE, MISS_REFRESH_AGE, load_master
from connector.sync.services import Services
from connector.sync.vendors import resolve_supplier
from connector.sync.writing import pending, write_once, write_step

ACKNOWLEDGED = "acknowledged"
Mapping = dict[tuple[str, str], str]


def parse(record: Record, tenant: Tenant) -> PurchaseOrder:
    """The purchase order held by a fetched record."""
    assert record.document is not None, "record not fetched yet"
    return load_purchase_order(record.document, tenant.cost_unit_field)


def fetch(svc: Services, record_id: int) -> None:
    """Fetch the exported purchase order from Basware and keep it on the record."""
    if records.get(svc.db, record_id).status in ("written", "blocked"):
        updates.check_update(svc, record_id)  # exported again: the same version, or a changed one
        return
    record = pending(svc, record_id, "fetched")
    if record is None:
        return
    tenant = svc.tenant(record.tenant_id)
    document = svc.basware(tenant).get_exported_purchase_order(record.basware_id)
    records.update(svc.db, record_id, document=document, step="fetched")
    order = load_purchase_order(document, tenant.cost_unit_field)
    gross = order.gross_sum if order.gross_sum is not None else order.net_sum
    records.update(
        svc.db,
        record_id,
        reference=order.order_number,
        supplier=order.supplier_name,
        gross=None if gross is None else str(gross),
        currency=order.currency,
    )
    _audit(svc, record, "fetch", "fetched", f"purchase order {order.order_number} from {order.supplier_name}, "
           f"{order.currency} {gross}, {len(order.lines)} lines")  # fmt: skip


def as_invoice(order: PurchaseOrder) -> Invoice:
    """The order's supplier in the shape `resolve_supplier` reads (it looks only at the supplier fields)."""
    zero = Decimal("0")
    return Invoice(
        invoice_id=order.external_code,
        invoice_number=order.order_number,
        company_code=order.company_code or "",
        supplier_code=order.supplier_code,
        supplier_name=order.supplier_name,
        currency=order.currency,
        invoice_date=order.order_date or date.min,
        net_sum=order.net_sum or zero,
        tax_sum=order.tax_sum or zero,
        gross_sum=order.gross_sum or zero,
        rows=(),
    )


def map_vendor(svc: Services, record_id: int) -> None:
    """Find (or create) the Exact supplier of the order, by the same rules as for invoices."""
    record = pending(svc, record_id, "vendor_mapped")
    if record is None:
        return
    tenant = svc.tenant(record.tenant_id)
    order = parse(record, tenant)
    supplier = resolve_supplier(svc, tenant, as_invoice(order))
    records.update(svc.db, record_id, plan=dict(record.plan or {}, supplier=supplier), step="vendor_mapped")
    message = (
        f"Basware supplier {order.supplier_code} ({order.supplier_name}) is Exact supplier "
        f"{supplier.get('Code') or supplier['ID']} (matched by {supplier['how']})"
    )
    _audit(svc, record, "map_vendor", f"vendor_{supplier['how']}", message, {"supplier": supplier})


def validate(svc: Services, record_id: int) -> None:
    """Map every line to an Exact item, cost center and cost unit and check the amounts; block with every problem."""
    record = pending(svc, record_id, "validated")
    if record is None:
        return
    tenant = svc.tenant(record.tenant_id)
    order = parse(record, tenant)
    exact = svc.exact(tenant)
    table = mappings.table(svc.db, tenant.id)
    items = _items(exact, order, table, tenant.default_item)
    lines, problems = _check(svc, tenant, exact, order, items, table, max_age=None)
    if any(p["field"] in ("cost_center", "cost_unit") for p in problems):
        # A code missing from the cache may have been created in Exact since: look once more.
        lines, problems = _check(svc, tenant, exact, order, items, table, max_age=MISS_REFRESH_AGE)
    if problems:
        count = len(problems)
        text = "; ".join(_problem_text(p) for p in problems)
        raise RecordBlocked(f"{count} problem{'s' if count > 1 else ''}: {text}", problems)
    records.update(svc.db, record_id, plan=dict(record.plan or {}, lines=lines), step="validated")
    _audit(svc, record, "validate", "validated", f"{len(lines)} lines mapped to items and checked in Exact "
           f"division {exact.division}")  # fmt: skip


def _check(
    svc: Services,
    tenant: Tenant,
    exact: ExactClient,
    order: PurchaseOrder,
    items: dict[str, dict[str, Any]],
    table: Mapping,
    *,
    max_age: float | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    _age, master = load_master(svc.db, tenant.id, exact, max_age=MAX_AGE if max_age is None else max_age)
    lines, problems = plan_lines(order, items, master, table, tenant.default_item)
    problems = amount_problems(order) + dimensions.currency_problems(order.currency) + problems
    return lines, problems


def _items(exact: ExactClient, order: PurchaseOrder, table: Mapping, default_item: str | None) -> dict[str, Any]:
    """The Exact items the order's lines can map to, by code: one filtered call per order."""
    wanted = {code for line in order.lines if (code := item_code(line, table, default_item)[0]) is not None}
    return {str(item["Code"]).strip(): item for item in exact.find_items(wanted)} if wanted else {}


# -- pure planning: Basware lines -> Exact purchase order lines ----------------------------------------------


def item_code(line: OrderLine, table: Mapping, default_item: str | None) -> tuple[str | None, str]:
    """The Exact item code for a line and how it was chosen: a mapping, the buyer's code, or the default."""
    for name, value in line.product_codes:
        mapped = table.get(("item", value))
        if mapped:
            return mapped.strip(), f"item mapping of {name} {value}"
    if line.buyer_product_code:  # the buyer's own product code is usually the ERP item code
        return line.buyer_product_code.strip(), "buyerProductCode"
    if line.is_free_text or not line.product_codes:
        return (default_item.strip(), "the tenant's default item") if default_item else (None, "")
    return None, ""


def plan_lines(
    order: PurchaseOrder,
    items: dict[str, dict[str, Any]],
    master: MasterData,
    table: Mapping,
    default_item: str | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Exact purchase order lines for the order, and every problem found on the way (empty when clean)."""
    problems: list[dict[str, Any]] = []
    lines = [_plan_line(line, order, items, master, table, default_item, problems) for line in order.lines]
    return lines, problems


def _plan_line(
    line: OrderLine,
    order: PurchaseOrder,
    items: dict[str, dict[str, Any]],
    master: MasterData,
    table: Mapping,
    default_item: str | None,
    problems: list[dict[str, Any]],
) -> dict[str, Any]:
    planned: dict[str, Any] = {
        "QuantityInPurchaseUnits": line.quantity,
        "NetPrice": line.unit_price,
        "Description": (line.description or f"Line {line.line_number}")[:100],
    }
    if order.desired_delivery_date is not None:
        planned["ReceiptDate"] = order.desired_delivery_date.isoformat()
    item = _item(line, items, table, default_item, master.division, problems)
    if item is not None:
        planned["Item"] = str(item["ID"])
    dimension_kinds = (
        ("cost_center", "CostCenter", {c.cost_center_code for c in line.coding}, master.cost_centers),
        ("cost_unit", "CostUnit", {c.cost_unit_code for c in line.coding}, master.cost_units),
    )
    for kind, key, codes, known in dimension_kinds:
        code = _dimension(line, kind, codes - {None}, known, order, master.division, table, problems)
        if code is not None:
            planned[key] = code
    return planned


def _item(
    line: OrderLine,
    items: dict[str, dict[str, Any]],
    table: Mapping,
    default_item: str | None,
    division: int,
    problems: list[dict[str, Any]],
) -> dict[str, Any] | None:
    code, how = item_code(line, table, default_item)
    source = ", ".join(f"{name} {value}" for name, value in line.product_codes) or None
    if code is None:
        text = (
            "free-text line and the tenant has no default item; set one (ml-connector tenant set NAME "
            "--default-item CODE) or add an item mapping"
            if line.is_free_text or not line.product_codes
            else f"no Exact item for {source}; add an item mapping"
        )
        problems.append(problem(line.line_number, "item", source, None, text))
        return None
    found = items.get(code)
    if found is None:
        text = f"item {code} (from {how}) does not exist in Exact division {division}"
        problems.append(problem(line.line_number, "item", source, code, text))
        return None
    if not found.get("IsPurchaseItem"):
        problems.append(problem(line.line_number, "item", source, code, f"item {code} is not a purchase item in Exact"))
        return None
    return found


def _dimension(
    line: OrderLine,
    kind: str,
    sources: set[str | None],
    known: dict[str, dict[str, Any]],
    order: PurchaseOrder,
    division: int,
    table: Mapping,
    problems: list[dict[str, Any]],
) -> str | None:
    if not sources:
        return None
    label = kind.replace("_", " ")
    if len(sources) > 1:  # an Exact order line carries one cost center, so a split cannot be kept
        names = ", ".join(sorted(str(s) for s in sources))
        text = f"the line is split over {label}s {names}; an Exact purchase order line carries only one"
        problems.append(problem(line.line_number, kind, names, None, text))
        return None
    source = str(next(iter(sources)))
    code = table.get((kind, source), source)
    found = known.get(code)
    if found is None:
        text = f"{label} {code} does not exist in Exact division {division}"
        problems.append(
            problem(
                line.line_number,
                kind,
                source,
                code,
                text,
                difflib.get_close_matches(code, list(known), n=3, cutoff=0.5),
            )
        )
        return None
    ended, on = found.get("EndDate"), order.order_date or date.today()
    if isinstance(ended, date) and ended <= on:
        text = f"{label} {code} ended on {ended.isoformat()}, before the order date {on.isoformat()}"
        problems.append(problem(line.line_number, kind, source, code, text))
        return None
    return code


def amount_problems(order: PurchaseOrder) -> list[dict[str, Any]]:
    """Quantity x price must give each line's net sum, and the lines must add up to the order's net sum."""
    problems = []
    for line in order.lines:
        if line.net_sum is not None and line_total(line) != line.net_sum:
            text = (
                f"{line.quantity} x {line.unit_price} = {line_total(line)}, but Basware's net sum for the "
                f"line is {line.net_sum}"
            )
            problems.append(problem(line.line_number, "amounts", None, None, text))
    total = sum((line.net_sum if line.net_sum is not None else line_total(line) for line in order.lines), Decimal(0))
    if order.net_sum is not None and total != order.net_sum:
        text = f"the lines add up to {total}, but the order's net sum is {order.net_sum}"
        problems.append(problem(None, "amounts", None, None, text))
    return problems


def _problem_text(problem: dict[str, Any]) -> str:
    where = f"line {problem['row']}: " if problem.get("row") is not None else ""
    hint = f" (did you mean {', '.join(problem['suggestions'])}?)" if problem.get("suggestions") else ""
    return f"{where}{problem['problem']}{hint}"


# -- write and acknowledge ----------------------------------------------------------------------------------


def order_payload(record: Record, order: PurchaseOrder) -> dict[str, Any]:
    """The Exact PurchaseOrder body for a validated record; quantities and prices are Basware's, unchanged."""
    plan = record.plan or {}
    payload: dict[str, Any] = {
        "Supplier": plan["supplier"]["ID"],
        "YourRef": order.order_number,
        "Currency": order.currency,
        "Description": f"Basware purchase order {order.order_number}"[:100],
        "PurchaseOrderLines": [
            {key: Decimal(str(v)) if key in ("QuantityInPurchaseUnits", "NetPrice") else v for key, v in line.items()}
            for line in plan["lines"]
        ],
    }
    if order.order_date is not None:
        payload["OrderDate"] = order.order_date.isoformat()
    if order.desired_delivery_date is not None:
        payload["ReceiptDate"] = order.desired_delivery_date.isoformat()
    return payload


def write(svc: Services, record_id: int) -> None:
    """Create the purchase order in Exact exactly once, under the record's lease."""
    write_step(svc, record_id, _write_locked)


def _write_locked(svc: Services, record: Record) -> None:
    tenant = svc.tenant(record.tenant_id)
    exact = svc.exact(tenant)
    order = parse(record, tenant)
    payload = order_payload(record, order)
    written, how = write_once(
        svc,
        record,
        find=lambda: exact.find_purchase_orders(payload["Supplier"], order.order_number),
        create=lambda admitted: exact.create_purchase_order(payload, on_admitted=admitted),
    )
    number = str(written.get("OrderNumber") or "")
    order_id = str(written["PurchaseOrderID"])
    records.update(
        svc.db, record.id, status="written", step="written", exact_id=order_id, exact_number=number, reason=None,
        problems=None, written_document=record.document,
    )  # fmt: skip
    message = (
        f"purchase order {number} {how} in Exact division {exact.division} for Basware order "
        f"{order.order_number}, {len(payload['PurchaseOrderLines'])} lines"
    )
    _audit(svc, record, "write", f"order_{how}", message, {"order_id": order_id, "order_number": number})


def acknowledge(svc: Services, record_id: int) -> None:
    """Tell Basware the order is exported, once it is in Exact; a repeat (405) means it was done already."""
    record = records.get(svc.db, record_id)
    if record.status != "written" or record.reported == ACKNOWLEDGED:
        return
    tenant = svc.tenant(record.tenant_id)
    newly = svc.basware(tenant).acknowledge_purchase_order(record.basware_id)
    records.update(svc.db, record_id, reported=ACKNOWLEDGED, step="reported")
    message = f"Basware order {record.reference} marked as exported (Exact purchase order {record.exact_number})"
    _audit(svc, record, "acknowledge", "acknowledged", message + ("" if newly else "; Basware had it already"))


def _audit(svc: Services, record: Record, step: str, event: str, message: str, detail: Any = None) -> None:
    audit.of_record(svc.db, record, step, event, message, detail)
