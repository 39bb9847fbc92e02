"""What an Exact webhook event changes, applied once by a worker after the receiver recorded it.

- Accounts, GLAccounts: that one cached entry of the event's division is replaced (G/L accounts: fetched again
  by ID, one call) or dropped (suppliers: looked up by code again on next use); no full refresh. A deleted
  supplier also drops the vendor resolutions the connector remembered for it, so the next document finds
  its supplier again instead of failing at Exact.
- PurchaseEntries, Delete: a record whose entry it was is marked "deleted in Exact by hand" (audit, dashboard);
  a later Basware version of it is then blocked with that reason (`check_deleted`) instead of failing at Exact.

Every effect may be applied twice without harm, so an event is marked processed after its effect.
"""

from __future__ import annotations

import time
from typing import Any

from connector.store import audit, exact_events, mappings, records
from connector.store.records import Record, Status
from connector.store.tenants import Tenant
from connector.sync import divisions, updates
from connector.sync.kinds import Change, DocumentKind
from connector.sync.master import SUPPLIERS, replace_cached
from connector.sync.services import Services
from connector.sync.writing import record_lease

DELETED = "deleted in Exact by hand"
GL_ACCOUNTS = "gl_accounts"


def process(svc: Services, event_id: int) -> str:
    """Apply one recorded event; what it did, in words (also kept on the event)."""
    stored = exact_events.get(svc.db, event_id)
    if stored.processed_at is not None:
        return "already processed"
    tenant = svc.tenant(stored.tenant_id)
    event = stored.event
    if event.topic == "GLAccounts":
        outcome = _gl_account(svc, tenant, event.division, event.key, event.action)
    elif event.topic == "Accounts":
        outcome = _account(svc, tenant, event.division, event.key, event.action)
    elif event.topic == "PurchaseEntries" and event.action == "Delete":
        outcome = _entry_deleted(svc, tenant, event.division, event.key)
    else:
        outcome = f"{event.topic} {event.action}: nothing to do"
    exact_events.mark_processed(svc.db, event_id, outcome)
    return outcome


def _gl_account(svc: Services, tenant: Tenant, division: int, key: str, action: str) -> str:
    row = None if action == "Delete" else svc.exact(tenant, division=division).gl_account(key)
    changed = replace_cached(svc.db, tenant.id, division, GL_ACCOUNTS, key, row)
    return f"G/L account {key} {'refreshed' if row else 'dropped'} in the cache" if changed else "no cache to change"


def _account(svc: Services, tenant: Tenant, division: int, key: str, action: str) -> str:
    replace_cached(svc.db, tenant.id, division, SUPPLIERS, key, None)  # looked up by code again when next used
    if action != "Delete":
        return f"supplier {key} will be looked up again"
    forgotten = 0
    for entry in mappings.entries(svc.db, tenant.id, "vendor"):
        code = entry.source.partition(divisions.SCOPE)[0]
        ours = entry.source == divisions.scoped(code, division, tenant)  # remembered for this very division
        if ours and entry.origin != "manual" and entry.target.lower() == key.lower():
            forgotten += mappings.forget(svc.db, tenant.id, "vendor", entry.source)
    return f"supplier {key} deleted in Exact; {forgotten} remembered vendor resolution(s) dropped"


def _entry_deleted(svc: Services, tenant: Tenant, division: int, key: str) -> str:
    marked = [r for r in records.by_exact_id(svc.db, tenant.id, key) if divisions.of_record(r, tenant) == division]
    for record in marked:
        records.update(svc.db, record.id, exact_deleted_at=time.time())
        text = f"Exact purchase entry {record.exact_number} was {DELETED} (division {division})"
        audit.of_record(svc.db, record, "exact_webhook", "deleted_in_exact", text, {"entry_id": key})
    return f"{len(marked)} record(s) marked {DELETED}" if marked else "an entry the connector did not write"


def check_deleted(svc: Services, record_id: int, kind: DocumentKind[Any]) -> bool:
    """Block a later version of a record whose Exact document was deleted by hand; True when it was handled.

    An identical delivery changes nothing; a changed one would fail at Exact (the entry is gone), so it is
    blocked with the reason a person can act on.
    """
    with record_lease(svc, record_id, "updating"):
        record = records.get(svc.db, record_id)
        if record.exact_deleted_at is None or record.status not in (Status.WRITTEN, Status.BLOCKED):
            return False
        change = _change(svc, record, kind)
        if change is not None:
            reason = (
                f"{kind.label} {record.reference} changed in Basware, but its Exact {kind.exact_label} "
                f"{record.exact_number} was {DELETED}: book the new version by hand, or replay after restoring it"
            )
            updates.block(svc, change, reason)
    return True


def _change(svc: Services, record: Record, kind: DocumentKind[Any]) -> Change[Any] | None:
    tenant = svc.tenant(record.tenant_id)
    document = kind.download(svc.basware(tenant), record.basware_id)
    baseline = record.written_document or record.document
    old = kind.parse(baseline, tenant) if baseline else None
    new = kind.parse(document, tenant)
    diff = kind.changes(old, new) if old is not None else ["first version"]
    return Change(record, document, old, new, diff) if diff else None
