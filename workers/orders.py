"""Celery tasks for purchase orders, polling and vendor sync: thin wrappers over connector.sync."""

from __future__ import annotations

from celery import Task, chain
from celery.exceptions import Ignore

from connector.errors import FatalAPIError, ReauthRequired, RecordBlocked
from connector.store import records
from connector.store.locks import held_or_skip
from connector.sync import orders, outcomes, polling, vendor_sync
from connector.sync.services import Services, services
from workers.app import app
from workers.tasks import Step, run_step, start_chain

POLL_LEASE = 300.0
VENDOR_SYNC_LEASE = 900.0


def _blocks_here(step: str, func: Step) -> Step:
    """The step with blocking handled here: `run_step` would post an invoice transfer response, and an
    order has none (a blocked order simply stays WaitingForExport in Basware)."""

    def run(svc: Services, record_id: int) -> None:
        try:
            func(svc, record_id)
        except ReauthRequired:
            raise  # run_step pauses the record until a new consent
        except (RecordBlocked, FatalAPIError) as exc:
            outcomes.block(svc, record_id, step, exc)
            raise Ignore() from exc

    return run


@app.task(bind=True, name="connector.fetch_purchase_order")
def fetch_purchase_order(self: Task, record_id: int) -> int:
    """Fetch the exported purchase order from Basware."""
    return run_step(self, record_id, "fetch", _blocks_here("fetch", orders.fetch))


@app.task(bind=True, name="connector.map_order_supplier")
def map_order_supplier(self: Task, record_id: int) -> int:
    """Resolve the order's Exact supplier."""
    return run_step(self, record_id, "map_vendor", _blocks_here("map_vendor", orders.map_vendor))


@app.task(bind=True, name="connector.map_order_lines")
def map_order_lines(self: Task, record_id: int) -> int:
    """Map every line to an Exact item, cost center and cost unit."""
    return run_step(self, record_id, "validate", _blocks_here("validate", orders.validate))


@app.task(bind=True, name="connector.write_purchase_order")
def write_purchase_order(self: Task, record_id: int) -> int:
    """Write the Exact purchase order exactly once."""
    return run_step(self, record_id, "write", _blocks_here("write", orders.write))


@app.task(bind=True, name="connector.acknowledge_purchase_order")
def acknowledge_purchase_order(self: Task, record_id: int) -> int:
    """Mark the order exported in Basware."""
    return run_step(self, record_id, "acknowledge", _blocks_here("acknowledge", orders.acknowledge))


def start_order_chain(record_id: int) -> None:
    """Put a purchase order record's chain on the broker; steps already done are skipped by the steps."""
    chain(
        fetch_purchase_order.si(record_id),
        map_order_supplier.s(),
        map_order_lines.s(),
        write_purchase_order.s(),
        acknowledge_purchase_order.s(),
    ).apply_async()


@app.task(name="connector.start_record_chain")
def start_record_chain(record_id: int) -> int:
    """In a worker: start the chain for the record's kind, so whoever publishes needs no database read."""
    if records.get(services().db, record_id).kind == "purchase_order":
        start_order_chain(record_id)
    else:
        start_chain(record_id)
    return record_id


@app.task(name="connector.poll_basware")
def poll_basware() -> int:
    """Pick up Basware documents whose notification never arrived; returns how many records were new."""
    svc = services()
    with held_or_skip(svc.db, "beat:poll_basware", ttl=POLL_LEASE) as mine:
        return polling.poll_due_tenants(svc, start_record_chain.delay) if mine else 0


@app.task(name="connector.sync_vendors")
def sync_vendors() -> int:
    """Bring Exact suppliers in line with Basware vendors for every tenant that is due."""
    svc = services()
    with held_or_skip(svc.db, "beat:sync_vendors", ttl=VENDOR_SYNC_LEASE) as mine:
        return vendor_sync.sync_due_tenants(svc) if mine else 0
