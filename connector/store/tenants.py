"""Tenants: one customer each, with its regions, credentials (encrypted) and posting settings."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from connector.basware.regions import BASWARE_BASE_URLS
from connector.crypto import SecretBox
from connector.errors import ConfigurationError
from connector.exact.regions import EXACT_BASE_URLS
from connector.store.db import Database, row_dict, tenants

TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SECRET_FIELDS = ("exact_client_secret", "basware_client_secret", "webhook_secret")
OPTIONAL_SECRETS = ("webhook_secret_previous", "notify_webhook_url", "exact_webhook_secret")
# HMAC-SHA256 keys shorter than its 32-byte output are guessable or, empty, no key at all: a notification
# signed with "" would be acted on. Shorter secrets are refused when set and never used to verify.
MIN_WEBHOOK_SECRET_BYTES = 32
WEBHOOK_SECRET_OVERLAP = 7 * 86400.0  # the old secret stays valid this long after a rotation
WEBHOOK_KEY_CACHE_SECONDS = 5.0  # how long a receiver process reuses a tenant's row and current webhook secret


@dataclass(frozen=True)
class Tenant:
    """A tenant as the code uses it; secrets are decrypted on demand and never printed."""

    id: int
    name: str
    exact_region: str
    exact_base_url: str | None
    exact_client_id: str
    exact_redirect_uri: str
    exact_division: int | None
    basware_region: str
    basware_base_url: str | None
    basware_client_id: str
    purchase_journal: str
    auto_create_vendors: bool
    grant_status: str
    grant_reason: str | None
    cost_unit_field: str
    default_item: str | None
    poll_interval: int
    vendor_sync_interval: int
    notify_email: str | None
    notify_webhook_host: str | None  # the chat webhook's host: its URL is a secret (tokens in the path)
    exact_webhook_url: str | None
    webhook_secret_previous_until: float | None
    created_at: float
    payment_sync_interval: int | None
    _secrets: dict[str, str] = field(repr=False, compare=False)

    def secret(self, name: str, box: SecretBox) -> str:
        """Decrypt one of the tenant's secrets (SECRET_FIELDS)."""
        return box.decrypt(self._secrets[name])

    def exact_webhook_secret(self, box: SecretBox) -> str | None:
        """The Exact app's webhook secret (what `HashCode` is keyed with), or None when not set."""
        stored = self._secrets.get("exact_webhook_secret")
        return box.decrypt(stored) if stored else None

    def webhook_secrets(self, box: SecretBox, now: float | None = None) -> list[str]:
        """The secrets a notification may be signed with now: the current one, and the previous during a rotation."""
        now = time.time() if now is None else now
        found = [self.secret("webhook_secret", box)]
        previous = self._secrets.get("webhook_secret_previous")
        if previous and (self.webhook_secret_previous_until or 0) > now:
            found.append(box.decrypt(previous))
        return [secret for secret in found if is_strong_webhook_secret(secret)]

    def notify_webhook_url(self, box: SecretBox) -> str | None:
        """The chat webhook URL, decrypted (a value stored in clear before encryption is read as it is)."""
        stored = self._secrets.get("notify_webhook_url")
        if not stored:
            return None
        return box.decrypt(stored) if box.is_token(stored) else stored

    def public(self) -> dict[str, Any]:
        """What may be shown to an operator: everything but the secrets."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def _tenant(row: Any) -> Tenant:
    data = row_dict(row)
    secrets = {name: data.pop(name) for name in (*SECRET_FIELDS, *OPTIONAL_SECRETS)}
    return Tenant(**data, _secrets=secrets)


def validate_regions(exact_region: str, basware_region: str) -> None:
    """Refuse a region the connector does not know, naming the ones it does."""
    if exact_region not in EXACT_BASE_URLS:
        raise ConfigurationError(f"unknown Exact region {exact_region!r}; use one of {', '.join(EXACT_BASE_URLS)}")
    if basware_region not in BASWARE_BASE_URLS:
        raise ConfigurationError(
            f"unknown Basware region {basware_region!r}; use one of {', '.join(BASWARE_BASE_URLS)}"
        )


def is_tenant_name(name: str) -> bool:
    """True for a name that can be a tenant's: a letter or digit, then letters, digits, '.', '_' or '-' (64 max)."""
    return TENANT_NAME.fullmatch(name) is not None


