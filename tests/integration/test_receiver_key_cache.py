"""The receiver keeps each tenant's current webhook secret in memory for a few seconds: what a sender notices."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from connector.basware.signature import sign
from connector.store import tenants
from connector.store.tenants import Tenant, WebhookKeys
from connector.sync.services import Services
from tests.support import WEBHOOK_SECRET, FakeClock, notification
from tests.support.receiving import Enqueued
from webhook_receiver import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_services(private_pg_services: Services) -> Services:
    """This module's receivers have a stand-in broker: a database of the test's own (see private_pg_services)."""
    return private_pg_services


NEW_SECRET = "the-next-webhook-secret-" + "7" * 20


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(pg_services: Services, clock: FakeClock) -> FlaskClient:
    """A receiver whose key cache runs on `clock` (5 s), so expiry needs no sleeping."""
    app = create_app(pg_services, enqueue=Enqueued())
    app.extensions["connector.webhook_keys"] = WebhookKeys(pg_services.db, pg_services.box, ttl=5.0, clock=clock)
    return app.test_client()


def _post(client: FlaskClient, tenant: Tenant, secret: str, document: str) -> int:
    body = notification(document)
    headers = {"Content-Type": "application/json", "X-BW-Signature": sign(secret, body)}
    return client.post(f"/webhooks/basware/{tenant.name}", data=body, headers=headers).status_code


def test_a_new_secret_verifies_at_once_although_the_old_one_is_cached(
    client: FlaskClient, pg_services: Services, tenant: Tenant
) -> None:
    assert _post(client, tenant, WEBHOOK_SECRET, "doc-cached") == 202  # the old secret is now in memory

    tenants.rotate_webhook_secret(pg_services.db, pg_services.box, tenant.id, NEW_SECRET, overlap=3600)

    assert _post(client, tenant, NEW_SECRET, "doc-new-secret") == 202


def test_a_secret_replaced_without_overlap_is_refused_once_the_cache_time_is_over(
    client: FlaskClient, pg_services: Services, tenant: Tenant, clock: FakeClock
) -> None:
    assert _post(client, tenant, WEBHOOK_SECRET, "doc-before") == 202

    tenants.rotate_webhook_secret(pg_services.db, pg_services.box, tenant.id, NEW_SECRET, overlap=0)
    clock.advance(5.1)

    assert _post(client, tenant, WEBHOOK_SECRET, "doc-old-secret") == 401
    assert _post(client, tenant, NEW_SECRET, "doc-after") == 202


def test_a_weak_secret_stored_behind_the_cache_is_refused(
    client: FlaskClient, pg_services: Services, tenant: Tenant, clock: FakeClock
) -> None:
    assert _post(client, tenant, WEBHOOK_SECRET, "doc-strong") == 202
    with pg_services.db.begin() as conn:  # a tenant restored from before secrets had a minimum length
        conn.execute(
            tenants.tenants.update()
            .where(tenants.tenants.c.id == tenant.id)
            .values(webhook_secret=pg_services.box.encrypt(""))
        )
    clock.advance(5.1)

    assert _post(client, tenant, "", "doc-empty-key") == 401
