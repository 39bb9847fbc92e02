"""A purchase order notification in, exactly one Exact purchase order out, and Basware told it is exported.

PostgreSQL, Redis, the real worker process and both sandboxes over HTTP. This module has a Basware sandbox of
its own, so the orders here are the only ones its tenants can see.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connector.sandbox.basware import make_purchase_order
from connector.sandbox.exact.items import DEFAULT_ITEM
from connector.sandbox.exact.seed import seed_guid
from connector.sandbox.server import ServerThread
from connector.store import audit, mappings, records, tenants
from connector.store.records import Reported
from connector.store.tenants import Tenant
from connector.sync import outcomes, steps
from connector.sync.order import OrderKind
from connector.sync.plan import Plan
from connector.sync.services import Services
from tests.integration.conftest import wait_for
from tests.support import Sandboxes, add_tenant, notification, own_basware_next_to, post_signed

pytestmark = pytest.mark.integration
DIVISION = 100001


@pytest.fixture(scope="module")
def po_sandboxes(sandboxes: Sandboxes) -> Iterator[Sandboxes]:
    """The session's Exact sandbox with a Basware sandbox of this module's own."""
    with own_basware_next_to(sandboxes) as own:
        yield own


@pytest.fixture(scope="module")
def order_receiver(pg_services: Services, celery_app: Any) -> Iterator[str]:
    """The webhook app over HTTP; a worker picks the chain for each record's kind."""
    from webhook_receiver import create_app
    from workers.tasks import start_chain

    with ServerThread(create_app(pg_services, enqueue=start_chain)) as server:
        yield server.url


def _tenant(svc: Services, sandboxes: Sandboxes, *, default_item: str | None = DEFAULT_ITEM) -> Tenant:
    tenant = add_tenant(svc, sandboxes)
    tenants.update_tenant(svc.db, tenant.id, default_item=default_item)
    mappings.put(svc.db, tenant.id, "item", "TX1", "TONER-X1")  # the supplier's code for our toner
    return svc.tenant(tenant.id)


def _line_specs(paper: int = 10) -> list[dict[str, Any]]:
    """Paper, toner and a free-text team lunch, as `make_purchase_order` takes lines."""
    return [
        {"quantity": paper, "unit_price": Decimal("4.10"), "buyer_product_code": "PAPER-A4", "description": "Paper",
         "cost_center_code": "CC200", "project_code": "CU1", "tax_percent": 21},
        {"quantity": Decimal("2.5"), "unit_price": Decimal("61.00"), "supplier_product_code": "TX1",
         "description": "Toner", "cost_center_code": "CC300", "tax_percent": 21},
        {"quantity": 1, "unit_price": Decimal("149.95"), "line_type": "FreeText", "description": "Team lunch",
         "cost_center_code": "CC100", "tax_percent": 9},
    ]  # fmt: skip


def _order(number: str, lines: list[dict[str, Any]], external_code: str | None = None) -> dict[str, Any]:
    return make_purchase_order(
        number, "1001", "Acme Supplies BV", lines, desired_delivery_date="2026-12-01", external_code=external_code
    )


def _three_line_order(number: str, *, paper: int = 10, external_code: str | None = None) -> dict[str, Any]:
    return _order(number, _line_specs(paper), external_code)


def _notify(receiver: str, tenant: Tenant, external_code: str) -> int:
    body = notification(external_code, task_type="ExportedPurchaseOrders", sub_type="WaitingForExport")
    return post_signed(receiver, tenant.name, body).status_code


def _exact_orders(sandboxes: Sandboxes, your_ref: str) -> list[dict[str, Any]]:
    return [o for o in sandboxes.exact.orders.purchase_orders(DIVISION) if o["YourRef"] == your_ref]


def _record(svc: Services, tenant: Tenant) -> records.Record:
    [(record, _)] = records.list_records(svc.db, tenant_id=tenant.id, kind="purchase_order")
    return record


