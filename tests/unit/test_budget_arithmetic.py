"""When a division's backlog will be through at Exact's limits: what operators read in status and the dashboard."""

from __future__ import annotations

from connector.exact.governor import BudgetView, Limits, Priority, Window, admit, caps, through_at, view
from connector.sync.budget import DivisionBudget

NOW = 1_800_000_010.0  # 10 s into a minute
MINUTE_END = 1_800_000_060.0
MIDNIGHT = 1_800_057_600.0


def budget(minute_left: int = 60, day_left: int = 5000, closed_until: float | None = None) -> BudgetView:
    return BudgetView(minute_left, 60, MINUTE_END, day_left, 5000, MIDNIGHT, closed_until)


def test_nothing_waiting_is_through_at_no_particular_time() -> None:
    assert through_at(0, budget(), NOW) is None


def test_a_backlog_that_fits_this_minute_goes_now() -> None:
    assert through_at(12, budget(minute_left=12), NOW) == NOW


def test_a_larger_backlog_takes_one_minute_of_budget_per_limit_after_this_one() -> None:
    # 10 go this minute, then 60 in each of the next two minutes: through when the second of those ends.
    assert through_at(130, budget(minute_left=10), NOW) == MINUTE_END + 120


def test_a_backlog_beyond_what_is_left_today_runs_into_the_next_day() -> None:
    # 100 left today; 160 more go after midnight at 60 a minute: three minutes into the next day.
    assert through_at(260, budget(minute_left=60, day_left=100), NOW) == MIDNIGHT + 180


def test_a_closed_window_shows_no_calls_left_and_says_until_when() -> None:
    window = Window(MINUTE_END, 3, MIDNIGHT, 3, closed_until=MINUTE_END)
    shown = view(window, NOW, Limits())

    assert shown.minute_left == 0 and shown.closed_until == MINUTE_END
    row = DivisionBudget(100001, ("acme",), shown, 5, through_at(5, shown, NOW)).row()
    assert row[2].startswith("0 (Exact answered 429; until 2027-01-15")


def test_the_row_reads_calls_left_of_the_limit_backlog_and_through_by() -> None:
    row = DivisionBudget(100001, ("acme", "beta"), budget(minute_left=40), 3, NOW).row()

    assert row == ("100001", "acme, beta", "40 of 60", "5000 of 5000", "3", "2027-01-15 08:00:10 UTC")


def test_background_caps_keep_a_sixth_of_the_minute_and_a_tenth_of_the_day_for_writes() -> None:
    window = Window.fresh(NOW)

    assert caps(window, Limits(60, 5000), Priority.WRITE) == (60, 5000)
    assert caps(window, Limits(60, 5000), Priority.BACKGROUND) == (50, 4500)
    assert caps(window, Limits(1, 10), Priority.BACKGROUND) == (0, 9)  # too small to share: all goes to writes


def test_a_window_that_has_ended_counts_from_zero_and_keeps_exacts_phase() -> None:
    spent = Window(MINUTE_END + 0.25, 60, MIDNIGHT, 60)  # Exact's minute ends a quarter second after ours

    after, refused = admit(spent, MINUTE_END + 30, Limits(), Priority.WRITE)

    assert refused is None
    assert (after.minute_reset, after.minute_used, after.day_used) == (MINUTE_END + 60.25, 1, 61)
