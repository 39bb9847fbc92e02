"""Beat tasks that find work: polling Basware for documents no notification brought, and vendor sync."""

from __future__ import annotations

from connector.store.locks import held_or_skip
from connector.sync import polling, vendor_sync
from workers.app import app
from workers.context import services
from workers.tasks import start_chain

POLL_LEASE = 300.0
VENDOR_SYNC_LEASE = 900.0


@app.task(name="connector.poll_basware")
def poll_basware() -> int:
    """Pick up Basware documents whose notification never arrived; returns how many records were new."""
    svc = services()
    with held_or_skip(svc.db, "beat:poll_basware", ttl=POLL_LEASE) as mine:
        return polling.poll_due_tenants(svc, start_chain) if mine else 0


@app.task(name="connector.sync_vendors")
def sync_vendors() -> int:
    """Bring Exact suppliers in line with Basware vendors for every tenant that is due."""
    svc = services()
    with held_or_skip(svc.db, "beat:sync_vendors", ttl=VENDOR_SYNC_LEASE) as mine:
        return vendor_sync.sync_due_tenants(svc) if mine else 0
