"""Purchase orders (`purchaseorder/PurchaseOrders`) in the Exact sandbox: create, read, update the header, delete.

Sourced (docs/api-facts.md, Exact: purchase orders): PurchaseOrders take GET, POST, PUT and DELETE; lines come with
the POST. Decisions (ours): validation texts ("Mandatory: Supplier", "Invalid reference: Item", ...) are made up in
Exact's style and answered with HTTP 500, all problems at once; a second order with the same YourRef is accepted
(Exact does not refuse it either: the connector must look before it writes); a header PUT may edit existing lines
by `ID` but a line without an existing ID answers 400, as on purchase entries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Response

import connector.sandbox.exact.query as query
from connector.sandbox.exact.items import ITEMS, item_row
from connector.sandbox.exact.order_lines import (
    LINE_SET,
    LINES_NAV,
    ORDERS,
    STATUS_OPEN,
    check_line,
    edit_line,
    line_inputs,
    new_line_id,
    require_open,
    retotal,
)
from connector.sandbox.exact.state import Division, State
from connector.sandbox.exact.validation import (
    ACCOUNTS,
    BINDING_MESSAGE,
    date_field,
    is_guid,
    lookup,
    refuse_problems,
    refuse_unknown,
)
from connector.sandbox.exact.wire import (
    NOT_ALLOWED,
    ApiFailure,
    Call,
    EntitySet,
    json_body,
    json_response,
    no_content,
    wants_minimal,
)

SOURCE_REST_API = 11
ORDER_FIELDS = ("PurchaseOrderID", "OrderNumber", "Supplier", "SupplierCode", "SupplierName", "OrderDate",
                "ReceiptDate", "YourRef", "Description", "Currency", "PaymentCondition", "AmountFC", "AmountDC",
                "OrderStatus", "ReceiptStatus", "InvoiceStatus", "Source", "Division", "Created",
                "Modified")  # fmt: skip
ORDER_HEADER = ("Supplier", "OrderDate", "ReceiptDate", "YourRef", "Description", "Currency", "PaymentCondition")
ORDER_WRITABLE = {*ORDER_HEADER, "Warehouse", LINES_NAV}
ORDER_SET = EntitySet(ORDERS, "PurchaseOrderID", "PurchaseOrder", ORDER_FIELDS, navigation=LINES_NAV)
Row = dict[str, Any]


class PurchaseOrders:
    """The purchase orders of every division."""

    sets: tuple[EntitySet, ...] = (ORDER_SET,)

    def __init__(self, state: State) -> None:
        self.state = state

    def handle(self, division: Division, call: Call) -> Response:
        """Answer one call on the orders resource."""
        if call.method == "GET":
            rows = division.tables[ORDERS]
            return query.read(
                division.number, ORDER_SET, rows, call.key, page_size=self.state.page_size, lines=LINE_SET
            )
        if call.method == "POST" and call.key is None:
            row = self._create(division, json_body())
            if wants_minimal():
                return no_content()
            return json_response({"d": query.render(division.number, ORDER_SET, row, lines=LINE_SET, expand=True)}, 201)
        if call.method in ("PUT", "DELETE") and call.key is not None:
            order = find(division, call.key)
            require_open(order)
            if call.method == "PUT":
                self._put(division, order, json_body())
            else:
                division.tables[ORDERS].remove(order)
            return no_content()
        raise ApiFailure(405, NOT_ALLOWED)

    def _create(self, division: Division, body: Row) -> Row:
        refuse_unknown(body, ORDER_WRITABLE, "PurchaseOrder")
        problems: list[str] = []
        header = self._header(division, body, problems)
        lines = _check_lines(division, body.get(LINES_NAV), (header["OrderDate"], header["ReceiptDate"]), problems)
        refuse_problems(problems)
        orders, now = division.tables[ORDERS], self.state.now_dt()
        order_id = new_line_id()
        row = {
            "PurchaseOrderID": order_id,
            "OrderNumber": len(orders) + 1,
            **header,
            "OrderStatus": STATUS_OPEN,
            "ReceiptStatus": STATUS_OPEN,
            "InvoiceStatus": STATUS_OPEN,
            "Source": SOURCE_REST_API,
            "Division": division.number,
            "Created": now,
            "Modified": now,
            LINES_NAV: [dict(line, ID=new_line_id(), PurchaseOrderID=order_id) for line in lines],
        }
        retotal(row)
        orders.append(row)
        return row

    def _header(self, division: Division, body: Row, problems: list[str]) -> Row:
        supplier = _supplier(division, body.get("Supplier"), problems)
        order_date = date_field(body, "OrderDate", problems) or self.state.today()
        return {
            "Supplier": supplier["ID"] if supplier else None,
            "SupplierCode": (supplier or {}).get("Code"),
            "SupplierName": (supplier or {}).get("Name"),
            "OrderDate": order_date,
            "ReceiptDate": date_field(body, "ReceiptDate", problems) or order_date,
            "YourRef": body.get("YourRef"),
            "Description": body.get("Description"),
            "Currency": body.get("Currency") or "EUR",
            "PaymentCondition": body.get("PaymentCondition"),
        }

    def _put(self, division: Division, order: Row, body: Row) -> None:
        refuse_unknown(body, ORDER_WRITABLE, "PurchaseOrder")
        edits = _bound_edits(order, body.pop(LINES_NAV, None))
        problems: list[str] = []
        header = self._header(division, {**{name: order.get(name) for name in ORDER_HEADER}, **body}, problems)
        refuse_problems(problems)
        for line in order[LINES_NAV]:  # check every edit before changing anything
            inputs = {**line_inputs(line), **edits.get(line["ID"], {})}
            check_line(division, inputs, line["LineNumber"], (header["OrderDate"], header["ReceiptDate"]), problems)
        refuse_problems(problems)
        order.update(header, Modified=self.state.now_dt())
        for line in order[LINES_NAV]:
            if line["ID"] in edits:
                edit_line(division, order, line, edits[line["ID"]])


def find(division: Division, order_id: str) -> Row:
    """An order by ID; 404 when the division has none."""
    for row in division.tables[ORDERS]:
        if row["PurchaseOrderID"] == order_id.lower():
            return row
    raise ApiFailure(404, "Not found")


def copy_order(row: Row) -> Row:
    """An order and its lines, copied so a caller cannot change the sandbox's state."""
    return {**row, LINES_NAV: [dict(line) for line in row[LINES_NAV]]}


