"""The Exact sandbox's wire format: entity sets, `/Date()/` values, JSON and OData error answers.

Sourced: API errors carry an OData v3 error body, dates travel as `/Date(epoch ms)/`
(docs/api-facts.md, Exact: wire format). Decision (ours): a body that is not a JSON object answers 400.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, request

from connector.jsonutil import dumps, loads

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOT_ALLOWED = "Method not allowed"
_RESOURCE = re.compile(r"^(?P<set>(?:bulk/|sync/)?[A-Za-z]+/[A-Za-z]+)(?:\(guid'(?P<key>[0-9A-Fa-f-]{36})'\))?$")


@dataclass(frozen=True)
class EntitySet:
    """One `/api/v1/{division}/{path}` collection: its key, OData type and properties."""

    path: str
    key: str
    type_name: str
    fields: tuple[str, ...]
    mandatory_filter: tuple[str, ...] = ()
    navigation: str | None = None


@dataclass(frozen=True)
class Call:
    """One API call: the entity set it names, the key in `(guid'...')` if any, and the HTTP method."""

    entity: EntitySet
    key: str | None
    method: str


class ApiFailure(Exception):
    """Raised inside a handler to answer with an OData error (or, with `empty`, an empty body)."""

    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None, *, empty: bool = False
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.headers, self.empty = status, message, headers or {}, empty

    def response(self, extra_headers: dict[str, str] | None = None) -> Response:
        """The answer this failure stands for."""
        headers = {**(extra_headers or {}), **self.headers}
        if self.empty:
            return Response(b"", status=self.status, headers=headers)
        return odata_error(self.status, self.message, headers)


def parse_resource(resource: str) -> tuple[str, str | None] | None:
    """(lower-cased set path, lower-cased key or None) of `set/Path(guid'...')`, or None if malformed."""
    match = _RESOURCE.match(resource)
    if match is None:
        return None
    key = match.group("key")
    return match.group("set").lower(), key.lower() if key else None


def wire_date(value: datetime) -> str:
    """Exact's `/Date(epoch ms)/` form."""
    return f"/Date({(value - EPOCH) // timedelta(milliseconds=1)})/"


def to_wire(value: Any) -> Any:
    """A stored value as Exact sends it (datetimes as `/Date()/`)."""
    return wire_date(value) if isinstance(value, datetime) else value


def plain(value: Any) -> Any:
    """Nested rows with every datetime in wire form, for the admin endpoints."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return to_wire(value)


def odata_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An OData v3 error body, as every API (non-token) error carries."""
    body = {"error": {"code": "", "message": {"lang": "", "value": message}}}
    return json_response(body, status, headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON written with jsonutil so Decimals stay exact."""
    return Response(dumps(body), status=status, headers=headers or {}, mimetype="application/json")


def json_body() -> dict[str, Any]:
    """The request's JSON object; 400 when it is not one."""
    raw = request.get_data()
    if not raw:
        return {}
    try:
        body = loads(raw)
    except ValueError:
        raise ApiFailure(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiFailure(400, "The request body must be a JSON object.")
    return body


def wants_minimal() -> bool:
    """True when the caller asked for no body back (`Prefer: return=minimal`)."""
    return "return=minimal" in request.headers.get("Prefer", "")


def no_content() -> Response:
    """The 204 Exact answers a PUT or DELETE with."""
    return Response(status=204)


def drop_connection() -> None:
    """Close the client's socket without an answer (werkzeug or gunicorn expose it in the environ)."""
    sock = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
