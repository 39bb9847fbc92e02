"""A local Basware P2P API that behaves as reference/basware.md documents it, for the tests and the demo.

It issues client-credentials tokens, serves accounting documents and vendors with continuation-token paging
(404 = no records), answers single-document GETs with a 302 to a one-time "pre-signed" URL that refuses an
`Authorization` header, allows acknowledging once (405 after), keeps transfer responses, and sends signed push
notifications. Drive it from Python (`BaswareSandbox` methods) or, from another process, over `/_sandbox/`.

Scopes are per API (P2P OpenAPI "Scopes", api-evangelist/basware): a token carries only the scopes it was
asked for (and the client is allowed), `<api>.read` for GET, `<api>.write` for POST/PUT/PATCH and `<api>.delete`
for DELETE; a call without its scope answers 403. Decision (ours): the 403 body is a ResponseEntityList naming
the missing scope; Basware's own body is not documented, so clients must not rely on it.

Deliberately stricter than documented: every `/v1` API call must carry an `X-BW-REQUEST-ID` that is a
canonical UUID v4 (Basware does not say it is required), and a lower-case `processingStatus` on the
accounting-documents list is rejected, so client bugs surface here rather than in production.
"""

from __future__ import annotations

import hmac
import itertools
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests
from flask import Flask, Response, request

from connector import jsonutil
from connector.basware.signature import DEFAULT_SIGNATURE_HEADER, sign

WAITING = ("WaitingForTransfer", "WaitingForPrebook")
IN_PROGRESS = {"WaitingForTransfer": "TransferInProgress", "WaitingForPrebook": "PrebookInProgress"}
MAX_RESPONSES = 100  # Basware keeps only the latest 100 responses per invoice
OBJECT_LIFETIME = 15 * 60  # pre-signed URLs are valid for 15 minutes
PRESIGNED_WITH_AUTH = (
    "<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm "
    "query parameter, Signature query string parameter or the Authorization header should be specified"
    "</Message></Error>"
)


