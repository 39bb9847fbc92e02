"""The Exact client against the sandbox over HTTP: paging, filters, purchase entries, errors and limits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import requests

from connector.errors import APIError, FatalAPIError, RateLimited, RetriableAPIError
from connector.exact import odata
from connector.exact.client import GL_SELECT, ExactClient
from connector.sandbox.exact import seed
from tests.contract.exact_fixtures import DIVISION, Exact, running_exact


@pytest.fixture
def exact() -> Exact:
    with running_exact(minute_limit=1000) as running:
        yield running


def _entry(exact: Exact, your_ref: str = "INV-1", **line: Any) -> dict[str, Any]:
    supplier = exact.client.find_supplier_by_code("1001")
    assert supplier is not None
    gl = {row["Code"]: row["ID"] for row in exact.client.gl_accounts()}
    first_line = {
        "GLAccount": gl["4000"],
        "AmountFC": Decimal("100.10"),
        "VATCode": "1",
        "VATAmountFC": Decimal("21.02"),
        "CostCenter": "CC100",
        "CostUnit": "CU1",
        "Description": "Paper",
        **line,
    }
    return {
        "Journal": seed.PURCHASE_JOURNAL,
        "Supplier": supplier["ID"],
        "EntryDate": date(2024, 5, 1),
        "DueDate": "2024-05-31T00:00:00Z",
        "YourRef": your_ref,
        "Currency": "EUR",
        "Description": "Office supplies",
        "PurchaseEntryLines": [
            first_line,
            {
                "GLAccount": gl["4001"],
                "AmountFC": Decimal("0.03"),
                "VATCode": "2",
                "VATAmountFC": Decimal("0"),
            },
        ],
    }


def test_paging_returns_every_gl_account(exact: Exact) -> None:
    # The regular endpoint, 60 rows a page (gl_accounts() itself reads the bulk one: see below).
    accounts = odata.trim_codes(exact.client.get_all("financial/GLAccounts", select=GL_SELECT))
    assert len(accounts) == seed.SEED_GL_COUNT == 131
    assert len({row["ID"] for row in accounts}) == 131
    assert {row["Code"] for row in accounts} >= set(seed.SEED_GL_CODES) | {seed.CREDITORS_GL_CODE}
    blocked = [row["Code"] for row in accounts if row["IsBlocked"]]
    assert blocked == [seed.BLOCKED_GL_CODE]
    assert exact.sandbox.api_calls[DIVISION] == 3  # 60 + 60 + 11


def test_master_data_comes_back_trimmed_with_fractions_and_dates(exact: Exact) -> None:
    vat = {row["Code"]: row["Percentage"] for row in exact.client.vat_codes()}
    assert vat == {
        "1": Decimal("0.21"),
        "2": Decimal("0.09"),
        "0": Decimal("0"),
        "5": Decimal("0.055"),
        "6": Decimal("0.21"),
    }
    centers = {row["Code"]: row for row in exact.client.cost_centers()}
    assert set(centers) == set(seed.SEED_COST_CENTERS)
    assert centers["CC100"]["EndDate"] is None
    assert odata.parse_date(centers[seed.CLOSED_COST_CENTER]["EndDate"]).year == 2020
    assert {row["Code"] for row in exact.client.cost_units()} == {"CU1", "CU2"}
    journals = {row["Code"]: row["Type"] for row in exact.client.journals()}
    assert journals[seed.PURCHASE_JOURNAL] == 22


def test_accounts_demand_a_filter(exact: Exact) -> None:
    with pytest.raises(FatalAPIError) as caught:
        exact.client.get_all("crm/Accounts")
    assert caught.value.status == 400
    assert "mandatory filtering" in str(caught.value)


def test_a_bad_filter_is_a_fatal_syntax_error(exact: Exact) -> None:
    with pytest.raises(FatalAPIError, match="Error in query syntax"):
        exact.client.find_accounts("Name eq 'unterminated")


def test_supplier_lookup_pads_the_code(exact: Exact) -> None:
    supplier = exact.client.find_supplier_by_code("1002")
    assert supplier is not None
    assert supplier["Name"] == "Globex Office Supplies"
    assert supplier["Code"] == "1002" and supplier["Country"] == "NL"
    raw = exact.client.get_all("crm/Accounts", filter=f"ID eq {odata.guid(supplier['ID'])}")
    assert raw[0]["Code"] == "1002".rjust(18) and raw[0]["Country"] == "NL "
    assert exact.client.find_supplier_by_code("9999") is None
    # an unpadded filter finds nothing, exactly as in Exact
    assert exact.client.find_accounts("Code eq '1002'") == []


def test_accounts_can_be_found_by_vat_number_and_created(exact: Exact) -> None:
    found = exact.client.find_accounts(f"VATNumber eq {odata.string('NL001234567B01')}")
    assert [row["Name"] for row in found] == ["Acme Supplies BV"]
    created = exact.client.create_account({"Name": "O'Brien Parts", "IsSupplier": True, "Country": "IE"})
    assert created["Code"] == "1004" and created["Country"] == "IE"
    again = exact.client.find_accounts(f"Name eq {odata.string(created['Name'])}")
    assert [row["ID"] for row in again] == [created["ID"]]


def test_an_account_needs_a_name(exact: Exact) -> None:
    with pytest.raises(FatalAPIError, match="Mandatory: Name"):
        exact.client.create_account({"Name": ""})


def test_purchase_entry_round_trip_keeps_money_exact(exact: Exact) -> None:
    created = exact.client.create_purchase_entry(_entry(exact))
    assert created["AmountFC"] == Decimal("121.15")  # gross: lines plus VAT
    assert created["VATAmountFC"] == Decimal("21.02")
    assert created["Status"] == 20 and created["Type"] == 30
    assert isinstance(created["EntryNumber"], int)
    assert odata.parse_date(created["EntryDate"]).date() == date(2024, 5, 1)
    found = exact.client.find_purchase_entries(created["Supplier"], "INV-1")
    assert [row["EntryID"] for row in found] == [created["EntryID"]]
    assert exact.client.find_purchase_entries(created["Supplier"], "INV-2") == []
    full = exact.client.get_purchase_entry(created["EntryID"])
    lines = full["PurchaseEntryLines"]["results"]
    assert [line["AmountFC"] for line in lines] == [Decimal("100.10"), Decimal("0.03")]
    assert lines[0]["VATCode"] == "1" and lines[0]["CostCenter"] == "CC100"
    stored = exact.sandbox.purchase_entries(DIVISION)
    assert stored[0]["PurchaseEntryLines"][1]["AmountFC"] == Decimal("0.03")


def test_entry_numbers_are_sequential(exact: Exact) -> None:
    first = exact.client.create_purchase_entry(_entry(exact, "A-1"))
    second = exact.client.create_purchase_entry(_entry(exact, "A-2"))
    assert second["EntryNumber"] == first["EntryNumber"] + 1


def test_your_ref_with_a_quote_is_found(exact: Exact) -> None:
    created = exact.client.create_purchase_entry(_entry(exact, "O'Neil 7"))
    assert len(exact.client.find_purchase_entries(created["Supplier"], "O'Neil 7")) == 1


def test_unknown_gl_account_is_a_validation_error(exact: Exact) -> None:
    with pytest.raises(FatalAPIError) as caught:
        exact.client.create_purchase_entry(_entry(exact, GLAccount=seed.seed_guid(999, "GLAccount", "4000")))
    assert caught.value.status == 500
    assert "Invalid reference: G/L account" in str(caught.value)
    assert exact.sandbox.purchase_entries(DIVISION) == []


def test_every_problem_is_reported_at_once(exact: Exact) -> None:
    body = _entry(exact, CostCenter="NOPE", CostUnit="NOPE")
    del body["Supplier"]
    with pytest.raises(FatalAPIError) as caught:
        exact.client.create_purchase_entry(body)
    message = str(caught.value)
    for text in ("Mandatory: Relationship", "Invalid reference: Cost center", "Invalid reference: Cost unit"):
        assert text in message


def test_a_duplicate_invoice_is_refused(exact: Exact) -> None:
    exact.client.create_purchase_entry(_entry(exact))
    with pytest.raises(FatalAPIError, match="Duplicate"):
        exact.client.create_purchase_entry(_entry(exact))
    assert len(exact.sandbox.purchase_entries(DIVISION)) == 1


def test_an_open_entry_can_be_updated(exact: Exact) -> None:
    created = exact.client.create_purchase_entry(_entry(exact))
    path = f"purchaseentry/PurchaseEntries({odata.guid(created['EntryID'])})"
    exact.client.put(path, {"Description": "Corrected"})
    assert exact.client.get_purchase_entry(created["EntryID"])["Description"] == "Corrected"
    exact.sandbox.set_entry_status(DIVISION, created["EntryID"], 50)
    with pytest.raises(FatalAPIError):
        exact.client.put(path, {"Description": "Too late"})


def test_another_division_is_forbidden(exact: Exact) -> None:
    other = ExactClient(exact.url, exact.tokens, division=424242, session=exact.session)
    with pytest.raises(FatalAPIError) as caught:
        other.journals()
    assert caught.value.status == 403 and "NoDivisionAccess" in str(caught.value)


def test_rate_limit_headers_are_exposed(exact: Exact) -> None:
    seen: list[str] = []
    client = ExactClient(
        exact.url,
        exact.tokens,
        division=DIVISION,
        session=exact.session,
        on_rate_limit=lambda headers: seen.append(headers.get("X-RateLimit-Minutely-Remaining", "")),
    )
    client.journals()
    client.journals()
    assert seen == ["999", "998"]
    assert client.last_rate_limit is not None
    assert client.last_rate_limit.minutely_reset is not None
    assert client.last_rate_limit.minutely_reset % 60 == 0
    assert client.last_rate_limit.reset is not None and client.last_rate_limit.reset % 86400 == 0


def test_the_minute_limit_gives_rate_limited_with_the_reset_time() -> None:
    with running_exact(minute_limit=2) as exact:
        exact.client.journals()
        exact.client.journals()
        with pytest.raises(RateLimited) as caught:
            exact.client.journals()
        now = exact.clock()
        assert now < caught.value.retry_at <= now + 60
        assert caught.value.retry_at % 60 == 0
        exact.clock.advance(caught.value.retry_at - now)
        assert len(exact.client.journals()) == 3  # the next window admits calls again


def test_a_minutely_429_carries_only_minutely_headers() -> None:
    with running_exact(minute_limit=1) as exact:
        exact.client.journals()
        headers = {"Authorization": f"Bearer {exact.tokens.access_token()}", "Accept": "application/json"}
        response = exact.session.get(f"{exact.url}/api/v1/{DIVISION}/financial/Journals", headers=headers)
        assert response.status_code == 429
        assert "X-RateLimit-Minutely-Reset" in response.headers
        assert "X-RateLimit-Reset" not in response.headers


def test_the_day_limit_gives_rate_limited_until_midnight_utc() -> None:
    with running_exact(day_limit=1) as exact:
        exact.client.journals()
        with pytest.raises(RateLimited) as caught:
            exact.client.journals()
        assert caught.value.retry_at % 86400 == 0
        assert 0 < caught.value.retry_at - exact.clock() <= 86400


def test_injected_faults_are_retriable(exact: Exact) -> None:
    exact.sandbox.set_faults(error_5xx_count=1)
    with pytest.raises(RetriableAPIError) as caught:
        exact.client.journals()
    assert caught.value.status == 503
    exact.sandbox.set_faults(rate_limit_count=1)
    with pytest.raises(RateLimited):
        exact.client.journals()
    exact.sandbox.set_faults(drop_count=1)
    with pytest.raises(RetriableAPIError):
        exact.client.journals()
    assert len(exact.client.journals()) == 3  # and the next call goes through


def test_faults_can_be_set_over_http(exact: Exact) -> None:
    with requests.Session() as admin:
        admin.post(f"{exact.url}/_sandbox/faults", json={"error_5xx_count": 1}).raise_for_status()
        with pytest.raises(RetriableAPIError):
            exact.client.journals()
        exact.client.create_purchase_entry(_entry(exact))
        state = admin.get(f"{exact.url}/_sandbox/state").json()
        entries = admin.get(f"{exact.url}/_sandbox/purchase-entries", params={"division": DIVISION})
    assert state["purchase_entries"] == {str(DIVISION): 1}
    assert entries.json()[0]["YourRef"] == "INV-1"
    assert "121.15" in entries.text  # money stays a JSON number with its own digits


def test_an_unreachable_host_is_retriable(exact: Exact) -> None:
    dead = ExactClient("http://127.0.0.1:9", exact.tokens, division=DIVISION, session=exact.session, timeout=2)
    with pytest.raises(RetriableAPIError) as caught:
        dead.journals()
    assert exact.store.load().access_token not in str(caught.value)  # type: ignore[union-attr]


def test_a_429_has_an_empty_body_and_no_retry_after() -> None:
    with running_exact(minute_limit=1) as exact:
        exact.client.journals()
        headers = {"Authorization": f"Bearer {exact.tokens.access_token()}", "Accept": "application/json"}
        response = exact.session.get(f"{exact.url}/api/v1/{DIVISION}/financial/Journals", headers=headers)
        assert response.status_code == 429
        assert response.content == b""
        assert "Retry-After" not in response.headers
        assert response.headers["X-RateLimit-Minutely-Remaining"] == "0"
        exact.sandbox.set_faults(rate_limit_count=1)
        exact.clock.advance(60)
        injected = exact.session.get(f"{exact.url}/api/v1/{DIVISION}/financial/Journals", headers=headers)
        assert (injected.status_code, injected.content) == (429, b"")
        assert "Retry-After" not in injected.headers


def test_the_chart_of_accounts_comes_in_one_bulk_call_of_up_to_1000_rows(exact: Exact) -> None:
    for number in range(150):  # more than two regular pages of 60
        exact.sandbox.add_gl_account(DIVISION, f"7{number:03}", f"Extra {number}")
    before = exact.sandbox.api_calls[DIVISION]

    accounts = exact.client.gl_accounts()

    assert exact.sandbox.api_calls[DIVISION] - before == 1
    assert {"7000", "7149", "4000"} <= {account["Code"] for account in accounts}


def test_the_bulk_endpoint_refuses_a_read_without_select(exact: Exact) -> None:
    with pytest.raises(APIError) as refused:
        exact.client.get_all("bulk/Financial/GLAccounts")
    assert refused.value.status == 400
