"""The Basware sandbox's admin endpoints under `/_sandbox/`, for a sandbox driven from another process.

No authentication: the sandbox listens on loopback only. Each endpoint calls the Python control API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, request

from connector import jsonutil
from connector.sandbox.basware.auth import Tokens
from connector.sandbox.basware.builders import make_invoice, make_purchase_order, make_vendor
from connector.sandbox.basware.invoices import Invoices
from connector.sandbox.basware.orders import PurchaseOrderExports
from connector.sandbox.basware.push import Push
from connector.sandbox.basware.vendors import Vendors
from connector.sandbox.basware.wire import SandboxError, json_response, not_found

Route = tuple[str, Callable[..., Response], list[str]]


class Admin:
    """The admin views over the sandbox's parts."""

    def __init__(
        self,
        tokens: Tokens,
        invoices: Invoices,
        vendors: Vendors,
        orders: PurchaseOrderExports,
        push: Push,
        set_faults: Callable[..., None],
        faults: Callable[[], dict[str, Any]],
    ) -> None:
        self.tokens, self.invoices, self.vendors, self.orders, self.push = tokens, invoices, vendors, orders, push
        self.set_faults, self.faults = set_faults, faults

    def routes(self) -> list[Route]:
        """(rule, view, methods) of every admin endpoint."""
        return [
            ("/_sandbox/clients", self.client, ["POST"]),
            ("/_sandbox/invoices", self.add_invoice, ["POST"]),
            ("/_sandbox/invoices/<invoice_id>", self.invoice, ["GET"]),
            ("/_sandbox/vendors", self.add_vendor, ["POST"]),
            ("/_sandbox/subscriptions", self.subscribe, ["POST"]),
            ("/_sandbox/notify/<invoice_id>", self.notify, ["POST"]),
            ("/_sandbox/faults", self.set_faults_view, ["POST"]),
            ("/_sandbox/purchase-orders", self.add_order, ["POST"]),
            ("/_sandbox/purchase-orders/<external_code>", self.view_order, ["GET"]),
            ("/_sandbox/notify-purchase-order/<external_code>", self.notify_order, ["POST"]),
        ]

    def client(self) -> Response:
        """Register a client (with `scopes` to restrict it)."""
        body = _body()
        self.tokens.register_client(body["client_id"], body["client_secret"], body.get("scopes"))
        return json_response({"client_id": body["client_id"]}, 201)

    def add_invoice(self) -> Response:
        """Add an invoice: a whole document, or `make_invoice` arguments."""
        body = _body()
        doc = make_invoice(**body) if "invoice_number" in body else body
        return json_response({"invoiceId": self.invoices.add(doc)}, 201)

    def invoice(self, invoice_id: str) -> Response:
        """The sandbox's view of one invoice."""
        try:
            return json_response(self.invoices.view(invoice_id))
        except KeyError:
            return not_found()

    def add_vendor(self) -> Response:
        """Add a vendor: a whole entity, or `make_vendor` arguments."""
        body = _body()
        entity = make_vendor(**body) if "code" in body else body
        return json_response({"externalCode": self.vendors.add(entity)}, 201)

    def subscribe(self) -> Response:
        """Subscribe a webhook (409 when its ConnectionTest fails)."""
        try:
            return json_response(self.push.subscribe(**_body()), 201)
        except SandboxError as exc:
            return json_response({"message": str(exc)}, 409)

    def notify(self, invoice_id: str) -> Response:
        """Notify the subscribers about an invoice."""
        try:
            return json_response({"status": self.invoices.notify(invoice_id)})
        except SandboxError as exc:
            return json_response({"message": str(exc)}, 409)

    def set_faults_view(self) -> Response:
        """Set the injected faults."""
        self.set_faults(**jsonutil.loads(request.get_data() or b"{}"))
        return json_response({"faults": self.faults()})

    def add_order(self) -> Response:
        """Add a purchase order: a whole document, or `make_purchase_order` arguments."""
        body = _body()
        order = make_purchase_order(**body) if "order_number" in body else body
        return json_response({"externalCode": self.orders.add(order)}, 201)

    def view_order(self, external_code: str) -> Response:
        """The sandbox's view of one purchase order."""
        try:
            return json_response(self.orders.view(external_code))
        except KeyError:
            return not_found()

    def notify_order(self, external_code: str) -> Response:
        """Notify the subscribers about a purchase order."""
        try:
            return json_response({"status": self.orders.notify(external_code)})
        except SandboxError as exc:
            return json_response({"message": str(exc)}, 409)


def _body() -> dict[str, Any]:
    body: dict[str, Any] = jsonutil.loads(request.get_data())
    return body
