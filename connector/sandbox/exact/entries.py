"""Purchase entries (`purchaseentry/PurchaseEntries`): create, read, update the header, delete.

Sourced (docs/api-facts.md, Exact: purchase entries):
- Lines are needed on POST; "not necessary when you PUT". A header PUT that carries a line without an existing
  line `ID` answers HTTP 400 "Error processing request stream. Binding to new entities ..." and changes nothing;
  editing existing lines by `ID` through the header PUT works.
- The header `AmountFC` is the sum of the lines including VAT and is read-only (a sent one is ignored).
- Status 20 open, 50 processed; Type 30 entry, 31 credit note.
Decisions (ours): the rest of the 400 text after "Binding to new entities"; the duplicate-entry text and check
(same supplier, Your ref., entry date and amount); entry numbers count per journal from `YYJJ0000`; a processed
entry refuses PUT and DELETE with HTTP 500.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response

import connector.sandbox.exact.query as query
from connector.sandbox.exact.entry_lines import (
    ENTRIES,
    LINE_SET,
    LINES_NAV,
    STATUS_OPEN,
    book_line,
    edited_inputs,
    line_inputs,
    require_open,
    totals,
)
from connector.sandbox.exact.state import Division, State
from connector.sandbox.exact.validation import (
    BINDING_MESSAGE,
    check_journal,
    check_supplier,
    date_field,
    refuse_problems,
    refuse_unknown,
)
from connector.sandbox.exact.wire import (
    NOT_ALLOWED,
    ApiFailure,
    Call,
    EntitySet,
    json_body,
    json_response,
    no_content,
    wants_minimal,
)

ENTRY_FIELDS: tuple[str, ...] = (
    "EntryID", "EntryNumber", "Journal", "Supplier", "EntryDate", "DueDate", "YourRef", "Currency",
    "Description", "PaymentCondition", "AmountFC", "AmountDC", "VATAmountFC", "VATAmountDC", "Status",
    "Type", "ReportingYear", "ReportingPeriod", "Division", "Created", "Modified",
)  # fmt: skip
ENTRY_HEADER = ("Journal", "Supplier", "EntryDate", "DueDate", "YourRef", "Currency", "Description",
                "PaymentCondition")  # fmt: skip
ENTRY_WRITABLE = {*ENTRY_HEADER, LINES_NAV, "AmountFC", "VATAmountFC"}
ENTRY_SET = EntitySet(ENTRIES, "EntryID", "PurchaseEntry", ENTRY_FIELDS, navigation=LINES_NAV)
DUPLICATE_MESSAGE = (
    "Duplicate: an entry for this supplier with the same Your ref., invoice date and amount already exists."
)
Row = dict[str, Any]


class PurchaseEntries:
    """The purchase entries of every division."""

    sets: tuple[EntitySet, ...] = (ENTRY_SET,)

    def __init__(self, state: State) -> None:
        self.state = state

    def handle(self, division: Division, call: Call) -> Response:
        """Answer one call on the entries resource."""
        if call.method == "GET":
            rows = division.tables[ENTRIES]
            return query.read(
                division.number, ENTRY_SET, rows, call.key, page_size=self.state.page_size, lines=LINE_SET
            )
        if call.method == "POST" and call.key is None:
            return self._post(division)
        if call.method == "PUT" and call.key is not None:
            self._put(division, find(division, call.key), json_body())
            return no_content()
        if call.method == "DELETE" and call.key is not None:
            entry = find(division, call.key)
            require_open(entry)
            division.tables[ENTRIES].remove(entry)
            return no_content()
        raise ApiFailure(405, NOT_ALLOWED)

    def _post(self, division: Division) -> Response:
        row = self._create(division, json_body())
        if wants_minimal():
            return no_content()
        return json_response({"d": query.render(division.number, ENTRY_SET, row, lines=LINE_SET, expand=True)}, 201)

    def _create(self, division: Division, body: Row) -> Row:
        header, lines = self._validated(division, body)
        entries = division.tables[ENTRIES]
        if any(_same_invoice(existing, header) for existing in entries):
            raise ApiFailure(500, DUPLICATE_MESSAGE)
        entry_id, now = str(uuid.uuid4()), self.state.now_dt()
        header.update(EntryID=entry_id, Status=STATUS_OPEN, Division=division.number, Created=now, Modified=now)
        header["EntryNumber"] = self._next_entry_number(division, header["Journal"])
        header[LINES_NAV] = [dict(line, ID=str(uuid.uuid4()), EntryID=entry_id) for line in lines]
        entries.append(header)
        return header

    def _put(self, division: Division, row: Row, body: Row) -> None:
        require_open(row)
        refuse_unknown(body, ENTRY_WRITABLE, "PurchaseEntry")
        ids, inputs = _bound_lines(row, body.pop(LINES_NAV, None))
        merged = {**{name: row.get(name) for name in ENTRY_HEADER}, **body, LINES_NAV: inputs}
        header, lines = self._validated(division, merged)
        row.update(header, Modified=self.state.now_dt())
        row[LINES_NAV] = [
            dict(line, ID=line_id or str(uuid.uuid4()), EntryID=row["EntryID"])
            for line, line_id in zip(lines, ids, strict=True)
        ]

    def _validated(self, division: Division, body: Row) -> tuple[Row, list[Row]]:
        """Check an entry body like Exact does; 500 with every problem, one per line."""
        refuse_unknown(body, ENTRY_WRITABLE, "PurchaseEntry")
        problems: list[str] = []
        entry_date = date_field(body, "EntryDate", problems) or self.state.today()
        header = {
            "Journal": check_journal(division, body.get("Journal"), problems),
            "Supplier": check_supplier(division, body.get("Supplier"), problems),
            "EntryDate": entry_date,
            "DueDate": date_field(body, "DueDate", problems) or entry_date,
            "YourRef": body.get("YourRef"),
            "Currency": body.get("Currency") or "EUR",
            "Description": body.get("Description"),
            "PaymentCondition": body.get("PaymentCondition"),
            "ReportingYear": entry_date.year,
            "ReportingPeriod": entry_date.month,
        }
        lines = _book_lines(division, body.get(LINES_NAV), entry_date, problems)
        refuse_problems(problems)
        header.update(totals(lines))
        return header, lines

    def _next_entry_number(self, division: Division, journal: str) -> int:
        if journal not in division.entry_numbers:
            year = self.state.now_dt().year % 100
            division.entry_numbers[journal] = int(f"{year:02d}{journal:0>2}0000")
        division.entry_numbers[journal] += 1
        return division.entry_numbers[journal]


def find(division: Division, entry_id: str) -> Row:
    """An entry by ID; 404 when the division has none."""
    for row in division.tables[ENTRIES]:
        if row["EntryID"] == entry_id.lower():
            return row
    raise ApiFailure(404, "Not found")


def set_status(division: Division, entry_id: str, status: int) -> None:
    """Change an entry's status, e.g. to `STATUS_PROCESSED` so it can no longer be changed."""
    find(division, entry_id)["Status"] = status


