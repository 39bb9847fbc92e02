"""Polling as the safety net: documents whose notification never came are found within one interval, and a
webhook racing the poller still gives one Exact document. The poll is called with a controlled `now`.

Each test has a Basware sandbox of its own, so a poll sees only the documents the test put there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from connector import jsonutil
from connector.sandbox.basware import make_invoice, make_purchase_order
from connector.sandbox.exact.items import DEFAULT_ITEM
from connector.sandbox.server import ServerThread
from connector.store import audit, records, tenants
from connector.store.records import Reported
from connector.store.tenants import Tenant
from connector.sync import polling
from connector.sync.services import Services
from tests.integration.conftest import settled, wait_for
from tests.support import Sandboxes, add_tenant, own_basware_next_to, post_signed

pytestmark = pytest.mark.integration
DIVISION = 100001
T0 = 1_900_000_000.0
INTERVAL = 300


@pytest.fixture
def own_basware(sandboxes: Sandboxes) -> Iterator[Sandboxes]:
    """The session's Exact sandbox with a fresh Basware sandbox for this test alone."""
    with own_basware_next_to(sandboxes) as own:
        yield own


@pytest.fixture(scope="module")
def order_receiver(pg_services: Services, celery_app: Any) -> Iterator[str]:
    from webhook_receiver import create_app
    from workers.tasks import start_chain

    with ServerThread(create_app(pg_services, enqueue=start_chain)) as server:
        yield server.url


@pytest.fixture
def enqueue(celery_app: Any) -> Any:
    """What the beat task hands the poller: publish a chain-starting task to the real broker."""
    from workers.tasks import start_chain

    return start_chain


def _tenant(svc: Services, sandboxes: Sandboxes, default_item: str | None = DEFAULT_ITEM) -> Tenant:
    tenant = add_tenant(svc, sandboxes)
    tenants.update_tenant(svc.db, tenant.id, poll_interval=INTERVAL, default_item=default_item)
    return svc.tenant(tenant.id)


def _invoice(number: str) -> dict[str, Any]:
    row = {"account_code": "4010", "cost_center_code": "CC200", "tax_code": "VAT21", "tax_percent": 21,
           "net": Decimal("250.00"), "tax": Decimal("52.50")}  # fmt: skip
    return make_invoice(number, "1002", "Globex Office Supplies", [row])


def _order(number: str) -> dict[str, Any]:
    lines = [
        {"quantity": 4, "unit_price": Decimal("4.10"), "buyer_product_code": "PAPER-A4", "cost_center_code": "CC100"},
        {"quantity": 1, "unit_price": Decimal("35.00"), "line_type": "FreeText", "description": "Courier"},
    ]
    return make_purchase_order(number, "1002", "Globex Office Supplies", lines)


def _record_of(svc: Services, tenant: Tenant, kind: str, basware_id: str) -> records.Record | None:
    found = [r for r, _ in records.list_records(svc.db, tenant_id=tenant.id, kind=kind) if r.basware_id == basware_id]
    return found[0] if found else None


def _exported(svc: Services, record_id: int) -> bool:
    record = records.get(svc.db, record_id)
    return (record.status, record.reported) == ("written", Reported.ACKNOWLEDGED)


def _exact_orders(sandboxes: Sandboxes, your_ref: str) -> list[dict[str, Any]]:
    return [o for o in sandboxes.exact.orders.purchase_orders(DIVISION) if o["YourRef"] == your_ref]


def _exact_entries(sandboxes: Sandboxes, your_ref: str) -> list[dict[str, Any]]:
    return [e for e in sandboxes.exact.purchase_entries(DIVISION) if e["YourRef"] == your_ref]


def test_documents_whose_notifications_were_dropped_are_picked_up_within_one_interval(
    pg_services: Services, own_basware: Sandboxes, worker: Any, enqueue: Any
) -> None:
    tenant = _tenant(pg_services, own_basware)
    assert polling.poll_if_due(pg_services, tenant, enqueue, now=T0) is not None  # the first poll: nothing waits
    invoice_number, order_number = f"INV-{uuid.uuid4().hex[:8]}", f"PO-{uuid.uuid4().hex[:8]}"
    invoice_id = own_basware.basware.add_invoice(_invoice(invoice_number))
    order_code = own_basware.basware.purchase_orders.add(_order(order_number))  # no notification for either

    assert polling.poll_if_due(pg_services, tenant, enqueue, now=T0 + INTERVAL - 1) is None  # not due yet
    assert records.list_records(pg_services.db, tenant_id=tenant.id) == []

    result = polling.poll_if_due(pg_services, tenant, enqueue, now=T0 + INTERVAL)

    assert result is not None and (result.waiting, len(result.new)) == (2, 2)
    invoice = _record_of(pg_services, tenant, "invoice", invoice_id)
    order = _record_of(pg_services, tenant, "purchase_order", order_code)
    assert invoice is not None and order is not None
    wait_for(lambda: settled(pg_services, invoice.id), what="the polled invoice to be written and reported")
    wait_for(lambda: _exported(pg_services, order.id), what="the polled order to be written and acknowledged")
    assert len(_exact_entries(own_basware, invoice_number)) == 1
    assert len(_exact_orders(own_basware, order_number)) == 1
    assert "found_by_poll" in [row["event"] for row in audit.entries(pg_services.db, record_id=order.id)]


