"""The steps' shared mechanics, for every document kind: which steps are done, and writing to Exact exactly
once.

Every step that writes (or reports) holds the record's lease, so chains racing on one document take turns.
The first attempt creates the document; any later attempt first looks for what an interrupted one may have
created (a crash between Exact's 201 and our commit) and adopts it. The attempt counter is committed just before
the POST leaves (after the rate check admitted it), which is what lets the first attempt skip the look-up and
keep steady state at one call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from connector.errors import Postponed, RetriableAPIError, StorageUnavailable
from connector.store import records
from connector.store.locks import new_owner
from connector.store.records import Record, Status, Step
from connector.sync.services import Services

STEPS = tuple(Step)  # in the order the chain runs them
# Decision (ours): a request let go to Exact is over, one way or another, within twice our 30 s total deadline
# (Exact's own processing time is not published).
IN_FLIGHT_GRACE = 60.0
WRITE_LEASE = 600.0  # far longer than one POST with its timeout, so a live writer never loses it
RELEASE_PATIENCE, RELEASE_RETRY = 60.0, 1.0  # a database restart takes seconds


class RecordBusy(RetriableAPIError):
    """Another chain holds this record's lease; try again shortly."""


def is_done(record: Record, step: str) -> bool:
    """True when the record has completed `step` (or a later one)."""
    return record.step is not None and STEPS.index(record.step) >= STEPS.index(step)


def pending(svc: Services, record_id: int, step: str) -> Record | None:
    """The record when `step` still has work to do on it: pending, and the step not done yet."""
    record = records.get(svc.db, record_id)
    if record.status != Status.PENDING or is_done(record, step):
        return None
    return record


def write_step(svc: Services, record_id: int, write: Callable[[Services, Record], None]) -> None:
    """Run a write under the record's lease, re-checking inside it that the record still needs writing."""
    if pending(svc, record_id, Step.WRITTEN) is None:
        return
    with record_lease(svc, record_id):
        record = pending(svc, record_id, Step.WRITTEN)
        if record is not None:
            write(svc, record)


@contextmanager
def record_lease(svc: Services, record_id: int, doing: str = "writing") -> Iterator[None]:
    """Hold the record's lease for the block, or raise RecordBusy (a retry) when another chain has it."""
    owner = new_owner()
    if not records.try_lock(svc.db, record_id, owner, WRITE_LEASE):
        raise RecordBusy(f"another worker is {doing} this record", system="connector")
    try:
        yield
    finally:
        _give_back(svc, record_id, owner)


def _give_back(svc: Services, record_id: int, owner: str) -> None:
    """Release the lease, trying for a while when the database is restarting: its holder lives on, so nobody may
    take it over, and a lease left behind would hold the record for the whole WRITE_LEASE."""
    deadline = time.monotonic() + RELEASE_PATIENCE
    while True:
        try:
            records.unlock(svc.db, record_id, owner)
            return
        except StorageUnavailable:
            if time.monotonic() >= deadline:
                raise
            time.sleep(RELEASE_RETRY)


def _wait_out_earlier_attempt(record: Record) -> None:
    """An earlier POST may still be on its way (its worker was killed, or the answer was lost): Exact may store
    it after our look-up found nothing, and a second POST would make two documents. Look only once it cannot
    be in flight any more."""
    surely_over = (record.write_sent_at or 0.0) + IN_FLIGHT_GRACE
    if time.time() < surely_over:
        raise Postponed(
            "an earlier write may still be on its way to Exact; looking for its result once it cannot be",
            retry_at=surely_over,
            system="connector",
        )


def write_once(
    svc: Services,
    record: Record,
    *,
    find: Callable[[], list[dict[str, Any]]],
    create: Callable[[Callable[[], None]], dict[str, Any]],
) -> tuple[dict[str, Any], str]:
    """The document in Exact and how it came to be: "adopted" from an earlier attempt, or "created" now.

    `create` gets the callback that counts the attempt and must hand it to the client, which calls it only
    once the rate check admitted the POST: a write put off for the limit's reset is no attempt, and costs no
    look-up later.
    """
    if record.write_attempts > 0:
        _wait_out_earlier_attempt(record)
        found = find()
        if found:
            return found[0], "adopted"

    def count_attempt() -> None:
        records.update(svc.db, record.id, write_attempts=record.write_attempts + 1, write_sent_at=time.time())

    return create(count_attempt), "created"
