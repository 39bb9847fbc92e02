"""Accounting documents (invoices) in the Basware sandbox: list, 302 single GETs, acknowledge once, transfer responses.

Sourced (docs/api-facts.md, Basware: accounting documents): the list filters on `ProcessingStatus` (capital P);
acknowledging moves WaitingForTransfer to TransferInProgress (WaitingForPrebook to PrebookInProgress) once, 405
after; Basware keeps the latest 100 transfer responses; voucher numbers and paymentBlock are saved only on success.
Decisions (ours): a lower-case `processingStatus` on this list is refused with 400 so client bugs surface here; a
transfer response reusing an externalCode answers 409.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, request

from connector import jsonutil
from connector.sandbox.basware.core import Core
from connector.sandbox.basware.push import Push
from connector.sandbox.basware.wire import deep_copy, error_list, json_response, not_found, public

WAITING = ("WaitingForTransfer", "WaitingForPrebook")
IN_PROGRESS = {"WaitingForTransfer": "TransferInProgress", "WaitingForPrebook": "PrebookInProgress"}
MAX_RESPONSES = 100  # Basware keeps only the latest 100 responses per invoice
TASK_TYPE = "AccountingDocuments"
ENVELOPE = "accountingDocuments"


class Invoices:
    """Stored invoices with their acknowledge count and transfer responses."""

    def __init__(self, core: Core, push: Push) -> None:
        self.core = core
        self.push = push
        self._invoices: dict[str, dict[str, Any]] = {}

    def add(self, doc: dict[str, Any]) -> str:
        """Store (upsert) an AccountingDocumentEntity; re-adding an invoice offers it for transfer again."""
        doc = deep_copy(doc)
        doc.setdefault("invoiceId", uuid.uuid4().hex)
        doc.setdefault("processingStatus", "WaitingForTransfer")
        doc.setdefault("paymentBlock", False)
        with self.core.lock:
            previous = self._invoices.get(doc["invoiceId"], {})
            self._invoices[doc["invoiceId"]] = {
                "doc": self.core.touch(doc),
                "acknowledged": previous.get("acknowledged", 0),
                "transferResponses": previous.get("transferResponses", []),
            }
        return str(doc["invoiceId"])

    def document(self, invoice_id: str) -> dict[str, Any] | None:
        """The stored document itself (not a copy), for the parts that change it under the lock; None if unknown."""
        stored = self._invoices.get(invoice_id)
        return stored["doc"] if stored else None

    def view(self, invoice_id: str) -> dict[str, Any]:
        """The sandbox's view of one invoice: status, acknowledge count, transfer responses, document."""
        with self.core.lock:
            stored = self._invoices[invoice_id]
            doc = stored["doc"]
            return deep_copy(
                {
                    "invoiceId": invoice_id,
                    "processingStatus": doc["processingStatus"],
                    "acknowledged": stored["acknowledged"],
                    "transferResponses": stored["transferResponses"],
                    "voucherNumber1": doc.get("voucherNumber1"),
                    "document": doc,
                }
            )

    def notify(self, invoice_id: str, *, task_id: str | None = None, task_type: str = TASK_TYPE) -> int:
        """Send a signed notification to matching subscribers; the worst HTTP status (0 = unreachable)."""
        with self.core.lock:
            stored = self._invoices.get(invoice_id)
            status = stored["doc"]["processingStatus"] if stored else "WaitingForTransfer"
            sub_type = status if status.startswith("Waiting") else "WaitingForTransfer"
        return self.push.notify_task(TASK_TYPE, sub_type, invoice_id, task_id=task_id, sent_type=task_type)

    def list(self) -> Response:
        """`GET /v1/accountingDocuments`."""
        if "processingStatus" in request.args:
            return error_list("PARAMETER_VALIDATION_ERROR", "use ProcessingStatus on accountingDocuments", 400)
        return self.core.listing(
            ENVELOPE,
            lambda: [stored["doc"] for stored in self._invoices.values()],
            processingStatus=request.args.get("ProcessingStatus"),
            companyCode=request.args.get("companyCode"),
        )

    def get(self, invoice_id: str) -> Response:
        """`GET /v1/accountingDocuments/<id>`: a 302 to a pre-signed object."""
        with self.core.lock:
            stored = self._invoices.get(invoice_id)
            body = jsonutil.dumps({ENVELOPE: [public(stored["doc"])]}) if stored else None
        if body is None:
            return not_found()
        return self.core.redirect_to(body.encode("utf-8"))

    def acknowledge(self, invoice_id: str) -> Response:
        """`POST .../acknowledge`: once only."""
        with self.core.lock:
            stored = self._invoices.get(invoice_id)
            if stored is None:
                return not_found()
            doc = stored["doc"]
            if doc["processingStatus"] not in WAITING:
                return error_list("METHOD_NOT_ALLOWED", "invoice can be acknowledged only once", 405, "BUSINESS")
            doc["processingStatus"] = IN_PROGRESS[doc["processingStatus"]]
            stored["acknowledged"] += 1
            self.core.touch(doc)
        return json_response({"invoiceId": invoice_id, "processingStatus": doc["processingStatus"]})

    def transfer_response(self, invoice_id: str) -> Response:
        """`POST .../transferResponses`: success or failure of the transfer, kept with the invoice."""
        entity, problem = _read_transfer_response(request.get_data())
        if entity is None:
            return error_list("SCHEMA_VALIDATION_ERROR", problem, 400)
        with self.core.lock:
            stored = self._invoices.get(invoice_id)
            if stored is None:
                return not_found()
            doc, responses = stored["doc"], stored["transferResponses"]
            if doc["processingStatus"] == "Transferred":
                message = "Transfer responses for already transferred invoices are not allowed"
                return error_list("DATA_VALIDATION_FAILED", message, 400, "BUSINESS")
            if any(r["externalCode"] == entity["externalCode"] for r in responses):
                return error_list("CONFLICT_IN_POST", "externalCode already used", 409, "BUSINESS")
            responses.append(entity)
            del responses[:-MAX_RESPONSES]
            _apply_transfer_response(doc, entity)
            self.core.touch(doc)
        return json_response([entity])


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
    """Voucher numbers and paymentBlock are saved only on success."""
    if not entity["success"]:
        doc["processingStatus"] = "TransferFailed"
        return
    doc["processingStatus"] = "Transferred"
    for key in ("voucherNumber1", "voucherNumber2", "paymentBlock"):
        if key in entity:
            doc[key] = entity[key]
