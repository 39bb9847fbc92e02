"""The Exact client's item, purchase order and supplier-upkeep calls against the sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connector.errors import FatalAPIError
from connector.exact import odata
from connector.sandbox.exact import seed
from connector.sandbox.exact.items import DEFAULT_ITEM, SALES_ONLY_ITEM
from tests.contract.exact_fixtures import DIVISION, Exact, running_exact


@pytest.fixture
def exact() -> Iterator[Exact]:
    with running_exact(minute_limit=1000) as running:
        yield running


def _items(exact: Exact, *codes: str) -> dict[str, str]:
    return {item["Code"]: item["ID"] for item in exact.client.find_items(codes)}


def _order(exact: Exact, your_ref: str, **first_line: Any) -> dict[str, Any]:
    items = _items(exact, "PAPER-A4", "TONER-X1", DEFAULT_ITEM)
    return {
        "Supplier": seed.seed_guid(DIVISION, "Account", "1001"),
        "YourRef": your_ref,
        "Description": "Basware purchase order",
        "Currency": "EUR",
        "OrderDate": "2026-11-20",
        "PurchaseOrderLines": [
            {"Item": items["PAPER-A4"], "QuantityInPurchaseUnits": Decimal("10"), "NetPrice": Decimal("4.10"),
             "Description": "Paper", "CostCenter": "CC200", "CostUnit": "CU1", "ReceiptDate": "2026-12-01",
             **first_line},
            {"Item": items["TONER-X1"], "QuantityInPurchaseUnits": Decimal("2.5"), "NetPrice": Decimal("61.00")},
            {"Item": items[DEFAULT_ITEM], "QuantityInPurchaseUnits": Decimal("1"), "NetPrice": Decimal("149.95"),
             "Description": "Team lunch"},
        ],
    }  # fmt: skip


def test_items_are_found_by_code_and_say_whether_they_can_be_bought(exact: Exact) -> None:
    found = {item["Code"]: item for item in exact.client.find_items(["PAPER-A4", SALES_ONLY_ITEM, "NOPE"])}

    assert set(found) == {"PAPER-A4", SALES_ONLY_ITEM}
    assert found["PAPER-A4"]["IsPurchaseItem"] is True
    assert found[SALES_ONLY_ITEM]["IsPurchaseItem"] is False
    assert exact.client.find_items([]) == []


def test_many_item_codes_are_asked_in_batches(exact: Exact) -> None:
    codes = [f"BULK-{n:03}" for n in range(95)]
    for code in codes:
        exact.sandbox.orders.add_item(DIVISION, code, f"Bulk item {code}")

    assert sorted(item["Code"] for item in exact.client.find_items(codes)) == codes


def test_items_refuse_an_unfiltered_listing(exact: Exact) -> None:
    with pytest.raises(FatalAPIError) as caught:
        exact.client.get_all("logistics/Items", select="ID,Code")
    assert caught.value.status == 400 and "mandatory filtering" in str(caught.value)


def test_a_purchase_order_is_created_with_its_lines_and_found_by_supplier_and_your_ref(exact: Exact) -> None:
    created = exact.client.create_purchase_order(_order(exact, "PO-1001"))

    assert created["YourRef"] == "PO-1001" and created["AmountFC"] == Decimal("343.45")
    lines = created["PurchaseOrderLines"]["results"]
    assert [(ln["ItemCode"], ln["QuantityInPurchaseUnits"], ln["NetPrice"], ln["AmountFC"]) for ln in lines] == [
        ("PAPER-A4", Decimal("10"), Decimal("4.10"), Decimal("41.00")),
        ("TONER-X1", Decimal("2.5"), Decimal("61.00"), Decimal("152.50")),
        (DEFAULT_ITEM, Decimal("1"), Decimal("149.95"), Decimal("149.95")),
    ]
    assert (lines[0]["CostCenter"], lines[0]["CostUnit"]) == ("CC200", "CU1")
    assert odata.parse_date(lines[0]["ReceiptDate"]) == datetime(2026, 12, 1, tzinfo=UTC)
    supplier = seed.seed_guid(DIVISION, "Account", "1001")
    [found] = exact.client.find_purchase_orders(supplier, "PO-1001")
    assert found["PurchaseOrderID"] == created["PurchaseOrderID"]
    assert exact.client.find_purchase_orders(supplier, "PO-OTHER") == []
    again = exact.client.get_purchase_order(created["PurchaseOrderID"])
    assert len(again["PurchaseOrderLines"]["results"]) == 3


def test_an_invalid_order_is_refused_with_every_problem_and_nothing_is_stored(exact: Exact) -> None:
    items = _items(exact, SALES_ONLY_ITEM)
    order = _order(exact, "PO-BAD", CostCenter="CC999")
    order["PurchaseOrderLines"][1]["Item"] = items[SALES_ONLY_ITEM]
    order["PurchaseOrderLines"][2]["Item"] = "00000000-0000-4000-8000-000000000000"

    with pytest.raises(FatalAPIError) as caught:
        exact.client.create_purchase_order(order)

    assert caught.value.status == 500
    for text in ("Invalid reference: Cost center", f"Item {SALES_ONLY_ITEM} is not a purchase item",
                 "Invalid reference: Item"):  # fmt: skip
        assert text in str(caught.value)
    assert exact.sandbox.orders.purchase_orders(DIVISION) == []


def test_an_order_names_an_unknown_property_with_400(exact: Exact) -> None:
    order = _order(exact, "PO-X")
    order["PurchaseOrderLines"][0]["Quantity"] = Decimal("1")  # the field for reading, not for creating

    with pytest.raises(FatalAPIError) as caught:
        exact.client.create_purchase_order(order)

    assert caught.value.status == 400 and "Quantity" in str(caught.value)


def test_a_supplier_account_is_updated_in_place(exact: Exact) -> None:
    supplier = exact.client.find_supplier_by_code("1003")
    assert supplier is not None

    exact.client.update_account(supplier["ID"], {"Email": "ap@initech.example", "City": "Utrecht", "Country": "NL"})

    [after] = exact.client.find_accounts(f"ID eq {odata.guid(supplier['ID'])}")
    assert (after["Email"], after["City"], after["Country"], after["Name"]) == (
        "ap@initech.example",
        "Utrecht",
        "NL",
        "Initech Logistics",
    )


def test_an_account_update_without_a_name_is_refused(exact: Exact) -> None:
    supplier = exact.client.find_supplier_by_code("1003")
    assert supplier is not None
    with pytest.raises(FatalAPIError, match="Mandatory: Name"):
        exact.client.update_account(supplier["ID"], {"Name": " "})


def test_a_bank_account_is_registered_once_per_supplier(exact: Exact) -> None:
    supplier = seed.seed_guid(DIVISION, "Account", "1002")
    fields = {"Account": supplier, "BankAccount": "NL91ABNA0417164300", "BICCode": "ABNANL2A"}

    exact.client.create_bank_account(fields)

    assert [(b["BankAccount"], b["BICCode"], b["Main"]) for b in exact.client.bank_accounts(supplier)] == [
        ("NL91ABNA0417164300", "ABNANL2A", True)
    ]
    with pytest.raises(FatalAPIError, match="already exists"):
        exact.client.create_bank_account(fields)
