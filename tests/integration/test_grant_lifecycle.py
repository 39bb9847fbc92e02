"""The Exact grant over its life, with a real worker: consent, death by each of Exact's causes, re-consent.

A dead grant pauses the tenant: records wait (never fail), the operator is told at once and then daily, and a
new consent sends the waiting records on to Exact by themselves.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from connector.exact.auth import ExactOAuth
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread
from connector.store import audit, records, state, tenants
from connector.store.db import exact_tokens
from connector.store.tenants import Tenant
from connector.sync import grants, reminders
from connector.sync.services import Services
from ml_connector import cli
from tests.integration.conftest import settled, wait_for
from tests.integration.test_invoice_end_to_end import _two_line_invoice
from tests.support import EXACT_SECRET, Sandboxes, add_tenant, notification, signed_headers
from tests.unit.test_reminders import (
    Mailbox,
    WebhookInbox,
    free_port,
    running_mailbox,
    running_webhook,
    smtp_services,
)

pytestmark = pytest.mark.integration
DAY = 86400.0
DIVISION = 100001


@pytest.fixture
def own_exact(sandboxes: Sandboxes) -> Iterator[Sandboxes]:
    """An Exact sandbox of this test only (its clock can be moved), next to the session's Basware sandbox."""
    exact = ExactSandbox(minute_limit=10**6, day_limit=10**8)
    exact.add_division(DIVISION)
    with ServerThread(exact.app) as server:
        yield Sandboxes(exact, sandboxes.basware, server.url, sandboxes.basware_url)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with running_mailbox() as running:
        yield running


@pytest.fixture
def webhook() -> Iterator[tuple[WebhookInbox, str]]:
    with running_webhook() as running:
        yield running


@pytest.fixture
def mail_svc(pg_url: str, secret_key: str, tmp_path: Path, mailbox: tuple[Mailbox, int]) -> Iterator[Services]:
    """Services of an operator's process (beat) with e-mail configured."""
    svc = smtp_services(tmp_path, pg_url, secret_key, mailbox[1])
    yield svc
    svc.close()


def kill_grant(how: str, svc: Services, tenant: Tenant, exact: ExactSandbox) -> None:
    """Make Exact refuse the stored refresh token, the way `how` says it happens in real life."""
    stored = svc.token_store(tenant).load()
    assert stored is not None
    if how == "old refresh token used":  # a copy of the grant (another install, a script) refreshed it
        exact.advance(600)
        with ExactOAuth(tenant.exact_base_url or "", tenant.exact_client_id, EXACT_SECRET, "x") as oauth:
            oauth.refresh(stored.refresh_token)
    elif how == "expired":  # nothing refreshed the grant for more than 30 days
        exact.advance(31 * DAY)
    else:  # the user revoked the app in Exact Online
        exact.revoke_grant(tenant.exact_client_id)
    # Our access token ran out meanwhile, so the next call must refresh.
    with svc.db.begin() as conn:
        conn.execute(
            exact_tokens.update()
            .where(exact_tokens.c.tenant_id == tenant.id)
            .values(issued_at=time.time() - 700, expires_at=time.time() - 100)
        )


def post_invoice(receiver: str, sandboxes: Sandboxes, svc: Services, tenant: Tenant) -> int:
    """A new invoice in Basware, its signed notification through the receiver; returns the record id."""
    invoice_id = sandboxes.basware.add_invoice(_two_line_invoice(f"INV-{uuid.uuid4().hex[:8]}"))
    body = notification(invoice_id)
    url = f"{receiver}/webhooks/basware/{tenant.name}"
    with requests.post(url, data=body, headers=signed_headers(body), timeout=30) as response:
        assert response.status_code == 202
    [record] = [r for r, _ in records.list_records(svc.db, tenant_id=tenant.id) if r.basware_id == invoice_id]
    return record.id


def status_of(svc: Services, record_id: int) -> str:
    return records.get(svc.db, record_id).status


def reconsent(svc: Services, tenant: Tenant) -> None:
    """A person consents again in the browser; the connector's own start_chain resumes the waiting records."""
    from workers.tasks import start_chain

    url, state_value = grants.consent_url(svc, tenant)
    with requests.get(url, allow_redirects=False, timeout=10) as response:
        callback = response.headers["Location"]
    grants.complete_consent(svc, tenant, grants.code_from_callback(callback, state_value), enqueue=start_chain)


@pytest.mark.parametrize("how", ["old refresh token used", "expired", "revoked"])
def test_a_dead_grant_pauses_the_tenant_tells_the_operator_and_resumes_after_consent(
    how: str,
    pg_services: Services,
    own_exact: Sandboxes,
    worker: Any,
    receiver: str,
    mail_svc: Services,
    mailbox: tuple[Mailbox, int],
    webhook: tuple[WebhookInbox, str],
) -> None:
    tenant = add_tenant(pg_services, own_exact)
    tenants.update_tenant(pg_services.db, tenant.id, notify_email="ops@example.test")
    tenants.set_notify_webhook_url(pg_services.db, pg_services.box, tenant.id, webhook[1])
    kill_grant(how, pg_services, tenant, own_exact.exact)
    token_calls = own_exact.exact.token_calls

    first = post_invoice(receiver, own_exact, pg_services, tenant)
    wait_for(lambda: status_of(pg_services, first) == "waiting_for_reauth", what="the record to wait for consent")

    paused = pg_services.tenant(tenant.id)
    assert paused.grant_status == "dead"
    [alert] = webhook[0].texts()  # the worker that found the grant dead told the operator at once
    assert tenant.name in alert and "exact authorize" in alert
    assert own_exact.exact.token_calls == token_calls + 1  # one refused refresh, then nobody tries again

    second = post_invoice(receiver, own_exact, pg_services, tenant)
    wait_for(lambda: status_of(pg_services, second) == "waiting_for_reauth", what="a new record to wait too")
    assert own_exact.exact.token_calls == token_calls + 1
    assert records.count_by_status(pg_services.db, tenant.id) == {"waiting_for_reauth": 2}  # nothing failed

    assert reminders.sweep(mail_svc, now=time.time() + 3600) == 0  # told an hour ago: not again today
    assert reminders.sweep(mail_svc, now=time.time() + DAY + 60) == 1
    [(to, _subject, body)] = mailbox[0].messages
    assert to == "ops@example.test" and "no longer works" in body

    reconsent(pg_services, pg_services.tenant(tenant.id))
    for record_id in (first, second):
        wait_for(lambda rid=record_id: settled(pg_services, rid), what="the waiting records to be written")
        assert status_of(pg_services, record_id) == "written"
    assert pg_services.tenant(tenant.id).grant_status == "active"
    assert len(own_exact.exact.purchase_entries(DIVISION)) == 2
    assert reminders.sweep(mail_svc, now=time.time() + 3 * DAY) == 0  # healthy again: the reminders stop
    events = [row["event"] for row in audit.entries(pg_services.db, tenant_id=tenant.id) if row["record_id"] is None]
    assert events.count("grant_dead") == 1 and events.count("consented") == 2


