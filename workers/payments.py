"""Beat's payment sync: tell Basware what Exact paid, per tenant at its own interval (connector.sync.payments)."""

from __future__ import annotations

from connector.store.locks import held_or_skip
from connector.sync import payments
from workers.app import app
from workers.context import services

PAYMENTS_LEASE = 900.0


@app.task(name="connector.sync_payments")
def sync_payments() -> int:
    """Sync the payment status of every tenant that is due; returns how many paymentResponses were sent."""
    svc = services()
    with held_or_skip(svc.db, "beat:sync_payments", ttl=PAYMENTS_LEASE) as mine:
        return payments.sync_due_tenants(svc) if mine else 0
