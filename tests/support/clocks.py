"""Time: a clock the test moves by hand, and a wait for a fresh minute window."""

from __future__ import annotations

import time


class FakeClock:
    """A clock the test moves by hand, shared by the sandbox and the client so expiry needs no sleeping."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def early_in_a_minute(margin: float = 15.0) -> None:
    """Wait for the next minute if this one ends within `margin` seconds, so a few calls share one fixed window."""
    if time.time() % 60 > 60 - margin:
        time.sleep(60.5 - time.time() % 60)
