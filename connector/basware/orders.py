"""Load an exported Basware purchase order (`ExportedPurchaseOrderEntity`) into `connector.domain_orders`.

The same rules as `connector.basware.schemas`: amounts and quantities must be exact (Decimal, int or numeric
string, never a float), unknown fields are ignored because Basware only adds fields, and anything unreadable
raises `RecordBlocked` naming every bad field so the record is kept and explained.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates_schema

from connector.basware.schemas import MISSING, FlexibleDate, Money, StorableString, _load
from connector.domain_orders import OrderCoding, OrderLine, PurchaseOrder


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE


class OrderCodingSchema(_Base):
    row_index = fields.Integer(data_key="rowIndex", load_default=None, allow_none=True)
    split_percent = Money(data_key="splitPercent", load_default=None, allow_none=True)
    account_code = StorableString(data_key="accountCode", load_default=None, allow_none=True)
    cost_center_code = StorableString(data_key="costCenterCode", load_default=None, allow_none=True)


class OrderLineSchema(_Base):
    line_number = fields.Integer(data_key="orderLineNumber", load_default=None, allow_none=True)
    quantity = Money(required=True)
    net_unit_price = Money(data_key="netUnitPrice", load_default=None, allow_none=True)
    net_price = Money(data_key="netPrice", load_default=None, allow_none=True)
    net_sum = Money(data_key="netSum", load_default=None, allow_none=True)
    description = StorableString(load_default=None, allow_none=True)
    supplier_product_name = StorableString(data_key="supplierProductName", load_default=None, allow_none=True)
    line_type = StorableString(data_key="lineType", load_default=None, allow_none=True)
    buyer_product_code = StorableString(data_key="buyerProductCode", load_default=None, allow_none=True)
    supplier_product_code = StorableString(data_key="supplierProductCode", load_default=None, allow_none=True)
    category_code = StorableString(data_key="categoryCode", load_default=None, allow_none=True)
    quantity_unit = StorableString(data_key="quantityUnit", load_default=None, allow_none=True)
    tax_code = StorableString(data_key="taxCode", load_default=None, allow_none=True)
    tax_percent = Money(data_key="taxPercent", load_default=None, allow_none=True)
    coding = fields.List(fields.Nested(OrderCodingSchema), data_key="codingRows", load_default=list)

    @validates_schema
    def _require_price(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("net_unit_price") is None and data.get("net_price") is None:
            raise ValidationError(MISSING, "netUnitPrice")


class PurchaseOrderSchema(_Base):
    external_code = StorableString(data_key="externalCode", required=True, max_length=100)
    order_number = StorableString(data_key="orderNumber", required=True, max_length=120)
    company_code = StorableString(data_key="companyCode", load_default=None, allow_none=True)
    supplier_code = StorableString(data_key="supplierCode", required=True)
    supplier_name = StorableString(data_key="supplierName", load_default="", allow_none=True, max_length=250)
    currency = StorableString(data_key="purchaseCurrency", required=True, max_length=3)
    net_sum = Money(data_key="netSum", load_default=None, allow_none=True)
    tax_sum = Money(data_key="taxSum", load_default=None, allow_none=True)
    gross_sum = Money(data_key="grossSum", load_default=None, allow_none=True)
    order_date = FlexibleDate(data_key="orderCreationTime", load_default=None, allow_none=True)
    desired_delivery_date = FlexibleDate(data_key="desiredDeliveryDate", load_default=None, allow_none=True)
    processing_status = StorableString(data_key="processingStatus", load_default=None, allow_none=True)
    order_status = StorableString(data_key="orderStatus", load_default=None, allow_none=True)
    lines = fields.List(fields.Nested(OrderLineSchema), data_key="orderLines", required=True)


def load_purchase_order(data: dict[str, Any], cost_unit_field: str | None = "projectCode") -> PurchaseOrder:
    """A `PurchaseOrder` from an ExportedPurchaseOrderEntity; `cost_unit_field` names the cost-unit dimension."""
    label = (data.get("orderNumber") or data.get("externalCode")) if isinstance(data, dict) else None
    loaded = _load(PurchaseOrderSchema(), data, f"Basware purchase order {label or '(no orderNumber)'}")
    raw_lines = data["orderLines"]
    lines = tuple(
        _line(position, line, raw, cost_unit_field)
        for position, (line, raw) in enumerate(zip(loaded.pop("lines"), raw_lines, strict=True), start=1)
    )
    loaded["supplier_name"] = loaded["supplier_name"] or ""
    return PurchaseOrder(lines=lines, **loaded)


def _line(position: int, line: dict[str, Any], raw: dict[str, Any], cost_unit_field: str | None) -> OrderLine:
    # orderLineNumber is optional in Basware; the 1-based position still lets every line be named in errors.
    number = line.pop("line_number")
    unit_price = line.pop("net_unit_price")
    net_price = line.pop("net_price")
    product_name = line.pop("supplier_product_name")
    raw_rows = raw.get("codingRows") or []
    coding = tuple(
        _coding(index, row, raw_row, cost_unit_field)
        for index, (row, raw_row) in enumerate(zip(line.pop("coding"), raw_rows, strict=True), start=1)
    )
    return OrderLine(
        line_number=position if number is None else number,
        unit_price=unit_price if unit_price is not None else net_price,
        coding=coding,
        **{**line, "description": line["description"] or product_name},
    )


def _coding(index: int, row: dict[str, Any], raw: dict[str, Any], cost_unit_field: str | None) -> OrderCoding:
    row_index = row.pop("row_index")
    cost_unit = raw.get(cost_unit_field) if cost_unit_field else None
    return OrderCoding(
        row_index=index if row_index is None else row_index,
        cost_unit_code=None if cost_unit in (None, "") else str(cost_unit),
        **row,
    )


def line_total(line: OrderLine) -> Decimal:
    """Quantity times net unit price, to the cent: what the line is worth when Basware gives no netSum."""
    return (line.quantity * line.unit_price).quantize(Decimal("0.01"), ROUND_HALF_UP)
