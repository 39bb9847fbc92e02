"""Planning rules every document kind shares, tested once over both kinds: cost centers and cost units, and a
plan that keeps its amounts exact through storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from connector import jsonutil
from connector.domain import CodingRow, Invoice
from connector.domain_orders import OrderCoding, OrderLine, PurchaseOrder
from connector.mapping.dimensions import MasterData
from connector.mapping.problems import Problem
from connector.sync.documents import KINDS
from connector.sync.kinds import DocumentKind
from connector.sync.plan import Plan, Supplier

ON = date(2026, 11, 20)  # the document date of every document here
MASTER = MasterData(
    division=100001,
    gl_accounts={"4000": {"ID": "gl-4000", "Code": "4000", "IsBlocked": False}},
    cost_centers={
        "CC100": {"Code": "CC100", "EndDate": None},
        "CC900": {"Code": "CC900", "EndDate": ON - timedelta(days=1)},
        "CC901": {"Code": "CC901", "EndDate": ON - timedelta(days=1)},
        "CC950": {"Code": "CC950", "EndDate": ON},
    },
    cost_units={"CU1": {"Code": "CU1", "EndDate": None}, "CU2": {"Code": "CU2", "EndDate": ON}},
    vat_codes={"1": {"Code": "1", "Percentage": Decimal("0.21"), "Type": "E"}},
    journals={"60": {"Code": "60", "Type": 22}},
)
TABLE = {("vat_code", "VAT21"): "1"}
TENANT: Any = SimpleNamespace(purchase_journal="60", default_item="MISC", cost_unit_field=None)
ITEMS = {"MISC": {"ID": "id-misc", "Code": "MISC", "IsPurchaseItem": True}}


def _invoice(cost_center: str | None, cost_unit: str | None) -> Invoice:
    row = CodingRow(
        row_index=1,
        account_code="4000",
        net=Decimal("100.00"),
        tax=Decimal("21.00"),
        cost_center_code=cost_center,
        cost_unit_code=cost_unit,
        tax_code="VAT21",
        tax_percent=Decimal("21"),
    )
    return Invoice("i1", "INV-1", "DEMO", "1001", "Acme", "EUR", ON, Decimal("100.00"), Decimal("21.00"),
                   Decimal("121.00"), (row,))  # fmt: skip


def _order(cost_center: str | None, cost_unit: str | None) -> PurchaseOrder:
    coding = (OrderCoding(1, cost_center_code=cost_center, cost_unit_code=cost_unit),)
    line = OrderLine(line_number=1, quantity=Decimal("2"), unit_price=Decimal("4.10"), coding=coding)
    return PurchaseOrder("x", "PO-1", "DEMO", "1001", "Acme", "EUR", (line,), order_date=ON)


@dataclass(frozen=True)
class Case:
    kind: DocumentKind[Any]
    make: Any
    date_name: str

    def plan(
        self, cost_center: str | None = None, cost_unit: str | None = None, table: dict[Any, str] | None = None
    ) -> tuple[list[dict[str, Any]], list[Problem]]:
        doc = self.make(cost_center, cost_unit)
        mapping = TABLE | (table or {})
        prepared = ITEMS if self.kind.name == "purchase_order" else None
        lines, problems = self.kind.plan_lines(TENANT, doc, MASTER, mapping, prepared)
        return lines, self.kind.document_problems(TENANT, doc, MASTER, mapping) + problems


KIND_CASES = [Case(KINDS["invoice"], _invoice, "invoice date"), Case(KINDS["purchase_order"], _order, "order date")]
both_kinds = pytest.mark.parametrize("case", KIND_CASES, ids=lambda case: case.kind.name)


@both_kinds
def test_a_dimension_is_usable_up_to_and_including_its_end_date(case: Case) -> None:
    # Decision (ours), one rule for both kinds: an EndDate is the last day a dimension may be used.
    lines, problems = case.plan("CC950", "CU2")

    assert problems == []
    assert (lines[0]["CostCenter"], lines[0]["CostUnit"]) == ("CC950", "CU2")


@both_kinds
def test_a_dimension_that_ended_before_the_document_date_blocks(case: Case) -> None:
    _lines, [problem] = case.plan("CC900")

    assert (problem.row, problem.field, problem.basware_code) == (1, "cost_center", "CC900")
    expected = f"cost center CC900 ended on {(ON - timedelta(days=1)).isoformat()}, before the {case.date_name} {ON}"
    assert problem.text == expected
    assert "CC901" not in problem.suggestions  # ended codes are never offered instead


@both_kinds
def test_an_unknown_dimension_names_usable_close_matches(case: Case) -> None:
    _lines, [problem] = case.plan(None, "CU9")

    assert problem.field == "cost_unit" and problem.text == "cost unit CU9 does not exist in Exact division 100001"
    assert "CU1" in problem.suggestions

    _lines, [problem] = case.plan("CC9")
    assert "CC100" in problem.suggestions or "CC950" in problem.suggestions
    assert not {"CC900", "CC901"} & set(problem.suggestions)


@both_kinds
@pytest.mark.parametrize(
    ("cost_center", "cost_unit", "field", "code", "text", "suggestion"),
    [
        ("CC900", None, "cost_center", "CC900", f"cost center CC900 ended on {ON - timedelta(days=1)}", None),
        (
            "CC1000",
            None,
            "cost_center",
            "CC1000",
            "cost center CC1000 does not exist in Exact division 100001",
            "CC100",
        ),
        (None, "CU9", "cost_unit", "CU9", "cost unit CU9 does not exist in Exact division", "CU1"),
    ],
)
def test_a_wrong_dimension_is_named_with_its_codes_and_a_usable_match(
    case: Case, cost_center: str | None, cost_unit: str | None, field: str, code: str, text: str, suggestion: str | None
) -> None:
    _lines, [problem] = case.plan(cost_center, cost_unit)

    assert (problem.row, problem.field, problem.basware_code, problem.mapped_code) == (1, field, code, code)
    assert problem.text.startswith(text)
    assert suggestion is None or suggestion in problem.suggestions


@both_kinds
def test_a_mapped_dimension_is_used(case: Case) -> None:
    lines, problems = case.plan("SALES", "P-7", {("cost_center", "SALES"): "CC100", ("cost_unit", "P-7"): "CU1"})

    assert problems == []
    assert (lines[0]["CostCenter"], lines[0]["CostUnit"]) == ("CC100", "CU1")


@both_kinds
def test_a_plan_keeps_its_amounts_exact_through_storage(case: Case) -> None:
    lines, _problems = case.plan("CC100")
    plan = Plan(Supplier("a-guid", "code", "1001", "Acme")).with_lines(lines, case.kind.journal(TENANT, TABLE))

    stored = jsonutil.loads(jsonutil.dumps(plan.dump()))
    again = Plan.load(stored)

    assert again == plan
    assert stored["supplier"]["ID"] == "a-guid"  # the stored shape records have always had
    amounts = [value for line in again.lines for value in line.values() if not isinstance(value, str)]
    assert amounts and all(isinstance(value, Decimal) for value in amounts)
    payload = case.kind.payload(again, case.make("CC100", None))
    assert payload["Supplier"] == "a-guid" and payload["YourRef"] == case.kind.summary(case.make(None, None)).reference
