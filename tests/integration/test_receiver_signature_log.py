"""A failed push signature is diagnosable from the receiver's log, and only from its log."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient

from connector.basware.signature import ENCODINGS_TRIED, sign
from connector.store.tenants import Tenant
from connector.sync.services import Services
from tests.support import WEBHOOK_SECRET, Sandboxes, add_tenant, notification
from webhook_receiver import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_services(private_pg_services: Services) -> Services:
    """This module's receivers have a stand-in broker: a database of the test's own (see private_pg_services)."""
    return private_pg_services


CONNECTION_TEST = b'{"taskId":"c-1","taskType":"ConnectionTest","taskStatus":"New"}'


@pytest.fixture
def client(pg_services: Services) -> FlaskClient:
    return create_app(pg_services, enqueue=lambda _record_id: None).test_client()


@pytest.fixture
def tenant(pg_services: Services, sandboxes: Sandboxes) -> Tenant:
    return add_tenant(pg_services, sandboxes, authorize=False)


def _post(client: FlaskClient, tenant: Tenant, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    response = client.post(f"/webhooks/basware/{tenant.name}", data=body, headers=headers)
    return response.status_code, response.get_data(as_text=True)


def test_a_signature_in_an_unexpected_header_is_explained_in_the_log_only(
    client: FlaskClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    body = notification("doc-sig-1")
    signature = sign(WEBHOOK_SECRET, body).upper()
    headers = {"Content-Type": "application/json", "X-BWAPI-Signature-256": signature, "X-Trace": "trace-value-9"}

    with caplog.at_level(logging.INFO):
        status, answer = _post(client, tenant, body, headers)

    assert status == 401
    log = caplog.text
    for name in ("X-Bwapi-Signature-256", "X-Trace", "Content-Type", "X-BW-Signature"):
        assert name.lower() in log.lower()
    for encoding in ENCODINGS_TRIED:
        assert encoding in log
    assert "CONNECTOR_SIGNATURE_HEADER=X-Bwapi-Signature-256" in log
    for value in (WEBHOOK_SECRET, signature, signature.lower(), "trace-value-9"):
        assert value not in log
    # The sender learns only that it failed, not how we check.
    assert "X-Trace" not in answer and "hex" not in answer and "CONNECTOR_" not in answer


def test_a_wrong_signature_logs_the_shape_of_the_value_but_never_the_value(
    client: FlaskClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    body = notification("doc-sig-2")
    wrong = sign("not-the-tenant-secret", body)

    with caplog.at_level(logging.INFO):
        status, _ = _post(client, tenant, body, {"X-BW-Signature": wrong})

    assert status == 401
    assert "signature does not match" in caplog.text and "64 hex characters" in caplog.text
    assert wrong not in caplog.text and sign(WEBHOOK_SECRET, body) not in caplog.text


def test_the_first_connection_test_of_a_tenant_logs_the_header_names_it_carried(
    client: FlaskClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    signature = sign(WEBHOOK_SECRET, CONNECTION_TEST)
    headers = {"X-BW-Signature": signature, "X-Basware-Delivery": "delivery-value-3"}

    with caplog.at_level(logging.INFO):
        first, _ = _post(client, tenant, CONNECTION_TEST, headers)
    logged = [r.getMessage() for r in caplog.records if "ConnectionTest" in r.getMessage()]
    caplog.clear()
    with caplog.at_level(logging.INFO):
        second, _ = _post(client, tenant, CONNECTION_TEST, headers)

    assert (first, second) == (200, 200)
    [line] = logged
    assert tenant.name in line and "X-Basware-Delivery" in line and "X-Bw-Signature" in line
    assert signature not in line and "delivery-value-3" not in line
    assert not [r for r in caplog.records if "ConnectionTest" in r.getMessage()]  # once per tenant, not per test
