"""Records left pending because their chain was lost are put back on the broker.

A chain can vanish: Celery's file-system broker deletes a message when a worker takes it, and with Redis a
killed worker's task only comes back after the visibility timeout. Polling leaves documents that already have
a record alone, so without this a lost chain would leave its record pending for ever. Steps are idempotent
and writes hold the record's lease, so a second chain for a record that was only slow does no harm.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from connector.store import audit, records
from connector.sync.services import Services

STALL_AFTER = 3600.0  # longer than a whole run of retries with backoff (about 21 minutes)


def resume_stalled(
    svc: Services, enqueue: Callable[[int], object], *, now: float | None = None, older_than: float = STALL_AFTER
) -> list[int]:
    """Enqueue every stalled pending record once more; returns their ids."""
    now = time.time() if now is None else now
    found = records.stalled(svc.db, older_than=older_than, now=now)
    for record_id in found:
        records.update(svc.db, record_id)  # touched: the next sweep waits a full period again
        audit.of_record(
            svc.db,
            records.get(svc.db, record_id),
            "sweep",
            "resumed",
            f"pending for over {older_than / 60:.0f} minutes with no progress: started again",
        )
        enqueue(record_id)
    return found
