"""Items, purchase orders, bank accounts and account updates for the Exact sandbox.

`ExactSandbox` builds one `OrdersApi`, seeds every new division through it and lets it answer a resource
before its own entity sets. It follows reference/exact-online.md §3.3 (mandatory filters) and §5
(PurchaseOrder, Items). Choices the reference leaves open, so nobody mistakes them for facts about Exact:

- `logistics/Items` accepts a filter naming one of `ITEM_FILTER_FIELDS`; the real list is longer.
- A purchase order line needs `Item` (a purchase item of the division) and a non-zero
  `QuantityInPurchaseUnits`; `NetPrice` defaults to the item's standard cost price.
- Validation texts ("Mandatory: Supplier", "Invalid reference: Item", ...) are made up in Exact's style
  and answered with HTTP 500, all problems at once, one per line.
- Exact itself does not refuse a second order with the same YourRef, so neither does the sandbox: the
  connector must look before it writes.
- PurchaseOrders take no PUT (go-mcn's metadata lists GET POST DELETE); crm/Accounts takes PUT, answered 204.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

from connector.sandbox import exact_seed as seed
from connector.sandbox.exact import (
    ApiFailure,
    EntitySet,
    _amount,
    _check_code,
    _compile_filter,
    _date_field,
    _is_guid,
    _json_body,
    _lookup,
    _wire,
    check_dimensions,
    json_response,
)

if TYPE_CHECKING:
    from connector.sandbox.exact import Division, ExactSandbox

ITEMS = "logistics/Items"
ORDERS = "purchaseorder/PurchaseOrders"
BANK_ACCOUNTS = "crm/BankAccounts"
ACCOUNTS = "crm/Accounts"
LINES_NAV = "PurchaseOrderLines"
DEFAULT_ITEM = "MISC"
# code -> (description, is a purchase item, standard cost price)
SEED_ITEMS: dict[str, tuple[str, bool, Decimal]] = {
    DEFAULT_ITEM: ("Miscellaneous purchases", True, Decimal("0")),
    "PAPER-A4": ("Copy paper A4, 500 sheets", True, Decimal("4.10")),
    "TONER-X1": ("Toner cartridge X1", True, Decimal("61.00")),
    "CHAIR-ERG": ("Ergonomic office chair", True, Decimal("310.00")),
    "GIFTCARD": ("Gift card (sold, never bought)", False, Decimal("0")),
}
SALES_ONLY_ITEM = "GIFTCARD"
ITEM_FILTER_FIELDS = ("Barcode", "Code", "Description", "ID", "Modified")
ITEM_FILTER_MESSAGE = (
    "This endpoint has mandatory filtering applied. A GET request for this endpoint must have a $filter "
    "parameter with one of the following fields in the url:" + ",".join(ITEM_FILTER_FIELDS) + "."
)
ITEM_FIELDS = ("ID", "Code", "Description", "IsPurchaseItem", "IsSalesItem", "IsStockItem", "Unit",
               "CostPriceStandard", "Division", "Modified")  # fmt: skip
ORDER_FIELDS = ("PurchaseOrderID", "OrderNumber", "Supplier", "SupplierCode", "SupplierName", "OrderDate",
                "ReceiptDate", "YourRef", "Description", "Currency", "PaymentCondition", "AmountFC", "AmountDC",
                "OrderStatus", "ReceiptStatus", "InvoiceStatus", "Source", "Division", "Created",
                "Modified")  # fmt: skip
ORDER_WRITABLE = {"Supplier", "OrderDate", "ReceiptDate", "YourRef", "Description", "Currency", "PaymentCondition",
                  "Warehouse", LINES_NAV}  # fmt: skip
LINE_FIELDS = ("ID", "PurchaseOrderID", "LineNumber", "Item", "ItemCode", "ItemDescription",
               "QuantityInPurchaseUnits", "NetPrice", "AmountFC", "AmountDC", "VATCode", "CostCenter", "CostUnit",
               "Description", "ReceiptDate", "Project", "Division")  # fmt: skip
LINE_WRITABLE = {"Item", "QuantityInPurchaseUnits", "NetPrice", "VATCode", "CostCenter", "CostUnit", "Description",
                 "ReceiptDate", "Project", "LineNumber"}  # fmt: skip
BANK_FIELDS = ("ID", "Account", "AccountName", "BankAccount", "BankAccountHolderName", "BICCode", "Main", "Division")
BANK_WRITABLE = {"Account", "BankAccount", "BankAccountHolderName", "BICCode", "Main"}
STATUS_OPEN = 10
SOURCE_REST_API = 11
_CENT = Decimal("0.01")
_RESOURCE = re.compile(r"^(?P<set>[A-Za-z]+/[A-Za-z]+)(?:\(guid'(?P<key>[0-9A-Fa-f-]{36})'\))?$")
_SETS = {
    ITEMS.lower(): EntitySet(ITEMS, "ID", "Item", ITEM_FIELDS),
    ORDERS.lower(): EntitySet(ORDERS, "PurchaseOrderID", "PurchaseOrder", ORDER_FIELDS, navigation=LINES_NAV),
    BANK_ACCOUNTS.lower(): EntitySet(BANK_ACCOUNTS, "ID", "BankAccount", BANK_FIELDS),
}


@dataclass(frozen=True)
class _Call:
    """One API call this module answers: which set, which key, which method."""

    entity: EntitySet | None
    key: str | None
    method: str


class OrdersApi:
    """The sandbox's logistics part; all state lives in the sandbox's divisions, under its lock."""

    def __init__(self, sandbox: ExactSandbox) -> None:
        self.sandbox = sandbox

    # -- wiring and inspection ---------------------------------------------------------------------

    def seed(self, number: int, tables: dict[str, list[dict[str, Any]]], *, with_items: bool) -> None:
        """Give a new division its tables, and the seed items unless it starts empty."""
        now = self.sandbox._now_dt()
        items = [_item_row(number, code, now, *spec) for code, spec in SEED_ITEMS.items()] if with_items else []
        tables.setdefault(ITEMS, items)
        tables.setdefault(ORDERS, [])
        tables.setdefault(BANK_ACCOUNTS, [])

    def register(self, app: Flask) -> None:
        """Admin endpoint for the demo: every purchase order of a division."""
        app.add_url_rule("/_sandbox/purchase-orders", view_func=self._admin_orders, methods=["GET"])

    def purchase_orders(self, division: int) -> list[dict[str, Any]]:
        """Every stored purchase order with its lines (amounts Decimal, dates datetimes)."""
        with self.sandbox._lock:
            rows = self.sandbox._division(division).tables[ORDERS]
            return [{**row, LINES_NAV: [dict(line) for line in row[LINES_NAV]]} for row in rows]

    def add_item(self, division: int, code: str, description: str, *, purchase: bool = True) -> str:
        """Add an item to a division and return its ID."""
        with self.sandbox._lock:
            row = _item_row(division, code, self.sandbox._now_dt(), description, purchase, Decimal("0"))
            row["ID"] = str(uuid.uuid4())
            self.sandbox._division(division).tables[ITEMS].append(row)
            return str(row["ID"])

    # -- dispatch ----------------------------------------------------------------------------------

    def dispatch(self, division: Division, resource: str) -> Response | None:
        """The answer when the resource is one of this module's, else None (the sandbox carries on)."""
        call = self._call(resource)
        if call is None:
            return None
        with self.sandbox._lock:
            if call.entity is None:  # PUT crm/Accounts(guid'…')
                self._put_account(division, call.key or "")
                return Response(status=204)
            if call.method == "GET":
                return self._get(division, call.entity, call.key)
            if call.method == "POST" and call.key is None:
                return self._post(division, call.entity)
        raise ApiFailure(405, "Method not allowed")

    @staticmethod
    def _call(resource: str) -> _Call | None:
        match = _RESOURCE.match(resource)
        if match is None:
            return None
        key = match.group("key").lower() if match.group("key") else None
        path = match.group("set").lower()
        if path == ACCOUNTS.lower() and request.method == "PUT" and key:
            return _Call(None, key, "PUT")
        entity = _SETS.get(path)
        return _Call(entity, key, request.method) if entity else None

    # -- reads -------------------------------------------------------------------------------------

    def _get(self, division: Division, entity: EntitySet, key: str | None) -> Response:
        rows = division.tables[entity.path]
        if key is not None:
            row = next((r for r in rows if r[entity.key] == key), None)
            if row is None:
                raise ApiFailure(404, "Not found")
            return json_response({"d": self._render(division, entity, row)})
        if entity.path == ITEMS:
            _require_item_filter(entity)
        page, next_key = self.sandbox._query(entity, rows)
        body: dict[str, Any] = {"results": [self._render(division, entity, row) for row in page]}
        if next_key is not None:
            body["__next"] = self.sandbox._next_link(division.number, entity, next_key)
        return json_response({"d": body})

    def _render(self, division: Division, entity: EntitySet, row: dict[str, Any], *, expand: bool = False) -> dict:
        uri = f"{request.host_url}api/v1/{division.number}/{entity.path}(guid'{row[entity.key]}')"
        names = entity.fields + ((entity.navigation,) if entity.navigation else ())
        out = self.sandbox._select(row, request.args.get("$select"), names)
        if entity.navigation and entity.navigation in out:
            wanted = expand or LINES_NAV in {n.strip() for n in request.args.get("$expand", "").split(",")}
            out[LINES_NAV] = (
                {"results": [_render_line(division, line) for line in row[LINES_NAV]]}
                if wanted
                else {"__deferred": {"uri": f"{uri}/{LINES_NAV}"}}
            )
        out["__metadata"] = {"uri": uri, "type": f"Exact.Web.Api.Models.{entity.type_name}"}
        return out

    # -- writes ------------------------------------------------------------------------------------

    def _post(self, division: Division, entity: EntitySet) -> Response:
        body = _json_body()
        if entity.path == ORDERS:
            row = self._create_order(division, body)
        elif entity.path == BANK_ACCOUNTS:
            row = self._create_bank_account(division, body)
        else:
            raise ApiFailure(405, "Method not allowed")
        if "return=minimal" in request.headers.get("Prefer", ""):
            return Response(status=204)
        return json_response({"d": self._render(division, entity, row, expand=True)}, 201)

    def _create_order(self, division: Division, body: dict[str, Any]) -> dict[str, Any]:
        _refuse_unknown(body, ORDER_WRITABLE, "PurchaseOrder")
        problems: list[str] = []
        supplier = _supplier(division, body.get("Supplier"), problems)
        today = self.sandbox._now_dt().replace(hour=0, minute=0, second=0, microsecond=0)
        order_date = _date_field(body, "OrderDate", problems) or today
        receipt = _date_field(body, "ReceiptDate", problems) or order_date
        lines = _lines(division, body.get(LINES_NAV), order_date, receipt, problems)
        if problems:
            raise ApiFailure(500, "\r\n".join(dict.fromkeys(problems)))
        order_id, now = str(uuid.uuid4()), self.sandbox._now_dt()
        amount = sum((line["AmountFC"] for line in lines), Decimal("0"))
        orders = division.tables[ORDERS]
        row = {
            "PurchaseOrderID": order_id,
            "OrderNumber": len(orders) + 1,
            "Supplier": supplier["ID"] if supplier else None,
            "SupplierCode": (supplier or {}).get("Code"),
            "SupplierName": (supplier or {}).get("Name"),
            "OrderDate": order_date,
            "ReceiptDate": receipt,
            "YourRef": body.get("YourRef"),
            "Description": body.get("Description"),
            "Currency": body.get("Currency") or "EUR",
            "PaymentCondition": body.get("PaymentCondition"),
            "AmountFC": amount,
            "AmountDC": amount,
            "OrderStatus": STATUS_OPEN,
            "ReceiptStatus": STATUS_OPEN,
            "InvoiceStatus": STATUS_OPEN,
            "Source": SOURCE_REST_API,
            "Division": division.number,
            "Created": now,
            "Modified": now,
            LINES_NAV: [dict(line, PurchaseOrderID=order_id) for line in lines],
        }
        orders.append(row)
        return row

    def _create_bank_account(self, division: Division, body: dict[str, Any]) -> dict[str, Any]:
        _refuse_unknown(body, BANK_WRITABLE, "BankAccount")
        account = _lookup(division, ACCOUNTS, "ID", body.get("Account")) if _is_guid(body.get("Account")) else None
        iban = re.sub(r"\s", "", str(body.get("BankAccount") or "")).upper()
        problems = []
        if account is None:
            problems.append("Invalid reference: Account" if body.get("Account") else "Mandatory: Account")
        if not iban:
            problems.append("Mandatory: Bank account")
        rows = division.tables[BANK_ACCOUNTS]
        if account and any(r["Account"] == account["ID"] and r["BankAccount"] == iban for r in rows):
            problems.append(f"Bank account {iban} already exists for this account")
        if problems:
            raise ApiFailure(500, "\r\n".join(problems))
        assert account is not None
        row = {
            "ID": str(uuid.uuid4()),
            "Account": account["ID"],
            "AccountName": account["Name"],
            "BankAccount": iban,
            "BankAccountHolderName": body.get("BankAccountHolderName") or account["Name"],
            "BICCode": body.get("BICCode"),
            "Main": bool(body.get("Main", not any(r["Account"] == account["ID"] for r in rows))),
            "Division": division.number,
        }
        rows.append(row)
        return row

    def _put_account(self, division: Division, key: str) -> None:
        row = _lookup(division, ACCOUNTS, "ID", key)
        if row is None:
            raise ApiFailure(404, "Not found")
        body = _json_body()
        _refuse_unknown(body, set(seed.ACCOUNT_FIELDS), "Account")
        if "Name" in body and not str(body["Name"] or "").strip():
            raise ApiFailure(500, "Mandatory: Name")
        if "Code" in body:
            code = str(body["Code"] or "").strip()
            if any(r["Code"].strip() == code and r is not row for r in division.tables[ACCOUNTS]):
                raise ApiFailure(500, f"Code already exists: {code}")
            body["Code"] = seed.pad_left(code)
        if body.get("Country"):
            body["Country"] = seed.pad_right(str(body["Country"]).strip())
        row.update(body, Modified=self.sandbox._now_dt())

    def _admin_orders(self) -> Response:
        with self.sandbox._lock:
            number = int(request.args.get("division") or next(iter(self.sandbox._divisions)))
            orders = self.purchase_orders(number)
        return json_response([_plain(order) for order in orders])


