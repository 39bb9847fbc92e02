"""A receiver under test: the broker stand-in it enqueues to, and what it stored."""

from __future__ import annotations

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
