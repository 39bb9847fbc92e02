"""Money to the cent: Decimal from the JSON parse to the Exact payload, and totals checked before any write."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector import jsonutil
from connector.basware.schemas import load_invoice
from connector.domain import CodingRow, Invoice
from connector.mapping import money
from connector.mapping.dimensions import MasterData, plan_lines
from connector.sandbox.basware import make_invoice

D = Decimal
MASTER = MasterData(
    division=1,
    gl_accounts={"4000": {"ID": "gl-4000", "Code": "4000"}},
    cost_centers={"CC100": {"Code": "CC100", "EndDate": None}},
    vat_codes={"1": {"Code": "1", "Percentage": D("0.21"), "Type": "E"}},
)
VAT = {("vat_code", "VAT21"): "1"}

# Cents from -10^11 to 10^11 (a billion euros both ways), with the awkward ones drawn often.
cents = st.one_of(
    st.integers(min_value=-(10**13), max_value=10**13),
    st.sampled_from([0, 1, -1, 5, -5, 99, 100, 101, 49_999, 50_001, 10**13]),
).map(lambda n: D(n).scaleb(-2))
rows = st.lists(st.tuples(cents, cents), min_size=1, max_size=80)


def _invoice(amounts: list[tuple[Decimal, Decimal]]) -> Invoice:
    coding = tuple(
        CodingRow(row_index=i, account_code="4000", net=net, tax=tax, gross=net + tax, cost_center_code="CC100",
                  tax_code="VAT21")
        for i, (net, tax) in enumerate(amounts, start=1)
    )  # fmt: skip
    net = sum((r.net for r in coding), D("0"))
    tax = sum((r.tax for r in coding), D("0"))
    return Invoice("i", "INV-1", "DEMO", "1001", "Acme", "EUR", date(2026, 11, 20), net, tax, net + tax, coding)


@given(cents)
def test_an_amount_survives_json_with_exactly_its_own_digits(amount: Decimal) -> None:
    text = jsonutil.dumps({"AmountFC": amount})

    assert jsonutil.loads(text) == {"AmountFC": amount}
    assert json.loads(text, parse_float=str)["AmountFC"] == str(amount)  # "10.50" stays "10.50"


@given(rows)
def test_lines_that_add_up_pass_and_the_payload_lines_add_up_to_basware_totals(
    amounts: list[tuple[Decimal, Decimal]],
) -> None:
    invoice = _invoice(amounts)

    lines, problems = plan_lines(invoice, MASTER, VAT)

    assert money.total_problems(invoice) == [] and problems == []
    assert money.line_totals(lines) == (invoice.net_sum, invoice.tax_sum, invoice.gross_sum)
    assert jsonutil.loads(jsonutil.dumps(lines)) == lines  # the plan is stored as JSON between steps


@given(rows, st.sampled_from(["net_sum", "tax_sum", "gross_sum"]), st.sampled_from([D("0.01"), D("-0.01")]))
def test_a_total_one_cent_off_blocks_with_the_figures(
    amounts: list[tuple[Decimal, Decimal]], total: str, delta: Decimal
) -> None:
    invoice = _invoice(amounts)
    wrong = getattr(invoice, total) + delta
    broken = Invoice(**{**invoice.__dict__, total: wrong})

    problems = money.total_problems(broken)

    assert problems and all(p.field == "amounts" for p in problems)
    assert any(str(wrong) in p.text for p in problems)


@given(rows)
def test_a_credit_note_is_the_same_invoice_negated(amounts: list[tuple[Decimal, Decimal]]) -> None:
    negated = [(-net, -tax) for net, tax in amounts]
    invoice = _invoice(negated)

    lines, _ = plan_lines(invoice, MASTER, VAT)

    assert money.total_problems(invoice) == []
    assert money.line_totals(lines)[2] == -_invoice(amounts).gross_sum


@given(cents, st.sampled_from(["0.005", "0.001", "-0.005", "0.0049", "0.0051"]))
def test_an_amount_below_the_cent_blocks_instead_of_being_rounded(amount: Decimal, fraction: str) -> None:
    awkward = amount + D(fraction)
    invoice = _invoice([(awkward, D("0.00"))])

    [problem] = money.total_problems(invoice)

    assert problem.row == 1
    assert f"line net {awkward} has more than two decimals" in problem.text


@pytest.mark.parametrize("amount", ["10.5", "10.50", "10.500", "-0.00", "1E+3", "0"])
def test_trailing_zeros_are_not_sub_cent_digits(amount: str) -> None:
    assert money.has_cents_only(D(amount))


@pytest.mark.parametrize(
    ("net", "tax", "gross", "text"),
    [
        ("100.00", "21.00", "121.01", "line net 100.00 + VAT 21.00 = 121.00, but the line gross is 121.01"),
        ("100.00", "21.00", "120.99", "line net 100.00 + VAT 21.00 = 121.00, but the line gross is 120.99"),
    ],
)
def test_a_line_whose_net_and_vat_do_not_make_its_gross_blocks(net: str, tax: str, gross: str, text: str) -> None:
    row = CodingRow(row_index=3, account_code="4000", net=D(net), tax=D(tax), gross=D(gross))
    invoice = Invoice(
        "i", "INV-1", "DEMO", "1001", "Acme", "EUR", date(2026, 1, 1), D(net), D(tax), D("121.00"), (row,)
    )

    assert [(p.row, p.text) for p in money.total_problems(invoice)] == [(3, text)]


def test_an_invoice_without_rows_blocks() -> None:
    invoice = Invoice("i", "INV-1", "DEMO", "1001", "Acme", "EUR", date(2026, 1, 1), D(0), D(0), D(0), ())

    assert [p.text for p in money.total_problems(invoice)] == ["the invoice has no coding rows to post"]


@pytest.mark.parametrize("value", [1.5, {"a": [1, {"b": 0.1}]}, [D("1.00"), 2.0], (0.0,)])
def test_jsonutil_refuses_to_write_a_float_anywhere(value: Any) -> None:
    with pytest.raises(TypeError, match="float"):
        jsonutil.dumps(value)


def test_basware_json_parses_to_decimals_and_never_passes_through_float() -> None:
    raw = jsonutil.dumps(make_invoice("INV-9", "1001", "Acme", [("4000", "CC100", "VAT21", 21, D("0.10"), D("0.02"))]))
    raw = raw.replace('"netTotal":0.10', '"netTotal":0.1000000000000000055511151231257827')

    invoice = load_invoice(jsonutil.loads(raw))

    assert invoice.rows[0].net == D("0.1000000000000000055511151231257827")  # a float would have said 0.1
    assert json.loads(jsonutil.dumps(money.entry_amounts(invoice.rows[0])), parse_float=str)["AmountFC"] == (
        "0.1000000000000000055511151231257827"
    )


@pytest.mark.parametrize(("vat_type", "amount"), [("E", "100.00"), ("N", "100.00"), ("I", "121.00")])
def test_the_line_amount_is_what_the_vat_code_type_makes_exact_read_as_net_or_gross(vat_type: str, amount: str) -> None:
    line = money.entry_amounts(_invoice([(D("100.00"), D("21.00"))]).rows[0], vat_type)
    assert line == {"AmountFC": D(amount), "VATAmountFC": D("21.00")}


@pytest.mark.parametrize("vat_type", ["B", ""])
def test_a_vat_code_of_a_type_we_cannot_book_to_the_cent_blocks_the_row(vat_type: str) -> None:
    found = money.vat_type_problem(_invoice([(D("100.00"), D("21.00"))]).rows[0], "3", vat_type)
    assert found is not None and "VAT code 3" in found.text and "map another code" in found.text
