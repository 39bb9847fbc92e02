"""The reconciliation's period and its progress bar: what an operator types and sees."""

from __future__ import annotations

import io
from datetime import date

import pytest

from connector.errors import ConfigurationError
from connector.sync.reconcile import period
from ml_connector.commands.reconcile import ProgressBar


def test_without_dates_the_period_is_the_previous_calendar_month() -> None:
    assert period(None, None, date(2026, 12, 3)) == (date(2026, 11, 1), date(2026, 11, 30))
    assert period("", "", date(2027, 1, 31)) == (date(2026, 12, 1), date(2026, 12, 31))


@pytest.mark.parametrize(("start", "end"), [("2026-11-30", "2026-11-01"), ("2026-11-01", None), ("Nov", "Dec")])
def test_a_period_that_is_not_two_dates_in_order_is_refused(start: str, end: str | None) -> None:
    with pytest.raises(ConfigurationError):
        period(start, end, date(2026, 12, 3))


def test_the_bar_draws_only_when_stdout_is_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    shown, hidden = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    bar = ProgressBar(stream=shown)
    bar(60, 120)
    bar(120, 120)
    bar.done()
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    silent = ProgressBar(stream=hidden)
    silent(60, 120)
    silent.done()

    assert "[" + "#" * 15 + "." * 15 + "] 60/120 entries" in shown.getvalue()
    assert "[" + "#" * 30 + "] 120/120 entries" in shown.getvalue()
    assert hidden.getvalue() == ""


def test_without_a_total_the_bar_still_counts() -> None:
    out = io.StringIO()
    bar = ProgressBar(stream=out)
    bar.shown = True

    bar(7, None)

    assert out.getvalue().endswith("] 7/7 entries")
