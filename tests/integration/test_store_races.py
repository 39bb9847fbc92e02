"""Rows that several processes write at once (tenant state, mappings, cached master data) never collide."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from connector.store import mappings, master, state
from connector.sync.services import Services
from tests.support import Sandboxes, add_tenant

pytestmark = pytest.mark.integration
WRITERS = 8


def _at_once(work) -> None:  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(work, range(WRITERS)))  # list() re-raises the first writer's error


def test_many_writers_of_one_new_tenant_state_value_all_succeed(pg_services: Services, sandboxes: Sandboxes) -> None:
    tenant = add_tenant(pg_services, sandboxes, authorize=False)

    _at_once(lambda n: state.put(pg_services.db, tenant.id, "exact:rate_limit", f"reading {n}"))

    assert state.get(pg_services.db, tenant.id, "exact:rate_limit") in {f"reading {n}" for n in range(WRITERS)}


def test_many_writers_of_one_new_mapping_and_cache_row_all_succeed(pg_services: Services, sandboxes: Sandboxes) -> None:
    tenant = add_tenant(pg_services, sandboxes, authorize=False)

    _at_once(lambda n: mappings.put(pg_services.db, tenant.id, "gl_account", "6100", f"40{n:02d}"))
    _at_once(lambda n: master.save(pg_services.db, tenant.id, 100001, "journals", [{"Code": str(n)}]))

    assert mappings.lookup(pg_services.db, tenant.id, "gl_account", "6100") in {f"40{n:02d}" for n in range(WRITERS)}
    cached = master.load(pg_services.db, tenant.id, 100001, "journals")
    assert cached is not None and len(cached[1]) == 1
