"""Payment terms of purchase entries (`sync/Cashflow/PaymentTerms`), their deletions (`sync/Deleted`), the
divisions list (`system/Divisions`) and the control API to pay, part-pay and un-match an entry.

Sourced (docs/api-facts.md, Exact payments; Exact sync and bulk endpoints): one payable term per entry
(`LineType` 22, `TransactionEntryID` = the entry's `EntryID`), `Status` 20 open, 30 selected, 40 processed, 50
matched, `EndDate` = no longer outstanding since, `IsFullyPaid`, `LastPaymentDate`, `Timestamp` a row version;
only `Timestamp` may be filtered (`Timestamp gt 123L`), 1,000 rows a page with `__next`; `sync/Deleted` rows carry
`EntityType` 10 for payment terms; timestamps restart when a division moves database (`DivisionMoveDate`).
Decisions (ours): terms are created lazily, the first time anything looks at them, for every entry (same effect as
on creation: an open term for the entry's amount); amounts are positive; a partial payment splits the open term
into a matched one for the paid amount and an open remainder (Exact's term split on partial matching); undoing a
match puts the latest matched term back to open; an entry whose amount changes moves the difference onto its open
term; one row-version counter per division for terms and deletions;
any other `$filter`, `$orderby`, `$skip`, `$top` or `$skiptoken` on a sync endpoint answers 400 with our own text;
`__next` carries `Timestamp gt <last of the page>L`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from flask import Flask, Response, request

import connector.sandbox.exact.query as query
from connector.sandbox.exact.entry_lines import ENTRIES
from connector.sandbox.exact.state import Division, State
from connector.sandbox.exact.wire import NOT_ALLOWED, ApiFailure, Call, EntitySet, json_response, plain, to_wire

TERMS = "sync/Cashflow/PaymentTerms"
DELETED = "sync/Deleted"
DIVISIONS = "system/Divisions"
PAYABLE, OPEN, MATCHED = 22, 20, 50
TERMS_ENTITY_TYPE = 10
SYNC_PAGE = 1000
TERM_FIELDS = (
    "ID", "Timestamp", "TransactionEntryID", "EntryNumber", "LineType", "Status", "AmountFC", "AmountDC",
    "Currency", "Account", "YourRef", "DueDate", "EndDate", "IsFullyPaid", "LastPaymentDate", "PaymentMethod",
    "PaymentReference", "Division",
)  # fmt: skip
DELETED_FIELDS = ("ID", "Timestamp", "EntityKey", "EntityType", "DeletedDate", "Division")
DIVISION_FIELDS = ("Code", "Description", "DivisionMoveDate", "Current")
TERMS_SET = EntitySet(TERMS, "ID", "Sync.Cashflow.PaymentTerm", TERM_FIELDS)
DELETED_SET = EntitySet(DELETED, "ID", "Sync.Deleted", DELETED_FIELDS)
DIVISIONS_SET = EntitySet(DIVISIONS, "Code", "System.Division", DIVISION_FIELDS)
SYNC_FILTER = re.compile(r"^\s*Timestamp\s+gt\s+(\d+)L\s*$")
SYNC_ARGS = {"$filter", "$select"}
SYNC_ONLY_TIMESTAMP = "Sync endpoints accept only $filter=Timestamp gt <n>L and $select."
Row = dict[str, Any]


@dataclass
class Ledger:
    """Per division: the row-version counter, the deletions and when the division last moved database."""

    version: int = 0
    moved_at: datetime | None = None
    deleted: list[Row] = field(default_factory=list)

    def bump(self) -> int:
        """The next row version."""
        self.version += 1
        return self.version


class PaymentTerms:
    """The sync endpoints and `system/Divisions`, with the control API (`ExactSandbox.payments`)."""

    sets: tuple[EntitySet, ...] = (TERMS_SET, DELETED_SET)  # system/Divisions is `divisions.Divisions`

    def __init__(self, state: State) -> None:
        self.state = state
        self._ledgers: dict[int, Ledger] = {}

    # -- the API -----------------------------------------------------------------------------------

    def handle(self, division: Division, call: Call) -> Response:
        """Answer a GET on one of the three sets; anything else is not allowed."""
        if call.method != "GET" or call.key is not None:
            raise ApiFailure(405, NOT_ALLOWED)
        self.refresh(division)
        rows = division.tables[TERMS] if call.entity is TERMS_SET else self.ledger(division.number).deleted
        return _sync_page(division.number, call.entity, rows)

    # -- the control API ---------------------------------------------------------------------------

    def ledger(self, number: int) -> Ledger:
        """The division's ledger (created on first use)."""
        return self._ledgers.setdefault(number, Ledger())

    def terms(self, number: int) -> list[Row]:
        """Every payment term of a division (internal form: Decimal amounts, datetimes)."""
        with self.state.lock:
            division = self.state.division(number)
            self.refresh(division)
            return [dict(row) for row in division.tables[TERMS]]

    def pay(
        self,
        number: int,
        entry_id: str,
        amount: Decimal | None = None,
        *,
        on: datetime | None = None,
        method: str | None = "B",
        reference: str | None = None,
    ) -> Row:
        """Match a payment to an entry: the whole open amount, or `amount` of it (the open term is split)."""
        with self.state.lock:
            division = self.state.division(number)
            self.refresh(division)
            term = _open_term(division, entry_id)
            paid_on = on or self.state.today()
            amount = term["AmountFC"] if amount is None else Decimal(amount)
            if amount <= 0 or amount > term["AmountFC"]:
                raise ValueError(f"pay between 0.01 and the open {term['AmountFC']}")
            ledger = self.ledger(number)
            matched = term if amount == term["AmountFC"] else _split(term, amount, ledger, division)
            matched.update(Status=MATCHED, IsFullyPaid=True, EndDate=paid_on, LastPaymentDate=paid_on)
            matched.update(PaymentMethod=method, PaymentReference=reference, Timestamp=ledger.bump())
            return dict(matched)

    def undo(self, number: int, entry_id: str) -> Row:
        """Undo the latest match of an entry: its matched term is open again."""
        with self.state.lock:
            division = self.state.division(number)
            self.refresh(division)
            matched = [t for t in _terms_of(division, entry_id) if t["Status"] == MATCHED]
            if not matched:
                raise ValueError(f"entry {entry_id} has no matched payment term")
            term = max(matched, key=lambda row: row["Timestamp"])
            term.update(Status=OPEN, IsFullyPaid=False, EndDate=None, LastPaymentDate=None)
            term.update(PaymentReference=None, Timestamp=self.ledger(number).bump())
            return dict(term)

    def move(self, number: int) -> datetime:
        """The division moved database: `DivisionMoveDate` is now and every row version restarts from 1."""
        with self.state.lock:
            division = self.state.division(number)
            self.refresh(division)
            ledger = self.ledger(number)
            ledger.version, ledger.moved_at = 0, self.state.now_dt()
            for row in sorted(division.tables[TERMS], key=lambda r: r["Timestamp"]):
                row["Timestamp"] = ledger.bump()
            for row in ledger.deleted:
                row["Timestamp"] = ledger.bump()
            return ledger.moved_at

    def refresh(self, division: Division) -> None:
        """Bring the terms in line with the entries: new entries get an open term, deleted ones lose theirs."""
        ledger, terms = self.ledger(division.number), division.tables[TERMS]
        entries = {row["EntryID"]: row for row in division.tables[ENTRIES]}
        known: dict[str, list[Row]] = {}
        for row in terms:
            known.setdefault(row["TransactionEntryID"], []).append(row)
        for entry_id, entry in entries.items():
            if entry_id not in known:
                terms.append(_new_term(division.number, entry, entry["AmountFC"], ledger.bump()))
            else:
                _follow_amount(entry, known[entry_id], ledger)
        for term in [row for row in terms if row["TransactionEntryID"] not in entries]:
            terms.remove(term)
            ledger.deleted.append(_deletion(division.number, term, ledger.bump(), self.state.now_dt()))

    def move_date(self, number: int) -> datetime | None:
        """When the division last moved database (`DivisionMoveDate`), None if never."""
        return self._ledgers[number].moved_at if number in self._ledgers else None


