"""Re-consent reminders: the 25-day mark, once a day, dead grants, stopping when healthy; time is passed in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.exact.tokens import ExactTokens
from connector.store import audit
from connector.store.tenants import Tenant
from connector.sync import reminders
from connector.sync.services import Services
from tests.support import Mailbox, WebhookInbox, plain_tenant, smtp_services

DAY = 86400.0


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
