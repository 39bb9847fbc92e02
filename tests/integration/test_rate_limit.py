"""Exact's rate limit is respected, not hit: every process sees the window Exact last reported."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.errors import RateLimited
from connector.sandbox.basware import make_invoice
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread
from connector.store import records
from connector.sync import steps
from connector.sync.ratelimit import SharedRateLimit
from connector.sync.services import Services
from tests.integration import test_mapping_helpers as helpers
from tests.integration.test_mapping_helpers import OwnExact, entries, row, unique
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


own_exact = helpers.own_exact  # a shared fixture: an Exact sandbox whose call counter is this test's alone


def test_a_write_put_off_for_the_limit_is_no_attempt_and_costs_one_call_later(
    pg_services: Services, own_exact: OwnExact
) -> None:
    tenant = add_tenant(pg_services, own_exact.sandboxes)
    number = unique("RL-")
    basware_id = own_exact.sandboxes.basware.add_invoice(make_invoice(number, "1001", "Acme Supplies BV", [row()]))
    with pg_services.db.begin() as conn:
        record_id = records.upsert_pending(conn, tenant.id, "invoice", basware_id)
    for step in (steps.fetch, steps.map_vendor, steps.validate):
        step(pg_services, record_id)
    limit = SharedRateLimit(pg_services.db, tenant.id)
    limit.observe(_headers(minutely_remaining=0))  # the minute is spent: the write is put off, nothing is sent

    with pytest.raises(RateLimited):
        steps.write(pg_services, record_id)
    assert records.get(pg_services.db, record_id).write_attempts == 0

    limit.observe(_headers(minutely_remaining=50))  # the window reopened
    before = own_exact.calls()
    steps.write(pg_services, record_id)

    assert own_exact.calls() - before == 1  # the POST alone: no look-up for an attempt that never left
    assert records.get(pg_services.db, record_id).status == "written"
    assert len(entries(own_exact.exact, number)) == 1