def register_payment_admin(app: Flask, payments: PaymentTerms, first_division: Any) -> None:
    """Add the `/_sandbox/` routes that pay, part-pay, un-match and move a division."""

    def division() -> int:
        return int(request.args.get("division") or _body().get("division") or first_division())

    def pay(entry_id: str) -> Response:
        body = _body()
        amount = Decimal(str(body["amount"])) if body.get("amount") is not None else None
        on = datetime.fromisoformat(body["date"]).replace(tzinfo=UTC) if body.get("date") else None
        try:
            term = payments.pay(division(), entry_id, amount, on=on, reference=body.get("reference"))
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(plain(term), 201)

    def undo(entry_id: str) -> Response:
        try:
            return json_response(plain(payments.undo(division(), entry_id)))
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)

    def terms() -> Response:
        return json_response(plain(payments.terms(division())))

    def move() -> Response:
        return json_response({"DivisionMoveDate": to_wire(payments.move(division()))})

    for rule, view, method in (
        ("/_sandbox/purchase-entries/<entry_id>/payments", pay, "POST"),
        ("/_sandbox/purchase-entries/<entry_id>/payments/undo", undo, "POST"),
        ("/_sandbox/payment-terms", terms, "GET"),
        ("/_sandbox/divisions/move", move, "POST"),
    ):
        app.add_url_rule(rule, f"admin_payments_{view.__name__}", view, methods=[method])