def copy_entry(row: Row) -> Row:
    """An entry and its lines, copied so a caller cannot change the sandbox's state."""
    return {**row, LINES_NAV: [dict(line) for line in row[LINES_NAV]]}


def _book_lines(division: Division, lines: Any, entry_date: Any, problems: list[str]) -> list[Row]:
    if not isinstance(lines, list) or not lines:
        problems.append("Mandatory: Lines")
        return []
    booked = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            problems.append("Invalid value: Lines")
            continue
        booked.append(book_line(division, line, number, entry_date, problems))
    return booked


def _bound_lines(row: Row, sent: Any) -> tuple[list[str | None], list[Row]]:
    """The entry's lines with the sent edits applied by `ID`; 400 when a sent line has no existing ID."""
    existing = {line["ID"]: line for line in row[LINES_NAV]}
    edits: dict[str, Row] = {}
    for line in sent if isinstance(sent, list) else ([] if sent is None else [sent]):
        line_id = str(line.get("ID") or "").lower() if isinstance(line, dict) else ""
        if line_id not in existing:
            raise ApiFailure(400, BINDING_MESSAGE)
        edits[line_id] = {key: value for key, value in line.items() if key not in ("ID", "EntryID")}
    inputs = [edited_inputs(line, edits[key]) if key in edits else line_inputs(line) for key, line in existing.items()]
    return list(existing), inputs


def _same_invoice(existing: Row, header: Row) -> bool:
    fields = ("Supplier", "YourRef", "EntryDate", "AmountFC")
    return all(existing.get(name) == header.get(name) for name in fields)
