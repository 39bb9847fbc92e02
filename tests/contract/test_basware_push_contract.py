"""Push notifications: the ConnectionTest first, then signed notifications our verify() accepts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from connector import jsonutil
from connector.basware.auth import ClientCredentialsAuth
from connector.basware.schemas import load_notification
from connector.basware.signature import sign, verify
from connector.errors import SignatureError
from connector.sandbox.basware import SandboxError
from tests.contract.basware_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    Basware,
    add_invoices,
    running_basware,
    webhook_receiver,
)

SECRET = "per-tenant-webhook-secret"


@pytest.fixture
def bw() -> Iterator[Basware]:
    with running_basware() as running:
        yield running


def test_subscribe_sends_a_connection_test_then_signed_notifications(bw: Basware) -> None:
    [invoice_id] = add_invoices(bw.sandbox, 1)
    with webhook_receiver() as receiver:
        bw.sandbox.subscribe(receiver.url, SECRET)
        assert bw.sandbox.notify(invoice_id) == 200
    first, second = receiver.received
    verify(SECRET, first["body"], first["headers"]["X-Bw-Signature"])
    assert load_notification(jsonutil.loads(first["body"])).is_connection_test
    verify(SECRET, second["body"], second["headers"]["X-Bw-Signature"])
    notification = load_notification(jsonutil.loads(second["body"]))
    assert (notification.task_type, notification.task_sub_type, notification.document_id) == (
        "AccountingDocuments",
        "WaitingForTransfer",
        invoice_id,
    )
    with pytest.raises(SignatureError):
        verify("another tenant's secret", second["body"], second["headers"]["X-Bw-Signature"])


def test_the_signature_header_name_is_configurable(bw: Basware) -> None:
    with webhook_receiver() as receiver:
        bw.sandbox.subscribe(receiver.url, SECRET, header="X-BWAPI-Signature-256")
        bw.sandbox.notify("any-document", task_type="AccoutingDocuments")
    body, headers = receiver.received[-1]["body"], receiver.received[-1]["headers"]
    verify(SECRET, body, headers["X-Bwapi-Signature-256"])
    assert load_notification(jsonutil.loads(body)).task_type == "AccountingDocuments"


def test_a_receiver_that_fails_the_connection_test_is_not_subscribed(bw: Basware) -> None:
    with webhook_receiver(status=500) as receiver:
        with pytest.raises(SandboxError):
            bw.sandbox.subscribe(receiver.url, SECRET)
    assert bw.sandbox.subscriptions == []


def test_notify_reports_the_receivers_answer_and_records_deliveries(bw: Basware) -> None:
    with webhook_receiver() as receiver:
        bw.sandbox.subscribe(receiver.url, SECRET)
        receiver.status = 503
        assert bw.sandbox.notify("inv-1", task_id="task-1") == 503
    assert [d["status"] for d in bw.sandbox.deliveries] == [200, 503]
    assert jsonutil.loads(bw.sandbox.deliveries[-1]["body"])["taskId"] == "task-1"


def test_notify_raw_sends_exact_bytes(bw: Basware) -> None:
    with webhook_receiver() as receiver:
        bw.sandbox.subscribe(receiver.url, SECRET)
        assert bw.sandbox.notify_raw(b'{"tampered": true}', {"X-BW-Signature": "0" * 64}) == 200
    assert receiver.received[-1]["body"] == b'{"tampered": true}'
    with pytest.raises(SignatureError, match="does not match"):
        verify(SECRET, receiver.received[-1]["body"], receiver.received[-1]["headers"]["X-Bw-Signature"])


def test_subscribing_over_http(bw: Basware) -> None:
    # The connector itself never subscribes (an operator does, once), so its own token lacks the scope.
    token = ClientCredentialsAuth(bw.server.url, CLIENT_ID, CLIENT_SECRET, scope="subscriptions.write").token()
    headers = {"Authorization": f"Bearer {token}", "X-BW-REQUEST-ID": str(uuid.uuid4())}
    with webhook_receiver() as receiver, requests.Session() as session:
        body = [
            {
                "taskType": "AccountingDocuments",
                "taskSubType": "WaitingForTransfer",
                "subscriptionType": "Webhook",
                "notificationWebhookURL": receiver.url,
                "webhookAuthenticationToken": SECRET,
            }
        ]
        created = session.post(bw.server.url + "/v1/subscriptions", json=body, headers=headers)
        assert created.status_code == 200 and SECRET not in created.text
        bad = session.post(bw.server.url + "/v1/subscriptions", json={"taskType": "X"}, headers=headers)
        assert bad.status_code == 400
        bw.sandbox.notify("inv-9")
    assert len(receiver.received) == 2
    last = receiver.received[-1]
    assert last["headers"]["X-Bw-Signature"] == sign(SECRET, last["body"])
