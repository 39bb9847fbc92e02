"""Payment status back to Basware: read Exact's payment terms incrementally, tell Basware what changed.

Per tenant (its Exact division): check `system/Divisions.DivisionMoveDate` (a move restarts the row versions, so
the cursor starts again from 0), read `sync/Cashflow/PaymentTerms` and `sync/Deleted` after the stored row
versions (all pages, 1,000 rows each; beat reads the move date and the deletions hourly, see
SLOW_CHECKS_EVERY), keep the payable terms (`LineType` 22) of entries we wrote, and store them with the new
cursor in one transaction. Then, for every record whose payment state (connector.mapping.payments)
differs from the one Basware was last told, post a paymentResponse with the full set (docs/api-facts.md, Exact
payments; Basware paymentResponses).

Exactly once, across retries and crashes: before posting, the state and a new externalCode are stored as
`sending`; after Basware's 200 they become `reported`. A crash between Basware's 200 and our commit leaves
`sending` in place, and the next run posts the same state with the SAME externalCode: Basware refuses a reused
code with 409, which we read as "it has it already". A state that changed again meanwhile gets a new code.
Because the comparison runs over every stored record each time (not only the rows just read), a run that died
after storing the terms but before posting still reports on the next run.

A term of an entry written a moment ago may be read before the record has its `exact_id`; it is then dropped.
That loses nothing: it is the entry's first, open term (unpaid, which is where a record starts), and every later
change of it (a payment, a split) comes with a new row version that the next run reads.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from connector.basware.client import BaswareClient
from connector.errors import ConnectorError, FatalAPIError
from connector.exact.client import ExactClient
from connector.exact.odata import parse_date
from connector.mapping.payments import PAYABLE, PaymentState, Term, describe, payment_state
from connector.store import audit, payments, records, state
from connector.store.locks import held_or_skip
from connector.store.payments import Cursor
from connector.store.tenants import Tenant, list_tenants
from connector.sync import divisions
from connector.sync.services import Services

log = logging.getLogger(__name__)
LAST_RUN = "payments:last_run"  # when beat last started the tenant's sync
LAST_DONE = "payments:last_done"  # when a sync of the tenant last ended well
DEFAULT_INTERVAL = 900
TERMS_ENTITY_TYPE = 10  # sync/Deleted: payment terms
# A division move and deleted terms are rare, and noticing them an hour late loses nothing (a move restarts the
# cursor, a deletion drops terms): beat reads them hourly and the payment terms every run, which halves the calls.
SLOW_CHECKS_EVERY = 3600.0
SLOW_CHECKED = "payments:slow_checked"
LEASE = 900.0  # one sync per tenant at a time: beat and `ml-connector payments sync` never send side by side


@dataclass
class SyncResult:
    """What one payment sync of one tenant did."""

    tenant: str
    terms_read: int = 0
    deleted: int = 0
    reported: int = 0
    restarted: bool = False


def _exact_for_background(svc: Services, tenant: Tenant, division: int | None) -> ExactClient:
    """The Exact client the payment sync uses: it spends only budget that writes leave (background priority)."""
    return svc.exact(tenant, division=division, background=True)


def interval(tenant: Tenant) -> int:
    """Seconds between the tenant's payment syncs (0 = never)."""
    return DEFAULT_INTERVAL if tenant.payment_sync_interval is None else tenant.payment_sync_interval


def is_due(tenant: Tenant, last_run: float | None, now: float) -> bool:
    """True when the tenant has a live grant, syncs payments, and its interval has passed."""
    if tenant.grant_status != "active" or interval(tenant) <= 0:
        return False
    return last_run is None or now - last_run >= interval(tenant)


def claim_due_tenants(svc: Services, now: float | None = None) -> list[Tenant]:
    """The tenants whose payment sync is due, each marked as started now (so the next beat skips them)."""
    now = time.time() if now is None else now
    due = []
    for tenant in list_tenants(svc.db):
        last = state.get(svc.db, tenant.id, LAST_RUN)
        if is_due(tenant, float(last) if last else None, now):
            state.put(svc.db, tenant.id, LAST_RUN, repr(now))
            due.append(tenant)
    return due


def sync_logged(svc: Services, tenant: Tenant) -> int:
    """`sync_tenant_once`, its failure logged (the next interval tries again); how many responses were sent."""
    try:
        result = sync_tenant_once(svc, tenant, everything=False)
    except ConnectorError as exc:
        log.warning("tenant=%s step=payments failed: %s", tenant.name, exc)
        return 0
    return result.reported if result else 0


def sync_tenant_once(svc: Services, tenant: Tenant, *, everything: bool = True) -> SyncResult | None:
    """`sync_tenant` under the tenant's payment lease; None when another process is syncing it right now."""
    with held_or_skip(svc.db, f"payments:{tenant.id}", ttl=LEASE) as mine:
        if not mine:
            return None
        result = sync_tenant(svc, tenant, everything=everything)
    state.put(svc.db, tenant.id, LAST_DONE, repr(time.time()))
    return result


def sync_tenant(svc: Services, tenant: Tenant, *, everything: bool = True, now: float | None = None) -> SyncResult:
    """Read what changed in Exact since the last run and tell Basware every payment state that changed.

    Without `everything` (beat's runs), the division move check and `sync/Deleted` are read once an hour only.
    """
    now = time.time() if now is None else now
    result = SyncResult(tenant.name)
    slow = everything or _slow_checks_due(svc, tenant, now)
    targets: list[int | None] = [*divisions.all_of(svc.db, tenant)] or [None]  # None: current/Me's division
    for division in targets:  # each division has its own terms and cursor
        _sync_division(svc, tenant, _exact_for_background(svc, tenant, division), result, slow)
    if slow:
        state.put(svc.db, tenant.id, SLOW_CHECKED, repr(now))
    result.reported = report_changes(svc, tenant, svc.basware(tenant))
    return result


