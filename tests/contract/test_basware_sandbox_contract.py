"""The sandbox's own promises: strict on auth and request ids, and drivable from another process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from connector import jsonutil
from tests.contract.basware_fixtures import Basware, running_basware, webhook_receiver


@pytest.fixture
def bw() -> Iterator[Basware]:
    with running_basware() as running:
        yield running


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def api_headers(bw: Basware, request_id: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {bw.client.auth.token()}"}
    if request_id is not None:
        headers["X-BW-REQUEST-ID"] = request_id
    return headers


def test_api_calls_need_a_valid_bearer_token(bw: Basware, http: requests.Session) -> None:
    url = bw.server.url + "/v1/vendors"
    rid = {"X-BW-REQUEST-ID": str(uuid.uuid4())}
    assert http.get(url, headers=rid).json() == {"message": "Unauthorized"}
    assert http.get(url, headers={**rid, "Authorization": "Bearer made-up"}).status_code == 401
    assert http.get(url, headers=api_headers(bw, str(uuid.uuid4()))).status_code == 404  # authorised, no records


def test_expired_tokens_are_refused(bw: Basware, http: requests.Session) -> None:
    headers = api_headers(bw, str(uuid.uuid4()))
    bw.clock.advance(3601)
    assert http.get(bw.server.url + "/v1/vendors", headers=headers).status_code == 401


@pytest.mark.parametrize("request_id", [None, "", "not-a-uuid", str(uuid.uuid1()), uuid.uuid4().hex])
def test_request_id_must_be_a_uuid4(bw: Basware, http: requests.Session, request_id: str | None) -> None:
    response = http.get(bw.server.url + "/v1/vendors", headers=api_headers(bw, request_id))
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "PARAMETER_VALIDATION_ERROR"


def test_lowercase_processing_status_is_refused(bw: Basware, http: requests.Session) -> None:
    url = bw.server.url + "/v1/accountingDocuments?processingStatus=WaitingForTransfer"
    assert http.get(url, headers=api_headers(bw, str(uuid.uuid4()))).status_code == 400


def test_a_continuation_token_only_works_with_the_same_query(bw: Basware, http: requests.Session) -> None:
    for number in range(3):
        bw.sandbox.add_vendor({"vendorCode": f"S{number}", "name": "x"})
    url = bw.server.url + "/v1/vendors"
    first = http.get(url, params={"pageSize": 2}, headers=api_headers(bw, str(uuid.uuid4())))
    token = first.headers["X-amz-meta-continuationToken"]
    headers = {**api_headers(bw, str(uuid.uuid4())), "x-amz-meta-continuationtoken": token}
    assert http.get(url, params={"pageSize": 1}, headers=headers).status_code == 400
    assert [
        v["vendorCode"] for v in http.get(url, params={"pageSize": 2}, headers=headers).json()["vendorEntities"]
    ] == ["S2"]


def test_admin_endpoints_drive_the_sandbox(bw: Basware, http: requests.Session) -> None:
    admin = bw.server.url + "/_sandbox"
    body = {
        "invoice_number": "INV-77",
        "supplier_code": "S1",
        "supplier_name": "Acme",
        "rows": [{"account_code": "4000", "tax_code": "V21", "tax_percent": "21", "net": "10.05", "tax": "2.11"}],
    }
    created = http.post(admin + "/invoices", data=jsonutil.dumps(body), headers={"Content-Type": "application/json"})
    invoice_id = created.json()["invoiceId"]
    assert bw.client.get_accounting_document(invoice_id)["grossSum"] == Decimal("12.16")
    http.post(admin + "/faults", json={"error_5xx_count": 1})
    assert http.get(bw.server.url + "/v1/vendors", headers=api_headers(bw, str(uuid.uuid4()))).status_code == 503
    with webhook_receiver() as receiver:
        http.post(admin + "/subscriptions", json={"url": receiver.url, "secret": "s"})
        assert http.post(f"{admin}/notify/{invoice_id}").json() == {"status": 200}
    bw.client.acknowledge(invoice_id)
    state = http.get(f"{admin}/invoices/{invoice_id}").json()
    assert state["processingStatus"] == "TransferInProgress" and state["acknowledged"] == 1
    assert http.get(f"{admin}/invoices/unknown").status_code == 404
