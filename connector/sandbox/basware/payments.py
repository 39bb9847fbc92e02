"""Payment responses (`POST /v1/accountingDocuments/{invoiceId}/paymentResponses`) in the Basware sandbox.

Sourced (docs/api-facts.md, Basware paymentResponses; the P2P OpenAPI `PaymentResponseEntity`): required
`externalCode` (1-36 characters), `success` and `paymentBlock` (booleans); optional texts with their maximum
lengths (below), `paidTotal` and `cashDiscount` numbers, `paymentDate` a date-time; no other property
(`additionalProperties: false`); a new `externalCode` on every response; only the latest 100 are kept; the answer
is the stored entity; the invoice status enum includes `Paid`.
Decisions (ours): a reused `externalCode` answers 409 (the spec lists 409 Conflict without saying when); the sandbox
calls an invoice paid when a successful response's `paidTotal` reaches the invoice's `grossSum`, and takes `Paid`
back (to the status before it) when a later successful response reports less, e.g. after a match was undone in
the ERP; Basware's own rule is not published.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Response, request

from connector import jsonutil
from connector.sandbox.basware.core import Core
from connector.sandbox.basware.invoices import MAX_RESPONSES, Invoices
from connector.sandbox.basware.wire import deep_copy, error_list, json_response, not_found

PAID = "Paid"
TEXT_LIMITS = {
    "externalCode": 36,
    "responseMessage": 250,
    "sourceSystem": 32,
    "paymentTermCode": 25,
    "paymentMethod": 25,
    "checkNumber": 25,
    "paymentMessage": 100,
    "paymentNumber": 250,
    "paymentDocument": 250,
    "paymentReversalDocument": 250,
}
NUMBERS = ("paidTotal", "cashDiscount")
REQUIRED = ("externalCode", "success", "paymentBlock")
KNOWN = {*TEXT_LIMITS, *NUMBERS, *REQUIRED, "paymentDate"}


class PaymentResponses:
    """The payment responses of every invoice, and the `Paid` status they lead to."""

    def __init__(self, core: Core, invoices: Invoices) -> None:
        self.core = core
        self.invoices = invoices
        self._responses: dict[str, list[dict[str, Any]]] = {}
        self._before_paid: dict[str, str] = {}

    def of(self, invoice_id: str) -> list[dict[str, Any]]:
        """The payment responses kept for an invoice, oldest first."""
        with self.core.lock:
            return [deep_copy(entity) for entity in self._responses.get(invoice_id, [])]

    def total(self) -> int:
        """How many payment responses are kept over all invoices."""
        with self.core.lock:
            return sum(len(kept) for kept in self._responses.values())

    def admin_view(self, invoice_id: str) -> Response:
        """`GET /_sandbox/invoices/<id>/payment-responses`: the kept responses and the invoice's status."""
        with self.core.lock:
            doc = self.invoices.document(invoice_id)
            status = doc["processingStatus"] if doc else None
        if status is None:
            return not_found()
        return json_response({"processingStatus": status, "paymentResponses": self.of(invoice_id)})

    def post(self, invoice_id: str) -> Response:
        """`POST .../paymentResponses`: validated like the spec, kept (latest 100), `Paid` once fully paid."""
        entity, problem = read_payment_response(request.get_data())
        if entity is None:
            return error_list("SCHEMA_VALIDATION_ERROR", problem, 400)
        with self.core.lock:
            doc = self.invoices.document(invoice_id)
            if doc is None:
                return not_found()
            responses = self._responses.setdefault(invoice_id, [])
            if any(r["externalCode"] == entity["externalCode"] for r in responses):
                return error_list("CONFLICT_IN_POST", "externalCode already used", 409, "BUSINESS")
            responses.append(entity)
            del responses[:-MAX_RESPONSES]
            self._apply(invoice_id, doc, entity)
            self.core.touch(doc)
        return json_response(entity)

    def _apply(self, invoice_id: str, doc: dict[str, Any], entity: dict[str, Any]) -> None:
        if not entity["success"]:
            return  # like transfer responses: the invoice's data changes only on success
        for key in ("paymentDate", "paidTotal", "paymentMethod", "paymentNumber", "paymentBlock"):
            doc[key] = entity.get(key)  # fields left out are cleared
        paid = Decimal(str(entity.get("paidTotal") or 0)) >= Decimal(str(doc.get("grossSum") or 0))
        if paid and doc["processingStatus"] != PAID:
            self._before_paid[invoice_id] = doc["processingStatus"]
            doc["processingStatus"] = PAID
        elif not paid and doc["processingStatus"] == PAID:
            doc["processingStatus"] = self._before_paid.pop(invoice_id, "Transferred")


def read_payment_response(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """The PaymentResponseEntity in a body, or None and the reason it is refused."""
    try:
        body = jsonutil.loads(raw)
    except ValueError:
        return None, "body is not JSON"
    if not isinstance(body, dict):
        return None, "body must be a PaymentResponseEntity object"
    problems = [f"{key} is required" for key in REQUIRED if body.get(key) is None]
    problems += [f"{key} is not a property of PaymentResponseEntity" for key in sorted(set(body) - KNOWN)]
    problems += _type_problems(body)
    return (None, "; ".join(problems)) if problems else (body, "")


def _type_problems(body: dict[str, Any]) -> list[str]:
    flags = ("success", "paymentBlock")
    problems = [f"{key} must be a boolean" for key in flags if not isinstance(body.get(key), bool)]
    for key, limit in TEXT_LIMITS.items():
        value = body.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            problems.append(f"{key} must be text of at most {limit} characters")
    if not body.get("externalCode"):
        problems.append("externalCode must have at least 1 character")
    for key in NUMBERS:
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, Decimal, float))):
            problems.append(f"{key} must be a number")
    if body.get("paymentDate") is not None and not _is_datetime(body["paymentDate"]):
        problems.append("paymentDate must be a date-time")
    return problems


def _is_datetime(value: Any) -> bool:
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return isinstance(value, str)