# -- `ml-connector exact authorize`: the consent URL with state, the callback on the redirect URI ------------


@pytest.fixture
def cli_env(pg_url: str, secret_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, celery_app: Any) -> None:
    """The operator's shell: each command builds its Services from these variables."""
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", pg_url)
    monkeypatch.setenv("CONNECTOR_SECRET_KEY", secret_key)
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path))


def listening_tenant(svc: Services, sandboxes: Sandboxes) -> Tenant:
    """A tenant not yet consented whose redirect URI is a free local port the CLI will listen on."""
    tenant = add_tenant(svc, sandboxes, authorize=False)
    redirect = f"http://127.0.0.1:{free_port()}/{tenant.name}/callback"
    tenants.update_tenant(svc.db, tenant.id, exact_redirect_uri=redirect)
    sandboxes.exact.register_client(tenant.exact_client_id, EXACT_SECRET, redirect)
    return svc.tenant(tenant.id)


def run_authorize(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[threading.Thread, list[int], str]:
    """Start the CLI in a thread and return it with its exit code holder and the consent URL it printed."""
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(cli.main(argv)))
    thread.start()
    printed: list[str] = []

    def url_printed() -> bool:
        printed.append(capsys.readouterr().out)
        return "Waiting for the callback" in "".join(printed)

    wait_for(url_printed, timeout=20, what="the CLI to print the consent URL")
    [url] = [line.strip() for line in "".join(printed).splitlines() if "/api/oauth2/auth?" in line]
    return thread, codes, url


def browse_to_callback(callback: str) -> requests.Response:
    """The browser follows Exact's redirect; the CLI's listener may need a moment to bind its port."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return requests.get(callback, timeout=10)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_callback_with_a_wrong_state_is_refused_and_nothing_is_exchanged(
    pg_services: Services, own_exact: Sandboxes, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = listening_tenant(pg_services, own_exact)
    thread, codes, url = run_authorize(["exact", "authorize", tenant.name, "--timeout", "20"], capsys)
    assert parse_qs(urlsplit(url).query)["state"][0]

    with requests.get(url, allow_redirects=False, timeout=10) as response:  # the user consents in Exact
        location = response.headers["Location"]
    forged = location.split("?")[0] + "?" + urlencode({"code": parse_qs(urlsplit(location).query)["code"][0],
                                                       "state": "forged"})  # fmt: skip
    with browse_to_callback(forged):
        pass
    thread.join(timeout=20)

    assert codes == [1]
    assert "wrong state" in capsys.readouterr().err
    assert own_exact.exact.token_calls == 0  # the code was never exchanged
    assert pg_services.tenant(tenant.id).grant_status == "none"


def test_consent_through_the_browser_pins_a_division_and_tenant_state_says_so(
    pg_services: Services, own_exact: Sandboxes, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = listening_tenant(pg_services, own_exact)
    argv = ["exact", "authorize", tenant.name, "--division", str(DIVISION), "--timeout", "20"]
    thread, codes, url = run_authorize(argv, capsys)

    with requests.get(url, allow_redirects=False, timeout=10) as response:  # the user consents in Exact
        location = response.headers["Location"]
    with browse_to_callback(location) as response:  # Exact redirects the browser to our listener
        assert response.status_code == 200
    thread.join(timeout=20)

    assert codes == [0]
    assert f"Exact division {DIVISION} (pinned)" in capsys.readouterr().out
    consented = pg_services.tenant(tenant.id)
    assert (consented.grant_status, consented.exact_division) == ("active", DIVISION)
    assert state.get(pg_services.db, tenant.id, grants.DIVISION_SOURCE) == "pinned"
    assert [kind for kind, ok, _ in own_exact.exact.token_log if ok] == ["code"]


def test_a_pasted_code_uses_the_users_current_division(
    pg_services: Services, own_exact: Sandboxes, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = add_tenant(pg_services, own_exact, authorize=False)
    url, _state = grants.consent_url(pg_services, tenant)
    with requests.get(url, allow_redirects=False, timeout=10) as response:
        code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]

    assert cli.main(["exact", "authorize", tenant.name, f"--code={code}"]) == 0
    assert f"Exact division {DIVISION} (the consenting user's current division)" in capsys.readouterr().out
    assert state.get(pg_services.db, tenant.id, grants.DIVISION_SOURCE) == "current/Me"
    assert cli.main(["exact", "authorize", tenant.name, f"--code={code}"]) == 1  # a code works once