def _exported(svc: Services, record_id: int) -> bool:
    record = records.get(svc.db, record_id)
    return (record.status, record.reported) == ("written", Reported.ACKNOWLEDGED)


def _blocked(svc: Services, record_id: int) -> bool:
    return records.get(svc.db, record_id).status == "blocked"


def test_a_three_line_order_lands_once_in_exact_and_is_acknowledged(
    pg_services: Services, po_sandboxes: Sandboxes, worker: Any, order_receiver: str
) -> None:
    tenant = _tenant(pg_services, po_sandboxes)
    number = f"PO-{uuid.uuid4().hex[:8]}"
    code = po_sandboxes.basware.purchase_orders.add(_three_line_order(number))

    assert _notify(order_receiver, tenant, code) == 202

    record = _record(pg_services, tenant)
    wait_for(lambda: _exported(pg_services, record.id), what="the order to be written and acknowledged")
    [order] = _exact_orders(po_sandboxes, number)
    assert order["Supplier"] == seed_guid(DIVISION, "Account", "1001")
    fields = ("ItemCode", "QuantityInPurchaseUnits", "NetPrice", "AmountFC", "CostCenter", "CostUnit")
    assert [tuple(line[name] for name in fields) for line in order["PurchaseOrderLines"]] == [
        ("PAPER-A4", Decimal("10"), Decimal("4.10"), Decimal("41.00"), "CC200", "CU1"),
        ("TONER-X1", Decimal("2.5"), Decimal("61.00"), Decimal("152.50"), "CC300", None),
        (DEFAULT_ITEM, Decimal("1"), Decimal("149.95"), Decimal("149.95"), "CC100", None),
    ]  # fmt: skip
    assert [ln["Description"] for ln in order["PurchaseOrderLines"]] == ["Paper", "Toner", "Team lunch"]
    assert {ln["ReceiptDate"] for ln in order["PurchaseOrderLines"]} == {datetime(2026, 12, 1, tzinfo=UTC)}
    assert order["AmountFC"] == Decimal("343.45")
    written = records.get(pg_services.db, record.id)
    assert (written.reference, written.exact_number) == (number, str(order["OrderNumber"]))
    basware = po_sandboxes.basware.purchase_orders.view(code)
    assert (basware["processingStatus"], basware["acknowledged"]) == ("Exported", 1)


def test_three_deliveries_of_one_order_at_once_give_one_exact_order_and_one_acknowledge(
    pg_services: Services, po_sandboxes: Sandboxes, worker: Any, order_receiver: str
) -> None:
    tenant = _tenant(pg_services, po_sandboxes)
    number = f"PO-{uuid.uuid4().hex[:8]}"
    code = po_sandboxes.basware.purchase_orders.add(_three_line_order(number))

    with ThreadPoolExecutor(3) as pool:
        statuses = list(pool.map(lambda _: _notify(order_receiver, tenant, code), range(3)))

    assert statuses == [202, 202, 202]  # three task ids, three chains racing for one record
    record = _record(pg_services, tenant)
    wait_for(lambda: _exported(pg_services, record.id), what="the order to be exported")
    assert len(_exact_orders(po_sandboxes, number)) == 1
    assert po_sandboxes.basware.purchase_orders.view(code)["acknowledged"] == 1


