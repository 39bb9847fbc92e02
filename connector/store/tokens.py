"""Exact tokens in the database, encrypted, behind a lease every process honours (single-flight refresh)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from connector.crypto import SecretBox
from connector.exact.tokens import ExactTokens
from connector.store import audit
from connector.store.db import Database, exact_tokens, tenants
from connector.store.locks import lease


class DbTokenStore:
    """The `TokenStore` of one tenant, shared by every worker, beat, the receiver and the CLI."""

    def __init__(self, db: Database, box: SecretBox, tenant_id: int) -> None:
        self.db = db
        self.box = box
        self.tenant_id = tenant_id

    def load(self) -> ExactTokens | None:
        with self.db.begin() as conn:
            row = conn.execute(sa.select(exact_tokens).where(exact_tokens.c.tenant_id == self.tenant_id)).first()
        if row is None:
            return None
        return ExactTokens(
            access_token=self.box.decrypt(row.access_token),
            refresh_token=self.box.decrypt(row.refresh_token),
            issued_at=row.issued_at,
            expires_at=row.expires_at,
        )

    def save(self, tokens: ExactTokens) -> None:
        values = {
            "access_token": self.box.encrypt(tokens.access_token),
            "refresh_token": self.box.encrypt(tokens.refresh_token),
            "issued_at": tokens.issued_at,
            "expires_at": tokens.expires_at,
            "refreshed_at": tokens.issued_at,
        }
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        with self.db.begin() as conn:
            row = conn.execute(
                sa.select(exact_tokens.c.token_calls_day, exact_tokens.c.token_calls).where(
                    exact_tokens.c.tenant_id == self.tenant_id
                )
            ).first()
            calls = (row.token_calls + 1) if row is not None and row.token_calls_day == day else 1
            values.update(token_calls_day=day, token_calls=calls)
            if row is None:
                conn.execute(exact_tokens.insert().values(tenant_id=self.tenant_id, **values))
            else:
                conn.execute(exact_tokens.update().where(exact_tokens.c.tenant_id == self.tenant_id).values(**values))
            conn.execute(
                tenants.update().where(tenants.c.id == self.tenant_id).values(grant_status="active", grant_reason=None)
            )

    @contextmanager
    def lock(self) -> Iterator[None]:
        # The token endpoint answers in well under a minute; the lease outlives any sane refresh.
        with lease(self.db, f"exact-token:{self.tenant_id}", ttl=90, wait=120):
            yield

    def mark_dead(self, reason: str) -> None:
        with self.db.begin() as conn:
            conn.execute(
                tenants.update().where(tenants.c.id == self.tenant_id).values(grant_status="dead", grant_reason=reason)
            )
        audit.record(self.db, tenant_id=self.tenant_id, step="exact_auth", event="grant_dead", message=reason)


def token_health(db: Database, tenant_id: int) -> dict[str, float | int | str | None]:
    """When the grant was last renewed and how many token calls were made today (no token values)."""
    with db.begin() as conn:
        row = conn.execute(
            sa.select(
                exact_tokens.c.refreshed_at,
                exact_tokens.c.expires_at,
                exact_tokens.c.token_calls,
                exact_tokens.c.token_calls_day,
            ).where(exact_tokens.c.tenant_id == tenant_id)
        ).first()
    if row is None:
        return {"refreshed_at": None, "expires_at": None, "token_calls": 0, "token_calls_day": None}
    return dict(row._mapping)


def reencrypt_tokens(db: Database, box: SecretBox) -> int:
    """Re-encrypt stored tokens with the first key; returns how many values were rewritten."""
    count = 0
    with db.begin() as conn:
        for row in conn.execute(sa.select(exact_tokens)).all():
            conn.execute(
                exact_tokens.update()
                .where(exact_tokens.c.tenant_id == row.tenant_id)
                .values(access_token=box.rotate(row.access_token), refresh_token=box.rotate(row.refresh_token))
            )
            count += 2
    return count
