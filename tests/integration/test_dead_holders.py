"""A lease held by a worker killed with SIGKILL does not stall work until it expires: a named lease (master data,
token refresh, supplier creation) is taken over at once, and a record whose dead writer holds its lease is
resumed by the stalled-record sweep."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest

from connector.errors import StorageUnavailable
from connector.sandbox.basware import make_invoice
from connector.store import locks, records
from connector.store.db import records as records_table
from connector.sync import writing
from connector.sync.services import Services
from connector.sync.stalled import resume_stalled
from tests.integration.mapping_helpers import row, unique
from tests.support import Sandboxes, add_tenant

pytestmark = pytest.mark.integration


def _owner_of_a_finished_process() -> str:
    code = "from connector.store.locks import new_owner; print(new_owner())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_a_lease_whose_holder_was_killed_is_taken_over_at_once(pg_services: Services) -> None:
    name = f"master:{uuid.uuid4().hex[:8]}"
    assert locks.try_acquire(pg_services.db, name, _owner_of_a_finished_process(), ttl=300)

    with locks.lease(pg_services.db, name, ttl=300, wait=0.5):  # would raise StorageUnavailable if it waited
        pass


def test_a_lease_whose_holder_lives_is_still_refused(pg_services: Services) -> None:
    name = f"master:{uuid.uuid4().hex[:8]}"
    assert locks.try_acquire(pg_services.db, name, locks.new_owner(), ttl=300)

    assert not locks.try_acquire(pg_services.db, name, locks.new_owner(), ttl=300)


def test_a_record_whose_writer_was_killed_holding_its_lease_is_resumed_by_the_sweep(
    pg_services: Services, sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    basware_id = sandboxes.basware.add_invoice(make_invoice(unique("DH-"), "1001", "Acme Supplies BV", [row()]))
    with pg_services.db.begin() as conn:
        killed = records.upsert_pending(conn, tenant.id, "invoice", basware_id)
    # Its worker took the 600 s write lease, let the POST go and was killed with its whole group: the task is
    # gone with it, so only the sweep can start the record again.
    records.try_lock(pg_services.db, killed, _owner_of_a_finished_process(), 600)
    records.update(pg_services.db, killed, write_attempts=1, write_sent_at=time.time() - 400)
    with pg_services.db.begin() as conn:
        conn.execute(records_table.update().where(records_table.c.id == killed).values(updated_at=time.time() - 400))

    assert killed in resume_stalled(pg_services, lambda record_id: None, older_than=300)


def test_a_lease_whose_release_met_the_database_restarting_is_still_given_back(
    pg_services: Services, sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    basware_id = sandboxes.basware.add_invoice(make_invoice(unique("DH-"), "1001", "Acme Supplies BV", [row()]))
    with pg_services.db.begin() as conn:
        record_id = records.upsert_pending(conn, tenant.id, "invoice", basware_id)
    real_unlock, failures = records.unlock, [StorageUnavailable("database connection lost")]

    def unlock_while_restarting(*args: object) -> None:
        if failures:
            raise failures.pop()
        real_unlock(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(records, "unlock", unlock_while_restarting)
    monkeypatch.setattr(writing, "RELEASE_RETRY", 0.01)
    with writing.record_lease(pg_services, record_id):
        pass

    # The holder lives on, so nobody could take the lease over: left behind, it would hold the record 600 s.
    assert records.try_lock(pg_services.db, record_id, locks.new_owner(), 60)
