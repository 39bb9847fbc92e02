"""Thin Celery tasks over connector.sync: ids in, ids out; errors become retries, blocks or waits."""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import Task, chain
from celery.exceptions import Ignore

from connector.errors import (
    ConfigurationError,
    ConnectorError,
    FatalAPIError,
    RateLimited,
    ReauthRequired,
    RecordBlocked,
    RetriableAPIError,
    StorageUnavailable,
)
from connector.logcontext import log_context
from connector.store import inbox, records
from connector.store.locks import held_or_skip
from connector.sync import invoices, outcomes, stalled
from connector.sync.services import Services, services
from workers.app import app
from workers.retry import MAX_RETRIES, backoff, rate_limit_delay

log = logging.getLogger(__name__)
Step = Callable[[Services, int], None]


def run_step(
    task: Task, record_id: int, step: str, func: Step, on_blocked: Callable[[int], object] | None = None
) -> int:
    """Run one step; retry what may pass, block what needs a person, pause on a dead grant.

    `on_blocked` runs after a record is blocked: invoices tell Basware (the default); orders have no such
    response and simply stay waiting for export.
    """
    svc = services()
    with log_context(tenant=_tenant_of(svc, record_id), record=record_id, step=step):
        try:
            func(svc, record_id)
        except RateLimited as exc:
            # Waiting for the window is not a failure: it does not use up the retries (max_retries=None would
            # mean Celery's default of 3, after which the record was dropped with the RateLimited error).
            waits = task.request.retries + 1
            raise task.retry(exc=exc, countdown=rate_limit_delay(exc), max_retries=waits) from exc
        except (RetriableAPIError, StorageUnavailable) as exc:
            if task.request.retries >= MAX_RETRIES:
                outcomes.fail(svc, record_id, step, f"gave up after {MAX_RETRIES} retries: {exc}")
                raise Ignore() from exc
            log.warning("record=%s step=%s retrying: %s", record_id, step, exc)
            raise task.retry(exc=exc, countdown=backoff(task.request.retries), max_retries=MAX_RETRIES) from exc
        except ReauthRequired as exc:
            outcomes.wait_for_reauth(svc, record_id, step, exc)
            raise Ignore() from exc
        except (RecordBlocked, FatalAPIError) as exc:
            if outcomes.block(svc, record_id, step, exc):
                (report_to_basware.delay if on_blocked is None else on_blocked)(record_id)
            raise Ignore() from exc
        except ConfigurationError as exc:
            outcomes.fail(svc, record_id, step, str(exc))
            raise Ignore() from exc
        except Exception as exc:  # a bug or an unforeseen answer: retry, and never leave the record silently pending
            log.exception("record=%s step=%s unexpected error", record_id, step)
            if task.request.retries >= MAX_RETRIES:
                outcomes.fail(
                    svc, record_id, step, f"unexpected error after {MAX_RETRIES} retries: {type(exc).__name__}"
                )
                raise Ignore() from exc
            raise task.retry(exc=exc, countdown=backoff(task.request.retries), max_retries=MAX_RETRIES) from exc
    return record_id


def _tenant_of(svc: Services, record_id: int) -> int | str:
    try:
        return records.get(svc.db, record_id).tenant_id
    except (LookupError, ConnectorError):  # only for the log line: the step itself will say what is wrong
        return "?"


@app.task(bind=True, name="connector.fetch_from_basware")
def fetch_from_basware(self: Task, record_id: int) -> int:
    """Fetch and acknowledge the Basware document."""
    return run_step(self, record_id, "fetch", invoices.fetch)


@app.task(bind=True, name="connector.map_vendor")
def map_vendor(self: Task, record_id: int) -> int:
    """Resolve the Exact supplier."""
    return run_step(self, record_id, "map_vendor", invoices.map_vendor)


@app.task(bind=True, name="connector.validate_dimensions")
def validate_dimensions(self: Task, record_id: int) -> int:
    """Map and check every line inside the target division."""
    return run_step(self, record_id, "validate", invoices.validate)


@app.task(bind=True, name="connector.write_to_exact")
def write_to_exact(self: Task, record_id: int) -> int:
    """Write the purchase entry exactly once."""
    return run_step(self, record_id, "write", invoices.write)


@app.task(bind=True, name="connector.report_to_basware")
def report_to_basware(self: Task, record_id: int) -> int:
    """Post the transfer response to Basware."""
    return run_step(self, record_id, "report", invoices.report)


def start_chain(record_id: int) -> None:
    """Put a record's chain on the broker; a worker picks the chain for the record's kind."""
    from workers.orders import start_record_chain  # late: workers.orders builds on this module

    start_record_chain.delay(record_id)


def start_invoice_chain(record_id: int) -> None:
    """Put an invoice record's whole chain on the broker; steps already done are skipped by the steps."""
    chain(
        fetch_from_basware.si(record_id),
        map_vendor.s(),
        validate_dimensions.s(),
        write_to_exact.s(),
        report_to_basware.s(),
    ).apply_async()


@app.task(name="connector.republish_inbox")
def republish_inbox() -> int:
    """Publish events that were recorded while the broker was unreachable."""
    svc = services()
    published = 0
    with held_or_skip(svc.db, "beat:republish_inbox", ttl=300) as mine:
        if not mine:  # another beat is doing it (only one should run, but two must be harmless)
            return 0
        for inbox_id, record_id in inbox.unpublished(svc.db):
            start_chain(record_id)
            inbox.mark_enqueued(svc.db, inbox_id)
            published += 1
    return published


@app.task(name="connector.resume_stalled_records")
def resume_stalled_records() -> int:
    """Put records whose chain was lost back on the broker."""
    svc = services()
    with held_or_skip(svc.db, "beat:resume_stalled_records", ttl=600) as mine:
        return len(stalled.resume_stalled(svc, start_chain)) if mine else 0
