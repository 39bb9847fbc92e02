"""Exact's rate limit as a budget that every process reserves from before it calls: no call beyond the window.

Exact counts calls per app (client id) and division in FIXED windows: 60 a minute (60 calls between 10:00:00
and 10:00:40 mean nothing more until 10:01:00) and 5,000 a day. A 429 has an empty body and no Retry-After,
and can come while the headers still show calls left; calls without a division (`current/Me`) are not
counted. So every process, and every tenant on the same app and division, takes its call from one shared
budget *before* sending (`reserve`, atomic in Redis or the database); each answer's X-RateLimit-* headers
correct the count, and a 429 closes the window until its reset. A refused reservation raises `RateLimited`
carrying `retry_at`, the moment the budget opens again: a reschedule, never an error.

Writes come first: background work (master data refresh, vendor sync) only takes what writes leave.
The rules are pure functions over a `Window`; a `BudgetStore` applies one atomically (see
`connector.store.budget` for the database and Redis stores).
"""

from __future__ import annotations

import enum
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from connector.errors import RateLimited, StorageUnavailable
from connector.exact.answers import RateLimitInfo

log = logging.getLogger(__name__)
R = TypeVar("R")
MINUTE, DAY = 60.0, 86400.0

# Background work may not take the last sixth of any minute (10 of Exact's 60 calls): an invoice that arrives
# while a master data refresh pages through a list still goes out this minute instead of the next.
BACKGROUND_MINUTE_RESERVE = 1 / 6
# Nor the day's last 10% (500 of 5,000): when the day runs low, what is left goes to invoices and orders,
# whose delay a customer notices; background work resumes after Exact's daily reset.
BACKGROUND_DAY_RESERVE = 0.10
# A call sent in a window's last second may reach Exact after the window turned and be counted in the next
# one: such a call is charged to both windows, so neither can be overspent whichever counts it.
GUARD = 1.0
# Window ends from Exact's headers and ours may differ by rounding; closer than this they are the same window.
SAME_WINDOW = 0.5
# How far Exact's clock may run ahead of ours before a reset it names is taken for nonsense and ignored.
SKEW = 5.0


class Priority(enum.Enum):
    """Who is asking: writes (invoices, orders and their reports) come before background work."""

    WRITE = "write"
    BACKGROUND = "background"


@dataclass(frozen=True)
class Limits:
    """The calls an app may make per division: configured, and lowered by what Exact's headers say."""

    minute: int = 60
    day: int = 5000


@dataclass(frozen=True)
class Window:
    """The shared count for one app and division: Exact's current minute and day, as far as we know them."""

    minute_reset: float  # when the current fixed minute ends (epoch seconds)
    minute_used: int
    day_reset: float
    day_used: int
    minute_limit: int | None = None  # what Exact's headers last said, if they did
    day_limit: int | None = None
    closed_until: float = 0.0  # after a 429: nothing goes out before this
    next_minute_used: int = 0  # calls sent at the very end of this minute, charged to the next one as well

    @classmethod
    def fresh(cls, now: float) -> Window:
        """No call known yet: the clock's current minute and UTC day."""
        return cls(_next_boundary(now, MINUTE), 0, _next_boundary(now, DAY), 0)


@dataclass(frozen=True)
class BudgetView:
    """What is left now, for operators (`ml-connector status`, the dashboard)."""

    minute_left: int
    minute_limit: int
    minute_reset: float
    day_left: int
    day_limit: int
    day_reset: float
    closed_until: float | None


class BudgetStore(Protocol):
    """Keeps windows by key and applies a change to one atomically across processes."""

    def change(self, key: str, step: Callable[[Window | None], tuple[Window, R]]) -> R:
        """Read the window (None if new), store what `step` returns first, return its second part."""
        ...

    def read(self, key: str) -> Window | None:
        """The stored window, or None."""
        ...


class MemoryBudgetStore:
    """A store for one process (single-process tools and tests)."""

    def __init__(self) -> None:
        self._windows: dict[str, Window] = {}
        self._lock = threading.Lock()

    def change(self, key: str, step: Callable[[Window | None], tuple[Window, R]]) -> R:
        """Apply `step` under a lock."""
        with self._lock:
            window, result = step(self._windows.get(key))
            self._windows[key] = window
            return result

    def read(self, key: str) -> Window | None:
        """The stored window, or None."""
        with self._lock:
            return self._windows.get(key)


# -- the rules, as pure functions -----------------------------------------------------------------------


