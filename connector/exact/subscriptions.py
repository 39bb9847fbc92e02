"""Exact webhook subscriptions of one division (`webhooks/WebhookSubscriptions`).

Sourced (docs/api-facts.md, Exact webhooks): a subscription is a `CallbackURL` and a `Topic`; it cannot be updated,
only deleted and created again.
"""

from __future__ import annotations

from typing import Any

from connector.exact import odata
from connector.exact.client import ExactClient

PATH = "webhooks/WebhookSubscriptions"


def subscriptions(client: ExactClient) -> list[dict[str, Any]]:
    """The division's subscriptions: ID, CallbackURL, Topic."""
    return client.get_all(PATH, select="ID,CallbackURL,Topic")


def subscribe(client: ExactClient, callback_url: str, topic: str) -> dict[str, Any]:
    """Subscribe the callback to one topic in the client's division."""
    return client.post(PATH, {"CallbackURL": callback_url, "Topic": topic})


def unsubscribe(client: ExactClient, subscription_id: str) -> None:
    """Delete one subscription."""
    client.delete(f"{PATH}({odata.guid(subscription_id)})")