def test_a_free_text_line_without_a_default_item_blocks_then_a_replay_after_the_fix_writes_it(
    pg_services: Services, po_sandboxes: Sandboxes, worker: Any, order_receiver: str
) -> None:
    from workers.tasks import start_chain

    tenant = _tenant(pg_services, po_sandboxes, default_item=None)
    number = f"PO-{uuid.uuid4().hex[:8]}"
    code = po_sandboxes.basware.purchase_orders.add(_three_line_order(number))

    assert _notify(order_receiver, tenant, code) == 202

    record = _record(pg_services, tenant)
    wait_for(lambda: _blocked(pg_services, record.id), what="the order to be blocked")
    blocked = records.get(pg_services.db, record.id)
    [problem] = blocked.problems or []
    assert (problem["row"], problem["field"]) == (3, "item")
    assert "no default item" in problem["problem"] and "--default-item" in problem["problem"]
    assert _exact_orders(po_sandboxes, number) == []
    assert po_sandboxes.basware.purchase_orders.view(code)["processingStatus"] == "WaitingForExport"

    tenants.update_tenant(pg_services.db, tenant.id, default_item=DEFAULT_ITEM)
    assert outcomes.resume(pg_services, record.id)
    start_chain(record.id)

    wait_for(lambda: _exported(pg_services, record.id), what="the replayed order to be exported")
    [order] = _exact_orders(po_sandboxes, number)
    assert order["PurchaseOrderLines"][2]["ItemCode"] == DEFAULT_ITEM


def test_an_order_already_in_exact_from_an_interrupted_write_is_adopted_not_duplicated(
    pg_services: Services, po_sandboxes: Sandboxes, worker: Any
) -> None:
    from workers.tasks import start_chain

    tenant = _tenant(pg_services, po_sandboxes)
    number = f"PO-{uuid.uuid4().hex[:8]}"
    code = po_sandboxes.basware.purchase_orders.add(_three_line_order(number))
    with pg_services.db.begin() as conn:
        record_id = records.upsert_pending(conn, tenant.id, "purchase_order", code)
    for step in (steps.fetch, steps.map_vendor, steps.validate):
        step(pg_services, record_id)
    # The worker posted the order, Exact created it, and the worker died before it could commit.
    record = records.get(pg_services.db, record_id)
    kind = OrderKind()
    assert record.document is not None
    payload = kind.payload(Plan.load(record.plan), kind.parse(record.document, tenant))
    pg_services.exact(tenant).create_purchase_order(payload)
    records.update(pg_services.db, record_id, write_attempts=1)

    start_chain(record_id)

    wait_for(lambda: _exported(pg_services, record_id), what="the order to be adopted and acknowledged")
    [order] = _exact_orders(po_sandboxes, number)
    assert records.get(pg_services.db, record_id).exact_id == order["PurchaseOrderID"]
    events = [row["event"] for row in audit.entries(pg_services.db, record_id=record_id)]
    assert "order_adopted" in events and "order_created" not in events


def _written_order(svc: Services, sandboxes: Sandboxes, receiver: str) -> tuple[Tenant, str, str, int]:
    tenant = _tenant(svc, sandboxes)
    number = f"PO-{uuid.uuid4().hex[:8]}"
    code = sandboxes.basware.purchase_orders.add(_three_line_order(number))
    assert _notify(receiver, tenant, code) == 202
    record = _record(svc, tenant)
    wait_for(lambda: _exported(svc, record.id), what="the first version to be exported")
    return tenant, number, code, record.id


def test_an_order_exported_again_unchanged_is_only_acknowledged_again(
    pg_services: Services, po_sandboxes: Sandboxes, worker: Any, order_receiver: str
) -> None:
    tenant, number, code, record_id = _written_order(pg_services, po_sandboxes, order_receiver)
    po_sandboxes.basware.purchase_orders.add(_three_line_order(number, external_code=code))  # re-exported

    assert _notify(order_receiver, tenant, code) == 202

    wait_for(lambda: po_sandboxes.basware.purchase_orders.view(code)["acknowledged"] == 2, what="a new acknowledge")
    assert len(_exact_orders(po_sandboxes, number)) == 1
    assert "unchanged" in [a["event"] for a in audit.entries(pg_services.db, record_id=record_id)]


