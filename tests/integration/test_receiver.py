"""The webhook receiver over HTTP on PostgreSQL: what it accepts, what it refuses, and that refusals store nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from pathlib import Path

import pytest
import requests

from connector.basware.signature import sign
from connector.errors import ConfigurationError
from connector.sandbox.server import ServerThread
from connector.store import db, inbox, records, tenants
from connector.store.tenants import Tenant
from connector.sync.services import Services
from connector.wiring import build_services
from tests.conftest import make_settings
from tests.support import WEBHOOK_SECRET, Sandboxes, add_tenant, notification, post_to, signed_headers
from tests.support.receiving import Enqueued, stored
from webhook_receiver import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_services(private_pg_services: Services) -> Services:
    """This module's receivers have a stand-in broker: a database of the test's own (see private_pg_services)."""
    return private_pg_services


def test_a_signed_notification_is_committed_before_the_answer_and_the_dispatcher_publishes_it(
    receiver_url: str, pg_services: Services, tenant: Tenant, enqueued: Enqueued
) -> None:
    response = post_to(receiver_url, tenant.name, body := notification("doc-1"), signed_headers(body))

    assert response.status_code == 202
    [(record, _)] = records.list_records(pg_services.db, tenant_id=tenant.id)
    assert (record.basware_id, record.status, record.kind) == ("doc-1", "pending", "invoice")
    assert response.json()["record_id"] == record.id
    assert enqueued == []  # the request waited for the database only, never for the broker
    assert [record_id for _, record_id in inbox.unpublished(pg_services.db)] == [record.id]

    assert inbox.dispatch(pg_services.db, enqueued) == 1
    assert enqueued == [record.id]
    assert inbox.unpublished(pg_services.db) == []
    assert inbox.dispatch(pg_services.db, enqueued) == 0  # published once


def test_a_duplicate_task_id_is_answered_200_and_enqueues_nothing(
    receiver_url: str, pg_services: Services, tenant: Tenant, enqueued: Enqueued
) -> None:
    body = notification("doc-2")
    first = post_to(receiver_url, tenant.name, body, signed_headers(body))
    second = post_to(receiver_url, tenant.name, body, signed_headers(body))

    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["status"] == "duplicate"
    assert second.json()["record_id"] == first.json()["record_id"]
    assert inbox.dispatch(pg_services.db, enqueued) == 1
    assert stored(pg_services, tenant) == (1, 1)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "not-hex-at-all",
        hmac.new(b"another-secret", b"x", hashlib.sha256).hexdigest(),
    ],
    ids=["missing", "empty", "malformed", "wrong-secret"],
)
def test_a_bad_signature_is_refused_with_401_and_nothing_is_stored(
    receiver_url: str, pg_services: Services, tenant: Tenant, enqueued: Enqueued, header: str | None
) -> None:
    body = notification("doc-3")
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-BW-Signature"] = header

    response = post_to(receiver_url, tenant.name, body, headers)

    assert response.status_code == 401
    assert "signature" in response.json()["error"]
    assert stored(pg_services, tenant) == (0, 0) and inbox.unpublished(pg_services.db) == []


def test_a_body_changed_after_signing_is_refused(receiver_url: str, pg_services: Services, tenant: Tenant) -> None:
    body = notification("doc-4")
    headers = signed_headers(body)

    response = post_to(receiver_url, tenant.name, body.replace(b"doc-4", b"doc-5"), headers)

    assert response.status_code == 401
    assert stored(pg_services, tenant) == (0, 0)


@pytest.mark.parametrize(
    "encode",
    [
        lambda digest: "sha256=" + digest.hex(),
        lambda digest: digest.hex().upper(),
        lambda digest: base64.b64encode(digest).decode(),
    ],
    ids=["sha256-prefix", "upper-hex", "base64"],
)
def test_other_signature_encodings_are_accepted(receiver_url: str, tenant: Tenant, encode) -> None:  # type: ignore[no-untyped-def]
    body = notification(f"doc-{uuid.uuid4().hex[:6]}")
    digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).digest()

    response = post_to(receiver_url, tenant.name, body, {"X-BW-Signature": encode(digest)})

    assert response.status_code == 202


def test_an_unknown_tenant_answers_like_a_bad_signature(
    receiver_url: str, pg_services: Services, tenant: Tenant, enqueued: Enqueued
) -> None:
    body = notification("doc-6")
    before = inbox.count(pg_services.db)

    unknown = post_to(receiver_url, "no-such-tenant", body, signed_headers(body))
    forged = post_to(receiver_url, tenant.name, body, {"X-BW-Signature": "00" * 32})

    assert unknown.status_code == forged.status_code == 401
    assert unknown.json() == forged.json()  # nothing tells an outsider which tenants exist
    assert inbox.count(pg_services.db) == before and inbox.unpublished(pg_services.db) == []


def test_an_oversized_body_is_refused_with_413(receiver_url: str, pg_services: Services, tenant: Tenant) -> None:
    body = b'{"taskId":"' + b"x" * (pg_services.settings.max_body_bytes + 10) + b'"}'

    response = post_to(receiver_url, tenant.name, body, signed_headers(body))

    assert response.status_code == 413
    assert stored(pg_services, tenant) == (0, 0)


def test_malformed_json_after_a_valid_signature_is_400_with_a_reason(
    receiver_url: str, pg_services: Services, tenant: Tenant
) -> None:
    body = b'{"taskId": "abc", "taskType": '

    response = post_to(receiver_url, tenant.name, body, signed_headers(body))

    assert response.status_code == 400
    assert response.json()["error"].startswith("malformed JSON")
    assert stored(pg_services, tenant) == (0, 0)


def test_a_notification_without_document_id_is_400_naming_the_field(
    receiver_url: str, pg_services: Services, tenant: Tenant
) -> None:
    body = b'{"taskId":"t-1","taskType":"AccountingDocuments","taskStatus":"New"}'

    response = post_to(receiver_url, tenant.name, body, signed_headers(body))

    assert response.status_code == 400
    assert "documentId" in response.json()["error"]
    assert stored(pg_services, tenant) == (0, 0)


def test_the_connection_test_is_answered_200_and_not_stored(
    receiver_url: str, pg_services: Services, tenant: Tenant
) -> None:
    body = b'{"taskId":"c-1","taskType":"ConnectionTest","taskStatus":"New"}'

    response = post_to(receiver_url, tenant.name, body, signed_headers(body))

    assert response.status_code == 200
    assert stored(pg_services, tenant) == (0, 0)


def test_when_the_broker_is_down_the_event_waits_in_the_inbox_and_goes_once_it_is_back(
    receiver_url: str, pg_services: Services, tenant: Tenant, enqueued: Enqueued
) -> None:
    enqueued.fail = True
    responses = [post_to(receiver_url, tenant.name, b := notification(f"doc-7{i}"), signed_headers(b)) for i in "ab"]

    assert [r.status_code for r in responses] == [202, 202]  # durably recorded: Basware need not send them again
    with pytest.raises(inbox.BrokerUnavailable):
        inbox.dispatch(pg_services.db, enqueued)
    assert len(inbox.unpublished(pg_services.db)) == 2

    enqueued.fail = False
    assert inbox.dispatch(pg_services.db, enqueued) == 2
    assert sorted(enqueued) == sorted(r.json()["record_id"] for r in responses)
    assert inbox.unpublished(pg_services.db) == []


def test_when_the_database_is_down_the_receiver_answers_503_so_basware_retries(tmp_path: Path, secret_key: str) -> None:
    svc = build_services(make_settings(tmp_path, "postgresql+psycopg2://postgres@127.0.0.1:1/none", secret_key))
    with ServerThread(create_app(svc, enqueue=Enqueued())) as server:
        body = notification("doc-8")
        response = post_to(server.url, "any", body, signed_headers(body))
        ready = requests.get(f"{server.url}/readyz", timeout=10)
        alive = requests.get(f"{server.url}/healthz", timeout=10)
    svc.close()

    assert response.status_code == 503
    assert (ready.status_code, alive.status_code) == (503, 200)


def test_readyz_is_200_when_the_database_answers(receiver_url: str) -> None:
    assert requests.get(f"{receiver_url}/readyz", timeout=10).json() == {"status": "ready"}


def test_a_tenant_with_a_weak_secret_cannot_be_registered(pg_services: Services, sandboxes: Sandboxes) -> None:
    for weak in ("", "short", "x" * 31):
        with pytest.raises(ConfigurationError, match="at least 32 bytes"):
            add_tenant(pg_services, sandboxes, webhook_secret=weak)


def test_a_notification_signed_with_an_empty_key_is_refused_even_for_a_legacy_tenant(
    receiver_url: str, pg_services: Services, tenant: Tenant, enqueued: Enqueued
) -> None:
    with pg_services.db.begin() as conn:  # a tenant stored before secrets had a minimum length
        conn.execute(
            db.tenants.update().where(db.tenants.c.id == tenant.id).values(webhook_secret=pg_services.box.encrypt(""))
        )
    body = notification("doc-empty-key")

    response = post_to(receiver_url, tenant.name, body, {"X-BW-Signature": sign("", body)})

    assert response.status_code == 401
    assert stored(pg_services, tenant) == (0, 0) and inbox.unpublished(pg_services.db) == []


def test_during_a_rotation_both_secrets_verify_and_afterwards_only_the_new(
    receiver_url: str, pg_services: Services, tenant: Tenant
) -> None:
    new = "rotated-webhook-secret-" + "9" * 20
    until = tenants.rotate_webhook_secret(pg_services.db, pg_services.box, tenant.id, new, overlap=3600)
    old_signed, new_signed = notification("doc-old-key"), notification("doc-new-key")

    assert (
        post_to(receiver_url, tenant.name, old_signed, {"X-BW-Signature": sign(WEBHOOK_SECRET, old_signed)}).status_code
        == 202
    )
    assert post_to(receiver_url, tenant.name, new_signed, {"X-BW-Signature": sign(new, new_signed)}).status_code == 202

    with pg_services.db.begin() as conn:  # the overlap is over
        conn.execute(
            db.tenants.update().where(db.tenants.c.id == tenant.id).values(webhook_secret_previous_until=until - 7200)
        )
    late = notification("doc-old-key-late")
    assert post_to(receiver_url, tenant.name, late, {"X-BW-Signature": sign(WEBHOOK_SECRET, late)}).status_code == 401
