"""Nothing lost while the broker is down: the receiver records the event, and once the broker is back the inbox
sweeper (`republish_inbox`, run here in-process: a real publish to Redis) hands it to the real worker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from connector.sandbox.basware import make_invoice
from connector.sandbox.server import ServerThread
from connector.store import inbox, records
from connector.store.db import inbox as inbox_table
from connector.sync.services import Services
from tests.integration.conftest import settled, wait_for
from tests.support import Sandboxes, add_tenant, notification, post_signed
from workers import context as worker_context

pytestmark = pytest.mark.integration
DIVISION = 100001


class BrokerDown:
    """An enqueue that fails as a publish to an unreachable broker does."""

    def __call__(self, record_id: int) -> None:
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.fixture
def receiver_without_broker(pg_services: Services) -> Iterator[str]:
    from webhook_receiver import create_app

    with ServerThread(create_app(pg_services, enqueue=BrokerDown())) as server:
        yield server.url


def _enqueued_at(svc: Services, tenant_id: int) -> list[float | None]:
    with svc.db.begin() as conn:
        rows = conn.execute(inbox_table.select().where(inbox_table.c.tenant_id == tenant_id)).all()
    return [row.enqueued_at for row in rows]


def test_events_recorded_while_the_broker_was_down_are_delivered_once_it_is_back(
    pg_services: Services,
    sandboxes: Sandboxes,
    worker: Any,
    celery_app: Any,
    receiver_without_broker: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workers.tasks import republish_inbox

    tenant = add_tenant(pg_services, sandboxes)
    number = f"INV-{uuid.uuid4().hex[:8]}"
    row = {"account_code": "4030", "cost_center_code": "CC100", "tax_code": "VAT21", "tax_percent": 21,
           "net": Decimal("80.00"), "tax": Decimal("16.80")}  # fmt: skip
    invoice_id = sandboxes.basware.add_invoice(make_invoice(number, "1001", "Acme Supplies BV", [row]))
    body = notification(invoice_id)

    response = post_signed(receiver_without_broker, tenant.name, body)

    assert response.status_code == 202  # recorded, so Basware must not redeliver
    [(record, _)] = records.list_records(pg_services.db, tenant_id=tenant.id)
    assert record.status == "pending" and _enqueued_at(pg_services, tenant.id) == [None]
    assert [e for e in sandboxes.exact.purchase_entries(DIVISION) if e["YourRef"] == number] == []

    # The broker is back; beat's sweep runs (the 30 s grace has passed, as it would have during the outage).
    monkeypatch.setattr(inbox, "REPUBLISH_GRACE", 0.0)
    with worker_context.using(pg_services):  # the task bodies run here, on the test's Services
        assert republish_inbox.run() >= 1

        swept = _enqueued_at(pg_services, tenant.id)
        assert None not in swept
        wait_for(lambda: settled(pg_services, record.id), what="the swept invoice to be written and reported")
        assert len([e for e in sandboxes.exact.purchase_entries(DIVISION) if e["YourRef"] == number]) == 1
        republish_inbox.run()
        assert _enqueued_at(pg_services, tenant.id) == swept  # a published event is not sent again
