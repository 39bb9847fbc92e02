"""Payment sync storage: cursors per tenant and division, the payable terms of our entries, what Basware was told."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connector import jsonutil
from connector.mapping.payments import PaymentState, Term, payment_state
from connector.store.db import Database, payment_cursors, payment_reports, payment_terms, records, upsert


@dataclass(frozen=True)
class Cursor:
    """How far the sync has read a division: the highest row versions seen, and the DivisionMoveDate then."""

    terms_since: int = 0
    deleted_since: int = 0
    move_date: str | None = None


@dataclass(frozen=True)
class Report:
    """What Basware was last told about a record's payment, and what is being sent (with its externalCode)."""

    reported: PaymentState | None = None
    sending: PaymentState | None = None
    sending_code: str | None = None


def cursor(db: Database, tenant_id: int, division: int) -> Cursor:
    """The stored cursor, or the beginning."""
    with db.begin() as conn:
        row = conn.execute(
            sa.select(payment_cursors).where(
                payment_cursors.c.tenant_id == tenant_id, payment_cursors.c.division == division
            )
        ).first()
    return Cursor(int(row.terms_since), int(row.deleted_since), row.move_date) if row else Cursor()


def restart(db: Database, tenant_id: int, division: int, move_date: str | None) -> None:
    """The division moved database: forget its terms and read everything again (what Basware was told stays)."""
    with db.begin() as conn:
        conn.execute(
            payment_terms.delete().where(payment_terms.c.tenant_id == tenant_id, payment_terms.c.division == division)
        )
        _put_cursor(conn, tenant_id, division, Cursor(0, 0, move_date))


def written_entries(db: Database, tenant_id: int, entry_ids: Iterable[str]) -> dict[str, int]:
    """Record id per Exact entry id, for the entries among `entry_ids` that the connector wrote."""
    wanted = sorted({entry_id.lower() for entry_id in entry_ids})
    found: dict[str, int] = {}
    with db.begin() as conn:
        for start in range(0, len(wanted), 500):
            query = sa.select(records.c.id, records.c.exact_id).where(
                records.c.tenant_id == tenant_id, sa.func.lower(records.c.exact_id).in_(wanted[start : start + 500])
            )
            found.update({row.exact_id.lower(): int(row.id) for row in conn.execute(query)})
    return found


def save(
    db: Database, tenant_id: int, division: int, terms: list[tuple[int, Term]], deleted: list[str], to: Cursor
) -> None:
    """Store the terms read, drop the deleted ones and move the cursor, in one transaction."""
    with db.begin() as conn:
        for record_id, term in terms:
            values = {
                "division": division,
                "record_id": record_id,
                "status": term.status,
                "amount": str(term.amount),
                "paid_on": term.paid_on.isoformat() if term.paid_on else None,
                "method": term.method,
                "reference": term.reference,
                "row_version": term.row_version,
            }
            upsert(conn, payment_terms, {"tenant_id": tenant_id, "term_id": term.term_id}, values)
        if deleted:
            conn.execute(
                payment_terms.delete().where(
                    payment_terms.c.tenant_id == tenant_id, payment_terms.c.term_id.in_([d.lower() for d in deleted])
                )
            )
        _put_cursor(conn, tenant_id, division, to)


def terms_by_record(db: Database, tenant_id: int, record_ids: Iterable[int] | None = None) -> dict[int, list[Term]]:
    """The stored terms of the tenant's records (of `record_ids` only, when given), grouped per record."""
    query = sa.select(payment_terms).where(payment_terms.c.tenant_id == tenant_id)
    if record_ids is not None:
        query = query.where(payment_terms.c.record_id.in_(list(record_ids)))
    grouped: dict[int, list[Term]] = defaultdict(list)
    with db.begin() as conn:
        for row in conn.execute(query):
            grouped[int(row.record_id)].append(_term(row))
    return dict(grouped)


def grosses(db: Database, record_ids: Iterable[int]) -> dict[int, Decimal | None]:
    """The gross amount of each record (None when unknown), in one query per 500 records."""
    wanted = list(record_ids)
    found: dict[int, Decimal | None] = {}
    with db.begin() as conn:
        for start in range(0, len(wanted), 500):
            query = sa.select(records.c.id, records.c.gross).where(records.c.id.in_(wanted[start : start + 500]))
            found.update({int(row.id): Decimal(row.gross) if row.gross else None for row in conn.execute(query)})
    return found


def reports(db: Database, tenant_id: int) -> dict[int, Report]:
    """What Basware was told, per record of the tenant."""
    with db.begin() as conn:
        rows = conn.execute(sa.select(payment_reports).where(payment_reports.c.tenant_id == tenant_id)).all()
    return {int(row.record_id): Report(_state(row.reported), _state(row.sending), row.sending_code) for row in rows}


def start_sending(db: Database, tenant_id: int, record_id: int, state: PaymentState, code: str) -> None:
    """Note the state about to be sent and its externalCode, before sending (a crash then resends the same)."""
    values = {"tenant_id": tenant_id, "sending": jsonutil.dumps(state.to_json()), "sending_code": code}
    with db.begin() as conn:
        upsert(conn, payment_reports, {"record_id": record_id}, {**values, "updated_at": time.time()})


def confirm_sent(db: Database, record_id: int, state: PaymentState) -> None:
    """Basware has the state: it is now the reported one, and nothing is being sent."""
    with db.begin() as conn:
        conn.execute(
            payment_reports.update()
            .where(payment_reports.c.record_id == record_id)
            .values(reported=jsonutil.dumps(state.to_json()), sending=None, sending_code=None, updated_at=time.time())
        )


def payments_of(db: Database, rows: Iterable[tuple[int, int, str | None]]) -> dict[int, dict[str, Any]]:
    """The payment state as JSON per record, for (record id, tenant id, gross) of written invoices."""
    by_tenant: dict[int, list[tuple[int, str | None]]] = defaultdict(list)
    for record_id, tenant_id, gross in rows:
        by_tenant[tenant_id].append((record_id, gross))
    shown: dict[int, dict[str, Any]] = {}
    for tenant_id, wanted in by_tenant.items():
        terms = terms_by_record(db, tenant_id, [record_id for record_id, _ in wanted])
        for record_id, gross in wanted:
            state = payment_state(terms.get(record_id, []), Decimal(gross) if gross else None)
            shown[record_id] = state.to_json()
    return shown


def _put_cursor(conn: Connection, tenant_id: int, division: int, to: Cursor) -> None:
    values = {
        "terms_since": to.terms_since,
        "deleted_since": to.deleted_since,
        "move_date": to.move_date,
        "updated_at": time.time(),
    }
    upsert(conn, payment_cursors, {"tenant_id": tenant_id, "division": division}, values)


def _term(row: Any) -> Term:
    return Term(
        term_id=row.term_id,
        status=int(row.status),
        amount=Decimal(row.amount),
        paid_on=date.fromisoformat(row.paid_on) if row.paid_on else None,
        method=row.method,
        reference=row.reference,
        row_version=int(row.row_version),
    )


def _state(text: str | None) -> PaymentState | None:
    return PaymentState.from_json(jsonutil.loads(text)) if text else None
