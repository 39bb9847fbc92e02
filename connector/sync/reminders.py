"""Re-consent reminders: tell the operator before Exact's 30-day refresh window closes, and when a grant dies.

The window is counted from `exact_tokens.refreshed_at`, the last time Exact issued a new refresh token. From
five days before it closes, or once the grant is dead, the sweep sends a reminder through the tenant's
channels, at most once a day, and stops by itself when the grant is healthy again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from connector.store import audit, state, tenants, tokens
from connector.store.tenants import Tenant

if TYPE_CHECKING:
    from connector.sync.services import Services

DAY = 86400.0
REFRESH_TOKEN_LIFETIME = 30 * DAY  # Exact's refresh tokens live 30 days (reference §1.3)
WARN_BEFORE = 5 * DAY
LAST_SENT = "reminder:last_sent"


def warning(svc: Services, tenant: Tenant, now: float) -> str | None:
    """What the operator must do about this tenant's grant, or None while it is healthy."""
    command = f"run `ml-connector exact authorize {tenant.name}`"
    if tenant.grant_status == "dead":
        return (
            f"The Exact Online grant of tenant {tenant.name} no longer works ({tenant.grant_reason}). "
            f"Its records wait and resume after a new consent: {command}."
        )
    if tenant.grant_status != "active":
        return None
    refreshed = tokens.token_health(svc.db, tenant.id)["refreshed_at"]
    if not isinstance(refreshed, int | float):
        return None
    left = refreshed + REFRESH_TOKEN_LIFETIME - now
    if left > WARN_BEFORE:
        return None
    closes = _date(refreshed + REFRESH_TOKEN_LIFETIME)
    if left <= 0:
        return f"The Exact Online grant of tenant {tenant.name} expired on {closes}: {command}."
    return (
        f"The Exact Online grant of tenant {tenant.name} expires on {closes} ({left / DAY:.0f} days left; "
        f"last renewed {_date(refreshed)}). Check that beat runs, or {command}."
    )


def sweep(svc: Services, now: float | None = None) -> int:
    """Remind the operators of every tenant that needs it, at most once a day each; returns how many."""
    now = time.time() if now is None else now
    sent = 0
    for tenant in tenants.list_tenants(svc.db):
        text = warning(svc, tenant, now)
        if text is None or _reminded_within_a_day(svc, tenant.id, now):
            continue
        sent += remind(svc, tenant, text, now)
    return sent


def grant_died(svc: Services, tenant_id: int, reason: str, now: float | None = None) -> None:
    """A grant was just found dead: tell the operator at once, whatever the daily rhythm."""
    now = time.time() if now is None else now
    tenant = svc.tenant(tenant_id)
    remind(svc, tenant, warning(svc, tenant, now) or reason, now)


@dataclass(frozen=True)
class Channels:
    """Where a tenant's operator is told: the e-mail address and the chat webhook URL (decrypted for sending)."""

    name: str
    notify_email: str | None
    notify_webhook_url: str | None = field(repr=False)


def remind(svc: Services, tenant: Tenant, text: str, now: float) -> bool:
    """Send one reminder, audit it, and remember when; False when every channel failed (try again later)."""
    channels_of = Channels(tenant.name, tenant.notify_email, tenant.notify_webhook_url(svc.box))
    delivery = svc.notifier.send(channels_of, f"ml-connector: Exact Online consent needed for {tenant.name}", text)
    channels = ", ".join(delivery.sent) or "no channel configured; shown by `ml-connector status`"
    if delivery.failed:
        channels += f"; failed: {', '.join(delivery.failed)}"
    audit.record(
        svc.db,
        tenant_id=tenant.id,
        step="exact_auth",
        event="reauth_reminder",
        message=f"{text} [{channels}]",
        detail={"sent": delivery.sent, "failed": delivery.failed},
    )
    if delivery.failed and not delivery.sent:
        return False
    state.put(svc.db, tenant.id, LAST_SENT, repr(now))
    return True


def last_sent(svc: Services, tenant_id: int) -> float | None:
    """When the last reminder went out (epoch s), or None."""
    value = state.get(svc.db, tenant_id, LAST_SENT)
    return float(value) if value else None


def _reminded_within_a_day(svc: Services, tenant_id: int, now: float) -> bool:
    last = last_sent(svc, tenant_id)
    return last is not None and now - last < DAY


def _date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
