"""One retry policy: capped exponential backoff with jitter; the randomness is a parameter so tests can pin it."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from connector.errors import Postponed

BASE_DELAY = 5.0
MAX_DELAY = 600.0
MAX_RETRIES = 8  # about an hour of trying before a record is marked failed (and can be replayed)


def backoff(
    retries: int,
    *,
    base: float = BASE_DELAY,
    cap: float = MAX_DELAY,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number `retries` (0-based): base * 2^n, capped, with 50-100% jitter."""
    ceiling = min(cap, base * (2**retries))
    return ceiling * (0.5 + rand() / 2)


def rate_limit_delay(error: Postponed, *, now: Callable[[], float] = time.time) -> float:
    """Seconds until the time the error names (a rate-limit window's reset, say), at least one."""
    return max(1.0, error.retry_at - now())
