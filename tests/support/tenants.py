"""Tenants for tests: one wired to running sandboxes and authorized, or one with made-up credentials."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from connector.store import mappings, tenants
from connector.store.tenants import Tenant
from connector.sync import grants
from connector.sync.services import Services
from tests.support.notifications import WEBHOOK_SECRET
from tests.support.sandboxes import Sandboxes

EXACT_SECRET = "test-exact-client-secret-93ab"
BASWARE_SECRET = "test-basware-client-secret-51de"
VAT_MAPPINGS = [("vat_code", "VAT21", "1"), ("vat_code", "VAT9", "2"), ("vat_code", "VAT0", "0")]


def add_tenant(
    svc: Services,
    sandboxes: Sandboxes,
    *,
    name: str | None = None,
    auto_create: bool = False,
    authorize: bool = True,
    webhook_secret: str = WEBHOOK_SECRET,
) -> Tenant:
    """A tenant whose apps are registered in the sandboxes, with the VAT mappings, consented when asked."""
    name = name or f"t{uuid.uuid4().hex[:8]}"
    exact_client, basware_client = f"exact-{name}", f"basware-{name}"
    redirect = f"http://127.0.0.1:9/{name}/callback"
    sandboxes.exact.register_client(exact_client, EXACT_SECRET, redirect)
    sandboxes.basware.register_client(basware_client, BASWARE_SECRET)
    tenant = tenants.add_tenant(
        svc.db,
        svc.box,
        name=name,
        exact_region="NL",
        exact_base_url=sandboxes.exact_url,
        exact_client_id=exact_client,
        exact_client_secret=EXACT_SECRET,
        exact_redirect_uri=redirect,
        basware_region="EU",
        basware_base_url=sandboxes.basware_url,
        basware_client_id=basware_client,
        basware_client_secret=BASWARE_SECRET,
        webhook_secret=webhook_secret,
        purchase_journal="60",
        auto_create_vendors=auto_create,
    )
    mappings.put_many(svc.db, tenant.id, VAT_MAPPINGS)
    if authorize:
        consent(svc, tenant)
    return svc.tenant(tenant.id)


def add_sharing_tenant(svc: Services, first: Tenant) -> Tenant:
    """A second tenant on `first`'s Exact app and division, holding a copy of its Exact tokens if it has any.

    The Exact sandbox keeps one grant per app, so the two share it, as two Basware companies booking into one
    Exact company through one consent would.
    """
    second = tenants.add_tenant(
        svc.db,
        svc.box,
        name=f"t{uuid.uuid4().hex[:8]}",
        exact_region=first.exact_region,
        exact_base_url=first.exact_base_url,
        exact_client_id=first.exact_client_id,
        exact_client_secret=EXACT_SECRET,
        exact_redirect_uri=first.exact_redirect_uri,
        basware_region="EU",
        basware_base_url=first.basware_base_url,
        basware_client_id=first.basware_client_id,
        basware_client_secret=BASWARE_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        purchase_journal="60",
    )
    stored = svc.token_store(first).load()
    if stored is not None:
        svc.token_store(second).save(stored)
    tenants.update_tenant(svc.db, second.id, exact_division=first.exact_division)
    return svc.tenant(second.id)


def consent(svc: Services, tenant: Tenant) -> int:
    """Run the consent flow against the Exact sandbox (which consents at once)."""
    url, state = grants.consent_url(svc, tenant)
    with requests.get(url, allow_redirects=False, timeout=10) as response:
        callback = response.headers["Location"]
    return grants.complete_consent(svc, tenant, grants.code_from_callback(callback, state))


def plain_tenant(svc: Services, name: str = "acme", **fields: Any) -> Tenant:
    """A tenant with made-up credentials (nothing is called here)."""
    values: dict[str, Any] = dict(
        exact_region="NL",
        exact_client_id="exact-app",
        exact_client_secret="exact-secret-unit",
        exact_redirect_uri="http://127.0.0.1:9/cb",
        basware_region="EU",
        basware_client_id="bw-app",
        basware_client_secret="bw-secret-unit",
        webhook_secret="hook-secret-unit-0123456789abcdef",
        purchase_journal="60",
    )
    values.update(fields)
    return tenants.add_tenant(svc.db, svc.box, name=name, **values)
