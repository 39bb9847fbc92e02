"""`BaswareSandbox`: a local Basware P2P API composed of its parts, with a Python control API and a WSGI app.

The parts, one module each: tokens and scopes (`auth`), paging and pre-signed objects (`core`), push notifications
(`push`), invoices, vendors, exported purchase orders, the document builders and the admin endpoints. Every
behaviour is noted in its module as sourced (docs/api-facts.md, by topic) or as a decision of ours.

Sourced (docs/api-facts.md, Basware: authentication and scopes): a call without its API's scope answers 403.
Decisions (ours): the 403 body is a ResponseEntityList naming the missing scope (Basware's own body is not
documented, so clients must not rely on it); every `/v1` API call must carry an `X-BW-REQUEST-ID` that is a
canonical UUID v4 (Basware does not say it is required), so client bugs surface here rather than in production.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request

from connector.basware.signature import DEFAULT_SIGNATURE_HEADER
from connector.sandbox.basware.admin import Admin, Route
from connector.sandbox.basware.auth import Tokens, required_scope
from connector.sandbox.basware.core import Core
from connector.sandbox.basware.invoices import Invoices
from connector.sandbox.basware.orders import PurchaseOrderExports
from connector.sandbox.basware.push import Push
from connector.sandbox.basware.vendors import Vendors
from connector.sandbox.basware.wire import error_list, is_uuid4, json_response


class BaswareSandbox:
    """An in-memory Basware tenant behind a Flask app (`self.app`); all state is guarded by one lock."""

    def __init__(
        self,
        *,
        token_lifetime: int = 3600,
        page_size: int = 100,
        clock: Callable[[], float] = time.time,
        redirect_lists: bool = False,
        signature_header: str = DEFAULT_SIGNATURE_HEADER,
    ) -> None:
        # Basware documents a 302 on list GETs too; off by default, on to prove a client copes with it.
        self.core = Core(clock, page_size, redirect_lists)
        self.tokens = Tokens(self.core, token_lifetime)
        self.push = Push(self.core, signature_header)
        self.invoices = Invoices(self.core, self.push)
        self.vendors = Vendors(self.core)
        self.purchase_orders = PurchaseOrderExports(self.core, self.push)
        self.request_ids: list[str] = []
        self.request_log: list[tuple[str, str]] = []  # (method, path) of every /v1 call: proves a read-only run
        self._faults: dict[str, Any] = {"delay": 0.0, "error_5xx_count": 0, "drop_count": 0}
        self.app = self._create_app()

    # -- Python control API ---------------------------------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        """The one lock every part holds while it touches state."""
        return self.core.lock

    @property
    def clock(self) -> Callable[[], float]:
        """The sandbox's clock."""
        return self.core.clock

    @property
    def token_calls(self) -> int:
        """How often `/v1/tokens` was called."""
        return self.tokens.token_calls

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Every notification sent: url, body, headers, status."""
        return self.push.deliveries

    @property
    def subscriptions(self) -> list[dict[str, Any]]:
        """Every kept subscription (with its secret)."""
        return self.push.subscriptions

    def register_client(self, client_id: str, client_secret: str, scopes: Iterable[str] | None = None) -> None:
        """Allow a client id and secret to obtain tokens, for `scopes` only when given (else any scope)."""
        self.tokens.register_client(client_id, client_secret, scopes)

    def revoke_tokens(self) -> None:
        """Invalidate every issued token, as if Basware had rotated its keys."""
        self.tokens.revoke_tokens()

    def add_invoice(self, doc: dict[str, Any]) -> str:
        """Store (upsert) an AccountingDocumentEntity; re-adding an invoice offers it for transfer again."""
        return self.invoices.add(doc)

    def add_vendor(self, entity: dict[str, Any]) -> str:
        """Store (upsert) a VendorEntity keyed by its externalCode (vendorCode when absent)."""
        return self.vendors.add(entity)

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """The sandbox's view of one invoice: status, acknowledge count, transfer responses, document."""
        return self.invoices.view(invoice_id)

    def set_faults(self, delay: float = 0.0, error_5xx_count: int = 0, drop_count: int = 0) -> None:
        """Slow every API call by `delay` s; the next N calls answer 503, the M after drop the connection."""
        with self.lock:
            self._faults = {
                "delay": float(delay),
                "error_5xx_count": int(error_5xx_count),
                "drop_count": int(drop_count),
            }

    def subscribe(
        self,
        url: str,
        secret: str,
        task_type: str = "AccountingDocuments",
        header: str = DEFAULT_SIGNATURE_HEADER,
        *,
        task_sub_type: str = "All",
    ) -> dict[str, Any]:
        """Register a webhook after it answers 200 to a signed ConnectionTest (raises SandboxError if not)."""
        return self.push.subscribe(url, secret, task_type, header, task_sub_type=task_sub_type)

    def notify(self, invoice_id: str, *, task_id: str | None = None, task_type: str = "AccountingDocuments") -> int:
        """Send a signed notification to matching subscribers; the worst HTTP status (0 = unreachable).

        `task_type="AccoutingDocuments"` reproduces the misspelling in Basware's own example payload.
        """
        return self.invoices.notify(invoice_id, task_id=task_id, task_type=task_type)

    def notify_raw(self, body: bytes, headers: dict[str, str] | None = None) -> int:
        """POST exact bytes and headers (unsigned unless the headers sign them) to every subscriber."""
        return self.push.notify_raw(body, headers)

    # -- HTTP -----------------------------------------------------------------------------------------------

    def _create_app(self) -> Flask:
        app = Flask(__name__)
        app.before_request(self._guard)
        app.after_request(_stamp)
        admin = Admin(
            self.tokens,
            self.invoices,
            self.vendors,
            self.purchase_orders,
            self.push,
            self.set_faults,
            lambda: self._faults,
        )
        routes: list[Route] = [
            ("/v1/tokens", self.tokens.post_token, ["POST"]),
            ("/v1/accountingDocuments", self.invoices.list, ["GET"]),
            ("/v1/accountingDocuments/<invoice_id>", self.invoices.get, ["GET"]),
            ("/v1/accountingDocuments/<invoice_id>/acknowledge", self.invoices.acknowledge, ["POST"]),
            ("/v1/accountingDocuments/<invoice_id>/transferResponses", self.invoices.transfer_response, ["POST"]),
            ("/v1/vendors", self.vendors.list, ["GET"]),
            ("/v1/vendors/<code>", self.vendors.get, ["GET"]),
            ("/v1/subscriptions", self.push.post_subscriptions, ["POST"]),
            ("/v1/subscriptions", self.push.list_subscriptions, ["GET"]),
            ("/v1/exportedPurchaseOrders", self.purchase_orders.list, ["GET"]),
            ("/v1/exportedPurchaseOrders/<external_code>", self.purchase_orders.get, ["GET"]),
            ("/v1/exportedPurchaseOrders/<external_code>/acknowledge", self.purchase_orders.acknowledge, ["POST"]),
            ("/_objects/<object_id>", self.core.get_object, ["GET"]),
            *admin.routes(),
        ]
        for rule, view, methods in routes:
            owner = type(getattr(view, "__self__", None)).__name__
            app.add_url_rule(rule, f"{owner}_{view.__name__}_{methods[0]}", view, methods=methods)
        return app

    def _guard(self) -> Response | None:
        """Faults first (an outage hits everything), then bearer auth and the request-id rule on /v1."""
        if not request.path.startswith("/v1/"):
            return None
        with self.lock:
            self.request_log.append((request.method, request.path))
        fault = self._take_fault()
        if fault is not None:
            return fault
        request_id = request.headers.get("X-BW-REQUEST-ID")
        if request_id is not None:
            with self.lock:
                self.request_ids.append(request_id)
        if request.path == "/v1/tokens":
            return None
        granted = self.tokens.granted_scopes()
        if granted is None:
            return json_response({"message": "Unauthorized"}, 401)
        if not is_uuid4(request_id):
            return error_list("PARAMETER_VALIDATION_ERROR", "X-BW-REQUEST-ID must be a UUID v4", 400)
        needed = required_scope(request.method, request.path)
        if needed not in granted:
            return error_list("FORBIDDEN", f"the access token lacks scope {needed}", 403, "AUTHORIZATION")
        return None

    def _take_fault(self) -> Response | None:
        with self.lock:
            delay = self._faults["delay"]
            kind = next((k for k in ("error_5xx_count", "drop_count") if self._faults[k] > 0), None)
            if kind:
                self._faults[kind] -= 1
        if delay:
            time.sleep(delay)
        if kind == "error_5xx_count":
            return json_response({"message": "Service Unavailable"}, 503)
        if kind == "drop_count":
            connection = request.environ.get("werkzeug.socket")
            if connection is not None:
                # Shut the socket: writing the response then fails and werkzeug drops the connection quietly.
                connection.shutdown(socket.SHUT_RDWR)
            return Response(b"", 503)
        return None


def _stamp(response: Response) -> Response:
    if request.path.startswith("/v1/"):
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
    return response
