"""Exported purchase orders over HTTP: paged listing, 302 single GETs, acknowledge once, signed pushes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from connector import jsonutil
from connector.basware.orders import load_purchase_order
from connector.basware.schemas import load_notification
from connector.basware.signature import verify
from connector.errors import FatalAPIError
from connector.sandbox.basware import make_purchase_order
from tests.contract.basware_fixtures import Basware, running_basware, webhook_receiver

SECRET = "per-tenant-webhook-secret"


@pytest.fixture
def bw() -> Iterator[Basware]:
    with running_basware(page_size=2) as running:
        yield running


def _add(bw: Basware, number: str) -> str:
    lines = [
        {"quantity": 3, "unit_price": Decimal("4.10"), "buyer_product_code": "PAPER-A4", "cost_center_code": "CC100"},
        {"quantity": 1, "unit_price": Decimal("99.99"), "line_type": "FreeText", "description": "Workshop"},
    ]
    return bw.sandbox.purchase_orders.add(make_purchase_order(number, "1001", "Acme Supplies BV", lines))


def test_listing_pages_through_every_waiting_order(bw: Basware) -> None:
    codes = [_add(bw, f"PO-{n}") for n in range(5)]

    listed = list(bw.client.list_exported_purchase_orders())

    assert [order["externalCode"] for order in listed] == codes


def test_no_waiting_orders_is_an_empty_listing(bw: Basware) -> None:
    assert list(bw.client.list_exported_purchase_orders()) == []


def test_listing_also_copes_with_a_redirected_page() -> None:
    with running_basware(redirect_lists=True, page_size=1) as bw:
        codes = [_add(bw, f"PO-R{n}") for n in range(3)]
        assert [o["externalCode"] for o in bw.client.list_exported_purchase_orders()] == codes


def test_one_order_is_fetched_through_its_redirect_with_exact_amounts(bw: Basware) -> None:
    code = _add(bw, "PO-7")

    order = load_purchase_order(bw.client.get_exported_purchase_order(code))

    assert order.order_number == "PO-7"
    assert [(line.quantity, line.unit_price, line.net_sum) for line in order.lines] == [
        (Decimal("3"), Decimal("4.10"), Decimal("12.30")),
        (Decimal("1"), Decimal("99.99"), Decimal("99.99")),
    ]
    assert order.lines[0].coding[0].cost_center_code == "CC100"


def test_an_unknown_order_is_fatal_404(bw: Basware) -> None:
    with pytest.raises(FatalAPIError) as caught:
        bw.client.get_exported_purchase_order("no-such-order")
    assert caught.value.status == 404


def test_acknowledge_works_once_and_the_order_leaves_the_waiting_list(bw: Basware) -> None:
    code, other = _add(bw, "PO-8"), _add(bw, "PO-9")

    assert bw.client.acknowledge_purchase_order(code) is True
    assert bw.client.acknowledge_purchase_order(code) is False  # 405: done already

    assert bw.sandbox.purchase_orders.view(code)["acknowledged"] == 1
    assert bw.sandbox.purchase_orders.view(code)["processingStatus"] == "Exported"
    assert [o["externalCode"] for o in bw.client.list_exported_purchase_orders()] == [other]


def test_acknowledging_an_unknown_order_is_fatal(bw: Basware) -> None:
    with pytest.raises(FatalAPIError):
        bw.client.acknowledge_purchase_order("no-such-order")


def test_a_purchase_order_notification_is_signed_and_names_the_order(bw: Basware) -> None:
    code = _add(bw, "PO-10")
    with webhook_receiver() as receiver:
        bw.sandbox.subscribe(receiver.url, SECRET, task_type="ExportedPurchaseOrders")
        assert bw.sandbox.purchase_orders.notify(code) == 200
    pushed = receiver.received[-1]
    verify(SECRET, pushed["body"], pushed["headers"]["X-Bw-Signature"])
    notification = load_notification(jsonutil.loads(pushed["body"]))
    assert (notification.task_type, notification.task_sub_type, notification.document_id) == (
        "ExportedPurchaseOrders",
        "WaitingForExport",
        code,
    )
