"""Exact's webhooks for a tenant: subscribe every division it books into to the topics the connector acts on.

The callback is the tenant's public URL (`tenant set NAME --exact-webhook-url URL`); Exact signs each event with
the app's webhook secret (`tenant set NAME --exact-webhook-secret`), which the receiver checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from connector.errors import ConfigurationError
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
    """Every subscription in every division of the tenant."""
    found = []
    for division in divisions.all_of(svc.db, tenant):
        for row in subscriptions.subscriptions(svc.exact(tenant, division=division)):
            found.append(Subscription(division, str(row["ID"]), str(row["Topic"]), str(row["CallbackURL"])))
    return found


def subscribe(svc: Services, tenant: Tenant) -> list[Subscription]:
    """Subscribe the tenant's callback URL to each topic in each division; those already there are kept."""
    url = tenant.exact_webhook_url
    if not url:
        raise ConfigurationError(f"tenant {tenant.name} has no Exact webhook URL; set one with --exact-webhook-url")
    have = {(s.division, s.topic.lower()) for s in listed(svc, tenant) if s.callback_url == url}
    made = []
    for division in divisions.all_of(svc.db, tenant):
        for topic in TOPICS:
            if (division, topic.lower()) not in have:
                row = subscriptions.subscribe(svc.exact(tenant, division=division), url, topic)
                made.append(Subscription(division, str(row.get("ID")), topic, url))
    topics = ", ".join(TOPICS)
    text = (
        f"Exact webhooks ({topics}) subscribed in division(s) {', '.join(map(str, divisions.all_of(svc.db, tenant)))}"
    )
    audit.record(svc.db, tenant_id=tenant.id, step="exact_webhooks", event="subscribed", message=text)
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
