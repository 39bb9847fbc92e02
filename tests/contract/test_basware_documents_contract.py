"""Accounting documents over HTTP: paging, redirects, acknowledge-once, transfer responses and faults."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from connector.basware.schemas import load_invoice
from connector.errors import FatalAPIError, RetriableAPIError
from connector.sandbox.basware import make_invoice
from tests.contract.basware_fixtures import Basware, add_invoices, running_basware


@pytest.fixture
def bw() -> Iterator[Basware]:
    with running_basware() as running:
        yield running


def test_every_request_carries_a_unique_uuid4_request_id(bw: Basware) -> None:
    [invoice_id] = add_invoices(bw.sandbox, 1)
    list(bw.client.list_accounting_documents())
    bw.client.get_accounting_document(invoice_id)
    bw.client.acknowledge(invoice_id)
    ids = bw.sandbox.request_ids
    assert len(ids) >= 4 and len(set(ids)) == len(ids)
    assert all(uuid.UUID(value).version == 4 for value in ids)


@pytest.mark.parametrize("redirect_lists", [False, True], ids=["direct", "via 302"])
def test_listing_follows_continuation_tokens_across_pages(redirect_lists: bool) -> None:
    with running_basware(redirect_lists=redirect_lists) as bw:
        ids = add_invoices(bw.sandbox, 5)
        documents = list(bw.client.list_accounting_documents(page_size=2))
    assert [doc["invoiceId"] for doc in documents] == ids  # three pages: 2 + 2 + 1


def test_listing_survives_acknowledging_while_paging(bw: Basware) -> None:
    ids = add_invoices(bw.sandbox, 5)
    seen = []
    for document in bw.client.list_accounting_documents(page_size=2):
        seen.append(document["invoiceId"])
        assert bw.client.acknowledge(document["invoiceId"]) is True
    assert seen == ids


def test_listing_filters_by_status_and_company(bw: Basware) -> None:
    [mine] = add_invoices(bw.sandbox, 1, company_code="NL01")
    [other] = add_invoices(bw.sandbox, 1, company_code="BE01")
    bw.client.acknowledge(other)
    assert [d["invoiceId"] for d in bw.client.list_accounting_documents(company_code="NL01")] == [mine]
    assert [d["invoiceId"] for d in bw.client.list_accounting_documents("TransferInProgress")] == [other]


def test_no_records_is_an_empty_listing(bw: Basware) -> None:
    assert list(bw.client.list_accounting_documents()) == []


def test_get_follows_the_redirect_and_keeps_money_exact(bw: Basware) -> None:
    rows = [("4000", "CC10", "V21", Decimal("21"), Decimal("0.10"), Decimal("0.02"), "P7")]
    invoice_id = bw.sandbox.add_invoice(make_invoice("INV-9", "S100", "Acme", rows))
    document = bw.client.get_accounting_document(invoice_id)
    assert document["grossSum"] == Decimal("0.12") and isinstance(document["grossSum"], Decimal)
    invoice = load_invoice(document)
    assert invoice.rows[0].cost_unit_code == "P7" and invoice.net_sum + invoice.tax_sum == invoice.gross_sum


def test_the_presigned_redirect_refuses_an_authorization_header(bw: Basware) -> None:
    """If the client forwarded its bearer token on the redirect, the object store would reject the GET."""
    [invoice_id] = add_invoices(bw.sandbox, 1)
    token = bw.client.auth.token()
    headers = {"Authorization": f"Bearer {token}", "X-BW-REQUEST-ID": str(uuid.uuid4())}
    with requests.Session() as session:
        followed = session.get(f"{bw.server.url}/v1/accountingDocuments/{invoice_id}", headers=headers)
    assert followed.status_code == 400  # requests keeps Authorization on a same-host redirect
    assert bw.client.get_accounting_document(invoice_id)["invoiceId"] == invoice_id


def test_unknown_document_is_fatal_not_found(bw: Basware) -> None:
    with pytest.raises(FatalAPIError, match="not found") as caught:
        bw.client.get_accounting_document("no-such-invoice")
    assert caught.value.status == 404 and caught.value.request_id


def test_acknowledge_once_then_false(bw: Basware) -> None:
    [invoice_id] = add_invoices(bw.sandbox, 1)
    assert bw.client.acknowledge(invoice_id) is True
    assert bw.client.acknowledge(invoice_id) is False
    state = bw.sandbox.invoice(invoice_id)
    assert state["processingStatus"] == "TransferInProgress" and state["acknowledged"] == 1


def test_successful_transfer_response_is_stored_with_the_voucher_number(bw: Basware) -> None:
    [invoice_id] = add_invoices(bw.sandbox, 1)
    bw.client.acknowledge(invoice_id)
    bw.client.post_transfer_response(invoice_id, success=True, message="Booked in Exact", voucher_number="26700012")
    state = bw.sandbox.invoice(invoice_id)
    assert state["processingStatus"] == "Transferred" and state["voucherNumber1"] == "26700012"
    [response] = state["transferResponses"]
    assert response["success"] is True and response["sourceSystem"] == "ExactOnline"
    assert response["paymentBlock"] is False and uuid.UUID(response["externalCode"])


def test_failed_transfer_keeps_the_reason_cut_to_250_characters(bw: Basware) -> None:
    [invoice_id] = add_invoices(bw.sandbox, 1)
    bw.client.post_transfer_response(invoice_id, success=False, message="GL account 4000 unknown. " * 20)
    state = bw.sandbox.invoice(invoice_id)
    assert state["processingStatus"] == "TransferFailed" and state["voucherNumber1"] is None
    assert len(state["transferResponses"][0]["responseMessage"]) == 250


def test_a_response_for_a_transferred_invoice_is_rejected(bw: Basware) -> None:
    [invoice_id] = add_invoices(bw.sandbox, 1)
    bw.client.post_transfer_response(invoice_id, success=True, message="ok", voucher_number="1")
    with pytest.raises(FatalAPIError) as caught:
        bw.client.post_transfer_response(invoice_id, success=True, message="again", voucher_number="2")
    assert caught.value.status == 400 and caught.value.code == "DATA_VALIDATION_FAILED"
    assert bw.sandbox.invoice(invoice_id)["voucherNumber1"] == "1"


def test_server_errors_are_retriable_and_pass(bw: Basware) -> None:
    add_invoices(bw.sandbox, 1)
    bw.client.ping()
    bw.sandbox.set_faults(error_5xx_count=1)
    with pytest.raises(RetriableAPIError) as caught:
        list(bw.client.list_accounting_documents())
    assert caught.value.status == 503 and caught.value.request_id
    assert len(list(bw.client.list_accounting_documents())) == 1


def test_a_dropped_connection_is_retriable(bw: Basware) -> None:
    [invoice_id] = add_invoices(bw.sandbox, 1)
    bw.client.ping()
    bw.sandbox.set_faults(drop_count=1)
    with pytest.raises(RetriableAPIError):
        bw.client.acknowledge(invoice_id)
    assert bw.client.acknowledge(invoice_id) is True
