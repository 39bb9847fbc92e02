"""The Exact call budget on each real store (SQLite, PostgreSQL, Redis), with a clock the test moves.

Exact's windows are fixed: the minute ends on the clock's minute, the day at midnight UTC (or where Exact's
headers say). A refused reservation is a `RateLimited` carrying the moment the budget opens again.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from connector.errors import RateLimited
from connector.exact.governor import BudgetStore, Governor, Limits, Priority
from connector.store.budget import DbBudgetStore, RedisBudgetStore
from connector.store.db import Database
from connector.sync.services import Services
from tests.support import Sandboxes, add_sharing_tenant, add_tenant

pytestmark = pytest.mark.integration
MINUTE_START = 1_800_000_000.0  # a whole minute (and 10:40 UTC): windows are easy to read off
DIVISION = 100001


class Clock:
    """A clock the test sets."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> Iterator[BudgetStore]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'budget.db'}")
        db.upgrade()
        yield DbBudgetStore(db)
        db.dispose()
    elif request.param == "postgres":
        yield DbBudgetStore(request.getfixturevalue("pg_services").db)
    else:
        redis_store = RedisBudgetStore(redis.Redis.from_url(redis_url))
        yield redis_store
        redis_store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(MINUTE_START + 10)


def governor(store: BudgetStore, clock: Clock, minute: int = 5, day: int = 5000, app: str | None = None) -> Governor:
    """A governor for a new app (so tests on a shared database or Redis never meet)."""
    return Governor(store, app or f"http://exact.test|app-{uuid.uuid4().hex[:8]}", Limits(minute, day), clock=clock)


