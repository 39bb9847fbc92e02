"""Purchase order lines: how a line is checked and priced, and the `purchaseorder/PurchaseOrderLines` resource.

Sourced (docs/api-facts.md, Exact: purchase orders): lines take GET, PUT and DELETE; they "may not be posted
individually. They should be part of the PurchaseOrder Post"; an order keeps at least one line (to remove the last,
delete the order); a line needs `Item` and a quantity. Decisions (ours): a single-line POST answers 400 with that
doc text; deleting the last line answers 500 `LAST_LINE_MESSAGE`; `NetPrice` defaults to the item's standard cost
price; an order whose `OrderStatus` is no longer open (10) refuses changes to it and its lines with HTTP 500.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Response

import connector.sandbox.exact.query as query
from connector.sandbox.exact.items import ITEMS
from connector.sandbox.exact.state import Division, State
from connector.sandbox.exact.validation import (
    VAT_CODES,
    amount,
    check_code,
    check_dimensions,
    date_field,
    is_guid,
    lookup,
    refuse_problems,
    refuse_unknown,
)
from connector.sandbox.exact.wire import NOT_ALLOWED, ApiFailure, Call, EntitySet, json_body, no_content

ORDERS = "purchaseorder/PurchaseOrders"
ORDER_LINES = "purchaseorder/PurchaseOrderLines"
LINES_NAV = "PurchaseOrderLines"
STATUS_OPEN = 10
POST_REFUSED = "Purchase order lines may not be posted individually. They should be part of the PurchaseOrder Post."
LAST_LINE_MESSAGE = "A purchase order must keep at least one line: delete the order instead."
CLOSED_MESSAGE = "This purchase order is no longer open and can no longer be changed."
LINE_FIELDS = ("ID", "PurchaseOrderID", "LineNumber", "Item", "ItemCode", "ItemDescription",
               "QuantityInPurchaseUnits", "NetPrice", "AmountFC", "AmountDC", "VATCode", "CostCenter", "CostUnit",
               "Description", "ReceiptDate", "Project", "Division")  # fmt: skip
LINE_WRITABLE = {"Item", "QuantityInPurchaseUnits", "NetPrice", "VATCode", "CostCenter", "CostUnit", "Description",
                 "ReceiptDate", "Project", "LineNumber"}  # fmt: skip
LINE_SET = EntitySet(ORDER_LINES, "ID", "PurchaseOrderLine", LINE_FIELDS)
_CENT = Decimal("0.01")
Row = dict[str, Any]


def check_line(
    division: Division, line: Row, number: int, dates: tuple[datetime, datetime], problems: list[str]
) -> Row:
    """A line as stored (without ID), each problem added; `dates` are the order date and receipt date."""
    refuse_unknown(line, LINE_WRITABLE, "PurchaseOrderLine")
    order_date, receipt = dates
    item = _item(division, line.get("Item"), problems)
    cost_center, cost_unit = check_dimensions(division, line, order_date, problems)
    vat = check_code(division, VAT_CODES, line.get("VATCode"), "VAT code", problems)
    quantity = amount(line, "QuantityInPurchaseUnits", problems, mandatory=True) or Decimal("0")
    if quantity == 0 and line.get("QuantityInPurchaseUnits") is not None:
        problems.append("Invalid value: Quantity")
    price = amount(line, "NetPrice", problems, mandatory=False)
    if price is None:
        price = item["CostPriceStandard"] if item else Decimal("0")
    total = (quantity * price).quantize(_CENT, ROUND_HALF_UP)
    return {
        "LineNumber": line.get("LineNumber") or number,
        "Item": item["ID"] if item else None,
        "ItemCode": item["Code"] if item else None,
        "ItemDescription": item["Description"] if item else None,
        "QuantityInPurchaseUnits": quantity,
        "NetPrice": price,
        "AmountFC": total,
        "AmountDC": total,
        "VATCode": vat["Code"] if vat else None,
        "CostCenter": cost_center["Code"] if cost_center else None,
        "CostUnit": cost_unit["Code"] if cost_unit else None,
        "Description": line.get("Description") or (item["Description"] if item else None),
        "ReceiptDate": date_field(line, "ReceiptDate", problems) or receipt,
        "Project": line.get("Project"),
        "Division": division.number,
    }


def line_inputs(line: Row) -> Row:
    """What a client would send to store a line again as it is."""
    return {name: line.get(name) for name in LINE_WRITABLE}


def edit_line(division: Division, order: Row, line: Row, edit: Row) -> None:
    """Apply a PUT's changes to a stored line (checked as a whole) and re-total the order."""
    inputs = {**line_inputs(line), **edit}
    problems: list[str] = []
    checked = check_line(division, inputs, line["LineNumber"], (order["OrderDate"], order["ReceiptDate"]), problems)
    refuse_problems(problems)
    line.update(checked)
    retotal(order)


def retotal(order: Row) -> None:
    """The order's amount: the sum of its lines."""
    total = sum((line["AmountFC"] for line in order[LINES_NAV]), Decimal("0"))
    order.update(AmountFC=total, AmountDC=total)


def require_open(order: Row) -> None:
    """Refuse any change to an order that is no longer open."""
    if order["OrderStatus"] != STATUS_OPEN:
        raise ApiFailure(500, CLOSED_MESSAGE)


class OrderLines:
    """`purchaseorder/PurchaseOrderLines`: GET, PUT and DELETE by line ID; POST is refused."""

    sets: tuple[EntitySet, ...] = (LINE_SET,)

    def __init__(self, state: State) -> None:
        self.state = state

    def handle(self, division: Division, call: Call) -> Response:
        """Answer one call on the order lines resource."""
        if call.method == "GET":
            rows = [line for order in division.tables[ORDERS] for line in order[LINES_NAV]]
            return query.read(division.number, LINE_SET, rows, call.key, page_size=self.state.page_size)
        if call.method == "POST" and call.key is None:
            raise ApiFailure(400, POST_REFUSED)
        if call.method in ("PUT", "DELETE") and call.key is not None:
            order, line = _find_line(division, call.key)
            require_open(order)
            if call.method == "PUT":
                edit = {k: v for k, v in json_body().items() if k not in ("ID", "PurchaseOrderID")}
                edit_line(division, order, line, edit)
            else:
                _delete(order, line)
            order["Modified"] = self.state.now_dt()
            return no_content()
        raise ApiFailure(405, NOT_ALLOWED)


def _delete(order: Row, line: Row) -> None:
    if len(order[LINES_NAV]) == 1:
        raise ApiFailure(500, LAST_LINE_MESSAGE)
    order[LINES_NAV].remove(line)
    retotal(order)


def _find_line(division: Division, line_id: str) -> tuple[Row, Row]:
    for order in division.tables[ORDERS]:
        for line in order[LINES_NAV]:
            if line["ID"] == line_id:
                return order, line
    raise ApiFailure(404, "Not found")


def _item(division: Division, item_id: Any, problems: list[str]) -> Row | None:
    if not item_id:
        problems.append("Mandatory: Item")
        return None
    item = lookup(division, ITEMS, "ID", item_id) if is_guid(item_id) else None
    if item is None:
        problems.append("Invalid reference: Item")
    elif not item["IsPurchaseItem"]:
        problems.append(f"Item {item['Code']} is not a purchase item")
        return None
    return item


def new_line_id() -> str:
    """A fresh line ID."""
    return str(uuid.uuid4())
