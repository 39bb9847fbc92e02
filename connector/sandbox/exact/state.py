"""The Exact sandbox's shared state: divisions with their tables, the clock and the one lock.

Every part of the sandbox (OAuth, rate windows, each entity family) reads and writes through one `State`, so the
parts need not know each other; the app composes them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connector.sandbox.exact.wire import ApiFailure

Table = list[dict[str, Any]]


@dataclass
class Division:
    """One company: rows per entity set and entry-number counters per journal."""

    number: int
    tables: dict[str, Table]
    entry_numbers: dict[str, int] = field(default_factory=dict)
    accessible: bool = True


class State:
    """Divisions, the clock and the lock every handler holds while it touches them."""

    def __init__(self, clock: Callable[[], float], page_size: int = 60) -> None:
        self.clock = clock
        self.page_size = page_size
        self.clock_offset = 0.0
        self.lock = threading.RLock()
        self.divisions: dict[int, Division] = {}

    def now(self) -> float:
        """The sandbox's idea of the time: the injected clock plus any `advance()`."""
        return self.clock() + self.clock_offset

    def now_dt(self) -> datetime:
        """`now()` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def today(self) -> datetime:
        """Midnight UTC of the sandbox's day (date-only fields are stored so)."""
        return self.now_dt().replace(hour=0, minute=0, second=0, microsecond=0)

    def division(self, number: int) -> Division:
        """A division by number (KeyError when unknown)."""
        return self.divisions[number]

    def first_division(self) -> int:
        """The number of the division added first (the demo user's current one)."""
        return next(iter(self.divisions))

    def accessible(self, number: int) -> Division:
        """The division an API call names; 403 NoDivisionAccess when the user cannot reach it."""
        division = self.divisions.get(number)
        if division is None or not division.accessible:
            raise ApiFailure(403, "Forbidden", {"Reason": "NoDivisionAccess"})
        return division
