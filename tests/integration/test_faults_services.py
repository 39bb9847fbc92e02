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


def _written(built: Rig) -> int:
    return sum(r.status == "written" for r in built.records())


def _slowed(built: Rig, delay: float) -> None:
    """Every sandbox call slowed down, so the batch is still under way when the service restarts."""
    built.sandboxes.exact.set_faults(delay=delay)
    built.sandboxes.basware.set_faults(delay=delay)


def test_redis_restarted_mid_batch_loses_its_queue_and_every_invoice_is_still_written_once(faults_rig: Rig) -> None:
    built = faults_rig
    built.start_beat()
    _slowed(built, 0.3)
    batch = built.send_batch(BATCH)  # queued, and taken once the worker is up
    built.start_worker()
    wait_until(lambda: _written(built) >= 3, 120, "the batch to be under way")
    written = _written(built)
    assert written < BATCH  # the middle of the batch: some written, the rest on their way

    built.redis.stop()  # in memory only: every queued and unacknowledged task is gone
    built.redis.start()
    _slowed(built, 0)
    took = built.wait_settled(batch)

    print(f"Redis restart after {written} written: {len(batch)} invoices settled {took:.0f} s after Redis came back")
    built.assert_each_once(batch)


def test_postgresql_restarted_mid_batch_and_every_invoice_is_still_written_once(faults_rig: Rig) -> None:
    built = faults_rig
    built.start_beat()
    _slowed(built, 0.3)
    batch = built.send_batch(BATCH)  # queued, and taken once the worker is up
    built.start_worker()
    wait_until(lambda: _written(built) >= 3, 120, "the batch to be under way")
    written = _written(built)
    assert written < BATCH  # the middle of the batch: some written, the rest on their way

    built.postgres.stop()
    built.postgres.start()
    _slowed(built, 0)
    took = built.wait_settled(batch)

    print(f"PostgreSQL restart after {written} written: {len(batch)} invoices settled {took:.0f} s after it was back")
    built.assert_each_once(batch)
