"""Re-consent reminders: the 25-day mark, once a day, dead grants, stopping when healthy; time is passed in."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from connector import jsonutil
from connector.config import load_settings
from connector.exact.tokens import ExactTokens
from connector.sandbox.server import ServerThread
from connector.store import audit, tenants
from connector.store.tenants import Tenant
from connector.sync import reminders
from connector.sync.services import Services
from connector.wiring import build_services

DAY = 86400.0


@dataclass
class Mailbox:
    """What a real local SMTP server received: (to, subject, body) per message."""

    messages: list[tuple[str, str, str]] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        message = message_from_bytes(envelope.content)
        body = message.get_payload(decode=True).decode()
        self.messages.append((",".join(envelope.rcpt_tos), str(message["Subject"]), body))
        return "250 OK"


@dataclass
class WebhookInbox:
    """A chat incoming-webhook stand-in: a WSGI app that keeps every JSON body posted to it."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        with self.lock:
            self.bodies.append(jsonutil.loads(environ["wsgi.input"].read(length)))
        start_response(f"{self.status} X", [("Content-Type", "text/plain")])
        return [b"ok"]

    def texts(self) -> list[str]:
        with self.lock:
            return [body["text"] for body in self.bodies]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a loopback port."""
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@contextmanager
def running_webhook() -> Iterator[tuple[WebhookInbox, str]]:
    """A chat webhook receiver; its URL has a secret-looking path, as Slack's and Teams' do."""
    inbox = WebhookInbox()
    with ServerThread(inbox) as server:
        yield inbox, f"{server.url}/hooks/T000/secret-path"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with running_mailbox() as running:
        yield running


@pytest.fixture
def webhook() -> Iterator[tuple[WebhookInbox, str]]:
    with running_webhook() as running:
        yield running


def smtp_services(data_dir: Path, database_url: str, secret_key: str, smtp_port: int) -> Services:
    """Services whose notifier sends through the local SMTP server."""
    settings = load_settings(
        {
            "CONNECTOR_DATA_DIR": str(data_dir),
            "CONNECTOR_DATABASE_URL": database_url,
            "CONNECTOR_SECRET_KEY": secret_key,
            "CELERY_BROKER_URL": "memory://",
            "CONNECTOR_SMTP_HOST": "127.0.0.1",
            "CONNECTOR_SMTP_PORT": str(smtp_port),
            "CONNECTOR_SMTP_FROM": "connector@example.test",
        }
    )
    return build_services(settings)


def plain_tenant(svc: Services, name: str = "acme", **fields: Any) -> Tenant:
    """A tenant with made-up credentials (nothing is called here)."""
    values: dict[str, Any] = dict(
        exact_region="NL",
        exact_client_id="exact-app",
        exact_client_secret="exact-secret-unit",
        exact_redirect_uri="http://127.0.0.1:9/cb",
        basware_region="EU",
        basware_client_id="bw-app",
        basware_client_secret="bw-secret-unit",
        webhook_secret="hook-secret-unit-0123456789abcdef",
        purchase_journal="60",
    )
    values.update(fields)
    return tenants.add_tenant(svc.db, svc.box, name=name, **values)


def renewed_at(svc: Services, tenant: Tenant, when: float) -> None:
    """The grant's refresh token was last issued at `when`."""
    svc.token_store(tenant).save(ExactTokens("access", "refresh", when, when + 600))


