"""Settings, the database, the secret box and per-tenant API clients: what a step needs to reach the world.

There is no process-wide instance: each edge (the CLI, a worker process, the receiver's app, the demo) builds its
own with `connector.wiring.build_services`, after any fork, and closes it when it is done.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar

import sqlalchemy as sa

from connector.basware.auth import ClientCredentialsAuth
from connector.basware.client import BaswareClient
from connector.basware.regions import basware_base_url
from connector.config import Settings, ensure_data_dir, load_settings
from connector.crypto import SecretBox, load_secret_box
from connector.errors import ReauthRequired, StorageUnavailable
from connector.exact.auth import ExactOAuth, TokenManager
from connector.exact.client import ExactClient
from connector.exact.governor import BudgetStore, Governor, Limits, Priority
from connector.exact.regions import exact_base_url
from connector.notify import Notifier
from connector.store.basware_tokens import DbBaswareTokenStore
from connector.store.budget import DbBudgetStore, RedisBudgetStore
from connector.store.db import Database
from connector.store.db import tenants as tenants_table
from connector.store.tenants import Tenant, get_tenant
from connector.store.tokens import DbTokenStore

log = logging.getLogger(__name__)

# The division of the record a step works on, for code that asks for the tenant's client without naming one
# (a later version's update path): set by `steps` around it, so that code reaches the record's division.
record_division: ContextVar[int | None] = ContextVar("record_division", default=None)

# Called with the Services, the tenant id and the reason when this process finds a tenant's grant dead.
GrantDied = Callable[["Services", int, str], None]


class Services:
    """What a step needs to reach the outside world; clients are built once per tenant and process."""

    def __init__(self, settings: Settings | None = None, *, on_grant_dead: GrantDied | None = None) -> None:
        self.settings = settings or load_settings()
        self.on_grant_dead = on_grant_dead
        ensure_data_dir(self.settings)
        self.db = Database(self.settings.database_url)
        self.box: SecretBox = load_secret_box(self.settings)
        check_secret_key(self.db, self.box)
        self.notifier = Notifier(self.settings)
        self._exact: dict[tuple[int, int | None, str, bool], ExactClient] = {}
        self._budget_store: BudgetStore | None = None
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
        """The tenant's shared Exact token store; finding the grant dead calls `on_grant_dead` (tells the operator)."""
        tenant_id, on_grant_dead = tenant.id, self.on_grant_dead
        if on_grant_dead is None:
            return DbTokenStore(self.db, self.box, tenant_id)
        return DbTokenStore(self.db, self.box, tenant_id, on_dead=lambda reason: on_grant_dead(self, tenant_id, reason))

    def token_manager(self, tenant: Tenant) -> TokenManager:
        """Single-flight refreshes for the tenant, with the process's refresh timing."""
        return TokenManager(
            self.exact_oauth(tenant),
            self.token_store(tenant),
            margin=self.settings.exact_refresh_margin,
            min_age=self.settings.exact_min_refresh_age,
        )

    def exact(self, tenant: Tenant, division: int | None = None, *, background: bool = False) -> ExactClient:
        """The tenant's Exact client for a division (its own by default); without a live grant, wait for consent.

        `background=True` for work nobody waits for (master data refresh, vendor sync, reports): its calls only
        use what writes leave of Exact's rate limit.
        """
        if tenant.grant_status != "active":
            why = tenant.grant_reason or "no Exact Online consent yet"
            raise ReauthRequired(
                f"tenant {tenant.name} needs a new Exact consent ({why}); run `ml-connector exact authorize "
                f"{tenant.name}`",
                system="exact",
            )
        base = exact_base_url(tenant.exact_region, tenant.exact_base_url)
        division = division if division is not None else record_division.get() or tenant.exact_division
        key = (tenant.id, division, base, background)
        with self._lock:
            if key not in self._exact:
                priority = Priority.BACKGROUND if background else Priority.WRITE
                self._exact[key] = ExactClient(
                    base,
                    self.token_manager(tenant),
                    division=division,
                    budget=self.governor(tenant).budget(priority),
                )
            return self._exact[key]

    def governor(self, tenant: Tenant, clock: Callable[[], float] = time.time) -> Governor:
        """The rate-limit budget of the tenant's Exact app: one per app and division, whichever tenant asks."""
        base = exact_base_url(tenant.exact_region, tenant.exact_base_url)
        minute, day = self.settings.exact_limits(tenant.exact_client_id)
        return Governor(self.budget_store(), f"{base}|{tenant.exact_client_id}", Limits(minute, day), clock=clock)

    def budget_store(self) -> BudgetStore:
        """Redis when the broker is Redis (every worker reaches it anyway), else the database."""
        if self._budget_store is None:
            url = self.settings.broker_url
            redis_broker = url.startswith(("redis://", "rediss://"))
            self._budget_store = RedisBudgetStore.from_url(url) if redis_broker else DbBudgetStore(self.db)
        return self._budget_store

    def basware(self, tenant: Tenant) -> BaswareClient:
        """The tenant's Basware client (its client-credentials token is cached inside)."""
        base = basware_base_url(tenant.basware_region, tenant.basware_base_url)
        key = (tenant.id, base)
        with self._lock:
            if key not in self._basware:
                secret = tenant.secret("basware_client_secret", self.box)
                # One token per tenant for all processes, renewed under a lease (see store.basware_tokens).
                auth = ClientCredentialsAuth(
                    base,
                    tenant.basware_client_id,
                    secret,
                    store=DbBaswareTokenStore(self.db, self.box, tenant.id),
                    max_lifetime=self.settings.basware_token_lifetime,
                )
                self._basware[key] = BaswareClient(base, tenant.basware_client_id, secret, auth=auth)
            return self._basware[key]

    def close(self) -> None:
        """Release the database pool (and the budget's Redis connection)."""
        if isinstance(self._budget_store, RedisBudgetStore):
            self._budget_store.close()
        self.db.dispose()


def check_secret_key(db: Database, box: SecretBox) -> None:
    """Refuse to start when the key cannot open a stored secret: a clear error now, not a crash mid-task."""
    try:
        with db.begin() as conn:
            if not sa.inspect(conn).has_table("tenants"):
                return  # a new database: nothing is encrypted yet
            sample = conn.execute(sa.select(tenants_table.c.exact_client_secret).limit(1)).scalar()
    except StorageUnavailable:
        log.warning("database unavailable at start-up; the secret key is checked on first use")
        return
    if sample is not None:
        box.decrypt(sample)  # raises ConfigurationError naming CONNECTOR_SECRET_KEY
