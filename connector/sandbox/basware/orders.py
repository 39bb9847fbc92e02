"""Exported purchase orders in the Basware sandbox: paged listing, 302 single GETs, acknowledge once, pushes.

Sourced (docs/api-facts.md, Basware: exported purchase orders): `GET /v1/exportedPurchaseOrders` filters on
`processingStatus` and pages like the other lists; orders wait for export until acknowledged. Decisions (ours):
a single-order GET answers a 302 to a pre-signed object holding `{"exportedPurchaseOrders": [order]}`, as for
accounting documents; acknowledging sets `processingStatus` to `Exported` and a second acknowledge answers 405; the
capital-P `ProcessingStatus` of accountingDocuments is refused with 400 so a client that copies it fails here first.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, request

from connector import jsonutil
from connector.sandbox.basware.builders import WAITING_FOR_EXPORT
from connector.sandbox.basware.core import Core
from connector.sandbox.basware.push import Push
from connector.sandbox.basware.wire import deep_copy, error_list, json_response, not_found, public

WAITING = WAITING_FOR_EXPORT
EXPORTED = "Exported"
TASK_TYPE = "ExportedPurchaseOrders"
ENVELOPE = "exportedPurchaseOrders"


class PurchaseOrderExports:
    """The sandbox's exported purchase orders; state lives here, guarded by the core's lock."""

    def __init__(self, core: Core, push: Push) -> None:
        self.core = core
        self.push = push
        self._orders: dict[str, dict[str, Any]] = {}

    def add(self, order: dict[str, Any]) -> str:
        """Store (upsert) an order; re-adding one offers it for export again."""
        order = deep_copy(order)
        order.setdefault("externalCode", uuid.uuid4().hex)
        order["processingStatus"] = order.get("processingStatus") or WAITING
        with self.core.lock:
            previous = self._orders.get(order["externalCode"], {})
            self._orders[order["externalCode"]] = {
                "doc": self.core.touch(order),
                "acknowledged": previous.get("acknowledged", 0),
            }
        return str(order["externalCode"])

    def view(self, external_code: str) -> dict[str, Any]:
        """The sandbox's view of one order: status, how often it was acknowledged, the document."""
        with self.core.lock:
            stored = self._orders[external_code]
            return deep_copy(
                {
                    "externalCode": external_code,
                    "processingStatus": stored["doc"]["processingStatus"],
                    "acknowledged": stored["acknowledged"],
                    "document": public(stored["doc"]),
                }
            )

    def notify(self, external_code: str, *, task_id: str | None = None) -> int:
        """Send a signed ExportedPurchaseOrders notification; the worst HTTP status (0 = unreachable)."""
        return self.push.notify_task(TASK_TYPE, WAITING, external_code, task_id=task_id)

    def list(self) -> Response:
        """`GET /v1/exportedPurchaseOrders`."""
        if "ProcessingStatus" in request.args:
            return error_list("PARAMETER_VALIDATION_ERROR", "use processingStatus on exportedPurchaseOrders", 400)
        return self.core.listing(
            ENVELOPE,
            lambda: [stored["doc"] for stored in self._orders.values()],
            processingStatus=request.args.get("processingStatus"),
            companyCode=request.args.get("companyCode"),
        )

    def get(self, external_code: str) -> Response:
        """`GET /v1/exportedPurchaseOrders/<code>`: a 302 to a pre-signed object."""
        with self.core.lock:
            stored = self._orders.get(external_code)
            body = jsonutil.dumps({ENVELOPE: [public(stored["doc"])]}) if stored else None
        if body is None:
            return not_found()
        return self.core.redirect_to(body.encode("utf-8"))

    def acknowledge(self, external_code: str) -> Response:
        """`POST .../acknowledge`: once only."""
        with self.core.lock:
            stored = self._orders.get(external_code)
            if stored is None:
                return not_found()
            doc = stored["doc"]
            if doc["processingStatus"] != WAITING:
                return error_list("METHOD_NOT_ALLOWED", "order can be acknowledged only once", 405, "BUSINESS")
            doc["processingStatus"] = EXPORTED
            stored["acknowledged"] += 1
            self.core.touch(doc)
        return json_response({"externalCode": external_code, "processingStatus": EXPORTED})
