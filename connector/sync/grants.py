"""The Exact grant of a tenant: consent, the division, resuming paused records, keep-alive refreshes."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

from connector.errors import ConnectorError, FatalAPIError, ReauthRequired
from connector.exact.client import ExactClient
from connector.exact.regions import exact_base_url
from connector.store import audit, records, state, tenants, tokens
from connector.store.records import Status
from connector.store.tenants import Tenant
from connector.sync import exact_webhooks, outcomes
from connector.sync.services import Services

KEEP_ALIVE_AGE = 24 * 3600.0  # refresh an idle grant daily: far inside Exact's 30-day window
# Exact allows 200 token calls a day per app and user; keep-alive is optional work and stops well before.
KEEP_ALIVE_CALL_BUDGET = 150
DIVISION_SOURCE = "exact:division_source"  # "pinned" or "current/Me", for `tenant show`

Enqueue = Callable[[int], None]


def consent_url(svc: Services, tenant: Tenant) -> tuple[str, str]:
    """(the URL a person opens to consent, the state value the callback must carry)."""
    state_value = secrets.token_urlsafe(24)
    return svc.exact_oauth(tenant).authorization_url(state_value), state_value


def code_from_callback(callback_url: str, expected_state: str) -> str:
    """The authorization code from the redirect URL; a wrong state is refused."""
    query = parse_qs(urlparse(callback_url).query)
    received = query.get("state", [""])[0]
    if not secrets.compare_digest(received.encode(), expected_state.encode()):
        raise FatalAPIError("the consent callback carries the wrong state; start again", system="exact")
    if "error" in query:
        raise FatalAPIError(f"consent refused: {query['error'][0]}", system="exact")
    code = query.get("code", [None])[0]
    if not code:
        raise FatalAPIError("the consent callback carries no code", system="exact")
    return code


def complete_consent(
    svc: Services,
    tenant: Tenant,
    code: str,
    division: int | None = None,
    *,
    enqueue: Enqueue | None = None,
) -> int:
    """Exchange the code once, store tokens and division (current/Me unless pinned), resume waiting records.

    `enqueue` starts a record's chain again (the workers' `start_chain`); without it the resumed records are
    pending and the next poll or replay picks them up.
    """
    store = svc.token_store(tenant)
    store.count_token_call()  # a re-consent spends from the same daily budget as refreshes
    store.save(svc.exact_oauth(tenant).exchange_code(code))
    tenant = svc.tenant(tenant.id)
    base = exact_base_url(tenant.exact_region, tenant.exact_base_url)
    with ExactClient(base, svc.token_manager(tenant)) as client:
        chosen = division if division is not None else client.current_division()
    source = "pinned" if division is not None else "current/Me"
    tenants.update_tenant(svc.db, tenant.id, exact_division=chosen)
    state.put(svc.db, tenant.id, DIVISION_SOURCE, source)
    audit.record(
        svc.db,
        tenant_id=tenant.id,
        step="exact_auth",
        event="consented",
        message=f"Exact Online consent stored; division {chosen} ({source})",
    )
    resume_waiting(svc, tenant.id, enqueue)
    _subscribe_webhooks(svc, svc.tenant(tenant.id))
    return chosen


def _subscribe_webhooks(svc: Services, tenant: Tenant) -> None:
    """Subscribe to Exact's webhooks when the tenant has a public URL for them; a failure must not undo consent."""
    if not tenant.exact_webhook_url:
        return
    try:
        exact_webhooks.subscribe(svc, tenant)
    except ConnectorError as exc:
        text = f"Exact webhooks not subscribed: {exc}; run `ml-connector exact webhooks subscribe {tenant.name}`"
        audit.record(svc.db, tenant_id=tenant.id, step="exact_webhooks", event="subscribe_failed", message=text)


def resume_waiting(svc: Services, tenant_id: int, enqueue: Enqueue | None) -> int:
    """Put every record that waited for consent back on its way; returns how many."""
    resumed = 0
    for record, _name in records.list_records(svc.db, tenant_id=tenant_id, status=Status.WAITING_FOR_REAUTH):
        if outcomes.resume(svc, record.id):
            resumed += 1
            if enqueue is not None:
                enqueue(record.id)
    return resumed


def keep_alive(svc: Services, now: float | None = None) -> int:
    """Refresh every live grant not renewed for a day; returns how many were refreshed."""
    now = time.time() if now is None else now
    refreshed = 0
    for tenant in tenants.list_tenants(svc.db):
        if tenant.grant_status == "active" and _is_idle(svc, tenant, now) and _within_budget(svc, tenant):
            refreshed += _refresh(svc, tenant)
    return refreshed


def _is_idle(svc: Services, tenant: Tenant, now: float) -> bool:
    last = tokens.token_health(svc.db, tenant.id)["refreshed_at"]
    return not isinstance(last, float | int) or now - last >= KEEP_ALIVE_AGE


def _within_budget(svc: Services, tenant: Tenant) -> bool:
    calls = tokens.token_health(svc.db, tenant.id)["token_calls"]
    if isinstance(calls, int) and calls >= KEEP_ALIVE_CALL_BUDGET:
        audit.record(
            svc.db,
            tenant_id=tenant.id,
            step="exact_auth",
            event="keep_alive_skipped",
            message=f"{calls} Exact token calls today (Exact allows 200): keep-alive waits until tomorrow",
        )
        return False
    return True


def _refresh(svc: Services, tenant: Tenant) -> int:
    store = svc.token_store(tenant)
    current = store.load()
    if current is None:
        return 0
    try:
        svc.token_manager(tenant).force_refresh(current.access_token)
    except ReauthRequired:
        return 0  # the store marked the grant dead, audited it and told the operator
    except ConnectorError as exc:
        audit.record(svc.db, tenant_id=tenant.id, step="exact_auth", event="keep_alive_failed", message=str(exc))
        return 0
    return 1
