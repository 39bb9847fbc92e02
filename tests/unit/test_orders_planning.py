"""Pure rules behind the order chain, polling and vendor sync: item choice, line checks, amounts, schedules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from connector.domain import Vendor
from connector.domain_orders import OrderCoding, OrderLine, PurchaseOrder
from connector.mapping.dimensions import MasterData
from connector.mapping.orders import amount_problems, item_code, plan_lines
from connector.sync import polling, vendor_sync

ITEMS = {
    "PAPER-A4": {"ID": "id-paper", "Code": "PAPER-A4", "IsPurchaseItem": True},
    "TONER-X1": {"ID": "id-toner", "Code": "TONER-X1", "IsPurchaseItem": True},
    "MISC": {"ID": "id-misc", "Code": "MISC", "IsPurchaseItem": True},
    "GIFTCARD": {"ID": "id-gift", "Code": "GIFTCARD", "IsPurchaseItem": False},
}
MASTER = MasterData(
    division=100001,
    cost_centers={
        "CC100": {"Code": "CC100", "EndDate": None},
        "CC900": {"Code": "CC900", "EndDate": date(2020, 12, 31)},
    },
    cost_units={"CU1": {"Code": "CU1", "EndDate": None}},
)


def _line(number: int = 1, **values: Any) -> OrderLine:
    values.setdefault("quantity", Decimal("2"))
    values.setdefault("unit_price", Decimal("4.10"))
    return OrderLine(line_number=number, **values)


def _order(*lines: OrderLine, net_sum: Decimal | None = None) -> PurchaseOrder:
    return PurchaseOrder(
        external_code="x",
        order_number="PO-1",
        company_code="DEMO",
        supplier_code="1001",
        supplier_name="Acme",
        currency="EUR",
        lines=lines,
        net_sum=net_sum,
        order_date=date(2026, 11, 20),
        desired_delivery_date=date(2026, 12, 1),
    )


@pytest.mark.parametrize(
    ("line", "table", "default", "expected"),
    [
        (_line(buyer_product_code="B1", supplier_product_code="S1"), {("item", "S1"): "TONER-X1"}, None,
         ("TONER-X1", "item mapping of supplierProductCode S1")),
        (_line(buyer_product_code="B1"), {("item", "B1"): "PAPER-A4"}, None,
         ("PAPER-A4", "item mapping of buyerProductCode B1")),
        (_line(category_code="OFFICE"), {("item", "OFFICE"): "MISC"}, None,
         ("MISC", "item mapping of categoryCode OFFICE")),
        (_line(buyer_product_code="PAPER-A4"), {}, "MISC", ("PAPER-A4", "buyerProductCode")),
        (_line(line_type="FreeText", description="Lunch"), {}, "MISC", ("MISC", "the tenant's default item")),
        (_line(description="no codes at all"), {}, "MISC", ("MISC", "the tenant's default item")),
        (_line(line_type="FreeText"), {}, None, (None, "")),
        (_line(supplier_product_code="S9"), {}, "MISC", (None, "")),  # a catalogue line never falls back
    ],
)  # fmt: skip
def test_the_item_for_a_line(line: OrderLine, table: dict, default: str | None, expected: tuple) -> None:
    assert item_code(line, table, default) == expected


def test_a_clean_order_plans_one_exact_line_per_basware_line() -> None:
    coding = (OrderCoding(1, cost_center_code="CC100", cost_unit_code="CU1"),)
    order = _order(
        _line(1, buyer_product_code="PAPER-A4", description="Paper", coding=coding),
        _line(2, line_type="FreeText", description="Lunch", quantity=Decimal("1"), unit_price=Decimal("9.95")),
    )

    lines, problems = plan_lines(order, ITEMS, MASTER, {}, "MISC")

    assert problems == []
    assert lines == [
        {"QuantityInPurchaseUnits": Decimal("2"), "NetPrice": Decimal("4.10"), "Description": "Paper",
         "ReceiptDate": "2026-12-01", "Item": "id-paper", "CostCenter": "CC100", "CostUnit": "CU1"},
        {"QuantityInPurchaseUnits": Decimal("1"), "NetPrice": Decimal("9.95"), "Description": "Lunch",
         "ReceiptDate": "2026-12-01", "Item": "id-misc"},
    ]  # fmt: skip


def test_every_bad_line_is_named_with_its_reason() -> None:
    order = _order(
        _line(1, buyer_product_code="NOPE"),
        _line(2, buyer_product_code="GIFTCARD"),
        _line(3, line_type="FreeText"),
        _line(4, buyer_product_code="PAPER-A4", coding=(OrderCoding(1, cost_center_code="CC900"),)),
        _line(5, buyer_product_code="PAPER-A4", coding=(OrderCoding(1, cost_center_code="CC10"),)),
        _line(6, buyer_product_code="PAPER-A4", coding=(OrderCoding(1, cost_center_code="CC100"),
                                                          OrderCoding(2, cost_center_code="CC900"))),
    )  # fmt: skip

    _lines, problems = plan_lines(order, ITEMS, MASTER, {}, None)

    found = {(p.row, p.field): p.text for p in problems}
    assert found[(1, "item")] == "item NOPE (from buyerProductCode) does not exist in Exact division 100001"
    assert found[(2, "item")] == "item GIFTCARD is not a purchase item in Exact"
    assert "no default item" in found[(3, "item")]
    assert found[(4, "cost_center")] == "cost center CC900 ended on 2020-12-31, before the order date 2026-11-20"
    assert found[(5, "cost_center")] == "cost center CC10 does not exist in Exact division 100001"
    assert "CC100" in [s for p in problems if p.row == 5 for s in p.suggestions]
    assert "split over cost centers CC100, CC900" in found[(6, "cost_center")]
    assert len(problems) == 6


def test_amounts_must_agree_to_the_cent() -> None:
    good = _order(_line(1, net_sum=Decimal("8.20")), _line(2, net_sum=Decimal("8.20")), net_sum=Decimal("16.40"))
    bad_line = _order(_line(1, net_sum=Decimal("8.21")), net_sum=Decimal("8.21"))
    bad_total = _order(_line(1, net_sum=Decimal("8.20")), net_sum=Decimal("8.30"))

    assert amount_problems(good) == []
    assert [p.text for p in amount_problems(bad_line)] == [
        "2 x 4.10 = 8.20, but Basware's net sum for the line is 8.21"
    ]
    assert [p.text for p in amount_problems(bad_total)] == ["the lines add up to 8.20, but the order's net sum is 8.30"]


@pytest.mark.parametrize(
    ("interval", "last_run", "now", "due"),
    [(300, None, 1000.0, True), (300, 1000.0, 1299.0, False), (300, 1000.0, 1300.0, True), (0, None, 1000.0, False)],
)
def test_polling_and_vendor_sync_run_when_their_interval_has_passed(
    interval: int, last_run: float | None, now: float, due: bool
) -> None:
    tenant: Any = SimpleNamespace(poll_interval=interval, vendor_sync_interval=interval)
    assert polling.is_due(tenant, last_run, now) is due
    assert vendor_sync.is_due(tenant, last_run, now) is due


def test_vendor_sync_changes_only_what_basware_knows_and_exact_has_differently() -> None:
    account = {"Name": "Acme BV", "VATNumber": "NL1", "Email": None, "AddressLine1": "Main  1", "City": "Utrecht"}
    vendor = Vendor(code="1001", name="Acme BV", vat_number="NL1", email="ap@acme.example", street="Main 1", city=None)

    assert vendor_sync.differences(account, vendor) == {"Email": (None, "ap@acme.example")}
