"""Purchase entry lines: how a line is booked (net, VAT, gross by the VAT code's type) and the lines resource.

Sourced (docs/api-facts.md, Exact: purchase entry lines; Exact: amounts and VAT codes):
- `purchaseentry/PurchaseEntryLines` is its own resource: GET, POST a line to an existing entry (`EntryID`,
  `GLAccount`, `AmountFC` required), PUT and DELETE by line `ID`.
- A VAT code's `Type` says how a line's `AmountFC` is read: E (excluding) as the net amount, I (including) as the
  gross, so net = gross - VAT. An explicit `VATAmountFC` overrides the VAT Exact would compute.
- An entry with `Status` 50 (processed) cannot be changed (no source for entries; Exact says so for processed
  sales invoices). Decision (ours): the refusal is HTTP 500 with `PROCESSED_MESSAGE`.
Decisions (ours): a line answers its booked net as `VATBaseAmountFC` (Exact's field for the VAT base) and the
sandbox keeps the gross as `GrossAmountFC` in its Python and admin views only; VAT is rounded half up to the cent;
codes of type B and N read the amount as net; amounts in the division currency equal those in the entry currency;
a line PUT that changes `AmountFC` or `VATCode` without `VATAmountFC` recomputes the VAT, otherwise the booked VAT
stays; deleting an entry's last line is allowed (no source refuses it).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import Response

import connector.sandbox.exact.query as query
from connector.sandbox.exact.state import Division, State
from connector.sandbox.exact.validation import (
    VAT_CODES,
    amount,
    check_code,
    check_dimensions,
    check_gl,
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

ENTRIES = "purchaseentry/PurchaseEntries"
LINES = "purchaseentry/PurchaseEntryLines"
LINES_NAV = "PurchaseEntryLines"
STATUS_OPEN, STATUS_PROCESSED = 20, 50
PROCESSED_MESSAGE = "This entry has been processed and can no longer be changed."
INCLUDING = "I"
LINE_FIELDS: tuple[str, ...] = (
    "ID", "EntryID", "LineNumber", "GLAccount", "GLAccountCode", "AmountFC", "AmountDC", "VATAmountFC",
    "VATAmountDC", "VATBaseAmountFC", "VATBaseAmountDC", "VATCode", "VATPercentage", "CostCenter", "CostUnit",
    "Description", "Quantity", "Project", "Division",
)  # fmt: skip
LINE_WRITABLE = {"GLAccount", "AmountFC", "VATCode", "VATAmountFC", "CostCenter", "CostUnit",
                 "Description", "Quantity", "Project", "LineNumber"}  # fmt: skip
LINE_SET = EntitySet(LINES, "ID", "PurchaseEntryLine", LINE_FIELDS)
_CENT = Decimal("0.01")
_ZERO = Decimal("0")
Line = dict[str, Any]


def book_line(division: Division, line: Line, number: int, entry_date: datetime, problems: list[str]) -> Line:
    """A line as Exact books it (without ID and EntryID), each problem added; unknown properties answer 400."""
    refuse_unknown(line, LINE_WRITABLE, "PurchaseEntryLine")
    gl = check_gl(division, line.get("GLAccount"), problems)
    vat_code = check_code(division, VAT_CODES, line.get("VATCode"), "VAT code", problems)
    cost_center, cost_unit = check_dimensions(division, line, entry_date, problems)
    sent = amount(line, "AmountFC", problems, mandatory=True) or _ZERO
    net, vat, gross = _split(sent, amount(line, "VATAmountFC", problems, mandatory=False), vat_code)
    return {
        "LineNumber": line.get("LineNumber") or number,
        "GLAccount": gl["ID"] if gl else None,
        "GLAccountCode": gl["Code"] if gl else None,
        "AmountFC": sent,
        "AmountDC": sent,
        "VATAmountFC": vat,
        "VATAmountDC": vat,
        "VATBaseAmountFC": net,
        "VATBaseAmountDC": net,
        "GrossAmountFC": gross,
        "VATCode": vat_code["Code"] if vat_code else None,
        "VATPercentage": vat_code["Percentage"] if vat_code else _ZERO,
        "CostCenter": cost_center["Code"] if cost_center else None,
        "CostUnit": cost_unit["Code"] if cost_unit else None,
        "Description": line.get("Description"),
        "Quantity": line.get("Quantity"),
        "Project": line.get("Project"),
        "Division": division.number,
    }


def _split(sent: Decimal, explicit_vat: Decimal | None, vat_code: dict[str, Any] | None) -> tuple[Decimal, ...]:
    """(net, VAT, gross) of a line amount: gross for an including code, else net; explicit VAT wins."""
    rate = vat_code["Percentage"] if vat_code else _ZERO
    including = bool(vat_code) and str(vat_code.get("Type") or "").strip() == INCLUDING  # type: ignore[union-attr]
    if including:
        vat = explicit_vat if explicit_vat is not None else (sent * rate / (1 + rate)).quantize(_CENT, ROUND_HALF_UP)
        return sent - vat, vat, sent
    vat = explicit_vat if explicit_vat is not None else (sent * rate).quantize(_CENT, ROUND_HALF_UP)
    return sent, vat, sent + vat


def line_inputs(line: Line) -> Line:
    """What a client would send to book a stored line again as it is (its VAT kept as booked)."""
    return {name: line.get(name) for name in LINE_WRITABLE}


def edited_inputs(line: Line, edit: Line) -> Line:
    """A stored line's inputs with an edit applied; VAT is recomputed when the amount or code changes without it."""
    merged = {**line_inputs(line), **edit}
    if "VATAmountFC" not in edit and ("AmountFC" in edit or "VATCode" in edit):
        merged.pop("VATAmountFC")
    return merged