# ---------------------------------------------------------------------------------------------------
# Helpers without state
# ---------------------------------------------------------------------------------------------------


def _item_row(
    division: int, code: str, now: datetime, description: str, purchase: bool, cost: Decimal
) -> dict[str, Any]:
    return {
        "ID": seed.seed_guid(division, "Item", code),
        "Code": code,
        "Description": description,
        "IsPurchaseItem": purchase,
        "IsSalesItem": not purchase,
        "IsStockItem": False,
        "Unit": "pc",
        "CostPriceStandard": cost,
        "Division": division,
        "Modified": now,
    }


def _require_item_filter(entity: EntitySet) -> None:
    text = request.args.get("$filter")
    if not text:
        raise ApiFailure(400, ITEM_FILTER_MESSAGE)
    parser, _predicate = _compile_filter(text, entity)
    if not parser.referenced & set(ITEM_FILTER_FIELDS):
        raise ApiFailure(400, ITEM_FILTER_MESSAGE)


def _refuse_unknown(body: dict[str, Any], writable: set[str], type_name: str) -> None:
    unknown = set(body) - writable
    if unknown:
        raise ApiFailure(400, f"Property '{sorted(unknown)[0]}' does not exist on type '{type_name}'.")


def _supplier(division: Division, supplier: Any, problems: list[str]) -> dict[str, Any] | None:
    if not supplier:
        problems.append("Mandatory: Supplier")
        return None
    account = _lookup(division, ACCOUNTS, "ID", supplier) if _is_guid(supplier) else None
    if account is None or not account["IsSupplier"]:
        problems.append("Invalid reference: Supplier")
        return None
    return {"ID": account["ID"], "Code": account["Code"].strip(), "Name": account["Name"]}


