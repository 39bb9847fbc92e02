"""Beat tasks for mapping: keep every division's master data cache fresh."""

from __future__ import annotations

from connector.store.locks import held_or_skip
from connector.sync import master
from workers.app import app
from workers.context import services


@app.task(name="connector.refresh_master_data")
def refresh_master_data() -> int:
    """Re-read GL accounts, cost centers and units, VAT codes and journals of every live tenant."""
    svc = services()
    # A second beat by mistake would double the calls to Exact; the lease makes it skip instead.
    with held_or_skip(svc.db, "beat:refresh_master_data", ttl=1800) as mine:
        return master.refresh_all(svc) if mine else 0
