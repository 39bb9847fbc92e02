"""Exact's rate limit, respected rather than hit: one view of the window shared by every process.

Exact allows about 60 calls a minute and 5,000 a day per app and division, and says after every call how
many are left (X-RateLimit-*). Each response's figures are kept in the database; before a call, a process
that sees the window spent raises `RateLimited` with the reset time, so the task is rescheduled for it
instead of spending a call on a 429 (which Exact also counts as an error against the app).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping

from connector.errors import RateLimited, StorageUnavailable
from connector.exact.client import RateLimitInfo
from connector.store import state
from connector.store.db import Database

log = logging.getLogger(__name__)
STATE = "exact:rate_limit"
RESERVE = 1  # keep the last call of a window for a retry of something already under way


class SharedRateLimit:
    """The last figures Exact gave for one tenant's app and division, and the check made before each call."""

    def __init__(
        self, db: Database, tenant_id: int, *, reserve: int = RESERVE, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.tenant_id = tenant_id
        self.reserve = reserve
        self.clock = clock

    def observe(self, headers: Mapping[str, str]) -> None:
        """Remember what the response said about the windows (responses without the headers change nothing)."""
        info = RateLimitInfo.from_headers(headers)
        if info.minutely_remaining is None and info.remaining is None:
            return
        try:
            state.put(self.db, self.tenant_id, STATE, json.dumps(info.__dict__))
        except StorageUnavailable as exc:  # the call itself succeeded: losing one reading must not fail it
            log.warning("tenant=%s could not keep Exact's rate-limit figures: %s", self.tenant_id, exc)

    def check(self) -> None:
        """Raise RateLimited when the minute or the day is used up and has not reset yet."""
        stored = state.get(self.db, self.tenant_id, STATE)
        if stored is None:
            return
        info = RateLimitInfo(**json.loads(stored))
        now = self.clock()
        for remaining, reset, window in (
            (info.minutely_remaining, info.minutely_reset, "minute"),
            (info.remaining, info.reset, "day"),
        ):
            if remaining is not None and reset is not None and remaining <= self.reserve and now < reset:
                raise RateLimited(
                    f"Exact's limit for this {window} is used up; waiting for its reset",
                    retry_at=reset,
                    system="exact",
                    status=429,
                )
