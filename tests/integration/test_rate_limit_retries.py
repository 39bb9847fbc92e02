"""A task waiting out Exact's rate-limit window retries as often as it must: the real task, on the services the
worker process builds for itself (a database: hence not a unit test)."""

from __future__ import annotations

import pytest

from connector.errors import RateLimited


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
