"""Records: one row per Basware document, its status, the Exact document it became, or why it is blocked."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connector import jsonutil
from connector.store.db import Database, records, row_dict, tenants
from connector.store.locks import is_dead_owner


class Status(StrEnum):
    """Where a record stands; the values are what the database and the JSON output hold."""

    PENDING = "pending"
    WRITTEN = "written"
    BLOCKED = "blocked"
    WAITING_FOR_REAUTH = "waiting_for_reauth"
    WAITING_FOR_BUDGET = "waiting_for_budget"  # parked until Exact's limit resets (`due_at`)
    FAILED = "failed"


class Step(StrEnum):
    """The last step a record completed, in the order the chain runs them."""

    FETCHED = "fetched"
    VENDOR_MAPPED = "vendor_mapped"
    VALIDATED = "validated"
    WRITTEN = "written"
    REPORTED = "reported"


class Kind(StrEnum):
    """Which Basware document a record holds."""

    INVOICE = "invoice"
    PURCHASE_ORDER = "purchase_order"


class Reported(StrEnum):
    """What Basware was last told about a record."""

    SUCCESS = "success"
    FAILURE = "failure"
    REFUSED = "refused"  # Basware would not take the response
    ACKNOWLEDGED = "acknowledged"  # a purchase order marked exported


STATUSES = tuple(Status)
KINDS = tuple(Kind)
JSON_FIELDS = ("problems", "document", "plan", "written_document")


@dataclass(frozen=True)
class Record:
    """A record as stored; `document`, `plan` and `problems` are parsed JSON."""

    id: int
    tenant_id: int
    kind: str
    basware_id: str
    status: str
    step: str | None
    reference: str | None
    supplier: str | None
    gross: str | None
    currency: str | None
    exact_id: str | None
    exact_number: str | None
    reason: str | None
    problems: list[dict[str, Any]] | None
    document: dict[str, Any] | None
    plan: dict[str, Any] | None
    written_document: dict[str, Any] | None
    write_attempts: int
    reported: str | None
    locked_by: str | None
    locked_until: float | None
    created_at: float
    updated_at: float
    report_code: str | None = None
    running_step: str | None = None
    running_starts: int | None = None
    due_at: float | None = None
    write_sent_at: float | None = None
    division: int | None = None  # the Exact division; None before fetch (then the tenant's division)
    exact_deleted_at: float | None = None  # when Exact told us its document was deleted by hand


def _record(row: Any) -> Record:
    return _record_from_dict(row_dict(row))


def upsert_pending(conn: Connection, tenant_id: int, kind: str, basware_id: str) -> int:
    """The record for a document, created as pending if new; runs inside the caller's transaction."""
    query = sa.select(records.c.id).where(
        records.c.tenant_id == tenant_id, records.c.kind == kind, records.c.basware_id == basware_id
    )
    existing = conn.execute(query).scalar()
    if existing is not None:
        return int(existing)
    now = time.time()
    try:
        with conn.begin_nested():
            result = conn.execute(
                records.insert().values(
                    tenant_id=tenant_id,
                    kind=kind,
                    basware_id=basware_id,
                    status=Status.PENDING,
                    write_attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]
    except sa.exc.IntegrityError:  # another receiver or the poller inserted it a moment ago
        return int(conn.execute(query).scalar_one())


def get(db: Database, record_id: int) -> Record:
    """One record by id (LookupError when there is none)."""
    with db.begin() as conn:
        row = conn.execute(sa.select(records).where(records.c.id == record_id)).first()
    if row is None:
        raise LookupError(f"no record {record_id}")
    return _record(row)


def by_exact_id(db: Database, tenant_id: int, exact_id: str) -> list[Record]:
    """The tenant's records whose Exact document has this ID (compared without case)."""
    query = sa.select(records).where(
        records.c.tenant_id == tenant_id, sa.func.lower(records.c.exact_id) == exact_id.lower()
    )
    with db.begin() as conn:
        return [_record(row) for row in conn.execute(query)]


def start_run(db: Database, record_id: int, step: str) -> int:
    """Note that a worker starts `step`; returns how often it was started since it last ended.

    More than once means an earlier run never ended: its worker was killed (or the machine lost) mid-step.
    """
    with db.begin() as conn:
        row = conn.execute(
            sa.select(records.c.running_step, records.c.running_starts).where(records.c.id == record_id)
        ).first()
        starts = (row.running_starts or 0) + 1 if row is not None and row.running_step == step else 1
        conn.execute(
            records.update()
            .where(records.c.id == record_id)
            .values(running_step=step, running_starts=starts, due_at=None, updated_at=time.time())
        )
    return starts


def due_parked(db: Database, now: float) -> list[int]:
    """Records parked for Exact's limit whose time has come."""
    query = sa.select(records.c.id).where(records.c.status == Status.WAITING_FOR_BUDGET, records.c.due_at <= now)
    with db.begin() as conn:
        return [int(row.id) for row in conn.execute(query.order_by(records.c.due_at, records.c.id))]


def put_off(db: Database, record_id: int, until: float) -> None:
    """Note that the record's chain will next run at `until` (a retry's countdown): not stalled before then."""
    with db.begin() as conn:
        conn.execute(records.update().where(records.c.id == record_id).values(due_at=until, updated_at=time.time()))


def end_run(db: Database, record_id: int) -> None:
    """Note that the step running on the record ended, however it ended."""
    with db.begin() as conn:
        conn.execute(records.update().where(records.c.id == record_id).values(running_step=None, running_starts=0))


def update(db: Database, record_id: int, **values: Any) -> None:
    """Change fields of a record; JSON fields are serialised here.

    Clearing `reported` (there is a new outcome to tell Basware) also forgets the kept response code, so the new
    response gets a new externalCode, as Basware requires.
    """
    if "reported" in values and values["reported"] is None:
        values.setdefault("report_code", None)
    for name in JSON_FIELDS:
        if name in values and values[name] is not None:
            values[name] = jsonutil.dumps(values[name])
    values["updated_at"] = time.time()
    with db.begin() as conn:
        conn.execute(records.update().where(records.c.id == record_id).values(**values))


def list_records(
    db: Database, *, tenant_id: int | None = None, status: str | None = None, kind: str | None = None
) -> list[tuple[Record, str]]:
    """Records with their tenant's name, oldest first, optionally filtered."""
    query = sa.select(records, tenants.c.name.label("tenant_name")).join(tenants).order_by(records.c.id)
    if tenant_id is not None:
        query = query.where(records.c.tenant_id == tenant_id)
    if status is not None:
        query = query.where(records.c.status == status)
    if kind is not None:
        query = query.where(records.c.kind == kind)
    with db.begin() as conn:
        rows = conn.execute(query).all()
    result = []
    for row in rows:
        data = row_dict(row)
        name = data.pop("tenant_name")
        result.append((_record_from_dict(data), name))
    return result


def _record_from_dict(data: dict[str, Any]) -> Record:
    for name in JSON_FIELDS:
        data[name] = jsonutil.loads(data[name]) if data[name] else None
    return Record(**data)


def try_lock(db: Database, record_id: int, owner: str, ttl: float, now: float | None = None) -> bool:
    """Take the per-record lease that serialises the steps of every chain working on one document.

    A lease whose holder was killed (same host, process gone: a worker child lost mid-task) is taken over at
    once, so the redelivered task need not wait for the lease to expire.
    """
    now = time.time() if now is None else now
    free = sa.or_(records.c.locked_until.is_(None), records.c.locked_until < now, records.c.locked_by == owner)
    with db.begin() as conn:
        holder = conn.execute(sa.select(records.c.locked_by).where(records.c.id == record_id)).scalar()
        if is_dead_owner(holder):
            free = sa.or_(free, records.c.locked_by == holder)
        taken = conn.execute(
            records.update()
            .where(records.c.id == record_id)
            .where(free)
            .values(locked_by=owner, locked_until=now + ttl)
        ).rowcount
    return bool(taken)


def unlock(db: Database, record_id: int, owner: str) -> None:
    """Release the per-record lease if this owner holds it."""
    with db.begin() as conn:
        conn.execute(
            records.update()
            .where(records.c.id == record_id, records.c.locked_by == owner)
            .values(locked_by=None, locked_until=None)
        )


# Written in Exact, but the report step never ran: its publish failed or its task was lost after the write.
_unreported_write = sa.and_(records.c.status == Status.WRITTEN, records.c.reported.is_(None))


def _unreported_block(kinds: tuple[str, ...]) -> sa.ColumnElement[bool]:
    return sa.and_(
        records.c.status == Status.BLOCKED,
        records.c.reported.is_(None),
        records.c.step.is_not(None),
        records.c.kind.in_(kinds),
    )


def stalled(
    db: Database, *, older_than: float, now: float | None = None, blocks_reported_for: tuple[str, ...] = ()
) -> list[int]:
    """Pending records, and written ones Basware was not told about yet, that nobody has touched for `older_than`
    seconds, with no retry still due and nobody living holding them: their chain was lost (with the broker's
    queue, a killed worker, a failed publish of the next step).

    Also the blocked records of the kinds in `blocks_reported_for` (those whose block Basware is told: an
    invoice's failure response) that were taken on in Basware (fetched) and whose response never went: the
    worker died between the block and the report. A record blocked before it was ever taken is not ours to
    answer for, and has no completed step.

    A worker killed mid-write keeps its 600 s lease and its task vanishes with it; a holder provably dead
    (`is_dead_owner`) does not keep the record from being resumed, and the next run takes its lease over.
    """
    now = time.time() if now is None else now
    last_sign_of_life = sa.func.coalesce(records.c.due_at, records.c.updated_at)
    query = (
        sa.select(records.c.id, records.c.locked_by, records.c.locked_until)
        .where(
            sa.or_(records.c.status == Status.PENDING, _unreported_write, _unreported_block(blocks_reported_for)),
            records.c.updated_at < now - older_than,
        )
        .where(last_sign_of_life < now - older_than)
        .order_by(records.c.id)
    )
    with db.begin() as conn:
        rows = conn.execute(query).all()
    free = [row for row in rows if row.locked_until is None or row.locked_until < now or is_dead_owner(row.locked_by)]
    return [int(row.id) for row in free]


def count_by_status(db: Database, tenant_id: int | None = None) -> dict[str, int]:
    """How many records are in each status."""
    query = sa.select(records.c.status, sa.func.count()).group_by(records.c.status)
    if tenant_id is not None:
        query = query.where(records.c.tenant_id == tenant_id)
    with db.begin() as conn:
        return {status: count for status, count in conn.execute(query)}


# --- the dashboard's list: filters and paging done in the database ------------------------------------------


@dataclass(frozen=True)
class RecordFilter:
    """What a person narrowed the record list to; every field optional."""

    tenant_id: int | None = None
    status: str | None = None
    kind: str | None = None
    supplier: str | None = None  # part of the supplier's name, any case
    reference: str | None = None  # part of the invoice number, any case
    created_from: float | None = None  # epoch seconds, inclusive
    created_before: float | None = None  # epoch seconds, exclusive


def _filtered(query: Any, wanted: RecordFilter) -> Any:
    exact = {"tenant_id": wanted.tenant_id, "status": wanted.status, "kind": wanted.kind}
    for name, value in exact.items():
        if value is not None:
            query = query.where(records.c[name] == value)
    for name, text in (("supplier", wanted.supplier), ("reference", wanted.reference)):
        if text:
            query = query.where(sa.func.lower(records.c[name]).contains(text.lower(), autoescape=True))
    if wanted.created_from is not None:
        query = query.where(records.c.created_at >= wanted.created_from)
    if wanted.created_before is not None:
        query = query.where(records.c.created_at < wanted.created_before)
    return query


def _attention_rank() -> Any:
    """Needing a person first (blocked, failed, waiting), then in progress, then posted: as views.ATTENTION_ORDER."""
    order = ("blocked", "failed", "waiting_for_reauth", "pending", "written")
    return sa.case({status: index for index, status in enumerate(order)}, value=records.c.status, else_=len(order))


def search(
    db: Database, wanted: RecordFilter, *, offset: int = 0, limit: int = 50
) -> tuple[list[tuple[Record, str]], int]:
    """One page of matching records with their tenant's name, needing a person first, newest first; and the total."""
    page = _filtered(sa.select(records, tenants.c.name.label("tenant_name")).join(tenants), wanted)
    page = page.order_by(_attention_rank(), records.c.id.desc()).offset(max(0, offset)).limit(max(1, limit))
    count = _filtered(sa.select(sa.func.count()).select_from(records), wanted)
    with db.begin() as conn:
        rows = conn.execute(page).all()
        total = int(conn.execute(count).scalar() or 0)
    found = []
    for row in rows:
        data = row_dict(row)
        name = data.pop("tenant_name")
        found.append((_record_from_dict(data), name))
    return found, total


def matching_ids(db: Database, wanted: RecordFilter) -> list[int]:
    """The ids of every record matching the filter, oldest first (for acting on all of them)."""
    query = _filtered(sa.select(records.c.id), wanted).order_by(records.c.id)
    with db.begin() as conn:
        return [int(record_id) for record_id in conn.execute(query).scalars()]