def _bound_edits(order: Row, sent: Any) -> dict[str, Row]:
    """Line edits by existing `ID`; 400 when a sent line has none (Exact binds no new lines on PUT)."""
    existing = {line["ID"] for line in order[LINES_NAV]}
    edits: dict[str, Row] = {}
    for line in sent if isinstance(sent, list) else ([] if sent is None else [sent]):
        line_id = str(line.get("ID") or "").lower() if isinstance(line, dict) else ""
        if line_id not in existing:
            raise ApiFailure(400, BINDING_MESSAGE)
        edits[line_id] = {k: v for k, v in line.items() if k not in ("ID", "PurchaseOrderID")}
    return edits


def _supplier(division: Division, supplier: Any, problems: list[str]) -> Row | None:
    if not supplier:
        problems.append("Mandatory: Supplier")
        return None
    account = lookup(division, ACCOUNTS, "ID", supplier) if is_guid(supplier) else None
    if account is None or not account["IsSupplier"]:
        problems.append("Invalid reference: Supplier")
        return None
    return {"ID": account["ID"], "Code": account["Code"].strip(), "Name": account["Name"]}


def _check_lines(division: Division, lines: Any, dates: tuple[Any, Any], problems: list[str]) -> list[Row]:
    if not isinstance(lines, list) or not lines:
        problems.append("Mandatory: Purchase order lines")
        return []
    checked = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            problems.append("Invalid value: Purchase order lines")
            continue
        checked.append(check_line(division, line, number, dates, problems))
    return checked


class OrdersControl:
    """The Python control API for orders and items (`ExactSandbox.orders`)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def purchase_orders(self, division: int) -> list[Row]:
        """Every stored purchase order with its lines (amounts Decimal, dates datetimes)."""
        with self.state.lock:
            return [copy_order(row) for row in self.state.division(division).tables[ORDERS]]

    def add_item(self, division: int, code: str, description: str, *, purchase: bool = True) -> str:
        """Add an item to a division and return its ID."""
        with self.state.lock:
            row = item_row(division, code, self.state.now_dt(), description, purchase, Decimal("0"))
            row["ID"] = new_line_id()
            self.state.division(division).tables[ITEMS].append(row)
            return str(row["ID"])

    def set_order_status(self, division: int, order_id: str, status: int) -> None:
        """Change an order's `OrderStatus`; anything but 10 (open) makes it refuse changes."""
        with self.state.lock:
            find(self.state.division(division), order_id)["OrderStatus"] = status
