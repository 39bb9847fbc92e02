"""Several worker processes, one Exact grant and one Basware token: the chains never break, calls stay few.

Each process builds Services from the environment, exactly as a Celery worker does, and calls both APIs in a
loop across several lifetimes of seconds-long tokens.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox.basware import BaswareSandbox
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread
from connector.sync.services import Services
from connector.wiring import build_services
from tests.support import Sandboxes, add_tenant

pytestmark = pytest.mark.integration

PROCESSES = 4
RUN_SECONDS = 12.0
EXACT_LIFETIME = 3.0  # seconds; Exact's is 600
EXACT_MIN_AGE = 2.0  # Exact's is 570
MARGIN = 0.25  # refresh this close to expiry: 30 s of 600 in production
BASWARE_LIFETIME = 4


def hammer(env: dict[str, str], tenant_id: int, until: float, results: Any) -> None:
    """One worker process: Services from the environment, then Exact and Basware calls until `until`."""
    os.environ.update(env)
    svc = build_services()
    tenant = svc.tenant(tenant_id)
    exact, basware = svc.exact(tenant), svc.basware(tenant)
    calls, errors = 0, []
    while time.time() < until:
        try:
            exact.journals()
            basware.ping()
            calls += 1
        except Exception as exc:  # reported to the test, which asserts there are none
            errors.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.02)
    svc.close()
    results.put((calls, errors, time.time()))


@pytest.fixture
def own_sandboxes() -> Iterator[Sandboxes]:
    """Sandboxes of this test only, with seconds-long tokens and no rate limit in the way."""
    exact = ExactSandbox(
        access_token_lifetime=EXACT_LIFETIME, min_refresh_age=EXACT_MIN_AGE, minute_limit=10**6, day_limit=10**8
    )
    exact.add_division()
    basware = BaswareSandbox(token_lifetime=BASWARE_LIFETIME)
    with ServerThread(exact.app) as exact_server, ServerThread(basware.app) as basware_server:
        yield Sandboxes(exact, basware, exact_server.url, basware_server.url)


def test_worker_processes_share_one_token_chain_without_breaking_it(
    pg_services: Services, pg_url: str, secret_key: str, own_sandboxes: Sandboxes, tmp_path: Path
) -> None:
    tenant = add_tenant(pg_services, own_sandboxes)
    consented_at = time.time()
    env = {
        "CONNECTOR_DATABASE_URL": pg_url,
        "CONNECTOR_SECRET_KEY": secret_key,
        "CONNECTOR_DATA_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "memory://",
        "CONNECTOR_EXACT_REFRESH_MARGIN": str(MARGIN),
        "CONNECTOR_EXACT_MIN_REFRESH_AGE": str(EXACT_MIN_AGE),
        "CONNECTOR_EXACT_MINUTE_LIMIT": "1000000",  # like the sandbox: no rate limit in the way
        "CONNECTOR_EXACT_DAY_LIMIT": "100000000",
    }
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    until = consented_at + RUN_SECONDS
    processes = [context.Process(target=hammer, args=(env, tenant.id, until, results)) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    results.close()
    results.join_thread()

    elapsed = max(finished for _, _, finished in outcomes) - consented_at
    exact_log = own_sandboxes.exact.token_log
    refreshes = [event for event in exact_log if event[0] == "refresh"]
    report = f"elapsed {elapsed:.1f} s, Exact refreshes {len(refreshes)}, Basware tokens "
    report += f"{own_sandboxes.basware.token_calls}, calls {[calls for calls, _, _ in outcomes]}"
    print(report)  # the measured figures, for the record (pytest -s)

    assert [errors for _, errors, _ in outcomes] == [[]] * PROCESSES  # every call authorised and answered
    assert all(calls > 20 for calls, _, _ in outcomes)
    assert not [event for event in exact_log if event[2] and "Old refresh token used" in event[2]]
    assert all(ok for _, ok, _ in refreshes), refreshes  # not even a too-early refusal was provoked
    # Never more refreshes than lifetimes elapsed (single flight). Fewer only means the processes started late on
    # a loaded machine; a token kept past its life would have failed a call above, so that side needs no bound.
    assert 1 <= len(refreshes) <= elapsed / EXACT_LIFETIME + 1, report
    # Basware: one token per lifetime for all processes (renewed a tenth of the lifetime early).
    assert own_sandboxes.basware.token_calls <= elapsed / (BASWARE_LIFETIME * 0.9) + 1, report
    assert pg_services.tenant(tenant.id).grant_status == "active"