def roll(window: Window, now: float) -> Window:
    """The window as of `now`: a minute or day that has ended starts again at zero, keeping Exact's phase."""
    if now >= window.minute_reset:
        reset = _advance(window.minute_reset, now, MINUTE)
        carried = window.next_minute_used if reset == window.minute_reset + MINUTE else 0
        window = replace(window, minute_reset=reset, minute_used=carried, next_minute_used=0)
    if now >= window.day_reset:
        window = replace(window, day_reset=_advance(window.day_reset, now, DAY), day_used=0)
    return window


def caps(window: Window, limits: Limits, priority: Priority) -> tuple[int, int]:
    """The most calls this priority may have used in the minute and the day (writes may use everything)."""
    minute = min(limits.minute, window.minute_limit or limits.minute)
    day = min(limits.day, window.day_limit or limits.day)
    if priority is Priority.BACKGROUND:
        minute -= max(1, math.ceil(minute * BACKGROUND_MINUTE_RESERVE))
        day -= max(1, math.ceil(day * BACKGROUND_DAY_RESERVE))
    return minute, day


def admit(
    window: Window | None, now: float, limits: Limits, priority: Priority, guard: float = GUARD
) -> tuple[Window, float | None]:
    """Take one call if the budget allows: (new window, None), or (window, when to ask again)."""
    current = roll(window or Window.fresh(now), now)
    minute_cap, day_cap = caps(current, limits, priority)
    if now < current.closed_until:
        return current, current.closed_until
    if current.day_used >= day_cap:
        return current, current.day_reset
    if current.minute_used >= minute_cap:
        return current, current.minute_reset
    on_the_turn = now >= current.minute_reset - guard
    if on_the_turn and current.next_minute_used >= minute_cap:
        return current, current.minute_reset + MINUTE
    return replace(
        current,
        minute_used=current.minute_used + 1,
        next_minute_used=current.next_minute_used + on_the_turn,
        day_used=current.day_used + 1,
    ), None


def correct(window: Window | None, info: RateLimitInfo, now: float) -> Window:
    """Take in what an answer's headers say; never count fewer calls than we handed out in the same window."""
    current = roll(window or Window.fresh(now), now)
    if info.minutely_reset is not None and abs(info.minutely_reset - current.minute_reset - MINUTE) < SAME_WINDOW:
        current = roll(current, current.minute_reset)  # Exact's minute turned before ours: turn with it
    minute = _corrected(
        (current.minute_reset, current.minute_used, current.minute_limit),
        (info.minutely_reset, info.minutely_remaining, info.minutely_limit),
        now + MINUTE + SKEW,
        now,
    )
    day = _corrected(
        (current.day_reset, current.day_used, current.day_limit),
        (info.reset, info.remaining, info.limit),
        now + DAY + SKEW,
        now,
    )
    return replace(
        current,
        minute_reset=minute[0],
        minute_used=minute[1],
        minute_limit=minute[2],
        day_reset=day[0],
        day_used=day[1],
        day_limit=day[2],
    )


def close(window: Window, info: RateLimitInfo) -> tuple[Window, float]:
    """After a 429: nothing more until the window it names resets; returns that moment."""
    if info.minutely_reset is not None:
        until = info.minutely_reset
    elif info.reset is not None and info.remaining == 0:
        until = info.reset
    else:  # no usable header (Exact may omit them): the minute we are in
        until = window.minute_reset
    return replace(window, closed_until=max(window.closed_until, until)), until


def view(window: Window | None, now: float, limits: Limits) -> BudgetView:
    """What a write could still use now."""
    current = roll(window or Window.fresh(now), now)
    minute_cap, day_cap = caps(current, limits, Priority.WRITE)
    closed = current.closed_until if now < current.closed_until else None
    return BudgetView(
        minute_left=max(minute_cap - current.minute_used, 0) if closed is None else 0,
        minute_limit=minute_cap,
        minute_reset=current.minute_reset,
        day_left=max(day_cap - current.day_used, 0),
        day_limit=day_cap,
        day_reset=current.day_reset,
        closed_until=closed,
    )


def through_at(calls: int, budget: BudgetView, now: float) -> float | None:
    """By when `calls` calls can have gone out at the current limits (None when there is nothing to do)."""
    if calls <= 0:
        return None
    opens = budget.closed_until or now
    if calls <= budget.minute_left and calls <= budget.day_left:
        return max(opens, now)
    if calls <= budget.day_left:
        more = calls - budget.minute_left
        return budget.minute_reset + math.ceil(more / max(budget.minute_limit, 1)) * MINUTE
    later = calls - budget.day_left
    days = math.ceil(later / max(budget.day_limit, 1))
    last_day = later - (days - 1) * budget.day_limit
    start = budget.day_reset + (days - 1) * DAY
    return start + math.ceil(last_day / max(budget.minute_limit, 1)) * MINUTE


