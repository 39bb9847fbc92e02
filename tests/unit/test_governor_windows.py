"""Exact's own daily window wins over our UTC-midnight guess, whichever side of it Exact's reset falls."""

from __future__ import annotations

import pytest

from connector.exact.answers import RateLimitInfo
from connector.exact.governor import Window, correct

HALF_PAST_MIDNIGHT = 1_796_000_000.0 - 1_796_000_000.0 % 86400 + 1800  # 00:30 UTC on some day


@pytest.mark.parametrize("hours_until_exact_resets", [3.0, 12.0, 23.0])
def test_a_spent_day_is_taken_from_exacts_headers_whenever_its_day_ends(hours_until_exact_resets: float) -> None:
    now = HALF_PAST_MIDNIGHT
    reset = now + hours_until_exact_resets * 3600
    info = RateLimitInfo(limit=5000, remaining=0, reset=reset)

    window = correct(Window.fresh(now), info, now)

    assert window.day_used == 5000 and window.day_reset == reset


def test_an_answer_about_a_day_that_is_over_changes_nothing() -> None:
    now = HALF_PAST_MIDNIGHT
    before = Window.fresh(now)

    after = correct(before, RateLimitInfo(limit=5000, remaining=0, reset=now - 60), now)

    assert after.day_used == before.day_used == 0
