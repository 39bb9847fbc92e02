"""Basware client-credentials tokens in the database, encrypted, shared by every process of a tenant.

One token per tenant serves all workers: renewing it happens under a lease, so a fleet of workers asks
Basware for one token per lifetime instead of one each.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from connector.crypto import SecretBox
from connector.store.db import Database, basware_tokens, upsert
from connector.store.locks import lease


class DbBaswareTokenStore:
    """The stored Basware token of one tenant: load, save, forget, and a lease around renewal."""

    def __init__(self, db: Database, box: SecretBox, tenant_id: int) -> None:
        self.db = db
        self.box = box
        self.tenant_id = tenant_id

    def __repr__(self) -> str:
        return f"DbBaswareTokenStore(tenant_id={self.tenant_id})"

    def load(self) -> tuple[str, float] | None:
        """(token, when it should be renewed as epoch s), or None."""
        with self.db.begin() as conn:
            row = conn.execute(sa.select(basware_tokens).where(basware_tokens.c.tenant_id == self.tenant_id)).first()
        if row is None:
            return None
        return self.box.decrypt(row.access_token), float(row.expires_at)

    def save(self, token: str, expires_at: float) -> None:
        """Store a new token (encrypted) for every process to use."""
        values = {"access_token": self.box.encrypt(token), "expires_at": expires_at}
        with self.db.begin() as conn:
            upsert(conn, basware_tokens, {"tenant_id": self.tenant_id}, values)

    def discard(self, token: str) -> None:
        """Forget the stored token if it is still the one Basware refused (a newer one is kept)."""
        current = self.load()
        if current is None or current[0] != token:
            return
        with self.db.begin() as conn:
            conn.execute(basware_tokens.delete().where(basware_tokens.c.tenant_id == self.tenant_id))

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Single-flight renewal across processes."""
        with lease(self.db, f"basware-token:{self.tenant_id}", ttl=90, wait=120):
            yield


def reencrypt_tokens(db: Database, box: SecretBox) -> int:
    """Re-encrypt stored Basware tokens with the first key; returns how many were rewritten."""
    count = 0
    with db.begin() as conn:
        for row in conn.execute(sa.select(basware_tokens)).all():
            conn.execute(
                basware_tokens.update()
                .where(basware_tokens.c.tenant_id == row.tenant_id)
                .values(access_token=box.rotate(row.access_token))
            )
            count += 1
    return count