@pytest.fixture
def svc(tmp_path: Path, secret_key: str, mailbox: tuple[Mailbox, int]) -> Iterator[Services]:
    services = smtp_services(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", secret_key, mailbox[1])
    services.db.upgrade()
    yield services
    services.close()


def reminder_rows(svc: Services, tenant: Tenant) -> list[dict[str, Any]]:
    return [row for row in audit.entries(svc.db, tenant_id=tenant.id) if row["event"] == "reauth_reminder"]


def test_day_24_nothing_day_25_one_reminder_by_mail_and_webhook(
    svc: Services, mailbox: tuple[Mailbox, int], webhook: tuple[WebhookInbox, str]
) -> None:
    tenant = plain_tenant(svc, notify_email="ops@example.test", notify_webhook_url=webhook[1])
    start = time.time()
    renewed_at(svc, tenant, start)

    assert reminders.sweep(svc, now=start + 24 * DAY) == 0
    assert mailbox[0].messages == [] and webhook[0].bodies == [] and reminder_rows(svc, tenant) == []

    assert reminders.sweep(svc, now=start + 25 * DAY) == 1
    [(to, subject, body)] = mailbox[0].messages
    assert to == "ops@example.test" and "acme" in subject
    assert "5 days left" in body and "ml-connector exact authorize acme" in body
    [text] = webhook[0].texts()
    assert "5 days left" in text
    [row] = reminder_rows(svc, tenant)
    assert row["detail"] == {"sent": ["email", "webhook"], "failed": []}


def test_repeated_sweeps_send_one_reminder_a_day_and_stop_when_healthy(
    svc: Services, mailbox: tuple[Mailbox, int]
) -> None:
    tenant = plain_tenant(svc, notify_email="ops@example.test")
    start = time.time()
    renewed_at(svc, tenant, start)
    day25 = start + 25 * DAY

    sent = [reminders.sweep(svc, now=day25 + hours * 3600) for hours in range(0, 48)]  # hourly beat, two days

    assert sum(sent) == 2 and sent[0] == 1 and sent[24] == 1
    assert len(mailbox[0].messages) == 2
    renewed_at(svc, tenant, day25 + 2 * DAY)  # keep-alive works again: a new refresh token
    assert [reminders.sweep(svc, now=day25 + 3 * DAY + h * 3600) for h in range(0, 48)] == [0] * 48
    assert len(reminder_rows(svc, tenant)) == 2


def test_a_dead_grant_is_reminded_daily_and_named_in_the_reminder(svc: Services, mailbox: tuple[Mailbox, int]) -> None:
    tenant = plain_tenant(svc, notify_email="ops@example.test")
    renewed_at(svc, tenant, time.time())
    svc.token_store(tenant).mark_dead(
        "token endpoint refused the request: unauthorized_client (Old refresh token used.)"
    )
    now = time.time()

    assert len(mailbox[0].messages) == 1  # told at once, when the grant was found dead
    assert "Old refresh token used" in mailbox[0].messages[0][2]
    assert reminders.sweep(svc, now=now + 3600) == 0  # already told today
    assert reminders.sweep(svc, now=now + DAY + 1) == 1
    assert len(mailbox[0].messages) == 2


def test_a_tenant_without_channels_is_still_audited_and_shown(svc: Services) -> None:
    tenant = plain_tenant(svc)
    start = time.time()
    renewed_at(svc, tenant, start)

    assert reminders.sweep(svc, now=start + 26 * DAY) == 1
    [row] = reminder_rows(svc, tenant)
    assert "shown by `ml-connector status`" in row["message"]
    assert reminders.warning(svc, svc.tenant(tenant.id), start + 26 * DAY) is not None


def test_a_failing_channel_is_audited_and_tried_again_at_the_next_sweep(
    svc: Services, webhook: tuple[WebhookInbox, str]
) -> None:
    webhook[0].status = 500
    tenant = plain_tenant(svc, notify_webhook_url=webhook[1])
    start = time.time()
    renewed_at(svc, tenant, start)

    assert reminders.sweep(svc, now=start + 25 * DAY) == 0
    webhook[0].status = 200
    assert reminders.sweep(svc, now=start + 25 * DAY + 3600) == 1
    rows = reminder_rows(svc, tenant)
    assert [row["detail"]["sent"] for row in rows] == [[], ["webhook"]]
    assert "secret-path" not in " ".join(row["message"] for row in rows)  # webhook URLs hold secrets


def test_a_tenant_never_consented_gets_no_reminder(svc: Services) -> None:
    plain_tenant(svc)
    assert reminders.sweep(svc, now=time.time() + 40 * DAY) == 0
