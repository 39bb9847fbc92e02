"""Fault tests with real processes, the failures outside the connector: Exact answering 503 to some writes and
502 after storing others, and the broker down while Basware notifies (tests/integration/fault_rig.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.store import audit
from tests.integration.fault_rig import Rig, rig

pytestmark = pytest.mark.integration
BATCH = 30


@pytest.fixture
def faults_rig(secret_key: str, request: pytest.FixtureRequest) -> Iterator[Rig]:
    with rig(secret_key, request) as built:
        yield built


def test_exact_refusing_some_writes_and_losing_the_answer_to_others_writes_each_invoice_once(
    faults_rig: Rig,
) -> None:
    built = faults_rig
    built.start_beat()
    built.start_worker()
    built.sandboxes.exact.fail_requests("POST", "purchaseentries", 8)  # not stored: tried again
    built.sandboxes.exact.fail_after_storing("POST", "purchaseentries", 8)  # stored, the answer lost
    batch = built.send_batch(BATCH)

    took = built.wait_settled(batch)

    print(f"Exact faults: {len(batch)} invoices settled {took:.0f} s after the last was sent")
    built.assert_each_once(batch)
    events = [a["event"] for r in built.records() for a in audit.entries(built.svc.db, record_id=r.id)]
    assert events.count("entry_adopted") == 8  # each stored entry whose answer was lost is found, not posted again
    assert events.count("entry_created") == BATCH - 8


def test_invoices_notified_while_the_broker_is_down_are_published_later_and_written_once(faults_rig: Rig) -> None:
    built = faults_rig
    built.start_beat()
    built.start_worker()
    built.redis.stop()

    batch = built.send_batch(BATCH)  # every notification answered 202: recorded, so Basware does not resend
    assert all(r.status == "pending" for r in built.records())
    built.redis.start()
    took = built.wait_settled(batch)

    print(f"broker down at intake: {len(batch)} invoices settled {took:.0f} s after the broker came back")
    built.assert_each_once(batch)
