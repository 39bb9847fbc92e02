"""POST /webhooks/exact/<tenant>: Exact Online's own webhooks. Checked, recorded, answered; a worker acts on them.

Exact validates a new subscription with an empty POST, answered 200 before any check. Any other event must carry a
`HashCode` made with the tenant's Exact webhook secret and name one of the tenant's divisions; otherwise it is
refused with the reason and stored nowhere. A delivery Exact repeats is recorded once (`store.exact_events`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, jsonify

from connector.errors import ConfigurationError, SignatureError, StorageUnavailable
from connector.exact.webhooks import ExactEvent, verify
from connector.store import exact_events
from connector.store.tenants import Tenant, find_tenant
from connector.sync import divisions
from connector.sync.services import Services
from webhook_receiver.context import connector_services
from webhook_receiver.webhooks import read_body

bp = Blueprint("exact_webhooks", __name__)
log = logging.getLogger(__name__)
UNVERIFIED = "HashCode missing or not valid for this tenant"
RETRY_LATER = "temporarily unable to record events; retry later"


def _answer(code: int, **body: Any) -> Any:
    return jsonify(body), code


@bp.post("/webhooks/exact/<tenant_name>")
def receive(tenant_name: str) -> Any:
    """Accept one Exact event (200), a repeated delivery (200) or refuse it with a reason."""
    svc = connector_services()
    body = read_body(svc.settings.max_body_bytes)
    if body is None:
        return _answer(413, error=f"request body larger than {svc.settings.max_body_bytes} bytes")
    if not body.strip():
        return _answer(200, status="ok")  # Exact's check of a new subscription's callback
    try:
        tenant, event = _verified(svc, tenant_name, body)
    except SignatureError:
        return _answer(401, error=UNVERIFIED)
    except (StorageUnavailable, ConfigurationError):
        return _answer(503, error=RETRY_LATER)
    try:
        ours = divisions.all_of(svc.db, tenant)
        if event.division not in ours:
            log.warning("tenant=%s step=exact_webhook refused: division %s is not ours", tenant.name, event.division)
            return _answer(403, error=f"division {event.division} is not one of this tenant's Exact divisions")
        event_id, new = exact_events.record(svc.db, tenant.id, event, body.decode("utf-8"))
    except StorageUnavailable:
        return _answer(503, error=RETRY_LATER)
    if new:
        _publish(event_id)
    return _answer(200, status="accepted" if new else "duplicate", event_id=event_id)


def _verified(svc: Services, tenant_name: str, body: bytes) -> tuple[Tenant, ExactEvent]:
    """The tenant and its event; SignatureError for an unknown tenant, a missing secret or a bad HashCode."""
    tenant = find_tenant(svc.db, tenant_name)
    if tenant is None:
        # Refused like a bad HashCode, so the URL space tells an outsider nothing about who is a customer.
        log.warning("step=exact_webhook rejected: no tenant by the name in the URL")
        raise SignatureError("unknown tenant")
    secret = tenant.exact_webhook_secret(svc.box)
    if not secret:
        log.warning("tenant=%s step=exact_webhook rejected: no Exact webhook secret set", tenant_name)
        raise SignatureError("no secret")
    try:
        return tenant, verify(secret, body)
    except SignatureError as exc:
        log.warning("tenant=%s step=exact_webhook rejected: %s", tenant_name, exc)
        raise


def _publish(event_id: int) -> None:
    # The event is committed already: if the broker is down, the sweeper publishes it later.
    publish: Callable[[int], None] = current_app.extensions["connector.enqueue_exact_event"]
    try:
        publish(event_id)
    except Exception as exc:  # noqa: BLE001 - any broker failure leaves the event for the sweeper
        log.error(
            "exact_event=%s step=enqueue broker unavailable, left for the sweeper: %s", event_id, type(exc).__name__
        )
