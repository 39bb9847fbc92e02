"""Client credentials against the sandbox: one token per lifetime, renewed when due, secrets never shown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from connector.basware.client import BaswareClient
from connector.errors import FatalAPIError, RetriableAPIError
from tests.contract.basware_fixtures import CLIENT_SECRET, Basware, running_basware


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
