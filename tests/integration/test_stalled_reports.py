"""A record written in Exact whose report to Basware was lost (the broker restarted, or the worker was killed
between the write and the report) is resumed by the stalled-record sweep and reported once."""

from __future__ import annotations

import time

import pytest

from connector.sandbox.basware import make_invoice
from connector.store import records
from connector.store.db import records as records_table
from connector.sync import steps
from connector.sync.services import Services
from connector.sync.stalled import resume_stalled
from tests.integration.mapping_helpers import row, unique
from tests.support import Sandboxes, add_tenant

pytestmark = pytest.mark.integration


def _written_long_ago(svc: Services, sandboxes: Sandboxes) -> int:
    tenant = add_tenant(svc, sandboxes)
    basware_id = sandboxes.basware.add_invoice(make_invoice(unique("SR-"), "1001", "Acme Supplies BV", [row()]))
    with svc.db.begin() as conn:
        record_id = records.upsert_pending(conn, tenant.id, "invoice", basware_id)
    for step in (steps.fetch, steps.map_vendor, steps.validate, steps.write):
        step(svc, record_id)
    with svc.db.begin() as conn:  # the report task never came: its publish failed, or the queue was lost
        conn.execute(records_table.update().where(records_table.c.id == record_id).values(updated_at=time.time() - 400))
    return record_id


def test_a_written_record_never_reported_is_resumed_and_reported_once(
    pg_services: Services, sandboxes: Sandboxes
) -> None:
    record_id = _written_long_ago(pg_services, sandboxes)

    chain = (steps.fetch, steps.map_vendor, steps.validate, steps.write, steps.report)
    resumed = resume_stalled(pg_services, lambda rid: [step(pg_services, rid) for step in chain], older_than=300)

    record = records.get(pg_services.db, record_id)
    assert record_id in resumed
    assert (record.status, record.reported) == ("written", "success")
    assert len(sandboxes.basware.invoice(record.basware_id)["transferResponses"]) == 1
    assert record_id not in resume_stalled(pg_services, lambda rid: None, older_than=0)  # reported: left alone
