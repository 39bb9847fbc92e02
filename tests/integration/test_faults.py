"""Fault tests with real processes: a batch of invoices through a worker killed with SIGKILL at every step.

Each test builds a whole connector on private services (tests/integration/fault_rig.py) and asserts what a
user would check afterwards: every invoice written once in Exact and answered once in Basware.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.store.db import records as records_table
from tests.integration.fault_rig import Rig, rig, wait_until

pytestmark = pytest.mark.integration
BATCH = 20


@pytest.fixture
def faults_rig(secret_key: str, request: pytest.FixtureRequest) -> Iterator[Rig]:
    with rig(secret_key, request) as built:
        yield built


def _running(built: Rig, step: str) -> bool:
    """Some record of the rig is inside `step` right now (its run noted, not ended)."""
    with built.svc.db.begin() as conn:
        query = records_table.select().where(records_table.c.running_step == step)
        return conn.execute(query).first() is not None


def _killed_twice(built: Rig) -> int:
    """Records whose current step has been started twice without ending: killed in it twice already."""
    with built.svc.db.begin() as conn:
        query = records_table.select().where(records_table.c.running_starts >= 2)
        return len(conn.execute(query).all())


def test_a_worker_killed_at_every_step_still_writes_and_reports_each_invoice_once(faults_rig: Rig) -> None:
    built = faults_rig
    built.start_beat()
    built.start_worker()
    # Every call slowed down, so each step is caught with a call in flight: a Basware GET or acknowledge
    # (fetch), an Exact look-up (map_vendor, validate), the POST (write), the transfer response (report).
    built.sandboxes.exact.set_faults(delay=0.5)
    built.sandboxes.basware.set_faults(delay=0.5)
    batch = built.send_batch(BATCH)

    for step in ("fetch", "map_vendor", "validate", "write", "report"):
        # Kills follow each other faster than any outage would; a record whose step ended its worker three times
        # in a row is set aside on purpose (workers.tasks.MAX_WORKER_DEATHS), so no record is killed a third time.
        wait_until(lambda: _killed_twice(built) == 0, 120, "records killed twice to get past that step")
        wait_until(lambda step=step: _running(built, step), 120, f"a record inside {step}")
        built.kill_worker()
        built.start_worker()
    built.sandboxes.exact.set_faults()
    built.sandboxes.basware.set_faults()

    took = built.wait_settled(batch)
    print(f"{len(batch)} invoices settled {took:.0f} s after the last kill; workers started {built.workers_started}")
    built.assert_each_once(batch)
