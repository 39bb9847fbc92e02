"""Fault tests with real processes, the services under the connector: Redis restarted without persistence (its
queue lost) and PostgreSQL restarted, each in the middle of a batch (tests/integration/fault_rig.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.fault_rig import Rig, rig, wait_until

pytestmark = pytest.mark.integration
BATCH = 30


@pytest.fixture
def faults_rig(secret_key: str, request: pytest.FixtureRequest) -> Iterator[Rig]:
    with rig(secret_key, request) as built:
        yield built


def _some_written(built: Rig) -> bool:
    """A few invoices of the batch are written, the rest still on their way: the middle of the batch."""
    return sum(r.status == "written" for r in built.records()) >= 3


def test_redis_restarted_mid_batch_loses_its_queue_and_every_invoice_is_still_written_once(faults_rig: Rig) -> None:
    built = faults_rig
    built.start_beat()
    built.start_worker()
    batch = built.send_batch(BATCH)
    wait_until(lambda: _some_written(built), 120, "the batch to be under way")

    built.redis.stop()  # in memory only: every queued and unacknowledged task is gone
    built.redis.start()
    took = built.wait_settled(batch)

    print(f"Redis restart: {len(batch)} invoices settled {took:.0f} s after Redis came back")
    built.assert_each_once(batch)


def test_postgresql_restarted_mid_batch_and_every_invoice_is_still_written_once(faults_rig: Rig) -> None:
    built = faults_rig
    built.start_beat()
    built.start_worker()
    batch = built.send_batch(BATCH)
    wait_until(lambda: _some_written(built), 120, "the batch to be under way")

    built.postgres.stop()
    built.postgres.start()
    took = built.wait_settled(batch)

    print(f"PostgreSQL restart: {len(batch)} invoices settled {took:.0f} s after PostgreSQL came back")
    built.assert_each_once(batch)
