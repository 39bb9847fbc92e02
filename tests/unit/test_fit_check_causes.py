"""How the fit check names a cause and which mapping it suggests, from the problems planning finds."""

from __future__ import annotations

from connector.mapping.problems import problem
from connector.sync.fitcheck import Verdict, by_cause, cause, suggested_mappings


def test_each_problem_is_named_by_the_cause_a_person_fixes() -> None:
    assert cause(problem(1, "cost_center", "CC900", "CC900", "cost center CC900 ended on 2020-12-31, before ...")) == (
        "ended cost center"
    )
    assert cause(problem(1, "cost_center", "CC999", "CC999", "cost center CC999 does not exist")) == (
        "unknown cost center"
    )
    assert cause(problem(1, "vat_code", "VAT5", None, "no VAT mapping for Basware tax VAT5")) == "missing VAT mapping"
    assert cause(problem(None, "vendor", "7777", None, "not found")) == "vendor not in Exact"
    assert cause(problem(None, "amount", None, None, "totals do not add up")) == "amount"


def test_suggestions_become_mapping_rows_once_each_and_vendors_are_left_for_a_person() -> None:
    gl = problem(1, "gl_account", "4999", "4999", "GL account 4999 does not exist", ["4099", "4119"])
    vendor = problem(None, "vendor", "7777", None, "ambiguous", ["1001 Acme", "1004 Acme"])
    verdicts = [Verdict("a", "invoice", problems=(gl,)), Verdict("b", "invoice", problems=(gl, vendor))]

    assert suggested_mappings(verdicts) == [("gl_account", "4999", "4099"), ("vendor", "7777", "?")]
    assert {name: len(found) for name, found in by_cause(verdicts).items()} == {
        "unknown or unusable GL account": 2,
        "vendor not in Exact": 1,
    }
    assert Verdict("c", "invoice").outcome == "would_post" and verdicts[0].outcome == "would_block"