def _sync_page(number: int, entity: EntitySet, rows: list[Row]) -> Response:
    """One page of a sync endpoint: rows after the filter's Timestamp, oldest first, 1,000 at most."""
    unknown = set(request.args) - SYNC_ARGS
    match = SYNC_FILTER.match(request.args.get("$filter", "Timestamp gt 0L"))
    if unknown or match is None:
        raise ApiFailure(400, SYNC_ONLY_TIMESTAMP)
    after = int(match.group(1))
    newer = sorted((row for row in rows if row["Timestamp"] > after), key=lambda row: row["Timestamp"])
    page = newer[:SYNC_PAGE]
    body: dict[str, Any] = {"results": [_render(number, entity, row) for row in page]}
    if len(newer) > SYNC_PAGE:
        body["__next"] = _next(number, entity, page[-1]["Timestamp"])
    return json_response({"d": body})


def _render(number: int, entity: EntitySet, row: Row) -> Row:
    out = query.select(row, request.args.get("$select"), entity.fields)
    out["__metadata"] = {"uri": query.uri(number, entity, row["ID"]), "type": query.MODELS + entity.type_name}
    return out


def _next(number: int, entity: EntitySet, last: int) -> str:
    params = [(name, value) for name, value in request.args.items() if name != "$filter"]
    params.append(("$filter", f"Timestamp gt {last}L"))
    return f"{request.host_url}api/v1/{number}/{entity.path}?{urlencode(params, quote_via=quote, safe='$,')}"


def _new_term(number: int, entry: Row, amount: Decimal, version: int) -> Row:
    return {
        "ID": str(uuid.uuid4()),
        "Timestamp": version,
        "TransactionEntryID": entry["EntryID"],
        "EntryNumber": entry.get("EntryNumber"),
        "LineType": PAYABLE,
        "Status": OPEN,
        "AmountFC": amount,
        "AmountDC": amount,
        "Currency": entry.get("Currency"),
        "Account": entry.get("Supplier"),
        "YourRef": entry.get("YourRef"),
        "DueDate": entry.get("DueDate"),
        "EndDate": None,
        "IsFullyPaid": False,
        "LastPaymentDate": None,
        "PaymentMethod": None,
        "PaymentReference": None,
        "Division": number,
    }


def _follow_amount(entry: Row, terms: list[Row], ledger: Ledger) -> None:
    """An entry whose amount changed (its lines were edited) moves the difference onto its open term."""
    difference = entry["AmountFC"] - sum((row["AmountFC"] for row in terms), Decimal("0"))
    open_term = next((row for row in terms if row["Status"] == OPEN), None)
    if difference and open_term is not None:
        amount = open_term["AmountFC"] + difference
        open_term.update(AmountFC=amount, AmountDC=amount, Timestamp=ledger.bump())


def _split(term: Row, amount: Decimal, ledger: Ledger, division: Division) -> Row:
    """Cut `amount` off an open term as a new term; the open remainder gets a new row version."""
    paid = dict(term, ID=str(uuid.uuid4()), AmountFC=amount, AmountDC=amount)
    term.update(AmountFC=term["AmountFC"] - amount, AmountDC=term["AmountFC"] - amount, Timestamp=ledger.bump())
    division.tables[TERMS].append(paid)
    return paid


def _deletion(number: int, term: Row, version: int, now: datetime) -> Row:
    return {
        "ID": str(uuid.uuid4()),
        "Timestamp": version,
        "EntityKey": term["ID"],
        "EntityType": TERMS_ENTITY_TYPE,
        "DeletedDate": now,
        "Division": number,
    }


def _terms_of(division: Division, entry_id: str) -> list[Row]:
    found = [row for row in division.tables[TERMS] if row["TransactionEntryID"] == entry_id.lower()]
    if not found:
        raise ValueError(f"no purchase entry {entry_id}")
    return found


def _open_term(division: Division, entry_id: str) -> Row:
    for row in _terms_of(division, entry_id):
        if row["Status"] == OPEN:
            return row
    raise ValueError(f"entry {entry_id} is fully paid")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True, force=True)
    return body if isinstance(body, dict) else {}
