"""Exact Online's own webhooks: subscribed per division, checked by HashCode, applied once by the real worker."""

from __future__ import annotations

import dataclasses
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
import requests

from connector.sandbox.basware import make_invoice
from connector.sandbox.exact.webhooks import signed_body
from connector.sandbox.server import ServerThread
from connector.store import audit, exact_events, mappings, master, records, tenants
from connector.store.tenants import Tenant
from connector.sync import master as master_sync
from connector.sync.services import Services
from connector.wiring import build_services
from ml_connector.cli import main
from tests.integration.conftest import settled, wait_for
from tests.support import Sandboxes, add_tenant, consent, notification, signed_headers
from webhook_receiver import create_app

pytestmark = pytest.mark.integration
APP_SECRET = "exact-app-webhook-secret-" + "x" * 16


def _tenant_with_webhooks(
    svc: Services, sandboxes: Sandboxes, receiver: str, division: int, monkeypatch: pytest.MonkeyPatch
) -> Tenant:
    """A tenant booking into its own fresh division, its webhook URL and secret set, subscribed."""
    sandboxes.exact.add_division(division)
    tenant = add_tenant(svc, sandboxes)
    tenants.update_tenant(svc.db, tenant.id, exact_division=division)
    sandboxes.exact.set_webhook_secret(tenant.exact_client_id, APP_SECRET)
    monkeypatch.setenv("ML_CONNECTOR_EXACT_WEBHOOK_SECRET", APP_SECRET)
    url = f"{receiver}/webhooks/exact/{tenant.name}"
    argv = ["tenant", "set", tenant.name, "--exact-webhook-url", url, "--exact-webhook-secret"]
    assert main(argv, services=svc) == 0
    assert main(["exact", "webhooks", "subscribe", tenant.name], services=svc) == 0
    return svc.tenant(tenant.id)


def _gl(svc: Services, tenant: Tenant, code: str) -> dict[str, Any]:
    cached = master.load(svc.db, tenant.id, tenant.exact_division or 0, "gl_accounts")
    assert cached is not None
    return next(row for row in cached[1] if row["Code"] == code)


def _dashboard_page(svc: Services, path: str) -> str:
    """A dashboard page as the operator sees it (the dashboard exists only with an admin user)."""
    admin = ("books", "correct horse battery staple")
    settings = dataclasses.replace(svc.settings, admin_user=admin[0], admin_password=admin[1])
    admin_services = build_services(settings)
    try:
        with ServerThread(create_app(admin_services, enqueue=lambda _id: None)) as server:
            response = requests.get(f"{server.url}{path}", auth=admin, timeout=10)
    finally:
        admin_services.close()
    assert response.status_code == 200, response.text
    return response.text


def _post(receiver: str, tenant_name: str, body: bytes) -> requests.Response:
    return requests.post(
        f"{receiver}/webhooks/exact/{tenant_name}", data=body, headers={"Content-Type": "application/json"}, timeout=10
    )


