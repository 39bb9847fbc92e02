"""Master data every sandbox division starts with; the demo and the tests refer to these constants.

GUIDs are derived from (division, entity, code) so that they are stable across runs yet differ per
division, as real Exact GUIDs do: a GL account GUID from one division is unknown in another.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_NAMESPACE = uuid.UUID("6f1c1b52-4c7e-4d7a-9a51-5f3c2a9e0e11")

DEMO_USER_EMAIL = "demo@example.com"
DEMO_USER_NAME = "Demo User"
DEMO_USER_ID = str(uuid.uuid5(_NAMESPACE, "user:demo"))

PURCHASE_JOURNAL = "60"
SALES_JOURNAL = "70"
MEMORIAL_JOURNAL = "90"
# code -> (description, Exact journal type: 20 sales, 22 purchase, 90 general)
SEED_JOURNALS: dict[str, tuple[str, int]] = {
    PURCHASE_JOURNAL: ("Purchase journal", 22),
    SALES_JOURNAL: ("Sales journal", 20),
    MEMORIAL_JOURNAL: ("Memorial", 90),
}

# 130 cost accounts "4000".."4129"; the last one is blocked. Plus the creditors control account.
SEED_GL_CODES: tuple[str, ...] = tuple(str(code) for code in range(4000, 4130))
BLOCKED_GL_CODE = "4129"
CREDITORS_GL_CODE = "1600"
SEED_GL_COUNT = len(SEED_GL_CODES) + 1  # 131

# code -> (description, end date or None); "CC900" ended in the past.
SEED_COST_CENTERS: dict[str, tuple[str, datetime | None]] = {
    "CC100": ("Sales", None),
    "CC200": ("Operations", None),
    "CC300": ("IT", None),
    "CC900": ("Closed project", datetime(2020, 12, 31, tzinfo=UTC)),
}
CLOSED_COST_CENTER = "CC900"
SEED_COST_UNITS: dict[str, str] = {"CU1": "Cost unit 1", "CU2": "Cost unit 2"}

# Unpadded code -> (description, percentage as a fraction, VATTransactionType, Type). Exact pads codes to 3.
# Type E: a line's AmountFC is the net amount; I: it is the gross (VAT included).
SEED_VAT_CODES: dict[str, tuple[str, Decimal, str, str]] = {
    "1": ("VAT 21% purchases", Decimal("0.21"), "P", "E"),
    "2": ("VAT 9% purchases", Decimal("0.09"), "P", "E"),
    "0": ("VAT 0%", Decimal("0"), "B", "E"),
    "5": ("VAT 5.5%", Decimal("0.055"), "P", "E"),
    "6": ("VAT 21% purchases, VAT included", Decimal("0.21"), "P", "I"),
}
INCLUSIVE_VAT_CODE = "6"

# Unpadded code -> (name, VAT number or None). Exact pads account codes to 18, right-aligned.
SEED_SUPPLIERS: dict[str, tuple[str, str | None]] = {
    "1001": ("Acme Supplies BV", "NL001234567B01"),
    "1002": ("Globex Office Supplies", "NL009876543B01"),
    "1003": ("Initech Logistics", None),
}


def seed_guid(division: int, entity: str, code: str) -> str:
    """The stable GUID of one seeded record in one division."""
    return str(uuid.uuid5(_NAMESPACE, f"{division}:{entity}:{code}"))


def pad_left(code: str, width: int = 18) -> str:
    """Right-align a code in a fixed-width field, as Exact stores Account.Code."""
    return code.rjust(width)


def pad_right(code: str, width: int = 3) -> str:
    """Left-align a code in a fixed-width field, as Exact stores VATCode and Country."""
    return code.ljust(width)


def seed_division(division: int, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Rows per entity set for a fresh division, in internal form (datetimes, Decimals)."""
    return {
        "crm/Accounts": _suppliers(division, now),
        "financial/GLAccounts": _gl_accounts(division, now),
        "hrm/Costcenters": _cost_centers(division),
        "hrm/Costunits": _cost_units(division),
        "vat/VATCodes": _vat_codes(division),
        "financial/Journals": _journals(division),
    }


def _gl_accounts(division: int, now: datetime) -> list[dict[str, Any]]:
    rows = [gl_row(division, code, f"Costs {code}", 110, code == BLOCKED_GL_CODE, now) for code in SEED_GL_CODES]
    rows.append(gl_row(division, CREDITORS_GL_CODE, "Creditors", 22, False, now))
    return rows


def gl_row(division: int, code: str, description: str, type_: int, blocked: bool, now: datetime) -> dict:
    return {
        "ID": seed_guid(division, "GLAccount", code),
        "Code": code,
        "Description": description,
        "Type": type_,
        "IsBlocked": blocked,
        "VATCode": None,
        "Costcenter": None,
        "Costunit": None,
        "UseCostcenter": 0,
        "UseCostunit": 0,
        "Division": division,
        "Modified": now,
    }


def _cost_centers(division: int) -> list[dict[str, Any]]:
    return [
        {
            "ID": seed_guid(division, "Costcenter", code),
            "Code": code,
            "Description": description,
            "EndDate": end,
            "Division": division,
        }
        for code, (description, end) in SEED_COST_CENTERS.items()
    ]


def _cost_units(division: int) -> list[dict[str, Any]]:
    return [
        {
            "ID": seed_guid(division, "Costunit", code),
            "Code": code,
            "Description": description,
            "EndDate": None,
            "Division": division,
        }
        for code, description in SEED_COST_UNITS.items()
    ]


def _vat_codes(division: int) -> list[dict[str, Any]]:
    return [
        {
            "ID": seed_guid(division, "VATCode", code),
            "Code": pad_right(code),
            "Description": description,
            "Percentage": percentage,
            "Type": vat_type,
            "VATTransactionType": transaction_type,
            "IsBlocked": False,
            "Division": division,
        }
        for code, (description, percentage, transaction_type, vat_type) in SEED_VAT_CODES.items()
    ]


def _journals(division: int) -> list[dict[str, Any]]:
    return [
        {
            "ID": seed_guid(division, "Journal", code),
            "Code": code,
            "Description": description,
            "Type": type_,
            "Division": division,
        }
        for code, (description, type_) in SEED_JOURNALS.items()
    ]


def _suppliers(division: int, now: datetime) -> list[dict[str, Any]]:
    return [
        account_row(
            division,
            seed_guid(division, "Account", code),
            {"Code": code, "Name": name, "VATNumber": vat, "IsSupplier": True, "Country": "NL"},
            now,
        )
        for code, (name, vat) in SEED_SUPPLIERS.items()
    ]


ACCOUNT_FIELDS: tuple[str, ...] = (
    "Code",
    "Name",
    "IsSupplier",
    "IsSales",
    "VATNumber",
    "ChamberOfCommerce",
    "Email",
    "AddressLine1",
    "Postcode",
    "City",
    "Country",
    "Status",
    "Blocked",
    "PurchaseVATCode",
)


def account_row(division: int, account_id: str, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    """An Account row with Exact's fixed-width Code and Country; `fields` holds the unpadded values."""
    row: dict[str, Any] = {name: None for name in ACCOUNT_FIELDS}
    row.update({"IsSupplier": False, "IsSales": False, "Blocked": False, "Status": "A"})
    row.update(fields)
    row["ID"] = account_id
    row["Code"] = pad_left(str(row["Code"]).strip())
    if row.get("Country"):
        row["Country"] = pad_right(str(row["Country"]).strip())
    row.update({"Division": division, "Created": now, "Modified": now})
    return row
