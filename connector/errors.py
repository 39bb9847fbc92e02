"""The one exception tree of the connector.

    ConnectorError                  root; caught only at the edges (views, task wrappers, CLI)
    ├── ConfigurationError          bad or missing settings, unknown tenant
    ├── SignatureError              a webhook whose signature does not verify
    ├── APIError                    a remote system answered badly (system, status, request id, safe excerpt)
    │   ├── RetriableAPIError       5xx, timeouts, connection errors -> Celery retries
    │   │   └── Postponed           not now, and not a failure: carries when to try again
    │   │       └── RateLimited     429 or the budget spent (from the X-RateLimit-* headers)
    │   └── FatalAPIError           other 4xx -> the record is blocked with the reason
    │       └── ReauthRequired      the Exact grant is dead: tenant paused, operator told
    │           └── DivisionOutOfScope  the grant does not cover a division: its records wait for consent
    ├── RecordBlocked               mapping or validation failed: kept, explained, replayable
    └── StorageUnavailable          the database is down: nothing recorded (the receiver answers 503)

`requests` and database exceptions are translated into this tree at the boundary; none leaks out of
`connector/`. Messages never contain secrets: bodies are cut to a short excerpt and tokens are never quoted.
"""

from __future__ import annotations

from typing import Any

EXCERPT_LENGTH = 300


def excerpt(text: str | bytes | None, limit: int = EXCERPT_LENGTH) -> str:
    """A short, single-line excerpt of a response body, safe to log."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class ConnectorError(Exception):
    """Root of every error the connector raises on purpose."""


class ConfigurationError(ConnectorError):
    """Settings are missing or wrong, or a named tenant does not exist."""


class SignatureError(ConnectorError):
    """A webhook's signature is missing, malformed or does not match."""


class APIError(ConnectorError):
    """A remote API answered with an error; carries what an operator needs, never a secret."""

    def __init__(
        self,
        message: str,
        *,
        system: str,
        status: int | None = None,
        request_id: str | None = None,
        body: str | bytes | None = None,
        code: str | None = None,
    ) -> None:
        self.system = system
        self.status = status
        self.request_id = request_id
        self.body_excerpt = excerpt(body)
        self.code = code
        super().__init__(message)

    def __str__(self) -> str:
        parts = [f"{self.system}: {self.args[0]}"]
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        if self.request_id:
            parts.append(f"[request {self.request_id}]")
        return " ".join(parts)


class RetriableAPIError(APIError):
    """A passing failure (5xx, timeout, connection error): try the same call again later."""


class Postponed(RetriableAPIError):
    """Not now, and no failure either: try again at `retry_at` (a UTC epoch in seconds); uses up no retry."""

    def __init__(self, message: str, *, retry_at: float, **kwargs: Any) -> None:
        self.retry_at = retry_at
        super().__init__(message, **kwargs)


class RateLimited(Postponed):
    """The remote system's rate limit was reached (or our budget for it is spent)."""


class FatalAPIError(APIError):
    """The call will not succeed by repeating it (4xx other than 429)."""


class ReauthRequired(FatalAPIError):
    """The Exact grant can no longer be refreshed: a person must consent again."""


class DivisionOutOfScope(ReauthRequired):
    """The consent does not cover the division called: a person must consent again and tick that company."""


class RecordBlocked(ConnectorError):
    """A record cannot be posted as it is; `problems` lists what is wrong, line by line."""

    def __init__(
        self, message: str, problems: list[dict[str, Any]] | None = None, *, tell_basware: bool = True
    ) -> None:
        self.problems = problems or []
        self.tell_basware = tell_basware  # False when the document was never ours to answer for
        super().__init__(message)


class StorageUnavailable(ConnectorError):
    """The database cannot be reached or is locked: nothing was recorded, try again."""
