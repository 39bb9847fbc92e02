"""Exported purchase orders for the Basware sandbox: paged listing, 302 single GETs, acknowledge-once, pushes.

Registered by `BaswareSandbox` (it builds one `PurchaseOrderExports` and adds its routes). Behaviour follows
reference/basware.md "Purchase orders", "Paging" and "Redirects". Choices the reference leaves open:

- A single-order GET answers a 302 to a pre-signed object holding `{"exportedPurchaseOrders": [order]}`, as
  the sandbox does for accounting documents.
- Acknowledging sets `processingStatus` to `Exported`; a second acknowledge answers 405, like invoices.
- The list takes `processingStatus` with a lower-case p; the capital-P spelling of accountingDocuments is
  refused with 400 so a client that copies it by mistake fails here first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from flask import Response, request

from connector import jsonutil
from connector.sandbox.basware import SandboxError, _decimal, _public, error_list, json_response

if TYPE_CHECKING:
    from connector.sandbox.basware import BaswareSandbox

WAITING = "WaitingForExport"
EXPORTED = "Exported"
TASK_TYPE = "ExportedPurchaseOrders"
ENVELOPE = "exportedPurchaseOrders"
_CENT = Decimal("0.01")


def make_purchase_order(
    order_number: str,
    supplier_code: str,
    supplier_name: str,
    lines: Iterable[dict[str, Any]],
    *,
    currency: str = "EUR",
    desired_delivery_date: str = "2026-12-01",
    order_date: str = "2026-11-20T09:30:00Z",
    company_code: str = "DEMO",
    external_code: str | None = None,
) -> dict[str, Any]:
    """An ExportedPurchaseOrderEntity whose sums are exact Decimal sums of its lines.

    A line is a dict with `quantity` and `unit_price` and optionally description, line_type (Catalog or
    FreeText), buyer_product_code, supplier_product_code, category_code, tax_percent, cost_center_code,
    project_code and account_code (the last three become one coding row).
    """
    order_lines = [_line(number, dict(line)) for number, line in enumerate(lines, start=1)]
    net = sum((line["netSum"] for line in order_lines), Decimal("0"))
    tax = sum((line["taxTotal"] for line in order_lines), Decimal("0"))
    return {
        "externalCode": external_code or uuid.uuid4().hex,
        "orderNumber": order_number,
        "processingStatus": WAITING,
        "orderStatus": "Ordered",
        "orderType": "Standard",
        "companyCode": company_code,
        "supplierCode": supplier_code,
        "supplierName": supplier_name,
        "purchaseCurrency": currency,
        "companyCurrency": currency,
        "netSum": net,
        "taxSum": tax,
        "grossSum": net + tax,
        "desiredDeliveryDate": desired_delivery_date,
        "orderCreationTime": order_date,
        "sendingMethod": "BaswareNetwork",
        "orderLines": order_lines,
    }


def _line(number: int, values: dict[str, Any]) -> dict[str, Any]:
    quantity, price = _decimal(values["quantity"]), _decimal(values["unit_price"])
    percent = _decimal(values.get("tax_percent") or 0)
    net = (quantity * price).quantize(_CENT, ROUND_HALF_UP)
    tax = (net * percent / 100).quantize(_CENT, ROUND_HALF_UP)
    coding = {
        "externalCode": str(uuid.uuid4()),
        "rowIndex": 1,
        "splitPercent": Decimal("100"),
        "accountCode": values.get("account_code"),
        "costCenterCode": values.get("cost_center_code"),
        "projectCode": values.get("project_code"),
    }
    has_coding = any(values.get(k) for k in ("account_code", "cost_center_code", "project_code"))
    return {
        "externalCode": str(uuid.uuid4()),
        "orderLineNumber": number,
        "lineStatus": "Ordered",
        "lineType": values.get("line_type", "Catalog"),
        "categoryCode": values.get("category_code"),
        "buyerProductCode": values.get("buyer_product_code"),
        "supplierProductCode": values.get("supplier_product_code"),
        "supplierProductName": values.get("description"),
        "description": values.get("description"),
        "quantity": quantity,
        "quantityUnit": values.get("quantity_unit", "PCE"),
        "netUnitPrice": price,
        "netPrice": price,
        "netSum": net,
        "taxPercent": percent,
        "taxTotal": tax,
        "grossSum": net + tax,
        "priceType": "Net",
        "codingRows": [coding] if has_coding else [],
        "goodsReceipts": [],
    }


class PurchaseOrderExports:
    """The sandbox's exported purchase orders; state lives here, guarded by the sandbox's lock."""

    def __init__(self, sandbox: BaswareSandbox) -> None:
        self.sandbox = sandbox
        self._orders: dict[str, dict[str, Any]] = {}

    # -- Python control API ---------------------------------------------------------------------------------

    def add(self, order: dict[str, Any]) -> str:
        """Store (upsert) an order; re-adding one offers it for export again."""
        order = jsonutil.loads(jsonutil.dumps(order))  # a deep copy, and refuses floats
        order.setdefault("externalCode", uuid.uuid4().hex)
        order["processingStatus"] = order.get("processingStatus") or WAITING
        with self.sandbox.lock:
            previous = self._orders.get(order["externalCode"], {})
            self._orders[order["externalCode"]] = {
                "doc": self.sandbox._touch(order),
                "acknowledged": previous.get("acknowledged", 0),
            }
        return str(order["externalCode"])

    def view(self, external_code: str) -> dict[str, Any]:
        """The sandbox's view of one order: status, how often it was acknowledged, the document."""
        with self.sandbox.lock:
            stored = self._orders[external_code]
            view = {
                "externalCode": external_code,
                "processingStatus": stored["doc"]["processingStatus"],
                "acknowledged": stored["acknowledged"],
                "document": _public(stored["doc"]),
            }
            return jsonutil.loads(jsonutil.dumps(view))

    def notify(self, external_code: str, *, task_id: str | None = None) -> int:
        """Send a signed ExportedPurchaseOrders notification; the worst HTTP status (0 = unreachable)."""
        expires = datetime.fromtimestamp(self.sandbox.clock(), UTC) + timedelta(days=1)
        payload = {
            "taskId": task_id or str(uuid.uuid4()),
            "taskStatus": "New",
            "taskType": TASK_TYPE,
            "taskSubType": WAITING,
            "documentId": external_code,
            "expirationTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        body = jsonutil.dumps(payload).encode("utf-8")
        return self.sandbox._broadcast(TASK_TYPE, WAITING, lambda sub: self.sandbox._deliver(sub, body, signed=True))

    # -- HTTP -----------------------------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, Callable[..., Response], list[str]]]:
        """(rule, view, methods) for the sandbox's Flask app."""
        return [
            ("/v1/exportedPurchaseOrders", self._list_orders, ["GET"]),
            ("/v1/exportedPurchaseOrders/<external_code>", self._get_order, ["GET"]),
            ("/v1/exportedPurchaseOrders/<external_code>/acknowledge", self._acknowledge_order, ["POST"]),
            ("/_sandbox/purchase-orders", self._admin_add_order, ["POST"]),
            ("/_sandbox/purchase-orders/<external_code>", self._admin_view_order, ["GET"]),
            ("/_sandbox/notify-purchase-order/<external_code>", self._admin_notify_order, ["POST"]),
        ]

    def _list_orders(self) -> Response:
        if "ProcessingStatus" in request.args:
            return error_list("PARAMETER_VALIDATION_ERROR", "use processingStatus on exportedPurchaseOrders", 400)
        size = self.sandbox._page_size(100)
        if size is None:
            return error_list("PARAMETER_VALIDATION_ERROR", "pageSize must be 1-100", 400)
        try:
            with self.sandbox.lock:
                items = self.sandbox._filtered(
                    [stored["doc"] for stored in self._orders.values()],
                    processingStatus=request.args.get("processingStatus"),
                    companyCode=request.args.get("companyCode"),
                )
        except ValueError:
            return error_list("PARAMETER_VALIDATION_ERROR", "lastUpdated must be an ISO date-time", 400)
        return self.sandbox._page(items, ENVELOPE, size)

    def _get_order(self, external_code: str) -> Response:
        with self.sandbox.lock:
            stored = self._orders.get(external_code)
            body = jsonutil.dumps({ENVELOPE: [_public(stored["doc"])]}) if stored else None
        if body is None:
            return json_response({"message": "Not Found"}, 404)
        return Response(status=302, headers={"Location": self.sandbox._store_object(body.encode("utf-8"))})

    def _acknowledge_order(self, external_code: str) -> Response:
        with self.sandbox.lock:
            stored = self._orders.get(external_code)
            if stored is None:
                return json_response({"message": "Not Found"}, 404)
            doc = stored["doc"]
            if doc["processingStatus"] != WAITING:
                return error_list("METHOD_NOT_ALLOWED", "order can be acknowledged only once", 405, "BUSINESS")
            doc["processingStatus"] = EXPORTED
            stored["acknowledged"] += 1
            self.sandbox._touch(doc)
        return json_response({"externalCode": external_code, "processingStatus": EXPORTED})

    def _admin_add_order(self) -> Response:
        body = jsonutil.loads(request.get_data())
        order = make_purchase_order(**body) if "order_number" in body else body
        return json_response({"externalCode": self.add(order)}, 201)

    def _admin_view_order(self, external_code: str) -> Response:
        try:
            return json_response(self.view(external_code))
        except KeyError:
            return json_response({"message": "Not Found"}, 404)

    def _admin_notify_order(self, external_code: str) -> Response:
        try:
            return json_response({"status": self.notify(external_code)})
        except SandboxError as exc:
            return json_response({"message": str(exc)}, 409)
