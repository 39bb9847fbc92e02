"""Purchase entries as Exact allows changing them: lines as their own resource, header PUTs, processed entries."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from connector.exact import odata
from connector.sandbox.exact import seed
from tests.contract.exact_fixtures import DIVISION, Exact, running_exact
from tests.contract.exact_http import call, error_text, payload

LINES = "purchaseentry/PurchaseEntryLines"
BINDING = "Error processing request stream. Binding to new entities"


@pytest.fixture
def exact() -> Iterator[Exact]:
    with running_exact(minute_limit=1000) as running:
        yield running


def _gl(code: str) -> str:
    return seed.seed_guid(DIVISION, "GLAccount", code)


def _line(gl: str = "4000", amount: str = "100.00", vat_code: str = "1", **extra: Any) -> dict[str, Any]:
    return {"GLAccount": _gl(gl), "AmountFC": Decimal(amount), "VATCode": vat_code, **extra}


def _create(exact: Exact, *lines: dict[str, Any], your_ref: str = "INV-1") -> dict[str, Any]:
    body = {
        "Journal": seed.PURCHASE_JOURNAL,
        "Supplier": seed.seed_guid(DIVISION, "Account", "1001"),
        "EntryDate": "2026-11-20",
        "YourRef": your_ref,
        "PurchaseEntryLines": list(lines) or [_line(), _line("4001", "50.00")],
    }
    return exact.client.create_purchase_entry(body)


def _entry_path(entry_id: str) -> str:
    return f"purchaseentry/PurchaseEntries({odata.guid(entry_id)})"


def _lines(exact: Exact, entry_id: str) -> list[dict[str, Any]]:
    return list(payload(call(exact, "GET", LINES, **{"$filter": f"EntryID eq {odata.guid(entry_id)}"})))


def _stored(exact: Exact, entry_id: str) -> dict[str, Any]:
    return next(e for e in exact.sandbox.purchase_entries(DIVISION) if e["EntryID"] == entry_id)


def test_entry_lines_are_listed_by_entry_and_carry_their_id(exact: Exact) -> None:
    first = _create(exact)
    _create(exact, _line(amount="7.00"), your_ref="INV-2")
    lines = _lines(exact, first["EntryID"])
    assert [line["AmountFC"] for line in lines] == [Decimal("100.00"), Decimal("50.00")]
    assert all(line["EntryID"] == first["EntryID"] and line["ID"] for line in lines)
    one = payload(call(exact, "GET", f"{LINES}({odata.guid(lines[1]['ID'])})"))
    assert one["AmountFC"] == Decimal("50.00")


def test_a_line_is_posted_to_an_existing_entry_and_the_header_follows(exact: Exact) -> None:
    entry = _create(exact)
    response = call(exact, "POST", LINES, {"EntryID": entry["EntryID"], **_line("4002", "10.00")})
    assert response.status_code == 201
    assert payload(response)["ID"]
    assert len(_lines(exact, entry["EntryID"])) == 3
    header = exact.client.get_purchase_entry(entry["EntryID"])
    assert header["AmountFC"] == Decimal("193.60")  # (100 + 50 + 10) * 1.21


@pytest.mark.parametrize(
    ("missing", "message"),
    [("EntryID", "Mandatory: Entry"), ("GLAccount", "Mandatory: G/L account"), ("AmountFC", "Mandatory: Amount")],
)
def test_a_posted_line_needs_its_entry_account_and_amount(exact: Exact, missing: str, message: str) -> None:
    entry = _create(exact)
    body = {"EntryID": entry["EntryID"], **_line("4002", "10.00")}
    del body[missing]
    response = call(exact, "POST", LINES, body)
    assert response.status_code == 500
    assert message in error_text(response)
    assert len(_lines(exact, entry["EntryID"])) == 2


def test_a_line_is_changed_and_deleted_by_its_id(exact: Exact) -> None:
    entry = _create(exact)
    first, second = _lines(exact, entry["EntryID"])
    assert call(exact, "PUT", f"{LINES}({odata.guid(first['ID'])})", {"AmountFC": Decimal("200.00")}).status_code == 204
    assert call(exact, "DELETE", f"{LINES}({odata.guid(second['ID'])})").status_code == 204
    [line] = _lines(exact, entry["EntryID"])
    assert (line["ID"], line["AmountFC"], line["VATAmountFC"]) == (first["ID"], Decimal("200.00"), Decimal("42.00"))
    assert exact.client.get_purchase_entry(entry["EntryID"])["AmountFC"] == Decimal("242.00")


def test_a_header_put_with_a_new_line_is_refused_and_changes_nothing(exact: Exact) -> None:
    entry = _create(exact)
    before = _stored(exact, entry["EntryID"])
    body = {"Description": "Changed", "PurchaseEntryLines": [_line("4003", "1.00")]}
    response = call(exact, "PUT", _entry_path(entry["EntryID"]), body)
    assert response.status_code == 400
    assert error_text(response).startswith(BINDING)
    assert _stored(exact, entry["EntryID"]) == before


def test_a_header_put_edits_existing_lines_by_id(exact: Exact) -> None:
    entry = _create(exact)
    first, second = _lines(exact, entry["EntryID"])
    body = {"PurchaseEntryLines": [{"ID": second["ID"], "AmountFC": Decimal("60.00")}]}
    assert call(exact, "PUT", _entry_path(entry["EntryID"]), body).status_code == 204
    after = _lines(exact, entry["EntryID"])
    assert [(line["ID"], line["AmountFC"]) for line in after] == [
        (first["ID"], Decimal("100.00")),
        (second["ID"], Decimal("60.00")),
    ]


def test_a_header_put_without_lines_changes_the_header_only(exact: Exact) -> None:
    entry = _create(exact)
    lines = _lines(exact, entry["EntryID"])
    assert call(exact, "PUT", _entry_path(entry["EntryID"]), {"Description": "Corrected"}).status_code == 204
    assert exact.client.get_purchase_entry(entry["EntryID"])["Description"] == "Corrected"
    assert _lines(exact, entry["EntryID"]) == lines


def test_a_processed_entry_refuses_every_change(exact: Exact) -> None:
    entry = _create(exact)
    line_id = _lines(exact, entry["EntryID"])[0]["ID"]
    with requests.Session() as admin:
        marked = admin.post(f"{exact.url}/_sandbox/purchase-entries/{entry['EntryID']}/processed")
        assert marked.status_code == 200
    before = _stored(exact, entry["EntryID"])
    assert before["Status"] == 50
    attempts = [
        call(exact, "PUT", _entry_path(entry["EntryID"]), {"Description": "Too late"}),
        call(exact, "DELETE", _entry_path(entry["EntryID"])),
        call(exact, "PUT", f"{LINES}({odata.guid(line_id)})", {"AmountFC": Decimal("1.00")}),
        call(exact, "DELETE", f"{LINES}({odata.guid(line_id)})"),
        call(exact, "POST", LINES, {"EntryID": entry["EntryID"], **_line()}),
    ]
    assert [response.status_code for response in attempts] == [500] * 5
    assert all("processed" in error_text(response) for response in attempts)
    assert _stored(exact, entry["EntryID"]) == before


def test_an_open_entry_can_be_deleted_and_the_python_api_marks_one_processed(exact: Exact) -> None:
    kept, dropped = _create(exact), _create(exact, your_ref="INV-2")
    assert call(exact, "DELETE", _entry_path(dropped["EntryID"])).status_code == 204
    exact.sandbox.mark_processed(DIVISION, kept["EntryID"])
    assert [e["Status"] for e in exact.sandbox.purchase_entries(DIVISION)] == [50]