def test_a_gl_account_renamed_in_exact_is_picked_up_from_its_webhook_without_a_full_refresh(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    division = 1618033
    tenant = _tenant_with_webhooks(pg_services, sandboxes, receiver, division, monkeypatch)
    capsys.readouterr()
    assert main(["exact", "webhooks", "list", tenant.name], services=pg_services) == 0
    listed = capsys.readouterr().out
    assert all(topic in listed for topic in ("Accounts", "GLAccounts", "PurchaseEntries"))
    assert main(["tenant", "show", tenant.name], services=pg_services) == 0
    shown = capsys.readouterr().out
    assert "exact_webhook_secret   set" in shown and APP_SECRET not in shown
    master_sync.load_master(pg_services.db, tenant.id, pg_services.exact(tenant))  # the cache, warm
    fetched_at = master.load(pg_services.db, tenant.id, division, "gl_accounts")[0]  # type: ignore[index]
    calls = sandboxes.exact.api_calls[division]

    gl_id = sandboxes.exact.rename_gl_account(division, "4010", "Office rent")

    wait_for(lambda: _gl(pg_services, tenant, "4010")["Description"] == "Office rent", what="the cache to follow")
    assert sandboxes.exact.api_calls[division] - calls == 1  # that one G/L account, not the 131 of a refresh
    cached = master.load(pg_services.db, tenant.id, division, "gl_accounts")
    assert cached is not None and cached[0] == fetched_at and len(cached[1]) == 131
    assert str(_gl(pg_services, tenant, "4010")["ID"]).lower() == gl_id.lower()
    assert exact_events.count(pg_services.db, tenant.id) == 1


def test_a_bad_hashcode_an_unknown_tenant_or_a_foreign_division_is_refused_and_changes_nothing(
    pg_services: Services, sandboxes: Sandboxes, receiver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    division = 1414213
    tenant = _tenant_with_webhooks(pg_services, sandboxes, receiver, division, monkeypatch)
    master_sync.load_master(pg_services.db, tenant.id, pg_services.exact(tenant))
    before = _gl(pg_services, tenant, "4010")
    content = {"Topic": "GLAccounts", "ClientId": tenant.exact_client_id, "Division": division,
               "Action": "Update", "Key": str(before["ID"]), "EventCreatedOn": "2026-11-29T10:00:00.000"}  # fmt: skip

    wrong = _post(receiver, tenant.name, signed_body(content, "not-the-app-secret"))
    good = signed_body(content, APP_SECRET)
    lower_hex = _post(receiver, tenant.name, good[:-66] + good[-66:-2].lower() + good[-2:])  # Exact's is upper
    nobody = _post(receiver, "no-such-tenant", signed_body(content, APP_SECRET))
    foreign = _post(receiver, tenant.name, signed_body({**content, "Division": 999999}, APP_SECRET))
    reserialised = json.dumps(json.loads(signed_body(content, APP_SECRET)), indent=1).encode()

    assert (wrong.status_code, lower_hex.status_code, nobody.status_code) == (401, 401, 401)
    assert "HashCode" in wrong.json()["error"]
    assert foreign.status_code == 403 and "division 999999" in foreign.json()["error"]
    assert _post(receiver, tenant.name, reserialised).status_code == 401  # the Content bytes changed: refused
    assert exact_events.count(pg_services.db, tenant.id) == 0
    assert _gl(pg_services, tenant, "4010") == before
    assert _post(receiver, tenant.name, b"").status_code == 200  # Exact's check of a new callback


def test_an_entry_deleted_in_exact_by_hand_marks_the_record_and_blocks_a_later_basware_version(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    division = 1732050
    tenant = _tenant_with_webhooks(pg_services, sandboxes, receiver, division, monkeypatch)
    number, invoice_id = f"INV-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())

    def invoice(net: str, tax: str) -> dict[str, Any]:
        row = ("4010", "CC200", "VAT21", 21, Decimal(net), Decimal(tax))
        return make_invoice(number, "1001", "Acme Supplies BV", [row], invoice_id=invoice_id)

    def deliver() -> None:
        body = notification(invoice_id)
        response = requests.post(
            f"{receiver}/webhooks/basware/{tenant.name}", data=body, headers=signed_headers(body), timeout=10
        )
        assert response.status_code == 202

    sandboxes.basware.add_invoice(invoice("100.00", "21.00"))
    deliver()
    [(record, _)] = records.list_records(pg_services.db, tenant_id=tenant.id)
    wait_for(lambda: settled(pg_services, record.id), what="the invoice to be written")
    entry_id = str(records.get(pg_services.db, record.id).exact_id)

    sandboxes.exact.delete_purchase_entry(division, entry_id)
    wait_for(lambda: records.get(pg_services.db, record.id).exact_deleted_at is not None, what="the mark")
    events = [row["event"] for row in audit.entries(pg_services.db, record_id=record.id)]
    assert "deleted_in_exact" in events

    assert "deleted in Exact by hand" in _dashboard_page(pg_services, f"/admin/records/{record.id}")

    sandboxes.basware.add_invoice(invoice("110.00", "23.10"))
    deliver()
    wait_for(lambda: records.get(pg_services.db, record.id).status == "blocked", what="the later version to block")
    assert "deleted in Exact by hand" in (records.get(pg_services.db, record.id).reason or "")


def test_consent_subscribes_a_tenant_with_a_webhook_url_in_every_division(
    pg_services: Services, sandboxes: Sandboxes, receiver: str
) -> None:
    other = sandboxes.exact.add_division(2236067)
    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    tenants.update_tenant(pg_services.db, tenant.id, exact_webhook_url=f"{receiver}/webhooks/exact/{tenant.name}")
    mappings.put(pg_services.db, tenant.id, "division", "FR01", str(other))

    consent(pg_services, pg_services.tenant(tenant.id))

    made = {(s["Division"], s["Topic"]) for s in sandboxes.exact.webhooks.subscriptions
            if s["ClientID"] == tenant.exact_client_id}  # fmt: skip
    topics = ("Accounts", "GLAccounts", "PurchaseEntries")
    assert made == {(division, topic) for division in (100001, other) for topic in topics}


def test_a_division_outside_the_consent_is_skipped_and_named_the_others_are_subscribed(
    pg_services: Services, sandboxes: Sandboxes, receiver: str
) -> None:
    other = sandboxes.exact.add_division(2449489)
    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    tenants.update_tenant(pg_services.db, tenant.id, exact_webhook_url=f"{receiver}/webhooks/exact/{tenant.name}")
    mappings.put(pg_services.db, tenant.id, "division", "IT01", str(other))
    sandboxes.exact.set_consent_scope(tenant.exact_client_id, [100001])

    consent(pg_services, pg_services.tenant(tenant.id))

    made = {s["Division"] for s in sandboxes.exact.webhooks.subscriptions if s["ClientID"] == tenant.exact_client_id}
    assert made == {100001}
    [note] = [a["message"] for a in audit.entries(pg_services.db, tenant_id=tenant.id) if a["event"] == "subscribed"]
    assert f"division(s) {other} outside the consent's scope" in note
