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
