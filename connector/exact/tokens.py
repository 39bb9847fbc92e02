"""What an Exact grant is made of, and where it is kept: the seam between the OAuth code and storage."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol

# Exact refuses a refresh sooner than this many seconds after the access token was issued.
MIN_REFRESH_AGE = 570
# Refresh when fewer than this many seconds of the access token's life remain.
REFRESH_MARGIN = 30


@dataclass(frozen=True)
class ExactTokens:
    """An access token, its rotating refresh token, and when the access token was issued and expires (epoch s)."""

    access_token: str
    refresh_token: str
    issued_at: float
    expires_at: float

    def needs_refresh(self, now: float, margin: float = REFRESH_MARGIN) -> bool:
        return self.expires_at - now < margin

    def may_refresh(self, now: float, min_age: float = MIN_REFRESH_AGE) -> bool:
        return now - self.issued_at >= min_age

    def __repr__(self) -> str:  # never print the tokens themselves
        return f"ExactTokens(issued_at={self.issued_at:.0f}, expires_at={self.expires_at:.0f})"


class TokenStore(Protocol):
    """Durable, shared storage of one tenant's Exact tokens, with a lock every process honours."""

    def load(self) -> ExactTokens | None:
        """The tokens as stored now (re-read, never cached)."""
        ...

    def save(self, tokens: ExactTokens) -> None:
        """Persist tokens at once, before they are used."""
        ...

    def lock(self) -> AbstractContextManager[None]:
        """Hold a lock that every process sharing this store respects (single-flight refresh)."""
        ...

    def mark_dead(self, reason: str) -> None:
        """Record that the grant cannot be refreshed any more (the operator must consent again)."""
        ...


class MemoryTokenStore:
    """A `TokenStore` for one process: unit tests and scripts."""

    def __init__(self, tokens: ExactTokens | None = None) -> None:
        self.tokens = tokens
        self.dead_reason: str | None = None
        self.saves = 0
        self._lock = threading.Lock()

    def load(self) -> ExactTokens | None:
        return self.tokens

    def save(self, tokens: ExactTokens) -> None:
        self.tokens = tokens
        self.saves += 1

    @contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield

    def mark_dead(self, reason: str) -> None:
        self.dead_reason = reason
