"""A pending record whose chain was lost is started again by the sweep, once a period, and then written."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import pytest

from connector.errors import RecordBlocked
from connector.sandbox.basware import make_invoice
from connector.store import audit, records
from connector.store.db import records as records_table
from connector.sync import outcomes, steps
from connector.sync.services import Services
from connector.sync.stalled import STALL_AFTER, resume_stalled
from tests.integration.conftest import settled, wait_for
from tests.support import Sandboxes, add_tenant
from workers.tasks import start_chain

pytestmark = pytest.mark.integration


def _pending_record(svc: Services, sandboxes: Sandboxes, tenant_id: int, *, age: float, account: str = "4000") -> int:
    invoice_id = sandboxes.basware.add_invoice(
        make_invoice(
            f"INV-{uuid.uuid4().hex[:8]}",
            "1001",
            "Acme Supplies BV",
            [
                {
                    "account_code": account,
                    "cost_center_code": "CC100",
                    "tax_code": "VAT21",
                    "tax_percent": 21,
                    "net": Decimal("40.00"),
                    "tax": Decimal("8.40"),
                }
            ],
        )
    )
    with svc.db.begin() as conn:  # recorded, but its chain never reached a worker
        record_id = records.upsert_pending(conn, tenant_id, "invoice", invoice_id)
        conn.execute(records_table.update().where(records_table.c.id == record_id).values(updated_at=time.time() - age))
    return record_id


def _age(svc: Services, record_id: int, age: float) -> None:
    with svc.db.begin() as conn:
        conn.execute(records_table.update().where(records_table.c.id == record_id).values(updated_at=time.time() - age))


def test_a_record_stalled_for_an_hour_is_started_again_and_written(
    pg_services: Services, sandboxes: Sandboxes, worker: Any
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    stalled = _pending_record(pg_services, sandboxes, tenant.id, age=STALL_AFTER + 60)
    recent = _pending_record(pg_services, sandboxes, tenant.id, age=60)
    enqueued: list[int] = []

    def enqueue(record_id: int) -> None:
        enqueued.append(record_id)
        start_chain(record_id)

    assert stalled in resume_stalled(pg_services, enqueue)
    assert recent not in enqueued
    assert stalled not in resume_stalled(pg_services, enqueue)  # touched: not again before another period
    wait_for(lambda: settled(pg_services, stalled), what="the stalled record to be written")
    assert records.get(pg_services.db, stalled).status == "written"
    assert records.get(pg_services.db, recent).status == "pending"
    assert "resumed" in [a["event"] for a in audit.entries(pg_services.db, record_id=stalled)]


def test_a_lost_chain_is_resumed_within_minutes_but_a_retry_still_due_is_left_alone(
    pg_services: Services, sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    lost = _pending_record(pg_services, sandboxes, tenant.id, age=STALL_AFTER + 30)  # a step never came back
    waiting = _pending_record(pg_services, sandboxes, tenant.id, age=STALL_AFTER + 30)
    records.put_off(pg_services.db, waiting, time.time() + 600)  # a retry in 10 minutes (backoff or a limit)
    with pg_services.db.begin() as conn:  # noted long ago, as in the other record
        conn.execute(
            records_table.update().where(records_table.c.id == waiting).values(updated_at=time.time() - 10_000)
        )
    enqueued: list[int] = []

    resumed = resume_stalled(pg_services, enqueued.append)

    assert lost in resumed and waiting not in resumed
    assert STALL_AFTER <= 180 and pg_services.settings.stall_after == STALL_AFTER  # "within 3 minutes"


def test_a_chain_lost_with_its_whole_worker_does_not_count_against_the_step(
    pg_services: Services, sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    lost = _pending_record(pg_services, sandboxes, tenant.id, age=STALL_AFTER + 30)
    for _ in range(2):  # two whole-worker restarts while the record was in its fetch step
        records.start_run(pg_services.db, lost, "fetch")
    with pg_services.db.begin() as conn:
        conn.execute(records_table.update().where(records_table.c.id == lost).values(updated_at=time.time() - 1000))

    assert lost in resume_stalled(pg_services, lambda _record_id: None)

    assert not records.get(pg_services.db, lost).running_starts


def test_a_blocked_invoice_whose_failure_response_was_lost_is_reported_once_by_the_sweep(
    pg_services: Services, sandboxes: Sandboxes, worker: Any
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    blocked = _pending_record(pg_services, sandboxes, tenant.id, age=0, account="4999")  # no such GL account
    steps.fetch(pg_services, blocked)  # taken on in Basware: Basware now waits for our answer
    steps.map_vendor(pg_services, blocked)
    with pytest.raises(RecordBlocked) as refused:
        steps.validate(pg_services, blocked)
    assert outcomes.block(pg_services, blocked, "validate", refused.value)
    # ... and the worker died before the failure response went out.
    not_ours = _pending_record(pg_services, sandboxes, tenant.id, age=0)  # blocked before it was ever taken
    outcomes.block(pg_services, not_ours, "fetch", RecordBlocked("not waiting for us", tell_basware=False))
    for record_id in (blocked, not_ours):
        _age(pg_services, record_id, STALL_AFTER + 60)

    assert resume_stalled(pg_services, start_chain) == [blocked]

    wait_for(lambda: settled(pg_services, blocked), what="the failure response")
    responses = sandboxes.basware.invoice(records.get(pg_services.db, blocked).basware_id)["transferResponses"]
    assert [r["success"] for r in responses] == [False]
    assert "4999" in responses[0]["responseMessage"]
    _age(pg_services, blocked, STALL_AFTER + 60)
    assert resume_stalled(pg_services, start_chain) == []  # told once: nothing more to resume
    assert sandboxes.basware.invoice(records.get(pg_services.db, not_ours).basware_id)["transferResponses"] == []
