"""The one retry policy: capped exponential backoff with jitter, and waiting out a rate-limit window."""

from __future__ import annotations

import pytest

from connector.errors import RateLimited
from workers.retry import BASE_DELAY, MAX_DELAY, backoff, rate_limit_delay


@pytest.mark.parametrize(
    ("retries", "low", "high"), [(0, 2.5, 5.0), (1, 5.0, 10.0), (3, 20.0, 40.0), (20, 300.0, 600.0)]
)
def test_backoff_doubles_and_is_capped_with_jitter_between_half_and_full(retries: int, low: float, high: float) -> None:
    assert backoff(retries, rand=lambda: 0.0) == pytest.approx(low)
    assert backoff(retries, rand=lambda: 1.0) == pytest.approx(high)


def test_backoff_never_exceeds_the_cap() -> None:
    assert max(backoff(n, rand=lambda: 1.0) for n in range(40)) == MAX_DELAY
    assert backoff(0, rand=lambda: 1.0) == BASE_DELAY


def test_a_rate_limit_waits_until_the_window_named_by_exact_resets() -> None:
    error = RateLimited("minute limit", retry_at=1_700_000_060.0, system="exact", status=429)

    assert rate_limit_delay(error, now=lambda: 1_700_000_015.5) == pytest.approx(44.5)
    assert rate_limit_delay(error, now=lambda: 1_700_000_100.0) == 1.0  # reset already passed: try again soon


def test_waiting_for_the_rate_limit_never_runs_out_of_retries() -> None:
    # Celery's retry(max_retries=None) means "the task's default of 3", so a record that waited for a fourth
    # window was dropped with the RateLimited error instead of waiting again.
    from celery.exceptions import Retry

    from workers.tasks import run_step, write_to_exact

    def window_spent(_svc: object, _record_id: int) -> None:
        raise RateLimited("minute limit", retry_at=1_700_000_060.0, system="exact", status=429)

    write_to_exact.push_request(retries=12, is_eager=True, called_directly=False)
    try:
        with pytest.raises(Retry):
            run_step(write_to_exact, 1, "write", window_spent)
    finally:
        write_to_exact.pop_request()
