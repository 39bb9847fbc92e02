"""Beat's payment sync: tell Basware what Exact paid, per tenant at its own interval (connector.sync.payments).

Beat's task only claims the due tenants and hands each to its own task, so one tenant whose Exact is slow does
not hold up the others, and the beat lease is held for a moment only.
"""

from __future__ import annotations

from connector.store.locks import held_or_skip
from connector.sync import payments
from workers.app import app
from workers.context import services

PAYMENTS_LEASE = 300.0


@app.task(name="connector.sync_payments")
def sync_payments() -> int:
    """Start the payment sync of every tenant that is due; returns how many were started."""
    svc = services()
    with held_or_skip(svc.db, "beat:sync_payments", ttl=PAYMENTS_LEASE) as mine:
        due = payments.claim_due_tenants(svc) if mine else []
    for tenant in due:  # after the claims are committed
        sync_tenant_payments.delay(tenant.id)
    return len(due)


@app.task(name="connector.sync_tenant_payments")
def sync_tenant_payments(tenant_id: int) -> int:
    """Sync one tenant's payment status now; returns how many paymentResponses were sent."""
    svc = services()
    return payments.sync_logged(svc, svc.tenant(tenant_id))
