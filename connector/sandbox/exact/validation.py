"""Checks the Exact sandbox applies to a written body: references, dimensions, amounts, dates, properties.

Sourced (docs/api-facts.md, Exact: validation errors): business-rule failures answer HTTP 500 with every problem
in the message, one per line; "Mandatory: Relationship", "Mandatory: Diary" and "Invalid reference: Cost unit"
are Exact's own texts. Decisions (ours): the other texts are made up in the same style; a blocked G/L account, a
blocked VAT code and a cost center whose EndDate lies before the document date are refused; an unknown property
in a POST/PUT body answers 400.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from connector.sandbox.exact.odata_filter import parse_iso_datetime
from connector.sandbox.exact.state import Division
from connector.sandbox.exact.wire import EPOCH, ApiFailure

ACCOUNTS = "crm/Accounts"
GL_ACCOUNTS = "financial/GLAccounts"
COST_CENTERS = "hrm/Costcenters"
COST_UNITS = "hrm/Costunits"
VAT_CODES = "vat/VATCodes"
JOURNALS = "financial/Journals"
PURCHASE_JOURNAL_TYPE = 22
# Sourced up to "new entities" (picqer/exact-php-client#538 shows only that much); the rest is ours.
BINDING_MESSAGE = "Error processing request stream. Binding to new entities is not supported in a PUT request."
Row = dict[str, Any]


def refuse_problems(problems: list[str]) -> None:
    """Answer 500 with every problem, once each, when there are any."""
    if problems:
        raise ApiFailure(500, "\r\n".join(dict.fromkeys(problems)))


def refuse_unknown(body: dict[str, Any], writable: set[str], type_name: str) -> None:
    """400 naming the first property the body sets that the type does not have (or that is read-only)."""
    unknown = set(body) - writable
    if unknown:
        raise ApiFailure(400, f"Property '{sorted(unknown)[0]}' does not exist on type '{type_name}'.")


def is_guid(value: Any) -> bool:
    """True for anything that reads as a GUID."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def lookup(division: Division, path: str, field_name: str, value: Any) -> Row | None:
    """The row of a table whose field equals `value`, ignoring case and padding (Exact pads codes)."""
    wanted = str(value).strip().lower()
    return next((row for row in division.tables[path] if str(row[field_name]).strip().lower() == wanted), None)


def check_journal(division: Division, code: Any, problems: list[str]) -> str | None:
    """The code of an existing purchase journal, each problem added."""
    if not code:
        problems.append("Mandatory: Diary")
        return None
    journal = lookup(division, JOURNALS, "Code", code)
    if journal is None:
        problems.append("Invalid reference: Diary")
        return None
    if journal["Type"] != PURCHASE_JOURNAL_TYPE:
        problems.append(f"Invalid journal: {journal['Code']} is not a purchase journal")
    return str(journal["Code"])


def check_supplier(division: Division, supplier: Any, problems: list[str]) -> str | None:
    """The ID of an existing supplier account, each problem added."""
    if not supplier:
        problems.append("Mandatory: Relationship")
        return None
    account = lookup(division, ACCOUNTS, "ID", supplier) if is_guid(supplier) else None
    if account is None:
        problems.append("Invalid reference: Relationship")
        return None
    if not account["IsSupplier"]:
        problems.append("Invalid reference: Relationship is not a supplier")
    return str(account["ID"])


def check_dimensions(
    division: Division, line: dict, on: datetime, problems: list[str]
) -> tuple[Row | None, Row | None]:
    """A line's cost center and cost unit as stored, each problem added; an ended cost center is refused."""
    cost_center = check_code(division, COST_CENTERS, line.get("CostCenter"), "Cost center", problems)
    cost_unit = check_code(division, COST_UNITS, line.get("CostUnit"), "Cost unit", problems)
    if cost_center and cost_center["EndDate"] is not None and cost_center["EndDate"] < on:
        problems.append("Invalid reference: Cost center")
    return cost_center, cost_unit


def check_gl(division: Division, gl_id: Any, problems: list[str]) -> Row | None:
    """An existing, unblocked G/L account by ID, each problem added."""
    if not gl_id:
        problems.append("Mandatory: G/L account")
        return None
    gl = lookup(division, GL_ACCOUNTS, "ID", gl_id) if is_guid(gl_id) else None
    if gl is None:
        problems.append("Invalid reference: G/L account")
    elif gl["IsBlocked"]:
        problems.append(f"Blocked: G/L account {gl['Code']}")
    return gl


def check_code(division: Division, path: str, code: Any, label: str, problems: list[str]) -> Row | None:
    """An optional reference by Code (None when not given), each problem added; blocked rows are refused."""
    if code is None or str(code).strip() == "":
        return None
    row = lookup(division, path, "Code", code)
    if row is None:
        problems.append(f"Invalid reference: {label}")
    elif row.get("IsBlocked"):
        problems.append(f"Blocked: {label} {str(row['Code']).strip()}")
    return row


def amount(line: dict[str, Any], name: str, problems: list[str], *, mandatory: bool) -> Decimal | None:
    """A Decimal property (None when absent and optional); a float or text that is no number is a problem."""
    value = line.get(name)
    if value is None:
        if mandatory:
            problems.append("Mandatory: Amount")
            return Decimal("0")
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        problems.append(f"Invalid value: {name}")
        return Decimal("0")
    try:
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        problems.append(f"Invalid value: {name}")
        return Decimal("0")


def date_field(body: dict[str, Any], name: str, problems: list[str]) -> datetime | None:
    """A date-only property (`/Date()/` or ISO) as midnight UTC; None when absent."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    text = str(value)
    match = re.fullmatch(r"/Date\((-?\d+)\)/", text)
    if match:
        parsed = EPOCH + timedelta(milliseconds=int(match.group(1)))
    else:
        try:
            parsed = parse_iso_datetime(text, error=ValueError(text))
        except ValueError:
            problems.append(f"Invalid value: {name}")
            return None
    return parsed.replace(hour=0, minute=0, second=0, microsecond=0)  # date-only fields: midnight UTC
