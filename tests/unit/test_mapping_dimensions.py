"""Every coding row is mapped and checked against the division's master data before anything is written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connector.domain import CodingRow, Invoice
from connector.mapping.dimensions import MasterData, currency_problems, journal_problems, percent_key, plan_lines

D = Decimal
MASTER = MasterData(
    division=100001,
    gl_accounts={
        "4000": {"ID": "gl-4000", "Code": "4000", "IsBlocked": False},
        "4010": {"ID": "gl-4010", "Code": "4010", "IsBlocked": False},
        "4129": {"ID": "gl-4129", "Code": "4129", "IsBlocked": True},
        "4500": {"ID": "gl-4500", "Code": "4500", "IsBlocked": False, "UseCostcenter": 1},
    },
    cost_centers={
        "CC100": {"Code": "CC100", "EndDate": None},
        "CC900": {"Code": "CC900", "EndDate": date(2020, 12, 31)},
    },
    cost_units={"CU1": {"Code": "CU1", "EndDate": None}},
    vat_codes={
        "1": {"Code": "1", "Percentage": D("0.21"), "Type": "E"},
        "2": {"Code": "2", "Percentage": D("0.09"), "Type": "E"},
        "5": {"Code": "5", "Percentage": D("0.055"), "Type": "E"},
        "7": {"Code": "7", "Percentage": D("0.21"), "Type": "E", "IsBlocked": True},
    },
    journals={"60": {"Code": "60", "Type": 22}, "70": {"Code": "70", "Type": 20}},
)
VAT = {("vat_code", "VAT21"): "1", ("vat_code", "VAT9"): "2", ("vat_code", "21"): "1", ("vat_code", "5.5"): "5"}


def _row(**overrides: Any) -> CodingRow:
    values: dict[str, Any] = dict(
        row_index=1,
        account_code="4000",
        net=D("100.00"),
        tax=D("21.00"),
        cost_center_code="CC100",
        tax_code="VAT21",
        tax_percent=D("21"),
    )
    values.update(overrides)
    return CodingRow(**values)


def _invoice(*rows: CodingRow) -> Invoice:
    net = sum((r.net for r in rows), D("0"))
    tax = sum((r.tax for r in rows), D("0"))
    return Invoice(
        invoice_id="i1",
        invoice_number="INV-1",
        company_code="DEMO",
        supplier_code="1001",
        supplier_name="Acme",
        currency="EUR",
        invoice_date=date(2026, 11, 20),
        net_sum=net,
        tax_sum=tax,
        gross_sum=net + tax,
        rows=rows,
    )


def test_a_clean_row_becomes_an_exact_line_with_guid_codes_and_basware_amounts() -> None:
    lines, problems = plan_lines(_invoice(_row(cost_unit_code="CU1")), MASTER, VAT)

    assert problems == []
    assert lines[0] | {"Description": None} == {
        "GLAccount": "gl-4000",
        "CostCenter": "CC100",
        "CostUnit": "CU1",
        "VATCode": "1",
        "AmountFC": D("100.00"),
        "VATAmountFC": D("21.00"),
        "Description": None,
    }


@pytest.mark.parametrize(
    ("row", "mapping", "expected"),
    [
        # a GL mapping wins (cost center and cost unit mappings: tests/unit/test_planning.py, both kinds)
        (_row(account_code="G-OFFICE"), {("gl_account", "G-OFFICE"): "4010"}, {"GLAccount": "gl-4010"}),
        # VAT from the tax percentage when the row has no tax code
        (_row(tax_code=None, tax_percent=D("21.00")), {}, {"VATCode": "1"}),
        (_row(tax_code=None, tax_percent=D("5.50"), tax=D("5.50")), {}, {"VATCode": "5"}),
    ],
)
def test_mappings_and_defaults_choose_the_exact_code(
    row: CodingRow, mapping: dict[tuple[str, str], str], expected: dict[str, str]
) -> None:
    lines, problems = plan_lines(_invoice(row), MASTER, VAT | mapping)

    assert problems == []
    assert {key: lines[0][key] for key in expected} == expected


@pytest.mark.parametrize(
    ("row", "field", "basware", "mapped", "text", "suggestions"),
    [
        (_row(account_code="4001"), "gl_account", "4001", "4001", "GL account 4001 does not exist", ["4000", "4010"]),
        (_row(account_code="4129"), "gl_account", "4129", "4129", "GL account 4129 is blocked in Exact", None),
        (_row(account_code=None), "gl_account", None, None, "the coding row has no GL account", []),
        # ended and unknown cost centers and cost units: tests/unit/test_planning.py, over both kinds
        (_row(tax_code="VAT6"), "vat_code", "VAT6", None, "no VAT mapping for Basware tax VAT6", ["1"]),
        (_row(tax_code=None, tax_percent=None), "vat_code", None, None, "neither a tax code nor a tax percentage", []),
        (
            _row(tax_percent=D("9")),
            "vat_code",
            "VAT21",
            "1",
            "VAT code 1 is 21% in Exact but the Basware line says 9%",
            ["2"],
        ),
        (_row(account_code="4500", cost_center_code=None), "cost_center", None, None, "requires a cost center", []),
    ],
)
def test_each_wrong_row_is_named_with_its_codes_and_close_matches(
    row: CodingRow, field: str, basware: str | None, mapped: str | None, text: str, suggestions: list[str] | None
) -> None:
    _lines, problems = plan_lines(_invoice(row), MASTER, VAT)

    [problem] = problems
    assert (problem.row, problem.field, problem.basware_code, problem.mapped_code) == (
        1,
        field,
        basware,
        mapped,
    )
    assert text in problem.text
    if suggestions is not None:
        assert set(suggestions) <= set(problem.suggestions)


def test_blocked_and_ended_codes_are_never_suggested() -> None:
    _lines, problems = plan_lines(
        _invoice(_row(account_code="4128"), _row(row_index=2, cost_center_code="CC901")), MASTER, VAT
    )

    assert "4129" not in problems[0].suggestions
    assert problems[1].row == 2
    assert "CC900" not in problems[1].suggestions and "CC100" in problems[1].suggestions


def test_a_vat_mapping_to_a_blocked_code_is_refused() -> None:
    _lines, [problem] = plan_lines(_invoice(_row(tax_code="OLD21")), MASTER, VAT | {("vat_code", "OLD21"): "7"})

    assert "VAT code 7 is blocked" in problem.text
    assert problem.suggestions == ("1",)


def test_every_failing_line_is_listed_not_only_the_first() -> None:
    rows = (_row(row_index=1, account_code="4999"), _row(row_index=2), _row(row_index=3, cost_center_code="CC900"))

    _lines, problems = plan_lines(_invoice(*rows), MASTER, VAT)

    assert [(p.row, p.field) for p in problems] == [(1, "gl_account"), (3, "cost_center")]


@pytest.mark.parametrize(
    ("journal", "mapping", "text"),
    [
        ("60", {}, None),
        ("PURCH", {("journal", "PURCH"): "60"}, None),
        ("61", {}, "journal 61 does not exist in Exact division 100001"),
        ("70", {}, "journal 70 is not a purchase journal"),
    ],
)
def test_the_journal_must_exist_and_be_a_purchase_journal(
    journal: str, mapping: dict[tuple[str, str], str], text: str | None
) -> None:
    problems = journal_problems(journal, MASTER, mapping)

    assert [p.text for p in problems] == ([] if text is None else [text])
    if text:
        assert "60" in problems[0].suggestions


@pytest.mark.parametrize(
    ("currency", "ok"), [("EUR", True), ("USD", True), ("eur", False), ("EUE", False), ("", False)]
)
def test_the_currency_must_be_an_iso_code(currency: str, ok: bool) -> None:
    assert (currency_problems(currency) == []) is ok


@pytest.mark.parametrize(
    ("percent", "key"), [(D("21"), "21"), (D("21.00"), "21"), (D("5.50"), "5.5"), (D("0"), "0"), (D("0.00"), "0")]
)
def test_tax_percentages_are_mapping_keys_without_trailing_zeros(percent: Decimal, key: str) -> None:
    assert percent_key(percent) == key