def add_tenant(db: Database, box: SecretBox, *, name: str, **fields: Any) -> Tenant:
    """Register a tenant; secrets are encrypted before they reach the database."""
    if not is_tenant_name(name):
        raise ConfigurationError(
            f"tenant names are 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit: {name!r}"
        )
    fields["exact_region"] = fields["exact_region"].upper()
    fields["basware_region"] = fields["basware_region"].upper()
    validate_regions(fields["exact_region"], fields["basware_region"])
    check_webhook_secret(fields["webhook_secret"])
    for secret in SECRET_FIELDS:
        fields[secret] = box.encrypt(fields[secret])
    if fields.get("notify_webhook_url"):
        url = fields["notify_webhook_url"]
        fields.update(notify_webhook_url=box.encrypt(url), notify_webhook_host=host_of(url))
    with db.begin() as conn:
        if conn.execute(sa.select(tenants.c.id).where(tenants.c.name == name)).first():
            raise ConfigurationError(f"tenant {name!r} exists already")
        conn.execute(tenants.insert().values(name=name, grant_status="none", created_at=time.time(), **fields))
    return get_tenant(db, name)


def get_tenant(db: Database, name_or_id: str | int) -> Tenant:
    """One tenant by name or id; an unknown one is a configuration error."""
    column = tenants.c.id if isinstance(name_or_id, int) else tenants.c.name
    with db.begin() as conn:
        row = conn.execute(sa.select(tenants).where(column == name_or_id)).first()
    if row is None:
        raise ConfigurationError(f"no tenant {name_or_id!r}")
    return _tenant(row)


def find_tenant(db: Database, name: str) -> Tenant | None:
    """One tenant by name, or None (also for a string that could never be a tenant's name)."""
    if not is_tenant_name(name):
        return None
    try:
        return get_tenant(db, name)
    except ConfigurationError:
        return None


class WebhookKeys:
    """Per process: each tenant's row and decrypted current webhook secret, reused for `ttl` seconds.

    Looking a tenant up and decrypting its secret (Fernet) cost a database round trip and more per notification.
    A signature the cached secret does not verify is checked again against the database (`fresh`), so a new
    secret works at once and every refusal is decided on what is stored; only a secret replaced without overlap
    may still verify for up to `ttl` seconds. Secrets stay in this process's memory and are never logged.
    """

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        ttl: float = WEBHOOK_KEY_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db, self._box, self._ttl, self._clock = db, box, ttl, clock
        self._entries: dict[str, tuple[float, Tenant, str]] = {}
        self._lock = threading.Lock()

    def cached(self, name: str) -> tuple[Tenant, list[str]] | None:
        """The tenant and its current secret (if strong enough), from memory when read within `ttl` seconds."""
        with self._lock:
            entry = self._entries.get(name)
        if entry is None or entry[0] <= self._clock():
            tenant = find_tenant(self._db, name)
            if tenant is None:  # unknown names are not kept: the cache holds real tenants only
                return None
            entry = (self._clock() + self._ttl, tenant, tenant.secret("webhook_secret", self._box))
            with self._lock:
                self._entries[name] = entry
        _, tenant, current = entry
        return tenant, [current] if is_strong_webhook_secret(current) else []

    def fresh(self, name: str) -> tuple[Tenant, list[str]] | None:
        """The tenant re-read from the database with every secret valid now (two during a rotation)."""
        with self._lock:
            self._entries.pop(name, None)
        tenant = find_tenant(self._db, name)
        return None if tenant is None else (tenant, tenant.webhook_secrets(self._box))


def list_tenants(db: Database) -> list[Tenant]:
    """Every tenant, by name."""
    with db.begin() as conn:
        return [_tenant(row) for row in conn.execute(sa.select(tenants).order_by(tenants.c.name))]


