"""The Basware sandbox's wire format: JSON answers, `ResponseEntityList` errors, request ids, amounts.

Sourced (docs/api-facts.md, Basware: errors): errors are a `ResponseEntityList` with `requestId`, `hasErrors` and
`errors` (type, code, message). Decision (ours): amounts built by the sandbox refuse floats.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from flask import Response

from connector import jsonutil


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


def not_found() -> Response:
    """The 404 of a document that does not exist."""
    return json_response({"message": "Not Found"}, 404)


def is_uuid4(value: str | None) -> bool:
    """True for a canonical (lower or upper case, hyphenated) UUID version 4."""
    try:
        parsed = uuid.UUID(value or "")
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == (value or "").lower()


def decimal_value(value: Any) -> Decimal:
    """An amount as Decimal; floats are refused so no test builds money from binary fractions."""
    if isinstance(value, float | bool):
        raise TypeError("amounts must be Decimal, int or str, never float")
    return Decimal(str(value)) if not isinstance(value, Decimal) else value


def public(entity: dict[str, Any]) -> dict[str, Any]:
    """An entity as the API shows it: without the sandbox's private bookkeeping keys."""
    return {key: value for key, value in entity.items() if not key.startswith("_")}


def deep_copy(entity: dict[str, Any]) -> dict[str, Any]:
    """A deep copy through JSON, which also refuses floats."""
    copied: dict[str, Any] = jsonutil.loads(jsonutil.dumps(entity))
    return copied
