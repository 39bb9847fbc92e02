"""The worker's log names the tenant, the record and the step on every line written during a step."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from connector.sandbox.basware import make_invoice
from connector.sync.services import Services
from tests.integration.conftest import settled, wait_for
from tests.support import Sandboxes, add_tenant, notification, post_signed

pytestmark = pytest.mark.integration


def test_step_lines_in_the_worker_log_say_which_tenant_record_and_step(
    pg_services: Services, sandboxes: Sandboxes, worker: Path, receiver: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    invoice_id = sandboxes.basware.add_invoice(
        make_invoice(
            f"INV-{uuid.uuid4().hex[:8]}",
            "1001",
            "Acme Supplies BV",
            [
                {
                    "account_code": "4000",
                    "cost_center_code": "CC100",
                    "tax_code": "VAT21",
                    "tax_percent": 21,
                    "net": Decimal("10.00"),
                    "tax": Decimal("2.10"),
                }
            ],
        )
    )
    body = notification(invoice_id)
    record_id = post_signed(receiver, tenant.name, body).json()["record_id"]
    wait_for(lambda: settled(pg_services, record_id), what="the invoice")

    lines = [line for line in worker.read_text().splitlines() if f"[tenant={tenant.id} record={record_id} " in line]
    steps = {match.group(1) for line in lines if (match := re.search(r" step=(\w+)\]", line))}

    assert {"fetch", "map_vendor", "validate", "write", "report"} <= steps
    assert any("basware token issued" in line for line in lines)  # a library-level line, not only the audit's
