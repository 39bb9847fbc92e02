"""Nothing lost, nothing written twice, when a worker dies mid-task or Exact fails for a while."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from decimal import Decimal
from typing import Any

import pytest

from connector.sandbox.basware import make_invoice
from connector.store import audit, records
from connector.store.tenants import Tenant
from connector.sync.services import Services
from tests.integration.conftest import WORKER_PIDS, settled, wait_for
from tests.support import Sandboxes, add_tenant, notification, post_signed

pytestmark = pytest.mark.integration
DIVISION = 100001


def _send(receiver: str, tenant: Tenant, sandboxes: Sandboxes, number: str) -> str:
    invoice_id = sandboxes.basware.add_invoice(
        make_invoice(
            number,
            "1002",
            "Globex Office Supplies",
            [
                {
                    "account_code": "4030",
                    "cost_center_code": "CC300",
                    "tax_code": "VAT21",
                    "tax_percent": 21,
                    "net": Decimal("512.34"),
                    "tax": Decimal("107.59"),
                }
            ],
        )
    )
    body = notification(invoice_id)
    response = post_signed(receiver, tenant.name, body)
    assert response.status_code == 202
    return invoice_id


def _record(svc: Services, tenant: Tenant, invoice_id: str) -> records.Record | None:
    found = [r for r, _ in records.list_records(svc.db, tenant_id=tenant.id) if r.basware_id == invoice_id]
    return found[0] if found else None


def _entries(sandboxes: Sandboxes, number: str) -> list[dict[str, Any]]:
    return [e for e in sandboxes.exact.purchase_entries(DIVISION) if e["YourRef"] == number]


def _warm_tenant(svc: Services, sandboxes: Sandboxes, receiver: str) -> Tenant:
    """A tenant with one invoice written, so its master data and vendor are cached and known."""
    tenant = add_tenant(svc, sandboxes)
    warm = _send(receiver, tenant, sandboxes, f"WARM-{uuid.uuid4().hex[:6]}")
    wait_for(lambda: settled(svc, _record(svc, tenant, warm).id), what="the warm-up invoice")
    return tenant


def test_a_worker_killed_while_its_post_is_in_flight_ends_with_one_entry(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    tenant = _warm_tenant(pg_services, sandboxes, receiver)
    number = f"INV-{uuid.uuid4().hex[:8]}"
    # Master data and the vendor are known now, so the write's POST is this invoice's only Exact call:
    # slowed down, it is still in flight when the worker's pool processes are killed.
    sandboxes.exact.set_faults(delay=4)
    try:
        invoice_id = _send(receiver, tenant, sandboxes, number)
        wait_for(
            lambda: (r := _record(pg_services, tenant, invoice_id)) is not None and r.write_attempts == 1,
            what="the POST to be in flight",
        )
        children = subprocess.run(["pgrep", "-P", str(WORKER_PIDS["main"])], capture_output=True, text=True)
        for pid in children.stdout.split():
            os.kill(int(pid), signal.SIGKILL)
        record_id = _record(pg_services, tenant, invoice_id).id
        wait_for(lambda: settled(pg_services, record_id), timeout=90, what="the redelivered task to finish")
    finally:
        sandboxes.exact.set_faults()

    assert records.get(pg_services.db, record_id).status == "written"
    assert len(_entries(sandboxes, number)) == 1
    events = [a["event"] for a in audit.entries(pg_services.db, record_id=record_id)]
    assert "entry_adopted" in events and "entry_created" not in events


def test_exact_failing_for_a_while_is_retried_and_written_once(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    tenant = _warm_tenant(pg_services, sandboxes, receiver)
    number = f"INV-{uuid.uuid4().hex[:8]}"
    sandboxes.exact.set_faults(error_5xx_count=2)
    try:
        invoice_id = _send(receiver, tenant, sandboxes, number)
        record_id = _record(pg_services, tenant, invoice_id).id
        wait_for(lambda: settled(pg_services, record_id), timeout=90, what="the retries to succeed")
    finally:
        sandboxes.exact.set_faults()

    record = records.get(pg_services.db, record_id)
    assert record.status == "written"
    assert len(_entries(sandboxes, number)) == 1
    assert sandboxes.basware.invoice(invoice_id)["processingStatus"] == "Transferred"
