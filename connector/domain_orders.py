"""What an exported Basware purchase order means once it is parsed: header, lines and their coding rows.

Amounts and quantities are `Decimal` from the JSON parse on (see `connector.basware.orders`); nothing here is
a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

FREE_TEXT = "FreeText"


@dataclass(frozen=True)
class OrderCoding:
    """One coding row of an order line: the dimensions a share of the line is booked to."""

    row_index: int
    split_percent: Decimal | None = None
    account_code: str | None = None
    cost_center_code: str | None = None
    cost_unit_code: str | None = None


@dataclass(frozen=True)
class OrderLine:
    """One order line: what is bought, how many, at what net unit price, and its coding rows."""

    line_number: int
    quantity: Decimal
    unit_price: Decimal
    net_sum: Decimal | None = None
    description: str | None = None
    line_type: str | None = None
    buyer_product_code: str | None = None
    supplier_product_code: str | None = None
    category_code: str | None = None
    quantity_unit: str | None = None
    tax_code: str | None = None
    tax_percent: Decimal | None = None
    coding: tuple[OrderCoding, ...] = ()

    @property
    def is_free_text(self) -> bool:
        """A line typed in by the requester rather than picked from a catalogue."""
        return self.line_type == FREE_TEXT

    @property
    def product_codes(self) -> tuple[tuple[str, str], ...]:
        """(which code, value) for every product code the line carries, most specific first."""
        named = (
            ("buyerProductCode", self.buyer_product_code),
            ("supplierProductCode", self.supplier_product_code),
            ("categoryCode", self.category_code),
        )
        return tuple((name, value) for name, value in named if value)


@dataclass(frozen=True)
class PurchaseOrder:
    """An exported Basware purchase order waiting for export to the ERP."""

    external_code: str
    order_number: str
    company_code: str | None
    supplier_code: str
    supplier_name: str
    currency: str
    lines: tuple[OrderLine, ...]
    net_sum: Decimal | None = None
    tax_sum: Decimal | None = None
    gross_sum: Decimal | None = None
    order_date: date | None = None
    desired_delivery_date: date | None = None
    processing_status: str | None = None
    order_status: str | None = None
