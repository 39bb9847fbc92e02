"""Tenants: one customer each, with its regions, credentials (encrypted) and posting settings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from connector.basware.regions import BASWARE_BASE_URLS
from connector.crypto import SecretBox
from connector.errors import ConfigurationError
from connector.exact.regions import EXACT_BASE_URLS
from connector.store.db import Database, row_dict, tenants

SECRET_FIELDS = ("exact_client_secret", "basware_client_secret", "webhook_secret")


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
    notify_webhook_url: str | None
    created_at: float
    _secrets: dict[str, str] = field(repr=False, compare=False)

    def secret(self, name: str, box: SecretBox) -> str:
        """Decrypt one of the tenant's secrets (SECRET_FIELDS)."""
        return box.decrypt(self._secrets[name])

    def public(self) -> dict[str, Any]:
        """What may be shown to an operator: everything but the secrets."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def _tenant(row: Any) -> Tenant:
    data = row_dict(row)
    secrets = {name: data.pop(name) for name in SECRET_FIELDS}
    return Tenant(**data, _secrets=secrets)


def validate_regions(exact_region: str, basware_region: str) -> None:
    """Refuse a region the connector does not know, naming the ones it does."""
    if exact_region not in EXACT_BASE_URLS:
        raise ConfigurationError(f"unknown Exact region {exact_region!r}; use one of {', '.join(EXACT_BASE_URLS)}")
    if basware_region not in BASWARE_BASE_URLS:
        raise ConfigurationError(
            f"unknown Basware region {basware_region!r}; use one of {', '.join(BASWARE_BASE_URLS)}"
        )


def add_tenant(db: Database, box: SecretBox, *, name: str, **fields: Any) -> Tenant:
    """Register a tenant; secrets are encrypted before they reach the database."""
    fields["exact_region"] = fields["exact_region"].upper()
    fields["basware_region"] = fields["basware_region"].upper()
    validate_regions(fields["exact_region"], fields["basware_region"])
    for secret in SECRET_FIELDS:
        fields[secret] = box.encrypt(fields[secret])
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
    """One tenant by name, or None."""
    try:
        return get_tenant(db, name)
    except ConfigurationError:
        return None


def list_tenants(db: Database) -> list[Tenant]:
    """Every tenant, by name."""
    with db.begin() as conn:
        return [_tenant(row) for row in conn.execute(sa.select(tenants).order_by(tenants.c.name))]


def update_tenant(db: Database, tenant_id: int, **values: Any) -> None:
    """Change non-secret fields (division, grant status, settings)."""
    with db.begin() as conn:
        conn.execute(tenants.update().where(tenants.c.id == tenant_id).values(**values))


def reencrypt_secrets(db: Database, box: SecretBox) -> int:
    """Re-encrypt every tenant secret with the first key; returns how many values were rewritten."""
    count = 0
    with db.begin() as conn:
        for row in conn.execute(sa.select(tenants)).all():
            values = {name: box.rotate(getattr(row, name)) for name in SECRET_FIELDS}
            conn.execute(tenants.update().where(tenants.c.id == row.id).values(**values))
            count += len(values)
    return count
