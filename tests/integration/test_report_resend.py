"""A transfer response sent, then its worker killed before it noted so: the retry must see that Basware has it."""

from __future__ import annotations

import pytest

from connector.sandbox.basware import make_invoice
from connector.store import records
from connector.sync import steps
from connector.sync.services import Services
from tests.integration.mapping_helpers import row, unique
from tests.support import Sandboxes, add_tenant

pytestmark = pytest.mark.integration


def _written(svc: Services, sandboxes: Sandboxes) -> int:
    tenant = add_tenant(svc, sandboxes)
    basware_id = sandboxes.basware.add_invoice(make_invoice(unique("RS-"), "1001", "Acme Supplies BV", [row()]))
    with svc.db.begin() as conn:
        record_id = records.upsert_pending(conn, tenant.id, "invoice", basware_id)
    for step in (steps.fetch, steps.map_vendor, steps.validate, steps.write):
        step(svc, record_id)
    return record_id


def test_a_response_that_reached_basware_before_the_crash_counts_as_reported(
    pg_services: Services, sandboxes: Sandboxes
) -> None:
    record_id = _written(pg_services, sandboxes)
    record = records.get(pg_services.db, record_id)
    # The earlier attempt kept its code, Basware stored the response, and the worker died before noting it.
    records.update(pg_services.db, record_id, report_code="success:code-sent-before-the-crash")
    basware = pg_services.basware(pg_services.tenant(record.tenant_id))
    basware.post_transfer_response(
        record.basware_id, success=True, message="posted", voucher_number=record.exact_number,
        external_code="code-sent-before-the-crash",
    )  # fmt: skip

    steps.report(pg_services, record_id)

    after = records.get(pg_services.db, record_id)
    responses = sandboxes.basware.invoice(record.basware_id)["transferResponses"]
    assert (after.status, after.reported) == ("written", "success")
    assert [r["externalCode"] for r in responses] == ["code-sent-before-the-crash"]
