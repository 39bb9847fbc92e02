"""Polling, the safety net under the webhooks: find Basware documents waiting for us that we never heard of.

Per tenant whose `poll_interval` has passed, list the accounting documents waiting for transfer and the
purchase orders waiting for export (continuation-token pages; 404 means none), create a pending record for
each one the records table does not hold yet and hand its id to `enqueue` after the commit. Records that
exist are left alone: their chain, a replay or the inbox dispatcher owns them. A webhook racing the poller for
one document still gives one record (unique per document), and its chains share the per-record lease and
idempotent steps, so one Exact document. With no webhooks at all, polling alone keeps a tenant flowing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa

from connector.basware.client import BaswareClient
from connector.errors import ConnectorError
from connector.store import audit, state
from connector.store.db import Database
from connector.store.db import records as records_table
from connector.store.records import Kind, Reported, Status, upsert_pending
from connector.store.tenants import Tenant, list_tenants
from connector.sync.services import Services

log = logging.getLogger(__name__)
LAST_RUN = "poll:last_run"
Enqueue = Callable[[int], None]


@dataclass
class PollResult:
    """What one poll of one tenant found: how many documents are waiting and which records are new."""

    tenant: str
    waiting: int = 0
    new: list[int] = field(default_factory=list)


def is_due(tenant: Tenant, last_run: float | None, now: float) -> bool:
    """True when polling is on for the tenant (interval > 0) and the interval has passed since the last run."""
    if tenant.poll_interval <= 0:
        return False
    return last_run is None or now - last_run >= tenant.poll_interval


def poll_due_tenants(svc: Services, enqueue: Enqueue, now: float | None = None) -> int:
    """Poll every tenant that is due; one tenant's failure is logged and does not stop the others."""
    new = 0
    for tenant in list_tenants(svc.db):
        try:
            result = poll_if_due(svc, tenant, enqueue, now)
        except ConnectorError as exc:  # its last run stays put, so the next beat tries it again
            log.warning("tenant=%s step=poll failed: %s", tenant.name, exc)
            continue
        new += len(result.new) if result else 0
    return new


def poll_if_due(svc: Services, tenant: Tenant, enqueue: Enqueue, now: float | None = None) -> PollResult | None:
    """Poll the tenant if its interval has passed (and remember when); None when it was not due."""
    now = time.time() if now is None else now
    last = state.get(svc.db, tenant.id, LAST_RUN)
    if not is_due(tenant, float(last) if last else None, now):
        return None
    result = poll_tenant(svc, tenant, enqueue)
    state.put(svc.db, tenant.id, LAST_RUN, repr(now))
    return result


def poll_tenant(svc: Services, tenant: Tenant, enqueue: Enqueue) -> PollResult:
    """List what waits in Basware now and start a chain for every document without a record."""
    result = PollResult(tenant.name)
    for kind, basware_id in waiting_documents(svc.basware(tenant)):
        result.waiting += 1
        found = _new_record(svc.db, tenant.id, kind, basware_id)
        if found is None:
            continue
        record_id, again = found
        enqueue(record_id)  # after the commit, so the chain always finds its record
        result.new.append(record_id)
        audit.record(
            svc.db,
            tenant_id=tenant.id,
            record_id=record_id,
            step="poll",
            event="offered_again" if again else "found_by_poll",
            message=f"{kind.replace('_', ' ')} {basware_id} is waiting in Basware "
            + (
                "again after it was handled; checking for changes"
                if again
                else "and no notification brought it; picked up by polling"
            ),
        )
    if result.new:
        log.info("tenant=%s step=poll %d waiting, %d new", tenant.name, result.waiting, len(result.new))
    return result


def waiting_documents(basware: BaswareClient) -> Iterator[tuple[str, str]]:
    """(record kind, Basware id) of every invoice waiting for transfer and every order waiting for export."""
    for document in basware.list_accounting_documents("WaitingForTransfer"):
        yield Kind.INVOICE, str(document["invoiceId"])
    for order in basware.list_exported_purchase_orders("WaitingForExport"):
        yield Kind.PURCHASE_ORDER, str(order["externalCode"])


def _new_record(db: Database, tenant_id: int, kind: str, basware_id: str) -> tuple[int, bool] | None:
    """A pending record created now for the document; a finished one that Basware offers again (a retransfer or
    re-export: its update check decides what to do); or None when the record is still being worked on."""
    with db.begin() as conn:
        exists = conn.execute(
            sa.select(records_table.c.id, records_table.c.status, records_table.c.reported).where(
                records_table.c.tenant_id == tenant_id,
                records_table.c.kind == kind,
                records_table.c.basware_id == basware_id,
            )
        ).first()
        if exists is not None:
            finished = exists.status == Status.WRITTEN and exists.reported in (Reported.SUCCESS, Reported.ACKNOWLEDGED)
            return (int(exists.id), True) if finished else None
        # upsert_pending still settles a race with the receiver: the unique key leaves one record.
        return upsert_pending(conn, tenant_id, kind, basware_id), False
