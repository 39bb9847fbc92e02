"""Reading an exported Basware purchase order: exact amounts, lines, coding rows, and blocks that name the field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector import jsonutil
from connector.basware.orders import line_total, load_purchase_order
from connector.errors import RecordBlocked
from connector.sandbox.basware import make_purchase_order


def _order(**overrides: Any) -> dict[str, Any]:
    order = make_purchase_order(
        "PO-1001",
        "1001",
        "Acme Supplies BV",
        [
            {"quantity": 10, "unit_price": "4.10", "buyer_product_code": "PAPER-A4", "description": "Paper",
             "cost_center_code": "CC200", "project_code": "CU1", "tax_percent": 21},
            {"quantity": Decimal("2.5"), "unit_price": "61.00", "supplier_product_code": "TX1"},
            {"quantity": 1, "unit_price": "149.95", "line_type": "FreeText", "description": "Team lunch"},
        ],
        desired_delivery_date="2026-12-01",
    )  # fmt: skip
    order.update(overrides)
    return jsonutil.loads(jsonutil.dumps(order))  # as it arrives over the wire


def test_an_order_reads_into_lines_with_exact_amounts() -> None:
    order = load_purchase_order(_order())

    assert (order.order_number, order.supplier_code, order.currency) == ("PO-1001", "1001", "EUR")
    assert order.desired_delivery_date == date(2026, 12, 1)
    assert order.order_date == date(2026, 11, 20)
    assert [(line.line_number, line.quantity, line.unit_price, line.net_sum) for line in order.lines] == [
        (1, Decimal("10"), Decimal("4.10"), Decimal("41.00")),
        (2, Decimal("2.5"), Decimal("61.00"), Decimal("152.50")),
        (3, Decimal("1"), Decimal("149.95"), Decimal("149.95")),
    ]
    assert order.net_sum == Decimal("343.45")


def test_product_codes_free_text_and_coding_rows_are_kept() -> None:
    paper, toner, lunch = load_purchase_order(_order()).lines

    assert paper.product_codes == (("buyerProductCode", "PAPER-A4"),)
    assert toner.product_codes == (("supplierProductCode", "TX1"),)
    assert lunch.is_free_text and lunch.product_codes == () and lunch.description == "Team lunch"
    [coding] = paper.coding
    assert (coding.cost_center_code, coding.cost_unit_code, coding.split_percent) == ("CC200", "CU1", Decimal("100"))
    assert toner.coding == ()


def test_the_cost_unit_comes_from_the_tenants_dimension() -> None:
    raw = _order()
    raw["orderLines"][0]["codingRows"][0]["dimension3Code"] = "CU2"

    assert load_purchase_order(raw, cost_unit_field="dimension3Code").lines[0].coding[0].cost_unit_code == "CU2"
    assert load_purchase_order(raw, cost_unit_field=None).lines[0].coding[0].cost_unit_code is None


def test_net_price_stands_in_for_a_missing_net_unit_price() -> None:
    raw = _order()
    del raw["orderLines"][1]["netUnitPrice"]

    assert load_purchase_order(raw).lines[1].unit_price == Decimal("61.00")


def test_a_missing_line_number_falls_back_to_the_position() -> None:
    raw = _order()
    del raw["orderLines"][2]["orderLineNumber"]

    assert load_purchase_order(raw).lines[2].line_number == 3


def test_unknown_fields_are_ignored() -> None:
    raw = _order(headerData1="x", somethingNew={"nested": True})
    raw["orderLines"][0]["futureField"] = 1

    assert load_purchase_order(raw).order_number == "PO-1001"


def test_a_float_quantity_blocks_naming_the_line_and_field() -> None:
    raw = _order()
    raw["orderLines"][1]["quantity"] = 2.5

    with pytest.raises(RecordBlocked) as caught:
        load_purchase_order(raw)

    assert "Basware purchase order PO-1001" in str(caught.value)
    assert caught.value.problems == [
        {"field": "orderLines[1].quantity", "problem": "must be an exact number, not a float"}
    ]


@pytest.mark.parametrize(
    ("remove", "field"),
    [
        ("orderNumber", "orderNumber"),
        ("supplierCode", "supplierCode"),
        ("purchaseCurrency", "purchaseCurrency"),
        ("orderLines", "orderLines"),
    ],
)
def test_a_missing_header_field_blocks_naming_it(remove: str, field: str) -> None:
    raw = _order()
    del raw[remove]

    with pytest.raises(RecordBlocked) as caught:
        load_purchase_order(raw)

    assert f"missing field(s) {field}" in str(caught.value)


def test_a_line_without_any_price_blocks_naming_the_line() -> None:
    raw = _order()
    del raw["orderLines"][0]["netUnitPrice"]
    del raw["orderLines"][0]["netPrice"]

    with pytest.raises(RecordBlocked) as caught:
        load_purchase_order(raw)

    assert caught.value.problems == [
        {"field": "orderLines[0].netUnitPrice", "problem": "Missing data for required field."}
    ]


@given(
    quantity=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("10000"), places=3),
    price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2),
)
def test_line_totals_survive_the_wire_to_the_cent(quantity: Decimal, price: Decimal) -> None:
    raw = jsonutil.loads(
        jsonutil.dumps(make_purchase_order("PO-P", "1001", "Acme", [{"quantity": quantity, "unit_price": price}]))
    )
    [line] = load_purchase_order(raw).lines

    assert (line.quantity, line.unit_price) == (quantity, price)
    assert line_total(line) == line.net_sum
