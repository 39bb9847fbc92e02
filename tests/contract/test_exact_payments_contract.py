"""Payment terms in the Exact sandbox, read with the product client's sync calls: what the payment sync relies on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connector.sandbox.exact import seed
from tests.contract.exact_fixtures import DIVISION, Exact, running_exact
from tests.contract.exact_http import call, error_text, payload

TERMS = "sync/Cashflow/PaymentTerms"


@pytest.fixture
def exact() -> Iterator[Exact]:
    with running_exact(minute_limit=10_000, day_limit=100_000) as running:
        yield running


def _entry(exact: Exact, ref: str = "INV-1", amount: str = "100.00") -> dict[str, Any]:
    line = {"GLAccount": seed.seed_guid(DIVISION, "GLAccount", "4000"), "AmountFC": Decimal(amount), "VATCode": "1"}
    body = {
        "Journal": seed.PURCHASE_JOURNAL,
        "Supplier": seed.seed_guid(DIVISION, "Account", "1001"),
        "EntryDate": "2026-11-20",
        "YourRef": ref,
        "PurchaseEntryLines": [line],
    }
    return exact.client.create_purchase_entry(body)


def _of(rows: list[dict[str, Any]], entry_id: str) -> list[dict[str, Any]]:
    return [row for row in rows if row["TransactionEntryID"] == entry_id]


def test_every_entry_has_one_open_payable_term(exact: Exact) -> None:
    entry = _entry(exact)
    (term,) = _of(exact.client.payment_terms_since(0), entry["EntryID"])
    assert term["LineType"] == 22 and term["Status"] == 20 and term["IsFullyPaid"] is False
    assert term["AmountFC"] == entry["AmountFC"] and term["Timestamp"] > 0


def test_a_partial_payment_splits_the_term_and_only_changed_rows_come_after_the_cursor(exact: Exact) -> None:
    entry, other = _entry(exact), _entry(exact, "INV-2")
    since = max(row["Timestamp"] for row in exact.client.payment_terms_since(0))
    exact.sandbox.record_payment(DIVISION, entry["EntryID"], Decimal("40.00"), reference="PAY-7")
    changed = exact.client.payment_terms_since(since)
    assert {row["TransactionEntryID"] for row in changed} == {entry["EntryID"]}
    by_status = {row["Status"]: row for row in changed}
    assert by_status[50]["AmountFC"] == Decimal("40.00") and by_status[50]["PaymentReference"] == "PAY-7"
    assert by_status[50]["LastPaymentDate"] is not None and by_status[50]["EndDate"] is not None
    assert by_status[20]["AmountFC"] == entry["AmountFC"] - Decimal("40.00")
    assert all(row["Timestamp"] > since for row in changed) and other["EntryID"]


def test_full_payment_then_undo_each_give_a_newer_row_version(exact: Exact) -> None:
    entry = _entry(exact)
    paid = exact.sandbox.record_payment(DIVISION, entry["EntryID"], on=datetime(2026, 12, 3, tzinfo=UTC))
    assert paid["Status"] == 50 and paid["IsFullyPaid"] is True
    undone = exact.sandbox.undo_payment(DIVISION, entry["EntryID"])
    assert undone["Status"] == 20 and undone["Timestamp"] > paid["Timestamp"]
    (term,) = _of(exact.client.payment_terms_since(paid["Timestamp"]), entry["EntryID"])
    assert term["Status"] == 20 and term["LastPaymentDate"] is None


def test_sync_allows_only_the_timestamp_filter(exact: Exact) -> None:
    for params in ({"$filter": "LineType eq 22"}, {"$top": "5"}, {"$orderby": "Timestamp"}):
        response = call(exact, "GET", TERMS, **{"$filter": "Timestamp gt 0L", **params})
        assert response.status_code == 400, params
        assert "Timestamp gt" in error_text(response)
    assert call(exact, "GET", TERMS, **{"$filter": "Timestamp gt 0L"}).ok


def test_pages_hold_a_thousand_rows_and_the_client_follows_next(exact: Exact) -> None:
    for number in range(1001):
        _entry(exact, f"INV-{number}", "1.00")
    first = call(exact, "GET", TERMS, **{"$filter": "Timestamp gt 0L"})
    body = first.json()["d"]
    assert len(body["results"]) == 1000 and "__next" in body
    calls = exact.sandbox.api_calls[DIVISION]
    assert len(exact.client.payment_terms_since(0)) == 1001
    assert exact.sandbox.api_calls[DIVISION] - calls == 2


def test_a_deleted_entry_reports_its_term_in_sync_deleted(exact: Exact) -> None:
    entry = _entry(exact)
    (term,) = _of(exact.client.payment_terms_since(0), entry["EntryID"])
    call(exact, "DELETE", f"purchaseentry/PurchaseEntries(guid'{entry['EntryID']}')")
    deleted = exact.client.deleted_since(0)
    assert [(row["EntityKey"], row["EntityType"]) for row in deleted] == [(term["ID"], 10)]
    assert _of(exact.client.payment_terms_since(0), entry["EntryID"]) == []


def test_a_move_sets_division_move_date_and_restarts_row_versions(exact: Exact) -> None:
    entry = _entry(exact)
    exact.sandbox.record_payment(DIVISION, entry["EntryID"])
    high = max(row["Timestamp"] for row in exact.client.payment_terms_since(0))
    assert exact.client.division_move_date() is None
    moved = exact.sandbox.move_division(DIVISION)
    assert exact.client.division_move_date() == moved.replace(microsecond=moved.microsecond // 1000 * 1000)
    assert exact.client.payment_terms_since(high) == []
    assert len(exact.client.payment_terms_since(0)) == 1


def test_the_admin_endpoint_records_partial_payments_and_undoes_them(exact: Exact) -> None:
    entry = _entry(exact, amount="50.00")
    url = f"{exact.url}/_sandbox/purchase-entries/{entry['EntryID']}/payments"
    part = exact.session.post(url, json={"amount": "20.00", "date": "2026-12-01", "reference": "P-1"})
    assert part.status_code == 201 and part.json()["Status"] == 50
    assert exact.session.post(url, json={"amount": "1000"}).status_code == 400
    assert exact.session.post(f"{url}/undo", json={}).json()["Status"] == 20
    terms = exact.session.get(f"{exact.url}/_sandbox/payment-terms").json()
    rest = entry["AmountFC"] - Decimal("20.00")
    assert sorted(Decimal(str(t["AmountFC"])) for t in terms) == [Decimal("20.00"), rest]
    assert payload(call(exact, "GET", "system/Divisions"))[0]["Code"] == DIVISION


def test_the_open_term_follows_a_changed_entry_amount(exact: Exact) -> None:
    entry = _entry(exact)
    (before,) = _of(exact.client.payment_terms_since(0), entry["EntryID"])
    stored = exact.sandbox.purchase_entries(DIVISION)[0]
    line_id = stored["PurchaseEntryLines"][0]["ID"]
    response = call(exact, "PUT", f"purchaseentry/PurchaseEntryLines(guid'{line_id}')", {"AmountFC": Decimal("200.00")})
    assert response.status_code == 204, response.text
    (after,) = _of(exact.client.payment_terms_since(before["Timestamp"]), entry["EntryID"])
    assert after["AmountFC"] == exact.sandbox.purchase_entries(DIVISION)[0]["AmountFC"] != before["AmountFC"]
