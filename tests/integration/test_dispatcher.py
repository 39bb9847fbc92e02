"""The receiver only commits; the workers' dispatcher publishes. Nothing is lost while the broker is down, each
event goes once, and dispatchers in several workers share the inbox without publishing an event twice."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from connector.sandbox.basware import make_invoice
from connector.sandbox.server import ServerThread
from connector.store import inbox
from connector.store.db import inbox as inbox_table
from connector.sync.services import Services
from tests.integration.conftest import settled, wait_for
from tests.support import Sandboxes, add_tenant, notification, post_signed
from workers import dispatcher

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


def test_the_worker_publishes_what_the_receiver_committed_and_the_invoice_is_written_once(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver_without_broker: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    number = f"INV-{uuid.uuid4().hex[:8]}"
    row = {"account_code": "4030", "cost_center_code": "CC100", "tax_code": "VAT21", "tax_percent": 21,
           "net": Decimal("80.00"), "tax": Decimal("16.80")}  # fmt: skip
    invoice_id = sandboxes.basware.add_invoice(make_invoice(number, "1001", "Acme Supplies BV", [row]))

    # The receiver's own enqueue is a broker that is down: the request never publishes, the worker does.
    response = post_signed(receiver_without_broker, tenant.name, notification(invoice_id))

    assert response.status_code == 202
    wait_for(lambda: settled(pg_services, response.json()["record_id"]), what="the invoice to be written and reported")
    assert None not in _enqueued_at(pg_services, tenant.id)
    assert len([e for e in sandboxes.exact.purchase_entries(DIVISION) if e["YourRef"] == number]) == 1


# The two tests below run on a database of their own: the session worker's dispatcher would take their events.
def _recorded(svc: Services, tenant_id: int, count: int) -> list[int]:
    batch = [
        inbox.Notification(tenant_id, f"task-{uuid.uuid4().hex}", "AccountingDocuments", f"doc-{i}", "{}")
        for i in range(count)
    ]
    return sorted(int(a.record_id) for a in inbox.record_notifications(svc.db, batch) if a.record_id is not None)


def test_while_the_broker_is_down_the_dispatcher_retries_and_then_publishes_each_event_once(
    private_pg_services: Services, sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(private_pg_services, sandboxes, authorize=False)
    expected = _recorded(private_pg_services, tenant.id, 3)
    published: list[int] = []
    refusals = [0]

    def publish(record_id: int) -> None:
        if refusals[0] < 3:  # the broker is away for the first rounds
            refusals[0] += 1
            raise ConnectionRefusedError(111, "Connection refused")
        published.append(record_id)

    stop = threading.Event()
    thread = threading.Thread(target=dispatcher.run, args=(private_pg_services.db, publish, stop, 0.05))
    thread.start()
    try:
        wait_for(lambda: inbox.unpublished(private_pg_services.db) == [], what="the events to be published")
    finally:
        stop.set()
        thread.join(10)

    assert refusals[0] == 3
    assert sorted(published) == expected  # each once, none lost to the refusals


def test_two_dispatchers_share_the_inbox_and_never_publish_an_event_twice(
    private_pg_services: Services, sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(private_pg_services, sandboxes, authorize=False)
    expected = _recorded(private_pg_services, tenant.id, 300)
    published: list[int] = []
    lock = threading.Lock()

    def publish(record_id: int) -> None:
        time.sleep(0.001)  # a publish takes a moment, so the two rounds overlap
        with lock:
            published.append(record_id)

    def one_dispatcher() -> None:
        while inbox.dispatch(private_pg_services.db, publish, limit=40):
            pass

    threads = [threading.Thread(target=one_dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(published) == expected
    assert inbox.unpublished(private_pg_services.db) == []


def test_the_dispatcher_outlives_an_unexpected_error_and_publishes_afterwards(
    private_pg_services: Services, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = add_tenant(private_pg_services, sandboxes, authorize=False)
    expected = _recorded(private_pg_services, tenant.id, 2)
    real_dispatch, calls = inbox.dispatch, [0]

    def first_fails(*args: Any, **kwargs: Any) -> int:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("relation inbox does not exist")  # e.g. a worker started before the migration
        return real_dispatch(*args, **kwargs)

    monkeypatch.setattr(inbox, "dispatch", first_fails)
    monkeypatch.setattr(dispatcher, "MAX_PAUSE", 0.1)
    published: list[int] = []
    stop = threading.Event()
    thread = threading.Thread(target=dispatcher.run, args=(private_pg_services.db, published.append, stop, 0.05))
    thread.start()
    try:
        wait_for(lambda: sorted(published) == expected, what="the events after the error")
    finally:
        stop.set()
        thread.join(10)