class SandboxError(RuntimeError):
    """The sandbox was asked to do something it cannot (e.g. a subscriber failed its ConnectionTest)."""


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response written with exact Decimals."""
    return Response(jsonutil.dumps(payload), status=status, headers=headers, mimetype="application/json")


def error_list(code: str, message: str, status: int, error_type: str = "VALIDATION") -> Response:
    """A Basware `ResponseEntityList` error body."""
    error = {"externalCode": None, "type": error_type, "code": code, "message": message, "info": None}
    body = {"requestId": str(uuid.uuid4()), "hasErrors": True, "errors": [error]}
    return json_response(body, status)


def is_uuid4(value: str | None) -> bool:
    """True for a canonical (lower or upper case, hyphenated) UUID version 4."""
    try:
        parsed = uuid.UUID(value or "")
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == (value or "").lower()


def _decimal(value: Any) -> Decimal:
    if isinstance(value, float | bool):
        raise TypeError("amounts must be Decimal, int or str, never float")
    return Decimal(str(value)) if not isinstance(value, Decimal) else value


def make_invoice(
    invoice_number: str,
    supplier_code: str,
    supplier_name: str,
    rows: Iterable[dict[str, Any] | tuple[Any, ...]],
    *,
    currency: str = "EUR",
    invoice_date: str = "2026-11-20",
    due_date: str = "2026-12-20",
    company_code: str = "DEMO",
    invoice_id: str | None = None,
) -> dict[str, Any]:
    """An AccountingDocumentEntity whose totals are exact Decimal sums of its rows.

    A row is a dict (account_code, cost_center_code, tax_code, tax_percent, net, tax, optional project_code)
    or a tuple in that order.
    """
    keys = ("account_code", "cost_center_code", "tax_code", "tax_percent", "net", "tax", "project_code")
    coding_rows = []
    for index, row in enumerate(rows, start=1):
        values = dict(zip(keys, row, strict=False)) if isinstance(row, tuple) else dict(row)
        net, tax = _decimal(values["net"]), _decimal(values["tax"])
        coding_rows.append(
            {
                "externalCode": str(uuid.uuid4()),
                "rowIndex": index,
                "accountCode": values["account_code"],
                "costCenterCode": values.get("cost_center_code"),
                "projectCode": values.get("project_code"),
                "taxCode": values.get("tax_code"),
                "taxPercent": _decimal(values.get("tax_percent") or 0),
                "taxSum": tax,
                "netTotal": net,
                "grossTotal": net + tax,
            }
        )
    net_sum = sum((row["netTotal"] for row in coding_rows), Decimal("0"))
    tax_sum = sum((row["taxSum"] for row in coding_rows), Decimal("0"))
    return {
        "invoiceId": invoice_id or uuid.uuid4().hex,
        "invoiceNumber": invoice_number,
        "companyCode": company_code,
        "supplierCode": supplier_code,
        "supplierName": supplier_name,
        "currencyCode": currency,
        "invoiceDate": invoice_date,
        "dueDate": due_date,
        "netSum": net_sum,
        "taxSum1": tax_sum,
        "grossSum": net_sum + tax_sum,
        "paymentBlock": False,
        "description": f"Invoice {invoice_number} from {supplier_name}",
        "processingStatus": "WaitingForTransfer",
        "codingRows": coding_rows,
    }


def make_vendor(
    code: str,
    name: str,
    vat: str | None = None,
    email: str | None = None,
    street: str | None = None,
    postcode: str | None = None,
    city: str | None = None,
    country: str | None = None,
    iban: str | None = None,
    bic: str | None = None,
) -> dict[str, Any]:
    """A VendorEntity with the parts the connector reads: VAT identifier, default address, contact, bank."""
    vendor: dict[str, Any] = {
        "externalCode": code,
        "vendorCode": code,
        "name": name,
        "companies": [{"companyCode": "DEMO", "inheritToChildUnits": True}],
        "identifiers": [{"id": vat, "schemeId": "VAT", "defaultPartyId": False}] if vat else [],
        "addresses": [],
        "contacts": [{"name": name, "email": email}] if email else [],
        "paymentMeans": [],
    }
    if street or postcode or city or country:
        address = {"streetName": street, "postalZone": postcode, "cityName": city, "countryId": country}
        vendor["addresses"] = [
            {"externalCode": f"{code}-1", "addressType": "PostalAddress", "default": True, **address}
        ]
    if iban:
        institution = {"id": bic, "schemeId": "BIC"} if bic else None
        account: dict[str, Any] = {"financialAccountIdentifiers": [{"schemeId": "IBAN", "id": iban, "default": True}]}
        if institution:
            account["financialInstitution"] = institution
        vendor["paymentMeans"] = [{"paymentMeansCode": "58", "default": True, "financialAccounts": [account]}]
    return vendor


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
        self.token_lifetime = token_lifetime
        self.page_size = page_size
        self.clock = clock
        # Basware documents a 302 on list GETs too; off by default, on to prove a client copes with it.
        self.redirect_lists = redirect_lists
        self.signature_header = signature_header
        self.lock = threading.RLock()
        self.token_calls = 0
        self.request_ids: list[str] = []
        self.deliveries: list[dict[str, Any]] = []
        self.subscriptions: list[dict[str, Any]] = []
        self._clients: dict[str, str] = {}
        self._tokens: dict[str, tuple[float, frozenset[str]]] = {}
        self._client_scopes: dict[str, frozenset[str] | None] = {}
        self._invoices: dict[str, dict[str, Any]] = {}
        self._vendors: dict[str, dict[str, Any]] = {}
        self._seq = itertools.count(1)
        self._cursors: dict[str, tuple[str, tuple[tuple[str, str], ...], int]] = {}
        self._objects: dict[str, tuple[str, bytes, float]] = {}
        self._faults = {"delay": 0.0, "error_5xx_count": 0, "drop_count": 0}
        from connector.sandbox.basware_orders import PurchaseOrderExports  # late: it builds on this module

        self.purchase_orders = PurchaseOrderExports(self)
        self.app = self._create_app()

    # -- Python control API ---------------------------------------------------------------------------------

    def register_client(self, client_id: str, client_secret: str, scopes: Iterable[str] | None = None) -> None:
        """Allow a client id and secret to obtain tokens, for `scopes` only when given (else any scope)."""
        with self.lock:
            self._clients[client_id] = client_secret
            self._client_scopes[client_id] = None if scopes is None else frozenset(scopes)

    def revoke_tokens(self) -> None:
        """Invalidate every issued token, as if Basware had rotated its keys."""
        with self.lock:
            self._tokens.clear()

    def add_invoice(self, doc: dict[str, Any]) -> str:
        """Store (upsert) an AccountingDocumentEntity; re-adding an invoice offers it for transfer again."""
        doc = jsonutil.loads(jsonutil.dumps(doc))  # a deep copy, and refuses floats
        doc.setdefault("invoiceId", uuid.uuid4().hex)
        doc.setdefault("processingStatus", "WaitingForTransfer")
        doc.setdefault("paymentBlock", False)
        with self.lock:
            previous = self._invoices.get(doc["invoiceId"], {})
            self._invoices[doc["invoiceId"]] = {
                "doc": self._touch(doc),
                "acknowledged": previous.get("acknowledged", 0),
                "transferResponses": previous.get("transferResponses", []),
            }
        return str(doc["invoiceId"])

    def add_vendor(self, entity: dict[str, Any]) -> str:
        """Store (upsert) a VendorEntity keyed by its externalCode (vendorCode when absent)."""
        entity = jsonutil.loads(jsonutil.dumps(entity))
        entity.setdefault("externalCode", entity.get("vendorCode"))
        with self.lock:
            self._vendors[entity["externalCode"]] = self._touch(entity)
        return str(entity["externalCode"])

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """The sandbox's view of one invoice: status, acknowledge count, transfer responses, document."""
        with self.lock:
            stored = self._invoices[invoice_id]
            doc = stored["doc"]
            return jsonutil.loads(
                jsonutil.dumps(
                    {
                        "invoiceId": invoice_id,
                        "processingStatus": doc["processingStatus"],
                        "acknowledged": stored["acknowledged"],
                        "transferResponses": stored["transferResponses"],
                        "voucherNumber1": doc.get("voucherNumber1"),
                        "document": doc,
                    }
                )
            )

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
        subscription = {
            "taskType": task_type,
            "taskSubType": task_sub_type or "All",
            "subscriptionType": "Webhook",
            "notificationWebhookURL": url,
            "webhookAuthenticationToken": secret,
            "header": header,
        }
        test = {"taskId": str(uuid.uuid4()), "taskType": "ConnectionTest", "taskStatus": "New"}
        status = self._deliver(subscription, jsonutil.dumps(test).encode("utf-8"), signed=True)
        if status != 200:
            raise SandboxError(f"ConnectionTest to {url} answered {status or 'nothing'}, expected 200")
        with self.lock:
            self.subscriptions.append(subscription)
        return {key: value for key, value in subscription.items() if key != "webhookAuthenticationToken"}

    def notify(self, invoice_id: str, *, task_id: str | None = None, task_type: str = "AccountingDocuments") -> int:
        """Send a signed notification to matching subscribers; the worst HTTP status (0 = unreachable).

        `task_type="AccoutingDocuments"` reproduces the misspelling in Basware's own example payload.
        """
        with self.lock:
            stored = self._invoices.get(invoice_id)
            status = stored["doc"]["processingStatus"] if stored else "WaitingForTransfer"
            sub_type = status if status.startswith("Waiting") else "WaitingForTransfer"
        expires = datetime.fromtimestamp(self.clock(), UTC) + timedelta(days=1)
        payload = {
            "taskId": task_id or str(uuid.uuid4()),
            "taskStatus": "New",
            "taskType": task_type,
            "taskSubType": sub_type,
            "documentId": invoice_id,
            "expirationTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        body = jsonutil.dumps(payload).encode("utf-8")
        return self._broadcast("AccountingDocuments", sub_type, lambda sub: self._deliver(sub, body, signed=True))

    def notify_raw(self, body: bytes, headers: dict[str, str] | None = None) -> int:
        """POST exact bytes and headers (unsigned unless the headers sign them) to every subscriber."""
        return self._broadcast(None, None, lambda sub: self._deliver(sub, body, signed=False, headers=headers))

    # -- internals shared by Python and HTTP ----------------------------------------------------------------

    def _now_iso(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _touch(self, entity: dict[str, Any]) -> dict[str, Any]:
        """Stamp lastUpdated and a new sequence number (the paging key): call with the lock held."""
        entity["lastUpdated"] = self._now_iso()
        entity["_seq"] = next(self._seq)
        return entity

    def _broadcast(self, task_type: str | None, sub_type: str | None, send: Callable[[dict[str, Any]], int]) -> int:
        with self.lock:
            targets = [
                sub
                for sub in self.subscriptions
                if task_type is None or (sub["taskType"] == task_type and sub["taskSubType"] in ("All", sub_type))
            ]
        if not targets:
            raise SandboxError(f"no subscription for {task_type or 'any task type'}")
        # Deliver without holding the lock: a receiver may call straight back into this sandbox.
        statuses = [send(sub) for sub in targets]
        failures = [status for status in statuses if not 200 <= status < 300]
        return failures[0] if failures else statuses[-1]

    def _deliver(
        self,
        subscription: dict[str, Any],
        body: bytes,
        *,
        signed: bool,
        headers: dict[str, str] | None = None,
    ) -> int:
        """POST one notification; the HTTP status, or 0 when the receiver could not be reached."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if signed:
            sent[subscription["header"]] = sign(subscription["webhookAuthenticationToken"], body)
        url = subscription["notificationWebhookURL"]
        try:
            with requests.Session() as session:
                status = session.post(url, data=body, headers=sent, timeout=10).status_code
        except requests.RequestException:
            status = 0
        with self.lock:
            self.deliveries.append({"url": url, "body": body, "headers": sent, "status": status})
        return status

    def _store_object(self, body: bytes) -> str:
        object_id, signature = uuid.uuid4().hex, secrets.token_urlsafe(24)
        with self.lock:
            self._objects[object_id] = (signature, body, self.clock() + OBJECT_LIFETIME)
        return f"/_objects/{object_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={signature}"

    # -- HTTP -----------------------------------------------------------------------------------------------

    def _create_app(self) -> Flask:
        app = Flask(__name__)
        app.before_request(self._guard)
        app.after_request(self._stamp)
        routes: list[tuple[str, Callable[..., Response], list[str]]] = [
            ("/v1/tokens", self._post_token, ["POST"]),
            ("/v1/accountingDocuments", self._list_invoices, ["GET"]),
            ("/v1/accountingDocuments/<invoice_id>", self._get_invoice, ["GET"]),
            ("/v1/accountingDocuments/<invoice_id>/acknowledge", self._acknowledge, ["POST"]),
            ("/v1/accountingDocuments/<invoice_id>/transferResponses", self._transfer_response, ["POST"]),
            ("/v1/vendors", self._list_vendors, ["GET"]),
            ("/v1/vendors/<code>", self._get_vendor, ["GET"]),
            ("/v1/subscriptions", self._post_subscriptions, ["POST"]),
            ("/v1/subscriptions", self._list_subscriptions, ["GET"]),
            ("/_objects/<object_id>", self._get_object, ["GET"]),
            ("/_sandbox/clients", self._admin_client, ["POST"]),
            ("/_sandbox/invoices", self._admin_add_invoice, ["POST"]),
            ("/_sandbox/invoices/<invoice_id>", self._admin_invoice, ["GET"]),
            ("/_sandbox/vendors", self._admin_add_vendor, ["POST"]),
            ("/_sandbox/subscriptions", self._admin_subscribe, ["POST"]),
            ("/_sandbox/notify/<invoice_id>", self._admin_notify, ["POST"]),
            ("/_sandbox/faults", self._admin_faults, ["POST"]),
            *self.purchase_orders.routes(),
        ]
        for rule, view, methods in routes:
            app.add_url_rule(rule, f"{view.__name__}_{methods[0]}", view, methods=methods)
        return app

    def _guard(self) -> Response | None:
        """Faults first (an outage hits everything), then bearer auth and the request-id rule on /v1."""
        if not request.path.startswith("/v1/"):
            return None
        fault = self._take_fault()
        if fault is not None:
            return fault
        request_id = request.headers.get("X-BW-REQUEST-ID")
        if request_id is not None:
            with self.lock:
                self.request_ids.append(request_id)
        if request.path == "/v1/tokens":
            return None
        granted = self._granted_scopes()
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

    def _granted_scopes(self) -> frozenset[str] | _AnyScope | None:
        """The scopes the call's credentials carry, or None when they are not valid at all."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            with self.lock:
                expires_at, scopes = self._tokens.get(value.strip(), (0.0, frozenset()))
            return scopes if self.clock() < expires_at else None
        # Basic auth is a documented alternative to OAuth2 on the P2P API; it carries the client's own scopes.
        auth = request.authorization
        if auth is None or scheme.lower() != "basic" or not self._is_client(auth):
            return None
        with self.lock:
            allowed = self._client_scopes.get(auth.username or "")
        return ANY_SCOPE if allowed is None else allowed

    def _is_client(self, auth: Any) -> bool:
        if auth is None or auth.type != "basic" or auth.username is None:
            return False
        with self.lock:
            secret = self._clients.get(auth.username)
        return secret is not None and hmac.compare_digest(secret.encode(), (auth.password or "").encode())

    def _stamp(self, response: Response) -> Response:
        if request.path.startswith("/v1/"):
            response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return response

    def _post_token(self) -> Response:
        with self.lock:
            self.token_calls += 1
        grant_type, scope = request.form.get("grant_type"), request.form.get("scope")
        if not grant_type:
            return json_response({"error": "invalid_request", "error_description": "grant_type field required"}, 400)
        if not scope:
            return json_response({"error": "invalid_request", "error_description": "scope field required"}, 400)
        if not self._is_client(request.authorization):
            return json_response({"error": "invalid_client"}, 401)
        if grant_type != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        token = secrets.token_urlsafe(32)
        with self.lock:
            allowed = self._client_scopes.get(request.authorization.username or "")  # type: ignore[union-attr]
            granted = frozenset(scope.split()) if allowed is None else frozenset(scope.split()) & allowed
            self._tokens[token] = (self.clock() + self.token_lifetime, granted)
        body = {
            "access_token": token,
            "scope": " ".join(sorted(granted)),
            "expires_in": int(self.token_lifetime),
            "token_type": "Bearer",
        }
        return json_response(body)

    def _page(self, items: list[dict[str, Any]], envelope: str, page_size: int) -> Response:
        """One page of `items` (filtered, ordered by _seq), with a continuation token when more remain."""
        query = tuple(sorted((k, v) for k, v in request.args.items()))
        token = request.headers.get("x-amz-meta-continuationtoken")
        after = 0
        if token:
            with self.lock:
                cursor = self._cursors.get(token)
            if cursor is None or cursor[:2] != (request.path, query):
                return error_list("PARAMETER_VALIDATION_ERROR", "invalid continuation token for this query", 400)
            after = cursor[2]
        remaining = [item for item in items if item["_seq"] > after]
        page = remaining[:page_size]
        if not page:
            return json_response({"message": "No records found"}, 404)
        headers = {}
        if len(remaining) > page_size:
            next_token = str(uuid.uuid4())
            with self.lock:
                self._cursors[next_token] = (request.path, query, page[-1]["_seq"])
            headers["X-amz-meta-continuationToken"] = next_token
        body = jsonutil.dumps({envelope: [_public(item) for item in page]}).encode("utf-8")
        if self.redirect_lists:
            return Response(status=302, headers={**headers, "Location": self._store_object(body)})
        return Response(body, headers=headers, mimetype="application/json")

    def _page_size(self, maximum: int) -> int | None:
        raw = request.args.get("pageSize", str(maximum))
        size = int(raw) if raw.isdigit() else 0
        return min(size, self.page_size) if 1 <= size <= maximum else None

    def _updated_after(self) -> datetime | None:
        raw = request.args.get("lastUpdated")
        if not raw:
            return None
        parsed = datetime.fromisoformat(raw)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def _filtered(self, entities: Iterable[dict[str, Any]], **equal: str | None) -> list[dict[str, Any]]:
        after = self._updated_after()
        chosen = [
            entity
            for entity in entities
            if all(value is None or entity.get(key) == value for key, value in equal.items())
            and (after is None or datetime.fromisoformat(entity["lastUpdated"]) > after)
        ]
        return sorted(chosen, key=lambda entity: entity["_seq"])

    def _list_invoices(self) -> Response:
        if "processingStatus" in request.args:
            return error_list("PARAMETER_VALIDATION_ERROR", "use ProcessingStatus on accountingDocuments", 400)
        size = self._page_size(100)
        if size is None:
            return error_list("PARAMETER_VALIDATION_ERROR", "pageSize must be 1-100", 400)
        try:
            with self.lock:
                docs = [stored["doc"] for stored in self._invoices.values()]
                items = self._filtered(
                    docs,
                    processingStatus=request.args.get("ProcessingStatus"),
                    companyCode=request.args.get("companyCode"),
                )
        except ValueError:
            return error_list("PARAMETER_VALIDATION_ERROR", "lastUpdated must be an ISO date-time", 400)
        return self._page(items, "accountingDocuments", size)

    def _get_invoice(self, invoice_id: str) -> Response:
        with self.lock:
            stored = self._invoices.get(invoice_id)
            body = jsonutil.dumps({"accountingDocuments": [_public(stored["doc"])]}) if stored else None
        if body is None:
            return json_response({"message": "Not Found"}, 404)
        return Response(status=302, headers={"Location": self._store_object(body.encode("utf-8"))})

    def _get_object(self, object_id: str) -> Response:
        """A pre-signed object URL: one use, 15 minutes, and no Authorization header allowed (as in S3)."""
        if "Authorization" in request.headers:
            return Response(PRESIGNED_WITH_AUTH, status=400, mimetype="application/xml")
        with self.lock:
            stored = self._objects.get(object_id)
            valid = (
                stored is not None
                and hmac.compare_digest(stored[0], request.args.get("X-Amz-Signature", ""))
                and self.clock() < stored[2]
            )
            if not valid or stored is None:
                return Response("<Error><Code>AccessDenied</Code></Error>", status=403, mimetype="application/xml")
            del self._objects[object_id]
        return Response(stored[1], mimetype="application/json")

    def _acknowledge(self, invoice_id: str) -> Response:
        with self.lock:
            stored = self._invoices.get(invoice_id)
            if stored is None:
                return json_response({"message": "Not Found"}, 404)
            doc = stored["doc"]
            if doc["processingStatus"] not in WAITING:
                return error_list("METHOD_NOT_ALLOWED", "invoice can be acknowledged only once", 405, "BUSINESS")
            doc["processingStatus"] = IN_PROGRESS[doc["processingStatus"]]
            stored["acknowledged"] += 1
            self._touch(doc)
        return json_response({"invoiceId": invoice_id, "processingStatus": doc["processingStatus"]})

    def _transfer_response(self, invoice_id: str) -> Response:
        entity, problem = _read_transfer_response(request.get_data())
        if entity is None:
            return error_list("SCHEMA_VALIDATION_ERROR", problem, 400)
        with self.lock:
            stored = self._invoices.get(invoice_id)
            if stored is None:
                return json_response({"message": "Not Found"}, 404)
            doc, responses = stored["doc"], stored["transferResponses"]
            if doc["processingStatus"] == "Transferred":
                message = "Transfer responses for already transferred invoices are not allowed"
                return error_list("DATA_VALIDATION_FAILED", message, 400, "BUSINESS")
            if any(r["externalCode"] == entity["externalCode"] for r in responses):
                return error_list("CONFLICT_IN_POST", "externalCode already used", 409, "BUSINESS")
            responses.append(entity)
            del responses[:-MAX_RESPONSES]
            _apply_transfer_response(doc, entity)
            self._touch(doc)
        return json_response([entity])

    def _list_vendors(self) -> Response:
        size = self._page_size(100)
        if size is None:
            return error_list("PARAMETER_VALIDATION_ERROR", "pageSize must be 1-100", 400)
        try:
            with self.lock:
                items = self._filtered(list(self._vendors.values()))
        except ValueError:
            return error_list("PARAMETER_VALIDATION_ERROR", "lastUpdated must be an ISO date-time", 400)
        return self._page(items, "vendorEntities", size)

    def _get_vendor(self, code: str) -> Response:
        with self.lock:
            vendor = self._vendors.get(code)
            body = jsonutil.dumps(_public(vendor)) if vendor else None
        if body is None:
            return json_response({"detail": "Not Found"}, 404)
        return Response(body, mimetype="application/json")

    def _post_subscriptions(self) -> Response:
        try:
            body = jsonutil.loads(request.get_data())
        except ValueError:
            body = None
        required = ("taskType", "subscriptionType", "notificationWebhookURL", "webhookAuthenticationToken")
        if not isinstance(body, list) or not all(isinstance(s, dict) and all(s.get(k) for k in required) for s in body):
            return _subscription_error(f"an array of subscriptions with {', '.join(required)} is required")
        created = []
        for sub in body:
            try:
                created.append(
                    self.subscribe(
                        sub["notificationWebhookURL"],
                        sub["webhookAuthenticationToken"],
                        sub["taskType"],
                        self.signature_header,
                        task_sub_type=sub.get("taskSubType") or "All",
                    )
                )
            except SandboxError as exc:
                return _subscription_error(str(exc))
        return json_response(created)

    def _list_subscriptions(self) -> Response:
        with self.lock:
            public = [{k: v for k, v in s.items() if k != "webhookAuthenticationToken"} for s in self.subscriptions]
        return json_response({"subscriptions": public})

    # -- /_sandbox admin endpoints (no auth: the sandbox listens on loopback only) --------------------------

    def _admin_client(self) -> Response:
        body = jsonutil.loads(request.get_data())
        self.register_client(body["client_id"], body["client_secret"], body.get("scopes"))
        return json_response({"client_id": body["client_id"]}, 201)

    def _admin_add_invoice(self) -> Response:
        body = jsonutil.loads(request.get_data())
        doc = make_invoice(**body) if "invoice_number" in body else body
        return json_response({"invoiceId": self.add_invoice(doc)}, 201)

    def _admin_invoice(self, invoice_id: str) -> Response:
        try:
            return json_response(self.invoice(invoice_id))
        except KeyError:
            return json_response({"message": "Not Found"}, 404)

    def _admin_add_vendor(self) -> Response:
        body = jsonutil.loads(request.get_data())
        entity = make_vendor(**body) if "code" in body else body
        return json_response({"externalCode": self.add_vendor(entity)}, 201)

    def _admin_subscribe(self) -> Response:
        body = jsonutil.loads(request.get_data())
        try:
            return json_response(self.subscribe(**body), 201)
        except SandboxError as exc:
            return json_response({"message": str(exc)}, 409)

    def _admin_notify(self, invoice_id: str) -> Response:
        try:
            return json_response({"status": self.notify(invoice_id)})
        except SandboxError as exc:
            return json_response({"message": str(exc)}, 409)

    def _admin_faults(self) -> Response:
        self.set_faults(**jsonutil.loads(request.get_data() or b"{}"))
        return json_response({"faults": self._faults})


class _AnyScope:
    """The scopes of a client registered without a restriction: every one."""

    def __contains__(self, scope: object) -> bool:
        return True


ANY_SCOPE = _AnyScope()
_SCOPE_ACCESS = {"GET": "read", "HEAD": "read", "DELETE": "delete"}


def required_scope(method: str, path: str) -> str:
    """The scope a `/v1/<api>/...` call needs: `<api>.read` for GET, `.delete` for DELETE, else `.write`."""
    api = path.removeprefix("/v1/").split("/", 1)[0]
    return f"{api}.{_SCOPE_ACCESS.get(method.upper(), 'write')}"


def _public(entity: dict[str, Any]) -> dict[str, Any]:
    """An entity as the API shows it: without the sandbox's private bookkeeping keys."""
    return {key: value for key, value in entity.items() if not key.startswith("_")}


def _subscription_error(message: str) -> Response:
    error = {"type": "VALIDATION", "code": "SCHEMA_VALIDATION_ERROR", "message": message}
    return json_response({"requestId": str(uuid.uuid4()), "hasError": True, "errorMessages": [error]}, 400)


def _read_transfer_response(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """The TransferResponseEntity in a body (an object or an array of one), or None and the reason."""
    try:
        body = jsonutil.loads(raw)
    except ValueError:
        return None, "body is not JSON"
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    if not isinstance(body, dict):
        return None, "body must be a TransferResponseEntity"
    types = {"externalCode": str, "success": bool, "responseMessage": str, "paymentBlock": bool}
    wrong = [key for key, kind in types.items() if not isinstance(body.get(key), kind)]
    if wrong:
        return None, f"{', '.join(wrong)} field(s) required"
    if len(body["externalCode"]) > 36 or len(body["responseMessage"]) > 250:
        return None, "externalCode is at most 36 and responseMessage at most 250 characters"
    return body, ""


def _apply_transfer_response(doc: dict[str, Any], entity: dict[str, Any]) -> None:
    """Voucher numbers and paymentBlock are saved only on success (reference §2, step 4)."""
    if not entity["success"]:
        doc["processingStatus"] = "TransferFailed"
        return
    doc["processingStatus"] = "Transferred"
    for key in ("voucherNumber1", "voucherNumber2", "paymentBlock"):
        if key in entity:
            doc[key] = entity[key]
