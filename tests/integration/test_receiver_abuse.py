"""Bad input never becomes a 500 (Basware retries those for ever): each gets a 4xx with a reason, nothing stored."""

from __future__ import annotations

import pytest
import requests

from connector.store.tenants import Tenant
from connector.sync.services import Services
from tests.support import notification, post_signed, signed_headers
from tests.support.receiving import Enqueued, stored

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_services(private_pg_services: Services) -> Services:
    """This module's receivers have a stand-in broker: a database of the test's own (see private_pg_services)."""
    return private_pg_services


def _signed_post(receiver_url: str, tenant: Tenant, body: bytes) -> requests.Response:
    return post_signed(receiver_url, tenant.name, body)


def _notification_with(**fields: str) -> bytes:
    base = {
        "taskId": "t-1",
        "taskStatus": "New",
        "taskType": "AccountingDocuments",
        "taskSubType": "WaitingForTransfer",
    }
    base.update(fields)
    return ("{" + ",".join(f'"{key}":"{value}"' for key, value in base.items()) + "}").encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_notification_with(taskId="x" * 101, documentId="doc-1"), "taskId"),
        (_notification_with(documentId="d" * 101), "documentId"),
        (_notification_with(documentId="doc\\u0000nul"), "documentId"),
        (_notification_with(documentId="doc\\ud800lone"), "documentId"),
        (_notification_with(taskId="t\\u0000", documentId="doc-1"), "taskId"),
        (b'\xff\xfe{"taskId": "t"}', "UTF-8"),
        (b"[" * 50_000 + b"]" * 50_000, "JSON"),
    ],
    ids=["long-task-id", "long-document-id", "nul", "lone-surrogate", "nul-task-id", "not-utf8", "deep-nesting"],
)
def test_a_signed_but_bad_notification_is_a_400_with_a_reason(
    receiver_url: str, pg_services: Services, tenant: Tenant, enqueued: Enqueued, body: bytes, reason: str
) -> None:
    response = _signed_post(receiver_url, tenant, body)

    assert response.status_code == 400, response.text
    assert reason in response.json()["error"]
    assert stored(pg_services, tenant) == (0, 0) and enqueued == []


@pytest.mark.parametrize(
    "name", ["nul\x00name", "n" * 300, "%ff%fe", "\udcff"], ids=["nul", "long", "bytes", "surrogate"]
)
def test_a_strange_tenant_name_answers_like_a_bad_signature(receiver_url: str, name: str) -> None:
    body = notification("doc-1")
    path = "/webhooks/basware/" + requests.utils.quote(name.encode("utf-8", "surrogatepass"), safe="%")

    response = requests.post(receiver_url + path, data=body, headers=signed_headers(body), timeout=10)

    assert response.status_code == 401


def test_an_oversized_chunked_body_is_refused_with_413_not_truncated(
    receiver_url: str, pg_services: Services, tenant: Tenant
) -> None:
    limit = pg_services.settings.max_body_bytes
    body = _notification_with(documentId="doc-big")[:-1] + b',"pad":"' + b"x" * (limit + 10) + b'"}'

    def chunks():  # no Content-Length: requests sends Transfer-Encoding: chunked
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    response = requests.post(
        f"{receiver_url}/webhooks/basware/{tenant.name}", data=chunks(), headers=signed_headers(body), timeout=30
    )

    assert response.status_code == 413
    assert stored(pg_services, tenant) == (0, 0)


def test_a_chunked_body_within_the_limit_is_accepted(receiver_url: str, pg_services: Services, tenant: Tenant) -> None:
    body = notification("doc-chunked")

    response = requests.post(
        f"{receiver_url}/webhooks/basware/{tenant.name}",
        data=iter([body[:10], body[10:]]),
        headers=signed_headers(body),
    )

    assert response.status_code == 202
