"""Thin Celery tasks over connector.sync: ids in, ids out; errors become retries, blocks or waits."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import Task, chain
from celery.exceptions import Ignore

from connector.errors import (
    ConfigurationError,
    ConnectorError,
    FatalAPIError,
    Postponed,
    ReauthRequired,
    RecordBlocked,
    RetriableAPIError,
    StorageUnavailable,
)
from connector.logcontext import log_context
from connector.store import records
from connector.store.locks import held_or_skip
from connector.sync import outcomes, stalled, steps
from connector.sync.services import Services
from workers import dispatcher
from workers.app import app
from workers.context import services
from workers.retry import MAX_RETRIES, backoff, rate_limit_delay

log = logging.getLogger(__name__)
Step = Callable[[Services, int], None]
# A step whose worker died this many times in a row is not delivered again (acks_late would redeliver it for
# ever); the record is set aside as failed, with the reason, and can be replayed.
MAX_WORKER_DEATHS = 3
# No task waits in the broker longer than this: far inside Redis's visibility timeout (an hour), after which a
# task counted down would be delivered again, and again. Longer waits park the record in the database.
MAX_COUNTDOWN = 300.0


def run_step(task: Task, record_id: int, step: str, func: Step) -> int:
    """Run one step; retry what may pass, block what needs a person, pause on a dead grant.

    A blocked record is reported to Basware when its kind tells Basware about blocks (an invoice's failure
    response); a blocked order simply stays waiting for export.
    """
    svc = services()
    with log_context(tenant=_tenant_of(svc, record_id), record=record_id, step=step):
        starts = _start_run(svc, record_id, step)
        if starts > MAX_WORKER_DEATHS:
            # The step killed its worker every time (out of memory, a crash in a library): stop redelivering it.
            outcomes.fail(svc, record_id, step, f"this step ended its worker {starts - 1} times; set aside")
            _end_run(svc, record_id)
            raise Ignore()
        try:
            _run(task, svc, record_id, step, func)
        finally:
            _end_run(svc, record_id)
    return record_id


def _start_run(svc: Services, record_id: int, step: str) -> int:
    try:
        return records.start_run(svc.db, record_id, step)
    except (LookupError, StorageUnavailable):
        return 1  # the step itself will meet the same problem and say so


def _end_run(svc: Services, record_id: int) -> None:
    try:
        records.end_run(svc.db, record_id)
    except (LookupError, StorageUnavailable):
        pass  # at worst a later run counts one start too many


def _run(task: Task, svc: Services, record_id: int, step: str, func: Step) -> None:
    """The step, its outcome turned into a retry, a block, a wait or a failure."""
    try:
        func(svc, record_id)
    except Postponed as exc:
        # Waiting (for the limit's window, or for an earlier POST to be surely over) is not a failure: it
        # does not use up the retries. A wait longer than a broker countdown should last (the daily limit)
        # parks the record in the database instead; beat resumes it.
        delay = rate_limit_delay(exc)
        if delay > MAX_COUNTDOWN and outcomes.park(svc, record_id, step, exc.retry_at, str(exc)):
            raise Ignore() from exc
        waits = task.request.retries + 1  # max_retries=None would mean Celery's default of 3
        countdown = _due(svc, record_id, min(delay, MAX_COUNTDOWN))
        raise task.retry(exc=exc, countdown=countdown, max_retries=waits) from exc
    except (RetriableAPIError, StorageUnavailable) as exc:
        if task.request.retries >= MAX_RETRIES:
            outcomes.fail(svc, record_id, step, f"gave up after {MAX_RETRIES} retries: {exc}")
            raise Ignore() from exc
        log.warning("record=%s step=%s retrying: %s", record_id, step, exc)
        countdown = _due(svc, record_id, backoff(task.request.retries))
        raise task.retry(exc=exc, countdown=countdown, max_retries=MAX_RETRIES) from exc
    except ReauthRequired as exc:
        outcomes.wait_for_reauth(svc, record_id, step, exc)
        raise Ignore() from exc
    except (RecordBlocked, FatalAPIError) as exc:
        tell = not isinstance(exc, RecordBlocked) or exc.tell_basware
        if outcomes.block(svc, record_id, step, exc) and tell and steps.reports_blocks(svc, record_id):
            report_to_basware.delay(record_id)
        raise Ignore() from exc
    except ConfigurationError as exc:
        outcomes.fail(svc, record_id, step, str(exc))
        raise Ignore() from exc
    except Exception as exc:  # a bug or an unforeseen answer: retry, and never leave the record silently pending
        log.exception("record=%s step=%s unexpected error", record_id, step)
        if task.request.retries >= MAX_RETRIES:
            outcomes.fail(svc, record_id, step, f"unexpected error after {MAX_RETRIES} retries: {type(exc).__name__}")
            raise Ignore() from exc
        countdown = _due(svc, record_id, backoff(task.request.retries))
        raise task.retry(exc=exc, countdown=countdown, max_retries=MAX_RETRIES) from exc


def _due(svc: Services, record_id: int, countdown: float) -> float:
    """Tell the database when the retry is due, so the stalled-record sweep leaves it alone until then."""
    try:
        records.put_off(svc.db, record_id, time.time() + countdown)
    except (LookupError, StorageUnavailable):
        pass  # at worst the sweep starts a second chain, which the steps' idempotence makes harmless
    return countdown


def _tenant_of(svc: Services, record_id: int) -> int | str:
    try:
        return records.get(svc.db, record_id).tenant_id
    except (LookupError, ConnectorError):  # only for the log line: the step itself will say what is wrong
        return "?"


# One chain for every document kind: each task runs the step for the record's kind (`connector.sync.steps`).


@app.task(bind=True, name="connector.fetch_from_basware")
def fetch_from_basware(self: Task, record_id: int) -> int:
    """Fetch the Basware document (and take it on there, as its kind does)."""
    return run_step(self, record_id, "fetch", steps.fetch)


@app.task(bind=True, name="connector.map_vendor")
def map_vendor(self: Task, record_id: int) -> int:
    """Resolve the Exact supplier."""
    return run_step(self, record_id, "map_vendor", steps.map_vendor)


@app.task(bind=True, name="connector.validate_dimensions")
def validate_dimensions(self: Task, record_id: int) -> int:
    """Map and check every line inside the target division."""
    return run_step(self, record_id, "validate", steps.validate)


@app.task(bind=True, name="connector.write_to_exact")
def write_to_exact(self: Task, record_id: int) -> int:
    """Write the Exact document exactly once."""
    return run_step(self, record_id, "write", steps.write)


@app.task(bind=True, name="connector.report_to_basware")
def report_to_basware(self: Task, record_id: int) -> int:
    """Tell Basware the outcome (a transfer response, or an order's export acknowledgement)."""
    return run_step(self, record_id, "report", steps.report)


def start_chain(record_id: int) -> None:
    """Put a record's whole chain on the broker; steps already done are skipped by the steps."""
    chain(
        fetch_from_basware.si(record_id),
        map_vendor.s(),
        validate_dimensions.s(),
        write_to_exact.s(),
        report_to_basware.s(),
    ).apply_async()


app.steps["worker"].add(dispatcher.step(start_chain))  # every worker publishes what the receiver committed


@app.task(name="connector.resume_parked_records")
def resume_parked_records() -> int:
    """Beat: start again the records parked for Exact's limit whose wait is over."""
    svc = services()
    with held_or_skip(svc.db, "beat:resume_parked_records", ttl=120) as mine:
        if not mine:
            return 0
        resumed = outcomes.unpark_due(svc, time.time())
        for record_id in resumed:
            start_chain(record_id)
        return len(resumed)


@app.task(name="connector.resume_stalled_records")
def resume_stalled_records() -> int:
    """Put records whose chain was lost back on the broker."""
    svc = services()
    with held_or_skip(svc.db, "beat:resume_stalled_records", ttl=600) as mine:
        return len(stalled.resume_stalled(svc, start_chain)) if mine else 0
