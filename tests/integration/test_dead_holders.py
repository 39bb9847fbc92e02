"""A named lease (master data refresh, token refresh, supplier creation) held by a worker killed with SIGKILL does
not stall everyone until it expires: a provably dead holder's lease is taken over at once."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from connector.store import locks
from connector.sync.services import Services

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
