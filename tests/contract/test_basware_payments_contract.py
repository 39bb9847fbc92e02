"""Payment responses in the Basware sandbox, sent with the product client: validation as the spec, Paid once paid."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from connector.basware.client import PAYMENT_RESPONSE
from connector.basware.scopes import required_scopes
from tests.contract.basware_fixtures import CLIENT_ID, CLIENT_SECRET, Basware, add_invoices, running_basware


@pytest.fixture
def basware() -> Iterator[Basware]:
    with running_basware() as running:
        yield running


def _gross(basware: Basware, invoice_id: str) -> Decimal:
    return Decimal(str(basware.sandbox.invoice(invoice_id)["document"]["grossSum"]))


def _post(basware: Basware, invoice_id: str, body: Any) -> requests.Response:
    token = basware.client.auth.token()
    headers = {"Authorization": f"Bearer {token}", "X-BW-REQUEST-ID": "0b1e7d1c-0c3b-4f59-9d2a-3f4c1f1b2a10"}
    url = f"{basware.server.url}/v1/accountingDocuments/{invoice_id}/paymentResponses"
    return requests.post(url, json=body, headers=headers, timeout=10)


def test_the_client_asks_for_the_write_scope_of_payment_responses() -> None:
    assert PAYMENT_RESPONSE.scope == "accountingDocuments.write" and PAYMENT_RESPONSE.scope in required_scopes()


def test_a_partial_then_a_full_payment_makes_the_invoice_paid(basware: Basware) -> None:
    (invoice_id,) = add_invoices(basware.sandbox, 1)
    gross = _gross(basware, invoice_id)
    part = {"paidTotal": Decimal("10.00"), "paymentDate": "2026-12-01T00:00:00Z", "paymentMethod": "B"}
    assert basware.client.post_payment_response(invoice_id, part, external_code="pay-1")
    assert basware.sandbox.invoice(invoice_id)["processingStatus"] != "Paid"
    full = {"paidTotal": gross, "paymentDate": "2026-12-03T00:00:00Z", "paymentNumber": "P-9"}
    assert basware.client.post_payment_response(invoice_id, full, external_code="pay-2")
    assert basware.sandbox.invoice(invoice_id)["processingStatus"] == "Paid"
    kept = basware.sandbox.payment_responses(invoice_id)
    assert [r["externalCode"] for r in kept] == ["pay-1", "pay-2"]
    assert kept[1]["success"] is True and kept[1]["paymentBlock"] is False and "paymentMethod" not in kept[1]


def test_a_lower_paid_total_after_paid_takes_paid_back(basware: Basware) -> None:
    (invoice_id,) = add_invoices(basware.sandbox, 1)
    basware.client.post_payment_response(invoice_id, {"paidTotal": _gross(basware, invoice_id)}, external_code="a")
    basware.client.post_payment_response(invoice_id, {"paidTotal": Decimal("0")}, external_code="b")
    assert basware.sandbox.invoice(invoice_id)["processingStatus"] == "WaitingForTransfer"


def test_a_reused_external_code_is_refused_and_the_client_reads_it_as_kept(basware: Basware) -> None:
    (invoice_id,) = add_invoices(basware.sandbox, 1)
    assert basware.client.post_payment_response(invoice_id, {"paidTotal": 1}, external_code="same")
    assert basware.client.post_payment_response(invoice_id, {"paidTotal": 1}, external_code="same") is False
    assert len(basware.sandbox.payment_responses(invoice_id)) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"success": True, "paymentBlock": False},
        {"externalCode": "x", "paymentBlock": False},
        {"externalCode": "x", "success": True},
        {"externalCode": "", "success": True, "paymentBlock": False},
        {"externalCode": "x" * 37, "success": True, "paymentBlock": False},
        {"externalCode": "x", "success": True, "paymentBlock": False, "paymentMethod": "m" * 26},
        {"externalCode": "x", "success": True, "paymentBlock": False, "paymentMessage": "m" * 101},
        {"externalCode": "x", "success": True, "paymentBlock": False, "paidTotal": "12"},
        {"externalCode": "x", "success": True, "paymentBlock": False, "paymentDate": "yesterday"},
        {"externalCode": "x", "success": True, "paymentBlock": False, "voucherNumber1": "v"},
        {"externalCode": "x", "success": "yes", "paymentBlock": False},
    ],
)
def test_bodies_against_the_spec_are_refused(basware: Basware, body: dict[str, Any]) -> None:
    (invoice_id,) = add_invoices(basware.sandbox, 1)
    response = _post(basware, invoice_id, body)
    assert response.status_code == 400, response.text
    assert basware.sandbox.payment_responses(invoice_id) == []


def test_an_unknown_invoice_is_404_and_a_token_without_write_scope_is_403(basware: Basware) -> None:
    assert _post(basware, "nope", {"externalCode": "x", "success": True, "paymentBlock": False}).status_code == 404
    basware.sandbox.register_client(CLIENT_ID, CLIENT_SECRET, ["accountingDocuments.read"])
    basware.sandbox.revoke_tokens()
    basware.client.auth.invalidate()
    (invoice_id,) = add_invoices(basware.sandbox, 1)
    assert _post(basware, invoice_id, {"externalCode": "x", "success": True, "paymentBlock": False}).status_code == 403


def test_only_the_latest_hundred_responses_are_kept(basware: Basware) -> None:
    (invoice_id,) = add_invoices(basware.sandbox, 1)
    for number in range(102):
        basware.client.post_payment_response(invoice_id, {"paidTotal": number}, external_code=f"c{number}")
    kept = basware.sandbox.payment_responses(invoice_id)
    assert len(kept) == 100 and kept[0]["externalCode"] == "c2"
