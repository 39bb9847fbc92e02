"""Rate windows and injected faults for the Exact sandbox: what stands between a call and its answer.

Sourced (docs/api-facts.md, Exact: rate limits): 60 calls a minute and 5,000 a day per app per division; the
minute window is fixed to the clock minute; daily headers `X-RateLimit-Limit/-Remaining/-Reset` and minutely
`X-RateLimit-Minutely-Limit/-Remaining/-Reset`, resets in epoch milliseconds; a 429 has an empty body and no
`Retry-After`, and may omit the daily headers. Decisions (ours): a minutely 429 carries only the minutely headers,
a daily one only the daily headers; `current/Me` is not counted (it names no division).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connector.sandbox.exact.state import State
from connector.sandbox.exact.wire import ApiFailure

MINUTE, DAY = 60, 86400


@dataclass
class Faults:
    """Injected failures: the next N API calls answer 503 / 429 / a dropped connection, or 502 after doing the
    work; a delay per call."""

    delay: float = 0.0
    error_5xx_count: int = 0
    rate_limit_count: int = 0
    drop_count: int = 0
    # (method, path fragment, how many more): the next matching calls answer 503, others pass
    targeted: list[list[Any]] = field(default_factory=list)
    # (method, path fragment, how many more): the next matching calls are carried out, then answered 502 (a
    # gateway losing the answer): the caller cannot know the document was stored
    after_work: list[list[Any]] = field(default_factory=list)

    def take_for(self, method: str, path: str) -> str | None:
        """Consume a fault aimed at this call (a 503), else one of the untargeted ones."""
        for target in self.targeted:
            if target[2] > 0 and target[0] == method.upper() and target[1].lower() in path.lower():
                target[2] -= 1
                return "error_5xx_count"
        return self.take()

    def take_after_work(self, method: str, path: str) -> bool:
        """Consume a fault that loses the answer of this (successful) call; True when one was due."""
        for target in self.after_work:
            if target[2] > 0 and target[0] == method.upper() and target[1].lower() in path.lower():
                target[2] -= 1
                return True
        return False

    def take(self) -> str | None:
        """Consume one pending fault, drop first, then 5xx, then 429."""
        for name in ("drop_count", "error_5xx_count", "rate_limit_count"):
            if getattr(self, name) > 0:
                setattr(self, name, getattr(self, name) - 1)
                return name
        return None


@dataclass
class Window:
    """Fixed-window call counters for one (client, division)."""

    minute_start: int = 0
    minute_count: int = 0
    day_start: int = 0
    day_count: int = 0


def rate_limited(headers: dict[str, str]) -> ApiFailure:
    """Exact's 429: an empty body, no Retry-After, only the rate-limit headers."""
    return ApiFailure(429, "", headers, empty=True)


@dataclass
class RateWindows:
    """The minute and day windows of every (client, division)."""

    state: State
    minute_limit: int = 60
    day_limit: int = 5000
    windows: dict[tuple[str, int], Window] = field(default_factory=dict)

    def count(self, client_id: str, division: int) -> dict[str, str]:
        """Count one call against both windows and return its headers; a 429 past either limit."""
        window = self.windows.setdefault((client_id, division), Window())
        now = self.state.now()
        minute, day = int(now // MINUTE) * MINUTE, int(now // DAY) * DAY
        if window.minute_start != minute:
            window.minute_start, window.minute_count = minute, 0
        if window.day_start != day:
            window.day_start, window.day_count = day, 0
        if window.minute_count >= self.minute_limit:
            raise rate_limited(self.minutely_headers(window))
        if window.day_count >= self.day_limit:
            raise rate_limited(self.daily_headers(window))
        window.minute_count += 1
        window.day_count += 1
        return {**self.daily_headers(window), **self.minutely_headers(window)}

    def minutely_headers(self, window: Window, full: bool = False) -> dict[str, str]:
        """The minutely headers of a window (`full`: none left, as an injected 429 says)."""
        start = window.minute_start or int(self.state.now() // MINUTE) * MINUTE
        remaining = 0 if full else max(self.minute_limit - window.minute_count, 0)
        return {
            "X-RateLimit-Minutely-Limit": str(self.minute_limit),
            "X-RateLimit-Minutely-Remaining": str(remaining),
            "X-RateLimit-Minutely-Reset": str((start + MINUTE) * 1000),
        }

    def daily_headers(self, window: Window) -> dict[str, str]:
        """The daily headers of a window."""
        return {
            "X-RateLimit-Limit": str(self.day_limit),
            "X-RateLimit-Remaining": str(max(self.day_limit - window.day_count, 0)),
            "X-RateLimit-Reset": str((window.day_start + DAY) * 1000),
        }
