"""A blocking problem has one shape and one way to be said, whatever kind of document it blocks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from connector import views
from connector.mapping.problems import Problem, problem, reason
from connector.store.records import Record

GL = problem(1, "gl_account", "4001", "4010", "GL account 4010 does not exist in Exact division 100001", ["4000"])
WHOLE = problem(None, "vendor", "V9", None, "not found in Exact division 100001 by code, VAT number or name")


def _record(kind: str, *problems: Problem) -> Record:
    values: dict[str, Any] = {name: None for name in Record.__dataclass_fields__}
    values |= {"id": 1, "tenant_id": 1, "kind": kind, "basware_id": "b", "status": "blocked", "write_attempts": 0}
    values |= {"created_at": 0.0, "updated_at": 0.0, "problems": [p.as_dict() for p in problems]}
    return Record(**values)


def test_a_problem_survives_storage_and_keeps_the_stored_keys() -> None:
    stored = GL.as_dict()

    assert set(stored) == {"row", "field", "basware_code", "mapped_code", "problem", "suggestions"}
    assert Problem.from_dict(stored) == GL
    assert Problem.from_dict({"field": "invoiceNumber", "problem": "missing"}).where() == "whole document"


def test_the_reason_counts_and_lists_every_problem() -> None:
    assert reason([GL, WHOLE]) == (
        "2 problems: line 1: GL account 4010 does not exist in Exact division 100001 (did you mean 4000?); "
        "not found in Exact division 100001 by code, VAT number or name"
    )
    assert reason([replace(GL, suggestions=())]).startswith("1 problem: line 1: GL account")


def test_the_cli_says_where_which_code_and_what_exists_instead() -> None:
    assert views.problem_text(GL.as_dict()) == (
        "line 1 gl_account 4001 (mapped to 4010): GL account 4010 does not exist in Exact division 100001"
        "  (close matches: 4000)"
    )
    assert views.problem_text(GL.as_dict(), plain=True).startswith("line 1 GL account 4001")


@pytest.mark.parametrize(("kind", "label"), [("invoice", "invoice"), ("purchase_order", "purchase order")])
def test_a_whole_document_problem_names_the_kind_of_document(kind: str, label: str) -> None:
    # It used to call every whole-document problem an invoice's, a purchase order's too.
    assert views.summary(_record(kind, WHOLE), width=200).startswith(f"{label} vendor V9: not found")
    assert views.problem_row(WHOLE.as_dict())["where"] == "whole document"
