"""Helpers for tests: a tenant wired to running sandboxes, authorized; signed notifications."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests

from connector import jsonutil
from connector.basware.signature import sign
from connector.exact.tokens import ExactTokens
from connector.sandbox.basware import BaswareSandbox
from connector.sandbox.exact import ExactSandbox
from connector.store import mappings, tenants
from connector.store.tenants import Tenant
from connector.sync import grants
from connector.sync.services import Services

WEBHOOK_SECRET = "test-webhook-secret-6c1f-0123456789abcdef"  # 32+ bytes, as the connector requires
EXACT_SECRET = "test-exact-client-secret-93ab"
BASWARE_SECRET = "test-basware-client-secret-51de"
VAT_MAPPINGS = [("vat_code", "VAT21", "1"), ("vat_code", "VAT9", "2"), ("vat_code", "VAT0", "0")]


class FakeClock:
    """A clock the test moves by hand, shared by the sandbox and the client so expiry needs no sleeping."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def tokens(n: int, issued_at: float = 1000.0, lifetime: float = 600) -> ExactTokens:
    return ExactTokens(f"access-{n}", f"refresh-{n}", issued_at, issued_at + lifetime)


class ScriptedOAuth:
    """Stands in for ExactOAuth: answers refreshes from a script and records what it was sent."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.sent: list[str] = []

    def refresh(self, refresh_token: str) -> ExactTokens:
        self.sent.append(refresh_token)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class Sandboxes:
    exact: ExactSandbox
    basware: BaswareSandbox
    exact_url: str
    basware_url: str


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


def early_in_a_minute(margin: float = 15.0) -> None:
    """Wait for the next minute if this one ends within `margin` seconds, so a few calls share one fixed window."""
    if time.time() % 60 > 60 - margin:
        time.sleep(60.5 - time.time() % 60)


def consent(svc: Services, tenant: Tenant) -> int:
    """Run the consent flow against the Exact sandbox (which consents at once)."""
    url, state = grants.consent_url(svc, tenant)
    with requests.get(url, allow_redirects=False, timeout=10) as response:
        callback = response.headers["Location"]
    return grants.complete_consent(svc, tenant, grants.code_from_callback(callback, state))


def notification(document_id: str, task_id: str | None = None, task_type: str = "AccountingDocuments") -> bytes:
    """The bytes of a Basware push notification."""
    payload: dict[str, Any] = {
        "taskId": task_id or str(uuid.uuid4()),
        "taskStatus": "New",
        "taskType": task_type,
        "taskSubType": "WaitingForTransfer",
        "documentId": document_id,
    }
    return jsonutil.dumps(payload).encode()


def signed_headers(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-BW-Signature": sign(secret, body)}
