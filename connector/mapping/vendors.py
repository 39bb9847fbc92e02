"""Vendor matching rules: which Exact supplier a Basware supplier is. Pure functions over values."""

from __future__ import annotations

import re
from typing import Any

from connector.domain import Vendor
from connector.exact.odata import ACCOUNT_CODE_WIDTH


def normalise_name(name: str | None) -> str:
    """Trimmed, case-folded, single-spaced: how names are compared."""
    return " ".join((name or "").split()).casefold()


def normalise_vat(vat: str | None) -> str:
    """Upper-case, without spaces, dots and dashes: how VAT numbers are compared."""
    return re.sub(r"[\s.\-]", "", vat or "").upper()


def by_code(suppliers: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    """Suppliers whose (trimmed) account code is the Basware supplier code."""
    return [s for s in suppliers if str(s.get("Code") or "").strip() == code.strip()]


def by_vat(suppliers: list[dict[str, Any]], vat: str | None) -> list[dict[str, Any]]:
    """Suppliers with the same VAT number, ignoring formatting."""
    wanted = normalise_vat(vat)
    if not wanted:
        return []
    return [s for s in suppliers if normalise_vat(s.get("VATNumber")) == wanted]


def by_name(suppliers: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Suppliers with the same name after trimming and case-folding."""
    wanted = normalise_name(name)
    return [s for s in suppliers if wanted and normalise_name(s.get("Name")) == wanted]


def describe(candidates: list[dict[str, Any]]) -> list[str]:
    """Candidates as a person reads them: code and name."""
    return [f"{str(c.get('Code') or '').strip()} {c.get('Name') or ''}".strip() for c in candidates]


def account_fields(vendor: Vendor) -> dict[str, Any]:
    """The Exact crm/Accounts body that creates this vendor as a supplier."""
    fields: dict[str, Any] = {"Name": vendor.name.strip(), "IsSupplier": True, "Status": "A"}
    code = vendor.code.strip()
    if code and len(code) <= ACCOUNT_CODE_WIDTH:  # a longer code does not fit; Exact then numbers it
        fields["Code"] = code
    optional = {
        "VATNumber": vendor.vat_number,
        "Email": vendor.email,
        "AddressLine1": vendor.street,
        "Postcode": vendor.postcode,
        "City": vendor.city,
        "Country": (vendor.country or "").strip().upper() or None,
    }
    fields.update({key: value for key, value in optional.items() if value})
    return fields


HOW = {
    "mapping": "the tenant's vendor mapping",
    "code": "account code",
    "vat": "VAT number",
    "name": "name",
    "created": "creation in Exact",
}
ORIGINS = {
    "manual": "set by an operator",
    "code": "remembered from a match by account code",
    "vat": "remembered from a match by VAT number",
    "name": "remembered from a match by name by an earlier version; a person must confirm it",
    "created": "remembered from creating the supplier in Exact",
}


def how_text(how: str, origin: str | None = None) -> str:
    """How a supplier was found, in words: 'VAT number', or 'the vendor mapping (set by an operator)'."""
    if how != "mapping":
        return HOW.get(how, how)
    return f"the vendor mapping ({ORIGINS.get(origin or 'manual', origin or 'manual')})"
