"""Purchase orders as Exact allows changing them: header PUT, lines by ID, never a lone line POST, never no line."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from connector.exact import odata
from connector.sandbox.exact import seed
from connector.sandbox.exact.items import DEFAULT_ITEM
from tests.contract.exact_fixtures import DIVISION, Exact, running_exact
from tests.contract.exact_http import call, error_text, payload

LINES = "purchaseorder/PurchaseOrderLines"


@pytest.fixture
def exact() -> Iterator[Exact]:
    with running_exact(minute_limit=1000) as running:
        yield running


def _item() -> str:
    return seed.seed_guid(DIVISION, "Item", DEFAULT_ITEM)


def _create(exact: Exact, *quantities: str) -> dict[str, Any]:
    lines = [{"Item": _item(), "QuantityInPurchaseUnits": Decimal(q), "NetPrice": Decimal("2.50")} for q in quantities]
    body = {"Supplier": seed.seed_guid(DIVISION, "Account", "1001"), "YourRef": "PO-1", "PurchaseOrderLines": lines}
    return exact.client.create_purchase_order(body)


def _order_path(order_id: str) -> str:
    return f"purchaseorder/PurchaseOrders({odata.guid(order_id)})"


def _lines(exact: Exact, order_id: str) -> list[dict[str, Any]]:
    return list(payload(call(exact, "GET", LINES, **{"$filter": f"PurchaseOrderID eq {odata.guid(order_id)}"})))


def _stored(exact: Exact) -> dict[str, Any]:
    [order] = exact.sandbox.purchase_orders(DIVISION)
    return order


def test_an_order_header_is_updated_by_put(exact: Exact) -> None:
    order = _create(exact, "1")
    response = call(exact, "PUT", _order_path(order["PurchaseOrderID"]), {"Description": "Changed in Basware"})
    assert response.status_code == 204
    assert _stored(exact)["Description"] == "Changed in Basware"


def test_order_lines_are_read_changed_and_deleted_by_id(exact: Exact) -> None:
    order = _create(exact, "1", "2")
    first, second = _lines(exact, order["PurchaseOrderID"])
    changed = call(exact, "PUT", f"{LINES}({odata.guid(first['ID'])})", {"QuantityInPurchaseUnits": Decimal("4")})
    assert changed.status_code == 204
    assert call(exact, "DELETE", f"{LINES}({odata.guid(second['ID'])})").status_code == 204
    [line] = _lines(exact, order["PurchaseOrderID"])
    assert (line["ID"], line["AmountFC"]) == (first["ID"], Decimal("10.00"))
    assert _stored(exact)["AmountFC"] == Decimal("10.00")


def test_a_single_order_line_cannot_be_posted(exact: Exact) -> None:
    order = _create(exact, "1")
    body = {"PurchaseOrderID": order["PurchaseOrderID"], "Item": _item(), "QuantityInPurchaseUnits": Decimal("1")}
    response = call(exact, "POST", LINES, body)
    assert response.status_code == 400
    assert "may not be posted individually" in error_text(response)
    assert len(_stored(exact)["PurchaseOrderLines"]) == 1


def test_an_order_keeps_at_least_one_line(exact: Exact) -> None:
    order = _create(exact, "1")
    [line] = _lines(exact, order["PurchaseOrderID"])
    response = call(exact, "DELETE", f"{LINES}({odata.guid(line['ID'])})")
    assert response.status_code == 500
    assert "at least one line" in error_text(response)
    assert len(_stored(exact)["PurchaseOrderLines"]) == 1
    assert call(exact, "DELETE", _order_path(order["PurchaseOrderID"])).status_code == 204
    assert exact.sandbox.purchase_orders(DIVISION) == []


def test_a_header_put_with_a_new_order_line_is_refused(exact: Exact) -> None:
    order = _create(exact, "1")
    before = _stored(exact)
    body = {"PurchaseOrderLines": [{"Item": _item(), "QuantityInPurchaseUnits": Decimal("3")}]}
    response = call(exact, "PUT", _order_path(order["PurchaseOrderID"]), body)
    assert response.status_code == 400
    assert error_text(response).startswith("Error processing request stream. Binding to new entities")
    assert _stored(exact) == before


def test_an_order_that_is_no_longer_open_refuses_changes(exact: Exact) -> None:
    order = _create(exact, "1", "2")
    with requests.Session() as admin:
        path = f"{exact.url}/_sandbox/purchase-orders/{order['PurchaseOrderID']}/status"
        assert admin.post(path, json={"status": 20}).status_code == 200
    line_id = _lines(exact, order["PurchaseOrderID"])[0]["ID"]
    attempts = [
        call(exact, "PUT", _order_path(order["PurchaseOrderID"]), {"Description": "Too late"}),
        call(exact, "PUT", f"{LINES}({odata.guid(line_id)})", {"QuantityInPurchaseUnits": Decimal("9")}),
        call(exact, "DELETE", f"{LINES}({odata.guid(line_id)})"),
    ]
    assert [response.status_code for response in attempts] == [500, 500, 500]
    assert _stored(exact)["Description"] is None