def _corrected(
    ours: tuple[float, int, int | None],
    theirs: tuple[float | None, int | None, int | None],
    latest: float,
    now: float,
) -> tuple[float, int, int | None]:
    reset, used, limit = ours
    their_reset, remaining, their_limit = theirs
    if their_reset is None or remaining is None or their_reset > latest or their_reset <= now:
        return ours  # absent, a reset no window reaches, or an answer from a window that is over
    their_used = (their_limit or limit or 0) - remaining
    if abs(their_reset - reset) < SAME_WINDOW:
        return reset, max(used, their_used), their_limit or limit
    if their_reset > reset:  # Exact is already in a later window than our clock says: follow Exact
        return their_reset, max(their_used, 0), their_limit or limit
    # Exact's window ends sooner than ours (its day need not end at UTC midnight): follow Exact, never counting
    # fewer calls than we handed out.
    return their_reset, max(used, their_used), their_limit or limit


def _next_boundary(now: float, length: float) -> float:
    return (math.floor(now / length) + 1) * length


def _advance(reset: float, now: float, length: float) -> float:
    return reset + (math.floor((now - reset) / length) + 1) * length


# -- the governor ---------------------------------------------------------------------------------------


class Governor:
    """The call budget of one Exact app (per division), shared through a `BudgetStore`."""

    def __init__(
        self,
        store: BudgetStore,
        app: str,
        limits: Limits | None = None,
        *,
        clock: Callable[[], float] = time.time,
        guard: float = GUARD,
    ) -> None:
        self.store = store
        self.app = app
        self.limits = limits or Limits()
        self.clock = clock
        self.guard = guard

    def key(self, division: int) -> str:
        """The store key of this app's budget in one division."""
        return f"{self.app}|{division}"

    def reserve(self, division: int, priority: Priority = Priority.WRITE) -> None:
        """Take one call from the budget, or raise `RateLimited` with the moment it opens again."""
        now = self.clock()
        opens = self.store.change(self.key(division), lambda w: admit(w, now, self.limits, priority, self.guard))
        if opens is not None:
            window = "day" if opens - now > MINUTE + self.guard else "minute"
            raise RateLimited(
                f"Exact's {priority.value} budget for this {window} is used up; waiting for its reset",
                retry_at=opens,
                system="exact",  # no HTTP status: Exact was not asked
            )

    def observe(self, division: int, status: int, headers: Mapping[str, str]) -> float | None:
        """Correct the count from an answer; after a 429, close the window and return when it opens."""
        info = RateLimitInfo.from_headers(headers)
        now = self.clock()

        def step(window: Window | None) -> tuple[Window, float | None]:
            corrected = correct(window, info, now)
            return close(corrected, info) if status == 429 else (corrected, None)

        try:
            if status != 429 and self._adds_nothing(division, info, now):
                return None  # the usual answer: Exact has seen no more than we handed out; no lock, no write
            return self.store.change(self.key(division), step)
        except StorageUnavailable as exc:  # the call itself is done: losing one reading must not fail it
            log.warning("could not keep Exact's rate-limit figures for division %s: %s", division, exc)
            return None

    def _adds_nothing(self, division: int, info: RateLimitInfo, now: float) -> bool:
        """True when the headers would leave the stored window as it is (checked without taking its lock)."""
        stored = self.store.read(self.key(division))
        return stored is not None and correct(stored, info, now) == roll(stored, now)

    def view(self, division: int) -> BudgetView:
        """What a write could still use now in this division."""
        return view(self.store.read(self.key(division)), self.clock(), self.limits)

    def budget(self, priority: Priority) -> PriorityBudget:
        """This governor as the `CallBudget` of a client whose calls all have one priority."""
        return PriorityBudget(self, priority)


class PriorityBudget:
    """A client's view of the governor: every call reserves at one priority (see `ExactClient(budget=...)`)."""

    def __init__(self, governor: Governor, priority: Priority) -> None:
        self.governor = governor
        self.priority = priority

    def reserve(self, division: int) -> None:
        """Take a call at this priority or raise `RateLimited`."""
        self.governor.reserve(division, self.priority)

    def settle(self, division: int, status: int, headers: Mapping[str, str]) -> float | None:
        """Report the answer; returns when the budget opens again after a 429."""
        return self.governor.observe(division, status, headers)
