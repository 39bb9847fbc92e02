"""What an Exact Online answer means: its rate-limit headers, and the one pure classifier of its status.

Exact reports business validation (Mandatory: ..., Invalid reference: ...) as HTTP 500 on a write, a consent that
does not cover a division as a 403 naming the scope, and rate limits as a 429 with an empty body
(docs/api-facts.md#exact-errors, #exact-rate-limits). Everything that decides what an answer means lives here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connector.errors import APIError, DivisionOutOfScope, FatalAPIError, RateLimited, RetriableAPIError
from connector.exact import odata
from connector.exact.auth import SYSTEM
from connector.jsonutil import loads

_TRANSIENT = {502, 503, 504}


@dataclass(frozen=True)
class RateLimitInfo:
    """The X-RateLimit-* headers of the last response; resets are UTC epoch seconds."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None
    minutely_limit: int | None = None
    minutely_remaining: int | None = None
    minutely_reset: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo:
        """Parse the daily and minutely headers; absent ones stay None."""
        return cls(
            limit=_int(headers.get("X-RateLimit-Limit")),
            remaining=_int(headers.get("X-RateLimit-Remaining")),
            reset=_epoch_seconds(headers.get("X-RateLimit-Reset")),
            minutely_limit=_int(headers.get("X-RateLimit-Minutely-Limit")),
            minutely_remaining=_int(headers.get("X-RateLimit-Minutely-Remaining")),
            minutely_reset=_epoch_seconds(headers.get("X-RateLimit-Minutely-Reset")),
        )


# Exact's words when a published app calls a division the consenting user did not tick (docs/api-facts.md).
OUT_OF_SCOPE = "not within division scope"


def classify(
    method: str, status: int, headers: Mapping[str, str], content: bytes, *, opens_at: float | None = None
) -> APIError | None:
    """The exception an Exact response stands for, or None for success (a pure status classifier).

    `opens_at` is when the rate-limit budget opens again after a 429, if the caller keeps one.
    """
    if status < 400:
        return None
    message = _error_text(content) or f"HTTP {status}"
    common: dict[str, Any] = {"system": SYSTEM, "status": status, "body": content}
    if status == 429:
        when = opens_at if opens_at is not None else retry_at(headers)
        return RateLimited(f"rate limit reached: {message}", retry_at=when, **common)
    if status == 500 and method in ("POST", "PUT") and _error_text(content):
        # Exact reports business validation (Mandatory: …, Invalid reference: …) as a 500.
        return FatalAPIError(message, **common)
    if status >= 500 or status in _TRANSIENT:
        return RetriableAPIError(message, **common)
    reason = headers.get("Reason")
    if reason:
        message = f"{message} (Reason: {reason})"
    if status == 403 and OUT_OF_SCOPE in message.lower():
        return DivisionOutOfScope(message, **common)
    return FatalAPIError(message, **common)


def retry_at(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float:
    """When a 429 may be retried: the minutely reset if sent, else the daily one, else a minute from now."""
    for name in ("X-RateLimit-Minutely-Reset", "X-RateLimit-Reset"):
        value = _epoch_seconds(headers.get(name))
        if value is not None:
            return value
    return now() + 60


def _error_text(content: bytes) -> str:
    if not content:
        return ""
    try:
        text = odata.error_message(loads(content))
    except ValueError:
        return ""
    # Exact separates validation messages with \r\n; keep them apart but on one log line.
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _epoch_seconds(value: str | None) -> float | None:
    number = _int(value)
    return number / 1000 if number is not None else None