def _lines(
    division: Division, lines: Any, order_date: datetime, receipt: datetime, problems: list[str]
) -> list[dict[str, Any]]:
    if not isinstance(lines, list) or not lines:
        problems.append("Mandatory: Purchase order lines")
        return []
    checked = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            problems.append("Invalid value: Purchase order lines")
            continue
        _refuse_unknown(line, LINE_WRITABLE, "PurchaseOrderLine")
        checked.append(_line(division, line, number, order_date, receipt, problems))
    return checked


def _line(
    division: Division, line: dict, number: int, order_date: datetime, receipt: datetime, problems: list[str]
) -> dict[str, Any]:
    item = _item(division, line.get("Item"), problems)
    cost_center, cost_unit = check_dimensions(division, line, order_date, problems)
    vat = _check_code(division, "vat/VATCodes", line.get("VATCode"), "VAT code", problems)
    quantity = _amount(line, "QuantityInPurchaseUnits", problems, mandatory=True) or Decimal("0")
    if quantity == 0 and line.get("QuantityInPurchaseUnits") is not None:
        problems.append("Invalid value: Quantity")
    price = _amount(line, "NetPrice", problems, mandatory=False)
    if price is None:
        price = item["CostPriceStandard"] if item else Decimal("0")
    amount = (quantity * price).quantize(_CENT, ROUND_HALF_UP)
    return {
        "ID": str(uuid.uuid4()),
        "LineNumber": line.get("LineNumber") or number,
        "Item": item["ID"] if item else None,
        "ItemCode": item["Code"] if item else None,
        "ItemDescription": item["Description"] if item else None,
        "QuantityInPurchaseUnits": quantity,
        "NetPrice": price,
        "AmountFC": amount,
        "AmountDC": amount,
        "VATCode": vat["Code"] if vat else None,
        "CostCenter": cost_center["Code"] if cost_center else None,
        "CostUnit": cost_unit["Code"] if cost_unit else None,
        "Description": line.get("Description") or (item["Description"] if item else None),
        "ReceiptDate": _date_field(line, "ReceiptDate", problems) or receipt,
        "Project": line.get("Project"),
        "Division": division.number,
    }


def _item(division: Division, item_id: Any, problems: list[str]) -> dict[str, Any] | None:
    if not item_id:
        problems.append("Mandatory: Item")
        return None
    item = _lookup(division, ITEMS, "ID", item_id) if _is_guid(item_id) else None
    if item is None:
        problems.append("Invalid reference: Item")
    elif not item["IsPurchaseItem"]:
        problems.append(f"Item {item['Code']} is not a purchase item")
        return None
    return item


def _render_line(division: Division, line: dict[str, Any]) -> dict[str, Any]:
    out = {name: _wire(line.get(name)) for name in LINE_FIELDS}
    out["__metadata"] = {
        "uri": f"{request.host_url}api/v1/{division.number}/purchaseorder/PurchaseOrderLines(guid'{line['ID']}')",
        "type": "Exact.Web.Api.Models.PurchaseOrderLine",
    }
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return _wire(value)
