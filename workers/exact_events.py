"""Exact webhook events: processed one by one after the receiver recorded them, and swept up if a task was lost."""

from __future__ import annotations

import logging

from celery import Task

from connector.errors import ConnectorError, RateLimited, RetriableAPIError, StorageUnavailable
from connector.store import exact_events as events_store
from connector.store.locks import held_or_skip
from connector.sync import exact_events
from workers.app import app
from workers.context import services
from workers.retry import backoff, rate_limit_delay

log = logging.getLogger(__name__)
MAX_RETRIES = 8
SWEEP_AFTER = 120.0  # seconds an event may wait for its task before the sweeper publishes it again


@app.task(bind=True, name="connector.process_exact_event")
def process_exact_event(self: Task, event_id: int) -> str:
    """Apply one Exact event (its effect is idempotent, so a redelivery does no harm)."""
    svc = services()
    try:
        return exact_events.process(svc, event_id)
    except RateLimited as exc:
        raise self.retry(exc=exc, countdown=rate_limit_delay(exc), max_retries=None) from exc
    except (RetriableAPIError, StorageUnavailable) as exc:
        raise self.retry(exc=exc, countdown=backoff(self.request.retries), max_retries=MAX_RETRIES) from exc
    except ConnectorError as exc:  # a dead grant, a division out of scope: the next refresh catches up
        log.warning("exact_event=%s not applied: %s", event_id, exc)
        events_store.mark_processed(svc.db, event_id, f"not applied: {exc}")
        return f"not applied: {exc}"


def enqueue_exact_event(event_id: int) -> None:
    """Put one recorded event on the broker (raises when the broker is unreachable)."""
    process_exact_event.delay(event_id)


@app.task(name="connector.sweep_exact_events")
def sweep_exact_events() -> int:
    """Publish events whose task never ran (the broker was down when they arrived)."""
    svc = services()
    with held_or_skip(svc.db, "beat:sweep_exact_events", ttl=300) as mine:
        if not mine:
            return 0
        found = events_store.unprocessed(svc.db, older_than=SWEEP_AFTER)
        for event_id in found:
            enqueue_exact_event(event_id)
        return len(found)
