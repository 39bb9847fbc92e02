"""A record waiting for Exact's daily limit is parked in the database, visibly, not counted down in the broker;
beat resumes it once, and it is written once."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from connector.exact.governor import Window
from connector.sandbox.basware import make_invoice
from connector.store import audit, records
from connector.store.db import records as records_table
from connector.sync.services import Services
from connector.wiring import build_services
from tests.conftest import make_settings
from tests.integration.conftest import settled, wait_for
from tests.integration.mapping_helpers import DIVISION, deliver, entries, row
from tests.support import Sandboxes, add_tenant
from workers import tasks
from workers.context import using

pytestmark = pytest.mark.integration


def _spent_day(reset_at: float) -> dict[str, str]:
    """Exact's answer when the day's calls are used up, the day resetting at `reset_at`."""
    return {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(reset_at * 1000)),
    }


def test_a_record_waiting_for_the_daily_limit_is_parked_then_resumed_and_written_once(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str, pg_url: str, redis_url: str,
    secret_key: str, tmp_path: Path,
) -> None:  # fmt: skip
    tenant = add_tenant(pg_services, sandboxes)
    # The worker keeps the budget in Redis (its broker): spend the day there, as other writes would have.
    shared = build_services(make_settings(tmp_path, pg_url, secret_key, broker_url=redis_url))
    governor = shared.governor(shared.tenant(tenant.id))
    reset_at = time.time() + 3 * 3600
    governor.observe(DIVISION, 200, _spent_day(reset_at))
    number = f"PARK-{uuid.uuid4().hex[:6]}"

    record_id = deliver(pg_services, sandboxes, receiver, tenant.name, make_invoice(number, "1001", "Acme", [row()]))

    wait_for(lambda: records.get(pg_services.db, record_id).status != "pending", what="the record parked")
    parked = records.get(pg_services.db, record_id)
    assert parked.status == "waiting_for_budget", (parked.status, parked.step, parked.reason)
    assert parked.due_at is not None and abs(parked.due_at - reset_at) < 5
    assert "waiting for Exact's limit; resumes at" in (parked.reason or "")
    assert entries(sandboxes.exact, number) == []
    with pg_services.db.begin() as conn:  # the day is over: the budget resets, the record is due
        conn.execute(records_table.update().where(records_table.c.id == record_id).values(due_at=time.time() - 1))
    shared.budget_store().change(governor.key(DIVISION), lambda _window: (Window.fresh(time.time()), None))

    with using(pg_services):
        assert tasks.resume_parked_records.run() == 1
        assert tasks.resume_parked_records.run() == 0  # resumed once, not again

    wait_for(lambda: settled(pg_services, record_id), what="the resumed record to be written")
    assert records.get(pg_services.db, record_id).status == "written"
    assert len(entries(sandboxes.exact, number)) == 1
    events = [a["event"] for a in audit.entries(pg_services.db, record_id=record_id)]
    assert events.count("waiting_for_budget") == 1 and events.count("budget_resumed") == 1
    assert events.count("entry_created") == 1
    shared.close()
