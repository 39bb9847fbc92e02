"""Records left pending (or written, or blocked, but never reported) because their chain was lost are put back on
the broker.

A chain can vanish: Celery's file-system broker deletes a message when a worker takes it, and with Redis a
killed worker's task only comes back after the visibility timeout. Polling leaves documents that already have
a record alone, so without this a lost chain would leave its record pending for ever. Steps are idempotent
and writes hold the record's lease, so a second chain for a record that was only slow does no harm.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from connector.store import audit, records
from connector.sync.documents import KINDS
from connector.sync.services import Services

# A running step notes its start, a retry notes when it is due: a pending record silent for this long past
# both lost its chain. Well above one step's work (a few HTTP calls, each under a 30 s deadline), and with the
# sweep every 30 s a lost chain is resumed within about 2.5 minutes (CONNECTOR_STALL_AFTER tunes it).
STALL_AFTER = 120.0


def resume_stalled(
    svc: Services, enqueue: Callable[[int], object], *, now: float | None = None, older_than: float | None = None
) -> list[int]:
    """Enqueue every stalled pending record once more; returns their ids."""
    now = time.time() if now is None else now
    older_than = svc.settings.stall_after if older_than is None else older_than
    told = tuple(name for name, kind in KINDS.items() if kind.reports_blocks)
    found = records.stalled(svc.db, older_than=older_than, now=now, blocks_reported_for=told)
    for record_id in found:
        # Touched, so the next sweep waits a full period again. A lost chain means the whole worker died (or the
        # queue was lost), not that this step killed it: its death count starts again.
        records.update(svc.db, record_id, running_step=None, running_starts=0)
        audit.of_record(
            svc.db,
            records.get(svc.db, record_id),
            "sweep",
            "resumed",
            f"no progress for over {older_than:.0f} s and no retry due: started again",
        )
        enqueue(record_id)
    return found
