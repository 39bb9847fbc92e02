"""Celery tasks for purchase orders, polling and vendor sync: thin wrappers over connector.sync."""

from __future__ import annotations

from celery import Task, chain

from connector.store import records
from connector.store.locks import held_or_skip
from connector.sync import orders, polling, vendor_sync
from workers.app import app
from workers.context import services
from workers.tasks import run_step, start_invoice_chain

POLL_LEASE = 300.0
VENDOR_SYNC_LEASE = 900.0


def _no_response(_record_id: int) -> None:
    """A blocked order has no transfer response: it stays WaitingForExport in Basware until replayed."""


@app.task(bind=True, name="connector.fetch_purchase_order")
def fetch_purchase_order(self: Task, record_id: int) -> int:
    """Fetch the exported purchase order from Basware."""
    return run_step(self, record_id, "fetch", orders.fetch, on_blocked=_no_response)


@app.task(bind=True, name="connector.map_order_supplier")
def map_order_supplier(self: Task, record_id: int) -> int:
    """Resolve the order's Exact supplier."""
    return run_step(self, record_id, "map_vendor", orders.map_vendor, on_blocked=_no_response)


@app.task(bind=True, name="connector.map_order_lines")
def map_order_lines(self: Task, record_id: int) -> int:
    """Map every line to an Exact item, cost center and cost unit."""
    return run_step(self, record_id, "validate", orders.validate, on_blocked=_no_response)


@app.task(bind=True, name="connector.write_purchase_order")
def write_purchase_order(self: Task, record_id: int) -> int:
    """Write the Exact purchase order exactly once."""
    return run_step(self, record_id, "write", orders.write, on_blocked=_no_response)


@app.task(bind=True, name="connector.acknowledge_purchase_order")
def acknowledge_purchase_order(self: Task, record_id: int) -> int:
    """Mark the order exported in Basware."""
    return run_step(self, record_id, "acknowledge", orders.acknowledge, on_blocked=_no_response)


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
        start_invoice_chain(record_id)
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
