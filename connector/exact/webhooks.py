"""Exact Online's webhook payloads: find the raw `Content`, check `HashCode`, read the event.

Sourced (docs/api-facts.md, Exact webhooks): the body is `{"Content": {...}, "HashCode": "..."}`; `HashCode` is the
upper-case hex HMAC-SHA256 of the `Content` JSON exactly as Exact sent it, keyed with the app's webhook secret.
Re-serialising the parsed JSON would change spacing or key order and fail honest events, so the raw bytes of the
`Content` value are cut out of the body by scanning the JSON text itself.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from connector.errors import SignatureError
from connector.jsonutil import loads

_CONTENT_KEY = re.compile(rb'"Content"\s*:\s*')
TOPICS = ("Accounts", "GLAccounts", "PurchaseEntries")


@dataclass(frozen=True)
class ExactEvent:
    """One verified event: which division, which entity set, what happened, to which key."""

    topic: str
    action: str
    division: int
    key: str
    created_on: str
    client_id: str | None


def sign(secret: str, content: bytes) -> str:
    """The HashCode Exact sends for these `Content` bytes."""
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest().upper()


def raw_content(body: bytes) -> bytes:
    """The bytes of the top-level `Content` object as sent; SignatureError when there is none."""
    found = _CONTENT_KEY.search(body)
    if found is None or body[found.end() : found.end() + 1] != b"{":
        raise SignatureError("no Content object in the body")
    end = _object_end(body, found.end())
    return body[found.end() : end]


def _object_end(body: bytes, start: int) -> int:
    """The index just past the JSON object that opens at `start` (braces in strings do not count)."""
    depth, in_string, escaped = 0, False, False
    for index in range(start, len(body)):
        char = body[index : index + 1]
        if in_string:
            escaped, in_string = (not escaped and char == b"\\"), in_string and (escaped or char != b'"')
            continue
        if char == b'"':
            in_string = True
        elif char == b"{":
            depth += 1
        elif char == b"}":
            depth -= 1
            if depth == 0:
                return index + 1
    raise SignatureError("the Content object is not closed")


def verify(secret: str, body: bytes) -> ExactEvent:
    """The event, once `HashCode` proves it was signed with `secret`; SignatureError otherwise."""
    content = raw_content(body)
    try:
        hash_code = loads(body).get("HashCode")
    except (ValueError, AttributeError) as exc:
        raise SignatureError("the body is not a JSON object") from exc
    if not isinstance(hash_code, str) or not hmac.compare_digest(hash_code.encode(), sign(secret, content).encode()):
        raise SignatureError("HashCode does not match")
    return _event(content)


def _event(raw: bytes) -> ExactEvent:
    try:
        content: dict[str, Any] = loads(raw)
        return ExactEvent(
            topic=str(content["Topic"]),
            action=str(content["Action"]),
            division=int(content["Division"]),
            key=str(content["Key"]).lower(),
            created_on=str(content.get("EventCreatedOn") or ""),
            client_id=content.get("ClientId"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SignatureError(f"the signed Content is not an event: {type(exc).__name__}") from exc
