"""Many workers, one grant: refreshes under the store lock never reuse a rotated refresh token."""

from __future__ import annotations

import threading
import time

from connector.exact.client import ExactClient
from tests.contract.exact_fixtures import DIVISION, running_exact

THREADS = 8
CALLS_PER_THREAD = 60  # dense enough that an unlocked store breaks the chain (checked by hand)


def test_eight_threads_share_one_token_manager_without_breaking_the_chain() -> None:
    # Real time with a 2 s token and a 1 s minimum age, so the threads cross several refreshes.
    with running_exact(
        clock=time.time, access_token_lifetime=2, min_refresh_age=1, margin=0.5, minute_limit=100_000
    ) as exact:
        results: list[int] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def worker() -> None:
            with ExactClient(exact.url, exact.tokens, division=DIVISION) as client:
                for _ in range(CALLS_PER_THREAD):
                    try:
                        count = len(client.journals())
                    except Exception as exc:  # collected and asserted below, with the thread's context
                        with lock:
                            errors.append(exc)
                        return
                    with lock:
                        results.append(count)
                    time.sleep(0.05)

        threads = [threading.Thread(target=worker) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        log = exact.sandbox.token_log
        assert errors == []
        assert results == [3] * (THREADS * CALLS_PER_THREAD)  # every call authorised and answered
        assert not [event for event in log if event[2] and "Old refresh token used" in event[2]]
        assert sum(1 for kind, ok, _ in log if kind == "refresh" and ok) >= 1
        assert exact.store.dead_reason is None
