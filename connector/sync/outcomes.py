"""What happens to a record when a step cannot finish: blocked (fixable), waiting for consent, or failed."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.errors import APIError, DivisionOutOfScope, RecordBlocked
from connector.mapping.problems import as_dicts, problem
from connector.store import audit, records
from connector.store.records import Record, Status, Step
from connector.sync import divisions
from connector.sync.services import Services


def block(svc: Services, record_id: int, step: str, error: RecordBlocked | APIError) -> bool:
    """Keep the record, say why in words and per line, and wait for a fix and a replay.

    Only a pending record is blocked: a late error from a racing chain never undoes a written one.
    Returns True when the record was blocked now.
    """
    problems = (
        error.problems
        if isinstance(error, RecordBlocked)
        else as_dicts([problem(None, error.system, None, None, str(error))])
    )
    reason = str(error)
    record = records.get(svc.db, record_id)
    if record.status != Status.PENDING:
        audit.of_record(svc.db, record, step, "late_error", f"ignored for a {record.status} record: {reason}")
        return False
    records.update(svc.db, record_id, status=Status.BLOCKED, reason=reason, problems=problems)
    audit.of_record(svc.db, record, step, "blocked", reason, {"problems": problems})
    return True


def wait_for_reauth(svc: Services, record_id: int, step: str, error: APIError) -> None:
    """The Exact grant is dead: the record waits, nothing fails, and it resumes after a new consent."""
    record = records.get(svc.db, record_id)
    if record.status != Status.PENDING:
        return
    reason = str(error)
    if isinstance(error, DivisionOutOfScope):  # the grant lives; this one company was not ticked at consent
        reason = (
            f"Exact division {record.division} is outside the consent's scope ({error}); consent again "
            "(`ml-connector exact authorize`) and tick that company"
        )
    records.update(svc.db, record_id, status=Status.WAITING_FOR_REAUTH, reason=reason)
    audit.of_record(svc.db, record, step, "waiting_for_reauth", reason)


def park(svc: Services, record_id: int, step: str, until: float, why: str) -> bool:
    """Exact's limit is spent for longer than a broker countdown should last: the record waits in the database,
    visibly, until `until`, and beat resumes it then. False when the record is not pending (nothing parked)."""
    record = records.get(svc.db, record_id)
    if record.status != Status.PENDING:
        return False
    at = datetime.fromtimestamp(until, UTC).strftime("%Y-%m-%d %H:%M UTC")
    reason = f"waiting for Exact's limit; resumes at {at} ({why})"
    records.update(svc.db, record_id, status=Status.WAITING_FOR_BUDGET, due_at=until, reason=reason)
    audit.of_record(svc.db, record, step, "waiting_for_budget", reason)
    return True


def unpark_due(svc: Services, now: float) -> list[int]:
    """Records whose wait for Exact's limit is over, made pending again (the caller starts their chains)."""
    resumed = []
    for record_id in records.due_parked(svc.db, now):
        record = records.get(svc.db, record_id)
        records.update(svc.db, record_id, status=Status.PENDING, reason=None, due_at=None)
        audit.of_record(svc.db, record, "sweep", "budget_resumed", "Exact's limit has reset: resumed")
        resumed.append(record_id)
    return resumed


def fail(svc: Services, record_id: int, step: str, message: str) -> None:
    """Retries are exhausted: mark failed (replayable) with the last error."""
    record = records.get(svc.db, record_id)
    if record.status != Status.PENDING:  # e.g. reporting a written record to Basware kept failing
        audit.of_record(svc.db, record, step, "gave_up", message)
        return
    records.update(svc.db, record_id, status=Status.FAILED, reason=message)
    audit.of_record(svc.db, record, step, "failed", message)


def resume(svc: Services, record_id: int) -> bool:
    """Make a blocked, failed or waiting record pending again (replay); True when it changed."""
    record = records.get(svc.db, record_id)
    if record.status not in (Status.BLOCKED, Status.FAILED, Status.WAITING_FOR_REAUTH):
        return False
    # A record whose Exact entry exists was blocked on a later version: it is written, and the update check
    # that the chain runs first compares the versions again (with the mappings as they are now).
    status = Status.WRITTEN if record.exact_id else Status.PENDING
    if not record.exact_id:
        _follow_division_mapping(svc, record)
    records.update(svc.db, record_id, status=status, reason=None, problems=None, reported=None)
    audit.of_record(
        svc.db,
        record,
        "replay",
        "replayed",
        f"replayed from {record.status}; resumes after step {record.step or 'none'}",
    )
    return True


def _follow_division_mapping(svc: Services, record: Record) -> None:
    """A record not in Exact yet goes where its company code maps to now (a mapping added to fix it, say).

    Its supplier and lines were found in the old division, so it starts again after the fetch.
    """
    if record.document is None:
        return
    tenant = svc.tenant(record.tenant_id)
    division = divisions.for_document(svc.db, tenant, record.document)
    if division == divisions.of_record(record, tenant):
        return
    records.update(svc.db, record.id, division=division, step=Step.FETCHED, plan=None)
    text = f"now goes to Exact division {division} (was {record.division}): supplier and lines are mapped again"
    audit.of_record(svc.db, record, "replay", "division_changed", text)


def accept_correction(svc: Services, record_id: int, note: str) -> bool:
    """A person corrected Exact by hand after a later version was blocked: that version counts as written.

    Only for a record blocked on a later version (its Exact entry exists); True when it changed.
    """
    record = records.get(svc.db, record_id)
    if record.status != Status.BLOCKED or not record.exact_id:
        return False
    records.update(
        svc.db,
        record_id,
        status=Status.WRITTEN,
        written_document=record.document,
        reason=None,
        problems=None,
        reported=None,
    )
    audit.of_record(
        svc.db,
        record,
        "resolve",
        "corrected_by_hand",
        f"marked as corrected in Exact by hand: {note}" if note else "marked as corrected in Exact by hand",
    )
    return True
