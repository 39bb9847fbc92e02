"""Exact's rate limit is respected, not hit: every process and every tenant on one app share one budget."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.errors import RateLimited
from connector.exact.client import ExactClient
from connector.exact.governor import Governor, Priority
from connector.sandbox.basware import BaswareSandbox, make_invoice, make_vendor
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread
from connector.store import records
from connector.store.db import exact_budget
from connector.sync import master, steps, vendor_sync
from connector.sync.services import Services
from tests.integration import test_mapping_helpers as helpers
from tests.support import Sandboxes, add_sharing_tenant, add_tenant, early_in_a_minute

pytestmark = pytest.mark.integration
NOW = 1_800_000_010.0  # ten seconds into a minute: the window cannot roll over during the test
MINUTE_RESET_MS = "1800000060000"
DIVISION = 100001


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
def limit(pg_services: Services, sandboxes: Sandboxes) -> Governor:
    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    return pg_services.governor(tenant, clock=lambda: NOW)


def test_calls_go_ahead_while_the_minute_has_calls_left(limit: Governor) -> None:
    limit.observe(DIVISION, 200, _headers(minutely_remaining=12))

    limit.reserve(DIVISION)  # does not raise


def test_a_spent_minute_makes_the_next_call_wait_for_its_reset(limit: Governor) -> None:
    limit.observe(DIVISION, 200, _headers(minutely_remaining=1))
    other_process = Governor(limit.store, limit.app, limit.limits, clock=lambda: NOW)
    other_process.reserve(DIVISION)  # the last call of the minute

    with pytest.raises(RateLimited) as raised:
        other_process.reserve(DIVISION)

    assert raised.value.retry_at == 1_800_000_060.0


def test_after_the_reset_calls_go_ahead_again(limit: Governor) -> None:
    limit.observe(DIVISION, 200, _headers(minutely_remaining=0))
    later = Governor(limit.store, limit.app, limit.limits, clock=lambda: NOW + 60)

    later.reserve(DIVISION)


def test_a_spent_day_waits_for_midnight_utc(limit: Governor) -> None:
    limit.observe(DIVISION, 200, _headers(minutely_remaining=50, remaining=0))

    with pytest.raises(RateLimited) as raised:
        limit.reserve(DIVISION)

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
    budget = pg_services.governor(tenant, clock=lambda: NOW).budget(Priority.WRITE)
    client = ExactClient(url, pg_services.token_manager(tenant), division=DIVISION, budget=budget)
    before = sandbox.api_calls[DIVISION]

    for _ in range(3):
        client.journals()
    with pytest.raises(RateLimited):
        client.journals()

    assert sandbox.api_calls[DIVISION] - before == 3  # the fourth call never reached Exact


@pytest.fixture
def tight_exact_on_the_clock() -> Iterator[tuple[ExactSandbox, str]]:
    """A sandbox allowing 5 calls a minute on the real clock, entered early in a minute."""
    early_in_a_minute()  # a few calls must not straddle a minute's turn
    sandbox = ExactSandbox(minute_limit=5)
    sandbox.add_division()
    with ServerThread(sandbox.app) as server:
        yield sandbox, server.url


def test_tenants_on_one_app_and_division_never_make_exact_answer_429(
    pg_services: Services, sandboxes: Sandboxes, tight_exact_on_the_clock: tuple[ExactSandbox, str]
) -> None:
    sandbox, url = tight_exact_on_the_clock
    a = add_tenant(pg_services, Sandboxes(sandbox, sandboxes.basware, url, sandboxes.basware_url))
    b, c = add_sharing_tenant(pg_services, a), add_sharing_tenant(pg_services, a)
    for tenant in (a, b, c, c, a):  # Exact's five calls of the minute, spread over the three tenants
        pg_services.exact(tenant).journals()
    before = sandbox.api_calls[DIVISION]

    with pytest.raises(RateLimited):
        pg_services.exact(b).journals()

    assert sandbox.api_calls[DIVISION] == before  # refused here, not by a 429 from Exact


def test_background_work_leaves_the_minutes_last_calls_to_writes(
    pg_services: Services, sandboxes: Sandboxes, tight_exact_on_the_clock: tuple[ExactSandbox, str]
) -> None:
    sandbox, url = tight_exact_on_the_clock
    tenant = add_tenant(pg_services, Sandboxes(sandbox, sandboxes.basware, url, sandboxes.basware_url))
    for _ in range(4):
        pg_services.exact(tenant, background=True).journals()

    with pytest.raises(RateLimited):
        pg_services.exact(tenant, background=True).journals()
    pg_services.exact(tenant).journals()  # the call kept back goes to a write


@pytest.fixture
def own_sandboxes(tight_exact_on_the_clock: tuple[ExactSandbox, str]) -> Iterator[Sandboxes]:
    """The tight Exact sandbox and a Basware of this test's own (its vendors reach no other test)."""
    sandbox, url = tight_exact_on_the_clock
    basware = BaswareSandbox()
    with ServerThread(basware.app) as server:
        yield Sandboxes(sandbox, basware, url, server.url)


