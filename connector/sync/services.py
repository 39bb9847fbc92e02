"""Per-process access to settings, the database, the secret box and per-tenant API clients."""

from __future__ import annotations

import os
import threading

from connector.basware.client import BaswareClient
from connector.basware.regions import basware_base_url
from connector.config import Settings, ensure_data_dir, load_settings
from connector.crypto import SecretBox, load_secret_box
from connector.errors import ReauthRequired
from connector.exact.auth import ExactOAuth, TokenManager
from connector.exact.client import ExactClient
from connector.exact.regions import exact_base_url
from connector.store.db import Database
from connector.store.tenants import Tenant, get_tenant
from connector.store.tokens import DbTokenStore


class Services:
    """What a step needs to reach the outside world; clients are built once per tenant and process."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        ensure_data_dir(self.settings)
        self.db = Database(self.settings.database_url)
        self.box: SecretBox = load_secret_box(self.settings)
        self._exact: dict[tuple[int, int | None, str], ExactClient] = {}
        self._basware: dict[tuple[int, str], BaswareClient] = {}
        self._lock = threading.Lock()

    def tenant(self, tenant_id: int | str) -> Tenant:
        """A tenant, re-read from the database."""
        return get_tenant(self.db, tenant_id)

    def exact_oauth(self, tenant: Tenant) -> ExactOAuth:
        """The tenant's OAuth endpoints and app credentials."""
        base = exact_base_url(tenant.exact_region, tenant.exact_base_url)
        secret = tenant.secret("exact_client_secret", self.box)
        return ExactOAuth(base, tenant.exact_client_id, secret, tenant.exact_redirect_uri)

    def token_store(self, tenant: Tenant) -> DbTokenStore:
        return DbTokenStore(self.db, self.box, tenant.id)

    def exact(self, tenant: Tenant) -> ExactClient:
        """The tenant's Exact client; a tenant without a live grant waits for a person to consent."""
        if tenant.grant_status != "active":
            why = tenant.grant_reason or "no Exact Online consent yet"
            raise ReauthRequired(
                f"tenant {tenant.name} needs a new Exact consent ({why}); run `ml-connector exact authorize "
                f"{tenant.name}`",
                system="exact",
            )
        base = exact_base_url(tenant.exact_region, tenant.exact_base_url)
        key = (tenant.id, tenant.exact_division, base)
        with self._lock:
            if key not in self._exact:
                manager = TokenManager(self.exact_oauth(tenant), self.token_store(tenant))
                self._exact[key] = ExactClient(base, manager, division=tenant.exact_division)
            return self._exact[key]

    def basware(self, tenant: Tenant) -> BaswareClient:
        """The tenant's Basware client (its client-credentials token is cached inside)."""
        base = basware_base_url(tenant.basware_region, tenant.basware_base_url)
        key = (tenant.id, base)
        with self._lock:
            if key not in self._basware:
                secret = tenant.secret("basware_client_secret", self.box)
                self._basware[key] = BaswareClient(base, tenant.basware_client_id, secret)
            return self._basware[key]

    def close(self) -> None:
        self.db.dispose()


_services: Services | None = None
_services_lock = threading.Lock()


def services() -> Services:
    """The process's Services, made on first use (after any fork, so no pool is shared across processes)."""
    global _services
    with _services_lock:
        if _services is None:
            _services = Services()
        return _services


def reset_services() -> None:
    """Forget the process's Services (after a fork, or in tests that change the environment)."""
    global _services
    _services = None


os.register_at_fork(after_in_child=reset_services)
