"""Posting notifications to a real receiver: the broker stand-in, the server, and what got stored."""

from __future__ import annotations

import requests

from connector.store import inbox, records
from connector.store.tenants import Tenant
from connector.sync.services import Services


class Enqueued(list[int]):
    """Record ids handed to the broker; `fail` makes the broker look down."""

    fail = False

    def __call__(self, record_id: int) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.append(record_id)


def stored(svc: Services, tenant: Tenant) -> tuple[int, int]:
    """(inbox events, records) the tenant has."""
    return inbox.count(svc.db, tenant.id), len(records.list_records(svc.db, tenant_id=tenant.id))


def post_to(url: str, name: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    """POST a body to the tenant's webhook URL."""
    return requests.post(f"{url}/webhooks/basware/{name}", data=body, headers=headers, timeout=10)