def test_master_data_refresh_and_vendor_sync_leave_the_minutes_last_call_to_writes(
    sqlite_services: Services, own_sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(sqlite_services, own_sandboxes)
    own_sandboxes.basware.add_vendor(make_vendor("7001", "Late Vendor BV", vat="NL007777777B01", country="NL"))
    for _ in range(4):  # writes took four of the minute's five calls
        sqlite_services.exact(tenant).journals()
    before = own_sandboxes.exact.api_calls[DIVISION]

    assert master.refresh_all(sqlite_services) == 0
    assert vendor_sync.sync_due_tenants(sqlite_services) == 0
    assert own_sandboxes.exact.api_calls[DIVISION] == before
    sqlite_services.exact(tenant).journals()  # the last call still goes to a write


def test_calls_without_a_division_take_nothing_from_the_budget(
    pg_services: Services, sandboxes: Sandboxes, tight_exact: tuple[ExactSandbox, str]
) -> None:
    sandbox, url = tight_exact
    tenant = add_tenant(pg_services, Sandboxes(sandbox, sandboxes.basware, url, sandboxes.basware_url))
    governor = pg_services.governor(tenant, clock=lambda: NOW)
    for _ in range(60):
        governor.reserve(DIVISION)
    client = ExactClient(
        url, pg_services.token_manager(tenant), division=DIVISION, budget=governor.budget(Priority.WRITE)
    )

    assert client.current_division() == DIVISION  # current/Me is not counted by Exact


def test_after_a_429_the_next_call_waits_for_the_reset_without_asking_exact(
    pg_services: Services, sandboxes: Sandboxes, tight_exact: tuple[ExactSandbox, str]
) -> None:
    sandbox, url = tight_exact
    tenant = add_tenant(pg_services, Sandboxes(sandbox, sandboxes.basware, url, sandboxes.basware_url))
    budget = pg_services.governor(tenant, clock=lambda: NOW).budget(Priority.WRITE)
    client = ExactClient(url, pg_services.token_manager(tenant), division=DIVISION, budget=budget)
    sandbox.set_faults(rate_limit_count=1)
    with pytest.raises(RateLimited) as first:
        client.journals()
    before = sandbox.api_calls[DIVISION]

    with pytest.raises(RateLimited) as second:
        client.journals()

    assert first.value.retry_at == second.value.retry_at == 1_800_000_060.0
    assert sandbox.api_calls[DIVISION] == before


own_exact = helpers.own_exact  # a shared fixture: an Exact sandbox whose call counter is this test's alone


def test_a_write_put_off_for_the_limit_is_no_attempt_and_costs_one_call_later(
    pg_services: Services, own_exact: helpers.OwnExact
) -> None:
    tenant = add_tenant(pg_services, own_exact.sandboxes)
    number = helpers.unique("RL-")
    invoice = make_invoice(number, "1001", "Acme Supplies BV", [helpers.row()])
    basware_id = own_exact.sandboxes.basware.add_invoice(invoice)
    with pg_services.db.begin() as conn:
        record_id = records.upsert_pending(conn, tenant.id, "invoice", basware_id)
    for step in (steps.fetch, steps.map_vendor, steps.validate):
        step(pg_services, record_id)
    governor = pg_services.governor(pg_services.tenant(tenant.id))
    with pytest.raises(RateLimited):  # other writes use the minute up
        while True:
            governor.reserve(DIVISION)
    before = own_exact.calls()

    with pytest.raises(RateLimited):
        steps.write(pg_services, record_id)
    assert records.get(pg_services.db, record_id).write_attempts == 0 and own_exact.calls() == before

    with pg_services.db.begin() as conn:  # the window reopened
        conn.execute(exact_budget.delete().where(exact_budget.c.key == governor.key(DIVISION)))
    steps.write(pg_services, record_id)

    assert own_exact.calls() - before == 1  # the POST alone: no look-up for an attempt that never left
    assert records.get(pg_services.db, record_id).status == "written"
    assert len(helpers.entries(own_exact.exact, number)) == 1
