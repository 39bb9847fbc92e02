"""Client credentials against the sandbox: one token per lifetime, renewed when due, secrets never shown."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from connector.basware.auth import ClientCredentialsAuth
from connector.basware.client import BaswareClient
from connector.basware.scopes import required_scopes, scope_of
from connector.errors import FatalAPIError, RetriableAPIError
from connector.sandbox.basware import make_invoice, make_purchase_order
from tests.contract.basware_fixtures import CLIENT_ID, CLIENT_SECRET, Basware, running_basware


@pytest.fixture
def bw() -> Iterator[Basware]:
    with running_basware(token_lifetime=3600) as running:
        yield running


def test_token_is_fetched_once_and_reused(bw: Basware) -> None:
    for _ in range(5):
        bw.client.ping()
    assert bw.sandbox.token_calls == 1


def test_token_is_renewed_after_its_lifetime(bw: Basware) -> None:
    bw.client.ping()
    bw.clock.advance(1800)
    bw.client.ping()
    assert bw.sandbox.token_calls == 1
    bw.clock.advance(1800)  # past expiry: the sandbox would answer 401 to the old token
    bw.client.ping()
    assert bw.sandbox.token_calls == 2


def test_token_is_renewed_shortly_before_expiry() -> None:
    with running_basware(token_lifetime=100) as bw:
        bw.client.ping()
        bw.clock.advance(95)  # inside the renewal margin: renew rather than race the expiry
        bw.client.ping()
        assert bw.sandbox.token_calls == 2


def test_a_revoked_token_is_replaced_once_and_the_call_succeeds(bw: Basware) -> None:
    bw.client.ping()
    bw.sandbox.revoke_tokens()
    bw.client.ping()
    assert bw.sandbox.token_calls == 2


def test_bad_credentials_are_fatal_and_keep_the_secret_out() -> None:
    with running_basware() as bw, BaswareClient(bw.server.url, "ml-connector-test", "wrong-secret") as client:
        with pytest.raises(FatalAPIError) as caught:
            client.ping()
    text = f"{caught.value} {caught.value!r} {caught.value.body_excerpt}"
    assert "invalid client credentials" in str(caught.value)
    assert caught.value.status == 401
    assert "wrong-secret" not in text and CLIENT_SECRET not in text


def test_token_endpoint_outage_is_retriable(bw: Basware) -> None:
    bw.sandbox.set_faults(error_5xx_count=1)
    with pytest.raises(RetriableAPIError):
        bw.client.ping()
    bw.client.ping()  # the outage is over and nothing is left broken


def test_token_endpoint_validates_the_form(bw: Basware) -> None:
    with requests.Session() as session:
        missing = session.post(
            bw.server.url + "/v1/tokens", data={"scope": "x"}, auth=("ml-connector-test", CLIENT_SECRET)
        )
        assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
        wrong = session.post(
            bw.server.url + "/v1/tokens",
            data={"grant_type": "client_credentials", "scope": "x"},
            auth=("ml-connector-test", "nope"),
        )
        assert wrong.status_code == 401 and wrong.json() == {"error": "invalid_client"}
        good = session.post(
            bw.server.url + "/v1/tokens",
            data={"grant_type": "client_credentials", "scope": "vendors.read"},
            auth=("ml-connector-test", CLIENT_SECRET),
        ).json()
    assert good["token_type"] == "Bearer" and good["expires_in"] == 3600 and good["scope"] == "vendors.read"


def test_unreachable_host_is_retriable() -> None:
    with running_basware() as bw:
        url = bw.server.url
    with BaswareClient(url, "id", "secret", timeout=2) as client, pytest.raises(RetriableAPIError):
        client.ping()


def test_the_sandbox_refuses_a_call_whose_scope_the_token_lacks(bw: Basware) -> None:
    narrow = ClientCredentialsAuth(bw.server.url, CLIENT_ID, CLIENT_SECRET, scope="accountingDocuments.read")
    headers = {"Authorization": f"Bearer {narrow.token()}", "X-BW-REQUEST-ID": str(uuid.uuid4())}
    with requests.Session() as http:
        listed = http.get(bw.server.url + "/v1/accountingDocuments", params={"pageSize": 1}, headers=headers)
        orders = http.get(bw.server.url + "/v1/exportedPurchaseOrders", headers=headers)
        acknowledged = http.post(bw.server.url + "/v1/accountingDocuments/x/acknowledge", headers=headers)
    assert listed.status_code in (200, 404)
    assert orders.status_code == 403 and "exportedPurchaseOrders.read" in orders.text
    assert acknowledged.status_code == 403 and "accountingDocuments.write" in acknowledged.text


def test_the_client_asks_for_the_scope_of_every_call_it_makes(bw: Basware) -> None:
    bw.sandbox.add_invoice(make_invoice("INV-1", "S100", "Acme", []))
    bw.sandbox.purchase_orders.add(make_purchase_order("PO-1", "S100", "Acme", []))
    assert list(bw.client.list_exported_purchase_orders())
    assert list(bw.client.list_accounting_documents())
    assert {"exportedPurchaseOrders.read", "exportedPurchaseOrders.write", "accountingDocuments.write"} <= set(
        required_scopes()
    )
    assert bw.client.missing_scopes() == []


def test_missing_scopes_names_what_basware_did_not_grant() -> None:
    with running_basware() as bw:
        granted = set(required_scopes()) - {"exportedPurchaseOrders.read", "exportedPurchaseOrders.write"}
        bw.sandbox.register_client(CLIENT_ID, CLIENT_SECRET, scopes=granted)
        with pytest.raises(FatalAPIError) as refused:
            list(bw.client.list_exported_purchase_orders())
        assert refused.value.status == 403
        assert "lacks scope exportedPurchaseOrders.read" in str(refused.value)
        assert bw.client.missing_scopes() == ["exportedPurchaseOrders.read", "exportedPurchaseOrders.write"]


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/v1/accountingDocuments", "accountingDocuments.read"),
        ("POST", "/v1/accountingDocuments/a%2Fb/transferResponses", "accountingDocuments.write"),
        ("GET", "/v1/exportedPurchaseOrders/PO-1?x=1", "exportedPurchaseOrders.read"),
        ("DELETE", "/v1/accountingDocuments", "accountingDocuments.delete"),
    ],
)
def test_scope_of_a_call(method: str, path: str, scope: str) -> None:
    assert scope_of(method, path) == scope