def totals(lines: list[Line]) -> dict[str, Any]:
    """The header amounts Exact derives from the lines: `AmountFC` is the sum of the gross amounts."""
    gross = sum((line["GrossAmountFC"] for line in lines), _ZERO)
    vat = sum((line["VATAmountFC"] for line in lines), _ZERO)
    return {
        "AmountFC": gross,
        "AmountDC": gross,
        "VATAmountFC": vat,
        "VATAmountDC": vat,
        "Type": 31 if gross < 0 else 30,
    }


def require_open(entry: dict[str, Any]) -> None:
    """Refuse any change to an entry that is no longer open."""
    if entry["Status"] != STATUS_OPEN:
        raise ApiFailure(500, PROCESSED_MESSAGE)


class EntryLines:
    """`purchaseentry/PurchaseEntryLines`: the lines of every entry, each addressable by its own ID."""

    sets: tuple[EntitySet, ...] = (LINE_SET,)

    def __init__(self, state: State) -> None:
        self.state = state

    def handle(self, division: Division, call: Call) -> Response:
        """Answer one call on the lines resource."""
        if call.method == "GET":
            rows = [line for entry in division.tables[ENTRIES] for line in entry[LINES_NAV]]
            return query.read(division.number, LINE_SET, rows, call.key, page_size=self.state.page_size)
        if call.method == "POST" and call.key is None:
            return self._post(division, json_body())
        if call.method == "PUT" and call.key is not None:
            self._put(division, call.key, json_body())
            return no_content()
        if call.method == "DELETE" and call.key is not None:
            self._delete(division, call.key)
            return no_content()
        raise ApiFailure(405, NOT_ALLOWED)

    def _post(self, division: Division, body: Line) -> Response:
        entry_id = str(body.pop("EntryID", "") or "").lower()
        entry = _entry(division, entry_id) if entry_id else None
        if entry is None:
            raise ApiFailure(500, "Invalid reference: Entry" if entry_id else "Mandatory: Entry")
        require_open(entry)
        problems: list[str] = []
        if not body.get("GLAccount"):
            problems.append("Mandatory: G/L account")
        number = max((line["LineNumber"] for line in entry[LINES_NAV]), default=0) + 1
        booked = book_line(division, body, number, entry["EntryDate"], problems)
        refuse_problems(problems)
        line = dict(booked, ID=str(uuid.uuid4()), EntryID=entry["EntryID"])
        entry[LINES_NAV].append(line)
        self._retotal(entry)
        if wants_minimal():
            return no_content()
        return json_response({"d": query.render_line(division.number, LINE_SET, line)}, 201)

    def _put(self, division: Division, line_id: str, edit: Line) -> None:
        entry, line = _line(division, line_id)
        require_open(entry)
        edit.pop("ID", None)
        if str(edit.pop("EntryID", entry["EntryID"])).lower() != entry["EntryID"]:
            raise ApiFailure(500, "Invalid value: Entry")
        problems: list[str] = []
        booked = book_line(division, edited_inputs(line, edit), line["LineNumber"], entry["EntryDate"], problems)
        refuse_problems(problems)
        line.update(booked)
        self._retotal(entry)

    def _delete(self, division: Division, line_id: str) -> None:
        entry, line = _line(division, line_id)
        require_open(entry)
        entry[LINES_NAV].remove(line)
        self._retotal(entry)

    def _retotal(self, entry: dict[str, Any]) -> None:
        entry.update(totals(entry[LINES_NAV]), Modified=self.state.now_dt())


def _entry(division: Division, entry_id: str) -> dict[str, Any] | None:
    return next((row for row in division.tables[ENTRIES] if row["EntryID"] == entry_id), None)


def _line(division: Division, line_id: str) -> tuple[dict[str, Any], Line]:
    for entry in division.tables[ENTRIES]:
        for line in entry[LINES_NAV]:
            if line["ID"] == line_id:
                return entry, line
    raise ApiFailure(404, "Not found")
