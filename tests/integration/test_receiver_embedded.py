"""The receiver on the embedded default (SQLite): recording, duplicates and a broker that is down behave as on
PostgreSQL (the inbox uses each dialect's INSERT ... ON CONFLICT)."""

from __future__ import annotations

import pytest

from connector.store import inbox, records, tenants
from connector.store.tenants import Tenant
from connector.sync.services import Services
from tests.support import WEBHOOK_SECRET, notification, signed_headers
from tests.support.receiving import Enqueued
from webhook_receiver import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def embedded_tenant(sqlite_services: Services) -> Tenant:
    return tenants.add_tenant(
        sqlite_services.db,
        sqlite_services.box,
        name="embedded",
        exact_region="NL",
        exact_base_url="http://127.0.0.1:9",
        exact_client_id="exact-embedded",
        exact_client_secret="exact-secret",
        exact_redirect_uri="http://127.0.0.1:9/callback",
        basware_region="EU",
        basware_base_url="http://127.0.0.1:9",
        basware_client_id="basware-embedded",
        basware_client_secret="basware-secret",
        webhook_secret=WEBHOOK_SECRET,
        purchase_journal="60",
        auto_create_vendors=False,
    )


def test_a_notification_is_recorded_once_and_its_repeat_is_a_duplicate(
    sqlite_services: Services, embedded_tenant: Tenant
) -> None:
    enqueued = Enqueued()
    client = create_app(sqlite_services, enqueue=enqueued).test_client()
    body = notification("doc-embedded")

    first = client.post("/webhooks/basware/embedded", data=body, headers=signed_headers(body))
    again = client.post("/webhooks/basware/embedded", data=body, headers=signed_headers(body))

    [(record, _)] = records.list_records(sqlite_services.db, tenant_id=embedded_tenant.id)
    assert (first.status_code, first.get_json()["record_id"]) == (202, record.id)
    assert (again.status_code, again.get_json()["status"]) == (200, "duplicate")
    assert inbox.count(sqlite_services.db, embedded_tenant.id) == 1
    assert inbox.dispatch(sqlite_services.db, enqueued) == 1 and enqueued == [record.id]
    assert inbox.unpublished(sqlite_services.db) == []


def test_with_the_broker_down_the_event_waits_in_the_inbox(sqlite_services: Services, embedded_tenant: Tenant) -> None:
    enqueued = Enqueued()
    enqueued.fail = True
    client = create_app(sqlite_services, enqueue=enqueued).test_client()
    body = notification("doc-embedded-later")

    response = client.post("/webhooks/basware/embedded", data=body, headers=signed_headers(body))

    [(record, _)] = records.list_records(sqlite_services.db, tenant_id=embedded_tenant.id)
    assert response.status_code == 202
    with pytest.raises(inbox.BrokerUnavailable):
        inbox.dispatch(sqlite_services.db, enqueued)
    assert [record_id for _, record_id in inbox.unpublished(sqlite_services.db)] == [record.id]
    enqueued.fail = False
    assert inbox.dispatch(sqlite_services.db, enqueued) == 1 and enqueued == [record.id]
