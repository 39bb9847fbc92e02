"""The connector's own vocabulary: what a Basware invoice means once it is parsed.

Amounts are `Decimal` from the JSON parse on (see `connector.basware.schemas`); nothing here is a float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class CodingRow:
    """One Basware coding row: a GL account, its dimensions and its amounts."""

    row_index: int
    account_code: str | None
    net: Decimal
    tax: Decimal = Decimal("0")
    gross: Decimal | None = None
    cost_center_code: str | None = None
    cost_unit_code: str | None = None
    tax_code: str | None = None
    tax_percent: Decimal | None = None
    description: str | None = None


@dataclass(frozen=True)
class Invoice:
    """An approved Basware accounting document waiting for transfer."""

    invoice_id: str
    invoice_number: str
    company_code: str
    supplier_code: str
    supplier_name: str
    currency: str
    invoice_date: date
    net_sum: Decimal
    tax_sum: Decimal
    gross_sum: Decimal
    rows: tuple[CodingRow, ...]
    due_date: date | None = None
    description: str | None = None
    processing_status: str | None = None
    supplier_vat_number: str | None = None

    @property
    def is_credit_note(self) -> bool:
        return self.gross_sum < 0


@dataclass(frozen=True)
class Vendor:
    """A Basware vendor, as much as Exact's supplier account needs."""

    code: str
    name: str
    vat_number: str | None = None
    email: str | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    iban: str | None = None
    bic: str | None = None


@dataclass(frozen=True)
class Notification:
    """A Basware push notification: ids only, never the document."""

    task_id: str
    task_type: str
    task_status: str
    document_id: str | None
    task_sub_type: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def is_connection_test(self) -> bool:
        return self.task_type == "ConnectionTest"
