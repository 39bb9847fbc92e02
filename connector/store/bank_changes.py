"""Bank accounts waiting for a person: Basware's IBAN for an existing Exact supplier, pending, approved or rejected.

An AP connector is a route to money, so a new IBAN on a supplier Exact already pays is never applied by a
sync alone. Each request is asked once: an IBAN already pending, approved or rejected for that supplier is not
asked again. A decision is taken once: the first person's approval or rejection stands.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from connector.store.db import Database, pending_bank_accounts, row_dict

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


@dataclass(frozen=True)
class BankChange:
    """One requested bank account for an existing supplier."""

    id: int
    tenant_id: int
    vendor_code: str
    division: int
    account_id: str
    account_label: str
    iban: str
    bic: str | None
    status: str
    requested_at: float
    decided_at: float | None = None
    decided_by: str | None = None


@dataclass(frozen=True)
class Request:
    """What a sync asks a person to approve: this IBAN on this supplier of this division."""

    tenant_id: int
    vendor_code: str
    division: int
    account_id: str
    account_label: str
    iban: str
    bic: str | None


def request(db: Database, asked_for: Request) -> BankChange | None:
    """Store a pending change; None when this IBAN was already asked for this supplier (whatever the answer)."""
    values = {**asdict(asked_for), "account_label": asked_for.account_label[:300], "status": PENDING,
              "requested_at": time.time()}  # fmt: skip
    try:
        with db.begin() as conn:
            result = conn.execute(pending_bank_accounts.insert().values(**values))
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    except sa.exc.IntegrityError:  # asked before (by this run's predecessor or a racing one)
        return None
    return get(db, new_id)


def get(db: Database, change_id: int) -> BankChange:
    """One change by id; LookupError when there is none."""
    with db.begin() as conn:
        row = conn.execute(sa.select(pending_bank_accounts).where(pending_bank_accounts.c.id == change_id)).first()
    if row is None:
        raise LookupError(f"there is no bank account change {change_id}")
    return BankChange(**row_dict(row))


def pending(db: Database, tenant_id: int | None = None) -> list[BankChange]:
    """Changes waiting for a decision, oldest first; of one tenant, or of all."""
    table = pending_bank_accounts
    query = sa.select(table).where(table.c.status == PENDING).order_by(table.c.id)
    if tenant_id is not None:
        query = query.where(table.c.tenant_id == tenant_id)
    with db.begin() as conn:
        return [BankChange(**row_dict(row)) for row in conn.execute(query)]


def decide(db: Database, change_id: int, status: str, by: str) -> bool:
    """Mark a pending change approved or rejected by `by`; False when it was no longer pending."""
    table = pending_bank_accounts
    with db.begin() as conn:
        done = conn.execute(
            table.update()
            .where(table.c.id == change_id, table.c.status == PENDING)
            .values(status=status, decided_at=time.time(), decided_by=by[:200])
        )
    return bool(done.rowcount)


def reopen(db: Database, change_id: int) -> None:
    """Back to pending: an approval whose write to Exact failed is asked again rather than lost."""
    table = pending_bank_accounts
    with db.begin() as conn:
        conn.execute(
            table.update().where(table.c.id == change_id).values(status=PENDING, decided_at=None, decided_by=None)
        )