def _sync_division(svc: Services, tenant: Tenant, exact: ExactClient, result: SyncResult, slow: bool) -> None:
    """Read one division's changed payment terms (and, when `slow`, its move date and deletions) and keep ours."""
    division = exact.division
    cursor = _current_cursor(svc, tenant, exact, result) if slow else payments.cursor(svc.db, tenant.id, division)
    rows = exact.payment_terms_since(cursor.terms_since)
    deletions = exact.deleted_since(cursor.deleted_since) if slow else []
    removed = [row for row in deletions if row.get("EntityType") == TERMS_ENTITY_TYPE]
    ours = payments.written_entries(svc.db, tenant.id, _entry_ids(rows))
    kept = [(ours[str(row["TransactionEntryID"]).lower()], _term(row)) for row in rows if _is_ours(row, ours)]
    # Past every deletion read, of any entity: they are not ours to read again.
    moved = Cursor(_highest(rows, cursor.terms_since), _highest(deletions, cursor.deleted_since), cursor.move_date)
    payments.save(svc.db, tenant.id, division, kept, [str(row["EntityKey"]) for row in removed], moved)
    result.terms_read += len(kept)
    result.deleted += len(removed)


def _slow_checks_due(svc: Services, tenant: Tenant, now: float) -> bool:
    last = state.get(svc.db, tenant.id, SLOW_CHECKED)
    return last is None or now - float(last) >= SLOW_CHECKS_EVERY


def report_changes(svc: Services, tenant: Tenant, basware: BaswareClient) -> int:
    """Post a paymentResponse for every record whose payment state differs from what Basware was told."""
    told = payments.reports(svc.db, tenant.id)
    known = payments.terms_by_record(svc.db, tenant.id)
    # Records Basware was told about but whose terms are all gone (deleted in Exact) count as unpaid again.
    ids = sorted(set(known) | set(told))
    grosses = payments.grosses(svc.db, ids)
    sent = 0
    for record_id in ids:
        gross = grosses.get(record_id)
        now = payment_state(known.get(record_id, []), gross)
        last = told.get(record_id, payments.Report())
        if now != (last.reported or payment_state([], gross)):
            sent += _report(svc, basware, records.get(svc.db, record_id), now, last)
    return sent


def _report(
    svc: Services, basware: BaswareClient, record: records.Record, now: PaymentState, last: payments.Report
) -> int:
    """Send one state (the same externalCode again if it was being sent); 1 when Basware took it."""
    gross = Decimal(record.gross) if record.gross else None
    code = last.sending_code if last.sending == now and last.sending_code else str(uuid.uuid4())
    payments.start_sending(svc.db, record.tenant_id, record.id, now, code)
    try:
        basware.post_payment_response(record.basware_id, now.to_basware(), external_code=code)
    except FatalAPIError as exc:
        if exc.status in (401, 403):  # the tenant's credentials or scopes, not this invoice: end the run
            raise
        # Asking again cannot help (the invoice is gone, the body refused): say so once, and try again only when
        # the state changes. 5xx, timeouts and 429s are retriable and end the run: the next one resends the code.
        payments.confirm_sent(svc.db, record.id, now)
        message = f"Basware refused the payment state ({describe(now, record.currency, gross)}): {exc}"
        audit.of_record(svc.db, record, "payment", "payment_refused", message, detail=now.to_json())
        return 0
    payments.confirm_sent(svc.db, record.id, now)
    _audit(svc, record, now, gross)
    return 1


def _current_cursor(svc: Services, tenant: Tenant, exact: ExactClient, result: SyncResult) -> Cursor:
    """The stored cursor, restarted from the beginning when the division moved database since."""
    stored = payments.cursor(svc.db, tenant.id, exact.division)
    moved = exact.division_move_date()
    move_date = moved.isoformat() if moved else None
    if move_date == stored.move_date:
        return stored
    if stored.move_date is not None or stored.terms_since:
        log.info("tenant=%s step=payments division %s moved database: reading again", tenant.name, exact.division)
        result.restarted = True
    payments.restart(svc.db, tenant.id, exact.division, move_date)
    return Cursor(0, 0, move_date)


def _audit(svc: Services, record: records.Record, now: PaymentState, gross: Decimal | None) -> None:
    message = f"{describe(now, record.currency, gross)}; Basware told"
    audit.of_record(svc.db, record, "payment", "payment_reported", message, detail=now.to_json())


def _is_ours(row: dict[str, Any], ours: dict[str, int]) -> bool:
    return row.get("LineType") == PAYABLE and str(row.get("TransactionEntryID") or "").lower() in ours


def _entry_ids(rows: list[dict[str, Any]]) -> set[str]:
    payable = (row for row in rows if row.get("LineType") == PAYABLE)
    return {str(row["TransactionEntryID"]) for row in payable if row.get("TransactionEntryID")}


def _highest(rows: list[dict[str, Any]], since: int) -> int:
    return max([since, *(int(row["Timestamp"]) for row in rows)])


def _term(row: dict[str, Any]) -> Term:
    paid = parse_date(row.get("LastPaymentDate")) or parse_date(row.get("EndDate"))
    return Term(
        term_id=str(row["ID"]).lower(),
        status=int(row["Status"]),
        amount=abs(Decimal(str(row.get("AmountFC") or 0))),
        paid_on=date(paid.year, paid.month, paid.day) if paid else None,
        method=row.get("PaymentMethod"),
        reference=row.get("PaymentReference"),
        row_version=int(row["Timestamp"]),
    )