def test_documents_that_already_have_a_record_are_left_alone(
    pg_services: Services, own_basware: Sandboxes, worker: Any, enqueue: Any
) -> None:
    tenant = _tenant(pg_services, own_basware, default_item=None)  # the free-text line will block
    order_code = own_basware.basware.purchase_orders.add(_order(f"PO-{uuid.uuid4().hex[:8]}"))
    first = polling.poll_if_due(pg_services, tenant, enqueue, now=T0)
    assert first is not None and len(first.new) == 1
    record_id = first.new[0]
    wait_for(lambda: records.get(pg_services.db, record_id).status == "blocked", what="the order to block")
    trail = audit.entries(pg_services.db, record_id=record_id)

    again = polling.poll_if_due(pg_services, tenant, enqueue, now=T0 + INTERVAL)

    assert again is not None and (again.waiting, again.new) == (1, [])  # still waiting in Basware, not restarted
    assert records.get(pg_services.db, record_id).status == "blocked"
    assert audit.entries(pg_services.db, record_id=record_id) == trail
    assert own_basware.basware.purchase_orders.view(order_code)["processingStatus"] == "WaitingForExport"


def test_a_tenant_with_polling_off_is_never_polled(pg_services: Services, own_basware: Sandboxes) -> None:
    tenant = _tenant(pg_services, own_basware)
    tenants.update_tenant(pg_services.db, tenant.id, poll_interval=0)
    own_basware.basware.add_invoice(_invoice("INV-OFF"))

    assert polling.poll_if_due(pg_services, pg_services.tenant(tenant.id), lambda _id: None, now=T0) is None
    assert records.list_records(pg_services.db, tenant_id=tenant.id) == []


def _notify(receiver: str, tenant: Tenant, task_type: str, document_id: str) -> int:
    body = jsonutil.dumps(
        {"taskId": str(uuid.uuid4()), "taskStatus": "New", "taskType": task_type, "documentId": document_id}
    ).encode()
    return post_signed(receiver, tenant.name, body).status_code


def test_a_webhook_and_a_poll_for_the_same_documents_at_once_give_one_exact_document_each(
    pg_services: Services, own_basware: Sandboxes, worker: Any, order_receiver: str, enqueue: Any
) -> None:
    tenant = _tenant(pg_services, own_basware)
    invoice_number, order_number = f"INV-{uuid.uuid4().hex[:8]}", f"PO-{uuid.uuid4().hex[:8]}"
    invoice_id = own_basware.basware.add_invoice(_invoice(invoice_number))
    order_code = own_basware.basware.purchase_orders.add(_order(order_number))

    with ThreadPoolExecutor(3) as pool:
        poll = pool.submit(polling.poll_tenant, pg_services, tenant, enqueue)
        hooks = [
            pool.submit(_notify, order_receiver, tenant, "AccountingDocuments", invoice_id),
            pool.submit(_notify, order_receiver, tenant, "ExportedPurchaseOrders", order_code),
        ]
        assert [hook.result() for hook in hooks] == [202, 202]
        assert poll.result().waiting == 2

    invoice = _record_of(pg_services, tenant, "invoice", invoice_id)
    order = _record_of(pg_services, tenant, "purchase_order", order_code)
    assert invoice is not None and order is not None
    assert len(records.list_records(pg_services.db, tenant_id=tenant.id)) == 2  # one record per document
    wait_for(lambda: settled(pg_services, invoice.id), what="the invoice to settle")
    wait_for(lambda: _exported(pg_services, order.id), what="the order to be exported")
    assert len(_exact_entries(own_basware, invoice_number)) == 1
    assert len(own_basware.basware.invoice(invoice_id)["transferResponses"]) == 1
    assert len(_exact_orders(own_basware, order_number)) == 1
    assert own_basware.basware.purchase_orders.view(order_code)["acknowledged"] == 1
