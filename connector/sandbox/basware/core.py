"""What every Basware sandbox API shares: the lock and clock, `lastUpdated` stamps, paging and pre-signed objects.

Sourced (docs/api-facts.md, Basware: paging and redirects): lists page with a continuation token in the
`x-amz-meta-continuationtoken` header and answer 404 "No records found" when nothing matches; single GETs answer
a 302 to a pre-signed URL that lives 15 minutes and refuses an `Authorization` header. Decisions (ours): a
continuation token is bound to the path and query it was issued for; a pre-signed URL can be used once.
"""

from __future__ import annotations

import hmac
import itertools
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Response, request

from connector import jsonutil
from connector.sandbox.basware.wire import error_list, json_response, public

OBJECT_LIFETIME = 15 * 60  # pre-signed URLs are valid for 15 minutes
PRESIGNED_WITH_AUTH = (
    "<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm "
    "query parameter, Signature query string parameter or the Authorization header should be specified"
    "</Message></Error>"
)
Entity = dict[str, Any]


class Core:
    """The shared state and mechanics; every API module holds the same `Core`."""

    def __init__(self, clock: Callable[[], float], page_size: int, redirect_lists: bool) -> None:
        self.clock = clock
        self.page_size = page_size
        self.redirect_lists = redirect_lists
        self.lock = threading.RLock()
        self._seq = itertools.count(1)
        self._cursors: dict[str, tuple[str, tuple[tuple[str, str], ...], int]] = {}
        self._objects: dict[str, tuple[str, bytes, float]] = {}

    def now_iso(self) -> str:
        """The sandbox's time as Basware writes it (milliseconds, Z)."""
        return datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def touch(self, entity: Entity) -> Entity:
        """Stamp lastUpdated and a new sequence number (the paging key): call with the lock held."""
        entity["lastUpdated"] = self.now_iso()
        entity["_seq"] = next(self._seq)
        return entity

    def page(self, items: list[Entity], envelope: str, page_size: int) -> Response:
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
        body = jsonutil.dumps({envelope: [public(item) for item in page]}).encode("utf-8")
        if self.redirect_lists:
            return Response(status=302, headers={**headers, "Location": self.store_object(body)})
        return Response(body, headers=headers, mimetype="application/json")

    def page_size_arg(self, maximum: int) -> int | None:
        """The `pageSize` asked for, capped by the sandbox's page size; None when out of range."""
        raw = request.args.get("pageSize", str(maximum))
        size = int(raw) if raw.isdigit() else 0
        return min(size, self.page_size) if 1 <= size <= maximum else None

    def filtered(self, entities: Iterable[Entity], **equal: str | None) -> list[Entity]:
        """Entities matching every given field and `lastUpdated` (ValueError when that is no date-time)."""
        after = _updated_after()
        chosen = [
            entity
            for entity in entities
            if all(value is None or entity.get(key) == value for key, value in equal.items())
            and (after is None or datetime.fromisoformat(entity["lastUpdated"]) > after)
        ]
        return sorted(chosen, key=lambda entity: entity["_seq"])

    def listing(self, envelope: str, entities: Callable[[], list[Entity]], **equal: str | None) -> Response:
        """A paged list GET: page size checked, entities filtered, one page answered."""
        size = self.page_size_arg(100)
        if size is None:
            return error_list("PARAMETER_VALIDATION_ERROR", "pageSize must be 1-100", 400)
        try:
            with self.lock:
                items = self.filtered(entities(), **equal)
        except ValueError:
            return error_list("PARAMETER_VALIDATION_ERROR", "lastUpdated must be an ISO date-time", 400)
        return self.page(items, envelope, size)

    def redirect_to(self, body: bytes) -> Response:
        """A 302 to a fresh pre-signed object holding `body`."""
        return Response(status=302, headers={"Location": self.store_object(body)})

    def store_object(self, body: bytes) -> str:
        """Keep `body` behind a pre-signed URL and return the URL's path and query."""
        object_id, signature = uuid.uuid4().hex, secrets.token_urlsafe(24)
        with self.lock:
            self._objects[object_id] = (signature, body, self.clock() + OBJECT_LIFETIME)
        return f"/_objects/{object_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={signature}"

    def get_object(self, object_id: str) -> Response:
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


def _updated_after() -> datetime | None:
    raw = request.args.get("lastUpdated")
    if not raw:
        return None
    parsed = datetime.fromisoformat(raw)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
