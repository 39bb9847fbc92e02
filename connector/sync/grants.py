"""The Exact grant of a tenant: consent, the division, keep-alive refreshes."""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs, urlparse

from connector.errors import ConnectorError, FatalAPIError, ReauthRequired
from connector.exact.auth import TokenManager
from connector.exact.client import ExactClient
from connector.exact.regions import exact_base_url
from connector.store import audit, tenants, tokens
from connector.store.tenants import Tenant
from connector.sync.services import Services

KEEP_ALIVE_AGE = 24 * 3600.0  # refresh an idle grant daily: far inside Exact's 30-day window


def consent_url(svc: Services, tenant: Tenant) -> tuple[str, str]:
    """(the URL a person opens to consent, the state value the callback must carry)."""
    state = secrets.token_urlsafe(24)
    return svc.exact_oauth(tenant).authorization_url(state), state


def code_from_callback(callback_url: str, state: str) -> str:
    """The authorization code from the redirect URL; a wrong state is refused."""
    query = parse_qs(urlparse(callback_url).query)
    if query.get("state", [None])[0] != state:
        raise FatalAPIError("the consent callback carries the wrong state; start again", system="exact")
    if "error" in query:
        raise FatalAPIError(f"consent refused: {query['error'][0]}", system="exact")
    code = query.get("code", [None])[0]
    if not code:
        raise FatalAPIError("the consent callback carries no code", system="exact")
    return code


def complete_consent(svc: Services, tenant: Tenant, code: str, division: int | None = None) -> int:
    """Exchange the code once, store the tokens, store the division (from current/Me unless pinned)."""
    store = svc.token_store(tenant)
    store.save(svc.exact_oauth(tenant).exchange_code(code))
    tenant = svc.tenant(tenant.id)
    base = exact_base_url(tenant.exact_region, tenant.exact_base_url)
    client = ExactClient(base, TokenManager(svc.exact_oauth(tenant), store))
    chosen = division if division is not None else client.current_division()
    tenants.update_tenant(svc.db, tenant.id, exact_division=chosen)
    audit.record(
        svc.db,
        tenant_id=tenant.id,
        step="exact_auth",
        event="consented",
        message=f"Exact Online consent stored; division {chosen}",
    )
    return chosen


def keep_alive(svc: Services, now: float | None = None) -> int:
    """Refresh every live grant not renewed for a day; returns how many were refreshed."""
    now = time.time() if now is None else now
    refreshed = 0
    for tenant in tenants.list_tenants(svc.db):
        if tenant.grant_status != "active":
            continue
        health = tokens.token_health(svc.db, tenant.id)
        last = health["refreshed_at"]
        if isinstance(last, float | int) and now - last < KEEP_ALIVE_AGE:
            continue
        try:
            manager = TokenManager(svc.exact_oauth(tenant), svc.token_store(tenant))
            current = svc.token_store(tenant).load()
            if current is not None:
                manager.force_refresh(current.access_token)
                refreshed += 1
        except ReauthRequired:
            continue  # the store marked the grant dead and the audit says so
        except ConnectorError as exc:
            audit.record(svc.db, tenant_id=tenant.id, step="exact_auth", event="keep_alive_failed", message=str(exc))
    return refreshed
