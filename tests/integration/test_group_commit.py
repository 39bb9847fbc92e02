"""Group commit: notifications that arrive together are committed together, and each is still answered for
itself: its own record, duplicates as duplicates, and one that cannot be stored does not refuse the others."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from connector.errors import StorageUnavailable
from connector.store import inbox
from connector.store.db import Database
from connector.store.group_commit import GroupCommit
from connector.sync.services import Services
from tests.support import Sandboxes, add_tenant, notification, post_signed
from tests.support.receiving import stored

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_services(private_pg_services: Services) -> Services:
    """This module's receivers have a stand-in broker: a database of the test's own (see private_pg_services)."""
    return private_pg_services


def test_many_notifications_at_once_each_get_their_own_record_and_a_repeat_is_a_duplicate(
    receiver_url: str, pg_services: Services, sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    bodies = [notification(f"doc-{i}") for i in range(40)]
    repeated = notification("doc-repeated", task_id=f"task-{uuid.uuid4().hex}")

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(lambda body: post_signed(receiver_url, tenant.name, body), bodies + [repeated] * 8))

    fresh, repeats = answers[:40], answers[40:]
    assert [a.status_code for a in fresh] == [202] * 40
    assert len({a.json()["record_id"] for a in fresh}) == 40
    assert sorted(a.status_code for a in repeats) == [200] * 7 + [202]  # one delivery recorded, 7 duplicates
    assert len({a.json()["record_id"] for a in repeats}) == 1
    assert stored(pg_services, tenant) == (41, 41)
    assert len(inbox.unpublished(pg_services.db)) == 41  # every event waits for the dispatcher, once


def test_one_notification_that_cannot_be_stored_does_not_refuse_the_others_in_its_group(
    pg_services: Services, sandboxes: Sandboxes
) -> None:
    tenant = add_tenant(pg_services, sandboxes, authorize=False)
    group = GroupCommit(pg_services.db)
    good = [
        inbox.Notification(tenant.id, f"t-{uuid.uuid4().hex}", "AccountingDocuments", f"d-{i}", "{}") for i in range(6)
    ]
    orphan = inbox.Notification(10**6, "t-orphan", "AccountingDocuments", "d-orphan", "{}")  # no such tenant

    def record(item: inbox.Notification) -> inbox.Accepted | StorageUnavailable:
        try:
            return group.record(item)
        except StorageUnavailable as exc:
            return exc

    with ThreadPoolExecutor(7) as pool:
        results = list(pool.map(record, [*good[:3], orphan, *good[3:]]))

    assert isinstance(results[3], StorageUnavailable)
    accepted = [r for r in results if isinstance(r, inbox.Accepted)]
    assert len(accepted) == 6 and not any(a.duplicate for a in accepted)
    assert stored(pg_services, tenant) == (6, 6)


def test_with_the_database_away_every_notification_of_the_group_is_refused_as_retry_later() -> None:
    group = GroupCommit(Database("postgresql+psycopg2://postgres@127.0.0.1:1/none"))  # nothing listens there
    notifications = [inbox.Notification(1, f"t-{i}", "AccountingDocuments", f"d-{i}", "{}") for i in range(4)]

    with ThreadPoolExecutor(4) as pool:
        refusals = list(pool.map(lambda item: _refusal(group, item), notifications))

    assert all(str(refusal).startswith("database unavailable") for refusal in refusals)


def _refusal(group: GroupCommit, item: inbox.Notification) -> StorageUnavailable:
    with pytest.raises(StorageUnavailable) as refused:
        group.record(item)
    return refused.value
