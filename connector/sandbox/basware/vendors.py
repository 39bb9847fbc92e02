"""Vendors in the Basware sandbox: paged list and single GET by code.

Sourced (docs/api-facts.md, Basware: vendors): `GET /v1/vendors` pages like the other lists; a vendor is keyed by
its externalCode. Decision (ours): a single vendor is answered directly, without a 302.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from connector import jsonutil
from connector.sandbox.basware.core import Core
from connector.sandbox.basware.wire import deep_copy, json_response, public


class Vendors:
    """Stored vendors by externalCode."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._vendors: dict[str, dict[str, Any]] = {}

    def add(self, entity: dict[str, Any]) -> str:
        """Store (upsert) a VendorEntity keyed by its externalCode (vendorCode when absent)."""
        entity = deep_copy(entity)
        entity.setdefault("externalCode", entity.get("vendorCode"))
        with self.core.lock:
            self._vendors[entity["externalCode"]] = self.core.touch(entity)
        return str(entity["externalCode"])

    def list(self) -> Response:
        """`GET /v1/vendors`."""
        return self.core.listing("vendorEntities", lambda: list(self._vendors.values()))

    def get(self, code: str) -> Response:
        """`GET /v1/vendors/<code>`."""
        with self.core.lock:
            vendor = self._vendors.get(code)
            body = jsonutil.dumps(public(vendor)) if vendor else None
        if body is None:
            return json_response({"detail": "Not Found"}, 404)
        return Response(body, mimetype="application/json")
