"""Exact's webhooks for a tenant: subscribe every division it books into to the topics the connector acts on.

The callback is the tenant's public URL (`tenant set NAME --exact-webhook-url URL`); Exact signs each event with
the app's webhook secret (`tenant set NAME --exact-webhook-secret`), which the receiver checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from connector.errors import ConfigurationError, DivisionOutOfScope
from connector.exact import subscriptions
from connector.exact.webhooks import TOPICS
from connector.store import audit
from connector.store.tenants import Tenant
from connector.sync import divisions
from connector.sync.services import Services


@dataclass(frozen=True)
class Subscription:
    """One subscription as Exact lists it."""

    division: int
    id: str
    topic: str
    callback_url: str


def listed(svc: Services, tenant: Tenant) -> list[Subscription]:
    """Every subscription in every division of the tenant the grant reaches."""
    found = []
    for division in divisions.all_of(svc.db, tenant):
        try:
            found.extend(_in_division(svc, tenant, division))
        except DivisionOutOfScope:
            continue  # `ping` names it and says what to do
    return found


def _in_division(svc: Services, tenant: Tenant, division: int) -> list[Subscription]:
    rows = subscriptions.subscriptions(svc.exact(tenant, division=division))
    return [Subscription(division, str(r["ID"]), str(r["Topic"]), str(r["CallbackURL"])) for r in rows]


def subscribe(svc: Services, tenant: Tenant) -> list[Subscription]:
    """Subscribe the tenant's callback URL to each topic in each division; those already there are kept.

    A division outside the consent's scope is skipped and named in the audit; the others are subscribed.
    """
    url = tenant.exact_webhook_url
    if not url:
        raise ConfigurationError(f"tenant {tenant.name} has no Exact webhook URL; set one with --exact-webhook-url")
    made: list[Subscription] = []
    done, skipped = [], []
    for division in divisions.all_of(svc.db, tenant):
        try:
            made.extend(_subscribe_division(svc, tenant, division, url))
            done.append(str(division))
        except DivisionOutOfScope:
            skipped.append(str(division))
    text = f"Exact webhooks ({', '.join(TOPICS)}) subscribed in division(s) {', '.join(done) or 'none'}"
    if skipped:
        text += f"; division(s) {', '.join(skipped)} outside the consent's scope: consent again and tick them"
    audit.record(svc.db, tenant_id=tenant.id, step="exact_webhooks", event="subscribed", message=text)
    return made


def _subscribe_division(svc: Services, tenant: Tenant, division: int, url: str) -> list[Subscription]:
    have = {s.topic.lower() for s in _in_division(svc, tenant, division) if s.callback_url == url}
    client, made = svc.exact(tenant, division=division), []
    for topic in TOPICS:
        if topic.lower() not in have:
            row = subscriptions.subscribe(client, url, topic)
            made.append(Subscription(division, str(row.get("ID")), topic, url))
    return made


def unsubscribe(svc: Services, tenant: Tenant) -> list[Subscription]:
    """Delete the subscriptions of our topics in every division of the tenant."""
    gone = []
    for sub in listed(svc, tenant):
        if sub.topic in TOPICS:
            subscriptions.unsubscribe(svc.exact(tenant, division=sub.division), sub.id)
            gone.append(sub)
    text = f"{len(gone)} Exact webhook subscription(s) deleted"
    audit.record(svc.db, tenant_id=tenant.id, step="exact_webhooks", event="unsubscribed", message=text)
    return gone