def test_an_order_changed_after_it_reached_exact_is_updated_in_place_and_acknowledged_again(
    pg_services: Services, po_sandboxes: Sandboxes, worker: Any, order_receiver: str
) -> None:
    tenant, number, code, record_id = _written_order(pg_services, po_sandboxes, order_receiver)
    po_sandboxes.basware.purchase_orders.add(_order(number, _line_specs(paper=12)[:2], code))  # lunch dropped

    assert _notify(order_receiver, tenant, code) == 202

    wait_for(lambda: po_sandboxes.basware.purchase_orders.view(code)["acknowledged"] == 2, what="a new acknowledge")
    [order] = _exact_orders(po_sandboxes, number)  # still one
    assert [line["QuantityInPurchaseUnits"] for line in order["PurchaseOrderLines"]] == [Decimal("12"), Decimal("2.5")]
    assert records.get(pg_services.db, record_id).status == "written"
    events = [a["event"] for a in audit.entries(pg_services.db, record_id=record_id)]
    assert {"line_put", "line_delete", "order_updated"} <= set(events)


def test_an_order_with_lines_added_after_it_reached_exact_is_blocked_with_the_changes_until_resolved(
    pg_services: Services, po_sandboxes: Sandboxes, worker: Any, order_receiver: str
) -> None:
    tenant, number, code, record_id = _written_order(pg_services, po_sandboxes, order_receiver)
    more = {"quantity": 1, "unit_price": Decimal("5.00"), "buyer_product_code": "PAPER-A4", "description": "More",
            "cost_center_code": "CC200", "tax_percent": 21}  # fmt: skip
    po_sandboxes.basware.purchase_orders.add(_order(number, [*_line_specs(paper=12), more], code))

    assert _notify(order_receiver, tenant, code) == 202

    wait_for(lambda: _blocked(pg_services, record_id), what="the changed order to be blocked")
    blocked = records.get(pg_services.db, record_id)
    assert blocked.reason is not None and "line 1 quantity 10 -> 12" in blocked.reason
    assert "lines were added in Basware" in blocked.reason and "correct it in Exact by hand" in blocked.reason
    [order] = _exact_orders(po_sandboxes, number)  # still one, as first written
    assert order["PurchaseOrderLines"][0]["QuantityInPurchaseUnits"] == Decimal("10")
    update = [a for a in audit.entries(pg_services.db, record_id=record_id) if a["step"] == "update"]
    changes = update[-1]["detail"]["changes"]
    assert {"line 1 quantity 10 -> 12", "line 4 added"} <= set(changes)
    assert update[-1]["detail"]["before"]["orderNumber"] == update[-1]["detail"]["after"]["orderNumber"] == number
    assert po_sandboxes.basware.purchase_orders.view(code)["processingStatus"] == "WaitingForExport"

    assert outcomes.accept_correction(pg_services, record_id, "quantity changed in Exact")
    from workers.tasks import start_chain

    start_chain(record_id)
    wait_for(lambda: _exported(pg_services, record_id), what="the resolved order to be acknowledged")
    assert po_sandboxes.basware.purchase_orders.view(code)["acknowledged"] == 2


def test_a_changed_order_exact_no_longer_lets_us_change_is_blocked(
    pg_services: Services, po_sandboxes: Sandboxes, worker: Any, order_receiver: str
) -> None:
    tenant, number, code, record_id = _written_order(pg_services, po_sandboxes, order_receiver)
    [order] = _exact_orders(po_sandboxes, number)
    po_sandboxes.exact.orders.set_order_status(DIVISION, order["PurchaseOrderID"], 30)  # goods received, closed
    po_sandboxes.basware.purchase_orders.add(_three_line_order(number, paper=12, external_code=code))

    assert _notify(order_receiver, tenant, code) == 202

    wait_for(lambda: _blocked(pg_services, record_id), what="the changed order to be blocked")
    reason = records.get(pg_services.db, record_id).reason or ""
    assert "no longer open" in reason and "line 1 quantity 10 -> 12" in reason
    [order] = _exact_orders(po_sandboxes, number)
    assert order["PurchaseOrderLines"][0]["QuantityInPurchaseUnits"] == Decimal("10")
