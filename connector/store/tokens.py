"""Exact tokens in the database, encrypted, behind a lease every process honours (single-flight refresh)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from connector.crypto import SecretBox
from connector.exact.tokens import ExactTokens
from connector.store import audit
from connector.store.db import Database, exact_tokens, tenants
from connector.store.locks import lease

# The refresh lease outlives a refresh's total deadline (connector.exact.auth.REFRESH_DEADLINE), so a slow
# token call ends, one way or the other, while its process still holds the lease.
REFRESH_LEASE = 90.0

log = logging.getLogger(__name__)


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")  # Exact's daily limits reset at 00:00 UTC


class DbTokenStore:
    """The `TokenStore` of one tenant, shared by every worker, beat, the receiver and the CLI.

    `on_dead` is called once, when this store is the one that finds the grant dead (to tell the operator).
    """

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        tenant_id: int,
        *,
        on_dead: Callable[[str], None] | None = None,
    ) -> None:
        self.db = db
        self.box = box
        self.tenant_id = tenant_id
        self._on_dead = on_dead

    def __repr__(self) -> str:
        return f"DbTokenStore(tenant_id={self.tenant_id})"

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
        """Store new tokens and mark the grant active; the call that fetched them was counted already."""
        values = {
            "access_token": self.box.encrypt(tokens.access_token),
            "refresh_token": self.box.encrypt(tokens.refresh_token),
            "issued_at": tokens.issued_at,
            "expires_at": tokens.expires_at,
            "refreshed_at": tokens.issued_at,
        }
        with self.db.begin() as conn:
            done = conn.execute(
                exact_tokens.update().where(exact_tokens.c.tenant_id == self.tenant_id).values(**values)
            ).rowcount
            if not done:  # the first consent: its code exchange is the day's first token call
                conn.execute(
                    exact_tokens.insert().values(
                        tenant_id=self.tenant_id, token_calls_day=_today(), token_calls=1, **values
                    )
                )
            conn.execute(
                tenants.update().where(tenants.c.id == self.tenant_id).values(grant_status="active", grant_reason=None)
            )

    def count_token_call(self) -> int:
        """Note one call to Exact's token endpoint; returns today's count (0 before the first consent)."""
        day = _today()
        with self.db.begin() as conn:
            conn.execute(
                exact_tokens.update()
                .where(exact_tokens.c.tenant_id == self.tenant_id)
                .values(
                    token_calls=sa.case(
                        (exact_tokens.c.token_calls_day == day, exact_tokens.c.token_calls + 1), else_=1
                    ),
                    token_calls_day=day,
                )
            )
            calls = conn.execute(
                sa.select(exact_tokens.c.token_calls).where(exact_tokens.c.tenant_id == self.tenant_id)
            ).scalar()
        return int(calls or 0)

    @contextmanager
    def lock(self) -> Iterator[None]:
        # The token endpoint answers in well under a minute; the lease outlives any sane refresh.
        with lease(self.db, f"exact-token:{self.tenant_id}", ttl=REFRESH_LEASE, wait=120):
            yield

    def mark_dead(self, reason: str) -> None:
        """Pause the tenant; only the first process to find the grant dead audits it and tells the operator."""
        with self.db.begin() as conn:
            changed = conn.execute(
                tenants.update()
                .where(tenants.c.id == self.tenant_id, tenants.c.grant_status != "dead")
                .values(grant_status="dead", grant_reason=reason)
            ).rowcount
        if not changed:
            return
        audit.record(self.db, tenant_id=self.tenant_id, step="exact_auth", event="grant_dead", message=reason)
        if self._on_dead is not None:
            try:
                self._on_dead(reason)
            except Exception:  # telling the operator must never hide the dead grant from the caller
                log.exception("tenant=%s could not notify the operator of a dead grant", self.tenant_id)


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
    health = dict(row._mapping)
    if health["token_calls_day"] != _today():  # yesterday's count says nothing about today's budget
        health["token_calls"] = 0
    return health


def reencrypt_tokens(db: Database, box: SecretBox) -> int:
    """Re-encrypt stored tokens with the first key; returns how many values were rewritten.

    Each grant is rewritten under its refresh lease: a refresh saved between our read and our write would
    otherwise be overwritten by the old, already rotated tokens, and the grant would die.
    """
    with db.begin() as conn:
        tenant_ids = [row.tenant_id for row in conn.execute(sa.select(exact_tokens.c.tenant_id))]
    count = 0
    for tenant_id in tenant_ids:
        with lease(db, f"exact-token:{tenant_id}", ttl=REFRESH_LEASE, wait=120), db.begin() as conn:
            row = conn.execute(sa.select(exact_tokens).where(exact_tokens.c.tenant_id == tenant_id)).first()
            if row is None:
                continue
            conn.execute(
                exact_tokens.update()
                .where(exact_tokens.c.tenant_id == tenant_id)
                .values(access_token=box.rotate(row.access_token), refresh_token=box.rotate(row.refresh_token))
            )
            count += 2
    return count
