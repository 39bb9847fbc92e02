"""Loading Basware JSON: exact money, tolerant of additions, loud about what is missing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from connector import jsonutil
from connector.basware.schemas import load_invoice, load_notification, load_vendor
from connector.errors import RecordBlocked


def document(**overrides: Any) -> dict[str, Any]:
    """An AccountingDocumentEntity as the client receives it (parsed by jsonutil, so amounts are Decimal)."""
    doc = {
        "invoiceId": "63255782d0a04d8d8defcc6a0062101d",
        "invoiceNumber": "INV-2026-001",
        "companyCode": "DEMO",
        "supplierCode": "S100",
        "supplierName": "Acme Supplies BV",
        "currencyCode": "EUR",
        "invoiceDate": "2026-11-20T00:00:00Z",
        "dueDate": "2026-12-20",
        "netSum": Decimal("100.00"),
        "taxSum1": Decimal("21.00"),
        "grossSum": Decimal("121.00"),
        "description": "Office chairs",
        "processingStatus": "WaitingForTransfer",
        "paymentBlock": False,
        "codingRows": [
            {
                "externalCode": "row-1",
                "rowIndex": 1,
                "accountCode": "4000",
                "costCenterCode": "CC10",
                "projectCode": "P7",
                "dimCode1": "D1",
                "taxCode": "V21",
                "taxPercent": Decimal("21"),
                "taxSum": Decimal("21.00"),
                "netTotal": Decimal("100.00"),
                "grossTotal": Decimal("121.00"),
                "lastComment": "approved by Anna",
            }
        ],
    }
    doc.update(overrides)
    return doc


def test_invoice_loads_into_the_domain_with_decimals() -> None:
    invoice = load_invoice(document())
    assert (invoice.invoice_number, invoice.supplier_code, invoice.currency) == (
        "INV-2026-001",
        "S100",
        "EUR",
    )
    assert (invoice.net_sum, invoice.tax_sum, invoice.gross_sum) == (
        Decimal("100.00"),
        Decimal("21.00"),
        Decimal("121.00"),
    )
    assert invoice.invoice_date == date(2026, 11, 20) and invoice.due_date == date(2026, 12, 20)
    [row] = invoice.rows
    assert (row.account_code, row.cost_center_code, row.cost_unit_code) == ("4000", "CC10", "P7")
    assert (row.net, row.tax, row.gross, row.tax_percent) == (
        Decimal("100.00"),
        Decimal("21.00"),
        Decimal("121.00"),
        21,
    )
    assert row.description == "approved by Anna"
    assert not invoice.is_credit_note


def test_cost_unit_comes_from_the_configured_dimension() -> None:
    assert load_invoice(document(), cost_unit_field="dimCode1").rows[0].cost_unit_code == "D1"
    assert load_invoice(document(), cost_unit_field="dimCode9").rows[0].cost_unit_code is None
    assert load_invoice(document(), cost_unit_field=None).rows[0].cost_unit_code is None


def test_tax_sum_adds_both_tax_fields() -> None:
    invoice = load_invoice(document(taxSum1=Decimal("9.00"), taxSum2=Decimal("12.00")))
    assert invoice.tax_sum == Decimal("21.00")


@pytest.mark.parametrize(
    "raw", ["2026-11-20", "2026-11-20T00:00:00Z", "2026-11-20T00:00:00", "2026-11-20T23:30:00+02:00"]
)
def test_dates_in_every_basware_spelling(raw: str) -> None:
    assert load_invoice(document(invoiceDate=raw)).invoice_date == date(2026, 11, 20)


def test_amounts_as_strings_and_integers_are_exact() -> None:
    invoice = load_invoice(document(netSum="100.10", grossSum=121, taxSum1=" 20.90 "))
    assert (invoice.net_sum, invoice.gross_sum, invoice.tax_sum) == (
        Decimal("100.10"),
        Decimal(121),
        Decimal("20.90"),
    )


@pytest.mark.parametrize("bad", [100.1, "12,50", "NaN", "Infinity", True])
def test_inexact_or_non_numbers_block_the_record(bad: Any) -> None:
    with pytest.raises(RecordBlocked) as caught:
        load_invoice(document(netSum=bad))
    assert "netSum" in str(caught.value)


def test_missing_fields_are_all_named() -> None:
    doc = document()
    del doc["invoiceNumber"], doc["currencyCode"], doc["codingRows"][0]["netTotal"]
    with pytest.raises(RecordBlocked) as caught:
        load_invoice(doc)
    message = str(caught.value)
    assert "63255782d0a04d8d8defcc6a0062101d" in message
    for name in ("invoiceNumber", "currencyCode", "codingRows[0].netTotal"):
        assert name in message
    assert {p["field"] for p in caught.value.problems} == {
        "invoiceNumber",
        "currencyCode",
        "codingRows[0].netTotal",
    }


def test_a_bad_date_blocks_the_record() -> None:
    with pytest.raises(RecordBlocked, match="invoiceDate"):
        load_invoice(document(invoiceDate="20/11/2026"))


def test_unknown_fields_are_ignored() -> None:
    doc = document(brandNewField={"x": 1}, text1="custom")
    doc["codingRows"][0]["someFutureDimension"] = "X"
    assert load_invoice(doc).invoice_number == "INV-2026-001"


def test_row_index_falls_back_to_position_and_optional_fields_to_none() -> None:
    rows = [{"netTotal": Decimal("5")}, {"netTotal": Decimal("-5"), "accountCode": "4000"}]
    invoice = load_invoice(document(codingRows=rows, netSum=Decimal("0"), grossSum=Decimal("0")))
    assert [row.row_index for row in invoice.rows] == [1, 2]
    assert invoice.rows[0].account_code is None and invoice.rows[0].tax == Decimal("0")


def test_credit_note_keeps_its_sign() -> None:
    invoice = load_invoice(document(netSum=Decimal("-100.00"), taxSum1=Decimal("-21.00"), grossSum=Decimal("-121.00")))
    assert invoice.is_credit_note and invoice.gross_sum == Decimal("-121.00")


amounts = st.decimals(
    allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9, places=2
) | st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9, places=4)


@given(net=amounts, tax=amounts, gross=amounts)
def test_amounts_survive_the_wire_exactly(net: Decimal, tax: Decimal, gross: Decimal) -> None:
    rows = [{"rowIndex": 1, "accountCode": "4000", "netTotal": net, "taxSum": tax, "grossTotal": gross}]
    wire = jsonutil.loads(jsonutil.dumps(document(netSum=net, taxSum1=tax, grossSum=gross, codingRows=rows)))
    invoice = load_invoice(wire)
    assert (invoice.net_sum, invoice.tax_sum, invoice.gross_sum) == (net, tax, gross)
    assert (invoice.rows[0].net, invoice.rows[0].tax, invoice.rows[0].gross) == (net, tax, gross)
    assert str(invoice.net_sum) == str(net)  # same digits, not just equal value


def vendor_entity() -> dict[str, Any]:
    return {
        "externalCode": "S100",
        "vendorCode": "S100",
        "name": "Acme Supplies BV",
        "identifiers": [
            {"id": "0106:12345678", "schemeId": "PartyId"},
            {"id": "NL123456789B01", "schemeId": "vat_id"},
        ],
        "addresses": [
            {"streetName": "Side 2", "cityName": "Utrecht", "countryId": "NL", "default": False},
            {
                "streetName": "Main 1",
                "postalZone": "1011 AB",
                "cityName": "Amsterdam",
                "countryId": "NL",
                "default": True,
            },
        ],
        "contacts": [{"name": "Ops", "email": None}, {"name": "AP", "email": "ap@acme.example"}],
        "paymentMeans": [
            {
                "default": False,
                "financialAccounts": [
                    {"financialAccountIdentifiers": [{"schemeId": "IBAN", "id": "DE89370400440532013000"}]}
                ],
            },
            {
                "default": True,
                "financialAccounts": [
                    {
                        "financialInstitution": {"id": "ABNANL2A", "schemeId": "BIC"},
                        "financialAccountIdentifiers": [
                            {"schemeId": "BBAN", "id": "417164300"},
                            {"schemeId": "IBAN", "id": "NL91ABNA0417164300"},
                        ],
                    }
                ],
            },
        ],
        "lastUpdated": "2026-11-20T10:00:00Z",
    }


def test_vendor_picks_vat_default_address_first_email_and_default_bank() -> None:
    vendor = load_vendor(vendor_entity())
    assert (vendor.code, vendor.name, vendor.vat_number) == ("S100", "Acme Supplies BV", "NL123456789B01")
    assert (vendor.street, vendor.postcode, vendor.city, vendor.country) == (
        "Main 1",
        "1011 AB",
        "Amsterdam",
        "NL",
    )
    assert vendor.email == "ap@acme.example"
    assert (vendor.iban, vendor.bic) == ("NL91ABNA0417164300", "ABNANL2A")


@pytest.mark.parametrize("scheme", ["VAT", "vat", "VATID", "VAT_ID", "vat-id"])
def test_vat_scheme_spellings(scheme: str) -> None:
    entity = {"vendorCode": "S1", "name": "N", "identifiers": [{"id": "BE0123456789", "schemeId": scheme}]}
    assert load_vendor(entity).vat_number == "BE0123456789"


def test_minimal_vendor_and_first_address_when_none_is_default() -> None:
    entity = {"vendorCode": "S1", "name": "N", "addresses": [{"cityName": "Gent"}, {"cityName": "Brugge"}]}
    vendor = load_vendor(entity)
    assert vendor.city == "Gent" and vendor.vat_number is None and vendor.iban is None and vendor.email is None


def test_vendor_without_code_or_name_is_blocked() -> None:
    with pytest.raises(RecordBlocked, match="vendorCode, name"):
        load_vendor({"externalCode": "S1"})


def notification(**overrides: Any) -> dict[str, Any]:
    payload = {
        "taskId": "eb9ea3fa-69de-4a5a-8a1a-f4347cd18626",
        "taskStatus": "New",
        "taskType": "AccountingDocuments",
        "taskSubType": "WaitingForTransfer",
        "documentId": "63255782d0a04d8d8defcc6a0062101d",
        "expirationTime": "2021-12-11T08:53:31Z",
    }
    payload.update(overrides)
    return {key: value for key, value in payload.items() if value is not None}


def test_notification_loads_with_extras_kept() -> None:
    loaded = load_notification(notification())
    assert (loaded.task_id, loaded.task_type, loaded.document_id) == (
        "eb9ea3fa-69de-4a5a-8a1a-f4347cd18626",
        "AccountingDocuments",
        "63255782d0a04d8d8defcc6a0062101d",
    )
    assert loaded.task_sub_type == "WaitingForTransfer"
    assert loaded.extra == {"expirationTime": "2021-12-11T08:53:31Z"}


def test_basware_misspelling_is_normalised() -> None:
    assert load_notification(notification(taskType="AccoutingDocuments")).task_type == "AccountingDocuments"


def test_connection_test_needs_no_document() -> None:
    loaded = load_notification({"taskId": "t", "taskType": "ConnectionTest", "taskStatus": "New"})
    assert loaded.is_connection_test and loaded.document_id is None


@pytest.mark.parametrize("missing", ["taskId", "taskType", "taskStatus", "documentId"])
def test_notification_missing_field_names_it(missing: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load_notification(notification(**{missing: None}))
    assert missing in caught.value.messages


def test_notification_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(ValidationError):
        load_notification(["not", "an", "object"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("invoiceNumber", "N" * 121, "longer than 120 characters"),
        ("supplierName", "S" * 251, "longer than 250 characters"),
        ("description", "D" * 1001, "longer than 1000 characters"),
        ("description", "before\u0000after", "NUL"),
        ("invoiceNumber", "INV-\ud800", "lone surrogate"),
        ("currencyCode", "EURO", "longer than 3 characters"),
        ("grossSum", Decimal("1E+30"), "beyond any amount"),
        ("netSum", "-1000000000000", "beyond any amount"),
    ],
)
def test_text_and_amounts_our_columns_cannot_keep_block_the_record_with_a_reason(
    field: str, value: Any, says: str
) -> None:
    with pytest.raises(RecordBlocked) as caught:
        load_invoice(document(**{field: value}))
    assert field in str(caught.value) and says in str(caught.value)


def test_a_coding_row_text_with_nul_blocks_naming_the_row() -> None:
    doc = document()
    doc["codingRows"][0]["accountCode"] = "40\u000000"
    with pytest.raises(RecordBlocked) as caught:
        load_invoice(doc)
    assert "codingRows[0].accountCode" in str(caught.value)