def headers(minutely_remaining: int, minute_reset: float, remaining: int = 4000, limit: int = 5) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(int((MINUTE_START // 86400 + 1) * 86400 * 1000)),
        "X-RateLimit-Minutely-Limit": str(limit),
        "X-RateLimit-Minutely-Remaining": str(minutely_remaining),
        "X-RateLimit-Minutely-Reset": str(int(minute_reset * 1000)),
    }


def spend(gov: Governor, calls: int, priority: Priority = Priority.WRITE) -> None:
    for _ in range(calls):
        gov.reserve(DIVISION, priority)


def refused_until(gov: Governor, priority: Priority = Priority.WRITE) -> float:
    with pytest.raises(RateLimited) as refused:
        gov.reserve(DIVISION, priority)
    return refused.value.retry_at


def test_the_minute_is_a_fixed_window_that_opens_again_on_the_clock_minute(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock)
    spend(gov, 5)

    assert refused_until(gov) == MINUTE_START + 60
    clock.now = MINUTE_START + 59  # late in the same window: still nothing
    assert refused_until(gov) == MINUTE_START + 60
    clock.now = MINUTE_START + 60
    spend(gov, 5)  # a whole new minute
    assert refused_until(gov) == MINUTE_START + 120


def test_every_process_takes_from_the_same_budget(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock)
    other_process = Governor(gov.store, gov.app, gov.limits, clock=clock)
    spend(gov, 3)
    spend(other_process, 2)

    assert refused_until(gov) == MINUTE_START + 60
    assert refused_until(other_process) == MINUTE_START + 60


def test_a_call_on_the_minutes_turn_counts_in_both_minutes(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock)
    clock.now = MINUTE_START + 59.5  # Exact may count it in this minute or, arriving late, in the next
    gov.reserve(DIVISION)

    clock.now = MINUTE_START + 60
    spend(gov, 4)
    assert refused_until(gov) == MINUTE_START + 120


def test_a_full_minute_takes_nothing_more_on_its_turn(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock)
    spend(gov, 5)
    clock.now = MINUTE_START + 59.5

    assert refused_until(gov) == MINUTE_START + 60


def test_exacts_minute_turning_before_ours_keeps_what_was_sent_on_the_turn(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock)
    clock.now = MINUTE_START + 59.5
    spend(gov, 2)  # charged to this minute and the next
    gov.observe(DIVISION, 200, headers(minutely_remaining=4, minute_reset=MINUTE_START + 120))  # Exact: next minute

    spend(gov, 3)
    assert refused_until(gov) == MINUTE_START + 120


def test_the_day_waits_for_its_reset_however_much_of_the_minute_is_left(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock, minute=60, day=3)
    spend(gov, 3)

    midnight = (MINUTE_START // 86400 + 1) * 86400
    assert refused_until(gov) == midnight
    clock.now = midnight
    gov.reserve(DIVISION)


def test_headers_showing_fewer_calls_left_lower_the_budget(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock)
    gov.reserve(DIVISION)
    # Someone else on the same app and division (another installation) used three more.
    gov.observe(DIVISION, 200, headers(minutely_remaining=1, minute_reset=MINUTE_START + 60))

    gov.reserve(DIVISION)
    assert refused_until(gov) == MINUTE_START + 60


def test_headers_never_give_back_calls_still_on_their_way(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock)
    spend(gov, 4)  # four reserved, Exact has seen only the first so far
    gov.observe(DIVISION, 200, headers(minutely_remaining=4, minute_reset=MINUTE_START + 60))

    gov.reserve(DIVISION)
    assert refused_until(gov) == MINUTE_START + 60


def test_a_lower_limit_in_exacts_headers_is_followed(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock, minute=60)
    gov.reserve(DIVISION)
    gov.observe(DIVISION, 200, headers(minutely_remaining=2, minute_reset=MINUTE_START + 60, limit=3))

    spend(gov, 2)
    assert refused_until(gov) == MINUTE_START + 60


def test_headers_from_a_window_that_is_over_change_nothing(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock)
    clock.now = MINUTE_START + 61
    gov.observe(DIVISION, 200, headers(minutely_remaining=0, minute_reset=MINUTE_START + 60))  # a slow answer

    spend(gov, 5)


def test_exacts_window_phase_is_followed_when_its_clock_runs_ahead(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock)
    clock.now = MINUTE_START + 58  # ours says 10:40:58, Exact already counts the next minute (ends at +120)
    gov.observe(DIVISION, 200, headers(minutely_remaining=0, minute_reset=MINUTE_START + 120))

    assert refused_until(gov) == MINUTE_START + 120


def test_a_429_closes_the_window_even_while_the_headers_show_calls_left(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock)
    gov.reserve(DIVISION)
    opens = gov.observe(DIVISION, 429, headers(minutely_remaining=3, minute_reset=MINUTE_START + 60))

    assert opens == MINUTE_START + 60
    assert refused_until(gov) == MINUTE_START + 60
    clock.now = MINUTE_START + 60
    gov.reserve(DIVISION)


def test_a_429_without_headers_closes_the_current_minute(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock)
    gov.reserve(DIVISION)

    assert gov.observe(DIVISION, 429, {}) == MINUTE_START + 60
    assert refused_until(gov) == MINUTE_START + 60


def test_a_429_for_the_day_closes_it_until_exacts_daily_reset(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock)
    gov.reserve(DIVISION)
    midnight = (MINUTE_START // 86400 + 1) * 86400
    reset = str(int(midnight * 1000))
    daily_only = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}

    assert gov.observe(DIVISION, 429, daily_only) == midnight
    clock.now = MINUTE_START + 600
    assert refused_until(gov) == midnight


def test_background_work_leaves_the_last_sixth_of_a_minute_to_writes(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock, minute=60)
    spend(gov, 50, Priority.BACKGROUND)

    assert refused_until(gov, Priority.BACKGROUND) == MINUTE_START + 60
    spend(gov, 10, Priority.WRITE)  # the ten kept back still go to writes
    assert refused_until(gov, Priority.WRITE) == MINUTE_START + 60


def test_background_work_never_takes_the_days_last_tenth(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock, minute=60, day=20)
    for minute in range(1, 4):  # 18 background calls spread over three minutes: the day's cap is 20 - 2
        spend(gov, 6, Priority.BACKGROUND)
        clock.now = MINUTE_START + 60 * minute + 10

    midnight = (MINUTE_START // 86400 + 1) * 86400
    assert refused_until(gov, Priority.BACKGROUND) == midnight
    spend(gov, 2, Priority.WRITE)
    assert refused_until(gov, Priority.WRITE) == midnight


def test_divisions_have_budgets_of_their_own(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock)
    spend(gov, 5)

    gov.reserve(DIVISION + 1)


def test_reservations_made_at_once_never_exceed_the_limit(store: BudgetStore, clock: Clock) -> None:
    gov = governor(store, clock, minute=20)
    admitted: list[int] = []

    def worker() -> None:
        for _ in range(10):
            try:
                gov.reserve(DIVISION)
                admitted.append(1)
            except RateLimited:
                pass

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(admitted) == 20


def test_two_tenants_on_one_app_and_division_share_one_budget(
    pg_services: Services, sandboxes: Sandboxes, clock: Clock
) -> None:
    first = add_tenant(pg_services, sandboxes, authorize=False)
    second = add_sharing_tenant(pg_services, first)
    other_app = add_tenant(pg_services, sandboxes, authorize=False)
    spend(pg_services.governor(first, clock=clock), 60)

    assert refused_until(pg_services.governor(second, clock=clock)) == MINUTE_START + 60
    pg_services.governor(other_app, clock=clock).reserve(DIVISION)
