"""Exact's rate limit is respected, not hit: every process sees the window Exact last reported."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.errors import RateLimited
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread
from connector.sync.ratelimit import SharedRateLimit
from connector.sync.services import Services
from tests.support import Sandboxes, add_tenant

pytestmark = pytest.mark.integration
NOW = 1_800_000_010.0  # ten seconds into a minute: the window cannot roll over during the test
MINUTE_RESET_MS = "1800000060000"


def _headers(minutely_remaining: int, remaining: int = 4000, reset_ms: str = "1800057600000") -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": reset_ms,
        "X-RateLimit-Minutely-Limit": "60",
        "X-RateLimit-Minutely-Remaining": str(minutely_remaining),
        "X-RateLimit-Minutely-Reset": MINUTE_RESET_MS,
    }


@pytest.fixture
def limit(pg_services: Services, sandboxes: Sandboxes) -> SharedRateLimit:
    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    return SharedRateLimit(pg_services.db, tenant.id, clock=lambda: NOW)


def test_calls_go_ahead_while_the_minute_has_calls_left(limit: SharedRateLimit) -> None:
    limit.observe(_headers(minutely_remaining=12))

    limit.check()  # does not raise


def test_a_spent_minute_makes_the_next_call_wait_for_its_reset(pg_services: Services, limit: SharedRateLimit) -> None:
    limit.observe(_headers(minutely_remaining=1))
    other_process = SharedRateLimit(pg_services.db, limit.tenant_id, clock=lambda: NOW)

    with pytest.raises(RateLimited) as raised:
        other_process.check()

    assert raised.value.retry_at == 1_800_000_060.0


def test_after_the_reset_calls_go_ahead_again(pg_services: Services, limit: SharedRateLimit) -> None:
    limit.observe(_headers(minutely_remaining=0))
    later = SharedRateLimit(pg_services.db, limit.tenant_id, clock=lambda: NOW + 60)

    later.check()


def test_a_spent_day_waits_for_midnight_utc(limit: SharedRateLimit) -> None:
    limit.observe(_headers(minutely_remaining=50, remaining=0))

    with pytest.raises(RateLimited) as raised:
        limit.check()

    assert raised.value.retry_at == 1_800_057_600.0


@pytest.fixture
def tight_exact() -> Iterator[tuple[ExactSandbox, str]]:
    sandbox = ExactSandbox(minute_limit=3, clock=lambda: NOW)
    sandbox.add_division()
    with ServerThread(sandbox.app) as server:
        yield sandbox, server.url


def test_the_client_stops_before_exact_answers_429(
    pg_services: Services, sandboxes: Sandboxes, tight_exact: tuple[ExactSandbox, str]
) -> None:
    sandbox, url = tight_exact
    own = Sandboxes(sandbox, sandboxes.basware, url, sandboxes.basware_url)
    tenant = add_tenant(pg_services, own)
    client = pg_services.exact(pg_services.tenant(tenant.id))
    before = sandbox.api_calls[100001]

    client.journals()
    client.journals()
    with pytest.raises(RateLimited):
        client.journals()

    assert sandbox.api_calls[100001] - before == 2  # the third call never reached Exact