def is_strong_webhook_secret(secret: str) -> bool:
    """True when the secret is long enough to key HMAC-SHA256 (MIN_WEBHOOK_SECRET_BYTES in UTF-8)."""
    return len(secret.encode("utf-8")) >= MIN_WEBHOOK_SECRET_BYTES


def check_webhook_secret(secret: str) -> None:
    """Refuse a webhook secret too short to be safe, saying how to get a good one."""
    if not is_strong_webhook_secret(secret):
        raise ConfigurationError(
            f"the webhook secret must be at least {MIN_WEBHOOK_SECRET_BYTES} bytes; let the connector generate "
            "one (--generate-webhook-secret) and give it to Basware for the subscription"
        )


def rotate_webhook_secret(
    db: Database, box: SecretBox, tenant_id: int, new: str, *, overlap: float = WEBHOOK_SECRET_OVERLAP
) -> float:
    """Make `new` the webhook secret; the current one stays valid for `overlap` seconds. Returns until when."""
    check_webhook_secret(new)
    until = time.time() + overlap
    with db.begin() as conn:
        current = conn.execute(sa.select(tenants.c.webhook_secret).where(tenants.c.id == tenant_id)).scalar_one()
        conn.execute(
            tenants.update()
            .where(tenants.c.id == tenant_id)
            .values(
                webhook_secret=box.encrypt(new),
                webhook_secret_previous=current,
                webhook_secret_previous_until=until,
            )
        )
    return until


def set_client_secret(db: Database, box: SecretBox, tenant_id: int, name: str, value: str) -> None:
    """Replace the Exact or Basware client secret (encrypted), e.g. after rotating it at the provider."""
    if name not in ("exact_client_secret", "basware_client_secret") or not value:
        raise ConfigurationError(f"cannot set {name!r} to an empty value")
    with db.begin() as conn:
        conn.execute(tenants.update().where(tenants.c.id == tenant_id).values({name: box.encrypt(value)}))


def set_notify_webhook_url(db: Database, box: SecretBox, tenant_id: int, url: str | None) -> None:
    """Set (or, with None or "", remove) the chat webhook URL: stored encrypted, its host kept for display."""
    values = {"notify_webhook_url": box.encrypt(url) if url else None, "notify_webhook_host": host_of(url)}
    with db.begin() as conn:
        conn.execute(tenants.update().where(tenants.c.id == tenant_id).values(**values))


def host_of(url: str | None) -> str | None:
    """The host of a URL, or None."""
    return urlsplit(url).hostname if url else None


def set_exact_webhook_secret(db: Database, box: SecretBox, tenant_id: int, value: str) -> None:
    """Store the Exact app's webhook secret, encrypted."""
    if not value:
        raise ConfigurationError("the Exact webhook secret cannot be empty")
    with db.begin() as conn:
        conn.execute(tenants.update().where(tenants.c.id == tenant_id).values(exact_webhook_secret=box.encrypt(value)))


def update_tenant(db: Database, tenant_id: int, **values: Any) -> None:
    """Change non-secret fields (division, grant status, settings); the chat webhook URL goes through
    `set_notify_webhook_url`, which encrypts it."""
    if "notify_webhook_url" in values:
        raise ConfigurationError("the chat webhook URL is a secret: set it with set_notify_webhook_url")
    with db.begin() as conn:
        conn.execute(tenants.update().where(tenants.c.id == tenant_id).values(**values))


def reencrypt_secrets(db: Database, box: SecretBox) -> int:
    """Re-encrypt every tenant secret with the first key; returns how many values were rewritten."""
    count = 0
    with db.begin() as conn:
        for row in conn.execute(sa.select(tenants)).all():
            values = {name: box.rotate(getattr(row, name)) for name in SECRET_FIELDS}
            for name in OPTIONAL_SECRETS:
                stored = getattr(row, name)
                if stored:  # a chat webhook URL stored in clear before encryption is encrypted now
                    values[name] = box.rotate(stored) if box.is_token(stored) else box.encrypt(stored)
            conn.execute(tenants.update().where(tenants.c.id == row.id).values(**values))
            count += len(values)
    return count
