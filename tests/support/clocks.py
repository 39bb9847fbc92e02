"""Time the test moves by hand."""

from __future__ import annotations


class FakeClock:
    """A clock the test moves by hand, shared by the sandbox and the client so expiry needs no sleeping."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
